//! Application-layer protocol detection and parsing for Verdict.
//!
//! The parsers read one message from a byte slice: an HTTP/1 request or response head (and
//! the body bytes that follow it), a DNS message, a TLS ClientHello or the server's handshake
//! (certificates), an SSH banner and KEXINIT. For TCP, [`flow`] keeps
//! the per-flow state over the reassembled stream (`verdict_stream`): it detects the
//! protocol, frames messages (HTTP head and body, TLS records, DNS length prefix) and hands
//! whole messages to these parsers, so a request cut over several segments parses as one.
//! A UDP datagram (or a payload given without a flow) is parsed on its own by [`parse`].
//!
//! Design:
//! - sans-IO and zero-copy: every parser takes a byte slice and returns a view that borrows
//!   it ([`http::Request`], [`http::Response`], [`dns::Message`], [`tls::ClientHello`]);
//!   nothing is allocated except the few normalised forms that differ from the wire bytes
//!   ([`http::normalize_uri`], [`http::Request::header_block_normalized`]), built on demand.
//! - [`detect`] names the protocol from the first payload bytes and the ports, as Suricata's
//!   probing parsers do, without keeping state.
//! - **No-panic promise**: no function of this crate panics, whatever the input bytes; every
//!   read is bounds-checked (`get`, checked slicing). Hostile or truncated input gives
//!   [`Error::Incomplete`] or [`Error::Invalid`]. The `applayer_parse` fuzz target checks it.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod dns;
pub mod events;
pub mod flow;
pub mod ftp;
pub mod http;
pub mod ssh;
pub mod tls;
pub mod tls_server;

/// Why a parser gave no view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The bytes are a valid start but end before the parser has what it needs (the rest is
    /// in later segments: feed more of the stream).
    #[error("incomplete message: the rest is in later bytes of the stream")]
    Incomplete,
    /// The bytes are not this protocol, or are malformed.
    #[error("malformed {0}: the bytes do not follow the protocol")]
    Invalid(&'static str),
}

/// The application-layer protocols this crate detects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppProto {
    /// HTTP/1.0 or HTTP/1.1.
    Http,
    /// TLS (or SSLv3) with a handshake record.
    Tls,
    /// DNS.
    Dns,
    /// SSH (banner `SSH-` on either side).
    Ssh,
    /// The FTP control channel (commands and replies; not the data channel).
    Ftp,
}

impl AppProto {
    /// The protocol's name as Suricata's rule headers and `app-layer-protocol` spell it.
    pub fn name(self) -> &'static str {
        match self {
            AppProto::Http => "http",
            AppProto::Tls => "tls",
            AppProto::Dns => "dns",
            AppProto::Ssh => "ssh",
            AppProto::Ftp => "ftp",
        }
    }

    /// The protocol for a Suricata rule-header or `app-layer-protocol` name (`http`, `http1`,
    /// `tls`, `ssl`, `dns`), None for every other name.
    pub fn from_name(name: &str) -> Option<AppProto> {
        Some(match name {
            "http" | "http1" => AppProto::Http,
            "tls" | "ssl" => AppProto::Tls,
            "dns" => AppProto::Dns,
            "ssh" => AppProto::Ssh,
            "ftp" => AppProto::Ftp,
            _ => return None,
        })
    }
}

/// The transport a payload came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TCP: HTTP, TLS and DNS (with its 2-byte length prefix).
    Tcp,
    /// UDP: DNS.
    Udp,
}

