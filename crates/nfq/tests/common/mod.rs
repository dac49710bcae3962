//! Shared helpers for the kernel tests: a queue reader thread inside a namespace, UDP traffic.
#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use verdict_nfq::{QueueConfig, QueueSocket, RecvBuffers, SocketStats, DEFAULT_SLOT_SIZE};
use verdict_testbed::topology::{self, TwoHosts};
use verdict_testbed::Netns;

/// The two address families, with the addresses of [`TwoHosts`] and the firewall tool.
#[derive(Debug, Clone, Copy)]
pub struct Family {
    pub v6: bool,
    pub a: IpAddr,
    pub b: IpAddr,
}

pub const FAMILIES: [Family; 2] = [
    Family {
        v6: false,
        a: IpAddr::V4(topology::TWO_HOSTS_A_V4),
        b: IpAddr::V4(topology::TWO_HOSTS_B_V4),
    },
    Family {
        v6: true,
        a: IpAddr::V6(topology::TWO_HOSTS_A_V6),
        b: IpAddr::V6(topology::TWO_HOSTS_B_V6),
    },
];

impl Family {
    pub fn name(&self) -> &'static str {
        if self.v6 {
            "IPv6"
        } else {
            "IPv4"
        }
    }

    /// Runs iptables or ip6tables in `ns`.
    pub fn fw(&self, ns: &Netns, args: &[&str]) {
        let r = if self.v6 {
            ns.ip6tables(args)
        } else {
            ns.iptables(args)
        };
        r.unwrap_or_else(|e| panic!("{}: {e}", self.name()));
    }

    /// Appends `-A <chain> -p <proto> --dport <port> -j NFQUEUE --queue-num <queue>` in `ns`
    /// (the filter table).
    pub fn queue_rule(&self, ns: &Netns, chain: &str, proto: &str, port: &str, queue: &str) {
        self.fw(
            ns,
            &[
                "-A",
                chain,
                "-p",
                proto,
                "--dport",
                port,
                "-j",
                "NFQUEUE",
                "--queue-num",
                queue,
            ],
        );
    }

    pub fn hw_protocol(&self) -> u16 {
        if self.v6 {
            0x86dd
        } else {
            0x0800
        }
    }

    pub fn af(&self) -> u8 {
        if self.v6 {
            libc::AF_INET6 as u8
        } else {
            libc::AF_INET as u8
        }
    }

    /// Offset of the UDP header in a packet of this family (no options/extension headers).
    pub fn l4_offset(&self) -> usize {
        if self.v6 {
            40
        } else {
            20
        }
    }
}

/// A UDP socket bound in `ns` on `addr`, with a short read timeout.
pub fn udp_socket(ns: &Netns, addr: IpAddr) -> UdpSocket {
    let s = ns
        .run_in(|| UdpSocket::bind(SocketAddr::new(addr, 0)))
        .unwrap()
        .unwrap();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    s
}

/// Sends each payload as one datagram from `from` to `to`.
pub fn send_all(from: &UdpSocket, to: SocketAddr, payloads: &[Vec<u8>]) {
    for p in payloads {
        from.send_to(p, to).unwrap();
    }
}

/// Receives datagrams until `want` arrived or nothing came for `quiet`, at most `limit` long.
pub fn recv_until(sock: &UdpSocket, want: usize, quiet: Duration, limit: Duration) -> Vec<Vec<u8>> {
    let start = Instant::now();
    let mut last = Instant::now();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    while got.len() < want && start.elapsed() < limit && last.elapsed() < quiet {
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            got.push(buf[..n].to_vec());
            last = Instant::now();
        }
    }
    got
}

/// A thread in a namespace that owns a [`QueueSocket`] and calls `on_burst` for every burst.
pub struct Reader {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<SocketStats>>,
    pub portid: u32,
}

