"""Bad input is an exception naming the source, key, column or class, and nothing half-done."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

import tradsys
from conftest import EURUSD, ROOT, SMA_CROSS


def test_a_bad_config_lists_every_error_with_its_source_and_key(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text(SMA_CROSS.read_text().replace("seed = 1", "seedd = 1").replace("[risk.size]", "[risk.size]\nbogus = 1"))
    with pytest.raises(tradsys.ConfigError) as raised:
        tradsys.run(config)
    keys = {error["key"] for error in raised.value.errors}
    assert keys == {"session.seedd", "risk.size.bogus"}
    assert all(str(config) in error["source"] for error in raised.value.errors)
    assert "2 errors in the configuration" in str(raised.value)
    assert isinstance(raised.value, tradsys.InputError) and isinstance(raised.value, ValueError)


def test_a_bad_set_names_the_set_layer():
    with pytest.raises(tradsys.ConfigError) as raised:
        tradsys.run(SMA_CROSS, set={"strategies.trend.params.fats": 5})
    (error,) = raised.value.errors
    assert error["key"] == "strategies.trend.params.fats" and "fast" in error["message"]
    assert error["source"].startswith("--set strategies.trend.params.fats=5")
    with pytest.raises(TypeError, match="not a value a config can hold"):
        tradsys.run(SMA_CROSS, set={"session.seed": object()})


def test_a_missing_config_file_is_named(tmp_path):
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(tradsys.ConfigError, match="nowhere.toml"):
        tradsys.run(missing)


def _bars():
    return pd.read_csv(EURUSD, index_col=0, parse_dates=True)


def test_a_dataframe_without_a_column_names_it():
    with pytest.raises(tradsys.InputError, match=r"DataFrame: .*close.*\(columns: time, Open, High, Low, Volume\)"):
        tradsys.run(SMA_CROSS, data=_bars().drop(columns=["Close"]))


def test_unsorted_times_are_refused_naming_the_row():
    bars = _bars()
    shuffled = pd.concat([bars.iloc[:10], bars.iloc[11:12], bars.iloc[10:11], bars.iloc[12:]])
    with pytest.raises(ValueError, match=r"row 11 \(2017-04-19 19:00:00\+00:00\) is not after row 10"):
        tradsys.run(SMA_CROSS, data=shuffled)


def test_bad_rows_of_a_dataframe_are_reported_as_a_files_are():
    bars = _bars()
    bars.iloc[100, bars.columns.get_loc("Close")] = np.nan
    result = tradsys.run(SMA_CROSS, data=bars)
    assert result.report["bad_rows"]["count"] == 1
    assert result.report["bad_rows"]["first"][0].startswith("DataFrame: row 101:")


def test_data_must_be_a_dataframe():
    with pytest.raises(TypeError, match="expected a pandas or polars DataFrame, got list"):
        tradsys.run(SMA_CROSS, data=[1, 2, 3])
    with pytest.raises(tradsys.InputError, match="DataFrame: no rows"):
        tradsys.run(SMA_CROSS, data=_bars().iloc[:0])


STRATEGIES = textwrap.dedent(
    """
    class Fails:
        capabilities = ["submit-orders"]

        def on_bar(self, bar, ctx):
            self.seen = getattr(self, "seen", 0) + 1
            if self.seen == 50:
                raise ZeroDivisionError("bar fifty")

    class Peeks:
        capabilities = ["submit-orders"]

        def on_bar(self, bar, ctx):
            try:
                ctx.position(bar.instrument)
            except PermissionError as denied:
                self.denied = str(denied)
    """
)


def _with_python_strategy(tmp_path, cls, extra=""):
    (tmp_path / "strategies.py").write_text(STRATEGIES)
    config = SMA_CROSS.read_text().replace('path = "data/', f'path = "{SMA_CROSS.parent}/data/')
    config += f'\n[strategies.py]\nplugin = "python"\nparams = {{ file = "strategies.py", class = "{cls}" }}\n{extra}'
    path = tmp_path / "config.toml"
    path.write_text(config)
    return path


def test_a_python_exception_fails_that_strategy_alone_with_its_traceback(tmp_path):
    alone = tradsys.run(SMA_CROSS)
    with pytest.raises(tradsys.RunError, match="strategies.py:Fails.on_bar raised") as raised:
        tradsys.run(_with_python_strategy(tmp_path, "Fails"))
    result = raised.value.result
    (failure,) = result.failures
    assert (failure["kind"], failure["id"], failure["call"], failure["panicked"]) == ("strategy", "py", "on_bar", True)
    assert "line 8, in on_bar" in failure["message"] and failure["message"].endswith("ZeroDivisionError: bar fifty")
    # The compiled-in strategy beside it trades as it does alone.
    trend = result.trades[result.trades["strategy"] == "trend"]
    pd.testing.assert_frame_equal(trend, alone.trades)
    tolerated = tradsys.run(_with_python_strategy(tmp_path, "Fails"), set={"session.tolerate_failures": True})
    assert len(tolerated.failures) == 1


def test_a_denied_capability_is_refused_and_counted(tmp_path):
    result = tradsys.run(_with_python_strategy(tmp_path, "Peeks"))
    components = {c["id"]: c for c in result.report["components"]}
    assert components["py"]["metrics"]["denied"] == {"read-position": 5000}


def test_ctrl_c_stops_a_run_between_events():
    script = textwrap.dedent(
        """
        import sys, time, tradsys
        started = time.monotonic()
        print("started", flush=True)
        try:
            tradsys.run(None, set={"feed.params.count": 1_000_000_000})
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(0)
        print("finished", flush=True)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert child.stdout.readline().strip() == "started"
    time.sleep(1.5)
    child.send_signal(signal.SIGINT)
    try:
        out, _ = child.communicate(timeout=60)
    finally:
        child.kill()
    assert out.strip() == "interrupted" and child.returncode == 0
