//! The seed's crash scenario replayed on the live kernel, with Verdict's own queue rules.
//!
//! Server `b` listens with `tcp_synack_retries` lowered; client `a` drops its own pure ACKs,
//! so the server retransmits the SYN-ACK. Verdict's host-mode rules queue the server's port
//! from OUTPUT (and INPUT). A holder on the queue accepts the first SYN-ACK, **holds the
//! retransmission** while the client's data completes the handshake and `accept()` returns,
//! then gives the verdict -- the moment that crashed the seed's CentOS 8 kernel. This kernel
//! is fixed, so it survives; what the test proves is:
//! - without the guard, the retransmitted SYN-ACK (a request socket) really sat in the queue
//!   while `accept()` ran;
//! - with the guard, no locally generated SYN-ACK ever reaches the queue, while the rest of
//!   the flow (the client's SYN and data from INPUT, the server's ACKs from OUTPUT) is still
//!   queued and inspected.
//!
//! The second test is upstream's selftest pattern (commit 2e78855d311c): non-blocking
//! `connect()` then `close()` in a loop while OUTPUT is queued.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use verdict_netfilter::exec::Exec;
use verdict_netfilter::firewall::{
    Backend, Firewall, GuardContext, GuardMode, Protocol, QueuePlan, Queues, Selector,
};
use verdict_netfilter::kernel::KernelRelease;
use verdict_nfq::codec::Message;
use verdict_nfq::{QueueConfig, QueueSocket, RecvBuffers, Verdict, VerdictMsg, DEFAULT_SLOT_SIZE};
use verdict_testbed::topology::{TwoHosts, TWO_HOSTS_B_V4, TWO_HOSTS_B_V6};

const PORT: u16 = 23456;
const QUEUE: u16 = 7;

#[derive(Default)]
struct Seen {
    synacks: AtomicUsize,
    others: AtomicUsize,
    /// The held SYN-ACK was still queued when `accept()` returned.
    held_across_accept: AtomicBool,
}

/// TCP flags of an IPv4 or IPv6 packet, if it is TCP (IPv6: no extension headers).
fn tcp_flags(ip: &[u8]) -> Option<u8> {
    match ip.first()? >> 4 {
        4 if ip.len() >= 20 && ip[9] == 6 => {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            ip.get(ihl + 13).copied()
        }
        6 if ip.len() >= 40 && ip[6] == 6 => ip.get(40 + 13).copied(),
        _ => None,
    }
}

fn install(net: &TwoHosts, guard: GuardMode) -> verdict_netfilter::firewall::InstalledRules {
    let plan = QueuePlan {
        queues: Queues::single(QUEUE),
        selector: Selector {
            protocols: vec![Protocol::Tcp],
            ports: vec![PORT],
            interfaces: vec![],
            ..Default::default()
        },
        fail_open: false,
        guard,
        ..Default::default()
    };
    let ctx = GuardContext::for_kernel(&KernelRelease::running().unwrap(), false);
    let fw = Firewall::with_exec(Backend::IptablesNft, Exec::in_netns(net.b.name()));
    let installed = fw.install(&plan, &ctx).unwrap();
    let want = !matches!(guard, GuardMode::Off { .. });
    assert_eq!(installed.report().plan.guard_installed, want);
    installed
}

