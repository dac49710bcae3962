//! [`VerdictBatcher`]: the fewest verdict messages for a burst of decided packets (sans-IO).
//!
//! A batch verdict (`NFQNL_MSG_VERDICT_BATCH`, id N) applies to **every** packet still queued
//! with an id up to N. So the batcher
//! 1. sends every packet that must not get a plain accept (drops, marks, repeats, re-queues)
//!    its own verdict **first** -- the kernel processes the messages of one send in order, so
//!    those packets have left the queue before the batch is applied;
//! 2. then one batch accept whose id is the highest accepted id that is safe: below the oldest
//!    packet the caller has not decided yet (if any). Accepted packets above that limit get
//!    individual verdicts.
//!
//! Packet ids are compared in the kernel's wrapping order, so a burst that crosses
//! `u32::MAX -> 0` is handled.

use crate::codec::{BatchVerdictMsg, ConnMark, Verdict, VerdictMsg};

/// The decision for one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The packet id.
    pub id: u32,
    /// The verdict.
    pub verdict: Verdict,
    /// A new packet mark.
    pub mark: Option<u32>,
    /// A change of the connection mark.
    pub conn_mark: Option<ConnMark>,
}

type Decided = Decision;

/// What a [`VerdictBatcher::flush`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlushStats {
    /// Individual verdict messages written.
    pub individual: usize,
    /// Packets covered by the batch accept (0 if none was written).
    pub batched: usize,
}

impl FlushStats {
    /// Messages written in total.
    pub fn messages(&self) -> usize {
        self.individual + usize::from(self.batched > 0)
    }
}

/// Collects decisions for one queue and writes the minimal verdict messages.
///
/// ```
/// use verdict_nfq::{Verdict, VerdictBatcher};
/// let mut batcher = VerdictBatcher::new(0);
/// for id in 1..=32 {
///     let verdict = if id == 7 { Verdict::Drop } else { Verdict::Accept };
///     batcher.push(id, verdict, None);
/// }
/// let mut out = Vec::new();
/// let stats = batcher.flush(None, &mut out);
/// assert_eq!((stats.individual, stats.batched), (1, 31)); // drop 7, then accept <= 32
/// ```
#[derive(Debug, Clone)]
pub struct VerdictBatcher {
    queue: u16,
    decided: Vec<Decided>,
}

/// Wrapping order of packet ids, relative to `base` (the kernel's `nfq_id_after`).
fn serial(id: u32, base: u32) -> i32 {
    id.wrapping_sub(base) as i32
}

impl VerdictBatcher {
    /// A batcher for `queue`.
    pub fn new(queue: u16) -> Self {
        VerdictBatcher {
            queue,
            decided: Vec::new(),
        }
    }

    /// The queue this batcher writes verdicts for.
    pub fn queue(&self) -> u16 {
        self.queue
    }

    /// Records the decision for packet `id`: `verdict`, and a new mark if `mark` is set.
    pub fn push(&mut self, id: u32, verdict: Verdict, mark: Option<u32>) {
        self.decided.push(Decided {
            id,
            verdict,
            mark,
            conn_mark: None,
        });
    }

    /// Records a full decision (with a connection-mark change, for instance).
    pub fn push_decision(&mut self, decision: Decision) {
        self.decided.push(decision);
    }

    /// Decisions waiting to be flushed.
    pub fn len(&self) -> usize {
        self.decided.len()
    }

    /// Whether nothing waits to be flushed.
    pub fn is_empty(&self) -> bool {
        self.decided.is_empty()
    }

