//! Live tests of the firewall installer inside throwaway network namespaces.

use verdict_netfilter::exec::Exec;
use verdict_netfilter::firewall::{
    Backend, Firewall, GuardContext, GuardMode, IptTable, QueuePlan, Queues,
};
use verdict_netfilter::kernel::KernelRelease;
use verdict_testbed::Netns;

fn affected() -> GuardContext {
    GuardContext::for_kernel(&KernelRelease::parse("5.10.103").unwrap(), false)
}

fn save_all(ns: &Netns) -> String {
    let mut s = String::new();
    for tool in [
        "iptables-nft-save",
        "ip6tables-nft-save",
        "iptables-legacy-save",
        "ip6tables-legacy-save",
    ] {
        s.push_str(&ns.run(&[tool]).unwrap_or_default());
    }
    s.push_str(&ns.run(&["nft", "list", "ruleset"]).unwrap_or_default());
    s
}

fn verdict_lines(s: &str) -> Vec<&str> {
    s.lines()
        .filter(|l| l.contains("VERDICT") || l.contains("verdict"))
        .collect()
}

#[test]
fn install_replace_remove_iptables_backends() {
    if !verdict_testbed::require_root() {
        return;
    }
    for backend in [Backend::IptablesNft, Backend::IptablesLegacy] {
        let ns = Netns::new().unwrap();
        // A user rule that must survive everything.
        ns.iptables(&["-A", "OUTPUT", "-p", "udp", "--dport", "9", "-j", "ACCEPT"])
            .unwrap();
        let fw = Firewall::with_exec(backend, Exec::in_netns(ns.name()));
        let plan = QueuePlan {
            queues: Queues::range(0, 1).unwrap(),
            fail_open: true,
            ..Default::default()
        };
        let installed = fw.install(&plan, &affected()).unwrap();
        assert!(installed.report().plan.guard_installed);
        let (save, v6save) = match backend {
            Backend::IptablesLegacy => ("iptables-legacy-save", "ip6tables-legacy-save"),
            _ => ("iptables-nft-save", "ip6tables-nft-save"),
        };
        let rules = ns.run(&[save, "-t", "filter"]).unwrap();
        let lines: Vec<&str> = rules.lines().collect();
        let guard = lines
            .iter()
            .position(|l| l.starts_with("-A VERDICT-OUTPUT") && l.contains("SYN,ACK SYN,ACK"))
            .unwrap_or_else(|| panic!("no guard in\n{rules}"));
        let queue = lines
            .iter()
            .position(|l| l.starts_with("-A VERDICT-OUTPUT") && l.contains("NFQUEUE"))
            .unwrap();
        assert!(guard < queue, "{rules}");
        assert!(
            rules.contains("--queue-balance 0:1 --queue-bypass"),
            "{rules}"
        );
        assert!(ns.run(&[v6save]).unwrap().contains("VERDICT-OUTPUT"));
        // A second install (a leftover from a "crashed" run) replaces, never duplicates.
        let installed2 = fw.install(&plan, &affected()).unwrap();
        assert!(installed2.report().replaced_leftovers);
        let rules2 = ns.run(&[save, "-t", "filter"]).unwrap();
        assert_eq!(
            rules2.matches("-j VERDICT-OUTPUT").count(),
            1,
            "duplicated jump:\n{rules2}"
        );
        assert_eq!(rules2.matches("NFQUEUE").count(), 2, "{rules2}");
        let shown = fw.show(IptTable::Filter).unwrap();
        assert!(shown.contains("VERDICT-INPUT"), "{shown}");
        std::mem::forget(installed); // the same rules; installed2 owns them now
        drop(installed2); // Drop removes
        let after = save_all(&ns);
        assert!(verdict_lines(&after).is_empty(), "left behind:\n{after}");
        assert!(
            ns.run(&["iptables-nft-save"])
                .unwrap()
                .contains("--dport 9 -j ACCEPT"),
            "the user's rule was touched"
        );
    }
}

