//! Smoke test of the harness: a tiny run (three contenders, half-second tests) must produce a
//! JSON document, a Markdown table and a PNG whose figures are sane, and leave no namespace
//! behind. No timing assertions: only that the numbers exist and are consistent.
//!
//! Needs root (network namespaces, NFQUEUE). Skips with a message without it, except when `CI`
//! is set, where it fails.

use std::process::Command;

use serde_json::Value;

fn metrics<'a>(rows: &'a [Value], topo: &str, test: &str, id: &str) -> &'a Value {
    let row = rows
        .iter()
        .find(|r| r["topology"] == topo && r["test"] == test && r["contender"] == id)
        .unwrap_or_else(|| panic!("no row for {topo} {test} {id}"));
    let m = &row["metrics"];
    assert!(
        m["error"].is_null(),
        "{topo} {test} {id} failed: {}",
        m["error"]
    );
    m
}

#[test]
fn tiny_run_produces_sane_results() {
    if !verdict_testbed::require_root() {
        return;
    }
    let out = std::env::temp_dir().join(format!("verdict-bench-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let child = Command::new(env!("CARGO_BIN_EXE_verdict-bench"))
        .args([
            "run",
            "--contenders",
            "no-queue,c-b1,nfq-crate",
            "--gateway-tests",
            "udp64-sat,latency",
            "--host-tests",
            "udp64-sat",
            "--one-cpu-tests",
            "none",
            "--secs",
            "0.5",
            "--out",
        ])
        .arg(&out)
        .spawn()
        .expect("starting verdict-bench");
    let pid = child.id();
    let output = child.wait_with_output().expect("waiting for verdict-bench");
    assert!(output.status.success(), "verdict-bench run failed");

    // Nothing left behind: the harness's namespaces are named vt-<its pid>-<n>.
    let netns = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let list = String::from_utf8_lossy(&netns.stdout);
    assert!(
        !list.contains(&format!("vt-{pid}-")),
        "namespaces left behind:\n{list}"
    );

    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let rows = json["rows"].as_array().expect("rows");
    let contenders = json["contenders"].as_array().expect("contenders");
    assert_eq!(
        contenders.len(),
        3,
        "only the requested contenders: {contenders:?}"
    );
    assert!(json["machine"]["nproc"].as_u64().unwrap() >= 1);

    // The ceiling delivers packets and judges none.
    let ceil = metrics(rows, "gateway", "udp64-sat", "no-queue");
    assert!(ceil["delivered"].as_u64().unwrap() > 0);
    assert!(ceil["delivered"].as_u64() <= ceil["sent"].as_u64());
    assert!(ceil["queued"].is_null() && ceil["cpu_ns_per_pkt"].is_null());

    // The nfq crate contender judged packets, and its CPU time was read.
    for topo in ["gateway", "host"] {
        let m = metrics(rows, topo, "udp64-sat", "nfq-crate");
        let loss = m["loss"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&loss), "loss {loss}");
        assert!(m["judged"].as_u64().unwrap() > 0, "{topo}: {m}");
        assert!(m["delivered"].as_u64().unwrap() > 0, "{topo}: {m}");
        assert!(m["cpu_ns_per_pkt"].as_f64().unwrap() > 0.0, "{topo}: {m}");
    }

    // Latency percentiles are ordered and the pings were answered.
    for id in ["no-queue", "nfq-crate"] {
        let m = metrics(rows, "gateway", "latency", id);
        let (p50, p99, p999) = (
            m["p50_us"].as_f64().unwrap(),
            m["p99_us"].as_f64().unwrap(),
            m["p999_us"].as_f64().unwrap(),
        );
        assert!(0.0 < p50 && p50 <= p99 && p99 <= p999, "{id}: {m}");
        let pings = m["pings"].as_array().unwrap();
        assert!(pings[0].as_u64().unwrap() > pings[1].as_u64().unwrap());
    }

    // Ratios: the ceiling against itself is exactly 1.
    let ceil_row = rows
        .iter()
        .find(|r| {
            r["topology"] == "gateway" && r["test"] == "udp64-sat" && r["contender"] == "no-queue"
        })
        .unwrap();
    assert_eq!(ceil_row["vs_ceiling"]["pps"].as_f64(), Some(1.0));

    // The C peer runs where its build tools are (always in CI); elsewhere it may be missing,
    // with a reason.
    let c = contenders.iter().find(|c| c["id"] == "c-b1").unwrap();
    if std::env::var_os("CI").is_some() || c["status"] == "ok" {
        assert_eq!(c["status"], "ok", "{c}");
        assert_eq!(
            metrics(rows, "gateway", "udp64-sat", "c-b1")["vs_c_batch1"],
            Value::Null,
            "vs_c_batch1 lives on the row, not in metrics"
        );
        let crow = rows
            .iter()
            .find(|r| {
                r["topology"] == "gateway" && r["test"] == "udp64-sat" && r["contender"] == "c-b1"
            })
            .unwrap();
        assert_eq!(crow["vs_c_batch1"]["pps"].as_f64(), Some(1.0));
    } else {
        assert!(c["reason"].as_str().is_some_and(|r| !r.is_empty()), "{c}");
    }

    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(
        md.contains("### gateway -- UDP flood, 64-byte packets, saturation"),
        "{md}"
    );
    assert!(
        md.contains("| no queue (kernel forwarding, ceiling) |"),
        "{md}"
    );
    assert!(md.contains("### Targets"), "{md}");
    let png = std::fs::read(out.join("results.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000);
    let _ = std::fs::remove_dir_all(&out);
}
