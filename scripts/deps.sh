#!/usr/bin/env bash
# Installs what Verdict's build, tests and main job need on a Debian machine (as root),
# only where missing: iptables, nftables, iproute2, conntrack tools, gcc and the C peer's
# library, QEMU/busybox/cpio for the kernel lab, and Python's yaml module for the
# conformance scorer.
set -euo pipefail
need=()
command -v iptables  >/dev/null 2>&1 || need+=(iptables)
command -v nft       >/dev/null 2>&1 || need+=(nftables)
command -v ip        >/dev/null 2>&1 || need+=(iproute2)
command -v conntrack >/dev/null 2>&1 || need+=(conntrack)
# socat sends datagrams as another user in the nfq uid/gid test.
command -v socat     >/dev/null 2>&1 || need+=(socat)
command -v python3   >/dev/null 2>&1 || need+=(python3)
python3 -c 'import yaml' >/dev/null 2>&1 || need+=(python3-yaml)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
[ -e /usr/include/libnetfilter_queue/libnetfilter_queue.h ] || need+=(libnetfilter-queue-dev)
# The kernel lab (QEMU guest with the seed's bug, lab/): qemu, busybox, cpio.
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v cpio >/dev/null 2>&1 || need+=(cpio)
if [ ${#need[@]} -gt 0 ]; then
  echo "deps: installing ${need[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing ${need[*]}; run as root or install them with apt-get" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The Python that runs the scorer may not be Debian's: make sure it has yaml.
python3 -c 'import yaml' >/dev/null 2>&1 || pip install -q pyyaml
