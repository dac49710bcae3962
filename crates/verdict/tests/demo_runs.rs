//! `verdict demo` end to end: the README's first command builds its network, blocks the two
//! attacks, lets the benign requests through, reports the alerts and leaves no namespace.

use std::process::Command;

#[test]
fn demo_blocks_attacks_and_cleans_up() {
    if !verdict_testbed::require_root() {
        return;
    }
    let child = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(["demo", "--timeout", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run verdict demo");
    // The demo names its namespaces after its pid.
    let prefix = format!("vdemo-{}-", child.id());
    let out = child.wait_with_output().expect("wait for verdict demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    let line = |what: &str| {
        stdout
            .lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no line for {what}:\n{stdout}"))
            .to_owned()
    };
    assert!(line("Log4Shell").contains("BLOCKED"), "{stdout}");
    assert!(line("path traversal").contains("BLOCKED"), "{stdout}");
    assert!(line("a normal page").contains("allowed"), "{stdout}");
    assert!(line("SQL injection").contains("allowed"), "{stdout}");
    assert!(stdout.contains("[blocked] sid 9000001"), "{stdout}");
    assert!(stdout.contains("[allowed] sid 9000101"), "{stdout}");
    assert!(stdout.contains("4 request(s) allowed"), "{stdout}");
    assert!(stdout.contains("3 alerting connection(s)"), "{stdout}");
    let netns = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&netns.stdout).contains(&prefix),
        "namespaces left behind"
    );
}
