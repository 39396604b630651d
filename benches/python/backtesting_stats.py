"""Cross-checks tradsys's statistics against backtesting.py's own `compute_stats`.

tradsys runs a bar config and writes its report, equity curve and trades. This script hands the
same equity curve, the same trades and the same bars to backtesting.py 0.6.5's
`backtesting._stats.compute_stats`, then compares every figure both report. The trading is
tradsys's; what is checked is that each statistic is computed as backtesting.py computes it.

    benches/backtesting-stats.sh [CONFIG ...]

A CONFIG of `GOOG` runs an SMA 10/20 cross on the daily GOOG bars that backtesting.py ships
(`backtesting.test.GOOG`, 2004 to 2013): the case its own documentation shows.

Durations: backtesting.py rounds each up to the resolution of its data's bar period (a day for
daily bars, an hour for hourly ones); tradsys keeps them exact. A duration agrees when tradsys's
exact figure rounds up to backtesting.py's, which is the rule backtesting.py applies.
"""

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from backtesting._stats import compute_stats
from backtesting._util import _data_period

# tradsys's key, backtesting.py's key, and the scale from tradsys's unit to backtesting.py's.
FIGURES = [
    ("duration_days", "Duration", "days"),
    ("exposure_time_pct", "Exposure Time [%]", 1.0),
    ("equity_final", "Equity Final [$]", 1.0),
    ("equity_peak", "Equity Peak [$]", 1.0),
    ("return_pct", "Return [%]", 1.0),
    ("buy_hold_return_pct", "Buy & Hold Return [%]", 1.0),
    ("return_ann_pct", "Return (Ann.) [%]", 1.0),
    ("volatility_ann_pct", "Volatility (Ann.) [%]", 1.0),
    ("cagr_pct", "CAGR [%]", 1.0),
    ("sharpe", "Sharpe Ratio", 1.0),
    ("sortino", "Sortino Ratio", 1.0),
    ("calmar", "Calmar Ratio", 1.0),
    ("alpha_pct", "Alpha [%]", 1.0),
    ("beta", "Beta", 1.0),
    ("max_drawdown_pct", "Max. Drawdown [%]", -1.0),
    ("avg_drawdown_pct", "Avg. Drawdown [%]", -1.0),
    ("max_drawdown_days", "Max. Drawdown Duration", "days"),
    ("avg_drawdown_days", "Avg. Drawdown Duration", "days"),
    ("trades", "# Trades", 1.0),
    ("win_rate_pct", "Win Rate [%]", 1.0),
    ("best_trade_pct", "Best Trade [%]", 1.0),
    ("worst_trade_pct", "Worst Trade [%]", 1.0),
    ("avg_trade_pct", "Avg. Trade [%]", 1.0),
    ("max_trade_days", "Max. Trade Duration", "days"),
    ("avg_trade_days", "Avg. Trade Duration", "days"),
    ("profit_factor", "Profit Factor", 1.0),
    ("expectancy_pct", "Expectancy [%]", 1.0),
    ("sqn", "SQN", 1.0),
    ("kelly_criterion", "Kelly Criterion", 1.0),
]

# Slack for float days (a nanosecond is 1.2e-14 days).
DAY_EPSILON = 1e-9


def resolution_days(index):
    """The unit backtesting.py rounds durations up to, in days: its `_round_timedelta`'s."""
    period = _data_period(index)
    resolution = getattr(period, "resolution_string", None) or period.resolution
    return pd.to_timedelta(1, unit=resolution).total_seconds() / 86400.0


def rounds_up_to(mine, theirs, unit):
    """Whether exact `mine` (days) rounded up to `unit` is `theirs`."""
    return theirs - unit - DAY_EPSILON < mine <= theirs + DAY_EPSILON


def run_tradsys(binary, config, out):
    report, equity, trades = out / "report.json", out / "equity.csv", out / "trades.csv"
    subprocess.run(
        [binary, "run", "--config", config, "--quiet", "--report", report, "--equity", equity, "--trades", trades],
        check=True,
    )
    return json.loads(report.read_text()), pd.read_csv(equity), pd.read_csv(trades)


