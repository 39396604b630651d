#!/usr/bin/env bash
# Distributed sweeps on loopback (issue: beyond one machine). Three measurements, each side
# interleaved with the other, REPEATS times (default 5), best and median printed:
#   1. the sweep benchmark's 400 runs over 100,000 bars (benches/sweep.sh): local --jobs 2
#      against --nats with two workers of one slot each, on this machine's cores;
#   2. the queue's cost per job: 400 runs over 1,000 bars, where a run is ~1 ms, so the rest is
#      publishing, pulling, acknowledging and gathering;
#   3. scaling: the same small jobs with 1, 2 and 4 workers (pinned to a core each where the
#      machine has them), to show where adding workers stops helping on one server.
#   benches/sweep-nats.sh [REPEATS]
# Needs a nats-server: $TRADSYS_NATS_SERVER, target/nats-venv/bin/nats-server (`.ci/run` makes
# it) or one on the PATH. Uses the release binary, building it if needed, or $TRADSYS_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-5}
. benches/nats-setup.sh
dir=$PWD/target/sweep-nats-bench
rm -rf "$dir/store" && mkdir -p "$dir"
[ -s "$dir/bars-100k.csv" ] || python3 benches/python/walk_bars.py 100000 "$dir/bars-100k.csv"
[ -s "$dir/bars-1k.csv" ] || python3 benches/python/walk_bars.py 1000 "$dir/bars-1k.csv"
for size in 100k 1k; do
  cat > "$dir/sweep-$size.toml" <<TOML
[session]
seed = 1
initial_cash = "100000"

[feed]
plugin = "bars-csv"
params = { path = "bars-$size.csv", symbol = "EURUSD" }

[strategies.trend]
plugin = "sma-cross"
params = { fast = 10, slow = 40, qty = 1000 }
TOML
done
"$server" -a 127.0.0.1 -p "$port" -js -sd "$dir/store" > "$dir/server.log" 2>&1 &
pids=($!)
trap 'kill "${pids[@]}" 2> /dev/null || true' EXIT
sleep 1
cores=$(nproc)
workers=()
start_workers() { # count: starts that many one-slot workers, worker i pinned to core i mod cores
  stop_workers
  for i in $(seq 0 $(($1 - 1))); do
    (cd "$dir" && exec taskset -c $((i % cores)) "$bin" worker --nats "$url" --jobs 1 > /dev/null 2>> "$dir/workers.log") &
    workers+=($!)
    pids+=($!)
  done
  sleep 0.5
}
stop_workers() {
  for pid in "${workers[@]}"; do kill -TERM "$pid" 2> /dev/null || true; wait "$pid" 2> /dev/null || true; done
  workers=()
}
measure() { # label, then the command: appends "label seconds"
  local label=$1 start end
  shift
  start=$(date +%s%N)
  "$@" > /dev/null 2> "$dir/stderr.txt" || { cat "$dir/stderr.txt"; exit 1; }
  end=$(date +%s%N)
  echo "$label $(awk "BEGIN { printf \"%.3f\", ($end - $start) / 1e9 }")" | tee -a "$results"
}
grid400="--grid strategies.trend.params.fast=5..24 --grid strategies.trend.params.slow=30..49"
results=$dir/results.txt
: > "$results"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
start_workers 2
for _ in $(seq "$repeats"); do
  for size in 100k 1k; do
    # shellcheck disable=SC2086
    measure "local-$size" "$bin" sweep -c "$dir/sweep-$size.toml" $grid400 --jobs 2 --quiet --out "$dir/local-$size.csv"
    # shellcheck disable=SC2086
    measure "nats2-$size" "$bin" sweep -c "$dir/sweep-$size.toml" $grid400 --nats "$url" --quiet --out "$dir/nats-$size.csv"
    cmp "$dir/local-$size.csv" "$dir/nats-$size.csv" || { echo "the outputs differ ($size)"; exit 1; }
  done
done
for count in 1 4 2; do
  start_workers "$count"
  for _ in $(seq "$repeats"); do
    # shellcheck disable=SC2086
    measure "workers$count-1k" "$bin" sweep -c "$dir/sweep-1k.toml" $grid400 --nats "$url" --quiet
  done
done
stop_workers
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$results" "$cores" <<'PY'
import statistics, sys
times = {}
for line in open(sys.argv[1]):
    label, seconds = line.split()
    times.setdefault(label, []).append(float(seconds))
best = {k: min(v) for k, v in times.items()}
median = {k: statistics.median(v) for k, v in times.items()}
for label in sorted(times):
    print(f"{label:14} best {best[label]:6.2f} s ({400 / best[label]:6.1f} runs/s)  median {median[label]:6.2f} s  of {len(times[label])}")
for size in ("100k", "1k"):
    local, nats = best[f"local-{size}"], best[f"nats2-{size}"]
    # Two slots work at once: the extra wall time per job, times two, is what each job cost.
    print(f"{size} bars: --nats with 2 workers takes {nats / local:.2f}x the time of --jobs 2; "
          f"overhead {(nats - local) * 2 / 400 * 1000:.2f} ms per job (best), "
          f"{(median[f'nats2-{size}'] - median[f'local-{size}']) * 2 / 400 * 1000:.2f} ms (median)")
print(f"on {sys.argv[2]} cores: " + ", ".join(f"{n} workers {400 / best[f'workers{n}-1k']:.0f} runs/s" for n in (1, 2, 4)))
PY