/// Runs the holder on the server's queue until `stop`. `hold_retransmission`: hold the second
/// SYN-ACK until `accepted` is set.
fn spawn_holder(
    net: &TwoHosts,
    seen: Arc<Seen>,
    accepted: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    hold_retransmission: bool,
) -> std::thread::JoinHandle<()> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let h = net
        .b
        .spawn_thread(move || {
            let mut sock = QueueSocket::open().unwrap();
            sock.bind_queue(QUEUE, &QueueConfig::default()).unwrap();
            ready_tx.send(()).unwrap();
            let mut bufs = RecvBuffers::new(16, DEFAULT_SLOT_SIZE);
            let mut held: Option<u32> = None;
            while !stop.load(Ordering::SeqCst) {
                if let (Some(id), true) = (held, accepted.load(Ordering::SeqCst)) {
                    // accept() has run while the SYN-ACK sat in the queue: now the verdict.
                    seen.held_across_accept.store(true, Ordering::SeqCst);
                    sock.send_verdict(&VerdictMsg::new(QUEUE, id, Verdict::Accept))
                        .unwrap();
                    held = None;
                }
                if sock
                    .recv_timeout(&mut bufs, Duration::from_millis(20))
                    .unwrap()
                    == 0
                {
                    continue;
                }
                for m in bufs.messages() {
                    let Ok(Message::Packet(p)) = m else { continue };
                    let flags = p.payload().and_then(tcp_flags).unwrap_or(0);
                    let synack = flags & 0x12 == 0x12;
                    if synack {
                        let n = seen.synacks.fetch_add(1, Ordering::SeqCst) + 1;
                        if hold_retransmission && n == 2 && held.is_none() {
                            held = Some(p.id());
                            continue;
                        }
                    } else {
                        seen.others.fetch_add(1, Ordering::SeqCst);
                    }
                    sock.send_verdict(&VerdictMsg::new(QUEUE, p.id(), Verdict::Accept))
                        .unwrap();
                }
            }
            if let Some(id) = held {
                let _ = sock.send_verdict(&VerdictMsg::new(QUEUE, id, Verdict::Accept));
            }
        })
        .unwrap();
    ready_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    h
}