    /// Appends the verdict messages for every recorded decision to `out` (to be sent in one
    /// syscall, in this order) and forgets them.
    ///
    /// `oldest_undecided` is the id of the oldest packet of this queue that was received but
    /// is not decided yet, if any: the batch accept never reaches it. Pass `None` when every
    /// received packet has been pushed.
    pub fn flush(&mut self, oldest_undecided: Option<u32>, out: &mut Vec<u8>) -> FlushStats {
        let mut stats = FlushStats::default();
        let Some(first) = self.decided.first() else {
            return stats;
        };
        // Base for the wrapping order: half the id space before the first decision, so any
        // burst of fewer than 2^31 packets sorts correctly.
        let base = first.id.wrapping_sub(1 << 31);
        // Unstable: no scratch allocation (the ids of a queue are unique: same order).
        self.decided
            .sort_unstable_by_key(|d| d.id.wrapping_sub(base));

        let plain =
            |d: &Decided| d.verdict == Verdict::Accept && d.mark.is_none() && d.conn_mark.is_none();
        let below_limit = |id: u32| match oldest_undecided {
            Some(u) => serial(id, u) < 0,
            None => true,
        };
        // The batch reaches the highest plain accept below the limit.
        let batch_max = self
            .decided
            .iter()
            .filter(|d| plain(d) && below_limit(d.id))
            .map(|d| d.id)
            .max_by_key(|id| id.wrapping_sub(base));
        // Recomputed where needed rather than collected: flush runs once per burst on the
        // packet path and allocates nothing once `decided` and `out` have grown.
        let in_batch = |d: &Decided| plain(d) && below_limit(d.id);
        let batch_count = self.decided.iter().filter(|d| in_batch(d)).count();
        let use_batch = batch_count >= 2;

        for d in &self.decided {
            if use_batch && in_batch(d) {
                continue;
            }
            let mut msg = VerdictMsg::new(self.queue, d.id, d.verdict);
            msg.mark = d.mark;
            msg.conn_mark = d.conn_mark;
            // No payload, so encoding cannot fail.
            let _ = msg.emit(0, false, out);
            stats.individual += 1;
        }
        if let (true, Some(max_id)) = (use_batch, batch_max) {
            BatchVerdictMsg::new(self.queue, max_id, Verdict::Accept).emit(0, false, out);
            stats.batched = batch_count;
        }
        self.decided.clear();
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{NetlinkMessages, NFQNL_MSG_VERDICT};
    use std::collections::BTreeMap;

    #[derive(Debug, PartialEq)]
    enum Sent {
        One(u32, Verdict, Option<u32>),
        Batch(u32, Verdict),
    }

    fn decode(out: &[u8]) -> Vec<Sent> {
        NetlinkMessages::new(out)
            .map(|m| {
                let m = m.unwrap();
                if m.msg_type() == crate::codec::nfq_msg_type(NFQNL_MSG_VERDICT) {
                    let v = VerdictMsg::parse(&m).unwrap();
                    Sent::One(v.id, v.verdict, v.mark)
                } else {
                    let b = BatchVerdictMsg::parse(&m).unwrap();
                    Sent::Batch(b.max_id, b.verdict)
                }
            })
            .collect()
    }

    #[test]
    fn drops_first_then_one_batch_accept() {
        let mut b = VerdictBatcher::new(3);
        for id in 1..=5 {
            b.push(
                id,
                if id == 3 {
                    Verdict::Drop
                } else {
                    Verdict::Accept
                },
                None,
            );
        }
        let mut out = Vec::new();
        let stats = b.flush(None, &mut out);
        assert_eq!(
            stats,
            FlushStats {
                individual: 1,
                batched: 4
            }
        );
        assert_eq!(stats.messages(), 2);
        assert_eq!(
            decode(&out),
            [
                Sent::One(3, Verdict::Drop, None),
                Sent::Batch(5, Verdict::Accept)
            ]
        );
        assert!(b.is_empty());
        assert_eq!(b.flush(None, &mut out), FlushStats::default());
    }

    #[test]
    fn marked_accepts_are_individual_and_out_of_order_pushes_are_sorted() {
        let mut b = VerdictBatcher::new(0);
        b.push(12, Verdict::Accept, None);
        b.push(10, Verdict::Accept, Some(7));
        b.push(11, Verdict::Accept, None);
        b.push(13, Verdict::Repeat, Some(1));
        b.push_decision(Decision {
            id: 14,
            verdict: Verdict::Accept,
            mark: None,
            conn_mark: Some(ConnMark::set_bits(1)),
        });
        let mut out = Vec::new();
        b.flush(None, &mut out);
        assert_eq!(
            decode(&out),
            [
                Sent::One(10, Verdict::Accept, Some(7)),
                Sent::One(13, Verdict::Repeat, Some(1)),
                Sent::One(14, Verdict::Accept, None),
                Sent::Batch(12, Verdict::Accept),
            ]
        );
    }

    #[test]
    fn batch_stops_below_the_oldest_undecided_packet() {
        let mut b = VerdictBatcher::new(0);
        for id in [1, 2, 3, 6, 7] {
            b.push(id, Verdict::Accept, None);
        }
        let mut out = Vec::new();
        let stats = b.flush(Some(4), &mut out);
        assert_eq!(
            decode(&out),
            [
                Sent::One(6, Verdict::Accept, None),
                Sent::One(7, Verdict::Accept, None),
                Sent::Batch(3, Verdict::Accept),
            ]
        );
        assert_eq!((stats.individual, stats.batched), (2, 3));
    }

    #[test]
    fn single_accept_is_a_plain_verdict() {
        let mut b = VerdictBatcher::new(0);
        b.push(9, Verdict::Accept, None);
        let mut out = Vec::new();
        b.flush(None, &mut out);
        assert_eq!(decode(&out), [Sent::One(9, Verdict::Accept, None)]);
    }

    #[test]
    fn ids_wrapping_past_u32_max() {
        let mut b = VerdictBatcher::new(0);
        for id in [u32::MAX - 1, u32::MAX, 0, 1] {
            b.push(id, Verdict::Accept, None);
        }
        b.push(2, Verdict::Drop, None);
        let mut out = Vec::new();
        b.flush(None, &mut out);
        assert_eq!(
            decode(&out),
            [
                Sent::One(2, Verdict::Drop, None),
                Sent::Batch(1, Verdict::Accept)
            ]
        );
    }

    /// A model of the kernel queue: applies the messages in order and records the verdict
    /// each packet got. Every decided packet must get exactly its decision; undecided ones none.
    #[test]
    fn model_kernel_gives_every_packet_exactly_its_decision() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for round in 0..2000 {
            let start = if round % 3 == 0 {
                u32::MAX - rand(20) as u32
            } else {
                rand(1 << 20) as u32
            };
            let n = 1 + rand(40) as u32;
            let ids: Vec<u32> = (0..n).map(|i| start.wrapping_add(i)).collect();
            // the oldest `undecided` packets... are some suffix-free subset: pick a cut
            let undecided_from = if rand(3) == 0 {
                Some(rand(u64::from(n)) as usize)
            } else {
                None
            };
            let mut want = BTreeMap::new();
            let mut b = VerdictBatcher::new(1);
            for (i, &id) in ids.iter().enumerate() {
                if undecided_from.is_some_and(|u| i == u) {
                    continue; // this one is still being inspected
                }
                let (v, m) = match rand(6) {
                    0 => (Verdict::Drop, None),
                    1 => (Verdict::Accept, Some(rand(4) as u32)),
                    2 => (Verdict::Repeat, None),
                    _ => (Verdict::Accept, None),
                };
                b.push(id, v, m);
                want.insert(id, (v, m));
            }
            let oldest = undecided_from.map(|u| ids[u]);
            let mut out = Vec::new();
            b.flush(oldest, &mut out);
            // the kernel's queue, in id order
            let mut queue: Vec<u32> = ids.clone();
            let mut got = BTreeMap::new();
            for sent in decode(&out) {
                match sent {
                    Sent::One(id, v, m) => {
                        let pos = queue.iter().position(|q| *q == id).expect("id queued");
                        queue.remove(pos);
                        assert!(got.insert(id, (v, m)).is_none());
                    }
                    Sent::Batch(max, v) => {
                        // nfqnl_recv_verdict_batch: dequeue from the head while !after(id, max)
                        while let Some(&id) = queue.first() {
                            if serial(id, max) > 0 {
                                break;
                            }
                            queue.remove(0);
                            assert!(got.insert(id, (v, None)).is_none());
                        }
                    }
                }
            }
            assert_eq!(got, want, "round {round}: ids {ids:?} oldest {oldest:?}");
        }
    }
}
