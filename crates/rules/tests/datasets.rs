//! The `dataset` and `datarep` keywords through the rule set: shared sets, `set` / `unset`
//! changing them between packets, files loaded relative to the rule file and saved into the
//! data directory.

use std::net::IpAddr;

use verdict_rules::{
    DatasetDecl, DatasetDirs, DatasetType, DetectState, FlowInput, IpInput, L4Input, PacketInput,
    RuleSet,
};

fn http(ua: &str) -> Vec<u8> {
    format!("GET /x HTTP/1.1\r\nHost: example.com\r\nUser-Agent: {ua}\r\n\r\n").into_bytes()
}

fn pkt(payload: &[u8]) -> PacketInput<'_> {
    PacketInput {
        ip: IpInput {
            src: "192.168.1.5".parse::<IpAddr>().unwrap(),
            dst: "203.0.113.7".parse::<IpAddr>().unwrap(),
            proto: 6,
            ttl: 64,
            tos: 0,
            id: 1,
            ipopts: 0,
            fragbits: 0,
            frag_offset: 0,
            header: &[],
        },
        l4: L4Input::Tcp {
            src_port: 40000,
            dst_port: 80,
            flags: 0x18,
            seq: 1,
            ack: 1,
            window: 512,
        },
        payload,
        flow: FlowInput {
            tracked: true,
            to_server: true,
            established: true,
            from_stream: false,
        },
    }
}

fn sids(set: &RuleSet, payload: &[u8]) -> Vec<u32> {
    let mut st = DetectState::new();
    let mut out = Vec::new();
    set.detect(0, &pkt(payload), None, &mut st, &mut out);
    let mut v: Vec<u32> = out.iter().map(|m| m.rule.sid).collect();
    v.sort_unstable();
    v
}

fn tmpdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("verdict-ds-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn set_isset_unset_share_one_set() {
    let dir = tmpdir("share");
    let rules = "\
alert http any any -> any any (http.user_agent; dataset:set,ua,type string,save ua.lst; sid:1;)\n\
alert http any any -> any any (http.user_agent; dataset:isset,ua; sid:2;)\n\
alert http any any -> any any (http.user_agent; content:\"bye\"; dataset:unset,ua; sid:3;)\n\
alert http any any -> any any (http.user_agent; dataset:isnotset,ua; sid:4;)\n";
    let mut b = RuleSet::builder().dataset_dirs(DatasetDirs {
        data_dir: Some(dir.clone()),
    });
    b.add_str(rules, "t.rules");
    let (set, report) = b.build();
    assert_eq!(report.loaded.len(), 4, "{report:#?}");
    // Evaluation order is file order here: set (new: match), then isset sees it.
    assert_eq!(sids(&set, &http("curl")), [1, 2]);
    // Known now: set does not match, isset does.
    assert_eq!(sids(&set, &http("curl")), [2]);
    assert_eq!(sids(&set, &http("wget")), [1, 2]);
    // Rules run in order on one packet: sid 1 adds "bye", sid 3 removes it again (a
    // match), so sid 4 sees it absent.
    assert_eq!(sids(&set, &http("bye")), [1, 2, 3, 4]);
    assert_eq!(set.datasets().len(), 1);
    assert_eq!(set.datasets()[0].len(), 2);
    let saved = set.save_datasets().unwrap();
    assert_eq!(saved, [dir.join("ua.lst")]);
    // base64 of curl and wget, sorted.
    assert_eq!(
        std::fs::read_to_string(dir.join("ua.lst")).unwrap(),
        "Y3VybA==\nd2dldA==\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn datarep_and_load_next_to_the_rule_file() {
    let dir = tmpdir("rep");
    std::fs::write(dir.join("rep.lst"), "Y3VybA==,90\nd2dldA==,10\n").unwrap();
    let rules = "alert http any any -> any any (http.user_agent; datarep:uarep,>,50,type string,load rep.lst; sid:7;)\n";
    std::fs::write(dir.join("t.rules"), rules).unwrap();
    let mut b = RuleSet::builder();
    b.add_file(&dir.join("t.rules")).unwrap();
    let (set, report) = b.build();
    assert_eq!(report.loaded.len(), 1, "{report:#?}");
    assert_eq!(sids(&set, &http("curl")), [7]);
    assert!(sids(&set, &http("wget")).is_empty());
    assert!(sids(&set, &http("lynx")).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_datasets_are_reported_per_rule() {
    let rules = "\
alert http any any -> any any (http.user_agent; dataset:isset,nope-no-type; sid:1;)\n\
alert http any any -> any any (http.user_agent; dataset:isset,x,type string,load /nonexistent/x.lst; sid:2;)\n\
alert http any any -> any any (http.user_agent; dataset:frob,x,type string; sid:3;)\n\
alert tcp any any -> any any (dataset:isset,x,type string; sid:4;)\n\
alert http any any -> any any (http.host; dataset:isset,j,type string,format json,context_key k; sid:5;)\n\
alert http any any -> any any (http.host; dataset:isset,d,type string; sid:6;)\n\
alert http any any -> any any (http.host; dataset:isset,d,type md5; sid:7;)\n";
    let mut b = RuleSet::builder();
    b.add_str(rules, "t.rules");
    let (_, report) = b.build();
    let invalid: Vec<u32> = report.invalid.iter().filter_map(|r| r.sid).collect();
    let unsupported: Vec<u32> = report.unsupported.iter().filter_map(|r| r.sid).collect();
    assert_eq!(invalid, [1, 2, 3, 7]);
    assert_eq!(unsupported, [4, 5]);
    assert_eq!(report.loaded.len(), 1);
}

#[test]
fn datasets_work_on_packet_buffers_too() {
    // The IPv4 header (20 bytes here) as a string value.
    let mut b = RuleSet::builder();
    b.add_str(
        "alert tcp any any -> any any (ipv4.hdr; dataset:set,hdrs,type string; sid:1;)\n",
        "t.rules",
    );
    let (set, report) = b.build();
    assert_eq!(report.loaded.len(), 1, "{report:#?}");
    let hdr = [
        0x45u8, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 192, 0, 2, 9,
    ];
    let mut p = pkt(b"x");
    p.ip.header = &hdr;
    let mut st = DetectState::new();
    let mut out = Vec::new();
    set.detect(0, &p, None, &mut st, &mut out);
    assert_eq!(out.len(), 1, "new header: set matches");
    out.clear();
    set.detect(0, &p, None, &mut st, &mut out);
    assert!(out.is_empty(), "known header: set does not match");
}

#[test]
fn declared_datasets_are_typed_for_the_rules() {
    let mut b = RuleSet::builder();
    b.declare_dataset(DatasetDecl {
        name: "hosts".into(),
        kind: Some(DatasetType::String),
        ..Default::default()
    });
    b.declare_dataset(DatasetDecl {
        name: "untyped".into(),
        ..Default::default()
    });
    b.add_str(
        "alert http any any -> any any (http.host; dataset:set,hosts; sid:1;)\n",
        "t.rules",
    );
    let (set, report) = b.build();
    assert_eq!(report.loaded.len(), 1);
    assert_eq!(report.dataset_errors.len(), 1);
    assert_eq!(sids(&set, &http("x")), [1]);
    assert_eq!(sids(&set, &http("x")), Vec::<u32>::new());
}
