"""tradsys.run: the same session as `tradsys run`, its results as DataFrames."""

import json
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest

import tradsys
from tradsys import _native
from conftest import EURUSD, PYTHON_SMA_CROSS, SMA_CROSS

# Columns the CSV files print rounded to 6 decimals; the DataFrames keep every digit.
ROUNDED = {"return_pct", "duration_days", "drawdown_pct"}


def _same_as_csv(frame: pd.DataFrame, csv: pd.DataFrame, times):
    # The index is the file's column of that name; the other columns come in the file's order.
    assert list(frame.columns) == [name for name in csv.columns if name != frame.index.name]
    frame = frame.reset_index()[list(csv.columns)]
    for name in csv.columns:
        mine, theirs = frame[name], csv[name]
        if name in times:
            pd.testing.assert_series_equal(mine, pd.to_datetime(theirs, utc=True).astype(mine.dtype), check_names=False)
        elif name in ROUNDED:
            np.testing.assert_array_equal(mine.round(6).to_numpy(), theirs.to_numpy(), err_msg=name)
        elif mine.dtype.kind in "fi":
            np.testing.assert_array_equal(mine.to_numpy(), theirs.to_numpy(), err_msg=name)
        else:
            assert mine.astype(str).tolist() == theirs.astype(str).tolist(), name


def _without_varying(report):
    report = json.loads(json.dumps(report))
    report.pop("timing", None)
    for component in report.get("components", []):
        component.get("metrics", {}).pop("runtime", None)
    return report


@pytest.fixture(scope="module")
def sma_cross():
    return tradsys.run(SMA_CROSS)


def test_results_equal_the_cli_files(sma_cross, cli, tmp_path):
    trades, equity, report = tmp_path / "trades.csv", tmp_path / "equity.csv", tmp_path / "report.json"
    cli("run", "--config", SMA_CROSS, "--trades", trades, "--equity", equity, "--report", report, "--quiet")
    _same_as_csv(sma_cross.trades, pd.read_csv(trades), times={"entry_time", "exit_time"})
    _same_as_csv(sma_cross.equity, pd.read_csv(equity), times={"time"})
    assert _without_varying(sma_cross.report) == _without_varying(json.loads(report.read_text()))
    assert len(sma_cross.trades) == sma_cross.stats["# Trades"] == 166


def test_tables_have_datetime_indexes_and_float_prices(sma_cross):
    trades, equity, orders = sma_cross.trades, sma_cross.equity, sma_cross.orders
    assert isinstance(trades.index, pd.DatetimeIndex) and trades.index.name == "entry_time"
    assert str(trades.index.tz) == "UTC" and trades.index.is_monotonic_increasing
    assert trades["entry_price"].dtype == np.float64 and trades["qty"].dtype == np.int64
    assert trades["exit_time"].dtype == "datetime64[ns, UTC]"
    assert isinstance(equity.index, pd.DatetimeIndex) and equity.index.name == "time"
    assert list(equity.columns) == ["bar", "total_equity", "drawdown_pct", "trend"]
    # Every order filled (market orders): each row's fills add up to its quantity.
    assert (orders["status"] == "filled").all() and (orders["filled"] == orders["qty"]).all()
    # The fills add up to the round trips' quantities (each trip is opened and closed by fills).
    signed = np.where(orders["side"] == "buy", orders["filled"], -orders["filled"]).sum()
    assert signed == 0 or abs(signed) == trades["qty"].iloc[-1]
    assert orders["commission"].sum() == pytest.approx(sma_cross.stats["Commissions [$]"], abs=1.0)


def test_stats_use_backtesting_py_names(sma_cross):
    stats = sma_cross.stats
    statistics = sma_cross.report["total"]["statistics"]
    assert stats["Sharpe Ratio"] == statistics["sharpe"]
    assert stats["Max. Drawdown [%]"] == -statistics["max_drawdown_pct"]
    assert stats["Duration"] == pd.Timedelta(days=statistics["duration_days"])
    assert isinstance(stats["Start"], pd.Timestamp)
    assert stats["# Trades"] == statistics["trades"]
    # One strategy: its own statistics are the total's.
    assert sma_cross.strategy_stats("trend")["Sharpe Ratio"] == stats["Sharpe Ratio"]
    with pytest.raises(KeyError, match="no strategy 'nope' in this run; it has trend"):
        sma_cross.strategy_stats("nope")


