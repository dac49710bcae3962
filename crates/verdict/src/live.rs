//! The live adapters of the per-queue runtime: [`NfqQueue`] puts `verdict_nfq`'s socket
//! behind [`QueueIo`], and [`EngineInspector`] puts the engine (with the rules inspector and
//! the EVE writer) behind [`PacketInspector`].
//!
//! Design notes:
//! - Packets are read in place from the socket's receive buffers (one `recvmmsg` per burst);
//!   nfnetlink_queue sends one packet per datagram, so packet `i` is datagram `i`.
//! - Verdicts of a burst go through `verdict_nfq::VerdictBatcher` into one buffer and one
//!   `send`: individual verdicts (drops, connmark changes) first, then the batch accept.
//! - EVE events and the alert count cover the wire packet and the packets the engine found in
//!   it (tunnel payloads, a datagram a fragment completed), with the packet's final verdict
//!   (`verdict` object) as Suricata writes it in IPS mode.
//! - The engine clock is the wall clock (time since the Unix epoch), as the EVE writer
//!   expects, derived from the runtime's monotonic `Instant` so it never goes backwards
//!   within a run.
//! - Flow bypass: a flow is handed to the kernel (connmark bit, see `verdict_netfilter`'s
//!   flow-bypass rule) when a `pass` rule matched it, or when it has carried more than the
//!   configured bytes and this packet raised nothing: past that depth the flow is treated as
//!   decided, as Suricata's stream-depth bypass does. The bit is set by the verdict itself
//!   (`NFQA_CT`) where the kernel allows it, else through ctnetlink ([`crate::ctmark`]).
//!   Each flow is reported once (a bounded set of recently bypassed flow ids).

use crate::eve_app::AppMetaOptions;
use std::sync::Arc;
use std::time::{Duration, Instant};

use verdict_engine::{Decision, Engine, EngineConfig, InnerPacket, PacketMeta, RulesInspector};
use verdict_nfq::{ConnMark, CopyMode, PacketMsg, QueueFlags, VerdictBatcher};
use verdict_nfq::{QueueConfig, QueueSocket, RecvBuffers, DEFAULT_SLOT_SIZE};
use verdict_rules::RuleSet;

use crate::cmd_run::{wall_clock, SharedEve};
use crate::config::Config;
use crate::ctmark::{CtMarker, Tuple};
use crate::eve::{
    alert_event, drop_event, inner_alert_event, inner_drop_event, EveVerdict, EventContext,
    PacketInfo, PayloadOptions,
};
use crate::runtime::{Decided, Judgement, PacketInspector, QueueIo, RecvError, RxPacket, Verdict};

/// Receive buffer asked of the kernel per queue socket: room for bursts while a thread is
/// busy, so the kernel's queue (not the socket) is where backlog builds up.
const RECV_BUFFER_BYTES: usize = 8 << 20;

/// One bound NFQUEUE with its receive buffers and verdict batcher.
pub struct NfqQueue {
    sock: QueueSocket,
    bufs: RecvBuffers,
    batcher: VerdictBatcher,
    out: Vec<u8>,
    enobufs_seen: u64,
}

