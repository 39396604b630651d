#!/usr/bin/env bash
# The binary the README's main command builds (target/release/tradsys, default features) loads a
# WebAssembly module from security.plugin_dir and from POST /plugins, and trades with it exactly
# as with its compiled-in twin. Run by .ci/run after the main job; exits non-zero on any miss.
#   tests/scripts/standard-binary-modules.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=target/release/tradsys
[ -x "$binary" ] || { echo "build it first: cargo build --release -p tradsys"; exit 1; }
scratch=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$scratch"' EXIT
server=

# The sma-cross guest, built as a plugin author builds it (its own target directory).
cargo build --release --quiet --target wasm32-unknown-unknown --manifest-path wasm/Cargo.toml \
  -p tradsys-wasm-sma-cross --target-dir target/wasm-guests
module=target/wasm-guests/wasm32-unknown-unknown/release/tradsys_wasm_sma_cross.wasm
mkdir -p "$scratch/modules" "$scratch/uploads"
cp "$module" "$scratch/modules/sma-cross.wasm"

# 1. From security.plugin_dir: listed, and a run with it trades as sma-cross does.
"$binary" plugins --module "$scratch/modules" --kind strategy | grep -q 'wasm-sma-cross' \
  || { echo "the standard binary does not list the module"; exit 1; }
sed "s|path = \"data/|path = \"$PWD/examples/data/|" examples/bars-sma-cross.toml > "$scratch/native.toml"
sed 's|plugin = "sma-cross"|plugin = "wasm-sma-cross"|' "$scratch/native.toml" > "$scratch/module.toml"
printf '\n[security]\nplugin_dir = "modules"\n' >> "$scratch/module.toml"
"$binary" run --config "$scratch/native.toml" --quiet --trades "$scratch/native.csv"
"$binary" run --config "$scratch/module.toml" --quiet --trades "$scratch/module.csv"
[ "$(wc -l < "$scratch/native.csv")" -gt 100 ] || { echo "the native run should trade"; exit 1; }
cmp -s "$scratch/native.csv" "$scratch/module.csv" || { echo "the module's trades differ from sma-cross's"; exit 1; }
echo "plugin_dir: wasm-sma-cross loaded; $(($(wc -l < "$scratch/module.csv") - 1)) trades, identical to sma-cross's"

# 2. From POST /plugins into a running serve.
printf '[serve]\nrate = 1000\n[security]\nplugin_dir = "uploads"\n' | cat app/src/default.toml - > "$scratch/serve.toml"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
TRADSYS_ADMIN_TOKEN=ci "$binary" serve --config "$scratch/serve.toml" --listen "127.0.0.1:$port" 2> "$scratch/serve.log" &
server=$!
for _ in $(seq 1 100); do curl -sf "127.0.0.1:$port/health" > /dev/null && break; sleep 0.1; done
status=$(curl -s -o "$scratch/upload.json" -w '%{http_code}' -H 'Authorization: Bearer ci' \
  -H 'Content-Type: application/wasm' --data-binary "@$module" "127.0.0.1:$port/plugins")
[ "$status" = 201 ] || { echo "POST /plugins answered $status: $(cat "$scratch/upload.json")"; cat "$scratch/serve.log"; exit 1; }
curl -sf "127.0.0.1:$port/plugins" | grep -q '"wasm-sma-cross"' || { echo "GET /plugins does not list the upload"; exit 1; }
status=$(curl -s -o "$scratch/swap.json" -w '%{http_code}' -H 'Authorization: Bearer ci' -H 'Content-Type: application/json' -X POST \
  -d '{"plugin": "wasm-sma-cross", "params": {"fast": 10, "slow": 30, "qty": 20}}' "127.0.0.1:$port/strategies/trend/swap")
[ "$status" = 200 ] || { echo "the swap to the uploaded module answered $status: $(cat "$scratch/swap.json")"; exit 1; }
curl -sf "127.0.0.1:$port/components/trend" | grep -q '"plugin":"wasm-sma-cross@' \
  || { echo "trend does not run the module after the swap"; exit 1; }
kill -TERM "$server"; wait "$server" || { echo "serve did not stop cleanly"; exit 1; }
server=
echo "POST /plugins: uploaded into a running serve and swapped in for trend"
