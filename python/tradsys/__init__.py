"""tradsys from Python: sessions and sweeps that return DataFrames, and strategies written in Python.

>>> import tradsys
>>> result = tradsys.run("examples/bars-sma-cross.toml")        # doctest: +SKIP
>>> result.stats["Sharpe Ratio"], len(result.trades)            # doctest: +SKIP

The session is the one ``tradsys run`` makes: the same plugins (compiled into this package), the
same config layers and checks, the same errors, here as exceptions. docs/python.md is the guide.
"""

from ._native import ConfigError, InputError, RunError
from ._api import config_schema, plugins, run, sweep, version
from ._result import Result
from ._strategy import Strategy, Validator

__all__ = [
    "ConfigError",
    "InputError",
    "Result",
    "RunError",
    "Strategy",
    "Validator",
    "config_schema",
    "plugins",
    "run",
    "sweep",
    "version",
]
