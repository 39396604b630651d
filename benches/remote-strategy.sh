#!/usr/bin/env bash
# A strategy in another process (issue: beyond one machine, point 5): the round trip per event on
# loopback. The same sma-cross over the same bars, run in the session (local) and by a
# `tradsys host` through the `remote` strategy, interleaved, REPEATS times each (default 5):
#   - wall time of each run, best and median;
#   - the cost per callback: (remote - local) / the remote strategy's callbacks (bars, fills and
#     order updates, from the report's metrics), from the bests and from the medians;
#   - the session's own sampled latency of the remote on_bar (p50, p99), which is the round trip
#     as the session waits for it.
# The trades of the two runs are compared (they must be equal).
#   benches/remote-strategy.sh [REPEATS] [BARS]
# Needs a nats-server: $TRADSYS_NATS_SERVER, target/nats-venv/bin/nats-server (`.ci/run` makes
# it) or one on the PATH. Uses the release binary, building it if needed, or $TRADSYS_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-5}
bars=${2:-20000}
. benches/nats-setup.sh
dir=$PWD/target/remote-strategy-bench
mkdir -p "$dir"
[ -s "$dir/bars-$bars.csv" ] || python3 benches/python/walk_bars.py "$bars" "$dir/bars-$bars.csv"
session='[session]
seed = 1
initial_cash = "100000"

[feed]
plugin = "bars-csv"
params = { path = "bars-'$bars'.csv", symbol = "EURUSD" }
'
printf '%s\n[strategies.trend]\nplugin = "sma-cross"\nparams = { fast = 10, slow = 40, qty = 1000 }\n' "$session" > "$dir/local.toml"
printf '%s\n[strategies.trend]\nplugin = "remote"\nparams = { host = "bench", indicators = ["sma"], url = "%s" }\n' "$session" "$url" > "$dir/remote.toml"
printf '[strategies.trend]\nplugin = "sma-cross"\nparams = { fast = 10, slow = 40, qty = 1000 }\n' > "$dir/host.toml"
"$server" -a 127.0.0.1 -p "$port" > "$dir/server.log" 2>&1 &
pids=($!)
trap 'kill "${pids[@]}" 2> /dev/null || true' EXIT
sleep 0.5
"$bin" host --nats "$url" --name bench -c "$dir/host.toml" 2> "$dir/host.log" &
pids+=($!)
sleep 1
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
run() { # name: one run; prints its wall seconds
  local start end
  start=$(date +%s%N)
  (cd "$dir" && "$bin" run -c "$1.toml" --quiet --trades "$1.csv" --report "$1.json" > /dev/null)
  end=$(date +%s%N)
  python3 -c "print(($end - $start) / 1e9)"
}
local_times=() remote_times=()
for _ in $(seq "$repeats"); do
  local_times+=("$(run local)")
  remote_times+=("$(run remote)")
done
cmp -s "$dir/local.csv" "$dir/remote.csv" || { echo "the remote run's trades differ from the local run's"; exit 1; }
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$dir/remote.json" "${local_times[*]}" "${remote_times[*]}" <<'PY'
import json, statistics, sys
report = json.load(open(sys.argv[1]))
trend = next(c for c in report["components"] if c["id"] == "trend")
calls = sum(trend["metrics"]["calls"].get(k, 0) for k in ("on_bar", "on_trade", "on_quote", "on_fill", "on_order_update"))
runtime = trend["metrics"]["runtime"]
local = [float(t) for t in sys.argv[2].split()]
remote = [float(t) for t in sys.argv[3].split()]
def line(name, times):
    return f"{name:7} best {min(times):7.3f} s  median {statistics.median(times):7.3f} s  ({len(times)} runs)"
print(line("local", local))
print(line("remote", remote))
print(f"callbacks sent to the host: {calls} ({report['events']} events)")
best = (min(remote) - min(local)) / calls * 1e6
median = (statistics.median(remote) - statistics.median(local)) / calls * 1e6
print(f"cost per callback: {best:.1f} us (bests), {median:.1f} us (medians)")
print(f"session's sampled latency of the remote callbacks: p50 {runtime['latency_p50_ns'] / 1e3:.1f} us, p99 {runtime['latency_p99_ns'] / 1e3:.1f} us")
PY