/// Names the protocol of a payload from its first bytes and the ports.
///
/// - HTTP: a request line starting with a known method and a space, or a status line
///   starting with `HTTP/1.`;
/// - TLS: a handshake record (`0x16`, version `0x03 0x00..=0x04`);
/// - SSH: an identification banner (`SSH-`), on either side;
/// - FTP: on port 21 a reply line (`220 `...) or a known command (`USER `...), on other
///   ports a `220` greeting that names FTP ([`ftp::detect`]);
/// - DNS over UDP: port 53 (either side) and a header that parses, or on any port a message
///   that parses fully with at least one question; over TCP: port 53 and a length-prefixed
///   message that parses.
pub fn detect(
    payload: &[u8],
    transport: Transport,
    src_port: u16,
    dst_port: u16,
) -> Option<AppProto> {
    if payload.is_empty() {
        return None;
    }
    let port53 = src_port == 53 || dst_port == 53;
    match transport {
        Transport::Tcp => {
            if http::is_request_start(payload) || http::is_response_start(payload) {
                Some(AppProto::Http)
            } else if tls::is_handshake_start(payload) || tls::is_sslv2_client_hello(payload) {
                Some(AppProto::Tls)
            } else if ssh::is_banner_start(payload) {
                Some(AppProto::Ssh)
            } else if port53 && dns::parse_tcp(payload).is_ok() {
                Some(AppProto::Dns)
            } else if ftp::detect(payload, src_port == 21 || dst_port == 21) {
                Some(AppProto::Ftp)
            } else {
                None
            }
        }
        Transport::Udp => {
            let m = dns::Message::parse(payload).ok()?;
            // Off port 53, only a plausible query or response is taken for DNS: a known
            // opcode (0..=5) and questions that all parse.
            (port53
                || m.opcode() <= 5 && m.questions().count() > 0 && m.questions().all(|q| q.is_ok()))
            .then_some(AppProto::Dns)
        }
    }
}