/// One replay of the seed's scenario. Returns what the queue saw.
fn replay(guard: GuardMode) -> Arc<Seen> {
    let net = TwoHosts::new().unwrap();
    net.b.sysctl("net/ipv4/tcp_synack_retries", "1").unwrap();
    // The client loses its pure ACKs: the handshake's ACK never reaches the server, which
    // retransmits the SYN-ACK; the client's data segment completes the handshake later.
    net.a
        .iptables(&[
            "-A",
            "OUTPUT",
            "-p",
            "tcp",
            "--dport",
            &PORT.to_string(),
            "--tcp-flags",
            "SYN,ACK,FIN,RST,PSH",
            "ACK",
            "-m",
            "length",
            "--length",
            "0:80",
            "-j",
            "DROP",
        ])
        .unwrap();
    let rules = install(&net, guard);
    let seen = Arc::new(Seen::default());
    let accepted = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let holder = spawn_holder(&net, seen.clone(), accepted.clone(), stop.clone(), true);

    let server_addr = SocketAddr::from((TWO_HOSTS_B_V4, PORT));
    let (lst_tx, lst_rx) = std::sync::mpsc::channel();
    let accepted2 = accepted.clone();
    let server = net
        .b
        .spawn_thread(move || {
            let l = TcpListener::bind(server_addr).unwrap();
            l.set_nonblocking(true).unwrap();
            lst_tx.send(()).unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                match l.accept() {
                    Ok((s, _)) => {
                        accepted2.store(true, Ordering::SeqCst);
                        return Some(s);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            None
        })
        .unwrap();
    lst_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let client = net
        .a
        .spawn_thread(move || {
            let mut s = TcpStream::connect_timeout(&server_addr, Duration::from_secs(5)).unwrap();
            // Let the server's SYN-ACK retransmission (after ~1 s) reach the queue first.
            std::thread::sleep(Duration::from_millis(1800));
            s.write_all(&[b'x'; 100]).unwrap();
            std::thread::sleep(Duration::from_millis(500));
        })
        .unwrap();
    client.join().unwrap();
    let conn = server.join().unwrap();
    assert!(conn.is_some(), "the server never accepted the connection");
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    holder.join().unwrap();
    rules.remove().unwrap();
    eprintln!(
        "replay with {guard:?}: {} SYN-ACK(s) queued, {} other packet(s) queued, held across accept(): {}",
        seen.synacks.load(Ordering::SeqCst),
        seen.others.load(Ordering::SeqCst),
        seen.held_across_accept.load(Ordering::SeqCst)
    );
    seen
}

#[test]
fn seed_scenario_without_and_with_the_guard() {
    if !verdict_testbed::require_root() {
        return;
    }
    // Control: no guard (this kernel is fixed, so it survives the verdict).
    let seen = replay(GuardMode::Off { acknowledged: true });
    let synacks = seen.synacks.load(Ordering::SeqCst);
    assert!(
        synacks >= 2,
        "expected the SYN-ACK and its retransmission in the queue, saw {synacks}"
    );
    assert!(
        seen.held_across_accept.load(Ordering::SeqCst),
        "the retransmitted SYN-ACK was not held while accept() ran"
    );
    // Guarded: no SYN-ACK reaches the queue; the rest of the flow still does.
    let seen = replay(GuardMode::On);
    assert_eq!(
        seen.synacks.load(Ordering::SeqCst),
        0,
        "a SYN-ACK reached the queue"
    );
    assert!(
        seen.others.load(Ordering::SeqCst) >= 2,
        "other traffic must still be queued, saw {}",
        seen.others.load(Ordering::SeqCst)
    );
}

/// Upstream's selftest pattern: non-blocking connect() then close() in a loop, with the
/// server's port queued from OUTPUT; IPv4 and IPv6 (the guard is installed for both).
#[test]
fn connect_close_loop_with_output_queueing() {
    if !verdict_testbed::require_root() {
        return;
    }
    let cases = [
        (GuardMode::Off { acknowledged: true }, false),
        (GuardMode::On, false),
        (GuardMode::Off { acknowledged: true }, true),
        (GuardMode::On, true),
    ];
    for (guard, v6) in cases {
        let net = TwoHosts::new().unwrap();
        let rules = install(&net, guard);
        let seen = Arc::new(Seen::default());
        let stop = Arc::new(AtomicBool::new(false));
        let never = Arc::new(AtomicBool::new(false));
        let holder = spawn_holder(&net, seen.clone(), never, stop.clone(), false);
        let server_addr = if v6 {
            SocketAddr::from((TWO_HOSTS_B_V6, PORT))
        } else {
            SocketAddr::from((TWO_HOSTS_B_V4, PORT))
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let listener = net
            .b
            .spawn_thread(move || {
                let l = TcpListener::bind(server_addr).unwrap();
                tx.send(()).unwrap();
                std::thread::sleep(Duration::from_secs(3));
                drop(l);
            })
            .unwrap();
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        net.a
            .spawn_thread(move || {
                for _ in 0..100 {
                    let s = socket_nonblocking_connect(server_addr);
                    std::thread::sleep(Duration::from_millis(2));
                    drop(s);
                }
            })
            .unwrap()
            .join()
            .unwrap();
        listener.join().unwrap();
        stop.store(true, Ordering::SeqCst);
        holder.join().unwrap();
        rules.remove().unwrap();
        let synacks = seen.synacks.load(Ordering::SeqCst);
        eprintln!(
            "connect/close loop ({}) with {guard:?}: {synacks} SYN-ACK(s) queued, {} other packet(s) queued",
            if v6 { "IPv6" } else { "IPv4" },
            seen.others.load(Ordering::SeqCst)
        );
        match guard {
            GuardMode::On => {
                assert_eq!(synacks, 0);
                assert!(seen.others.load(Ordering::SeqCst) > 0);
            }
            _ => assert!(synacks > 0, "unguarded OUTPUT queueing must see SYN-ACKs"),
        }
    }
}

/// A TCP socket whose connect was started without waiting (like the selftest's
/// non-blocking connect), closed by drop.
fn socket_nonblocking_connect(addr: SocketAddr) -> Option<TcpStream> {
    // std has no non-blocking connect; a very short timeout starts the handshake and returns.
    TcpStream::connect_timeout(&addr, Duration::from_millis(1)).ok()
}
