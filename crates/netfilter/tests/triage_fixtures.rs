//! `verdict triage` over real kernel output kept in `tests/data/`.

use verdict_netfilter::triage::{triage, Confidence};

/// The QEMU lab kernel (6.1.192 with 747670fd9a2d reverted, KASAN on) faulting in the
/// reproducer's first round with a hand-written unguarded OUTPUT rule; captured from the guest
/// console (the log is cut 30 lines after the headline, as the lab's init prints it).
#[test]
fn lab_kasan_report_is_recognised() {
    let text = include_str!("data/lab_kasan_6.1.192.txt");
    let t = triage(text);
    let m = t.best().expect("the lab's KASAN report must match");
    assert_eq!(m.bug, "747670fd9a2d");
    assert_eq!(m.confidence, Confidence::Certain);
    assert!(m.signature.contains("KASAN"), "{}", m.signature);
    assert_eq!(t.reports[0].faulting_function.as_deref(), Some("sk_free"));
}

/// The same report with every frame after nf_reinject cut off still matches; with nf_reinject
/// cut off too, there is no claim.
#[test]
fn lab_kasan_report_truncated() {
    let text = include_str!("data/lab_kasan_6.1.192.txt");
    let upto = |needle: &str| -> String {
        let end = text.find(needle).unwrap();
        text[..end].to_string()
    };
    let t = triage(&upto("? nf_conntrack_find_get"));
    assert_eq!(t.best().map(|m| m.bug), Some("747670fd9a2d"));
    let t = triage(&upto("nf_reinject+"));
    assert!(t.best().is_none(), "{:?}", t.matches);
}