/// A parsed payload: the detected protocol and its view.
#[derive(Debug, Clone)]
pub enum Parsed<'a> {
    /// An HTTP request head (and the body bytes in this segment).
    HttpRequest(http::Request<'a>),
    /// An HTTP response head (and the body bytes in this segment).
    HttpResponse(http::Response<'a>),
    /// A DNS message.
    Dns(dns::Message<'a>),
    /// A TLS ClientHello.
    TlsClientHello(tls::ClientHello<'a>),
    /// TLS handshake messages that do not start with a ClientHello: the server's flight
    /// (ServerHello, Certificate, ...) or the client's later messages.
    TlsHandshake(tls_server::Handshake<'a>),
    /// The clear-text start of one direction of an SSH connection (banner, KEXINIT).
    Ssh(ssh::SshMessage<'a>),
    /// An FTP command line (client to server).
    FtpCommand(ftp::Command<'a>),
    /// An FTP reply, one line or multi-line (server to client).
    FtpReply(ftp::Reply<'a>),
    /// A TLS record that is not a (complete) ClientHello: only the record version is known.
    Tls {
        /// The record layer version (`0x0301` for TLS 1.0 records, ...).
        record_version: u16,
    },
}

impl Parsed<'_> {
    /// The protocol of this view.
    pub fn proto(&self) -> AppProto {
        match self {
            Parsed::HttpRequest(_) | Parsed::HttpResponse(_) => AppProto::Http,
            Parsed::Dns(_) => AppProto::Dns,
            Parsed::TlsClientHello(_) | Parsed::TlsHandshake(_) | Parsed::Tls { .. } => {
                AppProto::Tls
            }
            Parsed::Ssh(_) => AppProto::Ssh,
            Parsed::FtpCommand(_) | Parsed::FtpReply(_) => AppProto::Ftp,
        }
    }
}

/// Detects the protocol of a payload and parses it. None when no protocol is recognised or
/// the recognised protocol's parser rejects the bytes.
pub fn parse(
    payload: &[u8],
    transport: Transport,
    src_port: u16,
    dst_port: u16,
) -> Option<Parsed<'_>> {
    let proto = detect(payload, transport, src_port, dst_port)?;
    parse_as(proto, payload, transport)
}

/// Parses a message already known to be of protocol `proto` (a framed message from
/// [`flow::FlowParser`]). None when the parser rejects the bytes.
pub fn parse_as(proto: AppProto, bytes: &[u8], transport: Transport) -> Option<Parsed<'_>> {
    match proto {
        AppProto::Http => {
            if http::is_response_start(bytes) {
                http::Response::parse(bytes).ok().map(Parsed::HttpResponse)
            } else if http::is_request_start(bytes) {
                http::Request::parse(bytes).ok().map(Parsed::HttpRequest)
            } else {
                // Neither line: the flow framer hands over such a message only for a server's
                // answer without a status line, an HTTP/0.9 response (all body).
                http::Response::parse_server_bytes(bytes)
                    .ok()
                    .map(Parsed::HttpResponse)
            }
        }
        AppProto::Tls => Some(match tls::ClientHello::parse(bytes) {
            Ok(ch) => Parsed::TlsClientHello(ch),
            Err(_) => match tls_server::Handshake::parse(bytes) {
                Ok(hs) => Parsed::TlsHandshake(hs),
                Err(_) => Parsed::Tls {
                    record_version: tls::record_version(bytes)?,
                },
            },
        }),
        AppProto::Ssh => ssh::SshMessage::parse(bytes).ok().map(Parsed::Ssh),
        // A reply starts with three digits, a command with a letter.
        AppProto::Ftp => match ftp::Reply::parse(bytes) {
            Ok(r) => Some(Parsed::FtpReply(r)),
            Err(_) => ftp::Command::parse(bytes).ok().map(Parsed::FtpCommand),
        },
        AppProto::Dns => match transport {
            Transport::Udp => dns::Message::parse(bytes).ok().map(Parsed::Dns),
            Transport::Tcp => dns::parse_tcp(bytes).ok().map(Parsed::Dns),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_first_bytes() {
        let t = Transport::Tcp;
        assert_eq!(
            detect(b"GET / HTTP/1.1\r\n", t, 1234, 80),
            Some(AppProto::Http)
        );
        assert_eq!(
            detect(b"HTTP/1.1 200 OK\r\n", t, 80, 1234),
            Some(AppProto::Http)
        );
        assert_eq!(
            detect(b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00", t, 1, 443),
            Some(AppProto::Tls)
        );
        assert_eq!(detect(b"GETX / HTTP/1.1", t, 1, 80), None);
        assert_eq!(detect(b"SSH-2.0-x\r\n", t, 22, 1), Some(AppProto::Ssh));
        assert_eq!(detect(b"SSH", t, 1, 22), None);
        assert_eq!(detect(b"", t, 1, 80), None);
        assert_eq!(detect(b"220 hi\r\n", t, 21, 1), Some(AppProto::Ftp));
        assert_eq!(detect(b"USER a\r\n", t, 1, 21), Some(AppProto::Ftp));
        assert_eq!(detect(b"USER a\r\n", t, 1, 2121), None);
    }

    #[test]
    fn dns_over_udp_needs_port_or_full_parse() {
        let q = dns::tests::query(b"\x07example\x03com\x00", 1);
        assert_eq!(detect(&q, Transport::Udp, 5000, 53), Some(AppProto::Dns));
        assert_eq!(detect(&q, Transport::Udp, 5000, 5353), Some(AppProto::Dns));
        assert_eq!(detect(b"\x00\x01\x02", Transport::Udp, 5000, 53), None);
        let p = parse(&q, Transport::Udp, 5000, 53);
        assert!(matches!(p, Some(Parsed::Dns(_))));
    }

    #[test]
    fn names_round_trip() {
        for p in [
            AppProto::Http,
            AppProto::Tls,
            AppProto::Dns,
            AppProto::Ssh,
            AppProto::Ftp,
        ] {
            assert_eq!(AppProto::from_name(p.name()), Some(p));
        }
        assert_eq!(AppProto::from_name("ssl"), Some(AppProto::Tls));
        assert_eq!(AppProto::from_name("smb"), None);
    }
}
