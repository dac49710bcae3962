//! Per-queue counters of the inline runtime, the kernel's own per-queue counters, and the
//! snapshot both are read into for EVE `stats` events and Prometheus metrics.
//!
//! Design: each queue thread owns one [`QueueCounters`] behind an `Arc` and bumps its atomics
//! with `Relaxed` ordering (counters need no ordering with other memory); readers (the stats
//! timer, the metrics listener) take a [`QueueSnapshot`] at any time without stopping the
//! thread. Verdict latency is kept as a fixed-bucket histogram, so a snapshot is a handful of
//! loads and there is no lock on the packet path.
//!
//! The kernel's view (`/proc/net/netfilter/nfnetlink_queue`) holds what Verdict cannot count
//! itself: packets dropped or bypassed because the queue was full (`queue_dropped`) and packets
//! the kernel failed to deliver to the socket (`user_dropped`). Its parser lives with the rest of
//! the NFQUEUE layer, in [`verdict_nfq::proc`] (fuzzed there); [`read_proc_queues`] reads it.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use verdict_nfq::proc::QueueStatus;

/// Upper bounds (microseconds) of the verdict-latency histogram buckets; a last bucket is +Inf.
pub const LATENCY_BUCKETS_US: [u64; 10] = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/// Counters of one queue thread, updated lock-free on the packet path.
#[derive(Debug, Default)]
pub struct QueueCounters {
    /// Packets received from the kernel.
    pub received: AtomicU64,
    /// Packets accepted (including accepted with a mark).
    pub accepted: AtomicU64,
    /// Packets dropped by a rule.
    pub dropped: AtomicU64,
    /// Packets given the default verdict because they could not be decoded.
    pub undecodable: AtomicU64,
    /// Alerts raised.
    pub alerts: AtomicU64,
    /// Flows handed to the kernel's connmark bypass.
    pub bypassed_flows: AtomicU64,
    /// Receive calls that failed with ENOBUFS (the socket buffer overflowed: packets lost to
    /// the kernel's fail-open/closed policy).
    pub enobufs: AtomicU64,
    /// Verdict messages that could not be sent.
    pub verdict_errors: AtomicU64,
    /// Receive bursts (system calls that returned packets).
    pub bursts: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS_US.len() + 1],
    latency_sum_us: AtomicU64,
    latency_max_us: AtomicU64,
}

impl QueueCounters {
    /// Records the time packets waited between their reception and their verdict being sent.
    /// `count` packets share the same latency (one burst).
    pub fn record_latency(&self, latency: Duration, count: u64) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        let idx = LATENCY_BUCKETS_US
            .iter()
            .position(|&b| us <= b)
            .unwrap_or(LATENCY_BUCKETS_US.len());
        self.latency_buckets[idx].fetch_add(count, Relaxed);
        self.latency_sum_us
            .fetch_add(us.saturating_mul(count), Relaxed);
        self.latency_max_us.fetch_max(us, Relaxed);
    }

    /// Reads every counter.
    pub fn snapshot(&self, queue: u16) -> QueueSnapshot {
        let mut latency_buckets = [0; LATENCY_BUCKETS_US.len() + 1];
        for (dst, src) in latency_buckets.iter_mut().zip(&self.latency_buckets) {
            *dst = src.load(Relaxed);
        }
        QueueSnapshot {
            queue,
            received: self.received.load(Relaxed),
            accepted: self.accepted.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            undecodable: self.undecodable.load(Relaxed),
            alerts: self.alerts.load(Relaxed),
            bypassed_flows: self.bypassed_flows.load(Relaxed),
            enobufs: self.enobufs.load(Relaxed),
            verdict_errors: self.verdict_errors.load(Relaxed),
            bursts: self.bursts.load(Relaxed),
            latency_buckets,
            latency_sum_us: self.latency_sum_us.load(Relaxed),
            latency_max_us: self.latency_max_us.load(Relaxed),
            kernel: None,
        }
    }
}

