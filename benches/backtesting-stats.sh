#!/usr/bin/env bash
# tradsys's statistics against backtesting.py's `compute_stats` on the same equity curve, trades
# and bars (benches/python/backtesting_stats.py says what is compared). Exits 1 if a figure differs.
#   benches/backtesting-stats.sh [CONFIG ...]     (default: examples/bars-sma-cross.toml)
# Makes its own Python virtual environment (target/backtesting-venv, backtesting 0.6.5 from PyPI)
# and uses the release binary, building it if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/backtesting-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import backtesting" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "backtesting==0.6.5"
fi
cargo build --release --quiet -p tradsys
[ $# -gt 0 ] || set -- examples/bars-sma-cross.toml
"$venv/bin/python" benches/python/backtesting_stats.py target/release/tradsys "$@"
