#!/usr/bin/env bash
# Verdict's test command (what CI runs, through .ci/run): installs missing system packages,
# checks formatting, builds, runs every test layer (unit, byte-level, netns integration
# against the real kernel, end-to-end), proves the kernel guard in the QEMU lab, then scores `verdict pcap` on Suricata's own
# conformance tests and fails if the score falls below the floor kept in .ci/sv-floor.
#
# Needs root for the namespace tests; without root they skip with a message, except when
# CI is set, where they fail.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

./scripts/deps.sh

# Shared data (Suricata-verify, ET Open, lab kernel): ../shared by default.
export VERDICT_SHARED="${VERDICT_SHARED:-$(cd "$root/.." && pwd)/shared}"

cargo fmt --all -- --check
bin="${CARGO_TARGET_DIR:-target}/release/verdict"
cargo build --workspace --release --all-targets

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --release --no-fail-fast
else
  cargo test --workspace --release --no-fail-fast
fi

# The kernel lab: the seed's bug on a real (QEMU) kernel; the control must fault, 20 rounds
# under Verdict's own rules must not (lab/README.md).
if [ -f "$VERDICT_SHARED/lab/bzImage-6.1.192-nfq-bug" ]; then
  VERDICT_BIN="$bin" lab/run.sh 20 1 | grep -E "^LAB-(VERDICT|RESULT|DOCTOR|INSTALL|REMOVE)|^rounds="
elif [ -n "${CI:-}" ]; then
  echo "lab: $VERDICT_SHARED/lab not found; set VERDICT_SHARED to the shared data directory" >&2
  exit 1
else
  echo "lab: skipped, $VERDICT_SHARED/lab not found (set VERDICT_SHARED)"
fi

# Conformance: Suricata's own tests, scored on `verdict pcap`.
sv="$VERDICT_SHARED/data/suricata-verify/tests"
if [ -d "$sv" ]; then
  floor=$(cat .ci/sv-floor 2>/dev/null || echo 0)
  out=$(python3 "$VERDICT_SHARED/tools/sv_eval.py" "$bin" "$sv" --json "${CARGO_TARGET_DIR:-target}/sv-results.json" -j 2)
  echo "$out"
  passed=$(echo "$out" | sed -n 's/^suricata-verify: \([0-9]*\) passed.*/\1/p')
  if [ -z "$passed" ] || [ "$passed" -lt "$floor" ]; then
    echo "conformance: ${passed:-?} passed, below the floor of $floor (.ci/sv-floor)" >&2
    exit 1
  fi
  echo "conformance: $passed passed (floor $floor)"
elif [ -n "${CI:-}" ]; then
  echo "conformance: $sv not found; set VERDICT_SHARED to the shared data directory" >&2
  exit 1
else
  echo "conformance: skipped, $sv not found (set VERDICT_SHARED)"
fi
