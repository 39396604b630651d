"""DataFrames in and out: a pandas or polars frame of bars as the columns the native module reads,
and the native module's result columns as pandas DataFrames.

Columns cross as raw little-endian buffers (numbers) or lists (text): one copy each way, no
per-value conversion in Python (BENCHMARKS.md measures it).
"""

from typing import Any, List, Tuple

import numpy as np
import pandas as pd

Column = Tuple[str, str, Any]

#: The names a time index takes when it has none.
TIME = "time"


def _is_polars(data: Any) -> bool:
    return type(data).__module__.split(".")[0] == "polars"


def _check_increasing(name: str, nanos: np.ndarray) -> None:
    """Refuses times that do not increase, naming the first row that does not."""
    if len(nanos) > 1:
        back = np.flatnonzero(nanos[1:] <= nanos[:-1])
        if len(back):
            row = int(back[0]) + 1
            at = pd.Timestamp(int(nanos[row]), tz="UTC")
            before = pd.Timestamp(int(nanos[row - 1]), tz="UTC")
            raise ValueError(
                f"data: column {name!r}: row {row} ({at}) is not after row {row - 1} ({before}); "
                "bars must be in increasing time order (sort_index() or sort_values first)"
            )


def _pandas_column(name: str, series: pd.Series) -> Column:
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or np.issubdtype(getattr(dtype, "base", dtype), np.datetime64):
        values = pd.to_datetime(series, utc=True)
        nanos = values.dt.tz_convert(None).to_numpy("datetime64[ns]").view("int64")
        _check_increasing(name, nanos)
        return (name, "time", np.ascontiguousarray(nanos).tobytes())
    if pd.api.types.is_bool_dtype(dtype):
        return (name, "int", series.to_numpy("int64").tobytes())
    if pd.api.types.is_integer_dtype(dtype) and not series.isna().any():
        return (name, "int", np.ascontiguousarray(series.to_numpy("int64")).tobytes())
    if pd.api.types.is_numeric_dtype(dtype):
        return (name, "float", np.ascontiguousarray(series.to_numpy("float64", na_value=np.nan)).tobytes())
    return (name, "text", [None if pd.isna(value) else str(value) for value in series.tolist()])


def _polars_columns(data: Any) -> List[Column]:
    import polars as pl

    columns: List[Column] = []
    for name in data.columns:
        series = data.get_column(name)
        dtype = series.dtype
        if dtype.is_temporal() and dtype != pl.Time and dtype != pl.Duration:
            nanos = series.cast(pl.Datetime("ns")).dt.epoch("ns") if dtype == pl.Date else series.dt.epoch("ns")
            nanos = nanos.fill_null(np.iinfo(np.int64).min).to_numpy().astype("int64")
            _check_increasing(name, nanos)
            columns.append((name, "time", np.ascontiguousarray(nanos).tobytes()))
        elif dtype.is_integer() and series.null_count() == 0:
            columns.append((name, "int", series.cast(pl.Int64).to_numpy().tobytes()))
        elif dtype.is_numeric() or dtype == pl.Boolean:
            floats = series.cast(pl.Float64).fill_null(float("nan")).to_numpy()
            columns.append((name, "float", np.ascontiguousarray(floats).tobytes()))
        else:
            columns.append((name, "text", [None if value is None else str(value) for value in series.to_list()]))
    return columns


def columns_of(data: Any) -> List[Column]:
    """A DataFrame's columns as ``(name, kind, data)``: a time index becomes the first column."""
    if _is_polars(data):
        return _polars_columns(data)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data: expected a pandas or polars DataFrame, got {type(data).__name__}")
    if data.columns.duplicated().any():
        duplicated = sorted({str(name) for name in data.columns[data.columns.duplicated()]})
        raise ValueError(f"data: duplicated column names: {', '.join(duplicated)}")
    columns: List[Column] = []
    index = data.index
    if isinstance(index, pd.DatetimeIndex):
        name = str(index.name) if index.name is not None else TIME
        if name in data.columns:
            raise ValueError(f"data: the time index is named {name!r}, as a column is; rename one")
        columns.append(_pandas_column(name, index.to_series(index=range(len(index)))))
    for name in data.columns:
        columns.append(_pandas_column(str(name), data[name]))
    return columns


def frame_of(columns: List[Tuple[str, str, Any]], index: str = None) -> pd.DataFrame:
    """A result table from the native module as a pandas DataFrame: floats and integers as numpy
    arrays over the buffers, times as UTC datetimes (a missing time is NaT), text as objects."""
    data = {}
    for name, kind, values in columns:
        if kind == "float":
            data[name] = np.frombuffer(values, dtype="<f8")
        elif kind == "int":
            data[name] = np.frombuffer(values, dtype="<i8")
        elif kind == "time":
            nanos = np.frombuffer(values, dtype="<i8").copy()
            missing = nanos == np.iinfo(np.int64).min
            times = nanos.view("datetime64[ns]").copy()
            times[missing] = np.datetime64("NaT")
            data[name] = pd.DatetimeIndex(times).tz_localize("UTC")
        else:
            data[name] = pd.Series(values, dtype="object")
    frame = pd.DataFrame({name: (value.to_numpy() if isinstance(value, pd.Series) else value) for name, value in data.items()})
    for name, kind, _ in columns:
        if kind == "time":
            frame[name] = data[name]
    if index is not None:
        frame = frame.set_index(index)
    return frame