/// A point-in-time copy of one queue's counters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueSnapshot {
    /// Queue number.
    pub queue: u16,
    /// See [`QueueCounters::received`].
    pub received: u64,
    /// See [`QueueCounters::accepted`].
    pub accepted: u64,
    /// See [`QueueCounters::dropped`].
    pub dropped: u64,
    /// See [`QueueCounters::undecodable`].
    pub undecodable: u64,
    /// See [`QueueCounters::alerts`].
    pub alerts: u64,
    /// See [`QueueCounters::bypassed_flows`].
    pub bypassed_flows: u64,
    /// See [`QueueCounters::enobufs`].
    pub enobufs: u64,
    /// See [`QueueCounters::verdict_errors`].
    pub verdict_errors: u64,
    /// See [`QueueCounters::bursts`].
    pub bursts: u64,
    /// Non-cumulative counts per [`LATENCY_BUCKETS_US`] bucket, then the +Inf bucket.
    pub latency_buckets: [u64; LATENCY_BUCKETS_US.len() + 1],
    /// Sum of all recorded latencies, microseconds.
    pub latency_sum_us: u64,
    /// Largest recorded latency, microseconds.
    pub latency_max_us: u64,
    /// The kernel's counters for this queue, when it could read them.
    pub kernel: Option<QueueStatus>,
}

impl QueueSnapshot {
    /// Number of latency samples (packets).
    pub fn latency_count(&self) -> u64 {
        self.latency_buckets.iter().sum()
    }

    /// Mean verdict latency in microseconds (0 without samples).
    pub fn latency_mean_us(&self) -> u64 {
        self.latency_sum_us
            .checked_div(self.latency_count())
            .unwrap_or(0)
    }

    /// The EVE `stats` object of this queue.
    pub fn to_eve(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "queue": self.queue,
            "received": self.received,
            "accepted": self.accepted,
            "dropped": self.dropped,
            "undecodable": self.undecodable,
            "alerts": self.alerts,
            "bypassed_flows": self.bypassed_flows,
            "enobufs": self.enobufs,
            "verdict_errors": self.verdict_errors,
            "latency_us": {
                "mean": self.latency_mean_us(),
                "max": self.latency_max_us,
            },
        });
        if let Some(k) = &self.kernel {
            v["kernel"] = serde_json::json!({
                "queue_total": k.queue_total,
                "queue_overruns": k.queue_dropped,
                "user_dropped": k.user_dropped,
                "id_sequence": k.id_sequence,
            });
        }
        v
    }
}

/// Reads the kernel's per-queue counters (`/proc/net/netfilter/nfnetlink_queue`, parsed by
/// [`verdict_nfq::proc`]); an unreadable file (module not loaded, no permission) gives an empty
/// list: the stats then go without the kernel's part.
pub fn read_proc_queues() -> Vec<QueueStatus> {
    verdict_nfq::proc::read_queue_status().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use verdict_nfq::proc::parse_queue_status;

    #[test]
    fn latency_histogram() {
        let c = QueueCounters::default();
        c.record_latency(Duration::from_micros(5), 3);
        c.record_latency(Duration::from_micros(300), 1);
        c.record_latency(Duration::from_secs(1), 1);
        let s = c.snapshot(4);
        assert_eq!(s.queue, 4);
        assert_eq!(s.latency_buckets[0], 3);
        assert_eq!(s.latency_buckets[5], 1);
        assert_eq!(s.latency_buckets[LATENCY_BUCKETS_US.len()], 1);
        assert_eq!(s.latency_count(), 5);
        assert_eq!(s.latency_sum_us, 15 + 300 + 1_000_000);
        assert_eq!(s.latency_max_us, 1_000_000);
        assert_eq!(s.latency_mean_us(), (15 + 300 + 1_000_000) / 5);
    }

    #[test]
    fn eve_stats_object() {
        let c = QueueCounters::default();
        c.received.fetch_add(10, Relaxed);
        c.dropped.fetch_add(1, Relaxed);
        let mut s = c.snapshot(2);
        s.kernel = parse_queue_status("2 1 0 2 65535 5 0 10 1")
            .first()
            .copied();
        let v = s.to_eve();
        assert_eq!(v["queue"], 2);
        assert_eq!(v["received"], 10);
        assert_eq!(v["dropped"], 1);
        assert_eq!(v["kernel"]["queue_overruns"], 5);
    }
}
