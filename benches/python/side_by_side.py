"""tradsys against vectorbt and backtesting.py on the same generated bars, both sides in one run,
interleaved, best and median of ROUNDS runs each (see BENCHMARKS.md, "Side by side").

Usage (through benches/side-by-side.sh, which makes the virtual environment and builds tradsys):
    python side_by_side.py MODE --tradsys target/release/tradsys \
        --session-once target/release/examples/session_once [--bars N] [--rounds 5] [--seed 7]

The strategy is the same on every side: SMA FAST/SLOW of closes; on a cross up (fast below slow on
the previous bar, above on this one) go long 1, on a cross down go short 1; a signal on bar t fills
at bar t+1's open; no fees, no spread. The bars are a random walk with 8-decimal prices, so two
averages are almost never exactly equal; the script counts the bars where they are (computed
exactly, in integers) and compares trades only when there are none.

MODE is one of:
- `bars` (1M bars, SMA 10/20): vectorbt's backtest on the frame in memory (averages, crossings,
  portfolio, trade records) and its load + backtest (pandas' fastest read_csv of the two price
  columns), against the tradsys session on bars in memory (`session_once csv-memory`, the full
  risk chain included, timed by the session) and `tradsys run` on the CSV, whole process.
  Targets: 2x and 1.5x, ratio of bests.
- `backtesting` (50k bars, SMA 10/20): backtesting.py's `Backtest.run` on the frame in memory
  against the same two tradsys sides.
- `grid` (1M bars): the grid fast 5..50:5 x slow 10..200:10 with fast < slow (175 runs) through
  `tradsys sweep --jobs JOBS` (whole process, from the CSV) and through vectorbt's broadcast (one
  `vbt.MA.run` per side over every run's window, one `Portfolio.from_signals` over the runs, in
  calls of `--chunk` runs, 25 by default: the whole grid in one call does not fit in 24 GiB), in
  runs/s. Every run's trade count is compared, and the trades of three runs one by one.

vectorbt's numba functions are compiled on the full-size input before anything is timed.
"""
import argparse
import itertools
import os
import subprocess
import sys

import numpy as np
import pandas as pd

import timing

SCALE = 100_000_000  # raw units per price unit, as tradsys books prices
FASTS = list(range(5, 51, 5))
SLOWS = list(range(10, 201, 10))
DEFAULT_BARS = {"bars": 1_000_000, "backtesting": 50_000, "grid": 1_000_000}


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


def minutes(count):
    return pd.date_range("2020-01-01", periods=count, freq="min")


def write_csv(path, opens, high, low, close):
    times = minutes(len(close)).strftime("%Y-%m-%d %H:%M:%S")
    with open(path, "w") as out:
        out.write("time,open,high,low,close,volume\n")
        for row in zip(times, fixed(opens), fixed(high), fixed(low), fixed(close)):
            out.write(",".join(row) + ",100\n")


def exact_ties(close, pairs):
    """Bars where a pair's two averages are exactly equal (integer sums: fast_sum * slow ==
    slow_sum * fast), summed over `pairs`."""
    sums = np.concatenate(([0], np.cumsum(close.astype(object))))
    ties = 0
    for fast, slow in pairs:
        fast_sums = sums[fast:] - sums[:-fast]
        slow_sums = sums[slow:] - sums[:-slow]
        fast_sums = fast_sums[slow - fast:]
        ties += int(np.count_nonzero(fast_sums * slow == slow_sums * fast))
    return ties


def stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def tradsys_trades(path):
    """A trades CSV of `tradsys run` as (side, entry time, entry price, exit time, exit price)."""
    frame = pd.read_csv(path, dtype=str)
    price = lambda text: round(float(text) * SCALE)
    return [(r.side, r.entry_time, price(r.entry_price), r.exit_time, price(r.exit_price))
            for r in frame.itertuples()]


