"""The result of a run: its tables as DataFrames, its statistics as backtesting.py names them,
its report, and the HTML report and plot the CLI writes."""

import json
import os
import tempfile
from typing import Any, Dict, List, Optional

import pandas as pd

from ._frames import frame_of

#: tradsys's statistic, backtesting.py's name for it, and how it is shown: "days" becomes a
#: Timedelta, -1 turns a depth into backtesting.py's negative drawdown.
STATISTICS = [
    ("start", "Start", "time"),
    ("end", "End", "time"),
    ("duration_days", "Duration", "days"),
    ("exposure_time_pct", "Exposure Time [%]", 1),
    ("equity_final", "Equity Final [$]", 1),
    ("equity_peak", "Equity Peak [$]", 1),
    ("commissions", "Commissions [$]", 1),
    ("return_pct", "Return [%]", 1),
    ("buy_hold_return_pct", "Buy & Hold Return [%]", 1),
    ("return_ann_pct", "Return (Ann.) [%]", 1),
    ("volatility_ann_pct", "Volatility (Ann.) [%]", 1),
    ("cagr_pct", "CAGR [%]", 1),
    ("sharpe", "Sharpe Ratio", 1),
    ("sortino", "Sortino Ratio", 1),
    ("calmar", "Calmar Ratio", 1),
    ("alpha_pct", "Alpha [%]", 1),
    ("beta", "Beta", 1),
    ("max_drawdown_pct", "Max. Drawdown [%]", -1),
    ("avg_drawdown_pct", "Avg. Drawdown [%]", -1),
    ("max_drawdown_days", "Max. Drawdown Duration", "days"),
    ("avg_drawdown_days", "Avg. Drawdown Duration", "days"),
    ("trades", "# Trades", 1),
    ("win_rate_pct", "Win Rate [%]", 1),
    ("best_trade_pct", "Best Trade [%]", 1),
    ("worst_trade_pct", "Worst Trade [%]", 1),
    ("avg_trade_pct", "Avg. Trade [%]", 1),
    ("max_trade_days", "Max. Trade Duration", "days"),
    ("avg_trade_days", "Avg. Trade Duration", "days"),
    ("profit_factor", "Profit Factor", 1),
    ("expectancy_pct", "Expectancy [%]", 1),
    ("sqn", "SQN", 1),
    ("kelly_criterion", "Kelly Criterion", 1),
]


def statistics_series(statistics: Dict[str, Any]) -> pd.Series:
    """A report's statistics as a Series with backtesting.py's names (a missing figure is NaN)."""
    values = {}
    for key, name, unit in STATISTICS:
        value = statistics.get(key)
        if unit == "time":
            values[name] = pd.Timestamp(value) if value is not None else pd.NaT
        elif unit == "days":
            values[name] = pd.Timedelta(days=value) if value is not None else pd.NaT
        else:
            values[name] = float("nan") if value is None else (value * unit if unit != 1 else value)
    return pd.Series(values, dtype=object)


class _Svg:
    """An SVG drawing a notebook shows inline."""

    def __init__(self, markup: str):
        self.markup = markup

    def _repr_svg_(self) -> str:
        return self.markup


class Result:
    """What a run gives back.

    Attributes:
        trades: one row per round trip, the columns of ``--trades`` (prices and money as floats,
            exact to the 8th decimal; times as UTC datetimes), indexed by ``entry_time``.
        equity: the equity curve, the columns of ``--equity``, indexed by ``time``.
        orders: one row per order: when, who, what was asked, and what became of it.
        stats: the total's statistics, a Series with backtesting.py's names.
        report: the report, as ``--report`` writes it (a dict).
        failures: the components that failed during the run (from the report).
    """

    def __init__(self, output: Any):
        self._output = output
        self.trades: pd.DataFrame = frame_of(output.trades(), index="entry_time")
        self.equity: pd.DataFrame = frame_of(output.equity(), index="time")
        self.orders: pd.DataFrame = frame_of(output.orders())
        self.report: Dict[str, Any] = json.loads(output.report_json())
        self.stats: pd.Series = statistics_series(self.report["total"]["statistics"])
        self.failures: List[Dict[str, Any]] = self.report.get("failures", [])

    def strategy_stats(self, strategy: str) -> pd.Series:
        """One strategy's statistics, with backtesting.py's names."""
        for entry in self.report["strategies"]:
            if entry["id"] == strategy:
                return statistics_series(entry["statistics"])
        ids = ", ".join(entry["id"] for entry in self.report["strategies"])
        raise KeyError(f"no strategy {strategy!r} in this run; it has {ids}")

    def to_html(self, path: "os.PathLike[str] | str") -> str:
        """Writes the HTML report (as ``--report-html``); returns the path."""
        self._output.write_html(os.fspath(path))
        return os.fspath(path)

    def plot(self, path: Optional["os.PathLike[str] | str"] = None) -> Any:
        """Draws the equity curve and drawdown (as ``--plot``): to ``path`` (``.svg`` or
        ``.png``; returns the path), or, without one, as an SVG a notebook shows inline."""
        if path is not None:
            self._output.write_plot(os.fspath(path))
            return os.fspath(path)
        with tempfile.TemporaryDirectory(prefix="tradsys-plot-") as scratch:
            target = os.path.join(scratch, "equity.svg")
            self._output.write_plot(target)
            with open(target, encoding="utf-8") as svg:
                return _Svg(svg.read())

    def __repr__(self) -> str:
        stats = self.stats
        return (
            f"<tradsys.Result: {len(self.trades)} trades, return {stats['Return [%]']:.3f}%, "
            f"Sharpe {stats['Sharpe Ratio']:.3f}>"
        )
