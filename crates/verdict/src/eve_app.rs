//! App-layer metadata of EVE `alert` events: the `http`, `dns`, `tls` and `ssh` objects
//! Suricata adds to an alert about the transaction it fired on (`types.alert.metadata`).
//!
//! The engine keeps a bounded copy of the message an alert fired on
//! ([`verdict_engine::AppSnapshot`]); this module parses it again only when the alert is
//! written, so packets without alerts pay nothing. Strings from the wire are written as
//! Suricata writes them: valid UTF-8 as is, anything else with printable ASCII kept and
//! other bytes as `\xHH`; each is cut to [`MAX_FIELD`] bytes.

use std::net::IpAddr;

use serde_json::{json, Map, Value};
use verdict_applayer::{dns, http, parse_as, tls, tls_server, Parsed};
use verdict_engine::AppSnapshot;

/// The most bytes of one wire string written into an event.
pub const MAX_FIELD: usize = 4096;

/// The most ALPN names listed per side.
const MAX_ALPNS: usize = 32;

/// The most DNS questions listed.
const MAX_QUERIES: usize = 32;

/// Where an `X-Forwarded-For` address goes (Suricata's `xff.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum XffMode {
    /// `extra-data`: added as `http.xff`.
    ExtraData,
    /// `overwrite`: replaces the client's address (`src_ip` to server, `dest_ip` to client).
    Overwrite,
}

/// Which address of a list the header holds (Suricata's `xff.deployment`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum XffDeployment {
    /// `reverse`: behind a reverse proxy, the last address is the client's.
    Reverse,
    /// `forward`: behind a forward proxy, the first address is the client's.
    Forward,
}

/// Suricata's `xff` settings of an EVE output (`[outputs.xff]` of `verdict run`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct XffConfig {
    /// What to do with the address.
    pub mode: XffMode,
    /// Which address of the list.
    pub deployment: XffDeployment,
    /// The header that holds it (`X-Forwarded-For`).
    pub header: String,
}

impl Default for XffConfig {
    fn default() -> Self {
        XffConfig {
            mode: XffMode::ExtraData,
            deployment: XffDeployment::Reverse,
            header: "X-Forwarded-For".into(),
        }
    }
}

/// What alert events carry about the app layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppMetaOptions {
    /// Write the `http`/`dns`/`tls`/`ssh` objects (`types.alert.metadata`, on by default).
    pub enabled: bool,
    /// `X-Forwarded-For` handling, when enabled.
    pub xff: Option<XffConfig>,
}

impl Default for AppMetaOptions {
    fn default() -> Self {
        AppMetaOptions {
            enabled: true,
            xff: None,
        }
    }
}

/// The app-layer objects of one alert, and the address `xff` overwrite asks for.
#[derive(Debug, Default, PartialEq)]
pub struct AppMeta {
    /// `http`, `dns`, `tls` or `ssh`, keyed by name.
    pub fields: Map<String, Value>,
    /// The client address from `X-Forwarded-For` (mode overwrite): it replaces `src_ip`
    /// of a to-server alert and `dest_ip` of a to-client one.
    pub overwrite_client: Option<IpAddr>,
}

/// A wire string as Suricata writes it: valid UTF-8 kept, else printable ASCII kept and
/// other bytes as `\xHH`; at most [`MAX_FIELD`] input bytes.
pub fn wire_string(b: &[u8]) -> String {
    let b = &b[..b.len().min(MAX_FIELD)];
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => {
            let mut out = String::with_capacity(b.len() * 2);
            for &c in b {
                if c == b' ' || c.is_ascii_graphic() {
                    out.push(char::from(c));
                } else {
                    out.push_str(&format!("\\x{c:02X}"));
                }
            }
            out
        }
    }
}