def compare_trades(label, ours, theirs, ties):
    """Prints whether two trade lists agree; exits 1 if they differ where they must agree."""
    if ties:
        print(f"trades, {label}: not compared ({ties} exact ties; each side's float residue decides those)")
        return
    if ours == theirs:
        print(f"trades, {label}: identical ({len(ours):,} closed round trips)")
        return
    first = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
    print(f"trades, {label}: DIFFER ({len(ours):,} against {len(theirs):,}); first difference at {first}:")
    print(f"  tradsys: {ours[first] if first < len(ours) else None}")
    print(f"  peer:    {theirs[first] if first < len(theirs) else None}")
    sys.exit(1)


class Tradsys:
    """The tradsys sides: the binary and the in-memory session example, on one CSV file."""

    def __init__(self, args, csv):
        self.binary, self.session_once, self.csv, self.out = args.tradsys, args.session_once, csv, args.out
        self.bars = args.bars

    def config(self, fast, slow):
        path = os.path.join(self.out, f"sma-cross-{fast}-{slow}.toml")
        with open(path, "w") as out:
            out.write(
                "[instruments.BENCH]\ntick = \"0.00000001\"\nlot_size = 1\n"
                f"[feed]\nplugin = \"bars-csv\"\nparams = {{ path = {self.csv!r}, symbol = \"BENCH\" }}\n"
                f"[strategies.trend]\nplugin = \"sma-cross\"\nparams = {{ fast = {fast}, slow = {slow}, qty = 1 }}\n"
            )
        return path

    def memory(self):
        """The session on the bars in memory; the seconds it reports (the load is not timed)."""
        done = subprocess.run([self.session_once, "csv-memory", str(self.bars), self.csv],
                              capture_output=True, text=True, check=True)
        return float(done.stderr.strip().rsplit(", ", 1)[1].removesuffix(" s"))

    def run(self, config, *more):
        subprocess.run([self.binary, "run", "--config", config, "--quiet", *more], check=True,
                       stdout=subprocess.DEVNULL)

    def trades(self, fast, slow):
        path = os.path.join(self.out, f"tradsys-trades-{fast}-{slow}.csv")
        self.run(self.config(fast, slow), "--trades", path)
        return tradsys_trades(path)


def signals(fast_ma, slow_ma):
    """Entries and short entries: a cross decided on bar t, filled at bar t+1's open."""
    up = fast_ma.ma_crossed_above(slow_ma)
    down = fast_ma.ma_crossed_below(slow_ma)
    return up.shift(1, fill_value=False).astype(bool), down.shift(1, fill_value=False).astype(bool)


def vectorbt_grid(vbt, frame, fasts, slows, chunk):
    """The strategy in vectorbt over the grid, broadcast `chunk` runs (columns) at a time: the
    whole grid in one call needs more than this machine's 24 GiB at 1M bars (175 float columns of
    averages, signals and portfolio state, several copies each; the kernel ends it). Trade records
    of every chunk, their columns numbered across the grid."""
    records = []
    for start in range(0, len(fasts), chunk):
        part = vectorbt_backtest(vbt, frame, fasts[start:start + chunk], slows[start:start + chunk]).trades.values
        part = part.copy()
        part["col"] += start
        records.append(part)
    return np.concatenate(records)


def vectorbt_backtest(vbt, frame, fasts, slows):
    """The strategy in vectorbt for each (fasts[i], slows[i]): one broadcast over every column."""
    close, opens = frame["close"], frame["open"]
    fast_ma = vbt.MA.run(close, window=fasts, short_name="fast")
    slow_ma = vbt.MA.run(close, window=slows, short_name="slow")
    entries, short_entries = signals(fast_ma, slow_ma)
    return vbt.Portfolio.from_signals(
        close, entries=entries, short_entries=short_entries, price=opens, size=1.0,
        init_cash=1e12, fees=0.0, upon_opposite_entry="reverse", freq="1min",
    )


def vectorbt_trades(records, times, column=None):
    """Closed trades from a portfolio's trade records (one column's, if given), as tradsys_trades."""
    closed = records[records["status"] == 1]
    if column is not None:
        closed = closed[closed["col"] == column]
    return [
        ("long" if r["direction"] == 0 else "short", stamp(times[r["entry_idx"]]),
         round(float(r["entry_price"]) * SCALE), stamp(times[r["exit_idx"]]), round(float(r["exit_price"]) * SCALE))
        for r in closed
    ]


