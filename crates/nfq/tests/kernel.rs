//! verdict-nfq against the real kernel, inside network namespaces (IPv4 and IPv6).
//!
//! Each test builds its own namespaces (`verdict-testbed`), so they run in parallel; the
//! queue socket is opened on a thread inside the namespace (netlink is per namespace).

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{
    recv_until, rewrite_udp_payload, send_all, udp_socket, Reader, ReaderSetup, FAMILIES,
};
use verdict_nfq::codec::{Hook, Message};
use verdict_nfq::{
    BatchVerdictMsg, ConnMark, CopyMode, Error, QueueConfig, QueueFlags, QueueSocket, Verdict,
    VerdictBatcher, VerdictMsg,
};

const QUIET: Duration = Duration::from_millis(1500);

/// After the expected datagrams arrived, nothing else does (for a short while).
fn nothing_more(rx: &std::net::UdpSocket) -> Vec<Vec<u8>> {
    recv_until(
        rx,
        1,
        Duration::from_millis(300),
        Duration::from_millis(300),
    )
}
const LIMIT: Duration = Duration::from_secs(5);

fn payloads(prefix: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("{prefix}-{i}").into_bytes())
        .collect()
}

/// Packets queued from INPUT are accepted; the reader sees every attribute it should.
#[test]
fn accept_ipv4_and_ipv6() {
    let Some(net) = common::two_hosts() else {
        return;
    };
    for fam in FAMILIES {
        let rx = udp_socket(&net.b, fam.b);
        let port = rx.local_addr().unwrap().port().to_string();
        fam.queue_rule(&net.b, "INPUT", "udp", &port, "3");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        let reader = Reader::spawn(
            &net.b,
            ReaderSetup::queue(3, QueueConfig::default()),
            move |sock, bufs| {
                for m in bufs.messages() {
                    if let Ok(Message::Packet(p)) = m {
                        seen2.lock().unwrap().push((
                            p.queue(),
                            p.family(),
                            p.hook(),
                            p.hw_protocol(),
                            p.indev(),
                            p.payload().map(<[u8]>::to_vec),
                        ));
                        sock.send_verdict(&VerdictMsg::new(p.queue(), p.id(), Verdict::Accept))
                            .unwrap();
                    }
                }
            },
        );
        let tx = udp_socket(&net.a, fam.a);
        let sent = payloads("accept", 5);
        send_all(&tx, rx.local_addr().unwrap(), &sent);
        let got = recv_until(&rx, 5, QUIET, LIMIT);
        let stats = reader.stop();
        assert_eq!(got, sent, "{}: every accepted datagram arrives", fam.name());
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 5, "{}", fam.name());
        let ifindex: u32 = net
            .b
            .read_file("/sys/class/net/veth0/ifindex")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        for (i, (queue, family, hook, proto, indev, payload)) in seen.iter().enumerate() {
            assert_eq!(*queue, 3);
            assert_eq!(*family, fam.af());
            assert_eq!(*hook, Hook::INPUT);
            assert_eq!(*proto, fam.hw_protocol());
            assert_eq!(*indev, Some(ifindex), "{}", fam.name());
            let payload = payload.as_ref().expect("copy mode packet");
            assert!(payload.ends_with(&sent[i]), "{}: payload {i}", fam.name());
            assert_eq!(payload.len(), fam.l4_offset() + 8 + sent[i].len());
        }
        assert!(stats.datagrams >= 5);
        assert_eq!(stats.enobufs, 0);
    }
}

