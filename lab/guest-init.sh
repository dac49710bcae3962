#!/bin/sh
# /init of the kernel-lab guest (see lab/run.sh). Runs one scenario and powers off.
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
ip link set lo up
cmd=$(sed -n 's/.*lab_cmd=\([^ ]*\).*/\1/p' /proc/cmdline)
rounds=$(sed -n 's/.*lab_rounds=\([0-9]*\).*/\1/p' /proc/cmdline); rounds=${rounds:-3}
n0=$(dmesg | wc -l)
echo "LAB: kernel $(cat /proc/sys/kernel/osrelease) cmd=$cmd rounds=$rounds"
case "$cmd" in
  control)
    # The seed's scenario: the listener's SYN-ACKs queued from OUTPUT, nothing in front.
    iptables -A OUTPUT -p tcp --sport 23456 --tcp-flags SYN,ACK SYN,ACK -j NFQUEUE --queue-num 0
    verdict doctor --assume-affected > /tmp/doctor.txt 2>&1; echo "LAB-DOCTOR: exit=$?"
    sed 's/^/doctor| /' /tmp/doctor.txt ;;
  verdict)
    # Verdict's own rules: host mode, OUTPUT queued, guard forced on (lab.toml).
    verdict firewall install -c /etc/verdict/lab.toml > /tmp/install.txt 2>&1; echo "LAB-INSTALL: exit=$?"
    sed 's/^/install| /' /tmp/install.txt
    verdict firewall show 2>&1 | sed 's/^/show| /'
    verdict doctor --assume-affected > /tmp/doctor.txt 2>&1; echo "LAB-DOCTOR: exit=$?"
    sed 's/^/doctor| /' /tmp/doctor.txt ;;
  *) echo "LAB: unknown lab_cmd '$cmd'" ;;
esac
/bin/synack_repro "$rounds"
sleep 2
if [ "$cmd" = verdict ]; then
  verdict firewall remove > /tmp/remove.txt 2>&1; echo "LAB-REMOVE: exit=$?"
  sed 's/^/remove| /' /tmp/remove.txt
  left=$(iptables-save | grep -c VERDICT); echo "LAB-LEFTOVER: $left"
fi
dmesg | tail -n +$((n0 + 1)) > /tmp/lab-dmesg   # faults during the scenario only, not early boot
if grep -qE "KASAN|BUG:|Oops|general protection" /tmp/lab-dmesg; then
  echo "LAB-RESULT: KERNEL-FAULT"; grep -A30 -m1 -E "KASAN|BUG:|Oops" /tmp/lab-dmesg
else
  echo "LAB-RESULT: CLEAN"
fi
poweroff -f
