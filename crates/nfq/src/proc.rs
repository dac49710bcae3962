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

/// Parses the content of `/proc/net/netfilter/nfnetlink_queue`. Lines that do not start with
/// the eight expected numeric fields (each in its type's range) are skipped, so a format change
/// costs the counters, never a panic: no input makes this panic (a fuzz target, `nfq_proc`,
/// holds it to that).
pub fn parse_queue_status(text: &str) -> Vec<QueueStatus> {
    text.lines().filter_map(parse_line).collect()
}

/// One line, as the kernel prints it: `"%5u %6u %5u %1u %5u %5u %5u %8u %2d"`.
fn parse_line(line: &str) -> Option<QueueStatus> {
    let mut f = line.split_whitespace();
    let mut next = || f.next()?.parse::<u32>().ok();
    Some(QueueStatus {
        queue: u16::try_from(next()?).ok()?,
        portid: next()?,
        queue_total: next()?,
        copy_mode: u8::try_from(next()?).ok()?,
        copy_range: next()?,
        queue_dropped: next()?,
        user_dropped: next()?,
        id_sequence: next()?,
    })
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
        let q = parse_queue_status("65535 4294967295 0 2 0 4294967295 0 4294967295 1\n");
        assert_eq!(q.len(), 1);
        assert_eq!((q[0].portid, q[0].queue_dropped), (u32::MAX, u32::MAX));
    }

    #[test]
    fn garbage_is_skipped() {
        for t in [
            "",
            "\n\n",
            "a b c",
            "1 2 3",
            "1 2 3 4 5 6 7",
            "70000 1 1 1 1 1 1 1 1",
            "1 1 1 256 1 1 1 1 1",
            "1 1 1 1 1 4294967296 1 1 1",
            "-1 0 0 0 0 0 0 0 1",
            "0 0 0 0 0 0 0 +-1 1",
        ] {
            assert!(parse_queue_status(t).is_empty(), "{t:?}");
        }
    }
}