def as_days(value):
    if isinstance(value, pd.Timedelta):
        return value.total_seconds() / 86400.0
    return float(value)


GOOG_CONFIG = """[session]
seed = 1
initial_cash = "100000"

[instruments.GOOG]
tick = "0.01"

[feed]
plugin = "bars-csv"
params = {{ path = "{path}", symbol = "GOOG" }}

[strategies.trend]
plugin = "sma-cross"
params = {{ fast = 10, slow = 20, qty = 100 }}
"""


def goog_config(scratch):
    """Writes backtesting.py's GOOG bars and an SMA 10/20 config beside them; returns the config."""
    from backtesting.test import GOOG

    bars = scratch / "GOOG.csv"
    GOOG.to_csv(bars)
    config = scratch / "goog.toml"
    config.write_text(GOOG_CONFIG.format(path=bars))
    return config


def compare(binary, config):
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        if config == "GOOG":
            config = goog_config(scratch)
        report, equity, trades = run_tradsys(binary, config, scratch)
        feed = next(c for c in report["run"]["components"] if c["kind"] == "feed")
        bars = pd.read_csv(feed["params"]["path"], index_col=0)
    index = pd.to_datetime(equity["time"], utc=True).dt.tz_localize(None)
    marks = equity["total_equity"].to_numpy(dtype=float)
    # The bars as the session marked them: the primary instrument's close at each mark is what
    # tradsys's buy & hold and beta use; backtesting.py reads it from `Close`.
    bars.index = pd.to_datetime(bars.index, utc=True).tz_localize(None)
    bars.columns = [c.lower() for c in bars.columns]
    closes = bars["close"].reindex(index).to_numpy(dtype=float)
    ohlc = pd.DataFrame({"Open": closes, "High": closes, "Low": closes, "Close": closes}, index=index)
    sign = np.where(trades["side"] == "long", 1, -1)
    trades_df = pd.DataFrame(
        {
            "Size": sign * trades["qty"],
            "EntryBar": trades["entry_bar"],
            "ExitBar": trades["exit_bar"],
            "EntryPrice": trades["entry_price"],
            "ExitPrice": trades["exit_price"],
            "PnL": trades["net_pnl"],
            "ReturnPct": trades["return_pct"] / 100.0,
            "EntryTime": pd.to_datetime(trades["entry_time"], utc=True).dt.tz_localize(None),
            "ExitTime": pd.to_datetime(trades["exit_time"], utc=True).dt.tz_localize(None),
        }
    )
    trades_df["Duration"] = trades_df["ExitTime"] - trades_df["EntryTime"]
    reference = compute_stats(trades_df, marks, ohlc, None)
    unit = resolution_days(ohlc.index)
    ours = report["total"]["statistics"]
    failures = 0
    print(f"\n{config}: {len(marks)} marks, {len(trades_df)} trades")
    print(f"  {'figure':<26} {'tradsys':>16} {'backtesting.py':>16}")
    for key, theirs_key, scale in FIGURES:
        mine = ours[key]
        theirs = reference[theirs_key]
        if scale == "days":
            theirs = as_days(theirs) if not pd.isna(theirs) else None
            close = lambda mine, theirs: rounds_up_to(mine, theirs, unit)
        else:
            theirs = None if pd.isna(theirs) else float(theirs) * scale
            close = lambda mine, theirs: abs(mine - theirs) <= 1e-6 * max(1.0, abs(theirs))
        both_missing = mine is None and theirs is None
        agree = both_missing or (
            mine is not None and theirs is not None and math.isfinite(theirs) and close(mine, theirs)
        )
        failures += 0 if agree else 1
        fmt = lambda v: "n/a" if v is None else f"{v:.6f}"
        print(f"  {key:<26} {fmt(mine):>16} {fmt(theirs):>16}  {'ok' if agree else 'DIFFERS'}")
    return failures


def main():
    binary, configs = sys.argv[1], sys.argv[2:]
    failures = sum(compare(binary, config) for config in configs)
    print(f"\n{failures} figure(s) differ")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
