//! Fuzz `verdict triage`'s log parser and signature matcher: any bytes must give a result,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let t = verdict_netfilter::triage::triage(&text);
    let _ = t.render_human();
});
