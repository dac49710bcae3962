//! `/proc/net/netfilter/nfnetlink_queue`: which queues have a listener, and their drop counters.
//!
//! Each line is one bound queue (per network namespace):
//! `queue_number peer_portid queue_total copy_mode copy_range queue_dropped user_dropped
//! id_sequence 1`. A queue number that is absent has no listener: packets sent to it are
//! dropped unless the rule has `--queue-bypass`.

/// One bound queue's line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct QueueStats {
    /// The queue number.
    pub queue: u16,
    /// The netlink port id of the listener.
    pub peer_portid: u32,
    /// Packets waiting for a verdict now.
    pub queue_total: u32,
    /// Copy mode (0 none, 1 meta, 2 packet).
    pub copy_mode: u32,
    /// Copy range (bytes).
    pub copy_range: u32,
    /// Packets dropped because the queue was full (`queue_maxlen` reached, no fail-open).
    pub queue_dropped: u64,
    /// Packets dropped because netlink could not deliver them to the listener (socket
    /// buffer full: ENOBUFS in the listener).
    pub user_dropped: u64,
    /// The last packet id handed out.
    pub id_sequence: u32,
}

/// The path of the statistics file.
pub const PATH: &str = "/proc/net/netfilter/nfnetlink_queue";

/// Parses the file. Lines that do not have the expected numeric fields are skipped.
pub fn parse(text: &str) -> Vec<QueueStats> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 8 {
                return None;
            }
            Some(QueueStats {
                queue: f[0].parse().ok()?,
                peer_portid: f[1].parse().ok()?,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines() {
        let s = "    0  12345     0 2  65531     0     0        0  1\n    3 -4000 2 2 0 17 5 99 1\n    7  999     1 2  65531     4     2       42  1\n garbage\n";
        let q = parse(s);
        assert_eq!(q.len(), 2);
        assert_eq!(q[0].queue, 0);
        assert_eq!(q[0].peer_portid, 12345);
        assert_eq!(q[1].queue, 7);
        assert_eq!(q[1].queue_dropped, 4);
        assert_eq!(q[1].user_dropped, 2);
        assert_eq!(q[1].id_sequence, 42);
        assert!(parse("").is_empty());
    }
}
