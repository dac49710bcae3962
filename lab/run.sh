#!/usr/bin/env bash
# Proves Verdict's kernel guard on a kernel that has the seed's bug.
#
# Boots ../shared/lab's kernel (Debian 6.1.192 with 747670fd9a2d reverted, KASAN on) under
# QEMU twice, with the lab's reproducer (synack_repro) playing a slow inspector on queue 0:
#   1. control: the hand-written, unguarded queue rule of the seed's scenario. `verdict doctor`
#      must flag it as dangerous, and the kernel MUST fault (else the lab is broken and proves
#      nothing).
#   2. verdict: the queue rules are the ones `verdict firewall install` puts in (host mode,
#      OUTPUT queued, guard forced on because this kernel's version string claims to be fixed).
#      `verdict doctor` must pass them, and the kernel must NOT fault in any of the rounds.
#
# Usage: lab/run.sh [GUARDED_ROUNDS [CONTROL_ROUNDS]]   (defaults: 20 and 1)
# Env:   VERDICT_SHARED (default ../shared), VERDICT_BIN (default: build target/release/verdict),
#        LAB_LOGS=DIR keeps the guests' whole console logs
# Needs: root not required; qemu-system-x86, busybox-static, cpio, gcc, libnetfilter-queue-dev,
#        iptables (scripts/deps.sh installs them).
# Prints the guest's lines and "LAB-VERDICT: PASS" or "LAB-VERDICT: FAIL (why)"; exit 0 on PASS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
shared="${VERDICT_SHARED:-$(cd "$repo/.." && pwd)/shared}"
lab="$shared/lab"
guarded_rounds=${1:-20}
control_rounds=${2:-1}
kernel="$lab/bzImage-6.1.192-nfq-bug"
[ -f "$kernel" ] || { echo "LAB-VERDICT: FAIL (no lab kernel at $kernel; set VERDICT_SHARED)"; exit 1; }

bin="${VERDICT_BIN:-}"
if [ -z "$bin" ]; then
  (cd "$repo" && cargo build --release -q -p verdict)
  bin="$repo/target/release/verdict"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/synack_repro" "$lab/synack_repro.c" -lnetfilter_queue -lnfnetlink
cp "$bin" "$work/verdict"
"$lab/make-initramfs.sh" "$work/base.cpio.gz" "$work/synack_repro" "$work/verdict" >/dev/null

# An overlay archive, appended to the lab's: the kernel unpacks both, later files win. It
# replaces /init with ours and adds the iptables-save/restore names doctor and the installer use.
ov="$work/overlay"
mkdir -p "$ov/bin" "$ov/etc/verdict"
for n in iptables-save iptables-restore iptables-nft iptables-nft-save iptables-nft-restore \
         ip6tables ip6tables-save ip6tables-restore ip6tables-nft ip6tables-nft-save ip6tables-nft-restore; do
  ln -s xtables-nft-multi "$ov/bin/$n"
done
for n in iptables-legacy-save iptables-legacy-restore ip6tables-legacy ip6tables-legacy-save ip6tables-legacy-restore; do
  ln -s xtables-legacy-multi "$ov/bin/$n"
done
cp "$here/lab.toml" "$ov/etc/verdict/lab.toml"
cp "$here/guest-init.sh" "$ov/init"
chmod +x "$ov/init"
(cd "$ov" && find . | cpio -o -H newc 2>/dev/null | gzip -1) > "$work/overlay.cpio.gz"
cat "$work/base.cpio.gz" "$work/overlay.cpio.gz" > "$work/initramfs.cpio.gz"

boot() { # MODE ROUNDS LOG
  # TCG: the CPU model qemu64 avoids an early-boot KASAN report seen with -cpu max.
  timeout 1200 qemu-system-x86_64 -accel tcg -cpu qemu64 -m 1024 -smp 2 -nographic -no-reboot \
    -kernel "$kernel" -initrd "$work/initramfs.cpio.gz" \
    -append "console=ttyS0 panic=-1 lab_cmd=$1 lab_rounds=$2" 2>&1 | tr -d '\r' > "$3" || true
  grep -E "^LAB|^round|rounds=|^(doctor|install|show|remove)\||KASAN|nf_reinject|nfqnl_recv_verdict|sk_free" "$3" || true
  if [ -n "${LAB_LOGS:-}" ]; then mkdir -p "$LAB_LOGS" && cp "$3" "$LAB_LOGS/"; fi
}

fail=()
echo "== control: hand-written unguarded rule, $control_rounds round(s) =="
boot control "$control_rounds" "$work/control.log"
grep -q "LAB-RESULT: KERNEL-FAULT" "$work/control.log" || fail+=("the unguarded control did not fault: the lab proves nothing")
grep -q "LAB-DOCTOR: exit=2" "$work/control.log" || fail+=("doctor did not flag the unguarded rule as dangerous (exit 2)")

echo "== verdict: rules installed by verdict, $guarded_rounds round(s) =="
boot verdict "$guarded_rounds" "$work/verdict.log"
grep -q "LAB-INSTALL: exit=0" "$work/verdict.log" || fail+=("verdict firewall install failed in the guest")
grep -q "LAB-DOCTOR: exit=[01]$" "$work/verdict.log" || fail+=("doctor did not pass Verdict's own rules")
grep -q "LAB-RESULT: CLEAN" "$work/verdict.log" || fail+=("the kernel faulted under Verdict's rules")
grep -q "^rounds=$guarded_rounds " "$work/verdict.log" || fail+=("the reproducer did not complete $guarded_rounds rounds")
grep -q "LAB-REMOVE: exit=0" "$work/verdict.log" || fail+=("verdict firewall remove failed in the guest")
grep -q "LAB-LEFTOVER: 0$" "$work/verdict.log" || fail+=("Verdict rules left behind after remove")

if [ ${#fail[@]} -eq 0 ]; then
  echo "LAB-VERDICT: PASS (control faulted; 0 faults in $guarded_rounds rounds under Verdict's rules)"
else
  printf 'LAB-VERDICT: FAIL (%s)\n' "${fail[@]}"
  exit 1
fi
