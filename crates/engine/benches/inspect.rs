//! Offline inspection throughput (decode + flow + TCP reassembly + app layer + detect, one
//! core): a generated capture (`gen_traffic.py`, HOME_NET 198.19.0.0/16) replayed through a
//! fresh engine per iteration, with 0 rules, 1 rule, 1,000 ET Open rules and every loadable ET
//! Open rule; on the whole capture (mixed sizes), its TCP packets (HTTP and TLS) and its UDP
//! packets (DNS). Run: `cargo bench -p verdict-engine --bench inspect`.
//!
//! Data: `$VERDICT_SHARED` (default `/work/shared`) must hold `tools/gen_traffic.py` and
//! `data/et-open/*.rules`; the capture is generated once into the temp dir (scapy needed), or
//! taken from `$VERDICT_BENCH_PCAP`. Criterion reports bytes/s (x8 for bits/s); the packet
//! count and mean size are printed so packets/s follows.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use verdict_decode::LinkType;
use verdict_engine::{Engine, EngineConfig, PacketMeta, RulesInspector};
use verdict_rules::{RuleSet, Vars};

fn shared() -> PathBuf {
    std::env::var_os("VERDICT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/work/shared".into())
}

fn capture() -> PathBuf {
    if let Some(p) = std::env::var_os("VERDICT_BENCH_PCAP") {
        return p.into();
    }
    let out = std::env::temp_dir().join("verdict-bench-300-7.pcap");
    if !out.exists() {
        let st = std::process::Command::new("python3")
            .arg(shared().join("tools/gen_traffic.py"))
            .arg(&out)
            .args(["300", "7"])
            .status()
            .expect("run gen_traffic.py (python3 + scapy needed)");
        assert!(st.success(), "gen_traffic.py failed");
    }
    out
}

fn load_packets(path: &Path) -> (LinkType, Vec<(Duration, Vec<u8>)>) {
    let f = std::fs::File::open(path).expect("open capture");
    let mut r = pcap_file::pcap::PcapReader::new(f).expect("a pcap file");
    let link = LinkType::from_pcap(u32::from(r.header().datalink)).expect("known link type");
    let mut v = Vec::new();
    while let Some(p) = r.next_packet() {
        let p = p.expect("packet");
        v.push((p.timestamp, p.data.into_owned()));
    }
    (link, v)
}

fn vars() -> Vars {
    let mut v = Vars::suricata_defaults();
    v.set_address("HOME_NET", "[198.19.0.0/16]");
    v.set_address("EXTERNAL_NET", "!$HOME_NET");
    v
}

/// All ET Open rule lines (enabled ones), in file order.
fn et_rules() -> Vec<String> {
    let dir = shared().join("data/et-open");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("ET Open rules dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rules"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        out.extend(
            text.lines()
                .filter(|l| {
                    let l = l.trim_start();
                    !l.is_empty() && !l.starts_with('#')
                })
                .map(str::to_string),
        );
    }
    out
}

fn ruleset(lines: &[String]) -> Arc<RuleSet> {
    let parsed = verdict_rules::parse_str(&lines.join("\n"), "bench.rules");
    let (set, _report) = RuleSet::compile(&parsed.rules, &vars());
    Arc::new(set)
}

/// The rule lines that load (compile without being skipped), in file order.
fn loadable(lines: &[String]) -> Vec<String> {
    let parsed = verdict_rules::parse_str(&lines.join("\n"), "bench.rules");
    let (_, report) = RuleSet::compile(&parsed.rules, &vars());
    let mut ok: Vec<usize> = report
        .loaded
        .iter()
        .map(|r| r.position.line as usize)
        .collect();
    ok.sort_unstable();
    ok.into_iter()
        .filter_map(|l| lines.get(l.wrapping_sub(1)).cloned())
        .collect()
}

/// The IP protocol of a captured frame (Ethernet or raw IP), 0 when unknown.
fn ip_proto(link: LinkType, frame: &[u8]) -> u8 {
    let ip = match link {
        LinkType::Ethernet if frame.get(12..14) == Some(&[0x08, 0x00]) => frame.get(14..),
        LinkType::Ethernet if frame.get(12..14) == Some(&[0x86, 0xdd]) => frame.get(14..),
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => Some(frame),
        _ => None,
    };
    match ip {
        Some(ip) if ip.first().is_some_and(|b| b >> 4 == 4) => ip.get(9).copied().unwrap_or(0),
        Some(ip) if ip.first().is_some_and(|b| b >> 4 == 6) => ip.get(6).copied().unwrap_or(0),
        _ => 0,
    }
}

fn bench(c: &mut Criterion) {
    let (link, all) = load_packets(&capture());
    let et = loadable(&et_rules());
    let sets = [
        ("0 rules", ruleset(&[])),
        ("1 rule", ruleset(&[r#"alert tcp any any -> $HOME_NET 80 (msg:"GET"; flow:established,to_server; content:"GET"; sid:1;)"#.to_string()])),
        ("1000 ET rules", ruleset(&et[..et.len().min(1000)])),
        ("all ET rules", ruleset(&et)),
    ];
    let traffic = [
        ("mixed", all.clone()),
        (
            "tcp",
            all.iter()
                .filter(|(_, p)| ip_proto(link, p) == 6)
                .cloned()
                .collect(),
        ),
        (
            "udp",
            all.iter()
                .filter(|(_, p)| ip_proto(link, p) == 17)
                .cloned()
                .collect::<Vec<_>>(),
        ),
    ];
    for (kind, packets) in &traffic {
        bench_traffic(c, kind, link, packets, &sets);
    }
}

fn bench_traffic(
    c: &mut Criterion,
    kind: &str,
    link: LinkType,
    packets: &[(Duration, Vec<u8>)],
    sets: &[(&str, Arc<RuleSet>)],
) {
    let bytes: usize = packets.iter().map(|(_, b)| b.len()).sum();
    eprintln!(
        "{kind}: {} packets, {} bytes, mean {:.0} bytes/packet",
        packets.len(),
        bytes,
        bytes as f64 / packets.len().max(1) as f64
    );
    let mut g = c.benchmark_group(format!("inspect-{kind}"));
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    for (name, set) in sets {
        // Report what the set holds and how much fires, once.
        let mut e = Engine::new(RulesInspector::new(set.clone()), EngineConfig::default());
        for (ts, p) in packets {
            e.inspect(*ts, p, PacketMeta { link });
        }
        eprintln!(
            "{kind}, {name}: {} rules loaded, {} alerts on the capture",
            set.len(),
            e.stats().alerts
        );
        g.bench_function(*name, |b| {
            b.iter_batched(
                || Engine::new(RulesInspector::new(set.clone()), EngineConfig::default()),
                |mut e| {
                    for (ts, p) in packets {
                        std::hint::black_box(e.inspect(*ts, p, PacketMeta { link }).verdict);
                    }
                    e
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
