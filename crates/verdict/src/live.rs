//! The live adapters of the per-queue runtime: [`NfqQueue`] puts `verdict_nfq`'s socket
//! behind [`QueueIo`], and [`EngineInspector`] puts the engine (with the rules inspector and
//! the EVE writer) behind [`PacketInspector`].
//!
//! Design notes:
//! - Packets are read in place from the socket's receive buffers (one `recvmmsg` per burst);
//!   nfnetlink_queue sends one packet per datagram, so packet `i` is datagram `i`.
//! - Verdicts of a burst go through `verdict_nfq::VerdictBatcher` into one buffer and one
//!   `send`: individual verdicts (drops, connmark changes) first, then the batch accept.
//! - The engine clock is the wall clock (time since the Unix epoch), as the EVE writer
//!   expects, derived from the runtime's monotonic `Instant` so it never goes backwards
//!   within a run.
//! - Flow bypass: a flow is handed to the kernel (connmark bit, see `verdict_netfilter`'s
//!   flow-bypass rule) when a `pass` rule matched it, or when it has carried more than the
//!   configured bytes and this packet raised nothing: past that depth the flow is treated as
//!   decided, as Suricata's stream-depth bypass does. The bit is set by the verdict itself
//!   (`NFQA_CT`) where the kernel allows it, else through ctnetlink ([`crate::ctmark`]).
//!   Each flow is reported once (a bounded set of recently bypassed flow ids).

use std::sync::Arc;
use std::time::{Duration, Instant};

use verdict_engine::{Engine, EngineConfig, PacketMeta, RulesInspector};
use verdict_nfq::{ConnMark, CopyMode, PacketMsg, QueueFlags, VerdictBatcher};
use verdict_nfq::{QueueConfig, QueueSocket, RecvBuffers, DEFAULT_SLOT_SIZE};
use verdict_rules::RuleSet;

use crate::cmd_run::{wall_clock, SharedEve};
use crate::config::Config;
use crate::ctmark::{CtMarker, Tuple};
use crate::eve::{alert_event, drop_event, EventContext};
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
    bypass_bytes: Option<u64>,
    clock: (Instant, Duration),
    packets: u64,
    ct: Option<CtMarker>,
    bypassed: std::collections::HashSet<u64>,
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
            bypass_bytes: bypass_bytes.filter(|b| *b > 0),
            clock: (Instant::now(), wall_clock()),
            packets: 0,
            ct,
            bypassed: std::collections::HashSet::new(),
        }
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
        let past_depth = match (self.bypass_bytes, &d.packet) {
            (Some(limit), Some(p)) => {
                d.alerts.is_empty() && p.flow.bytes_toserver + p.flow.bytes_toclient > limit
            }
            _ => false,
        };
        let mut bypass_flow = false;
        if let (true, Some(p)) = (
            verdict == Verdict::Accept && (d.flow_passed || past_depth),
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
            alerts: d.alerts.len() as u32,
        };
        if let (Some(eve), Some(p)) = (&self.eve, &d.packet) {
            if !d.alerts.is_empty() || d.drop_reason.is_some() {
                let ctx = EventContext {
                    ts,
                    pcap_cnt: Some(pcap_cnt),
                    in_iface: None,
                    ips: true,
                };
                let mut w = eve.lock().unwrap_or_else(|p| p.into_inner());
                for a in d.alerts {
                    if let Err(e) = w.write_event(&alert_event(&ctx, p, a)) {
                        tracing::warn!("cannot write an alert to eve.json: {e}");
                    }
                }
                if d.first_drop_in_direction {
                    if let Some(ev) = drop_event(&ctx, &d, p, false) {
                        if let Err(e) = w.write_event(&ev) {
                            tracing::warn!("cannot write a drop to eve.json: {e}");
                        }
                    }
                }
            }
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
