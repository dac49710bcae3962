//! FTP control-channel keywords, per packet: `alert ftp`, `app-layer-protocol:ftp`, the
//! `ftp.*` sticky buffers and `ftpbounce`, each with a packet it matches and one it does not.

use std::net::IpAddr;

use verdict_rules::{DetectState, FlowInput, IpInput, L4Input, PacketInput, RuleSet, Vars};

const CLIENT: &str = "198.18.0.1";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn pkt(payload: &[u8], to_server: bool) -> PacketInput<'_> {
    let (src, dst, sport, dport) = if to_server {
        (CLIENT, "198.18.0.2", 40000, 21)
    } else {
        ("198.18.0.2", CLIENT, 21, 40000)
    };
    PacketInput {
        ip: IpInput {
            src: ip(src),
            dst: ip(dst),
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
            src_port: sport,
            dst_port: dport,
            flags: 0x18,
            seq: 1,
            ack: 1,
            window: 512,
        },
        payload,
        flow: FlowInput {
            tracked: true,
            to_server,
            established: true,
            from_stream: false,
        },
    }
}

fn fires(rule: &str, p: &PacketInput<'_>) -> bool {
    let parsed = verdict_rules::parse_str(&format!("{rule} sid:1;)"), "t");
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    let (set, report) = RuleSet::compile(&parsed.rules, &Vars::suricata_defaults());
    assert!(report.invalid.is_empty(), "{rule}: {:#?}", report.invalid);
    assert!(
        report.unsupported.is_empty(),
        "{rule}: {:#?}",
        report.unsupported
    );
    let mut out = Vec::new();
    set.detect(0, p, None, &mut DetectState::new(), &mut out);
    out.iter().any(|m| m.rule.sid == 1)
}

fn ftp(opts: &str, p: &PacketInput<'_>) -> bool {
    fires(&format!("alert ftp any any -> any any ({opts}"), p)
}

#[test]
fn command_buffers() {
    let user = pkt(b"USER anonymous\r\n", true);
    assert!(ftp("ftp.command; content:\"USER\"; bsize:4;", &user));
    assert!(!ftp("ftp.command; content:\"PASS\";", &user));
    assert!(ftp(
        "ftp.command_data; content:\"anonymous\"; bsize:9;",
        &user
    ));
    assert!(!ftp("ftp.command_data; content:\"USER\";", &user));
    // Commands are inspected to the server only.
    assert!(!ftp(
        "ftp.command; content:\"USER\";",
        &pkt(b"USER x\r\n", false)
    ));
    assert!(ftp("content:\"anonymous\";", &user));
    assert!(fires(
        "alert tcp any any -> any any (app-layer-protocol:ftp;",
        &user
    ));
    assert!(!fires(
        "alert tcp any any -> any any (app-layer-protocol:ftp;",
        &pkt(b"GET / HTTP/1.1\r\n\r\n", true)
    ));
}

#[test]
fn reply_buffers() {
    let r = pkt(
        b"230-Welcome\r\n to the server\r\n230 Login successful.\r\n",
        false,
    );
    assert!(ftp("ftp.completion_code; content:\"230\"; bsize:3;", &r));
    assert!(!ftp("ftp.completion_code; content:\"220\";", &r));
    assert!(ftp(
        "ftp.reply; content:\"Login successful.\"; bsize:17;",
        &r
    ));
    assert!(ftp("ftp.reply; content:\"Welcome\"; startswith;", &r));
    assert!(
        !ftp("ftp.reply; content:\"230\";", &r),
        "the code is not in ftp.reply"
    );
    assert!(!ftp(
        "ftp.reply; content:\"Welcome\";",
        &pkt(b"USER Welcome\r\n", true)
    ));
}

#[test]
fn ftpbounce() {
    let bounce = "alert tcp any any -> any any (ftpbounce;";
    assert!(fires(bounce, &pkt(b"PORT 10,0,0,9,0,80\r\n", true)));
    assert!(!fires(bounce, &pkt(b"PORT 198,18,0,1,232,157\r\n", true)));
    assert!(!fires(bounce, &pkt(b"PORT garbage\r\n", true)));
    assert!(!fires(bounce, &pkt(b"USER 10,0,0,9,0,80\r\n", true)));
}

#[test]
fn ftp_data_is_unsupported_with_a_reason() {
    let parsed = verdict_rules::parse_str(
        "alert ftp-data any any -> any any (file.name; content:\"a\"; sid:1;)",
        "t",
    );
    let (_, report) = RuleSet::compile(&parsed.rules, &Vars::suricata_defaults());
    let text = format!("{:?}", report.unsupported);
    assert!(text.contains("protocol ftp-data"), "{text}");
    assert!(text.contains("data channel"), "{text}");
}

#[test]
fn mode_and_dynamic_port() {
    let port = pkt(b"PORT 198,18,0,1,232,157\r\n", true);
    assert!(ftp("ftp.mode:active;", &port));
    assert!(!ftp("ftp.mode:passive;", &port));
    assert!(ftp("ftp.dynamic_port:59549;", &port));
    assert!(ftp("ftp.dynamic_port:>1024;", &port));
    assert!(!ftp("ftp.dynamic_port:80;", &port));
    let eprt = pkt(b"EPRT |2|::1|6446|\r\n", true);
    assert!(ftp("ftp.mode:active; ftp.dynamic_port:6446;", &eprt));
    let pasv = pkt(b"227 Entering Passive Mode (198,18,0,2,4,1).\r\n", false);
    assert!(ftp("ftp.mode:passive; ftp.dynamic_port:1025;", &pasv));
    assert!(ftp("ftp.mode:passive;", &pkt(b"PASV\r\n", true)));
    let user = pkt(b"USER a\r\n", true);
    assert!(!ftp("ftp.mode:active;", &user));
    assert!(!ftp("ftp.dynamic_port:0-65535;", &user));
}
