//! `verdict run` / `verdict config` from the command line, without touching the kernel:
//! configuration and rule errors name the file and line and stop the start; `--check` and
//! `verdict config example` agree with the parser.

mod common;

use std::process::{Command, Output};

use common::{TempDir, BIN};

fn verdict(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("VERDICT_LOG", "warn")
        .output()
        .expect("run verdict")
}

#[test]
fn example_config_checks_and_runs_check() {
    let out = verdict(&["config", "example"]);
    assert!(out.status.success());
    let example = String::from_utf8(out.stdout).unwrap();
    assert!(example.contains("queues = "));
    let dir = TempDir::new("cli-example");
    let path = dir.file("example.toml", &example);
    let check = verdict(&["config", "check", path.to_str().unwrap()]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let run = verdict(&["run", "-c", path.to_str().unwrap(), "--check"]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("queues 0-3"), "{stdout}");
    assert!(stdout.contains("fail-open"), "{stdout}");
}

#[test]
fn default_rules_print_and_load() {
    let out = verdict(&["config", "default-rules"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("sid:9000001"));
    let run = verdict(&["run", "--check"]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("topology Host"), "{stdout}");
    assert!(stdout.contains("0 skipped"), "{stdout}");
}

#[test]
fn bad_config_names_file_line_and_fix() {
    let dir = TempDir::new("cli-badcfg");
    let path = dir.file("bad.toml", "queues = 0\n\n[outputs]\nlogdir = \"/tmp\"\n");
    let out = verdict(&["run", "-c", path.to_str().unwrap(), "--check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("bad.toml:4:1"), "{stderr}");
    assert!(stderr.contains("unknown field `logdir`"), "{stderr}");
    assert!(stderr.contains("fix:"), "{stderr}");
}

#[test]
fn bad_rules_stop_the_start_with_positions() {
    let dir = TempDir::new("cli-badrules");
    let rules = dir.file(
        "bad.rules",
        "alert tcp any any -> any 80 (msg:\"ok\"; sid:1;)\nalert tcp any any -> any 80 (msg:\"x\" sid:2;)\n",
    );
    let out = verdict(&["run", "-S", rules.to_str().unwrap(), "--check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("bad.rules:2:"), "{stderr}");
}

#[test]
fn rules_check_reports_unmet_requires_stats_and_survives_a_closed_pipe() {
    let dir = TempDir::new("cli-rules-check");
    let rules = dir.file(
        "r.rules",
        "alert tcp any any -> any any (content:\"abc\"; sid:1;)\n\
         alert tcp any any -> any any (requires: version >= 99; content:\"x\"; sid:2;)\n",
    );
    let out = verdict(&["rules", "check", rules.to_str().unwrap(), "--stats"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("rules:        2"), "{stdout}");
    assert!(stdout.contains("requires-unmet: 1"), "{stdout}");
    assert!(stdout.contains("sid 2: not met"), "{stdout}");
    assert!(stdout.contains("prefilter: "), "{stdout}");
    let json = verdict(&[
        "rules",
        "check",
        rules.to_str().unwrap(),
        "--json",
        "--stats",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["totals"]["requirements_unmet"], 1);
    assert!(doc["prefilter"].as_array().is_some_and(|g| !g.is_empty()));
    // A reader that goes away (`| head`): the command ends on SIGPIPE, no panic message.
    let mut child = Command::new(BIN)
        .args(["rules", "check", "--verbose", rules.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
