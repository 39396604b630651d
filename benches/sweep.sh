#!/usr/bin/env bash
# The sweep benchmark (issue: parameter sweeps): 400 runs of sma-cross over 100,000 one-minute
# bars, with --jobs 1 and --jobs 2 in one go, wall time and peak memory (GNU time), against a
# single `tradsys run` of the same config; then 100 and 1,600 runs at --jobs 2, to show that
# memory does not grow with the number of runs.
#   benches/sweep.sh [REPEATS]      (default 3; prints every measurement, then the best of each)
# Uses the release binary, building it if needed; writes its data under target/sweep-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
cargo build --release --quiet -p tradsys
bin=target/release/tradsys
dir=target/sweep-bench
mkdir -p "$dir"
if [ ! -s "$dir/bars-100k.csv" ]; then
  python3 benches/python/walk_bars.py 100000 "$dir/bars-100k.csv"
fi
cat > "$dir/sweep.toml" <<'TOML'
[session]
seed = 1
initial_cash = "100000"

[feed]
plugin = "bars-csv"
params = { path = "bars-100k.csv", symbol = "EURUSD" }

[strategies.trend]
plugin = "sma-cross"
params = { fast = 10, slow = 40, qty = 1000 }
TOML
measure() { # label, then the command: prints "label seconds max-rss-kB"
  local label=$1
  shift
  /usr/bin/time -f "%e %M" -o "$dir/time.txt" "$@" > /dev/null 2> "$dir/stderr.txt" || { cat "$dir/stderr.txt"; exit 1; }
  echo "$label $(cat "$dir/time.txt")"
}
grid() { # fast values, slow values
  echo --grid "strategies.trend.params.fast=$1" --grid "strategies.trend.params.slow=$2"
}
results=$dir/results.txt
: > "$results"
for _ in $(seq "$repeats"); do
  measure run "$bin" run -c "$dir/sweep.toml" --quiet | tee -a "$results"
  # shellcheck disable=SC2046
  measure jobs1-400 "$bin" sweep -c "$dir/sweep.toml" $(grid 5..24 30..49) --jobs 1 --quiet | tee -a "$results"
  # shellcheck disable=SC2046
  measure jobs2-400 "$bin" sweep -c "$dir/sweep.toml" $(grid 5..24 30..49) --jobs 2 --quiet | tee -a "$results"
done
# shellcheck disable=SC2046
measure jobs2-100 "$bin" sweep -c "$dir/sweep.toml" $(grid 5..14 30..39) --jobs 2 --quiet | tee -a "$results"
# shellcheck disable=SC2046
measure jobs2-1600 "$bin" sweep -c "$dir/sweep.toml" $(grid 5..44 50..89) --jobs 2 --quiet | tee -a "$results"
python3 - "$results" <<'PY'
import sys
best = {}
for line in open(sys.argv[1]):
    label, seconds, rss = line.split()
    seconds, rss = float(seconds), int(rss)
    if label not in best or seconds < best[label][0]:
        best[label] = (seconds, rss)
run = best["run"][0]
one, two = best["jobs1-400"][0], best["jobs2-400"][0]
print(f"single run: {run:.2f} s ({best['run'][1] / 1024:.0f} MB)")
print(f"--jobs 1: {one:.2f} s, {400 / one:.1f} runs/s ({best['jobs1-400'][1] / 1024:.0f} MB)")
print(f"--jobs 2: {two:.2f} s, {400 / two:.1f} runs/s ({best['jobs2-400'][1] / 1024:.0f} MB)")
print(f"speed-up with 2 jobs: {one / two:.2f}x (target 1.8x)")
for label in ("jobs2-100", "jobs2-400", "jobs2-1600"):
    print(f"peak memory, {label}: {best[label][1] / 1024:.0f} MB")
PY