/// A drop verdict discards the packet; the others still arrive.
#[test]
fn drop_ipv4_and_ipv6() {
    let Some(net) = common::two_hosts() else {
        return;
    };
    for fam in FAMILIES {
        let rx = udp_socket(&net.b, fam.b);
        let port = rx.local_addr().unwrap().port().to_string();
        fam.queue_rule(&net.b, "INPUT", "udp", &port, "0");
        let reader = Reader::spawn(
            &net.b,
            ReaderSetup::queue(0, QueueConfig::default()),
            |sock, bufs| {
                for m in bufs.messages() {
                    if let Ok(Message::Packet(p)) = m {
                        let drop = p.payload().is_some_and(|b| b.ends_with(b"drop"));
                        let v = if drop { Verdict::Drop } else { Verdict::Accept };
                        sock.send_verdict(&VerdictMsg::new(p.queue(), p.id(), v))
                            .unwrap();
                    }
                }
            },
        );
        let tx = udp_socket(&net.a, fam.a);
        let sent: Vec<Vec<u8>> = ["keep1", "drop", "keep2", "drop", "keep3"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        send_all(&tx, rx.local_addr().unwrap(), &sent);
        let mut got = recv_until(&rx, 3, QUIET, LIMIT);
        got.extend(nothing_more(&rx));
        reader.stop();
        assert_eq!(
            got,
            [b"keep1".to_vec(), b"keep2".to_vec(), b"keep3".to_vec()],
            "{}",
            fam.name()
        );
    }
}

/// A mark set in the verdict is seen by a later rule (`-m mark` in the filter table, after the
/// queue in mangle INPUT).
#[test]
fn mark_set_by_verdict_is_seen_by_a_later_rule() {
    let Some(net) = common::two_hosts() else {
        return;
    };
    for fam in FAMILIES {
        let rx = udp_socket(&net.b, fam.b);
        let port = rx.local_addr().unwrap().port().to_string();
        fam.fw(
            &net.b,
            &[
                "-t",
                "mangle",
                "-A",
                "INPUT",
                "-p",
                "udp",
                "--dport",
                &port,
                "-j",
                "NFQUEUE",
                "--queue-num",
                "1",
            ],
        );
        fam.fw(
            &net.b,
            &[
                "-A",
                "INPUT",
                "-m",
                "mark",
                "--mark",
                "0x42",
                "-m",
                "comment",
                "--comment",
                "vt-mark",
                "-j",
                "ACCEPT",
            ],
        );
        let reader = Reader::spawn(
            &net.b,
            ReaderSetup::queue(1, QueueConfig::default()),
            |sock, bufs| {
                for m in bufs.messages() {
                    if let Ok(Message::Packet(p)) = m {
                        let mark = if p.payload().is_some_and(|b| b.ends_with(b"-x")) {
                            0x41
                        } else {
                            0x42
                        };
                        sock.send_verdict(
                            &VerdictMsg::new(p.queue(), p.id(), Verdict::Accept).with_mark(mark),
                        )
                        .unwrap();
                    }
                }
            },
        );
        let tx = udp_socket(&net.a, fam.a);
        let mut sent = payloads("mark", 4);
        sent.push(b"other-x".to_vec());
        send_all(&tx, rx.local_addr().unwrap(), &sent);
        let got = recv_until(&rx, 5, QUIET, LIMIT);
        reader.stop();
        assert_eq!(got.len(), 5, "{}", fam.name());
        assert_eq!(
            net.b.rule_packets(fam.v6, "filter", "vt-mark").unwrap(),
            4,
            "{}",
            fam.name()
        );
    }
}

/// The CONNTRACK flag: where the kernel supports it (CONFIG_NETFILTER_NETLINK_GLUE_CT),
/// packets carry conntrack attributes and a verdict can set connmark bits seen by a later
/// `-m connmark` rule; where it does not, binding says so clearly.
#[test]
fn conntrack_flag_and_connmark_or_a_clear_refusal() {
    let Some(net) = common::two_hosts() else {
        return;
    };
    let fam = FAMILIES[0];
    let cfg = QueueConfig {
        flags: QueueFlags::CONNTRACK,
        ..QueueConfig::default()
    };
    let supported = net
        .b
        .run_in(|| {
            let mut s = QueueSocket::open().unwrap();
            match s.bind_queue(1, &cfg) {
                Ok(()) => true,
                Err(e @ Error::FlagUnsupported { .. }) => {
                    assert!(e.to_string().contains("CONNTRACK"), "{e}");
                    eprintln!("this kernel has no conntrack glue for nfqueue: {e}");
                    false
                }
                Err(e) => panic!("unexpected error: {e:?}"),
            }
        })
        .unwrap();
    if !supported {
        return;
    }
    let rx = udp_socket(&net.b, fam.b);
    let port = rx.local_addr().unwrap().port().to_string();
    fam.queue_rule(&net.b, "INPUT", "udp", &port, "1");
    fam.fw(
        &net.b,
        &[
            "-A",
            "INPUT",
            "-m",
            "connmark",
            "--mark",
            "0x100/0x100",
            "-m",
            "comment",
            "--comment",
            "vt-connmark",
        ],
    );
    let reader = Reader::spawn(&net.b, ReaderSetup::queue(1, cfg), |sock, bufs| {
        for m in bufs.messages() {
            if let Ok(Message::Packet(p)) = m {
                assert!(p.ct().is_some() && p.ct_info().is_some());
                sock.send_verdict(
                    &VerdictMsg::new(p.queue(), p.id(), Verdict::Accept)
                        .with_conn_mark(ConnMark::set_bits(0x100)),
                )
                .unwrap();
            }
        }
    });
    let tx = udp_socket(&net.a, fam.a);
    send_all(&tx, rx.local_addr().unwrap(), &payloads("ct", 3));
    assert_eq!(recv_until(&rx, 3, QUIET, LIMIT).len(), 3);
    reader.stop();
    assert_eq!(
        net.b.rule_packets(false, "filter", "vt-connmark").unwrap(),
        3
    );
}

/// A verdict carrying new packet bytes: the receiver gets the rewritten UDP payload.
#[test]
fn rewritten_udp_payload_arrives() {
    let Some(net) = common::two_hosts() else {
        return;
    };
    for fam in FAMILIES {
        let rx = udp_socket(&net.b, fam.b);
        let port = rx.local_addr().unwrap().port().to_string();
        fam.queue_rule(&net.b, "INPUT", "udp", &port, "2");
        let reader = Reader::spawn(
            &net.b,
            ReaderSetup::queue(2, QueueConfig::default()),
            move |sock, bufs| {
                for m in bufs.messages() {
                    if let Ok(Message::Packet(p)) = m {
                        let pkt = p.payload().unwrap();
                        let body = &pkt[fam.l4_offset() + 8..];
                        let upper = body.to_ascii_uppercase();
                        let new = rewrite_udp_payload(fam, pkt, &upper);
                        sock.send_verdict(
                            &VerdictMsg::new(p.queue(), p.id(), Verdict::Accept).with_payload(&new),
                        )
                        .unwrap();
                    }
                }
            },
        );
        let tx = udp_socket(&net.a, fam.a);
        send_all(&tx, rx.local_addr().unwrap(), &[b"hello verdict".to_vec()]);
        let got = recv_until(&rx, 1, QUIET, LIMIT);
        reader.stop();
        assert_eq!(got, [b"HELLO VERDICT".to_vec()], "{}", fam.name());
    }
}

/// NF_REPEAT runs the hook again from its first rule: a counting rule placed *before* the
/// queue rule sees each packet once it comes back with the verdict's mark.
#[test]
fn repeat_verdict_reruns_the_hook() {
    let Some(net) = common::two_hosts() else {
        return;
    };
    for fam in FAMILIES {
        let rx = udp_socket(&net.b, fam.b);
        let port = rx.local_addr().unwrap().port().to_string();
        fam.fw(
            &net.b,
            &[
                "-A",
                "INPUT",
                "-m",
                "mark",
                "--mark",
                "0x7",
                "-m",
                "comment",
                "--comment",
                "vt-repeat",
                "-j",
                "ACCEPT",
            ],
        );
        fam.queue_rule(&net.b, "INPUT", "udp", &port, "4");
        let seen = Arc::new(Mutex::new(0usize));
        let seen2 = seen.clone();
        let reader = Reader::spawn(
            &net.b,
            ReaderSetup::queue(4, QueueConfig::default()),
            move |sock, bufs| {
                for m in bufs.messages() {
                    if let Ok(Message::Packet(p)) = m {
                        *seen2.lock().unwrap() += 1;
                        sock.send_verdict(
                            &VerdictMsg::new(p.queue(), p.id(), Verdict::Repeat).with_mark(7),
                        )
                        .unwrap();
                    }
                }
            },
        );
        let tx = udp_socket(&net.a, fam.a);
        let sent = payloads("repeat", 3);
        send_all(&tx, rx.local_addr().unwrap(), &sent);
        let got = recv_until(&rx, 3, QUIET, LIMIT);
        reader.stop();
        assert_eq!(got, sent, "{}", fam.name());
        assert_eq!(*seen.lock().unwrap(), 3, "{}: queued once each", fam.name());
        assert_eq!(
            net.b.rule_packets(fam.v6, "filter", "vt-repeat").unwrap(),
            3,
            "{}",
            fam.name()
        );
    }
}

/// Batch verdicts: the reader holds a burst, drops some individually, then accepts the rest
/// with one batch verdict -- all in one send.
#[test]
fn batch_verdicts_with_individual_drops_first() {
    let Some(net) = common::two_hosts() else {
        return;
    };
    const N: usize = 20;
    for fam in FAMILIES {
        let rx = udp_socket(&net.b, fam.b);
        let port = rx.local_addr().unwrap().port().to_string();
        fam.queue_rule(&net.b, "INPUT", "udp", &port, "5");
        let sends = Arc::new(Mutex::new(Vec::new()));
        let sends2 = sends.clone();
        let mut batcher = VerdictBatcher::new(5);
        let mut held = 0usize;
        let reader = Reader::spawn(
            &net.b,
            ReaderSetup::queue(5, QueueConfig::default()),
            move |sock, bufs| {
                for m in bufs.messages() {
                    if let Ok(Message::Packet(p)) = m {
                        let drop = p.payload().is_some_and(|b| b.ends_with(b"-drop"));
                        batcher.push(
                            p.id(),
                            if drop { Verdict::Drop } else { Verdict::Accept },
                            None,
                        );
                        held += 1;
                    }
                }
                // Hold everything until the whole burst of N is in, then one flush.
                if held == N {
                    let before = sock.stats().sends;
                    let st = sock.flush_batcher(&mut batcher, None).unwrap();
                    sends2
                        .lock()
                        .unwrap()
                        .push((st, sock.stats().sends - before));
                }
            },
        );
        let tx = udp_socket(&net.a, fam.a);
        let sent: Vec<Vec<u8>> = (0..N)
            .map(|i| {
                if i % 5 == 2 {
                    format!("{i}-drop").into_bytes()
                } else {
                    format!("{i}-keep").into_bytes()
                }
            })
            .collect();
        send_all(&tx, rx.local_addr().unwrap(), &sent);
        let want: Vec<Vec<u8>> = sent
            .iter()
            .filter(|p| p.ends_with(b"keep"))
            .cloned()
            .collect();
        let mut got = recv_until(&rx, want.len(), QUIET, LIMIT);
        got.extend(nothing_more(&rx));
        reader.stop();
        assert_eq!(got, want, "{}", fam.name());
        let sends = sends.lock().unwrap();
        assert_eq!(sends.len(), 1, "{}", fam.name());
        let (st, syscalls) = sends[0];
        assert_eq!(
            (st.individual, st.batched, syscalls),
            (4, 16, 1),
            "{}",
            fam.name()
        );
    }
}

/// A raw batch verdict covers every queued packet up to its id, and nothing after it.
#[test]
fn raw_batch_verdict_covers_ids_up_to_max() {
    let Some(net) = common::two_hosts() else {
        return;
    };
    let fam = FAMILIES[0];
    let rx = udp_socket(&net.b, fam.b);
    let port = rx.local_addr().unwrap().port().to_string();
    fam.queue_rule(&net.b, "INPUT", "udp", &port, "6");
    let mut ids = Vec::new();
    let reader = Reader::spawn(
        &net.b,
        ReaderSetup::queue(6, QueueConfig::default()),
        move |sock, bufs| {
            for m in bufs.messages() {
                if let Ok(Message::Packet(p)) = m {
                    ids.push(p.id());
                }
            }
            if ids.len() == 6 {
                // accept ids[0..=2] with one batch, drop the rest with another
                sock.send_batch_verdict(&BatchVerdictMsg::new(6, ids[2], Verdict::Accept))
                    .unwrap();
                sock.send_batch_verdict(&BatchVerdictMsg::new(6, ids[5], Verdict::Drop))
                    .unwrap();
            }
        },
    );
    let tx = udp_socket(&net.a, fam.a);
    let sent = payloads("b", 6);
    send_all(&tx, rx.local_addr().unwrap(), &sent);
    let mut got = recv_until(&rx, 3, QUIET, LIMIT);
    got.extend(nothing_more(&rx));
    reader.stop();
    assert_eq!(got, sent[..3].to_vec());
}

/// With the GSO flag, locally generated TCP super-packets (bigger than the MTU) are queued
/// whole and flagged; accepting them delivers the stream intact.
#[test]
fn gso_packets_are_queued_whole() {
    let Some(net) = common::two_hosts() else {
        return;
    };
    for fam in FAMILIES {
        let listener = net
            .b
            .run_in(|| std::net::TcpListener::bind(SocketAddr::new(fam.b, 0)))
            .unwrap()
            .unwrap();
        let to = listener.local_addr().unwrap();
        let port = to.port().to_string();
        fam.queue_rule(&net.a, "OUTPUT", "tcp", &port, "0");
        let biggest = Arc::new(Mutex::new((0usize, false)));
        let biggest2 = biggest.clone();
        let cfg = QueueConfig {
            flags: QueueFlags::GSO,
            ..QueueConfig::default()
        };
        let reader = Reader::spawn(&net.a, ReaderSetup::queue(0, cfg), move |sock, bufs| {
            for m in bufs.messages() {
                if let Ok(Message::Packet(p)) = m {
                    let len = p.payload().map_or(0, <[u8]>::len);
                    let mut b = biggest2.lock().unwrap();
                    if len > b.0 {
                        *b = (len, p.skb_info().is_some_and(|s| s.is_gso()));
                    }
                    sock.send_verdict(&VerdictMsg::new(p.queue(), p.id(), Verdict::Accept))
                        .unwrap();
                }
            }
        });
        const TOTAL: usize = 1 << 20;
        let server = std::thread::spawn(move || {
            use std::io::Read;
            let (mut s, _) = listener.accept().unwrap();
            let mut all = Vec::new();
            s.read_to_end(&mut all).unwrap();
            all.len()
        });
        let from = fam.a;
        net.a
            .run_in(move || {
                use std::io::Write;
                let mut c = std::net::TcpStream::connect_timeout(&to, LIMIT).unwrap();
                let _ = from;
                c.write_all(&vec![0x5a; TOTAL]).unwrap();
            })
            .unwrap();
        assert_eq!(server.join().unwrap(), TOTAL, "{}", fam.name());
        reader.stop();
        let (len, gso) = *biggest.lock().unwrap();
        assert!(
            len > 1500,
            "{}: largest queued packet {len} bytes",
            fam.name()
        );
        assert!(gso, "{}: the large packet is flagged GSO", fam.name());
    }
}

/// uid and gid of the sending socket on locally generated packets (OUTPUT, UID_GID flag).
#[test]
fn uid_and_gid_of_local_packets() {
    let Some(net) = common::two_hosts() else {
        return;
    };
    for fam in FAMILIES {
        fam.queue_rule(&net.a, "OUTPUT", "udp", "9", "8");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        let cfg = QueueConfig {
            flags: QueueFlags::UID_GID,
            ..QueueConfig::default()
        };
        let reader = Reader::spawn(&net.a, ReaderSetup::queue(8, cfg), move |sock, bufs| {
            for m in bufs.messages() {
                if let Ok(Message::Packet(p)) = m {
                    seen2.lock().unwrap().push((p.uid(), p.gid(), p.hook()));
                    sock.send_verdict(&VerdictMsg::new(p.queue(), p.id(), Verdict::Drop))
                        .unwrap();
                }
            }
        });
        let target = if fam.v6 {
            format!("UDP6-SENDTO:[{}]:9", fam.b)
        } else {
            format!("UDP4-SENDTO:{}:9", fam.b)
        };
        net.a
            .run(&[
                "setpriv",
                "--reuid=12345",
                "--regid=23456",
                "--clear-groups",
                "sh",
                "-c",
                &format!("echo uid | socat -u - {target}"),
            ])
            .unwrap();
        let deadline = std::time::Instant::now() + LIMIT;
        while seen.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        reader.stop();
        let seen = seen.lock().unwrap();
        assert_eq!(
            seen.first().copied(),
            Some((Some(12345), Some(23456), Hook::OUTPUT)),
            "{}",
            fam.name()
        );
    }
}

/// A full queue with FAIL_OPEN accepts the overflow (traffic keeps flowing, the kernel's
/// counters show a full queue and no drop); without it, the overflow is dropped and counted.
#[test]
fn fail_open_keeps_traffic_flowing_when_the_queue_is_full() {
    let Some(net) = common::two_hosts() else {
        return;
    };
    const MAXLEN: u32 = 4;
    const SENT: usize = 40;
    for fam in FAMILIES {
        for fail_open in [true, false] {
            let rx = udp_socket(&net.b, fam.b);
            let port = rx.local_addr().unwrap().port().to_string();
            let queue = if fail_open { "10" } else { "11" };
            fam.queue_rule(&net.b, "INPUT", "udp", &port, queue);
            let cfg = QueueConfig {
                max_len: Some(MAXLEN),
                flags: if fail_open {
                    QueueFlags::FAIL_OPEN
                } else {
                    QueueFlags::EMPTY
                },
                ..QueueConfig::default()
            };
            // Bound, but never reads: the queue fills up after MAXLEN packets.
            let (tx_ready, rx_ready) = std::sync::mpsc::channel();
            let (tx_done, rx_done) = std::sync::mpsc::channel::<()>();
            let q: u16 = queue.parse().unwrap();
            let holder = net
                .b
                .spawn_thread(move || {
                    let mut s = QueueSocket::open().unwrap();
                    s.bind_queue(q, &cfg).unwrap();
                    tx_ready.send(()).unwrap();
                    let _ = rx_done.recv_timeout(Duration::from_secs(30));
                    drop(s);
                })
                .unwrap();
            rx_ready.recv().unwrap();
            let tx = udp_socket(&net.a, fam.a);
            let sent = payloads("fo", SENT);
            send_all(&tx, rx.local_addr().unwrap(), &sent);
            let want = if fail_open { SENT - MAXLEN as usize } else { 0 };
            let got = recv_until(&rx, want.max(1), QUIET, LIMIT);
            let status = net
                .b
                .read_file("/proc/net/netfilter/nfnetlink_queue")
                .unwrap();
            tx_done.send(()).unwrap();
            holder.join().unwrap();
            let st = verdict_nfq::proc::parse_queue_status(&status);
            let st = st.iter().find(|s| s.queue == q).expect("queue listed");
            let what = format!("{} fail_open={fail_open}: {status}", fam.name());
            assert_eq!(got.len(), want, "{what}");
            if fail_open {
                // the datagrams that got through are the ones after the first MAXLEN
                assert_eq!(got, sent[MAXLEN as usize..].to_vec(), "{what}");
                assert_eq!(st.queue_dropped, 0, "{what}");
            } else {
                assert_eq!(st.queue_dropped as usize, SENT - MAXLEN as usize, "{what}");
            }
            assert_eq!(st.queue_total, MAXLEN, "{what}");
            assert_eq!(st.id_sequence, MAXLEN, "{what}");
        }
    }
}

/// `--queue-bypass` accepts packets when no program listens on the queue; without it they
/// are dropped.
#[test]
fn queue_bypass_when_nobody_listens() {
    let Some(net) = common::two_hosts() else {
        return;
    };
    for fam in FAMILIES {
        for bypass in [true, false] {
            let rx = udp_socket(&net.b, fam.b);
            let port = rx.local_addr().unwrap().port().to_string();
            let mut rule = vec![
                "-A",
                "INPUT",
                "-p",
                "udp",
                "--dport",
                &port,
                "-j",
                "NFQUEUE",
                "--queue-num",
                "20",
            ];
            if bypass {
                rule.push("--queue-bypass");
            }
            fam.fw(&net.b, &rule);
            let tx = udp_socket(&net.a, fam.a);
            let sent = payloads("bypass", 3);
            send_all(&tx, rx.local_addr().unwrap(), &sent);
            let got = recv_until(&rx, 3, QUIET, LIMIT);
            if bypass {
                assert_eq!(got, sent, "{}", fam.name());
            } else {
                assert!(got.is_empty(), "{}", fam.name());
            }
        }
    }
}

/// A flood into a tiny receive buffer provokes ENOBUFS; the reader counts it, keeps going,
/// and still answers packets sent afterwards. The kernel counts the loss as user_dropped.
#[test]
fn enobufs_flood_is_survived_ipv4() {
    if let Some(net) = common::two_hosts() {
        flood_tiny_buffer(&net, FAMILIES[0], false);
    }
}

/// The same over IPv6.
#[test]
fn enobufs_flood_is_survived_ipv6() {
    if let Some(net) = common::two_hosts() {
        flood_tiny_buffer(&net, FAMILIES[1], false);
    }
}

/// With NETLINK_NO_ENOBUFS the overrun is silent (not counted by the socket) but the kernel
/// still counts the loss, and the reader goes on.
#[test]
fn no_enobufs_option_silences_the_report_only() {
    if let Some(net) = common::two_hosts() {
        flood_tiny_buffer(&net, FAMILIES[0], true);
    }
}

fn flood_tiny_buffer(
    net: &verdict_testbed::topology::TwoHosts,
    fam: common::Family,
    no_enobufs: bool,
) {
    let rx = udp_socket(&net.b, fam.b);
    let port = rx.local_addr().unwrap().port().to_string();
    fam.queue_rule(&net.b, "INPUT", "udp", &port, "30");
    let cfg = QueueConfig {
        max_len: Some(65536),
        ..QueueConfig::default()
    };
    let mut setup = ReaderSetup::queue(30, cfg);
    setup.rcvbuf = Some(16 * 1024);
    setup.no_enobufs = no_enobufs;
    // Do not read for a while, so the flood overruns the buffer.
    setup.start_delay = Duration::from_millis(700);
    let reader = Reader::spawn(&net.b, setup, |sock, bufs| {
        let mut batcher = VerdictBatcher::new(30);
        for m in bufs.messages() {
            if let Ok(Message::Packet(p)) = m {
                batcher.push(p.id(), Verdict::Accept, None);
            }
        }
        sock.flush_batcher(&mut batcher, None).unwrap();
    });
    let tx = udp_socket(&net.a, fam.a);
    let to = rx.local_addr().unwrap();
    let flood = vec![0xabu8; 1000];
    for _ in 0..2000 {
        let _ = tx.send_to(&flood, to);
    }
    // Drain what got through, then check the reader still answers.
    std::thread::sleep(Duration::from_millis(900));
    let mut buf = vec![0u8; 2048];
    while rx.recv_from(&mut buf).is_ok() {}
    let after = payloads("after", 5);
    send_all(&tx, to, &after);
    let got = recv_until(&rx, 5, QUIET, LIMIT);
    let status = net
        .b
        .read_file("/proc/net/netfilter/nfnetlink_queue")
        .unwrap();
    let stats = reader.stop();
    assert_eq!(
        got,
        after,
        "{}: the reader still answers after the flood",
        fam.name()
    );
    if no_enobufs {
        // NETLINK_NO_ENOBUFS: the overrun is not reported, only the kernel counts it.
        assert_eq!(stats.enobufs, 0, "{}: {stats:?}", fam.name());
    } else {
        assert!(stats.enobufs >= 1, "{}: {stats:?}", fam.name());
    }
    let st = verdict_nfq::proc::parse_queue_status(&status);
    let st = st.iter().find(|s| s.queue == 30).expect("queue listed");
    assert!(st.user_dropped > 0, "{}: {status}", fam.name());
}

/// One socket reads two queues; each packet names its queue and verdicts go to the right one.
#[test]
fn several_queues_on_one_socket() {
    let Some(net) = common::two_hosts() else {
        return;
    };
    let rx4 = udp_socket(&net.b, FAMILIES[0].b);
    let rx6 = udp_socket(&net.b, FAMILIES[1].b);
    let p4 = rx4.local_addr().unwrap().port().to_string();
    let p6 = rx6.local_addr().unwrap().port().to_string();
    FAMILIES[0].queue_rule(&net.b, "INPUT", "udp", &p4, "40");
    FAMILIES[1].queue_rule(&net.b, "INPUT", "udp", &p6, "41");
    let queues = Arc::new(Mutex::new(HashSet::new()));
    let queues2 = queues.clone();
    let setup = ReaderSetup {
        queues: vec![(40, QueueConfig::default()), (41, QueueConfig::default())],
        rcvbuf: None,
        no_enobufs: false,
        slots: 8,
        start_delay: Duration::ZERO,
    };
    let reader = Reader::spawn(&net.b, setup, move |sock, bufs| {
        for m in bufs.messages() {
            if let Ok(Message::Packet(p)) = m {
                queues2.lock().unwrap().insert((p.queue(), p.family()));
                sock.send_verdict(&VerdictMsg::new(p.queue(), p.id(), Verdict::Accept))
                    .unwrap();
            }
        }
    });
    let tx4 = udp_socket(&net.a, FAMILIES[0].a);
    let tx6 = udp_socket(&net.a, FAMILIES[1].a);
    send_all(&tx4, rx4.local_addr().unwrap(), &payloads("four", 2));
    send_all(&tx6, rx6.local_addr().unwrap(), &payloads("six", 2));
    assert_eq!(recv_until(&rx4, 2, QUIET, LIMIT).len(), 2);
    assert_eq!(recv_until(&rx6, 2, QUIET, LIMIT).len(), 2);
    reader.stop();
    let q = queues.lock().unwrap();
    assert!(q.contains(&(40, libc::AF_INET as u8)), "{q:?}");
    assert!(q.contains(&(41, libc::AF_INET6 as u8)), "{q:?}");
}

/// Binding a queue another socket holds, binding twice, and a verdict for an unknown packet
/// id each give a clear, typed error.
#[test]
fn queue_taken_and_kernel_errors_are_clear() {
    let Some(net) = common::two_hosts() else {
        return;
    };
    net.b
        .run_in(|| {
            let mut first = QueueSocket::open().unwrap();
            first.bind_queue(50, &QueueConfig::default()).unwrap();
            let mut second = QueueSocket::open().unwrap();
            let err = second.bind_queue(50, &QueueConfig::default()).unwrap_err();
            match &err {
                Error::QueueBusy { queue: 50, portid } => {
                    assert_eq!(*portid, Some(first.portid()))
                }
                other => panic!("expected QueueBusy, got {other:?}"),
            }
            let text = err.to_string();
            assert!(
                text.contains("queue 50 is already bound by another process")
                    && text.contains("stop it or choose another queue"),
                "{text}"
            );
            let err = first.bind_queue(50, &QueueConfig::default()).unwrap_err();
            assert!(matches!(err, Error::AlreadyBound { queue: 50 }), "{err:?}");
            // Unbinding frees it for the other socket.
            first.unbind_queue(50).unwrap();
            second.bind_queue(50, &QueueConfig::default()).unwrap();
            // A verdict for a packet that does not exist: the kernel answers ENOENT in the
            // receive stream, as a typed error message.
            second
                .send_verdict(&VerdictMsg::new(50, 123_456, Verdict::Accept))
                .unwrap();
            let mut bufs = verdict_nfq::RecvBuffers::new(4, 8192);
            let n = second.recv_timeout(&mut bufs, LIMIT).unwrap();
            assert_eq!(n, 1);
            let errs: Vec<i32> = bufs
                .messages()
                .filter_map(|m| match m {
                    Ok(Message::Error(e)) => Some(e.code()),
                    _ => None,
                })
                .collect();
            assert_eq!(errs, [libc::ENOENT]);
            // Copy mode only metadata: accepted by the kernel.
            second
                .configure(
                    &verdict_nfq::ConfigMsg::new(50).with_copy(CopyMode::Meta),
                    "setting copy mode",
                )
                .unwrap();
        })
        .unwrap();
}

/// Without CAP_NET_ADMIN (dropped from this thread's effective set), binding fails with a
/// message that names the capability.
#[test]
fn missing_cap_net_admin_is_explained() {
    let Some(net) = common::two_hosts() else {
        return;
    };
    net.b
        .run_in(|| {
            drop_cap_net_admin_from_this_thread();
            let mut s = QueueSocket::open().unwrap();
            let err = s.bind_queue(60, &QueueConfig::default()).unwrap_err();
            assert!(matches!(err, Error::PermissionDenied { .. }), "{err:?}");
            assert!(err.to_string().contains("CAP_NET_ADMIN"), "{err}");
        })
        .unwrap();
}

/// Clears CAP_NET_ADMIN from the calling thread's effective capabilities (capabilities are
/// per thread in Linux; the raw syscall leaves the other threads alone).
fn drop_cap_net_admin_from_this_thread() {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    const CAP_NET_ADMIN: u32 = 12;
    let mut hdr = Header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: capget with a valid v3 header and room for the two data structs v3 uses.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut hdr as *mut Header, data.as_mut_ptr()) };
    assert_eq!(rc, 0, "capget: {}", std::io::Error::last_os_error());
    data[0].effective &= !(1 << CAP_NET_ADMIN);
    // SAFETY: capset with the same header and the two data structs read above; it changes
    // only the calling thread's capabilities.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut Header, data.as_ptr()) };
    assert_eq!(rc, 0, "capset: {}", std::io::Error::last_os_error());
}

