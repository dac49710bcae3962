//! End-to-end tests of `verdict run` in gateway topology: the real binary, inline in the
//! FORWARD path of a namespace router, between a real TCP client and server, IPv4 and IPv6.
//!
//! What each test shows:
//! - `gateway_blocks_malicious_request_v4/_v6`: a request whose payload matches a `drop` rule
//!   never reaches the server (the client times out) while requests before and after it, on
//!   the same port, are answered; eve.json holds the alert (action `blocked`, sid, addresses,
//!   ports, direction) and the drop; SIGTERM exits 0 and leaves no Verdict rule behind, and a
//!   new connection afterwards still works (nothing stalled).
//! - `sighup_swaps_rules_without_losing_packets`: while a client keeps making requests, SIGHUP
//!   swaps a ruleset without the drop rule for one with it; every request before is answered,
//!   the blocked word is blocked after, no benign request fails; a broken rules file on a
//!   second SIGHUP keeps the working set.
//! - `sigterm_under_traffic_stalls_nothing`: SIGTERM in the middle of a stream of requests on
//!   one connection (fail-open and fail-closed): every request is answered, the daemon exits
//!   0 and no rule is left.
//! - `two_queues_share_the_flows_and_both_judge`: `queues = "0-1"`: both queue threads
//!   receive flows (`--queue-balance`), benign requests pass, every malicious one is blocked.
//! - `decided_flow_is_bypassed_in_the_kernel_v4/_v6`: past `[flow_bypass] bytes` a connection is
//!   handed to the kernel (connmark); a later payload a drop rule matches goes through on it,
//!   while a new connection is still inspected.
//! - `pass_rule_bypasses_the_flow_in_the_kernel`: an IP-only `pass` rule (a trusted server
//!   address) passes a flow, and the kernel stops queueing it (connmark rule counter) once
//!   the handshake is done; a payload a drop rule matches goes through on it, while a flow to
//!   another address is still inspected.
//! - `kill_9_fail_open_bypasses_and_next_start_cleans_up` / `kill_9_fail_closed_blocks`: with
//!   the daemon killed hard, fail-open traffic flows (`--queue-bypass`) and fail-closed traffic
//!   does not; the next start replaces the leftover rules and stops cleanly.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod common;

use common::{verdict_rules_present, TempDir};
use verdict_testbed::topology::{self, Routed};
use verdict_testbed::{ChildGuard, Netns};

const PORT: u16 = 8080;
/// How long a request that must be answered may take (generous: CI machines are loaded).
const ANSWER: Duration = Duration::from_secs(5);
/// How long without an answer before a request counts as blocked.
const BLOCKED: Duration = Duration::from_secs(2);

