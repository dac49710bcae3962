//! Detection throughput of `RuleSet::detect` over synthetic packets, with 1, 1,000 and all
//! loadable ET Open rules (from `$VERDICT_SHARED/data/et-open`, default `../shared` next to
//! the repo). Run: `cargo bench -p verdict-rules --bench detect`.
//!
//! The packets are a fixed mix: HTTP-like requests and responses on TCP/80 and 443, DNS-like
//! UDP queries, bulk TCP data on high ports, and ICMP echo. Criterion reports bytes/s (of
//! transport payload) per batch; packets/s is the batch size divided by the time per batch.

use std::hint::black_box;
use std::net::IpAddr;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use verdict_rules::{
    DetectState, FlowInput, FlowVars, IpInput, L4Input, PacketInput, RuleSet, Vars,
};

struct Pkt {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    l4: L4Input,
    payload: Vec<u8>,
}

fn packets() -> Vec<Pkt> {
    let client: IpAddr = "192.168.1.10".parse().unwrap();
    let server: IpAddr = "93.184.216.34".parse().unwrap();
    let mut v = Vec::new();
    let mut seed = 0x1234_5678u32;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    for i in 0..64u32 {
        let req = format!(
            "GET /index{i}.html?q={} HTTP/1.1\r\nHost: www.example{i}.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: */*\r\nCookie: session={:08x}\r\n\r\n",
            rnd(),
            rnd()
        );
        v.push(Pkt {
            src: client,
            dst: server,
            proto: 6,
            l4: L4Input::Tcp {
                src_port: 40000 + i as u16,
                dst_port: 80,
                flags: 0x18,
                seq: 1,
                ack: 1,
                window: 500,
            },
            payload: req.into_bytes(),
        });
        let mut body = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1200\r\n\r\n<html><body>".to_vec();
        while body.len() < 1400 {
            body.extend_from_slice(
                format!("<p>paragraph {} lorem ipsum dolor sit amet</p>", rnd()).as_bytes(),
            );
        }
        v.push(Pkt {
            src: server,
            dst: client,
            proto: 6,
            l4: L4Input::Tcp {
                src_port: 80,
                dst_port: 40000 + i as u16,
                flags: 0x18,
                seq: 1,
                ack: 1,
                window: 500,
            },
            payload: body,
        });
        let bulk: Vec<u8> = (0..1400).map(|_| (rnd() & 0xff) as u8).collect();
        v.push(Pkt {
            src: client,
            dst: server,
            proto: 6,
            l4: L4Input::Tcp {
                src_port: 50000,
                dst_port: 443,
                flags: 0x18,
                seq: 1,
                ack: 1,
                window: 500,
            },
            payload: bulk,
        });
        let mut dns = vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in [format!("host{i}"), "example".into(), "com".into()] {
            dns.push(label.len() as u8);
            dns.extend_from_slice(label.as_bytes());
        }
        dns.extend_from_slice(&[0, 0, 1, 0, 1]);
        v.push(Pkt {
            src: client,
            dst: "8.8.8.8".parse().unwrap(),
            proto: 17,
            l4: L4Input::Udp {
                src_port: 53000,
                dst_port: 53,
            },
            payload: dns,
        });
        if i % 8 == 0 {
            v.push(Pkt {
                src: client,
                dst: server,
                proto: 1,
                l4: L4Input::Icmp {
                    icmp_type: 8,
                    code: 0,
                    id: Some(1),
                    seq: Some(i as u16),
                    v6: false,
                },
                payload: b"abcdefghijklmnopqrstuvwabcdefghi".to_vec(),
            });
        }
    }
    v
}

fn input(p: &Pkt) -> PacketInput<'_> {
    PacketInput {
        ip: IpInput {
            src: p.src,
            dst: p.dst,
            proto: p.proto,
            ttl: 64,
            tos: 0,
            id: 1,
            ipopts: 0,
            fragbits: 0b10,
            frag_offset: 0,
            header: &[],
        },
        l4: p.l4,
        payload: &p.payload,
        flow: FlowInput {
            tracked: true,
            to_server: p.src.to_string().starts_with("192.168."),
            established: true,
            from_stream: false,
        },
    }
}

