"""Shared fixtures: the checkout's examples and the `tradsys` binary the package is compared with.

The binary is $TRADSYS_BIN, else target/release/tradsys, else target/debug/tradsys (.ci/run sets
TRADSYS_BIN to the release build it made). Every comparison runs the same config both ways.
"""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SMA_CROSS = EXAMPLES / "bars-sma-cross.toml"
PYTHON_SMA_CROSS = EXAMPLES / "bars-python-sma-cross.toml"
EURUSD = EXAMPLES / "data" / "EURUSD-1h.csv"


def _binary() -> Path:
    given = os.environ.get("TRADSYS_BIN")
    if given:
        return Path(given)
    for profile in ("release", "debug"):
        candidate = ROOT / "target" / profile / "tradsys"
        if candidate.exists():
            return candidate
    pytest.fail("no tradsys binary: set TRADSYS_BIN or build one (cargo build -p tradsys)")


@pytest.fixture(scope="session")
def cli():
    """Runs the tradsys binary with arguments; returns the completed process."""
    binary = _binary()

    def run(*args, check=True, cwd=None):
        done = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True, cwd=cwd)
        if check and done.returncode != 0:
            raise AssertionError(f"tradsys {' '.join(map(str, args))} exited {done.returncode}:\n{done.stderr}")
        return done

    return run
