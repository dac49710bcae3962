//! `verdict run` / `verdict config` from the command line, without touching the kernel:
//! configuration and rule errors name the file and line and stop the start; `--check` and
//! `verdict config example` agree with the parser.

use std::path::PathBuf;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_verdict");

fn verdict(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("VERDICT_LOG", "warn")
        .output()
        .expect("run verdict")
}

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("verdict-cli-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn example_config_checks_and_runs_check() {
    let out = verdict(&["config", "example"]);
    assert!(out.status.success());
    let example = String::from_utf8(out.stdout).unwrap();
    assert!(example.contains("queues = "));
    let dir = Scratch::new("example");
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
    let dir = Scratch::new("badcfg");
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
    let dir = Scratch::new("badrules");
    let rules = dir.file(
        "bad.rules",
        "alert tcp any any -> any 80 (msg:\"ok\"; sid:1;)\nalert tcp any any -> any 80 (msg:\"x\" sid:2;)\n",
    );
    let out = verdict(&["run", "-S", rules.to_str().unwrap(), "--check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("bad.rules:2:"), "{stderr}");
}
