#!/usr/bin/env bash
# Python strategies and the tradsys Python package, measured (BENCHMARKS.md, "Python"):
#   1. a strategy's cost per bar compiled in, as a WebAssembly module and written in Python
#      (benches/examples/python_strategy.rs: whole sessions, interleaved, best and median);
#   2. tradsys.run against the CLI, DataFrames in and out, and backtesting.py on the same SMA cross
#      (benches/python/python_side_by_side.py).
#   benches/python-strategies.sh [ROUNDS] [BARS]        (defaults 5 and 200000)
# Makes its own virtual environment (target/bench-python-venv: the package from ./python, and
# backtesting 0.6.5), and one for NautilusTrader (target/nautilus-venv, nautilus_trader 1.221.0 from
# PyPI, whose pins differ from the package's). The Rust side is built first: the package's build (maturin, an extension
# module) rebuilds what links pyo3, and a cargo build after it would rebuild them again.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
count=${2:-200000}
cargo build --release --quiet -p tradsys
cargo build --release --quiet -p tradsys-benches --example python_strategy
venv=target/bench-python-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet "backtesting==0.6.5" ./python
nautilus=target/nautilus-venv
[ -x "$nautilus/bin/python" ] || python3 -m venv "$nautilus"
"$nautilus/bin/python" -c "import nautilus_trader" 2>/dev/null || "$nautilus/bin/pip" install --quiet "nautilus_trader==1.221.0"
echo "load average before: $(cut -d' ' -f1 /proc/loadavg)"
target/release/examples/python_strategy "$count" "$rounds"
"$venv/bin/python" benches/python/python_side_by_side.py --binary target/release/tradsys --rounds "$rounds" \
  --nautilus "$nautilus/bin/python"
