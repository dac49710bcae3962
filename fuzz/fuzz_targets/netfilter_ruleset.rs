//! Fuzz the iptables-save / nft ruleset parsers and the doctor audit over them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verdict_netfilter::audit::{audit, AuditInput};
use verdict_netfilter::kernel::KernelRelease;
use verdict_netfilter::ruleset;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut rulesets = Vec::new();
    if let Some(r) = ruleset::parse_auto(&text, "fuzz") {
        rulesets.push(r);
    }
    rulesets.push(ruleset::parse_nft(&text, "fuzz-nft"));
    rulesets.push(ruleset::parse_iptables_save(
        &text,
        "fuzz-ipt",
        ruleset::TableFamily::Ip,
    ));
    let input = AuditInput {
        kernel: KernelRelease::parse("5.10.103").ok(),
        assume_affected: false,
        rulesets,
        queues: Some(verdict_netfilter::procfs::parse(&text)),
        notes: Vec::new(),
    };
    let report = audit(&input);
    let _ = report.render_human();
});