def load_prices(csv, **more):
    """The fastest load pandas offers for this file: the two price columns as float64, no date
    parsing (the bars are one minute apart from a known start, so times are rebuilt from rows)."""
    return pd.read_csv(csv, usecols=["open", "close"], dtype="float64", engine="c", **more)


def mode_bars(args, csv, close, ours):
    import vectorbt as vbt
    ties = exact_ties(close, [(10, 20)])
    print(f"vectorbt {vbt.__version__}; bars: {args.bars:,} (seed {args.seed}); exact ties between the averages: {ties}")
    frame = load_prices(csv)
    records = vectorbt_backtest(vbt, frame, 10, 20).trades.values  # numba compiled, full size
    config = ours.config(10, 20)
    times = timing.interleaved(args.rounds, {
        "vectorbt backtest, in memory": lambda: vectorbt_backtest(vbt, frame, 10, 20).trades.values,
        "tradsys session, in memory": ours.memory,
        "vectorbt load + backtest, from the CSV": lambda: vectorbt_backtest(vbt, load_prices(csv), 10, 20).trades.values,
        "tradsys run, from the CSV (whole process)": lambda: ours.run(config),
    })
    timing.table(f"SMA 10/20 on {args.bars:,} bars, {args.rounds} interleaved rounds", times, per=args.bars)
    print("\nratios (target: 2x in memory, 1.5x from the CSV)")
    timing.ratio(times, "tradsys session, in memory", "vectorbt backtest, in memory")
    timing.ratio(times, "tradsys run, from the CSV (whole process)", "vectorbt load + backtest, from the CSV")
    compare_trades("SMA 10/20", ours.trades(10, 20), vectorbt_trades(records, minutes(args.bars)), ties)


def mode_backtesting(args, csv, opens, high, low, close, ours):
    import backtesting
    from backtesting import Backtest

    from backtesting_sma_cross import sma_cross
    ties = exact_ties(close, [(10, 20)])
    print(f"backtesting.py {backtesting.__version__}; bars: {args.bars:,} (seed {args.seed}); exact ties: {ties}")

    frame = pd.DataFrame({"Open": opens / SCALE, "High": high / SCALE, "Low": low / SCALE, "Close": close / SCALE,
                          "Volume": 100.0}, index=minutes(args.bars))
    strategy = sma_cross(10, 20, 1)
    backtest = lambda: Backtest(frame, strategy, cash=1e12, commission=0.0, finalize_trades=False).run()
    stats = backtest()
    config = ours.config(10, 20)
    times = timing.interleaved(args.rounds, {
        "backtesting.py Backtest.run, in memory": backtest,
        "tradsys session, in memory": ours.memory,
        "tradsys run, from the CSV (whole process)": lambda: ours.run(config),
    })
    timing.table(f"SMA 10/20 on {args.bars:,} bars, {args.rounds} interleaved rounds", times, per=args.bars)
    print("\nratios")
    timing.ratio(times, "tradsys session, in memory", "backtesting.py Backtest.run, in memory")
    timing.ratio(times, "tradsys run, from the CSV (whole process)", "backtesting.py Backtest.run, in memory")
    theirs = [("long" if t.Size > 0 else "short", stamp(t.EntryTime), round(t.EntryPrice * SCALE), stamp(t.ExitTime),
               round(t.ExitPrice * SCALE)) for t in stats._trades.itertuples()]
    compare_trades("SMA 10/20", ours.trades(10, 20), theirs, ties)


