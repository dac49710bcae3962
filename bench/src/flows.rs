//! `verdict-bench flows`: the engine's memory with many concurrent flows (issue 6: "memory
//! (peak RSS) with one million concurrent flows").
//!
//! In one process, no root needed: a fresh [`Engine`] (IPS mode, TCP reassembly, a flow table
//! sized for the count) with the given rules is fed `count` distinct flows, each kept alive,
//! and the process's resident memory is read from `/proc/self/status` before and after. The
//! flows are built by hand as raw IPv4 packets (what NFQUEUE hands over), clients in
//! 198.18.0.0/16, the server 198.19.0.1:
//!
//! - `udp`: one 64-byte UDP datagram per flow;
//! - `tcp-syn`: a SYN per flow (a TCP flow in its first state, no stream data);
//! - `tcp-data`: SYN, SYN-ACK, ACK and a 100-byte request per flow (established, with
//!   reassembly state holding data in both directions' bookkeeping).
//!
//! Reported: flows held, flows evicted (must be 0: the table holds them all), resident
//! memory growth per flow, peak RSS, and the inspection time per packet.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;
use verdict_engine::{Engine, EngineConfig, PacketMeta, RulesInspector};
use verdict_flow::FlowConfig;
use verdict_rules::{RuleSet, Vars};

/// The traffic each flow carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlowKind {
    /// One UDP datagram per flow.
    Udp,
    /// One TCP SYN per flow.
    TcpSyn,
    /// A TCP handshake and a 100-byte request per flow.
    TcpData,
}

/// What `verdict-bench flows` prints (JSON).
#[derive(Debug, Serialize)]
pub struct FlowsReport {
    /// The traffic per flow.
    pub kind: FlowKind,
    /// Flows asked for.
    pub flows: usize,
    /// Flows the engine held at the end.
    pub active: usize,
    /// Flows evicted because the table was full (0 expected).
    pub evicted: u64,
    /// Rules loaded.
    pub rules: usize,
    /// Packets inspected.
    pub packets: u64,
    /// Resident memory before the flows (engine and rules built), KiB.
    pub rss_before_kib: u64,
    /// Resident memory after, KiB.
    pub rss_after_kib: u64,
    /// Peak resident memory of the process, KiB.
    pub peak_rss_kib: u64,
    /// (after - before) / flows, bytes.
    pub bytes_per_flow: f64,
    /// Mean inspection time per packet, ns.
    pub ns_per_packet: f64,
}

/// Reads a `Vm*:` line of `/proc/self/status`, in KiB.
fn status_kib(field: &str) -> Result<u64> {
    let s = std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    s.lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .with_context(|| format!("no {field} in /proc/self/status"))
}

/// The IPv4 header checksum.
fn checksum(h: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in h.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A raw IPv4 packet: header, then `l4` (transport header and payload).
fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, l4: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let total = (20 + l4.len()) as u16;
    out.extend_from_slice(&[0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, proto, 0, 0]);
    out[2..4].copy_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&src.octets());
    out.extend_from_slice(&dst.octets());
    let c = checksum(&out[..20]);
    out[10..12].copy_from_slice(&c.to_be_bytes());
    out.extend_from_slice(l4);
}

fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + payload.len());
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(payload);
    t
}

/// Client addresses: 198.18.0.0/16 (the server is in 198.19/16).
const CLIENTS: usize = 65_536;

/// The client address and port of flow `i`: 65,536 addresses times ports from 10,000 up.
fn client(i: usize) -> (Ipv4Addr, u16) {
    let host = (i % CLIENTS) as u32;
    let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + host);
    (ip, 10_000 + (i / CLIENTS) as u16)
}

