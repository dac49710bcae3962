//! `verdict doctor`'s audit against live rulesets in throwaway network namespaces.

use verdict_netfilter::audit::{self, Severity};
use verdict_netfilter::exec::Exec;
use verdict_netfilter::firewall::{Backend, Firewall, GuardContext, GuardMode, QueuePlan};
use verdict_netfilter::kernel::KernelRelease;
use verdict_testbed::Netns;

fn audit_ns(ns: &Netns, kernel: &str, assume: bool) -> audit::Report {
    let mut input = audit::collect_live(&Exec::in_netns(ns.name()));
    input.kernel = Some(KernelRelease::parse(kernel).unwrap());
    input.assume_affected = assume;
    audit::audit(&input)
}

#[test]
fn dangerous_ruleset_is_reported_then_fixed_by_the_suggested_rule() {
    if !verdict_testbed::require_root() {
        return;
    }
    for (tool, save) in [
        ("iptables", "iptables-nft"),
        ("iptables-legacy", "iptables-legacy"),
    ] {
        let ns = Netns::new().unwrap();
        ns.run(&[
            tool,
            "-w",
            "-A",
            "OUTPUT",
            "-p",
            "tcp",
            "--sport",
            "23456",
            "-j",
            "NFQUEUE",
            "--queue-num",
            "0",
        ])
        .unwrap();
        let r = audit_ns(&ns, "5.10.103", false);
        assert_eq!(r.exit_code(), 2, "{}", r.render_human());
        let f = r
            .findings
            .iter()
            .find(|f| f.code == "unguarded-synack-queue")
            .unwrap();
        assert_eq!(f.severity, Severity::Dangerous);
        let fix = f.fix.clone().unwrap();
        assert_eq!(
            fix,
            format!("{save} -t filter -I OUTPUT 1 -p tcp --tcp-flags SYN,ACK SYN,ACK -j ACCEPT")
        );
        // The queue has no listener and no bypass: a blackhole too.
        assert!(
            r.findings.iter().any(|f| f.code == "blackhole-queue"),
            "{}",
            r.render_human()
        );
        // Apply the suggested rule exactly as printed.
        let argv: Vec<&str> = fix.split_whitespace().collect();
        ns.run(&argv).unwrap();
        let r = audit_ns(&ns, "5.10.103", false);
        assert!(
            r.findings.iter().all(|f| f.severity < Severity::Dangerous),
            "{}",
            r.render_human()
        );
        assert_eq!(r.exit_code(), 1);
        // On a fixed kernel the unguarded rule is only information.
        ns.run(&[tool, "-w", "-D", "OUTPUT", "1"]).unwrap();
        let r = audit_ns(&ns, "5.17.0", false);
        assert!(r
            .findings
            .iter()
            .any(|f| f.code == "unguarded-synack-queue" && f.severity == Severity::Info));
    }
}

#[test]
fn verdicts_own_rules_pass_the_audit() {
    if !verdict_testbed::require_root() {
        return;
    }
    let ns = Netns::new().unwrap();
    let fixed = KernelRelease::parse("6.1.192").unwrap();
    // The lab's situation: a kernel claiming to be fixed, told to assume it is affected.
    let ctx = GuardContext::for_kernel(&fixed, true);
    let plan = QueuePlan {
        guard: GuardMode::On,
        fail_open: true,
        ..Default::default()
    };
    let fw = Firewall::with_exec(Backend::IptablesNft, Exec::in_netns(ns.name()));
    let installed = fw.install(&plan, &ctx).unwrap();
    let r = audit_ns(&ns, "6.1.192", true);
    assert!(r.queue_rules >= 4, "{}", r.render_human());
    assert!(
        r.findings
            .iter()
            .all(|f| f.code != "unguarded-synack-queue"),
        "{}",
        r.render_human()
    );
    assert!(r.exit_code() < 2);
    installed.remove().unwrap();
    // Without the guard the same layout is dangerous on an assumed-affected kernel.
    let plan = QueuePlan {
        guard: GuardMode::Off { acknowledged: true },
        fail_open: true,
        ..Default::default()
    };
    let installed = fw.install(&plan, &ctx).unwrap();
    let r = audit_ns(&ns, "6.1.192", true);
    assert_eq!(r.exit_code(), 2, "{}", r.render_human());
    assert!(
        r.findings[0]
            .message
            .contains("OUTPUT via OUTPUT -> VERDICT-OUTPUT"),
        "{}",
        r.findings[0].message
    );
    drop(installed);
}