def mode_grid(args, csv, close, ours):
    import vectorbt as vbt
    pairs = [(fast, slow) for fast, slow in itertools.product(FASTS, SLOWS) if fast < slow]
    fasts, slows = [f for f, _ in pairs], [s for _, s in pairs]
    ties = exact_ties(close, pairs)
    print(f"vectorbt {vbt.__version__}; bars: {args.bars:,} (seed {args.seed}); grid fast 5..50:5 x slow 10..200:10, "
          f"fast < slow: {len(pairs)} runs; exact ties over the grid: {ties}; tradsys --jobs {args.jobs}")
    frame = load_prices(csv)
    chunk = args.chunk
    records = vectorbt_grid(vbt, frame, fasts, slows, chunk)  # numba compiled, full size
    config = ours.config(10, 20)
    results = os.path.join(args.out, "sweep.csv")
    sweep = [ours.binary, "sweep", "--config", config, "--grid", "strategies.trend.params.fast=5..50:5",
             "--grid", "strategies.trend.params.slow=10..200:10", "--skip-invalid", "--jobs", str(args.jobs),
             "--quiet", "--out", results]
    times = timing.interleaved(args.rounds, {
        f"vectorbt broadcast ({chunk} runs a call), in memory": lambda: vectorbt_grid(vbt, frame, fasts, slows, chunk),
        f"tradsys sweep --jobs {args.jobs}, from the CSV (whole process)":
            lambda: subprocess.run(sweep, check=True, stdout=subprocess.DEVNULL),
        "vectorbt load + broadcast, from the CSV":
            lambda: vectorbt_grid(vbt, load_prices(csv), fasts, slows, chunk),
    })
    timing.table(f"{len(pairs)} runs on {args.bars:,} bars, {args.rounds} interleaved rounds", times,
                 per=len(pairs), unit="runs/s")
    print("\nratios (target: tradsys at least vectorbt's broadcast, in memory)")
    timing.ratio(times, f"tradsys sweep --jobs {args.jobs}, from the CSV (whole process)",
                 f"vectorbt broadcast ({chunk} runs a call), in memory")
    timing.ratio(times, f"tradsys sweep --jobs {args.jobs}, from the CSV (whole process)",
                 "vectorbt load + broadcast, from the CSV")
    # Every run's count of closed trades, then three runs' trades one by one.
    swept = pd.read_csv(results)
    counts = {(int(r["strategies.trend.params.fast"]), int(r["strategies.trend.params.slow"])): int(r["trades"])
              for _, r in swept.iterrows()}
    closed = records[records["status"] == 1]
    theirs = {pair: int(np.count_nonzero(closed["col"] == column)) for column, pair in enumerate(pairs)}
    differ = [pair for pair in pairs if counts.get(pair) != theirs[pair]]
    if ties:
        print(f"trade counts: not compared ({ties} exact ties)")
    elif differ:
        print(f"trade counts: DIFFER in {len(differ)} of {len(pairs)} runs, first {differ[0]}: "
              f"tradsys {counts.get(differ[0])}, vectorbt {theirs[differ[0]]}")
        sys.exit(1)
    else:
        print(f"trade counts: identical in all {len(pairs)} runs ({sum(theirs.values()):,} closed trades)")
    times_index = minutes(args.bars)
    for pair in (pairs[0], pairs[len(pairs) // 2], pairs[-1]):
        compare_trades(f"SMA {pair[0]}/{pair[1]}", ours.trades(*pair),
                       vectorbt_trades(records, times_index, pairs.index(pair)), ties)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=sorted(DEFAULT_BARS))
    parser.add_argument("--tradsys", required=True)
    parser.add_argument("--session-once", required=True)
    parser.add_argument("--bars", type=int)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--chunk", type=int, default=25, help="grid mode: vectorbt's runs per broadcast call")
    parser.add_argument("--out", default="target/side-by-side")
    args = parser.parse_args()
    args.bars = args.bars or DEFAULT_BARS[args.mode]
    if args.rounds < 5:
        parser.error("--rounds must be at least 5: a best of fewer runs is a draw, not a measurement")
    os.makedirs(args.out, exist_ok=True)
    before = timing.load_average()
    csv = os.path.abspath(os.path.join(args.out, f"bars-{args.bars}-{args.seed}.csv"))
    opens, high, low, close = generate(args.bars, args.seed)
    if not os.path.exists(csv):
        write_csv(csv + ".part", opens, high, low, close)
        os.replace(csv + ".part", csv)
    ours = Tradsys(args, csv)
    if args.mode == "bars":
        mode_bars(args, csv, close, ours)
    elif args.mode == "backtesting":
        mode_backtesting(args, csv, opens, high, low, close, ours)
    else:
        mode_grid(args, csv, close, ours)
    timing.report_load(before)


if __name__ == "__main__":
    main()
