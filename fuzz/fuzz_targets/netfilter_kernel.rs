//! Fuzz kernel release parsing and the known-bug assessment.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(k) = verdict_netfilter::kernel::KernelRelease::parse(&text) {
        let _ = verdict_netfilter::bugs::assess_all(&k);
    }
});
