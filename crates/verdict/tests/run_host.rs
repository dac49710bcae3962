//! End-to-end tests of `verdict run` in host topology (INPUT and OUTPUT queued), with the real
//! binary in a network namespace `b` and its peer `a`:
//! - `host_inspects_input_and_output`: a request to b's server matching an inbound drop rule
//!   is blocked (INPUT); a reply from b's server matching an outbound drop rule is blocked
//!   (OUTPUT); a benign exchange works; `/metrics` serves the counters.
//! - `flood_past_queue_length_fail_open` / `_fail_closed`: with a queue of 1 packet, a UDP
//!   flood overruns the queue. Fail-closed: the packets that did not fit are dropped and the
//!   kernel counts them (`verdict_kernel_queue_overruns_total`), received + overruns = sent.
//!   Fail-open: they are let through -- the receiver gets more than Verdict judged and
//!   (almost) everything sent; the kernel keeps no count of fail-open bypasses.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod common;

use common::TempDir;
use verdict_testbed::topology::{self, TwoHosts};
use verdict_testbed::{ChildGuard, Netns};

const PORT: u16 = 8080;
const METRICS: &str = "127.0.0.1:9477";

const RULES: &str = "\
drop tcp any any -> any 8080 (msg:\"TEST inbound evil\"; flow:established,to_server; content:\"EVIL\"; sid:2000001; rev:1;)
drop tcp any 8080 -> any any (msg:\"TEST outbound leak\"; flow:established,to_client; content:\"LEAK\"; sid:2000002; rev:1;)
";

fn config(dir: &Path, extra: &str) -> PathBuf {
    std::fs::write(dir.join("test.rules"), RULES).unwrap();
    let path = dir.join("verdict.toml");
    std::fs::write(
        &path,
        format!(
            "topology = \"host\"\n{extra}\n[rules]\nfiles = [\"test.rules\"]\n\
             [outputs]\nlog_dir = \"logs\"\nstats_interval_secs = 0\nmetrics_address = \"{METRICS}\"\n"
        ),
    )
    .unwrap();
    path
}

/// Starts `verdict run -c cfg` in `ns` and waits until its queue is bound and `/metrics`
/// answers.
fn start(ns: &Netns, cfg: &Path) -> ChildGuard {
    common::start_verdict(ns, cfg, |ns| metrics(ns).is_some())
}

/// GET /metrics inside `ns`.
fn metrics(ns: &Netns) -> Option<String> {
    ns.run_in(|| {
        let mut s = TcpStream::connect(METRICS).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(b"GET /metrics HTTP/1.1\r\n\r\n").ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    })
    .unwrap()
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
}

/// An echo server in `ns`: answers `echo: <request>`.
fn echo_server(ns: &Netns, stop: Arc<AtomicBool>) {
    ns.spawn_thread(move || {
        let l = TcpListener::bind(("::", PORT)).unwrap();
        l.set_nonblocking(true).unwrap();
        while !stop.load(Ordering::Relaxed) {
            match l.accept() {
                Ok((mut c, _)) => {
                    std::thread::spawn(move || {
                        c.set_nonblocking(false).unwrap();
                        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                        let mut buf = [0u8; 1024];
                        while let Ok(n) = c.read(&mut buf) {
                            if n == 0 {
                                break;
                            }
                            let mut reply = b"echo: ".to_vec();
                            reply.extend_from_slice(&buf[..n]);
                            if c.write_all(&reply).is_err() {
                                break;
                            }
                        }
                    });
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    })
    .unwrap();
}

/// A request that must be answered (generous timeout for loaded machines).
fn ask(ns: &Netns, dst: SocketAddr, msg: &str) -> Option<String> {
    common::request(ns, dst, msg, Duration::from_secs(5))
}

/// A request that must be blocked: no answer within 1.5 s.
fn blocked(ns: &Netns, dst: SocketAddr, msg: &str) -> bool {
    common::request(ns, dst, msg, Duration::from_millis(1500)).is_none()
}

#[test]
fn host_inspects_input_and_output() {
    if !verdict_testbed::require_root() {
        return;
    }
    let net = TwoHosts::new().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    echo_server(&net.b, Arc::clone(&stop));
    let dir = TempDir::new("e2e-host");
    let child = start(&net.b, &config(&dir.0, ""));
    for dst in [
        SocketAddr::from((topology::TWO_HOSTS_B_V4, PORT)),
        SocketAddr::from((topology::TWO_HOSTS_B_V6, PORT)),
    ] {
        assert_eq!(ask(&net.a, dst, "hi").as_deref(), Some("echo: hi"), "{dst}");
        assert!(
            blocked(&net.a, dst, "EVIL in"),
            "INPUT not inspected ({dst})"
        );
        assert!(
            blocked(&net.a, dst, "give LEAK"),
            "OUTPUT not inspected ({dst})"
        );
        assert_eq!(
            ask(&net.a, dst, "bye").as_deref(),
            Some("echo: bye"),
            "{dst}"
        );
    }
    let m = metrics(&net.b).unwrap();
    assert!(m.starts_with("HTTP/1.1 200 OK"), "{m}");
    assert!(
        metric(&m, "verdict_packets_dropped_total{queue=\"0\"}") >= 4,
        "{m}"
    );
    assert!(
        metric(&m, "verdict_packets_received_total{queue=\"0\"}") >= 20,
        "{m}"
    );
    assert_eq!(metric(&m, "verdict_rules_loaded"), 2);
    let out = child.finish(libc::SIGTERM).unwrap();
    stop.store(true, Ordering::Relaxed);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rules = common::firewall_listing(&net.b);
    assert!(
        !rules.contains("VERDICT") && !rules.contains("verdict"),
        "rules left behind:\n{rules}"
    );
}

fn flood(fail_open: bool) {
    if !verdict_testbed::require_root() {
        return;
    }
    let net = TwoHosts::new().unwrap();
    let dir = TempDir::new("e2e-host");
    let extra = format!(
        "fail_open = {fail_open}\nqueue_maxlen = 1\n[capture]\nprotocols = [\"udp\"]\nports = [9999]\nipv6 = false"
    );
    let child = start(&net.b, &config(&dir.0, &extra));
    const SENT: u32 = 20_000;
    let receiver = net
        .b
        .spawn_thread(|| {
            let s = UdpSocket::bind((topology::TWO_HOSTS_B_V4, 9999)).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(1000)))
                .unwrap();
            let mut got = 0u32;
            let mut buf = [0u8; 64];
            while s.recv(&mut buf).is_ok() {
                got += 1;
            }
            got
        })
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    net.a
        .run_in(|| {
            let s = UdpSocket::bind((topology::TWO_HOSTS_A_V4, 0)).unwrap();
            for i in 0..SENT {
                let _ = s.send_to(&i.to_be_bytes(), (topology::TWO_HOSTS_B_V4, 9999));
                if i % 2000 == 0 {
                    // Keep the sender from overflowing its own socket buffer.
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        })
        .unwrap();
    let got = receiver.join().unwrap();
    let m = metrics(&net.b).unwrap();
    let overruns = metric(&m, "verdict_kernel_queue_overruns_total{queue=\"0\"}");
    let judged = metric(&m, "verdict_packets_received_total{queue=\"0\"}");
    let out = child.finish(libc::SIGTERM).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("flood: sent {SENT}, received {got}, judged by Verdict {judged}, kernel overruns {overruns}");
    if fail_open {
        // The kernel accepts what does not fit (NFQA_CFG_F_FAIL_OPEN) and keeps no count of it
        // (queue_dropped counts only drops): the overflow shows as packets the receiver got
        // that Verdict never judged.
        assert!(
            u64::from(got) > judged,
            "fail-open: no packet went past the full queue (got {got}, judged {judged})"
        );
        // Far more than Verdict could judge arrives (a UDP flood also loses some packets in
        // the veth backlog and the receiving socket, with or without Verdict).
        assert!(got >= SENT / 2, "fail-open: only {got} of {SENT} arrived");
    } else {
        assert!(
            overruns > 0,
            "a 1-packet queue was not overrun by {SENT} packets:\n{m}"
        );
        assert!(
            u64::from(got) <= judged,
            "fail-closed let overflow through: got {got}, judged {judged}, overruns {overruns}"
        );
        assert!(
            u64::from(got) + overruns >= u64::from(SENT) * 95 / 100,
            "the overflow is not accounted for: got {got}, overruns {overruns}"
        );
    }
}

#[test]
fn flood_past_queue_length_fail_open() {
    flood(true);
}

#[test]
fn flood_past_queue_length_fail_closed() {
    flood(false);
}