const RULES: &str = "\
drop tcp any any -> any 8080 (msg:\"TEST evil request\"; flow:established,to_server; content:\"EVIL\"; classtype:web-application-attack; sid:1000001; rev:2;)
alert tcp any any -> any 8080 (msg:\"TEST hello seen\"; flow:established,to_server; content:\"hello\"; sid:1000002; rev:1;)
";

/// A TCP server in the server namespace: answers every request with `ok <bytes>\n`.
struct Server {
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicU32>,
}

impl Server {
    fn start(ns: &Netns) -> Server {
        Self::start_on(ns, PORT)
    }

    fn start_on(ns: &Netns, port: u16) -> Server {
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicU32::new(0));
        let (s, r) = (Arc::clone(&stop), Arc::clone(&requests));
        ns.spawn_thread(move || {
            let l = TcpListener::bind(("::", port)).expect("bind server");
            l.set_nonblocking(true).unwrap();
            while !s.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((mut c, _)) => {
                        let r = Arc::clone(&r);
                        std::thread::spawn(move || {
                            c.set_nonblocking(false).unwrap();
                            c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                            let mut buf = [0u8; 4096];
                            loop {
                                match c.read(&mut buf) {
                                    Ok(0) | Err(_) => break,
                                    Ok(n) => {
                                        r.fetch_add(1, Ordering::Relaxed);
                                        if c.write_all(format!("ok {n}\n").as_bytes()).is_err() {
                                            break;
                                        }
                                    }
                                }
                            }
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        })
        .expect("server thread");
        Server { stop, requests }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Sends `payload` to `dst`:8080 from the client namespace; returns the answer, or None when
/// no answer came within `timeout` (blocked).
fn request(client: &Netns, dst: IpAddr, payload: &str, timeout: Duration) -> Option<String> {
    common::request(client, SocketAddr::new(dst, PORT), payload, timeout)
}

fn write_config(dir: &Path, fail_open: bool) -> PathBuf {
    std::fs::write(dir.join("test.rules"), RULES).unwrap();
    let cfg = format!(
        "queues = 0\ntopology = \"gateway\"\nfail_open = {fail_open}\n\
         [rules]\nfiles = [\"test.rules\"]\n\
         [outputs]\nlog_dir = \"logs\"\nstats_interval_secs = 1\n\
         payload_printable = true\npacket = true\n"
    );
    let path = dir.join("verdict.toml");
    std::fs::write(&path, cfg).unwrap();
    path
}

/// A routed client/gateway/server network, the TCP server running, and a scratch directory
/// with `verdict.toml` (queue 0, gateway topology) and the test rules. Fields drop in order:
/// the server stops before its namespace goes.
struct Gateway {
    server: Server,
    dir: TempDir,
    cfg: PathBuf,
    net: Routed,
}

impl Gateway {
    fn new(fail_open: bool) -> Gateway {
        let net = Routed::new().unwrap();
        let server = Server::start(&net.server);
        let dir = TempDir::new("e2e");
        let cfg = write_config(&dir.0, fail_open);
        Gateway {
            server,
            dir,
            cfg,
            net,
        }
    }
}

/// [`Gateway::new`], or `None` (skip, or a failure under `CI`) without root.
fn gateway(fail_open: bool) -> Option<Gateway> {
    verdict_testbed::require_root().then(|| Gateway::new(fail_open))
}

/// Starts `verdict run -c cfg` in the gateway and waits until its queue is bound and its
/// rules are in place.
fn start_verdict(gw: &Netns, cfg: &Path) -> ChildGuard {
    common::start_verdict(gw, cfg, verdict_rules_present)
}

fn stop(child: ChildGuard, signal: i32) -> Output {
    child.finish(signal).expect("stop verdict")
}

fn eve_events(dir: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("logs/eve.json")).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad EVE line {l:?}: {e}")))
        .collect()
}

fn gateway_blocks(v6: bool) {
    let Some(gw) = gateway(true) else {
        return;
    };
    let (net, server, dir, cfg) = (&gw.net, &gw.server, &gw.dir, &gw.cfg);
    let (dst, src): (IpAddr, IpAddr) = if v6 {
        (topology::SERVER_V6.into(), topology::CLIENT_V6.into())
    } else {
        (topology::SERVER_V4.into(), topology::CLIENT_V4.into())
    };
    let child = start_verdict(&net.gateway, cfg);
    let t = ANSWER;

    let first = request(&net.client, dst, "GET /hello HTTP/1.0\r\n\r\n", t);
    let evil = request(&net.client, dst, "GET /EVIL HTTP/1.0\r\n\r\n", BLOCKED);
    let after = request(&net.client, dst, "GET /fine HTTP/1.0\r\n\r\n", t);
    std::thread::sleep(Duration::from_millis(300)); // let the idle flush write eve.json

    // The server saw the two benign requests, never the malicious one.
    let reached_server = server.requests.load(Ordering::Relaxed);
    let out = stop(child, libc::SIGTERM);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        reached_server, 2,
        "the malicious payload reached the server: {stderr}"
    );
    assert!(
        out.status.success(),
        "verdict exit {:?}: {stderr}",
        out.status
    );
    assert_eq!(
        first.as_deref(),
        Some("ok 23\n"),
        "benign request before: {stderr}"
    );
    assert_eq!(evil, None, "the malicious request got an answer: {stderr}");
    assert_eq!(
        after.as_deref(),
        Some("ok 22\n"),
        "benign request after: {stderr}"
    );

    // SIGTERM removed every rule, and traffic flows without Verdict.
    assert!(!verdict_rules_present(&net.gateway), "rules left behind");
    assert_eq!(
        request(&net.client, dst, "GET /EVIL again\r\n\r\n", t).as_deref(),
        Some("ok 19\n"),
        "traffic after stop"
    );

    let events = eve_events(&dir.0);
    let alert = events
        .iter()
        .find(|e| e["event_type"] == "alert" && e["alert"]["signature_id"] == 1000001)
        .unwrap_or_else(|| panic!("no drop alert in {events:#?}"));
    assert_eq!(alert["alert"]["action"], "blocked");
    assert_eq!(alert["alert"]["signature"], "TEST evil request");
    assert_eq!(alert["alert"]["rev"], 2);
    assert_eq!(alert["alert"]["gid"], 1);
    // Parsed, not compared as text: EVE writes IPv6 expanded, as Suricata does.
    let ip = |v: &serde_json::Value| v.as_str().and_then(|s| s.parse::<IpAddr>().ok());
    assert_eq!(ip(&alert["src_ip"]), Some(src));
    assert_eq!(ip(&alert["dest_ip"]), Some(dst));
    assert_eq!(alert["dest_port"], PORT);
    assert_eq!(alert["proto"], "TCP");
    assert_eq!(alert["direction"], "to_server");
    assert!(alert["timestamp"].as_str().unwrap().ends_with("+0000"));
    assert!(alert["flow_id"].as_u64().is_some());
    // `payload_printable` and `packet` are on in this config: the analyst sees what was
    // blocked.
    assert!(
        alert["payload_printable"]
            .as_str()
            .is_some_and(|p| p.contains("GET /EVIL")),
        "{alert:#}"
    );
    assert!(
        alert["packet"].as_str().is_some_and(|p| !p.is_empty()),
        "{alert:#}"
    );
    assert!(
        alert.get("payload").is_none(),
        "payload (base64) was not asked for"
    );
    let hello = events
        .iter()
        .find(|e| e["event_type"] == "alert" && e["alert"]["signature_id"] == 1000002)
        .expect("alert for the benign 'hello' rule");
    assert_eq!(hello["alert"]["action"], "allowed");
    assert!(
        events
            .iter()
            .any(|e| e["event_type"] == "drop" && e["drop"]["reason"] == "rules"),
        "no drop event"
    );
    let stats = events
        .iter()
        .rev()
        .find(|e| e["event_type"] == "stats")
        .expect("stats event");
    let q = &stats["stats"]["nfq"][0];
    assert!(q["received"].as_u64().unwrap() >= 10, "{q}");
    assert!(q["dropped"].as_u64().unwrap() >= 1, "{q}");
    // The kernel's own counters for the queue (read before it was closed).
    assert_eq!(q["kernel"]["queue_overruns"], 0, "{q}");
    assert!(q["kernel"]["id_sequence"].as_u64().unwrap() >= 10, "{q}");
}

#[test]
fn gateway_blocks_malicious_request_v4() {
    gateway_blocks(false);
}

#[test]
fn gateway_blocks_malicious_request_v6() {
    gateway_blocks(true);
}

#[test]
fn sighup_swaps_rules_without_losing_packets() {
    let Some(gw) = gateway(true) else {
        return;
    };
    let (net, dir, cfg) = (&gw.net, &gw.dir, &gw.cfg);
    // Start without the drop rule.
    std::fs::write(dir.0.join("test.rules"), RULES.lines().nth(1).unwrap()).unwrap();
    let child = start_verdict(&net.gateway, cfg);
    let dst: IpAddr = topology::SERVER_V4.into();
    let t = ANSWER;

    assert!(request(&net.client, dst, "EVIL before reload", t).is_some());
    // Benign traffic keeps flowing on one long connection while the rules are swapped.
    let client = &net.client;
    let (lost, answered) = std::thread::scope(|s| {
        let h = s.spawn(|| ping_loop(client, 100));
        std::thread::sleep(Duration::from_millis(300));
        std::fs::write(dir.0.join("test.rules"), RULES).unwrap();
        // SAFETY: kill with a valid pid and signal has no memory effects.
        unsafe { libc::kill(child.id() as i32, libc::SIGHUP) };
        h.join().unwrap()
    });
    assert_eq!((lost, answered), (0, 100), "packets lost across the reload");
    assert_eq!(
        request(&net.client, dst, "EVIL after reload", BLOCKED),
        None
    );

    // A broken file on the next SIGHUP keeps the working set; a setting changed in the
    // config file at the same time is named as needing a restart, not ignored silently.
    let text = std::fs::read_to_string(cfg).unwrap();
    std::fs::write(cfg, format!("batch_size = 8\n{text}")).unwrap();
    std::fs::write(
        dir.0.join("test.rules"),
        "drop tcp any any -> any 8080 (msg:\"broken\"; sid:9",
    )
    .unwrap();
    // SAFETY: as above.
    unsafe { libc::kill(child.id() as i32, libc::SIGHUP) };
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        request(&net.client, dst, "EVIL after bad reload", BLOCKED),
        None
    );
    assert!(request(&net.client, dst, "benign after bad reload", t).is_some());

    let out = stop(child, libc::SIGTERM);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("rules reloaded"), "{stderr}");
    assert!(
        stderr.contains("reload refused, keeping the current rules"),
        "{stderr}"
    );
    assert!(
        stderr.contains("test.rules:1:"),
        "the error names file and line: {stderr}"
    );
    assert!(
        stderr.contains("batch_size changed; a reload applies only [rules]"),
        "{stderr}"
    );
}

/// Sends `count` small requests on one connection from the client, one every 10 ms; returns
/// (unanswered, answered).
fn ping_loop(client: &Netns, count: u32) -> (u32, u32) {
    client
        .run_in(|| {
            let mut c = TcpStream::connect((topology::SERVER_V4, PORT)).unwrap();
            c.set_read_timeout(Some(ANSWER)).unwrap();
            let (mut lost, mut answered) = (0, 0);
            for i in 0..count {
                let msg = format!("ping {i:03}");
                let mut buf = [0u8; 64];
                if c.write_all(msg.as_bytes()).is_ok() && matches!(c.read(&mut buf), Ok(n) if n > 0)
                {
                    answered += 1;
                } else {
                    lost += 1;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            (lost, answered)
        })
        .unwrap()
}

#[test]
fn sigterm_under_traffic_stalls_nothing() {
    if !verdict_testbed::require_root() {
        return;
    }
    for fail_open in [true, false] {
        let gw = Gateway::new(fail_open);
        let (net, cfg) = (&gw.net, &gw.cfg);
        let child = start_verdict(&net.gateway, cfg);
        let client = &net.client;
        let ((lost, answered), out) = std::thread::scope(|s| {
            let h = s.spawn(|| ping_loop(client, 100));
            std::thread::sleep(Duration::from_millis(400));
            let out = stop(child, libc::SIGTERM);
            (h.join().unwrap(), out)
        });
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "fail_open={fail_open}: {stderr}");
        assert_eq!(
            (lost, answered),
            (0, 100),
            "fail_open={fail_open}: a connection stalled across the stop: {stderr}"
        );
        assert!(!verdict_rules_present(&net.gateway), "rules left behind");
    }
}

fn kill_9(fail_open: bool) {
    let Some(gw) = gateway(fail_open) else {
        return;
    };
    let (net, cfg) = (&gw.net, &gw.cfg);
    let dst: IpAddr = topology::SERVER_V4.into();
    let child = start_verdict(&net.gateway, cfg);
    assert!(request(&net.client, dst, "before", ANSWER).is_some());
    let _ = stop(child, libc::SIGKILL);
    assert!(
        verdict_rules_present(&net.gateway),
        "kill -9 cannot remove rules"
    );
    let answer = request(
        &net.client,
        dst,
        "while dead",
        if fail_open { ANSWER } else { BLOCKED },
    );
    if fail_open {
        assert!(
            answer.is_some(),
            "fail-open: traffic must flow with Verdict dead"
        );
    } else {
        assert_eq!(
            answer, None,
            "fail-closed: traffic must stop with Verdict dead"
        );
    }
    // The next start replaces the leftovers, works, and stops cleanly.
    let child = start_verdict(&net.gateway, cfg);
    assert!(request(&net.client, dst, "after restart", ANSWER).is_some());
    assert_eq!(
        request(&net.client, dst, "EVIL after restart", BLOCKED),
        None
    );
    let out = stop(child, libc::SIGTERM);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("leftover"),
        "the restart says it replaced leftovers: {stderr}"
    );
    assert!(!verdict_rules_present(&net.gateway));
}

#[test]
fn kill_9_fail_open_bypasses_and_next_start_cleans_up() {
    kill_9(true);
}

#[test]
fn kill_9_fail_closed_blocks() {
    kill_9(false);
}

#[test]
fn decided_flow_is_bypassed_in_the_kernel_v4() {
    decided_flow_bypassed(false);
}

#[test]
fn decided_flow_is_bypassed_in_the_kernel_v6() {
    decided_flow_bypassed(true);
}

fn decided_flow_bypassed(v6: bool) {
    if !verdict_testbed::require_root() {
        return;
    }
    let dst: IpAddr = if v6 {
        topology::SERVER_V6.into()
    } else {
        topology::SERVER_V4.into()
    };
    let gw = Gateway::new(true);
    let (net, dir, cfg) = (&gw.net, &gw.dir, &gw.cfg);
    // Bypass flows after 4000 bytes without an alert; iptables so the rule counters show it.
    let text = std::fs::read_to_string(cfg).unwrap().replace(
        "queues = 0",
        "queues = 0\nfirewall_backend = \"iptables-nft\"",
    ) + "[flow_bypass]\nbytes = 4000\n";
    std::fs::write(cfg, text).unwrap();
    let child = start_verdict(&net.gateway, cfg);
    let answered = net
        .client
        .run_in(|| {
            let mut c = TcpStream::connect((dst, PORT)).unwrap();
            c.set_read_timeout(Some(ANSWER)).unwrap();
            let mut buf = [0u8; 64];
            let mut answered = 0;
            let filler = "x".repeat(500);
            for i in 0..30 {
                // Past 4000 bytes the flow is handed to the kernel: even a payload a drop rule
                // matches goes through, because Verdict no longer sees this connection.
                let msg = if i >= 20 && i % 5 == 0 {
                    "EVIL, but in a bypassed flow"
                } else {
                    &filler
                };
                if c.write_all(msg.as_bytes()).is_ok() && matches!(c.read(&mut buf), Ok(n) if n > 0)
                {
                    answered += 1;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            answered
        })
        .unwrap();
    // Other connections are still inspected.
    let evil_new = request(&net.client, dst, "EVIL new flow", BLOCKED);
    let counters = if v6 {
        net.gateway
            .ip6tables(&["-L", "VERDICT-FORWARD", "-v", "-x", "-n"])
    } else {
        net.gateway
            .iptables(&["-L", "VERDICT-FORWARD", "-v", "-x", "-n"])
    }
    .unwrap();
    let out = stop(child, libc::SIGTERM);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(answered, 30, "{counters}\n{stderr}");
    assert_eq!(evil_new, None, "a new flow was not inspected");
    let bypassed: u64 = counters
        .lines()
        .find(|l| l.contains("connmark"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no connmark rule:\n{counters}\n{stderr}"));
    assert!(
        bypassed >= 20,
        "the kernel did not bypass the flow:\n{counters}\n{stderr}"
    );
    let events = eve_events(&dir.0);
    let stats = events
        .iter()
        .rev()
        .find(|e| e["event_type"] == "stats")
        .unwrap();
    assert!(
        stats["stats"]["nfq"][0]["bypassed_flows"].as_u64().unwrap() >= 1,
        "{stats}"
    );
}

#[test]
fn two_queues_share_the_flows_and_both_judge() {
    let Some(gw) = gateway(true) else {
        return;
    };
    let (net, dir, cfg) = (&gw.net, &gw.dir, &gw.cfg);
    let text = std::fs::read_to_string(cfg)
        .unwrap()
        .replace("queues = 0", "queues = \"0-1\"");
    std::fs::write(cfg, text).unwrap();
    // --queue-balance hashes the addresses (not the ports): give the server 12 addresses so
    // the connections spread over both queues (all on one queue: probability 2^-11).
    let dsts: Vec<IpAddr> = (10..22)
        .map(|i| std::net::Ipv4Addr::new(198, 18, 2, i).into())
        .collect();
    for d in &dsts {
        net.server
            .add_addr(topology::IFNAME, &format!("{d}/24"))
            .unwrap();
    }
    let child = start_verdict(&net.gateway, cfg);
    for (i, dst) in dsts.iter().enumerate() {
        assert!(
            request(&net.client, *dst, &format!("fine {i}"), ANSWER).is_some(),
            "request to {dst}"
        );
    }
    for dst in &dsts[..4] {
        assert_eq!(
            request(&net.client, *dst, "EVIL", BLOCKED),
            None,
            "EVIL to {dst}"
        );
    }
    let out = stop(child, libc::SIGTERM);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let events = eve_events(&dir.0);
    let stats = events
        .iter()
        .rev()
        .find(|e| e["event_type"] == "stats")
        .unwrap();
    let queues = stats["stats"]["nfq"].as_array().unwrap();
    assert_eq!(queues.len(), 2, "{stats}");
    for q in queues {
        assert!(
            q["received"].as_u64().unwrap() > 0,
            "a queue got nothing: {stats}"
        );
    }
    let dropped: u64 = queues.iter().map(|q| q["dropped"].as_u64().unwrap()).sum();
    assert!(dropped >= 4, "{stats}");
}

#[test]
fn pass_rule_bypasses_the_flow_in_the_kernel() {
    if !verdict_testbed::require_root() {
        return;
    }
    let gw = Gateway::new(true);
    let (net, dir, cfg) = (&gw.net, &gw.dir, &gw.cfg);
    // A second server address, trusted by an IP-only pass rule (addresses only: in Suricata
    // the action of such a rule applies to the whole flow).
    let trusted = std::net::Ipv4Addr::new(198, 18, 2, 50);
    net.server
        .add_addr(topology::IFNAME, &format!("{trusted}/24"))
        .unwrap();
    let text = std::fs::read_to_string(cfg).unwrap().replace(
        "queues = 0",
        "queues = 0\nfirewall_backend = \"iptables-nft\"",
    );
    std::fs::write(cfg, text).unwrap();
    std::fs::write(
        dir.0.join("test.rules"),
        format!(
            "pass tcp any any -> {trusted} any (msg:\"TEST trusted host\"; sid:1000010;)\n{RULES}"
        ),
    )
    .unwrap();
    let child = start_verdict(&net.gateway, cfg);
    let answered = net
        .client
        .run_in(|| {
            let mut c = TcpStream::connect((trusted, PORT)).unwrap();
            c.set_read_timeout(Some(ANSWER)).unwrap();
            let mut buf = [0u8; 64];
            (0..20)
                .filter(|i| {
                    let msg = if i % 5 == 4 { "EVIL" } else { "hello" };
                    let ok = c.write_all(msg.as_bytes()).is_ok()
                        && matches!(c.read(&mut buf), Ok(n) if n > 0);
                    std::thread::sleep(Duration::from_millis(20));
                    ok
                })
                .count()
        })
        .unwrap();
    // The other address is still inspected.
    let evil_other = request(&net.client, topology::SERVER_V4.into(), "EVIL", BLOCKED);
    let counters = net
        .gateway
        .iptables(&["-L", "VERDICT-FORWARD", "-v", "-x", "-n"])
        .unwrap();
    let out = stop(child, libc::SIGTERM);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        answered, 20,
        "the passed flow was not let through:\n{stderr}"
    );
    assert_eq!(
        evil_other, None,
        "a flow without a pass rule was not inspected"
    );
    let bypassed: u64 = counters
        .lines()
        .find(|l| l.contains("connmark"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no connmark rule:\n{counters}"));
    assert!(
        bypassed >= 15,
        "the kernel kept queueing the passed flow:\n{counters}"
    );
}
