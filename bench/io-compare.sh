#!/usr/bin/env bash
# NFQUEUE accept-all I/O: the C peer (libnetfilter_queue) against verdict-nfq's example,
# batch 1 and 32, on the same UDP flood, in network namespaces.
#
#   bench/io-compare.sh [SECONDS] [PAYLOAD_BYTES] [RATE_PPS]
#
# SECONDS (default 5) of traffic per contender; PAYLOAD_BYTES (default 64) of UDP payload;
# RATE_PPS (default 0 = as fast as the sender can) caps the offered load. With PIN=1 the
# sender and the contender share CPU 0 (taskset), so the contender's cost shows in packets/s.
# REPEAT=N (default 1) runs the five contenders N times, interleaved, and adds a table of
# medians (a loaded machine is noisy; interleaving spreads the noise over all contenders).
# NICE=N runs the contender at that nice level (with PIN=1 and NICE=19, the contender gets
# a small share of the CPU the sender saturates: a slow reader, bursts pile up; its CPU time
# is then only a few clock ticks, so the CPU columns are coarse).
# SYSCALLS=1 adds a run of each contender under `strace -f -c` (needs strace) and prints
# syscalls per packet. strace slows every syscall a lot, which makes each contender a slow
# reader -- the regime of a busy inspection engine, where packets pile up between receives.
# Needs root, gcc, libnetfilter-queue-dev (scripts/deps.sh), cargo.
#
# Set-up: namespace "snd" (198.18.0.1) --veth-- namespace "rcv" (198.18.0.2). In rcv, UDP to
# port 9999 is queued from mangle INPUT to queue 0 and, once accepted, dropped by filter INPUT
# (so no socket or ICMP work is measured). A small sendmmsg flooder in snd sends for SECONDS;
# each contender runs in rcv, bound to queue 0, and is stopped with SIGTERM afterwards.
# Reported: packets the contender accepted per second of traffic, and its CPU time
# (utime+stime from /proc/PID/stat) per packet.
set -euo pipefail

SECONDS_PER_RUN=${1:-5}
PAYLOAD=${2:-64}
RATE=${3:-0}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/bench/peers}
WORK=$(mktemp -d /tmp/verdict-io-compare.XXXXXX)
SND=vb-snd-$$
RCV=vb-rcv-$$
CONTENDER_PID=
PIN_CMD=
[ "${PIN:-0}" = 1 ] && PIN_CMD="taskset -c 0"
NICE_CMD=
[ -n "${NICE:-}" ] && NICE_CMD="nice -n $NICE"

cleanup() {
  [ -n "$CONTENDER_PID" ] && kill "$CONTENDER_PID" 2>/dev/null || true
  ip netns del "$SND" 2>/dev/null || true
  ip netns del "$RCV" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

[ "$(id -u)" -eq 0 ] || { echo "io-compare: needs root (namespaces, NFQUEUE)" >&2; exit 1; }

echo "== building" >&2
gcc -O2 -o "$WORK/nfq_accept" "$PEERS/nfq_accept.c" -lnetfilter_queue -lnfnetlink
cat > "$WORK/flood.c" <<'EOF'
/* UDP flooder: sendmmsg in bursts of 64 for N seconds, optionally paced; prints "sent=N". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
    if (argc < 6) { fprintf(stderr, "usage: flood DST PORT BYTES SECONDS RATE\n"); return 2; }
    int bytes = atoi(argv[3]); double secs = atof(argv[4]); double rate = atof(argv[5]);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
    inet_pton(AF_INET, argv[1], &to.sin_addr);
    if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0) { perror("connect"); return 1; }
    enum { B = 64 };
    static char buf[65536]; memset(buf, 0x5a, sizeof buf);
    struct iovec iov[B]; struct mmsghdr m[B]; memset(m, 0, sizeof m);
    for (int i = 0; i < B; i++) { iov[i].iov_base = buf; iov[i].iov_len = bytes; m[i].msg_hdr.msg_iov = &iov[i]; m[i].msg_hdr.msg_iovlen = 1; }
    unsigned long sent = 0; double start = now(), end = start + secs;
    for (double t = start; t < end; t = now()) {
        if (rate > 0 && sent >= (t - start) * rate) { usleep(200); continue; }
        int n = sendmmsg(fd, m, B, 0);
        if (n > 0) sent += n;
    }
    printf("sent=%lu\n", sent);
    return 0;
}
EOF
gcc -O2 -o "$WORK/flood" "$WORK/flood.c"
(cd "$ROOT" && cargo build --release -q -p verdict-nfq --example accept_all)
RUST_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/accept_all

echo "== namespaces" >&2
ip netns add "$SND"
ip netns add "$RCV"
ip -n "$SND" link set lo up
ip -n "$RCV" link set lo up
ip -n "$SND" link add veth0 type veth peer name veth0 netns "$RCV"
ip -n "$SND" addr add 198.18.0.1/24 dev veth0
ip -n "$RCV" addr add 198.18.0.2/24 dev veth0
ip -n "$SND" link set veth0 up
ip -n "$RCV" link set veth0 up
ip netns exec "$RCV" iptables -w -t mangle -A INPUT -p udp --dport 9999 -j NFQUEUE --queue-num 0
ip netns exec "$RCV" iptables -w -A INPUT -p udp --dport 9999 -j DROP
# Resolve the neighbour once so the first run does not pay for it.
ip netns exec "$SND" "$WORK/flood" 198.18.0.2 9998 "$PAYLOAD" 0.2 1000 >/dev/null

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

run() { # name, command...
  local name=$1; shift
  ip netns exec "$RCV" $PIN_CMD $NICE_CMD "$@" > "$WORK/out" 2> "$WORK/err" &
  CONTENDER_PID=$!
  sleep 0.5
  if ! kill -0 "$CONTENDER_PID" 2>/dev/null; then
    echo "io-compare: $name failed to start: $(cat "$WORK/err")" >&2; exit 1
  fi
  local t0 t1 sent
  t0=$(ticks "$CONTENDER_PID")
  sent=$(ip netns exec "$SND" $PIN_CMD "$WORK/flood" 198.18.0.2 9999 "$PAYLOAD" "$SECONDS_PER_RUN" "$RATE" | sed 's/sent=//')
  sleep 0.3 # let the contender drain what is queued
  t1=$(ticks "$CONTENDER_PID")
  kill -TERM "$CONTENDER_PID"
  wait "$CONTENDER_PID" || true
  CONTENDER_PID=
  grep -h "^accept_all:" "$WORK/err" | sed "s/^/   $name: /" >&2 || true
  local packets enobufs
  packets=$(sed -n 's/.*packets=\([0-9]*\).*/\1/p' "$WORK/out")
  enobufs=$(sed -n 's/.*enobufs=\([0-9]*\).*/\1/p' "$WORK/out")
  awk -v n="$name" -v p="${packets:-0}" -v e="${enobufs:-0}" -v s="${sent:-0}" -v secs="$SECONDS_PER_RUN" \
      -v dt="$((t1 - t0))" -v hz="$HZ" 'BEGIN {
    cpu = dt / hz;
    printf "%-22s %10d %10d %11.0f %7.1f %11.0f %8d\n", n, s, p, p / secs, 100 * cpu / secs,
           (p > 0 ? cpu * 1e9 / p : 0), e;
  }' | tee -a "$WORK/rows"
}

