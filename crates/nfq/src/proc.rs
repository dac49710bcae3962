//! The kernel's per-queue counters, from `/proc/net/netfilter/nfnetlink_queue`.
//!
//! One line per bound queue, in the calling thread's network namespace:
//! `queue_num portid queue_total copy_mode copy_range queue_dropped user_dropped id_sequence 1`.

use std::io;

/// The kernel's view of one bound queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueStatus {
    /// The queue number.
    pub queue: u16,
    /// The netlink port id of the socket bound to it.
    pub portid: u32,
    /// Packets waiting for a verdict now.
    pub queue_total: u32,
    /// Copy mode (0 none, 1 meta, 2 packet).
    pub copy_mode: u8,
    /// Copy range.
    pub copy_range: u32,
    /// Packets dropped because the queue was full (not counted with fail-open: those are
    /// accepted instead).
    pub queue_dropped: u32,
    /// Packets dropped because the socket's receive buffer was full (the reader saw ENOBUFS).
    pub user_dropped: u32,
    /// The last packet id handed out (= packets queued so far, modulo 2^32).
    pub id_sequence: u32,
}

/// Parses the content of `/proc/net/netfilter/nfnetlink_queue`; malformed lines are skipped.
pub fn parse_queue_status(text: &str) -> Vec<QueueStatus> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 8 {
                return None;
            }
            Some(QueueStatus {
                queue: f[0].parse().ok()?,
                portid: f[1].parse().ok()?,
                queue_total: f[2].parse().ok()?,
                copy_mode: f[3].parse().ok()?,
                copy_range: f[4].parse().ok()?,
                queue_dropped: f[5].parse().ok()?,
                user_dropped: f[6].parse().ok()?,
                id_sequence: f[7].parse().ok()?,
            })
        })
        .collect()
}

/// The proc file as seen from the calling thread's network namespace.
pub const QUEUE_STATUS_PATH: &str = "/proc/thread-self/net/netfilter/nfnetlink_queue";

/// Reads the bound queues of the calling thread's network namespace. `NotFound` means
/// nfnetlink_queue is not loaded.
pub fn read_queue_status() -> io::Result<Vec<QueueStatus>> {
    Ok(parse_queue_status(&std::fs::read_to_string(
        QUEUE_STATUS_PATH,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_lines() {
        let text = "    0 -4152      3 2 65531     0     5     1031  1\n\
                    65535   1234      0 1     0    17     0        0  1\n\
                    garbage line\n";
        let q = parse_queue_status(text);
        // a negative portid is not a valid u32: skipped
        assert_eq!(q.len(), 1);
        assert_eq!(
            q[0],
            QueueStatus {
                queue: 65535,
                portid: 1234,
                queue_total: 0,
                copy_mode: 1,
                copy_range: 0,
                queue_dropped: 17,
                user_dropped: 0,
                id_sequence: 0,
            }
        );
        let q = parse_queue_status("    7   4152      3 2 65531     0     5     1031  1\n");
        assert_eq!(
            (q[0].queue, q[0].portid, q[0].user_dropped, q[0].id_sequence),
            (7, 4152, 5, 1031)
        );
    }
}