/// Runs the measurement.
pub fn run(count: usize, kind: FlowKind, rules_text: &str) -> Result<FlowsReport> {
    if count == 0 || count > CLIENTS * 50_000 {
        bail!("--count must be from 1 to {}", CLIENTS * 50_000);
    }
    let parsed = verdict_rules::parse_str(rules_text, "flows.rules");
    if !parsed.errors.is_empty() {
        bail!("rules: {:?}", parsed.errors);
    }
    let (set, _report) = RuleSet::compile(&parsed.rules, &Vars::suricata_defaults());
    let rules = set.len();
    let cfg = EngineConfig {
        ips: true,
        flow: FlowConfig {
            max_flows: count,
            midstream: true,
            ..FlowConfig::default()
        },
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(RulesInspector::new(Arc::new(set)), cfg);
    let server = Ipv4Addr::new(198, 19, 0, 1);
    let mut buf = Vec::with_capacity(256);
    let rss_before_kib = status_kib("VmRSS:")?;
    let start = Instant::now();
    let mut packets = 0u64;
    // All flows start within one second of capture time: none times out.
    let now = Duration::from_secs(1_700_000_000);
    // A 100-byte request: the head, then body bytes as padding.
    let mut request =
        b"POST /index.html HTTP/1.1\r\nHost: bench.example\r\nContent-Length: 30\r\n\r\n".to_vec();
    request.resize(100, b'x');
    for i in 0..count {
        let (cip, cport) = client(i);
        let ts = now + Duration::from_nanos(i as u64);
        match kind {
            FlowKind::Udp => {
                let mut l4 = Vec::with_capacity(8 + 36);
                l4.extend_from_slice(&cport.to_be_bytes());
                l4.extend_from_slice(&53u16.to_be_bytes());
                l4.extend_from_slice(&(8u16 + 36).to_be_bytes());
                l4.extend_from_slice(&[0, 0]);
                l4.extend_from_slice(&[0x5a; 36]);
                ipv4(cip, server, 17, &l4, &mut buf);
                let _ = engine.inspect(ts, &buf, PacketMeta::default());
                packets += 1;
            }
            FlowKind::TcpSyn => {
                ipv4(
                    cip,
                    server,
                    6,
                    &tcp(cport, 80, 1000, 0, 0x02, &[]),
                    &mut buf,
                );
                let _ = engine.inspect(ts, &buf, PacketMeta::default());
                packets += 1;
            }
            FlowKind::TcpData => {
                let steps: [(bool, u32, u32, u8, &[u8]); 4] = [
                    (true, 1000, 0, 0x02, &[]),
                    (false, 5000, 1001, 0x12, &[]),
                    (true, 1001, 5001, 0x10, &[]),
                    (true, 1001, 5001, 0x18, &request),
                ];
                for (to_server, seq, ack, flags, payload) in steps {
                    if to_server {
                        ipv4(
                            cip,
                            server,
                            6,
                            &tcp(cport, 80, seq, ack, flags, payload),
                            &mut buf,
                        );
                    } else {
                        ipv4(
                            server,
                            cip,
                            6,
                            &tcp(80, cport, seq, ack, flags, payload),
                            &mut buf,
                        );
                    }
                    let _ = engine.inspect(ts, &buf, PacketMeta::default());
                    packets += 1;
                }
            }
        }
    }
    let elapsed = start.elapsed();
    let rss_after_kib = status_kib("VmRSS:")?;
    let peak_rss_kib = status_kib("VmHWM:")?;
    let st = engine.flow_stats();
    Ok(FlowsReport {
        kind,
        flows: count,
        active: st.active,
        evicted: st.evicted,
        rules,
        packets,
        rss_before_kib,
        rss_after_kib,
        peak_rss_kib,
        bytes_per_flow: rss_after_kib.saturating_sub(rss_before_kib) as f64 * 1024.0 / count as f64,
        ns_per_packet: elapsed.as_nanos() as f64 / packets.max(1) as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flow_is_held_and_counted() {
        let rule = "alert tcp any any -> any 80 (msg:\"x\"; content:\"never-seen\"; sid:1;)";
        for kind in [FlowKind::Udp, FlowKind::TcpSyn, FlowKind::TcpData] {
            let r = run(3_000, kind, rule).unwrap();
            assert_eq!((r.active, r.evicted), (3_000, 0), "{kind:?}");
            let per_flow = if kind == FlowKind::TcpData { 4 } else { 1 };
            assert_eq!(r.packets, 3_000 * per_flow);
            assert!(r.peak_rss_kib >= r.rss_after_kib);
        }
    }

    #[test]
    fn clients_are_distinct_and_in_the_test_range() {
        let mut seen = std::collections::HashSet::new();
        for i in (0..400_000).step_by(7) {
            let (ip, port) = client(i);
            assert!(seen.insert((ip, port)));
            let o = ip.octets();
            assert!(o[0] == 198 && o[1] == 18, "{ip}");
        }
    }
}
