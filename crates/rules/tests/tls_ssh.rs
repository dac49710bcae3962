//! TLS server-handshake and SSH keywords, per packet: each keyword gets a packet it matches
//! and one it does not (a server flight with a certificate; an SSH banner with KEXINIT).

use std::net::IpAddr;

use verdict_rules::{DetectState, FlowInput, IpInput, L4Input, PacketInput, RuleSet, Vars};

/// Self-signed EC certificate: `C=US, O=Verdict Test, CN=www.example.org`, serial 0x1f2e3d,
/// SAN www.example.org, alt.example.net, 198.18.0.1 (made with `openssl req -x509`).
const CERT: &[u8] = include_bytes!("../../applayer/testdata/cert.der");
/// Its SHA-1 fingerprint as `openssl x509 -fingerprint -sha1` prints it, lowercased.
const CERT_SHA1: &str = include_str!("../../applayer/testdata/cert.sha1");

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn pkt(payload: &[u8], to_server: bool) -> PacketInput<'_> {
    let (sport, dport) = if to_server {
        (40000, 443)
    } else {
        (443, 40000)
    };
    PacketInput {
        ip: IpInput {
            src: ip("198.18.0.1"),
            dst: ip("198.18.0.2"),
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

fn fires(proto: &str, opts: &str, p: &PacketInput<'_>) -> bool {
    let parsed = verdict_rules::parse_str(
        &format!("alert {proto} any any -> any any ({opts} sid:1;)"),
        "t",
    );
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    let (set, report) = RuleSet::compile(&parsed.rules, &Vars::suricata_defaults());
    assert!(report.invalid.is_empty(), "{opts}: {:#?}", report.invalid);
    assert!(
        report.unsupported.is_empty(),
        "{opts}: {:#?}",
        report.unsupported
    );
    let mut out = Vec::new();
    set.detect(0, p, None, &mut DetectState::new(), &mut out);
    out.iter().any(|m| m.rule.sid == 1)
}

fn u24(n: usize) -> [u8; 3] {
    let b = (n as u32).to_be_bytes();
    [b[1], b[2], b[3]]
}

/// ServerHello (TLS 1.2, cipher 0xc02f, extensions 0xff01, 0x0017), Certificate, ServerHelloDone.
fn server_flight(version: u16) -> Vec<u8> {
    let mut sh = version.to_be_bytes().to_vec();
    sh.extend_from_slice(&[9; 32]);
    sh.extend_from_slice(&[0, 0xc0, 0x2f, 0, 0, 8, 0xff, 1, 0, 0, 0, 0x17, 0, 0]);
    let mut hs = vec![2];
    hs.extend_from_slice(&u24(sh.len()));
    hs.extend_from_slice(&sh);
    hs.push(11);
    hs.extend_from_slice(&u24(CERT.len() + 6));
    hs.extend_from_slice(&u24(CERT.len() + 3));
    hs.extend_from_slice(&u24(CERT.len()));
    hs.extend_from_slice(CERT);
    hs.extend_from_slice(&[14, 0, 0, 0]);
    let mut rec = vec![0x16, 3, 3];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

/// An SSH banner and a KEXINIT in one segment.
fn ssh_start(banner: &str, mac_c2s: &str) -> Vec<u8> {
    let mut k = vec![20];
    k.extend_from_slice(&[0x11; 16]);
    for l in [
        "curve25519-sha256",
        "ssh-ed25519",
        "aes128-ctr",
        "aes256-ctr",
        mac_c2s,
        "hmac-sha2-512",
        "none",
        "zlib@openssh.com",
        "",
        "",
    ] {
        k.extend_from_slice(&(l.len() as u32).to_be_bytes());
        k.extend_from_slice(l.as_bytes());
    }
    k.extend_from_slice(&[0; 5]);
    let mut w = banner.as_bytes().to_vec();
    w.extend_from_slice(&((k.len() + 5) as u32).to_be_bytes());
    w.push(4);
    w.extend_from_slice(&k);
    w.extend_from_slice(&[0; 4]);
    w
}

#[test]
fn certificate_buffers() {
    let f = server_flight(0x0303);
    let p = pkt(&f, false);
    // A handshake record with only a ServerHelloDone.
    let no = [0x16, 3, 3, 0, 4, 14, 0, 0, 0];
    let q = pkt(&no, false);
    for opts in [
        "tls.cert_subject; content:\"CN=www.example.org\"; endswith;",
        "tls.cert_subject; content:\"C=US, O=Verdict Test\"; startswith;",
        "tls_cert_subject; content:\"verdict test\"; nocase;",
        "tls.cert_issuer; content:\"O=Verdict Test\";",
        "tls.cert_serial; content:\"1F:2E:3D\"; bsize:8;",
        "tls.certs; content:\"www.example.org\";",
        "tls.certs; content:\"|30 82|\"; startswith;",
        "tls.subjectaltname; content:\"alt.example.net\"; bsize:15;",
        "tls.subjectaltname; content:\"198.18.0.1\";",
        "tls.subject:\"CN=www.example.org\";",
        "tls.issuerdn:!\"CN=Google\";",
        "tls.version:1.2;",
        "ssl_version:tls1.2;",
        "ssl_version:!tls1.0,tls1.3;",
        "ssl_state:server_hello;",
        "ja3s.string; content:\"771,49199,65281-23\"; bsize:18;",
    ] {
        assert!(fires("tls", opts, &p), "{opts} should match");
        assert!(!fires("tls", opts, &q), "{opts} needs a certificate");
    }
    let fp = CERT_SHA1.trim();
    assert!(fires(
        "tls",
        &format!("tls.cert_fingerprint; content:\"{fp}\";"),
        &p
    ));
    assert!(fires("tls", &format!("tls.fingerprint:\"{fp}\";"), &p));
    for opts in [
        "tls.cert_subject; content:\"CN=www.example.com\";",
        "tls.cert_serial; content:\"1f:2e:3d\";",
        "tls.subject:\"CN=other\";",
        "tls.issuerdn:!\"Verdict\";",
        "tls.fingerprint:\"00:11\";",
        "tls.version:1.3;",
        "ssl_version:tls1.0,tls1.1;",
        "ssl_version:!tls1.2;",
        "ssl_state:client_hello;",
        "ssl_state:!server_hello;",
        "tls.subjectaltname; content:\"www.example.org.\";",
    ] {
        assert!(!fires("tls", opts, &p), "{opts} should not match");
    }
    // The version is the ServerHello's.
    assert!(fires(
        "tls",
        "ssl_version:tls1.1;",
        &pkt(&server_flight(0x0302), false)
    ));
}

#[test]
fn ja3s_hash() {
    let f = server_flight(0x0303);
    // printf "771,49199,65281-23" | md5sum
    let opts = "ja3s.hash; content:\"394441ab65754e2207b1e1b457b3641d\";";
    assert!(fires("tls", opts, &pkt(&f, false)));
    assert!(!fires("tls", opts, &pkt(&server_flight(0x0301), false)));
}

#[test]
fn ssh_buffers() {
    let c = ssh_start("SSH-2.0-OpenSSH_9.6 Debian\r\n", "hmac-sha2-256");
    let s = ssh_start("SSH-1.99-Cisco-1.25\r\n", "hmac-sha1");
    let (pc, ps) = (pkt(&c, true), pkt(&s, false));
    assert!(fires("ssh", "ssh.proto; content:\"2.0\"; bsize:3;", &pc));
    assert!(!fires("ssh", "ssh.proto; content:\"2.0\";", &ps));
    assert!(fires("ssh", "ssh_proto; content:\"1.99\";", &ps));
    assert!(fires(
        "ssh",
        "ssh.software; content:\"OpenSSH_9.6\"; endswith;",
        &pc
    ));
    assert!(!fires("ssh", "ssh.software; content:\"Debian\";", &pc));
    assert!(fires("ssh", "ssh.software; content:\"Cisco-1.25\";", &ps));
    assert!(fires("ssh", "ssh.protoversion:2_compat;", &pc));
    assert!(fires("ssh", "ssh.protoversion:2_compat;", &ps));
    assert!(fires("ssh", "ssh.protoversion:1.99;", &ps));
    assert!(!fires("ssh", "ssh.protoversion:2.0;", &ps));
    assert!(fires("ssh", "ssh.softwareversion:OpenSSH;", &pc));
    assert!(!fires("ssh", "ssh.softwareversion:Cisco;", &pc));
    let hs = "curve25519-sha256;aes128-ctr;hmac-sha2-256;none";
    assert!(fires(
        "ssh",
        &format!(
            "ssh.hassh.string; content:\"{}\"; bsize:{};",
            hs.replace(';', "|3b|"),
            hs.len()
        ),
        &pc
    ));
    // printf '%s' 'curve25519-sha256;aes128-ctr;hmac-sha2-256;none' | md5sum
    let h = "ssh.hassh; content:\"e97d07603350d1111ec2b64bf25413c9\";";
    assert!(fires("ssh", h, &pc), "client hassh");
    assert!(
        !fires("ssh", h, &pkt(&c, false)),
        "ssh.hassh is only inspected to the server"
    );
    let hss = "ssh.hassh.server.string; content:\"curve25519-sha256|3b|aes256-ctr|3b|hmac-sha2-512|3b|zlib@openssh.com\";";
    assert!(fires("ssh", hss, &ps));
    assert!(!fires("ssh", hss, &pkt(&s, true)), "only to the client");
    // printf '%s' 'curve25519-sha256;aes256-ctr;hmac-sha2-512;zlib@openssh.com' | md5sum
    assert!(fires(
        "ssh",
        "ssh.hassh.server; content:\"7a723b54ac902e87f7ec7d9d7f6643e6\";",
        &ps
    ));
    // A non-SSH payload: `alert ssh` does not match.
    assert!(!fires(
        "ssh",
        "content:\"SSH\";",
        &pkt(b"HTTP/1.1 200 OK\r\n\r\nSSH-2.0-x", false)
    ));
    assert!(fires("ssh", "content:\"OpenSSH\";", &pc));
}

#[test]
fn tls_random_buffers() {
    // The ServerHello's random is 32 bytes of 9.
    let f = server_flight(0x0303);
    let p = pkt(&f, false);
    assert!(fires(
        "tls",
        r#"tls.random; content:"|09 09 09 09|"; bsize:32;"#,
        &p
    ));
    assert!(fires(
        "tls",
        r#"tls.random_time; content:"|09 09 09 09|"; bsize:4;"#,
        &p
    ));
    assert!(fires("tls", r#"tls.random_bytes; bsize:28;"#, &p));
    assert!(!fires("tls", r#"tls.random; content:"|01|";"#, &p));
    // A cut ServerHello has no random.
    let cut = &f[..20];
    assert!(!fires("tls", r#"tls.random; bsize:>0;"#, &pkt(cut, false)));
}
