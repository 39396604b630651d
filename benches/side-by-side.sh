#!/usr/bin/env bash
# tradsys against vectorbt on the same generated bars, in one run: rates, ratios and a trade
# cross-check (benches/python/vectorbt_side_by_side.py says what is measured).
#   benches/side-by-side.sh [--bars N] [--seed S]
# Makes its own Python virtual environment (target/vectorbt-venv, vectorbt 1.2.0 from PyPI) and
# builds tradsys and the bench example in release.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/vectorbt-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import vectorbt" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "vectorbt==1.2.0"
fi
cargo build --release --quiet -p tradsys
cargo build --release --quiet -p tradsys-benches --example session_once
"$venv/bin/python" benches/python/vectorbt_side_by_side.py \
  --tradsys target/release/tradsys --session-once target/release/examples/session_once "$@"