impl NfqQueue {
    /// Opens a socket in the calling thread's network namespace and binds `queue` with the
    /// configured copy range, queue length and fail-open flag. With `conntrack`, asks for the
    /// queue's conntrack flag too (needed to set connection marks in verdicts, i.e. flow
    /// bypass); a kernel without it (`CONFIG_NETFILTER_NETLINK_GLUE_CT`) answers EOPNOTSUPP,
    /// and the queue is bound without it. Returns whether connmark verdicts are available.
    pub fn bind(queue: u16, cfg: &Config, conntrack: bool) -> anyhow::Result<(NfqQueue, bool)> {
        if conntrack {
            match Self::bind_with(queue, cfg, true) {
                Ok(q) => return Ok((q, true)),
                Err(verdict_nfq::Error::FlagUnsupported { .. }) => {
                    tracing::debug!(
                        queue,
                        "the kernel cannot attach conntrack data to queued packets"
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok((Self::bind_with(queue, cfg, false)?, false))
    }

    fn bind_with(
        queue: u16,
        cfg: &Config,
        conntrack: bool,
    ) -> Result<NfqQueue, verdict_nfq::Error> {
        let mut sock = QueueSocket::open()?;
        sock.set_yield_before_wait(cfg.yield_before_wait);
        if let Err(e) = sock.set_recv_buffer(RECV_BUFFER_BYTES) {
            tracing::warn!(queue, "cannot enlarge the receive buffer: {e}");
        }
        let mut flags = QueueFlags::EMPTY;
        if cfg.fail_open {
            flags |= QueueFlags::FAIL_OPEN;
        }
        if conntrack {
            flags |= QueueFlags::CONNTRACK;
        }
        let config = QueueConfig {
            copy: CopyMode::Packet {
                range: cfg.copy_range,
            },
            max_len: Some(cfg.queue_maxlen),
            flags,
        };
        sock.bind_queue(queue, &config)?;
        let slot = DEFAULT_SLOT_SIZE
            .min(cfg.copy_range as usize + 1024)
            .max(4096);
        Ok(NfqQueue {
            sock,
            bufs: RecvBuffers::new(cfg.batch_size, slot),
            batcher: VerdictBatcher::new(queue),
            out: Vec::with_capacity(64 * cfg.batch_size),
            enobufs_seen: 0,
        })
    }
}

impl QueueIo for NfqQueue {
    fn recv(&mut self, _max: usize, timeout: Duration) -> Result<usize, RecvError> {
        match self.sock.recv_timeout(&mut self.bufs, timeout) {
            Ok(n) => {
                let enobufs = self.sock.stats().enobufs;
                if enobufs > self.enobufs_seen && n == 0 {
                    self.enobufs_seen += 1;
                    return Err(RecvError::NoBufs);
                }
                Ok(n)
            }
            Err(e) => Err(RecvError::Io(std::io::Error::other(e))),
        }
    }

    fn packet(&self, index: usize) -> Option<RxPacket<'_>> {
        let datagram = self.bufs.datagram(index)?;
        let p = PacketMsg::parse_bytes(datagram).ok()?;
        Some(RxPacket {
            id: p.id(),
            payload: p.payload().unwrap_or(&[]),
        })
    }

    fn send_verdicts(
        &mut self,
        decided: &[Decided],
        oldest_undecided: Option<u32>,
    ) -> std::io::Result<()> {
        for d in decided {
            self.batcher.push_decision(verdict_nfq::Decision {
                id: d.id,
                verdict: match d.verdict {
                    Verdict::Accept => verdict_nfq::Verdict::Accept,
                    Verdict::Drop => verdict_nfq::Verdict::Drop,
                },
                mark: None,
                conn_mark: d.connmark.map(ConnMark::set_bits),
            });
        }
        self.out.clear();
        self.batcher.flush(oldest_undecided, &mut self.out);
        self.sock.send(&self.out).map_err(std::io::Error::other)
    }

    fn take_enobufs(&mut self) -> u64 {
        let total = self.sock.stats().enobufs;
        let new = total.saturating_sub(self.enobufs_seen);
        self.enobufs_seen = total;
        new
    }
}

/// The engine of one queue thread, writing its alerts and drops to the shared EVE writer.
pub struct EngineInspector {
    engine: Engine<RulesInspector>,
    eve: Option<SharedEve>,
    payload: PayloadOptions,
    app_meta: AppMetaOptions,
    bypass_bytes: Option<u64>,
    clock: (Instant, Duration),
    packets: u64,
    ct: Option<CtMarker>,
    bypassed: std::collections::HashSet<u64>,
}

/// Writes the EVE events of one decision: alerts and first drops of the packet and of the
/// packets found in it (tunnels, reassembled datagrams), each with the packet's final
/// verdict as Suricata writes it in IPS mode. Takes the shared writer's lock only when
/// there is something to write.
fn write_events(
    eve: &SharedEve,
    d: &Decision<'_>,
    wire: &[u8],
    payload: &PayloadOptions,
    app_meta: &AppMetaOptions,
    ts: Duration,
    pcap_cnt: u64,
) {
    let outer = d
        .packet
        .as_ref()
        .filter(|_| !d.alerts.is_empty() || (d.drop_reason.is_some() && d.first_drop_in_direction));
    let inner_events = |i: &InnerPacket| {
        !d.alerts_of(i).is_empty() || (i.drop_reason.is_some() && i.first_drop_in_direction)
    };
    if outer.is_none() && !d.inner.iter().any(inner_events) {
        return;
    }
    let ctx = EventContext {
        ts,
        pcap_cnt: Some(pcap_cnt),
        in_iface: None,
        ips: true,
    };
    let verdict = Some(EveVerdict::of(d.verdict.is_drop(), d.flow_passed));
    let mut w = eve.lock().unwrap_or_else(|p| p.into_inner());
    let write = |r: std::io::Result<()>, what: &str| {
        if let Err(e) = r {
            tracing::warn!("cannot write {what} to eve.json: {e}");
        }
    };
    if let Some(p) = outer {
        for a in d.alerts {
            let mut ev = alert_event(&ctx, p, a);
            ev.add_app_meta(a, app_meta);
            ev.verdict = verdict;
            ev.add_payload(wire, p, false, payload);
            if a.stream && !d.stream_payload.is_empty() {
                ev.add_stream_payload(d.stream_payload, payload);
            }
            if payload.packet {
                ev.packet_info = Some(PacketInfo::raw_ip(p));
            }
            write(w.write_event(&ev), "an alert");
        }
        if d.first_drop_in_direction {
            if let Some(mut ev) = drop_event(&ctx, d, p, false) {
                ev.verdict = verdict;
                write(w.write_event(&ev), "a drop");
            }
        }
    }
    for inner in d.inner {
        for a in d.alerts_of(inner) {
            let mut ev = inner_alert_event(&ctx, inner, a);
            ev.add_app_meta(a, app_meta);
            ev.verdict = verdict;
            if inner.pkt_src == verdict_engine::PKT_SRC_DEFRAG {
                ev.add_payload(d.reassembled, &inner.packet, false, payload);
            } else {
                ev.add_payload(wire, &inner.packet, true, payload);
            }
            if payload.packet {
                ev.packet_info = Some(PacketInfo::raw_ip(&inner.packet));
            }
            write(w.write_event(&ev), "an alert");
        }
        if inner.first_drop_in_direction {
            if let Some(mut ev) = inner_drop_event(&ctx, d, inner, false) {
                ev.verdict = verdict;
                write(w.write_event(&ev), "a drop");
            }
        }
    }
}

/// Flow ids remembered as bypassed before the set is cleared (a flow reported twice only
/// costs a second, idempotent mark).
const BYPASSED_MEMORY: usize = 16 * 1024;

impl EngineInspector {
    /// An engine in IPS mode over `rules`; `bypass_bytes` enables the byte-count flow bypass;
    /// `ct` sets bypass marks through ctnetlink (when verdicts cannot carry them).
    pub fn new(
        rules: Arc<RuleSet>,
        eve: Option<SharedEve>,
        bypass_bytes: Option<u64>,
        ct: Option<CtMarker>,
    ) -> Self {
        let cfg = EngineConfig {
            ips: true,
            ..EngineConfig::default()
        };
        EngineInspector {
            engine: Engine::new(RulesInspector::new(rules), cfg),
            eve,
            payload: PayloadOptions::default(),
            app_meta: AppMetaOptions::default(),
            bypass_bytes: bypass_bytes.filter(|b| *b > 0),
            clock: (Instant::now(), wall_clock()),
            packets: 0,
            ct,
            bypassed: std::collections::HashSet::new(),
        }
    }

    /// Keeps at most `n` alerts per packet (`packet_alert_max`; the engine's default is 15).
    pub fn with_packet_alert_max(mut self, n: u16) -> Self {
        let rules = self.engine.inspector().rules().clone();
        let cfg = EngineConfig {
            packet_alert_max: n,
            ..*self.engine.config()
        };
        self.engine = Engine::new(RulesInspector::new(rules), cfg);
        self
    }

    /// Which packet bytes alert events carry (none by default, as Suricata).
    pub fn with_payload(mut self, payload: PayloadOptions) -> Self {
        self.payload = payload;
        self
    }

    /// Whether alert events carry app-layer metadata (`http`, `dns`, `tls`, `ssh`; on by
    /// default, as Suricata).
    pub fn with_app_meta(mut self, app_meta: AppMetaOptions) -> Self {
        self.app_meta = app_meta;
        self
    }

    fn wall(&self, now: Instant) -> Duration {
        self.clock.1 + now.saturating_duration_since(self.clock.0)
    }
}

impl PacketInspector for EngineInspector {
    type Rules = RuleSet;

    fn inspect(&mut self, now: Instant, packet: &RxPacket<'_>) -> Judgement {
        self.packets += 1;
        let ts = self.wall(now);
        let pcap_cnt = self.packets;
        let d = self
            .engine
            .inspect(ts, packet.payload, PacketMeta::default());
        let verdict = if d.verdict.is_drop() {
            Verdict::Drop
        } else {
            Verdict::Accept
        };
        // Alerts of the packet itself and of the packets found in it (tunnels, a datagram
        // this fragment completed): all count, and all keep the flow from being bypassed.
        let alerts = d.alerts.len() + d.inner_alerts.len();
        let past_depth = match (self.bypass_bytes, &d.packet) {
            (Some(limit), Some(p)) => {
                alerts == 0 && p.flow.bytes_toserver + p.flow.bytes_toclient > limit
            }
            _ => false,
        };
        let mut bypass_flow = false;
        if let (true, Some(p)) = (
            // A flow whose packets carry other packets (a VXLAN/Geneve tunnel) is never
            // bypassed: a pass on the tunnel's own flow leaves the packets inside it to be
            // inspected, as in Suricata.
            verdict == Verdict::Accept
                && d.inner.is_empty()
                && (d.flow_passed || d.flow_bypassed || past_depth),
            &d.packet,
        ) {
            // ctnetlink finds only confirmed connections: a queued first packet (a SYN) still
            // holds its unconfirmed entry, so wait until the flow has seen both directions.
            let ct_ready =
                self.ct.is_none() || (p.flow.pkts_toserver > 0 && p.flow.pkts_toclient > 0);
            if self.bypassed.len() >= BYPASSED_MEMORY {
                self.bypassed.clear();
            }
            if ct_ready && self.bypassed.insert(p.flow_id) {
                bypass_flow = true;
                if let Some(ct) = &mut self.ct {
                    let t = Tuple {
                        src: p.flow.client.0,
                        src_port: p.flow.client.1,
                        dst: p.flow.server.0,
                        dst_port: p.flow.server.1,
                        proto: p.proto,
                    };
                    bypass_flow = ct.mark(&t);
                }
            }
        }
        let judgement = Judgement {
            verdict,
            undecodable: d.decode_error.is_some(),
            bypass_flow,
            alerts: u32::try_from(alerts).unwrap_or(u32::MAX),
        };
        if let Some(eve) = &self.eve {
            write_events(
                eve,
                &d,
                packet.payload,
                &self.payload,
                &self.app_meta,
                ts,
                pcap_cnt,
            );
        }
        judgement
    }

    fn expire(&mut self, now: Instant) {
        let ts = self.wall(now);
        self.engine.expire(ts);
    }

    fn set_rules(&mut self, rules: Arc<RuleSet>) {
        self.engine.inspector_mut().set_rules(rules);
    }

    fn flush(&mut self) {
        if let Some(eve) = &self.eve {
            let mut w = eve.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(e) = w.flush() {
                tracing::warn!("cannot flush eve.json: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4 header (no options, checksum left 0) with protocol `proto` around `payload`.
    fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
        let total = u16::try_from(20 + payload.len()).unwrap();
        let mut v = vec![0x45, 0];
        v.extend_from_slice(&total.to_be_bytes());
        v.extend_from_slice(&[0, 1, 0, 0, 64, proto, 0, 0]);
        v.extend_from_slice(&src);
        v.extend_from_slice(&dst);
        v.extend_from_slice(payload);
        v
    }

    fn udp(payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&40000u16.to_be_bytes());
        v.extend_from_slice(&53u16.to_be_bytes());
        v.extend_from_slice(&u16::try_from(8 + payload.len()).unwrap().to_be_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(payload);
        v
    }

    /// `packet_alert_max` from the config reaches the engine: three matching rules, two
    /// alerts.
    #[test]
    fn packet_alert_max_caps_the_alerts_of_a_packet() {
        let mut b = RuleSet::builder();
        b.add_str(
            "alert udp any any -> any 53 (content:\"A\"; sid:1;)\n\
             alert udp any any -> any 53 (content:\"AB\"; sid:2;)\n\
             alert udp any any -> any 53 (content:\"ABC\"; sid:3;)",
            "test",
        );
        let (rules, _) = b.build();
        let mut insp =
            EngineInspector::new(Arc::new(rules), None, None, None).with_packet_alert_max(2);
        let wire = ipv4(17, [198, 18, 0, 1], [198, 18, 0, 2], &udp(b"ABC"));
        let j = insp.inspect(
            Instant::now(),
            &RxPacket {
                id: 1,
                payload: &wire,
            },
        );
        assert_eq!(j.alerts, 2);
        assert_eq!(insp.engine.stats().alert_queue_overflow, 1);
    }

    /// A pass rule on a VXLAN tunnel's own UDP flow: the flow is not bypassed in the kernel,
    /// and an attack inside the tunnel is still dropped.
    #[test]
    fn a_passed_tunnel_flow_is_not_bypassed_and_its_content_still_inspected() {
        let mut b = RuleSet::builder();
        b.add_str(
            "pass udp any any -> any 4789 (sid:1;)\n\
             drop udp any any -> any 53 (content:\"EVIL\"; sid:2;)",
            "test",
        );
        let (rules, report) = b.build();
        assert_eq!(report.loaded.len(), 2);
        let mut insp = EngineInspector::new(Arc::new(rules), None, None, None);
        let vxlan = |payload: &[u8]| {
            let inner = ipv4(17, [198, 18, 0, 1], [198, 18, 0, 2], &udp(payload));
            let mut v = vec![0x08, 0, 0, 0, 0, 0, 1, 0];
            v.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
            v.extend_from_slice(&inner);
            let mut u = Vec::new();
            u.extend_from_slice(&40001u16.to_be_bytes());
            u.extend_from_slice(&4789u16.to_be_bytes());
            u.extend_from_slice(&u16::try_from(8 + v.len()).unwrap().to_be_bytes());
            u.extend_from_slice(&[0, 0]);
            u.extend_from_slice(&v);
            ipv4(17, [198, 18, 9, 1], [198, 18, 9, 2], &u)
        };
        for (id, payload, verdict) in [
            (1, &b"hello"[..], Verdict::Accept),
            (2, b"hello", Verdict::Accept),
            (3, b"EVIL", Verdict::Drop),
        ] {
            let wire = vxlan(payload);
            let j = insp.inspect(Instant::now(), &RxPacket { id, payload: &wire });
            assert_eq!((j.verdict, j.bypass_flow), (verdict, false), "packet {id}");
        }
    }

    /// An attack inside an IP-in-IP tunnel: dropped, counted, and its alert and drop written
    /// to eve.json as inner-packet events (before, only the wire packet's own alerts were).
    #[test]
    fn alerts_of_tunnelled_packets_are_counted_and_written() {
        let mut b = RuleSet::builder();
        b.add_str(
            "drop udp any any -> any 53 (msg:\"TEST tunnelled evil\"; content:\"EVIL\"; sid:7001;)",
            "test",
        );
        let (rules, report) = b.build();
        assert_eq!(report.loaded.len(), 1);
        let dir = std::env::temp_dir().join(format!("verdict-live-{}", std::process::id()));
        let eve = crate::cmd_run::open_eve(&dir).unwrap();
        let mut insp = EngineInspector::new(Arc::new(rules), Some(eve), Some(1), None);
        let inner = ipv4(17, [198, 18, 0, 1], [198, 18, 0, 2], &udp(b"EVIL"));
        let wire = ipv4(4, [198, 18, 9, 1], [198, 18, 9, 2], &inner);
        let j = insp.inspect(
            Instant::now(),
            &RxPacket {
                id: 1,
                payload: &wire,
            },
        );
        insp.flush();
        let text = std::fs::read_to_string(dir.join("eve.json")).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            (j.verdict, j.alerts, j.bypass_flow),
            (Verdict::Drop, 1, false)
        );
        let events: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let alert = events
            .iter()
            .find(|e| e["event_type"] == "alert")
            .unwrap_or_else(|| panic!("no alert event in {text}"));
        assert_eq!(alert["alert"]["signature_id"], 7001);
        assert_eq!(alert["pkt_src"], "ipv4 tunnel");
        assert_eq!(alert["src_ip"], "198.18.0.1");
        assert_eq!(alert["tunnel"]["src_ip"], "198.18.9.1");
        assert_eq!(alert["verdict"]["action"], "drop");
        assert!(
            events.iter().any(|e| e["event_type"] == "drop"),
            "no drop event in {text}"
        );
    }
}
