#!/usr/bin/env bash
# Verdict's main job on a fresh Debian machine (as root): installs what is missing
# (iptables, nftables, iproute2, ...), builds the release binary, and runs `verdict demo`:
# a throwaway client/gateway/server in network namespaces with Verdict inline on the
# gateway, benign and malicious traffic, what was allowed and blocked, then cleanup.
# Extra arguments go to `verdict demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cargo build --release -q -p verdict
exec ./target/release/verdict demo "$@"