/// Builds the metadata of an alert from its snapshot. With metadata off, only `xff`
/// overwrite still applies (Suricata handles `xff` apart from `metadata`).
pub fn app_meta(snap: &AppSnapshot, o: &AppMetaOptions) -> AppMeta {
    let mut meta = AppMeta::default();
    let xff_only = !o.enabled;
    if xff_only && (o.xff.is_none() || snap.proto != verdict_applayer::AppProto::Http) {
        return meta;
    }
    let Some(parsed) = parse_as(snap.proto, &snap.bytes, snap.transport) else {
        return meta;
    };
    match parsed {
        Parsed::HttpRequest(r) => {
            let mut m = Map::new();
            http_request(&mut m, &r);
            xff(&mut meta, &mut m, r.header(xff_name(o).as_bytes()), o);
            meta.fields.insert("http".into(), Value::Object(m));
        }
        Parsed::HttpResponse(r) => {
            let mut m = Map::new();
            if !snap.request.is_empty() {
                if let Ok(req) = http::Request::parse(&snap.request) {
                    http_request(&mut m, &req);
                    xff(&mut meta, &mut m, req.header(xff_name(o).as_bytes()), o);
                }
            }
            if let Some(ct) = r.header(b"content-type") {
                let ct = ct.split(|&c| c == b';').next().unwrap_or(ct);
                m.insert(
                    "http_content_type".into(),
                    wire_string(ct.trim_ascii()).into(),
                );
            }
            if m.get("protocol").is_none() && !r.protocol.is_empty() {
                m.insert("protocol".into(), wire_string(r.protocol).into());
            }
            if let Some(status) = r.status_number() {
                m.insert("status".into(), status.into());
            }
            m.insert("length".into(), r.body().len().into());
            meta.fields.insert("http".into(), Value::Object(m));
        }
        Parsed::Dns(msg) => {
            meta.fields.insert("dns".into(), dns_object(&msg));
        }
        // FTP as Suricata's alert metadata names it: the command, or the reply's code and
        // lines.
        Parsed::FtpCommand(c) => {
            let mut m = Map::new();
            m.insert("command".into(), wire_string(c.verb).into());
            if !c.arg.is_empty() {
                m.insert("command_data".into(), wire_string(c.arg).into());
            }
            meta.fields.insert("ftp".into(), Value::Object(m));
        }
        Parsed::FtpReply(r) => {
            let mut m = Map::new();
            m.insert(
                "completion_code".into(),
                Value::Array(vec![wire_string(r.code).into()]),
            );
            m.insert(
                "reply".into(),
                Value::Array(r.lines().take(32).map(|l| wire_string(l).into()).collect()),
            );
            meta.fields.insert("ftp".into(), Value::Object(m));
        }
        Parsed::TlsClientHello(ch) => {
            let mut m = Map::new();
            client_hello(&mut m, &ch);
            meta.fields.insert("tls".into(), Value::Object(m));
        }
        Parsed::TlsHandshake(hs) => {
            let mut m = Map::new();
            if let Ok(ch) = tls::ClientHello::parse(&snap.request) {
                client_hello(&mut m, &ch);
            }
            if let Some(cert) = hs
                .certs
                .first()
                .and_then(|der| tls_server::CertInfo::parse(der).ok())
            {
                m.insert("subject".into(), cert.subject.into());
                m.insert("issuerdn".into(), cert.issuer.into());
                m.insert("serial".into(), cert.serial.into());
                m.insert("fingerprint".into(), cert.fingerprint.into());
                m.insert("notbefore".into(), iso_time(cert.not_before).into());
                m.insert("notafter".into(), iso_time(cert.not_after).into());
            }
            if let Some(sh) = hs.server_hello.as_ref() {
                m.insert("version".into(), tls_version(sh.version).into());
                m.insert(
                    "ja3s".into(),
                    json!({"hash": sh.ja3s_hash(), "string": sh.ja3s()}),
                );
                // ALPN (16): a protocol name list, of which the server picks one.
                let alpns: Vec<Value> = sh
                    .extension_list()
                    .filter(|(t, _)| *t == 16)
                    .flat_map(|(_, d)| alpn_list(d))
                    .take(MAX_ALPNS)
                    .map(|a| wire_string(a).into())
                    .collect();
                if !alpns.is_empty() {
                    m.insert("server_alpns".into(), Value::Array(alpns));
                }
            }
            meta.fields.insert("tls".into(), Value::Object(m));
        }
        Parsed::Ssh(s) => {
            if let Some(b) = s.banner {
                let side = if snap.to_server { "client" } else { "server" };
                meta.fields.insert(
                    "ssh".into(),
                    json!({ side: {
                        "proto_version": wire_string(b.proto_version),
                        "software_version": wire_string(b.software_version),
                    }}),
                );
            }
        }
        Parsed::Tls { .. } => {}
    }
    if xff_only {
        meta.fields.clear();
    }
    meta
}

/// The client's fields: `sni`, `ja3`, `client_alpns`.
fn client_hello(m: &mut Map<String, Value>, ch: &tls::ClientHello<'_>) {
    if let Some(sni) = ch.sni {
        m.insert("sni".into(), wire_string(sni).into());
    }
    m.insert(
        "ja3".into(),
        json!({"hash": ch.ja3_hash(), "string": ch.ja3()}),
    );
    let alpns: Vec<Value> = ch
        .alpn()
        .take(MAX_ALPNS)
        .map(|a| wire_string(a).into())
        .collect();
    if !alpns.is_empty() {
        m.insert("client_alpns".into(), Value::Array(alpns));
    }
}