#[test]
fn gateway_install_switches_topology_and_backend() {
    if !verdict_testbed::require_root() {
        return;
    }
    let ns = Netns::new().unwrap();
    let exec = Exec::in_netns(ns.name());
    let host = QueuePlan::default();
    Firewall::with_exec(Backend::IptablesLegacy, exec.clone())
        .install(&host, &affected())
        .unwrap()
        .disarm();
    // Next start: gateway mode with the other backend; the legacy leftovers must go.
    let gw = QueuePlan {
        topology: verdict_netfilter::firewall::Topology::Gateway,
        guard: GuardMode::On,
        ..Default::default()
    };
    let inst = Firewall::with_exec(Backend::IptablesNft, exec.clone())
        .install(&gw, &affected())
        .unwrap();
    assert!(
        inst.report().replaced_leftovers,
        "{:?}",
        inst.report().notes
    );
    let all = save_all(&ns);
    let ours = verdict_lines(&all);
    assert!(
        ours.iter()
            .all(|l| !l.contains("OUTPUT") && !l.contains("INPUT")),
        "{all}"
    );
    assert!(ours.iter().any(|l| l.contains("VERDICT-FORWARD")), "{all}");
    inst.remove().unwrap();
    let all = save_all(&ns);
    assert!(verdict_lines(&all).is_empty(), "{all}");
    // Custom topology installs nothing and clears leftovers.
    Firewall::with_exec(Backend::IptablesNft, exec.clone())
        .install(&QueuePlan::default(), &affected())
        .unwrap()
        .disarm();
    let custom = QueuePlan {
        topology: verdict_netfilter::firewall::Topology::Custom,
        ..Default::default()
    };
    let inst = Firewall::with_exec(Backend::IptablesNft, exec.clone())
        .install(&custom, &affected())
        .unwrap();
    assert!(inst.report().replaced_leftovers);
    drop(inst);
    let all = save_all(&ns);
    assert!(verdict_lines(&all).is_empty(), "{all}");
    // Removing when nothing is installed is fine.
    assert!(!Firewall::with_exec(Backend::Auto, exec)
        .remove(IptTable::Filter)
        .unwrap());
}

#[test]
fn nft_queue_detection_falls_back_with_a_message() {
    if !verdict_testbed::require_root() {
        return;
    }
    let ns = Netns::new().unwrap();
    let fw = Firewall::with_exec(Backend::Auto, Exec::in_netns(ns.name()));
    let (backend, notes) = fw.resolve_backend().unwrap();
    match fw.probe_nft_queue() {
        Ok(()) => assert_eq!(backend, Backend::Nft),
        Err(e) => {
            // This machine's kernel: no nft queue expression.
            assert!(e.to_string().contains("CONFIG_NFT_QUEUE"), "{e}");
            assert_ne!(backend, Backend::Nft);
            assert!(
                notes.iter().any(|n| n.contains("falling back to iptables")),
                "{notes:?}"
            );
            let nft = Firewall::with_exec(Backend::Nft, Exec::in_netns(ns.name()));
            assert!(nft.install(&QueuePlan::default(), &affected()).is_err());
        }
    }
    // The probe leaves nothing behind.
    assert!(!ns
        .run(&["nft", "list", "ruleset"])
        .unwrap()
        .contains("verdict_probe"));
}

#[test]
fn nft_rendering_loads_into_the_kernel() {
    if !verdict_testbed::require_root() {
        return;
    }
    use verdict_netfilter::firewall::{FlowBypass, Protocol, Selector};
    let ns = Netns::new().unwrap();
    let plan = QueuePlan {
        queues: Queues::range(0, 3).unwrap(),
        fail_open: true,
        cpu_fanout: true,
        selector: Selector {
            protocols: vec![Protocol::Tcp, Protocol::Icmp, Protocol::Udp],
            ports: vec![80, 53],
            interfaces: vec!["veth+".into()],
            ..Default::default()
        },
        flow_bypass: Some(FlowBypass { mark: 1, mask: 1 }),
        ..Default::default()
    };
    let table = plan.render(&affected()).unwrap().nft_table();
    // This kernel may lack the queue expression: check everything else by swapping the
    // queue statement for a counter.
    let checked: String = table
        .lines()
        .map(|l| match l.find("queue num") {
            Some(i) => format!("{}counter\n", &l[..i]),
            None => format!("{l}\n"),
        })
        .collect();
    ns.run(&["sh", "-c", &format!("printf '%s' '{checked}' | nft -f -")])
        .unwrap_or_else(|e| panic!("{e}\n{checked}"));
    let listed = ns
        .run(&["nft", "list", "table", "inet", "verdict"])
        .unwrap();
    assert!(listed.contains("hook output"), "{listed}");
}
