"""tradsys against vectorbt on the same generated bars, in one run (see BENCHMARKS.md).

Usage (through benches/side-by-side.sh, which makes the virtual environment and builds tradsys):
    python vectorbt_side_by_side.py --tradsys target/release/tradsys \
        --session-once target/release/examples/session_once [--bars 1000000] [--seed 7] [--out DIR]

The strategy is the same on both sides: SMA 10/20 of closes; on a cross up (fast below slow on the
previous bar, above on this one) go long 1, on a cross down go short 1; a signal on bar t fills at
bar t+1's open; no fees, no spread. The bars are a random walk with 8-decimal prices, so two
averages are almost never exactly equal; the script counts the bars where they are (computed
exactly, in integers) and compares trades only when there are none.

It prints, for the same bars:
- vectorbt: backtest only (averages, crossings, portfolio, trades; numba compiled beforehand) and
  load + backtest (pandas' read_csv of the two price columns included, without date parsing: the
  fastest load pandas offers here);
- tradsys: the session on the bars read into memory first (`session_once csv-memory`, the full
  risk chain included), and `tradsys run` on the CSV file, whole process;
- the ratios, and whether the trades agree.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import vectorbt as vbt

FAST, SLOW = 10, 20
SCALE = 100_000_000  # raw units per price unit, as tradsys books prices


def generate(bars, seed):
    """Random-walk minute bars; prices as integers of 1e-8 (tradsys's fixed point)."""
    rng = np.random.default_rng(seed)
    steps = rng.integers(-50_000, 50_001, size=bars, dtype=np.int64) * 10 + rng.integers(0, 10, size=bars)
    close = 100 * SCALE + np.cumsum(steps)
    close = np.maximum(close, SCALE)
    opens = np.concatenate(([100 * SCALE], close[:-1]))
    wick = rng.integers(0, 20_000, size=bars, dtype=np.int64)
    high = np.maximum(opens, close) + wick
    low = np.maximum(np.minimum(opens, close) - wick, 1)
    return opens, high, low, close


def fixed(raw):
    """Raw fixed-point integers as decimal text with 8 places."""
    return [f"{v // SCALE}.{v % SCALE:08d}" for v in raw.tolist()]


def write_csv(path, opens, high, low, close):
    times = pd.date_range("2020-01-01", periods=len(close), freq="min").strftime("%Y-%m-%d %H:%M:%S")
    with open(path, "w") as out:
        out.write("time,open,high,low,close,volume\n")
        for row in zip(times, fixed(opens), fixed(high), fixed(low), fixed(close)):
            out.write(",".join(row) + ",100\n")


def exact_ties(close):
    """Bars where the two averages are exactly equal (integer sums: fast_sum * SLOW == slow_sum * FAST)."""
    sums = np.concatenate(([0], np.cumsum(close.astype(object))))
    ties = 0
    for i in range(SLOW - 1, len(close)):
        fast_sum = sums[i + 1] - sums[i + 1 - FAST]
        slow_sum = sums[i + 1] - sums[i + 1 - SLOW]
        if fast_sum * SLOW == slow_sum * FAST:
            ties += 1
    return ties


def backtest(frame):
    """The strategy in vectorbt; its portfolio."""
    close, opens = frame["close"], frame["open"]
    fast = vbt.MA.run(close, FAST).ma
    slow = vbt.MA.run(close, SLOW).ma
    up = fast.vbt.crossed_above(slow)
    down = fast.vbt.crossed_below(slow)
    # Decided on bar t, filled at bar t+1's open.
    entries = up.shift(1, fill_value=False).astype(bool)
    short_entries = down.shift(1, fill_value=False).astype(bool)
    return vbt.Portfolio.from_signals(
        close, entries=entries, short_entries=short_entries, price=opens, size=1.0,
        init_cash=1e12, fees=0.0, upon_opposite_entry="reverse", freq="1min",
    )


def vectorbt_trades(records, times):
    """Closed trades from the portfolio's record array, as (side, entry time, entry price, exit
    time, exit price) with prices in raw fixed point."""
    closed = records[records["status"] == 1]
    stamp = lambda idx: times[idx].strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        ("long" if r["direction"] == 0 else "short", stamp(r["entry_idx"]), round(float(r["entry_price"]) * SCALE),
         stamp(r["exit_idx"]), round(float(r["exit_price"]) * SCALE))
        for r in closed
    ]


