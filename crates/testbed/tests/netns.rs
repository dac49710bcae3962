//! The testbed against the real kernel: namespaces, links, addresses, cleanup.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::Path;
use std::time::Duration;

use verdict_testbed::topology::{self, Routed, TwoHosts};
use verdict_testbed::{require_root, Netns};

#[test]
fn namespace_is_created_named_and_deleted_on_drop() {
    if !require_root() {
        return;
    }
    let ns = Netns::new().unwrap();
    let prefix = format!("vt-{}-", std::process::id());
    assert!(ns.name().starts_with(&prefix), "{}", ns.name());
    let path = ns.path();
    assert!(path.exists());
    let other = Netns::new().unwrap();
    assert_ne!(ns.name(), other.name());
    drop(ns);
    assert!(!path.exists(), "{} still exists after drop", path.display());
}

#[test]
fn namespace_is_deleted_when_a_test_panics() {
    if !require_root() {
        return;
    }
    let mut seen = None;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let ns = Netns::new().unwrap();
        seen = Some(ns.path());
        panic!("test failure while holding {}", ns.name());
    }));
    assert!(result.is_err());
    let path = seen.expect("the namespace was created");
    assert!(!Path::new(&path).exists());
}

/// Sends one UDP datagram from `from_ns`/`from` to `to_ns`/`to` and checks it arrives.
fn udp_reaches(from_ns: &Netns, from: IpAddr, to_ns: &Netns, to: IpAddr) {
    let receiver = to_ns
        .run_in(|| UdpSocket::bind(SocketAddr::new(to, 0)))
        .unwrap()
        .unwrap();
    receiver
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let dest = receiver.local_addr().unwrap();
    from_ns
        .run_in(|| {
            UdpSocket::bind(SocketAddr::new(from, 0))
                .and_then(|s| s.send_to(b"ping", dest))
                .unwrap()
        })
        .unwrap();
    let mut buf = [0u8; 8];
    let (n, src) = receiver.recv_from(&mut buf).expect("datagram arrives");
    assert_eq!(&buf[..n], b"ping");
    assert_eq!(src.ip(), from);
}

#[test]
fn two_hosts_reach_each_other_over_ipv4_and_ipv6() {
    if !require_root() {
        return;
    }
    let net = TwoHosts::new().unwrap();
    udp_reaches(
        &net.a,
        topology::TWO_HOSTS_A_V4.into(),
        &net.b,
        topology::TWO_HOSTS_B_V4.into(),
    );
    udp_reaches(
        &net.b,
        topology::TWO_HOSTS_B_V6.into(),
        &net.a,
        topology::TWO_HOSTS_A_V6.into(),
    );
}

#[test]
fn rust_sockets_opened_in_run_in_live_in_the_namespace() {
    if !require_root() {
        return;
    }
    let net = TwoHosts::new().unwrap();
    // Binding to b's address only works inside b.
    let receiver = net
        .b
        .run_in(|| UdpSocket::bind((topology::TWO_HOSTS_B_V4, 0)))
        .unwrap()
        .unwrap();
    receiver
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let to = receiver.local_addr().unwrap();
    let a_sent = net
        .a
        .spawn_thread(move || {
            let s = UdpSocket::bind((topology::TWO_HOSTS_A_V4, 0))?;
            s.send_to(b"hello", to)
        })
        .unwrap();
    assert_eq!(a_sent.join().unwrap().unwrap(), 5);
    let mut buf = [0u8; 16];
    let (n, from) = receiver.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hello");
    assert_eq!(from.ip(), topology::TWO_HOSTS_A_V4);
    // The calling thread never left the host namespace.
    assert!(UdpSocket::bind((topology::TWO_HOSTS_B_V4, 0)).is_err());
}

#[test]
fn routed_client_reaches_server_through_gateway_and_firewall_runs_inside() {
    if !require_root() {
        return;
    }
    let net = Routed::new().unwrap();
    net.gateway
        .iptables_both(&[
            "-A",
            "FORWARD",
            "-p",
            "udp",
            "-m",
            "comment",
            "--comment",
            "vt-udp",
            "-j",
            "ACCEPT",
        ])
        .unwrap();
    udp_reaches(
        &net.client,
        topology::CLIENT_V4.into(),
        &net.server,
        topology::SERVER_V4.into(),
    );
    udp_reaches(
        &net.client,
        topology::CLIENT_V6.into(),
        &net.server,
        topology::SERVER_V6.into(),
    );
    for ipv6 in [false, true] {
        let packets = net.gateway.rule_packets(ipv6, "filter", "vt-udp").unwrap();
        assert_eq!(packets, 1, "ipv6={ipv6}");
    }
    assert!(net
        .gateway
        .rule_packets(false, "filter", "nonexistent")
        .is_err());
}

#[test]
fn spawned_child_is_signalled_and_its_output_returned() {
    if !require_root() {
        return;
    }
    let ns = Netns::new().unwrap();
    let child = ns
        .spawn(&[
            "sh",
            "-c",
            "trap 'echo got-term; exit 0' TERM; echo ready; while :; do sleep 0.05; done",
        ])
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let out = child.finish(libc::SIGTERM).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ready"), "{stdout}");
}

#[test]
fn sysctl_and_read_file_are_per_namespace() {
    if !require_root() {
        return;
    }
    let ns = Netns::new().unwrap();
    assert_eq!(
        ns.read_file("/proc/sys/net/ipv4/ip_forward")
            .unwrap()
            .trim(),
        "0"
    );
    ns.sysctl("net.ipv4.ip_forward", "1").unwrap();
    assert_eq!(
        ns.read_file("/proc/sys/net/ipv4/ip_forward")
            .unwrap()
            .trim(),
        "1"
    );
    let fresh = Netns::new().unwrap();
    assert_eq!(
        fresh
            .read_file("/proc/sys/net/ipv4/ip_forward")
            .unwrap()
            .trim(),
        "0"
    );
}