echo "== $SECONDS_PER_RUN s per contender, $PAYLOAD-byte UDP payload, rate ${RATE:-0} (0 = unlimited), $(nproc) CPUs" >&2
header() { printf "%-22s %10s %10s %11s %7s %11s %8s\n" contender offered accepted "packets/s" "cpu %" "cpu ns/pkt" enobufs; }
header
for _ in $(seq "${REPEAT:-1}"); do
  run "C libnfq batch 1"      "$WORK/nfq_accept" 0 1
  run "Rust verdict batch 1"  "$RUST_BIN" 0 1
  run "C libnfq batch 32"     "$WORK/nfq_accept" 0 32
  run "Rust verdict batch 32" "$RUST_BIN" 0 32
  run "Rust b32 no yield"     env ACCEPT_ALL_NO_YIELD=1 "$RUST_BIN" 0 32
done
if [ "${REPEAT:-1}" -gt 1 ]; then
  echo
  echo "medians over $REPEAT runs:"
  header
  for name in "C libnfq batch 1" "Rust verdict batch 1" "C libnfq batch 32" "Rust verdict batch 32" "Rust b32 no yield"; do
    med=()
    for k in 6 5 4 3 2 1; do # fields counted from the end: offered .. enobufs
      col=$(grep -F "$name " "$WORK/rows" | awk -v k="$k" '{ print $(NF - k + 1) }' | sort -g)
      cnt=$(echo "$col" | wc -l)
      med+=("$(echo "$col" | sed -n "$(( (cnt + 1) / 2 ))p")")
    done
    printf "%-22s %10s %10s %11s %7s %11s %8s\n" "$name" "${med[@]}"
  done
fi

trace_run() { # name, command...
  local name=$1; shift
  ip netns exec "$RCV" strace -f -c -o "$WORK/trace" "$@" > "$WORK/out" 2> /dev/null &
  local tracer=$!
  sleep 0.7
  local sent
  sent=$(ip netns exec "$SND" "$WORK/flood" 198.18.0.2 9999 "$PAYLOAD" "$SECONDS_PER_RUN" "${RATE:-0}" | sed 's/sent=//')
  sleep 0.3
  kill -TERM $(pgrep -P "$tracer") 2>/dev/null || true
  wait "$tracer" || true
  local packets calls
  packets=$(sed -n 's/.*packets=\([0-9]*\).*/\1/p' "$WORK/out")
  calls=$(awk '$NF == "total" { print $4 }' "$WORK/trace")
  local detail
  detail=$(awk '$NF ~ /^(recv|recvfrom|recvmmsg|recvmsg|send|sendto|sendmsg|poll)$/ { printf "%s=%s ", $NF, $4 }' "$WORK/trace")
  awk -v n="$name" -v s="${sent:-0}" -v p="${packets:-0}" -v c="${calls:-0}" -v d="$detail" 'BEGIN {
    printf "%-22s %10d %10d %10d %10.2f   %s\n", n, s, p, c, (p > 0 ? c / p : 0), d }'
}

if [ "${SYSCALLS:-0}" = 1 ]; then
  command -v strace >/dev/null || { echo "io-compare: SYSCALLS=1 needs strace" >&2; exit 1; }
  echo
  echo "syscalls under strace -f -c (timing meaningless here; counts are the point):"
  printf "%-22s %10s %10s %10s %10s   %s\n" contender offered accepted syscalls "per packet" "by call"
  trace_run "C libnfq batch 1"      "$WORK/nfq_accept" 0 1
  trace_run "Rust verdict batch 1"  "$RUST_BIN" 0 1
  trace_run "C libnfq batch 32"     "$WORK/nfq_accept" 0 32
  trace_run "Rust verdict batch 32" "$RUST_BIN" 0 32
fi
