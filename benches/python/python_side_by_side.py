"""tradsys from Python, measured (BENCHMARKS.md, "Python"): every figure is the best and the median
of ROUNDS runs, the sides interleaved round by round, on the same bars.

1. `tradsys.run` against the `tradsys run` binary on the same configs (the process start included
   for the binary; the package's import is not, it is paid once per interpreter).
2. DataFrames: a frame of 1M bars handed over with `data=` against the same bars read from a CSV
   file by the same run, and the conversion alone; results turned into DataFrames per million rows.
3. Peers on the same SMA cross (10/30, market orders at the next open) and the same 50,000 bars:
   backtesting.py's `Backtest.run`, and tradsys with the strategy written in Python (the `python`
   plugin) and compiled in. NautilusTrader is measured when it is installed.

    python benches/python/python_side_by_side.py --binary target/release/tradsys [--rounds 5]
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import tradsys
from tradsys import _native
from tradsys._frames import columns_of
from tradsys._result import Result

from timing import interleaved, load_average, report_load, table

REPO = Path(__file__).resolve().parents[2]


def bars(count, seed=1):
    """A random walk of hourly bars with 5-decimal prices (as EUR/USD's)."""
    rng = np.random.default_rng(seed)
    close = np.round(1.10 + np.cumsum(rng.normal(0, 0.0005, count)), 5)
    open_ = np.round(np.concatenate([[1.10], close[:-1]]), 5)
    high = np.round(np.maximum(open_, close) + 0.0002, 5)
    low = np.round(np.minimum(open_, close) - 0.0002, 5)
    index = pd.date_range("2000-01-01", periods=count, freq="h", tz="UTC", name="time")
    return pd.DataFrame({"Open": open_, "High": high, "Low": low, "Close": close, "Volume": 1000.0}, index=index)


def config(path, csv, strategy):
    text = (
        '[session]\nseed = 1\ninitial_cash = "100000"\ncommission = { percent = "0.002" }\n'
        '[instruments.EURUSD]\ntick = "0.00001"\nlot_size = 1000\n'
        f'[feed]\nplugin = "bars-csv"\nparams = {{ path = "{csv}", symbol = "EURUSD" }}\n'
        f"[strategies.trend]\n{strategy}\n"
    )
    path.write_text(text)
    return path


NATIVE = 'plugin = "sma-cross"\nparams = { fast = 10, slow = 30, qty = 10 }'
PYTHON = (
    f'plugin = "python"\nparams = {{ file = "{REPO}/examples/python/sma_cross.py", class = "SmaCross", '
    "args = { fast = 10, slow = 30, qty = 10 } }"
)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=str(REPO / "target" / "release" / "tradsys"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--nautilus", help="a Python with nautilus_trader installed (its own venv)")
    args = parser.parse_args()
    before = load_average()
    print(f"tradsys {tradsys.version().splitlines()[0]}; load average before: {before:.2f}")
    scratch = Path(tempfile.mkdtemp(prefix="tradsys-python-bench-"))

    # 1. The package against the binary.
    example = REPO / "examples" / "bars-sma-cross.toml"
    large = bars(200_000)
    large.to_csv(scratch / "large.csv")
    large_config = config(scratch / "large.toml", scratch / "large.csv", NATIVE)

    def cli(path):
        subprocess.run([args.binary, "run", "--config", str(path), "--quiet"], check=True, capture_output=True)

    times = interleaved(args.rounds, {
        "CLI `tradsys run`, EUR/USD 5,000 bars": lambda: cli(example),
        "tradsys.run, EUR/USD 5,000 bars": lambda: tradsys.run(example),
        "CLI `tradsys run`, 200,000 bars": lambda: cli(large_config),
        "tradsys.run, 200,000 bars": lambda: tradsys.run(large_config),
    })
    table("1. tradsys.run against the CLI (same configs; the CLI's process start included)", times)

    # 2. DataFrames in and out.
    million = bars(1_000_000)
    million.to_csv(scratch / "million.csv")
    million_config = config(scratch / "million.toml", scratch / "million.csv", NATIVE)
    times = interleaved(args.rounds, {
        "columns_of(1M-bar pandas frame)": lambda: columns_of(million),
        "tradsys.run(data=1M-bar frame)": lambda: tradsys.run(million_config, data=million),
        "tradsys.run(1M-bar CSV file)": lambda: tradsys.run(million_config),
    })
    table("2a. a DataFrame of 1M bars in: the conversion, and a whole run from the frame and from the file", times,
          per=1_000_000)
    frame_vs_file = min(times["tradsys.run(data=1M-bar frame)"]) - min(times["tradsys.run(1M-bar CSV file)"])
    print(f"  the frame run minus the file run (best): {frame_vs_file * 1e3:+.1f} ms")
    busy = config(scratch / "busy.toml", scratch / "million.csv",
                  'plugin = "sma-cross"\nparams = { fast = 2, slow = 3, qty = 1 }')
    output = _native.run(str(busy), [], None)
    trades = len(Result(output).trades)
    times = interleaved(args.rounds, {"Result(output): trades, equity, orders": lambda: Result(output)})
    rows = trades * 2 + 1_000_000  # trades, one order per trip side, one equity row per bar
    table(f"2b. results out: {trades:,} trades, {2 * trades:,} orders, 1,000,000 equity rows into DataFrames", times,
          per=rows, unit="rows/s")

    # 3. Peers on the same bars.
    fifty = bars(50_000)
    fifty.to_csv(scratch / "fifty.csv")
    native_config = config(scratch / "fifty-native.toml", scratch / "fifty.csv", NATIVE)
    python_config = config(scratch / "fifty-python.toml", scratch / "fifty.csv", PYTHON)
    sides = {
        "tradsys, sma-cross compiled in": lambda: tradsys.run(native_config, data=fifty),
        "tradsys, SmaCross in Python": lambda: tradsys.run(python_config, data=fifty),
    }
    try:
        from backtesting import Backtest

        from backtesting_sma_cross import sma_cross

        plain, strategy = fifty.tz_localize(None), sma_cross(10, 30, 10_000)
        sides["backtesting.py 0.6.5 Backtest.run"] = lambda: Backtest(
            plain, strategy, cash=1_000_000, commission=0.00002, finalize_trades=True).run()
    except ImportError:
        print("\n(backtesting.py is not installed: benches/python-strategies.sh installs it)")
    if args.nautilus:
        script = str(REPO / "benches" / "python" / "nautilus_sma_cross.py")

        def nautilus():
            done = subprocess.run([args.nautilus, script, str(scratch / "fifty.csv")], check=True,
                                  capture_output=True, text=True)
            return float(done.stdout.split()[0])

        sides["NautilusTrader 1.221 engine.run (Python Strategy)"] = nautilus
    times = interleaved(args.rounds, sides)
    table("3. the same SMA cross on the same 50,000 bars (tradsys: the whole run from the DataFrame)", times,
          per=50_000)
    report_load(before)


if __name__ == "__main__":
    sys.exit(main())
