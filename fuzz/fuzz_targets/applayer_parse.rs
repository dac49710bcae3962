//! Fuzzes the app-layer parsers: any bytes, as a TCP or UDP payload on any ports, must detect
//! and parse without panicking, and every accessor of the views must be safe to call.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verdict_applayer::{dns, events, ftp, http, parse, tls, AppProto, Parsed, Transport};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the transport and the ports; the rest is the payload.
    let Some((&sel, payload)) = data.split_first() else {
        return;
    };
    let transport = if sel & 1 == 0 { Transport::Tcp } else { Transport::Udp };
    let port = [80, 53, 443, 21][usize::from(sel >> 1 & 3)];
    match parse(payload, transport, 40000, port) {
        Some(Parsed::HttpRequest(r)) => {
            let _ = (r.host(), r.header(b"user-agent"), r.body(), r.headers().count());
            let _ = (r.header_block_normalized(), r.header_names(), r.start());
            let _ = http::normalize_uri(r.uri_raw);
        }
        Some(Parsed::HttpResponse(r)) => {
            let _ = (r.status(), r.header(b"server"), r.body(), r.headers().count());
            let _ = (r.header_block_normalized(), r.header_names(), r.start());
        }
        Some(Parsed::Dns(m)) => {
            let _ = (m.id(), m.is_response(), m.opcode(), m.rcode(), m.questions().count());
        }
        Some(Parsed::TlsClientHello(c)) => {
            let _ = (c.sni, c.ja3(), c.ja3_hash(), c.extension_list().count());
            let _ = c.alpn().count();
        }
        Some(Parsed::TlsHandshake(h)) => {
            let _ = (h.certs.len(), h.server_hello.map(|s| s.ja3s_hash()));
        }
        Some(Parsed::Ssh(m)) => {
            let _ = (m.banner, m.kexinit.map(|k| k.hassh_string()));
        }
        Some(Parsed::FtpCommand(c)) => {
            let _ = (c.verb, c.arg, c.active_addr());
        }
        Some(Parsed::FtpReply(r)) => {
            let _ = (r.code_num(), r.lines().count(), r.passive_addr());
        }
        Some(Parsed::Tls { .. }) | None => {}
    }
    // Each parser directly, whatever detection says.
    let _ = http::normalize_uri(payload);
    let _ = (http::dechunk(payload), http::is_chunked(payload));
    let _ = (http::decompress(payload, b"gzip"), http::decompress(payload, b"deflate"));
    let _ = http::Request::parse(payload);
    let _ = http::Response::parse(payload);
    if let Ok(m) = dns::Message::parse(payload) {
        let _ = m.questions().count();
    }
    let _ = dns::parse_tcp(payload);
    let _ = dns::read_name(payload, usize::from(sel));
    if let Ok(c) = tls::ClientHello::parse(payload) {
        let _ = c.ja3();
    }
    // An SSLv2 hello rewritten as a TLS record must parse as a ClientHello.
    if let Some(rec) = tls::sslv2_client_hello_record(payload) {
        assert!(tls::ClientHello::parse(&rec).is_ok());
    }
    // FTP: the parsers and the framer (whose messages stay bounded).
    let _ = ftp::Command::parse(payload).map(|c| c.active_addr());
    let _ = ftp::Reply::parse(payload).map(|r| (r.passive_addr(), r.lines().count()));
    let _ = (ftp::message_len(payload, true), ftp::parse_eprt_arg(payload));
    let mut framer = ftp::Framer::default();
    let mut buf = Vec::new();
    let mut rest = payload;
    while !rest.is_empty() {
        let (used, done) = framer.data(&mut buf, rest, sel & 8 != 0);
        assert!(used > 0 && used <= rest.len());
        assert!(buf.len() <= ftp::MAX_REPLY + ftp::MAX_LINE + 1);
        rest = &rest[used..];
        if done {
            buf.clear();
        }
    }
    // App-layer events, for every protocol and direction.
    for proto in [AppProto::Http, AppProto::Dns, AppProto::Tls, AppProto::Ssh, AppProto::Ftp] {
        let _ = events::message_events(proto, payload, transport, sel & 8 == 0);
    }
});