/// One blocking receive takes a whole backlog of packets (recvmmsg), not one per syscall;
/// and packets that arrive while a configuration request waits for its answer are kept and
/// handed out by the next receive.
#[test]
fn bursts_per_syscall_and_packets_kept_across_configuration() {
    let Some(net) = common::two_hosts() else {
        return;
    };
    let fam = FAMILIES[0];
    let rx = udp_socket(&net.b, fam.b);
    let port = rx.local_addr().unwrap().port().to_string();
    fam.queue_rule(&net.b, "INPUT", "udp", &port, "70");
    let (tx_ready, rx_ready) = std::sync::mpsc::channel();
    let (tx_go, rx_go) = std::sync::mpsc::channel::<()>();
    let reader = net
        .b
        .spawn_thread(move || {
            let mut sock = QueueSocket::open().unwrap();
            sock.bind_queue(70, &QueueConfig::default()).unwrap();
            let mut bufs = verdict_nfq::RecvBuffers::new(64, verdict_nfq::DEFAULT_SLOT_SIZE);
            let accept_all = |sock: &mut QueueSocket, bufs: &verdict_nfq::RecvBuffers| {
                let mut ids = Vec::new();
                for m in bufs.messages() {
                    if let Ok(Message::Packet(p)) = m {
                        ids.push(p.id());
                        sock.send_verdict(&VerdictMsg::new(70, p.id(), Verdict::Accept))
                            .unwrap();
                    }
                }
                ids
            };
            // Phase 1: 20 packets queued; one blocking receive takes them all.
            tx_ready.send(()).unwrap();
            rx_go.recv().unwrap();
            let n = sock.recv(&mut bufs).unwrap();
            let first = accept_all(&mut sock, &bufs);
            // Random access: datagram i is packet i of the burst.
            let by_index: Vec<u32> = (0..n)
                .map(|i| {
                    verdict_nfq::PacketMsg::parse_bytes(bufs.datagram(i).unwrap())
                        .unwrap()
                        .id()
                })
                .collect();
            assert_eq!(by_index, first);
            assert!(bufs.datagram(n).is_none());
            let after_first = sock.stats();
            // Phase 2: 10 more queued; binding another queue reads them while waiting for
            // the kernel's answer. They must come out of the next receive, not be lost.
            tx_ready.send(()).unwrap();
            rx_go.recv().unwrap();
            sock.bind_queue(71, &QueueConfig::default()).unwrap();
            let m = sock.recv(&mut bufs).unwrap();
            let second = accept_all(&mut sock, &bufs);
            (n, first, after_first, m, second)
        })
        .unwrap();
    let tx = udp_socket(&net.a, fam.a);
    let wait_queued = |count: u32| {
        let deadline = std::time::Instant::now() + LIMIT;
        while std::time::Instant::now() < deadline {
            let status = net
                .b
                .read_file("/proc/net/netfilter/nfnetlink_queue")
                .unwrap();
            let st = verdict_nfq::proc::parse_queue_status(&status);
            if st.iter().any(|s| s.queue == 70 && s.queue_total == count) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("{count} packets never queued");
    };
    rx_ready.recv().unwrap();
    let sent = payloads("burst", 20);
    send_all(&tx, rx.local_addr().unwrap(), &sent);
    wait_queued(20);
    tx_go.send(()).unwrap();
    rx_ready.recv().unwrap();
    let more = payloads("more", 10);
    send_all(&tx, rx.local_addr().unwrap(), &more);
    wait_queued(10);
    tx_go.send(()).unwrap();
    let (n, first, after_first, m, second) = reader.join().unwrap();
    assert_eq!(n, 20, "one receive call returned the whole burst");
    assert_eq!((after_first.recv_calls, after_first.datagrams), (1, 20));
    assert_eq!(first.len(), 20);
    assert!(first.windows(2).all(|w| w[1] == w[0] + 1), "{first:?}");
    assert_eq!(m, 10, "the packets read during configuration come out next");
    assert_eq!(second.len(), 10);
    assert_eq!(second[0], first[19] + 1);
    let mut all = sent.clone();
    all.extend(more);
    assert_eq!(recv_until(&rx, 30, QUIET, LIMIT), all);
}

/// Non-blocking mode: a receive with nothing queued returns 0 at once, and the raw fd works
/// with poll(2).
#[test]
fn nonblocking_socket_fits_a_poll_loop() {
    use std::os::fd::AsRawFd;
    let Some(net) = common::two_hosts() else {
        return;
    };
    let fam = FAMILIES[1];
    let rx = udp_socket(&net.b, fam.b);
    let port = rx.local_addr().unwrap().port().to_string();
    fam.queue_rule(&net.b, "INPUT", "udp", &port, "80");
    let (tx_ready, rx_ready) = std::sync::mpsc::channel();
    let reader = net
        .b
        .spawn_thread(move || {
            let mut sock = QueueSocket::open().unwrap();
            sock.bind_queue(80, &QueueConfig::default()).unwrap();
            sock.set_nonblocking(true).unwrap();
            let mut bufs = verdict_nfq::RecvBuffers::new(8, 8192);
            let started = std::time::Instant::now();
            assert_eq!(sock.recv(&mut bufs).unwrap(), 0);
            assert!(bufs.is_empty());
            assert!(started.elapsed() < Duration::from_millis(500));
            tx_ready.send(()).unwrap();
            let mut pfd = libc::pollfd {
                fd: sock.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd for the duration of the call.
            let rc = unsafe { libc::poll(&mut pfd, 1, 5000) };
            assert_eq!(rc, 1, "poll wakes up when a packet is queued");
            let n = sock.recv(&mut bufs).unwrap();
            assert!(n >= 1);
            for m in bufs.messages() {
                if let Ok(Message::Packet(p)) = m {
                    sock.send_verdict(&VerdictMsg::new(80, p.id(), Verdict::Accept))
                        .unwrap();
                }
            }
            n
        })
        .unwrap();
    rx_ready.recv().unwrap();
    let tx = udp_socket(&net.a, fam.a);
    send_all(&tx, rx.local_addr().unwrap(), &[b"poll".to_vec()]);
    assert_eq!(recv_until(&rx, 1, QUIET, LIMIT), [b"poll".to_vec()]);
    assert!(reader.join().unwrap() >= 1);
}

/// SO_RCVBUFFORCE sets a receive buffer beyond net.core.rmem_max (we are root).
#[test]
fn receive_buffer_is_forced_beyond_rmem_max() {
    let Some(net) = common::two_hosts() else {
        return;
    };
    net.b
        .run_in(|| {
            let mut s = QueueSocket::open().unwrap();
            let got = s.set_recv_buffer(8 << 20).unwrap();
            // The kernel doubles the value for its bookkeeping.
            assert!(got >= 8 << 20, "receive buffer {got}");
            let rmem_max: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            assert!(got > rmem_max);
            s.set_no_enobufs(true).unwrap();
            s.set_no_enobufs(false).unwrap();
        })
        .unwrap();
}

/// Yielding before a wait: after a short burst the next receive first takes what was queued
/// meanwhile (counted as a yield that found packets); with nothing queued it yields, finds
/// nothing and waits; turned off, it never yields.
#[test]
fn yield_before_wait_takes_what_was_queued_meanwhile() {
    let Some(net) = common::two_hosts() else {
        return;
    };
    let fam = FAMILIES[0];
    let rx = udp_socket(&net.b, fam.b);
    let port = rx.local_addr().unwrap().port().to_string();
    fam.queue_rule(&net.b, "INPUT", "udp", &port, "72");
    let (tx_ready, rx_ready) = std::sync::mpsc::channel();
    let (tx_go, rx_go) = std::sync::mpsc::channel::<()>();
    let reader = net
        .b
        .spawn_thread(move || {
            let mut sock = QueueSocket::open().unwrap();
            sock.bind_queue(72, &QueueConfig::default()).unwrap();
            let mut bufs = verdict_nfq::RecvBuffers::new(64, verdict_nfq::DEFAULT_SLOT_SIZE);
            let accept_all = |sock: &mut QueueSocket, bufs: &verdict_nfq::RecvBuffers| {
                for m in bufs.messages() {
                    if let Ok(Message::Packet(p)) = m {
                        sock.send_verdict(&VerdictMsg::new(72, p.id(), Verdict::Accept))
                            .unwrap();
                    }
                }
            };
            let mut counts = Vec::new();
            for phase in 0..3 {
                if phase == 2 {
                    sock.set_yield_before_wait(false);
                }
                tx_ready.send(()).unwrap();
                rx_go.recv().unwrap();
                let n = sock.recv(&mut bufs).unwrap();
                accept_all(&mut sock, &bufs);
                let st = sock.stats();
                counts.push((n, st.yields, st.yield_bursts));
            }
            // Back on, nothing queued: one more yield that finds nothing, then the wait
            // times out.
            sock.set_yield_before_wait(true);
            let idle = sock
                .recv_timeout(&mut bufs, Duration::from_millis(100))
                .unwrap();
            let st = sock.stats();
            counts.push((idle, st.yields, st.yield_bursts));
            counts
        })
        .unwrap();
    let tx = udp_socket(&net.a, fam.a);
    let wait_queued = |count: u32| {
        let deadline = std::time::Instant::now() + LIMIT;
        while std::time::Instant::now() < deadline {
            let status = net
                .b
                .read_file("/proc/net/netfilter/nfnetlink_queue")
                .unwrap();
            let st = verdict_nfq::proc::parse_queue_status(&status);
            if st.iter().any(|s| s.queue == 72 && s.queue_total == count) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("{count} packets never queued");
    };
    let mut all = Vec::new();
    for (phase, n) in [(0, 20), (1, 5), (2, 3)] {
        rx_ready.recv().unwrap();
        let sent = payloads(&format!("phase{phase}"), n);
        send_all(&tx, rx.local_addr().unwrap(), &sent);
        wait_queued(n as u32);
        all.extend(sent);
        tx_go.send(()).unwrap();
    }
    let counts = reader.join().unwrap();
    assert_eq!(
        counts,
        vec![
            (20, 0, 0), // first receive: nothing to yield for
            (5, 1, 1),  // after a short burst: yield, then found the 5 queued meanwhile
            (3, 1, 1),  // turned off: no yield
            (0, 2, 1),  // on again, idle: yielded, found nothing, waited 100 ms
        ]
    );
    assert_eq!(recv_until(&rx, all.len(), QUIET, LIMIT), all);
}