/// The names of an ALPN extension body (a 2-byte length, then 1-byte-length names); a
/// malformed tail ends the list.
fn alpn_list(d: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut b = d.get(2..).unwrap_or(&[]);
    std::iter::from_fn(move || {
        let n = usize::from(*b.first()?);
        let name = b.get(1..1 + n)?;
        b = b.get(1 + n..).unwrap_or(&[]);
        Some(name)
    })
}

fn xff_name(o: &AppMetaOptions) -> &str {
    o.xff
        .as_ref()
        .map(|x| x.header.as_str())
        .unwrap_or("X-Forwarded-For")
}

/// Applies the `xff` settings to a request's header value.
fn xff(meta: &mut AppMeta, m: &mut Map<String, Value>, value: Option<&[u8]>, o: &AppMetaOptions) {
    let (Some(cfg), Some(value)) = (o.xff.as_ref(), value) else {
        return;
    };
    let mut list = value
        .split(|&c| c == b',')
        .map(|a| a.trim_ascii())
        .filter(|a| !a.is_empty());
    let pick = match cfg.deployment {
        XffDeployment::Forward => list.next(),
        XffDeployment::Reverse => list.next_back(),
    };
    let Some(addr) = pick
        .and_then(|a| std::str::from_utf8(a).ok())
        .and_then(|a| a.parse::<IpAddr>().ok())
    else {
        return;
    };
    match cfg.mode {
        XffMode::ExtraData => {
            m.insert("xff".into(), addr.to_string().into());
        }
        XffMode::Overwrite => meta.overwrite_client = Some(addr),
    }
}

fn http_request(m: &mut Map<String, Value>, r: &http::Request<'_>) {
    if let Some(host) = r.host() {
        // The host without a port, as libhtp normalises it.
        let h = match host.iter().rposition(|&c| c == b':') {
            Some(i)
                if !host.starts_with(b"[")
                    || i.checked_sub(1).and_then(|j| host.get(j)) == Some(&b']') =>
            {
                &host[..i]
            }
            _ => host,
        };
        m.insert("hostname".into(), wire_string(h.trim_ascii()).into());
    }
    m.insert("url".into(), wire_string(r.uri_raw).into());
    if let Some(ua) = r.header(b"user-agent") {
        m.insert("http_user_agent".into(), wire_string(ua).into());
    }
    if let Some(ct) = r.header(b"content-type") {
        m.insert("http_content_type".into(), wire_string(ct).into());
    }
    if let Some(re) = r.header(b"referer") {
        m.insert("http_refer".into(), wire_string(re).into());
    }
    m.insert("http_method".into(), wire_string(r.method).into());
    if !r.protocol.is_empty() {
        m.insert("protocol".into(), wire_string(r.protocol).into());
    }
}

/// The `dns` object of an alert, as Suricata 8 writes it (format version 3).
fn dns_object(msg: &dns::Message<'_>) -> Value {
    let flags = msg.flags();
    let mut m = Map::new();
    m.insert("version".into(), 3.into());
    let response = msg.is_response();
    m.insert(
        "type".into(),
        if response { "response" } else { "request" }.into(),
    );
    m.insert("id".into(), msg.id().into());
    m.insert("flags".into(), format!("{flags:x}").into());
    for (bit, name) in [
        (0x8000, "qr"),
        (0x0400, "aa"),
        (0x0200, "tc"),
        (0x0100, "rd"),
        (0x0080, "ra"),
        (0x0020, "z"),
    ] {
        if flags & bit != 0 {
            m.insert(name.into(), true.into());
        }
    }
    m.insert("opcode".into(), msg.opcode().into());
    m.insert("rcode".into(), rcode_name(msg.rcode()).into());
    let queries: Vec<Value> = msg
        .questions()
        .take(MAX_QUERIES)
        .map_while(Result::ok)
        .map(|q| {
            json!({
                "rrname": wire_string(&q.name),
                "rrtype": rrtype_name(q.qtype),
            })
        })
        .collect();
    if !queries.is_empty() {
        m.insert("queries".into(), Value::Array(queries));
    }
    Value::Object(m)
}

/// A response code's name, as Suricata writes it.
fn rcode_name(rcode: u8) -> String {
    match rcode {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        6 => "YXDOMAIN".into(),
        7 => "YXRRSET".into(),
        8 => "NXRRSET".into(),
        9 => "NOTAUTH".into(),
        10 => "NOTZONE".into(),
        n => n.to_string(),
    }
}