fn et_rules() -> Vec<String> {
    let shared = std::env::var_os("VERDICT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let dir = shared.join("data/et-open");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        eprintln!(
            "ET Open not found at {}: benchmarking synthetic rules only",
            dir.display()
        );
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rules"))
        .collect();
    files.sort();
    let mut b = RuleSet::builder();
    for f in &files {
        let _ = b.add_file(f);
    }
    let (set, _) = b.build();
    // File order, as loaded.
    let mut metas: Vec<_> = set.metas().cloned().collect();
    metas.sort_by(|a, b| {
        (a.position.file.clone(), a.position.line).cmp(&(b.position.file.clone(), b.position.line))
    });
    metas.iter().map(|m| m.text.clone()).collect()
}

fn compile(rules: &[String]) -> RuleSet {
    let start = std::time::Instant::now();
    let parsed = verdict_rules::parse_str(&rules.join("\n"), "bench.rules");
    let set = RuleSet::compile(&parsed.rules, &Vars::suricata_defaults()).0;
    eprintln!(
        "compiled {} rules in {:.0} ms",
        set.len(),
        start.elapsed().as_secs_f64() * 1000.0
    );
    set
}

fn bench(c: &mut Criterion) {
    let pkts = packets();
    let bytes: u64 = pkts.iter().map(|p| p.payload.len() as u64).sum();
    let et = et_rules();
    let mut sets: Vec<(String, RuleSet)> = Vec::new();
    let one = vec![r#"alert tcp any any -> any 80 (msg:"one"; flow:established,to_server; content:"/admin.php"; nocase; sid:1;)"#.to_string()];
    sets.push(("1 rule".into(), compile(&one)));
    if !et.is_empty() {
        sets.push(("1000 ET rules".into(), compile(&et[..et.len().min(1000)])));
        sets.push((format!("all {} loadable ET rules", et.len()), compile(&et)));
    }
    let mut g = c.benchmark_group("detect");
    g.throughput(Throughput::Bytes(bytes));
    eprintln!("batch: {} packets, {} payload bytes", pkts.len(), bytes);
    for (name, set) in &sets {
        let mut st = DetectState::new();
        let mut out = Vec::new();
        let mut fv = FlowVars::new();
        let mut probe = DetectState::new();
        let mut alerts = 0;
        for p in &pkts {
            out.clear();
            set.detect(0, &input(p), Some(&mut fv), &mut probe, &mut out);
            alerts += out.len();
        }
        eprintln!(
            "{name}: {} rules, {:.1} rules fully evaluated per packet, {alerts} matches per batch",
            set.len(),
            probe.candidates_checked as f64 / pkts.len() as f64
        );
        g.bench_function(name.as_str(), |b| {
            b.iter(|| {
                for p in &pkts {
                    out.clear();
                    set.detect(0, &input(p), Some(&mut fv), &mut st, &mut out);
                    black_box(out.len());
                }
            })
        });
    }
    g.finish();

    // The benchmark harness's TCP bulk transfer (bench/src/traffic.rs): 1,448-byte segments
    // of one repeated byte to port 9002, and the same with random bytes. Neither is HTTP, so
    // the HTTP rules' patterns must not be scanned (see the prefilter's module docs).
    let bulk = |payload: Vec<u8>| Pkt {
        src: "198.18.1.2".parse().unwrap(),
        dst: "198.18.2.2".parse().unwrap(),
        proto: 6,
        l4: L4Input::Tcp {
            src_port: 40000,
            dst_port: 9002,
            flags: 0x10,
            seq: 1,
            ack: 1,
            window: 500,
        },
        payload,
    };
    let mut seed = 0x9e37_79b9u32;
    let random: Vec<u8> = (0..1448)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as u8
        })
        .collect();
    let kinds = [
        ("same-byte segment", bulk(vec![0x5a; 1448])),
        ("random segment", bulk(random)),
    ];
    let mut g = c.benchmark_group("detect-bulk-tcp");
    g.throughput(Throughput::Bytes(1448));
    for (name, set) in &sets {
        for (kind, p) in &kinds {
            let mut st = DetectState::new();
            let mut out = Vec::new();
            let mut fv = FlowVars::new();
            g.bench_function(format!("{name}, {kind}"), |b| {
                b.iter(|| {
                    out.clear();
                    set.detect(0, &input(p), Some(&mut fv), &mut st, &mut out);
                    black_box(out.len());
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
