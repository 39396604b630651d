"""The package's functions: run, sweep, plugins, config_schema, version."""

import json
import math
import os
import tempfile
from typing import Any, Dict, Iterable, List, Mapping, Optional, Union

import pandas as pd

from . import _native
from ._frames import columns_of
from ._result import Result

PathLike = Union[str, "os.PathLike[str]"]


def _toml(value: Any) -> str:
    """A Python value as the TOML value a ``--set key=value`` takes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"set: {value!r} is not a number a config can hold")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{json.dumps(str(key))} = {_toml(item)}" for key, item in value.items()) + " }"
    if hasattr(value, "is_finite"):  # decimal.Decimal: exact, as text
        return json.dumps(str(value))
    raise TypeError(f"set: {value!r} ({type(value).__name__}) is not a value a config can hold")


def _overrides(set: Optional[Mapping[str, Any]]) -> List[str]:
    return [f"{key}={_toml(value)}" for key, value in (set or {}).items()]


def _path(config: Optional[PathLike]) -> Optional[str]:
    return None if config is None else os.fspath(config)


def run(
    config: Optional[PathLike] = None,
    set: Optional[Mapping[str, Any]] = None,
    data: Any = None,
    symbol: Optional[str] = None,
) -> Result:
    """Runs one session, as ``tradsys run --config CONFIG --set KEY=VALUE...`` does.

    Args:
        config: the config file (the embedded default when None).
        set: config values over the file's, by dotted key (``{"strategies.trend.params.fast": 5}``),
            as ``--set`` layers.
        data: a pandas or polars DataFrame of bars read instead of the feed's file: a time index
            or column and OHLCV columns by the names a CSV header may use (``Open``/``open``, ...).
            It stands for a ``bars-csv`` feed, whose other parameters still apply.
        symbol: the instrument the bars of ``data`` belong to (else the feed's ``symbol``).

    Returns:
        The run's :class:`Result`.

    Raises:
        ConfigError: the config does not check (``errors`` lists every problem).
        InputError: bad input: a data file, the DataFrame, a component that refused to start.
        RunError: a component failed during the run (``result`` holds the run), or tradsys did.
        KeyboardInterrupt: Ctrl-C, which stops the run between two events.
    """
    overrides = _overrides(set)
    frame = None
    if data is not None:
        frame = columns_of(data)
        if symbol is not None:
            overrides.append(f"feed.params.symbol={_toml(symbol)}")
    elif symbol is not None:
        raise ValueError("symbol= names the instrument of data=; without data, set feed.params.symbol")
    output = _native.run(_path(config), overrides, frame)
    result = Result(output)
    failure = output.failure()
    if failure is not None:
        kind, message = failure
        error = (_native.InputError if kind == "input" else _native.RunError)(message)
        error.result = result
        raise error
    return result


def _grid_spec(values: Any) -> str:
    if isinstance(values, str):
        return values
    if isinstance(values, range):
        values = list(values)
    if isinstance(values, Iterable):
        items = [str(item) if not isinstance(item, bool) else _toml(item) for item in values]
        if not items:
            raise ValueError("grid: a key needs at least one value")
        return ",".join(items)
    return str(values)


def sweep(
    config: Optional[PathLike],
    grid: Mapping[str, Any],
    set: Optional[Mapping[str, Any]] = None,
    jobs: Optional[int] = None,
    walk_forward: Optional[str] = None,
    sort_by: str = "sharpe",
    ascending: bool = False,
    start: Optional[str] = None,
    end: Optional[str] = None,
    skip_invalid: bool = False,
    heatmap: Optional[PathLike] = None,
) -> pd.DataFrame:
    """Runs a config over a grid of values, as ``tradsys sweep`` does; one row per run.

    Args:
        config: the config file.
        grid: dotted key to values: a list, a ``range`` or a spec as ``--grid`` takes it
            (``"5..50:5"``, ``"10,20,30"``).
        set: config values applied to every run.
        jobs: runs at once (default: the machine's cores). The results do not depend on it.
        walk_forward: ``"TRAIN,TEST"`` windows (``"180d,90d"``): the best run of each training
            window is tested on the window after it.
        sort_by, ascending: the statistic the summary ranks by.
        start, end: the part of the data to use (``--from``/``--to``).
        skip_invalid: leave out grid points whose config does not check, instead of refusing.
        heatmap: also draw the first two grid keys' heatmap to this ``.svg`` or ``.png`` file.

    Returns:
        The columns of ``tradsys sweep --out runs.csv``, one row per run in run order.
    """
    args: List[str] = []
    if config is not None:
        args += ["--config", _path(config)]
    for key, value in (set or {}).items():
        args += ["--set", f"{key}={_toml(value)}"]
    if not grid:
        raise ValueError("grid: give at least one key to vary")
    for key, values in grid.items():
        args += ["--grid", f"{key}={_grid_spec(values)}"]
    if jobs is not None:
        args += ["--jobs", str(int(jobs))]
    if walk_forward is not None:
        args += ["--walk-forward", walk_forward]
    args += ["--sort-by", sort_by]
    if ascending:
        args.append("--ascending")
    if start is not None:
        args += ["--from", start]
    if end is not None:
        args += ["--to", end]
    if skip_invalid:
        args.append("--skip-invalid")
    if heatmap is not None:
        args += ["--heatmap", os.fspath(heatmap)]
    with tempfile.TemporaryDirectory(prefix="tradsys-sweep-") as scratch:
        out = os.path.join(scratch, "runs.csv")
        _native.sweep(args + ["--out", out, "--quiet"])
        return pd.read_csv(out)


def plugins() -> List[Dict[str, Any]]:
    """The plugins compiled into this package, as ``tradsys plugins --format json`` lists them."""
    return json.loads(_native.plugins_json())


def config_schema() -> Dict[str, Any]:
    """The JSON Schema of config files, as ``tradsys config schema --format json-schema`` writes it."""
    return json.loads(_native.config_schema_json())


def version() -> str:
    """The version line and the compiled-in plugin set, as ``tradsys --version`` prints them."""
    return _native.version_text()
