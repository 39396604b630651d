"""The order-flow targets measured the way the side-by-side harness measures (timing.py): ROUNDS
interleaved rounds, best and median of each side (see BENCHMARKS.md, "Matching and order flow").

    python3 benches/python/flow_targets.py --tradsys target/release/tradsys \
        --session-once target/release/examples/session_once [--rows 1000000] [--rounds 5] \
        [--baseline-tradsys OLD/tradsys --baseline-session-once OLD/session_once]

Sides:
- `tradsys replay` of a generated file, 1 symbol (exchange-core profile) and 16 symbols
  (multi-symbol), whole process, events written to stdout, thrown away: rows/s (target 5M each);
- the order-flow session on the embedded default (`session_once flow`, timed by the session):
  events/s (target 10M).
The single-book and 16-book matching figures are criterion's (`cargo bench --bench matching`).

With the two `--baseline-*` binaries (another build, say the commit before a change), each side is
also run with them, interleaved in the same rounds, so a change is measured against what it
replaces on the same machine at the same time.
"""
import argparse
import os
import subprocess

import timing


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tradsys", required=True)
    parser.add_argument("--session-once", required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default="target/flow-targets")
    parser.add_argument("--baseline-tradsys")
    parser.add_argument("--baseline-session-once")
    args = parser.parse_args()
    if args.rounds < 5:
        parser.error("--rounds must be at least 5")
    if (args.baseline_tradsys is None) != (args.baseline_session_once is None):
        parser.error("--baseline-tradsys and --baseline-session-once go together")
    os.makedirs(args.out, exist_ok=True)
    before = timing.load_average()
    files = {}
    for profile, symbols in (("exchange-core", 1), ("multi-symbol", 16)):
        path = os.path.join(args.out, f"{profile}-{args.rows}.csv")
        if not os.path.exists(path):
            subprocess.run([args.tradsys, "gen", "orders", "--profile", profile, "--symbols", str(symbols),
                            "--count", str(args.rows), "--seed", "1", "--out", path], check=True)
        files[profile] = path

    def replay(tradsys, path):
        return lambda: subprocess.run([tradsys, "replay", "--orders", path, "--out", "-"], check=True,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def session(session_once):
        def run():
            done = subprocess.run([session_once, "flow", str(args.rows)], capture_output=True, text=True, check=True)
            return float(done.stderr.strip().rsplit(", ", 1)[1].removesuffix(" s"))
        return run

    builds = [("", args.tradsys, args.session_once)]
    if args.baseline_tradsys:
        builds.append((" [baseline]", args.baseline_tradsys, args.baseline_session_once))
    sides = {}
    for label, tradsys, session_once in builds:
        sides[f"replay, exchange-core, 1 book (whole process){label}"] = replay(tradsys, files["exchange-core"])
        sides[f"replay, multi-symbol, 16 books (whole process){label}"] = replay(tradsys, files["multi-symbol"])
        sides[f"order-flow session, embedded default{label}"] = session(session_once)
    times = timing.interleaved(args.rounds, sides)
    timing.table(f"{args.rows:,} rows or events, {args.rounds} interleaved rounds", times, per=args.rows,
                 unit="per s")
    timing.report_load(before)


if __name__ == "__main__":
    main()
