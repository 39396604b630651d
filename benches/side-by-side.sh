#!/usr/bin/env bash
# tradsys against vectorbt and backtesting.py on the same generated bars, both sides in one run,
# interleaved, best and median of 5 rounds or more (benches/python/side_by_side.py says what each
# mode measures), with a trade cross-check:
#   benches/side-by-side.sh [bars|backtesting|grid] [--bars N] [--rounds R] [--seed S] [--jobs J]
# The mode defaults to `bars`. Makes its own Python virtual environment (target/vectorbt-venv:
# vectorbt 1.2.0 and backtesting 0.6.5 from PyPI) and builds tradsys and the bench example in
# release.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/vectorbt-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import vectorbt, backtesting" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "vectorbt==1.2.0" "backtesting==0.6.5"
fi
mode=bars
case "${1:-}" in bars | backtesting | grid) mode=$1 && shift ;; esac
cargo build --release --quiet -p tradsys
cargo build --release --quiet -p tradsys-benches --example session_once
"$venv/bin/python" benches/python/side_by_side.py "$mode" \
  --tradsys target/release/tradsys --session-once target/release/examples/session_once "$@"
