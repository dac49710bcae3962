//! Fuzzes the `/proc/net/netfilter/nfnetlink_queue` parser (`verdict_nfq::proc`), which the
//! daemon runs on every stats tick and `/metrics` request.
//! The promise under test: any text gives a list (malformed lines skipped), never a panic;
//! at most one status per line; and a status printed back in the kernel's format parses to
//! itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verdict_nfq::proc::parse_queue_status;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = parse_queue_status(text);
    assert!(parsed.len() <= text.lines().count());
    for q in &parsed {
        // As the kernel prints it: "%5u %6u %5u %1u %5u %5u %5u %8u %2d\n".
        let line = format!(
            "{:5} {:6} {:5} {:1} {:5} {:5} {:5} {:8} {:2}\n",
            q.queue,
            q.portid,
            q.queue_total,
            q.copy_mode,
            q.copy_range,
            q.queue_dropped,
            q.user_dropped,
            q.id_sequence,
            1
        );
        assert_eq!(parse_queue_status(&line), [*q]);
    }
});
