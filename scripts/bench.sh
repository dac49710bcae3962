#!/usr/bin/env bash
# Verdict's benchmark: builds the release binaries (verdict, the accept_all I/O example, the
# harness) and runs the netns harness (needs root), which puts every contender -- kernel
# forwarding, the C libnetfilter_queue peer (batch 1 and 32), the crates.io `nfq` crate,
# Verdict's I/O accept-all and `verdict run` with 0 / 1,000 / all ET Open rules -- on the same
# traffic and writes target/bench/results.{json,md,png}.
#
#   scripts/bench.sh            # full run (about 10 minutes)
#   scripts/bench.sh --quick    # one-minute smoke run
#   scripts/bench.sh --contenders no-queue,c-b1,verdict-io-b32 --secs 3   # any harness flag
#
# Shared data (the C peer, ET Open rules): $VERDICT_SHARED, default ../shared of the repo.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export VERDICT_SHARED="${VERDICT_SHARED:-$(cd "$root/.." && pwd)/shared}"

if [ "$(id -u)" -ne 0 ]; then
  echo "bench: the harness needs root (network namespaces, NFQUEUE); run: sudo -E $0 $*" >&2
  exit 1
fi

cargo build --release -p verdict -p verdict-bench
cargo build --release -p verdict-nfq --example accept_all

target="${CARGO_TARGET_DIR:-$root/target}"
mkdir -p "$root/target/bench"
exec "$target/release/verdict-bench" run \
  --verdict "$target/release/verdict" \
  --accept-all "$target/release/examples/accept_all" \
  --out "$root/target/bench" \
  "$@"