def tradsys_trades(path):
    frame = pd.read_csv(path, dtype=str)
    rows = []
    for _, r in frame.iterrows():
        price = lambda text: round(float(text) * SCALE)
        rows.append((r["side"], r["entry_time"], price(r["entry_price"]), r["exit_time"], price(r["exit_price"])))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tradsys", required=True)
    parser.add_argument("--session-once", required=True)
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default="target/side-by-side")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    csv = os.path.abspath(os.path.join(args.out, f"bars-{args.bars}.csv"))

    opens, high, low, close = generate(args.bars, args.seed)
    write_csv(csv, opens, high, low, close)
    ties = exact_ties(close)

    # vectorbt: numba compiles on first use; compile on a small slice, then measure.
    # Loaded the fastest way pandas offers for this file: the two price columns as float64, no
    # date parsing (the bars are one minute apart from a known start, so times are rebuilt from
    # row numbers for the comparison below).
    load = lambda **more: pd.read_csv(csv, usecols=["open", "close"], dtype="float64", engine="c", **more)
    backtest(load(nrows=1000)).trades.values
    started = time.perf_counter()
    frame = load()
    loaded = time.perf_counter()
    records = backtest(frame).trades.values
    done = time.perf_counter()
    times = pd.date_range("2020-01-01", periods=len(frame), freq="min")
    vbt_rows = vectorbt_trades(records, times)
    vbt_backtest = args.bars / (done - loaded)
    vbt_total = args.bars / (done - started)

    # tradsys: the session on bars in memory (full risk chain), then `run` on the file.
    memory = subprocess.run([args.session_once, "csv-memory", str(args.bars), csv],
                            capture_output=True, text=True, check=True)
    ts_memory = float(memory.stderr.strip().split(", ")[1].split("M")[0]) * 1e6
    config = os.path.join(args.out, "sma-cross-1020.toml")
    trades = os.path.join(args.out, "tradsys-trades.csv")
    with open(config, "w") as out:
        out.write(
            "[instruments.BENCH]\ntick = \"0.00000001\"\nlot_size = 1\n"
            f"[feed]\nplugin = \"bars-csv\"\nparams = {{ path = {csv!r}, symbol = \"BENCH\" }}\n"
            "[strategies.trend]\nplugin = \"sma-cross\"\nparams = { fast = 10, slow = 20, qty = 1 }\n"
        )
    started = time.perf_counter()
    subprocess.run([args.tradsys, "run", "--config", config, "--quiet", "--trades", trades], check=True,
                   stdout=subprocess.DEVNULL)
    ts_run = args.bars / (time.perf_counter() - started)

    print(f"bars: {args.bars:,} (seed {args.seed}), exact ties between the averages: {ties}")
    print(f"vectorbt {vbt.__version__} backtest only:           {vbt_backtest / 1e6:6.2f}M bars/s")
    print(f"vectorbt load + backtest:               {vbt_total / 1e6:6.2f}M bars/s")
    print(f"tradsys session, bars in memory:        {ts_memory / 1e6:6.2f}M bars/s   "
          f"= {ts_memory / vbt_backtest:.2f}x vectorbt's backtest")
    print(f"tradsys run from the CSV, whole process: {ts_run / 1e6:6.2f}M bars/s   "
          f"= {ts_run / vbt_total:.2f}x vectorbt's load + backtest")
    ours = tradsys_trades(trades)
    if ties:
        print(f"trades: not compared ({ties} exact ties; each side's float residue decides those)")
    elif ours == vbt_rows:
        print(f"trades: identical ({len(ours):,} closed round trips)")
    else:
        first = next((i for i, (a, b) in enumerate(zip(ours, vbt_rows)) if a != b), min(len(ours), len(vbt_rows)))
        print(f"trades: DIFFER ({len(ours):,} against {len(vbt_rows):,}); first difference at {first}:")
        print(f"  tradsys:  {ours[first] if first < len(ours) else None}")
        print(f"  vectorbt: {vbt_rows[first] if first < len(vbt_rows) else None}")
        sys.exit(1)


if __name__ == "__main__":
    main()