/// A record type's name, as Suricata writes it (the number for types it does not name).
fn rrtype_name(t: u16) -> String {
    let name = match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        13 => "HINFO",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        35 => "NAPTR",
        41 => "OPT",
        43 => "DS",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        50 => "NSEC3",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        252 => "AXFR",
        255 => "ANY",
        257 => "CAA",
        n => return n.to_string(),
    };
    name.into()
}

/// A TLS version as Suricata writes it.
fn tls_version(v: u16) -> String {
    match v {
        0x0200 => "SSLv2".into(),
        0x0300 => "SSLv3".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        v => format!("0x{v:04x}"),
    }
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SS` (certificate validity).
fn iso_time(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, mo, d) = crate::eve::civil_from_days(days);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use verdict_applayer::{AppProto, Transport};

    fn snap(proto: AppProto, t: Transport, to_server: bool, b: &[u8]) -> AppSnapshot {
        AppSnapshot::new(proto, t, to_server, b)
    }

    #[test]
    fn http_request_fields_and_xff() {
        let req = b"GET /a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: curl/8\r\n\
                    Referer: http://x/\r\nX-Forwarded-For: 1.1.1.1, 10.3.3.3\r\n\r\n";
        let s = snap(AppProto::Http, Transport::Tcp, true, req);
        let mut o = AppMetaOptions {
            xff: Some(XffConfig::default()),
            ..Default::default()
        };
        let m = app_meta(&s, &o);
        let h = &m.fields["http"];
        assert_eq!(h["hostname"], "example.com");
        assert_eq!(h["url"], "/a?b=1");
        assert_eq!(h["http_user_agent"], "curl/8");
        assert_eq!(h["http_refer"], "http://x/");
        assert_eq!(h["http_method"], "GET");
        assert_eq!(h["protocol"], "HTTP/1.1");
        assert_eq!(h["xff"], "10.3.3.3");
        o.xff = Some(XffConfig {
            mode: XffMode::Overwrite,
            deployment: XffDeployment::Forward,
            header: "X-Forwarded-For".into(),
        });
        let m = app_meta(&s, &o);
        assert!(m.fields["http"].get("xff").is_none());
        assert_eq!(m.overwrite_client, Some("1.1.1.1".parse().unwrap()));
        o.enabled = false;
        let m = app_meta(&s, &o);
        assert!(m.fields.is_empty());
        assert_eq!(m.overwrite_client, Some("1.1.1.1".parse().unwrap()));
    }

    #[test]
    fn ftp_command_and_reply_fields() {
        let s = snap(AppProto::Ftp, Transport::Tcp, true, b"RETR secret.txt\r\n");
        let m = app_meta(&s, &AppMetaOptions::default());
        assert_eq!(m.fields["ftp"]["command"], "RETR");
        assert_eq!(m.fields["ftp"]["command_data"], "secret.txt");
        let r = b"230-Welcome\r\n230 Logged in\r\n";
        let s = snap(AppProto::Ftp, Transport::Tcp, false, r);
        let m = app_meta(&s, &AppMetaOptions::default());
        assert_eq!(m.fields["ftp"]["completion_code"][0], "230");
        assert_eq!(m.fields["ftp"]["reply"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn http_response_fields() {
        let resp = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html; charset=x\r\n\
                     Content-Length: 3\r\n\r\nabc";
        let mut s = snap(AppProto::Http, Transport::Tcp, false, resp);
        s.request = b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n".to_vec().into();
        let m = app_meta(&s, &AppMetaOptions::default());
        let h = &m.fields["http"];
        assert_eq!(h["status"], 404);
        assert_eq!(h["http_content_type"], "text/html");
        assert_eq!(h["length"], 3);
        assert_eq!(h["hostname"], "h");
        assert_eq!(h["url"], "/x");
    }

    #[test]
    fn invalid_utf8_is_escaped_and_bounded() {
        assert_eq!(wire_string(b"a\xffb\x01"), "a\\xFFb\\x01");
        assert_eq!(wire_string("é".as_bytes()), "é");
        assert_eq!(wire_string(&[b'a'; 10_000]).len(), MAX_FIELD);
        let req = b"GET /\xff\xfe HTTP/1.1\r\nHost: \xc3\x28\r\n\r\n";
        let m = app_meta(
            &snap(AppProto::Http, Transport::Tcp, true, req),
            &AppMetaOptions::default(),
        );
        assert_eq!(m.fields["http"]["url"], "/\\xFF\\xFE");
        assert_eq!(m.fields["http"]["hostname"], "\\xC3(");
    }

    #[test]
    fn dns_response_shape() {
        // id 0x1234, flags 0x8183 (response, rd, ra, NXDOMAIN), one question a.b A IN.
        let mut b = vec![0x12, 0x34, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0];
        b.extend_from_slice(b"\x01a\x01b\x00\x00\x01\x00\x01");
        let m = app_meta(
            &snap(AppProto::Dns, Transport::Udp, false, &b),
            &AppMetaOptions::default(),
        );
        let d = &m.fields["dns"];
        assert_eq!(d["version"], 3);
        assert_eq!(d["type"], "response");
        assert_eq!(d["id"], 0x1234);
        assert_eq!(d["flags"], "8183");
        assert_eq!(d["qr"], true);
        assert_eq!(d["rd"], true);
        assert_eq!(d["ra"], true);
        assert_eq!(d["rcode"], "NXDOMAIN");
        assert_eq!(d["queries"][0]["rrname"], "a.b");
        assert_eq!(d["queries"][0]["rrtype"], "A");
    }

    /// A TLS record with a ClientHello offering `sni` and the `alpn` names.
    fn client_hello(sni: &[u8], alpn: &[&[u8]]) -> Vec<u8> {
        let mut list = vec![0u8];
        list.extend_from_slice(&(sni.len() as u16).to_be_bytes());
        list.extend_from_slice(sni);
        let mut exts = vec![0, 0];
        exts.extend_from_slice(&(list.len() as u16 + 2).to_be_bytes());
        exts.extend_from_slice(&(list.len() as u16).to_be_bytes());
        exts.extend_from_slice(&list);
        let mut protos = Vec::new();
        for p in alpn {
            protos.push(p.len() as u8);
            protos.extend_from_slice(p);
        }
        exts.extend_from_slice(&[0, 16]);
        exts.extend_from_slice(&(protos.len() as u16 + 2).to_be_bytes());
        exts.extend_from_slice(&(protos.len() as u16).to_be_bytes());
        exts.extend_from_slice(&protos);
        let mut body = vec![3, 3];
        body.extend_from_slice(&[1; 32]);
        body.extend_from_slice(&[0, 0, 2, 0x13, 0x01, 1, 0]);
        body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        body.extend_from_slice(&exts);
        let mut hs = vec![1];
        hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&body);
        let mut rec = vec![0x16, 3, 1];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn tls_client_hello_fields() {
        let ch = client_hello(b"a.example\xff", &[b"h2", b"http/1.1"]);
        let m = app_meta(
            &snap(AppProto::Tls, Transport::Tcp, true, &ch),
            &AppMetaOptions::default(),
        );
        let t = &m.fields["tls"];
        assert_eq!(t["sni"], "a.example\\xFF");
        assert_eq!(t["client_alpns"], json!(["h2", "http/1.1"]));
        assert_eq!(t["ja3"]["hash"].as_str().map(str::len), Some(32));
        assert!(t["ja3"]["string"]
            .as_str()
            .unwrap()
            .starts_with("771,4865,"));
    }

    #[test]
    fn alpn_list_stops_at_a_malformed_tail() {
        let names: Vec<&[u8]> = alpn_list(b"\x00\x0c\x02h2\x08http/1.1").collect();
        assert_eq!(names, [&b"h2"[..], b"http/1.1"]);
        let names: Vec<&[u8]> = alpn_list(b"\x00\x09\x02h2\x08http").collect();
        assert_eq!(names, [&b"h2"[..]]);
        assert_eq!(alpn_list(b"").count(), 0);
    }

    #[test]
    fn ssh_banner_side() {
        let m = app_meta(
            &snap(
                AppProto::Ssh,
                Transport::Tcp,
                true,
                b"SSH-2.0-OpenSSH_9.6 Ubuntu\r\n",
            ),
            &AppMetaOptions::default(),
        );
        assert_eq!(m.fields["ssh"]["client"]["proto_version"], "2.0");
        assert_eq!(m.fields["ssh"]["client"]["software_version"], "OpenSSH_9.6");
    }

    #[test]
    fn hostile_bytes_do_not_panic() {
        for proto in [AppProto::Http, AppProto::Tls, AppProto::Dns, AppProto::Ssh] {
            for t in [Transport::Tcp, Transport::Udp] {
                for b in [
                    &b""[..],
                    b"\x16\x03\x01\x00\x05\x01\x00\x00\x01",
                    b"HTTP/1.1 abc\r\n\r\n",
                    b"\x00\x01\x80\x00\x00\x05\x00\x00\x00\x00\x00\x00\xc0\x0c",
                ] {
                    let _ = app_meta(&snap(proto, t, true, b), &AppMetaOptions::default());
                }
            }
        }
    }
}
