# Sourced by the NATS benchmarks (sweep-nats.sh, remote-strategy.sh) from the repository's root:
# sets `bin` (the release binary, built if needed, or $TRADSYS_BIN), `server` (a nats-server:
# $TRADSYS_NATS_SERVER, target/nats-venv/bin/nats-server, which `.ci/run` makes, or one on the
# PATH) and `port` and `url` (a free loopback port for it). Starts nothing.
if [ -z "${TRADSYS_BIN:-}" ]; then
  cargo build --release --quiet -p tradsys
fi
bin=${TRADSYS_BIN:-$PWD/target/release/tradsys}
# tradsys warns about TRADSYS_ variables that are not its own.
unset TRADSYS_BIN
server=${TRADSYS_NATS_SERVER:-target/nats-venv/bin/nats-server}
[ -x "$server" ] || server=$(command -v nats-server) || { echo "no nats-server (see the header)"; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=nats://127.0.0.1:$port