/// What the reader thread's set-up does before its loop.
pub struct ReaderSetup {
    pub queues: Vec<(u16, QueueConfig)>,
    pub rcvbuf: Option<usize>,
    pub no_enobufs: bool,
    pub slots: usize,
    /// Wait this long after binding before the first receive (to let a backlog build up).
    pub start_delay: Duration,
}

impl ReaderSetup {
    pub fn queue(queue: u16, config: QueueConfig) -> Self {
        ReaderSetup {
            queues: vec![(queue, config)],
            rcvbuf: Some(4 << 20),
            no_enobufs: false,
            slots: 32,
            start_delay: Duration::ZERO,
        }
    }
}

impl Reader {
    pub fn spawn<F>(ns: &Netns, setup: ReaderSetup, mut on_burst: F) -> Reader
    where
        F: FnMut(&mut QueueSocket, &RecvBuffers) + Send + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let (tx, rx) = mpsc::channel::<Result<u32, String>>();
        let handle = ns
            .spawn_thread(move || {
                let setup_result = (|| {
                    let mut sock = QueueSocket::open()?;
                    if let Some(b) = setup.rcvbuf {
                        sock.set_recv_buffer(b)?;
                    }
                    sock.set_no_enobufs(setup.no_enobufs)?;
                    for (q, cfg) in &setup.queues {
                        sock.bind_queue(*q, cfg)?;
                    }
                    Ok::<_, verdict_nfq::Error>(sock)
                })();
                let mut sock = match setup_result {
                    Ok(s) => {
                        let _ = tx.send(Ok(s.portid()));
                        s
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return SocketStats::default();
                    }
                };
                std::thread::sleep(setup.start_delay);
                let mut bufs = RecvBuffers::new(setup.slots, DEFAULT_SLOT_SIZE);
                while !stop2.load(Ordering::Relaxed) {
                    match sock.recv_timeout(&mut bufs, Duration::from_millis(20)) {
                        Ok(0) => {}
                        Ok(_) => on_burst(&mut sock, &bufs),
                        Err(e) => panic!("reader: {e}"),
                    }
                }
                sock.stats()
            })
            .unwrap();
        let portid = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("reader set up")
            .unwrap_or_else(|e| panic!("reader set-up failed: {e}"));
        Reader {
            stop,
            handle: Some(handle),
            portid,
        }
    }

    /// Stops the thread (closing the socket) and returns its counters.
    pub fn stop(mut self) -> SocketStats {
        self.stop.store(true, Ordering::Relaxed);
        match self.handle.take().unwrap().join() {
            Ok(s) => s,
            Err(p) => std::panic::resume_unwind(p),
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Builds [`TwoHosts`] or returns `None` (skip) when not root.
pub fn two_hosts() -> Option<TwoHosts> {
    if !verdict_testbed::require_root() {
        return None;
    }
    Some(TwoHosts::new().unwrap())
}

/// Internet checksum over `data` starting from `sum`.
fn csum_add(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

fn csum_fold(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Replaces the UDP payload of an IPv4/IPv6 packet with `new` (same length) and fixes the
/// UDP checksum. Returns the new packet.
pub fn rewrite_udp_payload(fam: Family, packet: &[u8], new: &[u8]) -> Vec<u8> {
    let l4 = fam.l4_offset();
    let mut p = packet.to_vec();
    let udp_len = p.len() - l4;
    assert_eq!(udp_len - 8, new.len(), "same-length rewrite");
    p[l4 + 8..].copy_from_slice(new);
    p[l4 + 6] = 0;
    p[l4 + 7] = 0;
    let mut sum = 0u32;
    if fam.v6 {
        sum = csum_add(sum, &p[8..40]); // source + destination
    } else {
        sum = csum_add(sum, &p[12..20]);
    }
    sum += 17 + udp_len as u32;
    sum = csum_add(sum, &p[l4..]);
    let mut c = csum_fold(sum);
    if c == 0 {
        c = 0xffff;
    }
    p[l4 + 6..l4 + 8].copy_from_slice(&c.to_be_bytes());
    p
}
