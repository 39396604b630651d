"""tradsys.sweep: the rows `tradsys sweep --out` writes, as a DataFrame."""

import pandas as pd
import pytest

import tradsys
from conftest import SMA_CROSS

GRID = {"strategies.trend.params.fast": [5, 10], "strategies.trend.params.slow": "20..40:10"}


def test_a_sweep_equals_the_cli_output(cli, tmp_path):
    runs = tradsys.sweep(SMA_CROSS, GRID, jobs=2)
    out = tmp_path / "runs.csv"
    cli("sweep", "--config", SMA_CROSS, "--grid", "strategies.trend.params.fast=5,10",
        "--grid", "strategies.trend.params.slow=20..40:10", "--jobs", "1", "--out", out, "--quiet")
    pd.testing.assert_frame_equal(runs, pd.read_csv(out))
    assert len(runs) == 6 and runs["run"].tolist() == list(range(len(runs)))


def test_the_rows_do_not_depend_on_jobs():
    pd.testing.assert_frame_equal(tradsys.sweep(SMA_CROSS, GRID, jobs=1), tradsys.sweep(SMA_CROSS, GRID, jobs=2))


def test_a_bad_grid_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(tradsys.InputError, match="strategies.trend.params.fats"):
        tradsys.sweep(SMA_CROSS, {"strategies.trend.params.fats": [1, 2]})
    heatmap = tmp_path / "heat.svg"
    with pytest.raises(tradsys.InputError):
        tradsys.sweep(SMA_CROSS, {"strategies.trend.params.fast": [40]}, heatmap=heatmap)
    assert not heatmap.exists()


def test_a_heatmap_is_drawn_beside_the_rows(tmp_path):
    heatmap = tmp_path / "heat.svg"
    runs = tradsys.sweep(SMA_CROSS, GRID, heatmap=heatmap)
    assert len(runs) == 6
    assert heatmap.read_text().lstrip().startswith("<svg")


def test_walk_forward_rows_equal_the_cli_output(cli, tmp_path):
    runs = tradsys.sweep(SMA_CROSS, GRID, walk_forward="90d,60d")
    out = tmp_path / "walk.csv"
    cli("sweep", "--config", SMA_CROSS, "--grid", "strategies.trend.params.fast=5,10",
        "--grid", "strategies.trend.params.slow=20..40:10", "--walk-forward", "90d,60d", "--out", out, "--quiet")
    pd.testing.assert_frame_equal(runs, pd.read_csv(out))
    assert len(runs) >= 3