def test_a_dataframe_runs_as_its_file_does(sma_cross):
    bars = pd.read_csv(EURUSD, index_col=0, parse_dates=True)
    from_frame = tradsys.run(SMA_CROSS, data=bars)
    pd.testing.assert_frame_equal(from_frame.trades, sma_cross.trades)
    pd.testing.assert_frame_equal(from_frame.equity, sma_cross.equity)
    assert from_frame.report["bad_rows"]["count"] == 0


def test_a_polars_dataframe_runs_as_its_file_does(sma_cross):
    pl = pytest.importorskip("polars")
    bars = pl.read_csv(EURUSD, try_parse_dates=True).rename({"": "time"})
    from_frame = tradsys.run(SMA_CROSS, data=bars)
    pd.testing.assert_frame_equal(from_frame.trades, sma_cross.trades)


def test_the_python_sma_cross_trades_what_sma_cross_trades(sma_cross):
    python = tradsys.run(PYTHON_SMA_CROSS)
    pd.testing.assert_frame_equal(python.trades, sma_cross.trades)
    pd.testing.assert_frame_equal(python.equity, sma_cross.equity)
    components = {c["id"]: c for c in python.report["components"]}
    assert components["trend"]["plugin"].startswith("python@")
    assert "denied" not in components["trend"]["metrics"], "nothing was refused"


def test_set_overrides_like_the_cli(cli, tmp_path):
    result = tradsys.run(SMA_CROSS, set={"strategies.trend.params.fast": 5, "session.initial_cash": "50000"})
    trades = tmp_path / "trades.csv"
    cli("run", "--config", SMA_CROSS, "--set", "strategies.trend.params.fast=5", "--set",
        "session.initial_cash=\"50000\"", "--trades", trades, "--quiet")
    _same_as_csv(result.trades, pd.read_csv(trades), times={"entry_time", "exit_time"})
    assert result.stats["Equity Final [$]"] != tradsys.run(SMA_CROSS).stats["Equity Final [$]"]


def test_html_report_and_plot(sma_cross, tmp_path):
    page = tmp_path / "report.html"
    assert sma_cross.to_html(page) == str(page)
    assert page.read_text().startswith("<!DOCTYPE html>") and "Sharpe" in page.read_text()
    png = tmp_path / "equity.png"
    sma_cross.plot(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sma_cross.plot()._repr_svg_().lstrip().startswith("<svg")
    with pytest.raises(tradsys.InputError, match="expected a .svg or .png file"):
        sma_cross.plot(tmp_path / "equity.gif")
    assert not (tmp_path / "equity.gif").exists()


def test_the_gil_is_released_while_a_session_runs():
    # Without forced switches (an interval far longer than the test), the GIL changes hands only
    # when its holder gives it up: the counter by sleeping, this thread by blocking or by native
    # code releasing it. So the counter can see `inside` set only if the native run let it go: a
    # run that holds the GIL fails this test however the threads are scheduled, and one that
    # releases it passes as long as it lasts longer than the counter's 0.1 ms sleep.
    inside = False
    stop = threading.Event()
    spinning = threading.Event()
    ticks_inside = []

    def count():
        spinning.set()
        while not stop.is_set():
            if inside:
                ticks_inside.append(1)
            time.sleep(0.0001)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    counter = threading.Thread(target=count)
    try:
        counter.start()
        spinning.wait()
        # The native entry itself, so that nothing else between the two assignments (the Python
        # wrapper's own work) could hand the GIL over; the embedded default (a million order-flow
        # events) lasts far longer than the counter's sleep, which a small file's session might not.
        inside = True
        _native.run(None, [], None)
    finally:
        inside = False
        stop.set()
        counter.join()
        sys.setswitchinterval(interval)
    # Had the run held the GIL throughout, the counter could not have run while it was under way.
    assert ticks_inside


def test_plugins_and_config_schema():
    names = {(p["kind"], p["name"]) for p in tradsys.plugins()}
    assert ("strategy", "python") in names and ("strategy", "sma-cross") in names
    schema = tradsys.config_schema()
    assert schema["type"] == "object" and "strategies" in schema["properties"]
    assert tradsys.version().startswith("tradsys ")


def test_a_python_validator_refuses_what_its_compiled_in_twin_refuses():
    tight = {"risk.size.params.args.max_qty": 5}
    python = tradsys.run(PYTHON_SMA_CROSS, set=tight)
    native = tradsys.run(SMA_CROSS, set={"risk.size.params.max_qty": 5})
    refused = python.orders[python.orders["status"] == "rejected"]
    assert len(refused) == len(python.orders) > 0
    assert refused["reason"].iloc[0] == "qty 10 > max_qty 5" and (refused["rejected_by"] == "risk:size").all()
    pd.testing.assert_frame_equal(python.orders, native.orders)
