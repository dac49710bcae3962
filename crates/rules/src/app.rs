//! The app-layer view rules see: the detected protocol and the sticky buffers (`http.uri`,
//! `dns.query`, `tls.sni`, ...) built from `verdict_applayer`'s parse of one message.
//!
//! For TCP flows the engine reassembles the stream and frames messages
//! (`verdict_applayer::flow`); each message a packet touched gets its own view
//! ([`AppView::message`]), so a request cut over segments is seen whole. Without that (UDP,
//! or a caller that tracks no stream) the view parses the packet's own payload
//! ([`AppView::parse`]). Views are built only when the rule set has app-layer rules; buffers
//! that differ from the wire bytes (the normalised URI, the lowercased host, Suricata's
//! normalised header block, ...) are built when a rule first asks for them.

use std::cell::OnceCell;

use verdict_applayer::{http, ssh, tls_server, AppProto, Parsed, Transport};

use crate::input::{L4Input, PacketInput};
use crate::matchers::Buffer;

fn non_empty(b: &[u8]) -> Option<&[u8]> {
    (!b.is_empty()).then_some(b)
}

/// App-layer integer keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AppInt {
    /// `dns.opcode`.
    DnsOpcode,
    /// `dns.rcode`.
    DnsRcode,
    /// 1 for a DNS response, 0 for a query (`dns.query` inspects queries only, as Suricata
    /// registers it to the server).
    DnsResponse,
    /// `tls.version`: the ServerHello's negotiated version (`0x0303` for TLS 1.2).
    TlsVersion,
    /// `ssl_version`: 1 when the TLS version (the ServerHello's negotiated one, else the
    /// ClientHello's) is one of the set (bits of [`ssl_version_bit`]), else 0.
    SslVersionIn(u8),
    /// `ssl_state`: 1 when the message holds a handshake message of one of the types (bits
    /// of a `u32` by handshake type), else 0.
    SslStateIn(u32),
    /// `app-layer-event`: 1 when the message raised the event, else 0.
    Event(verdict_applayer::events::AppEvent),
    /// `ftpbounce`: 1 for an FTP `PORT` command whose address differs from the client's
    /// (the packet's source), else 0. Read through [`AppView::int_from`].
    FtpBounce,
    /// `ftp.mode`: 1 when the message sets up an active data channel (`PORT`, `EPRT`), 2
    /// a passive one (`PASV`, `EPSV` and their `227`/`229` replies).
    FtpMode,
    /// `ftp.dynamic_port`: the data-channel port a `PORT`/`EPRT` command or a `227`/`229`
    /// reply announces.
    FtpDynamicPort,
}

/// The `ssl_version` bit of a TLS version (`sslv2` 0, `sslv3` 1, `tls1.0` 2, `tls1.1` 3,
/// `tls1.2` 4, `tls1.3` 5), None for other values.
pub(crate) fn ssl_version_bit(v: u16) -> Option<u8> {
    Some(match v {
        0x0002 => 0,
        0x0300 => 1,
        0x0301 => 2,
        0x0302 => 3,
        0x0303 => 4,
        0x0304 | 0x7f00..=0x7fff => 5,
        _ => return None,
    })
}

/// The parsed app layer of one packet and its lazily built buffers.
pub(crate) struct AppView<'a> {
    proto: Option<AppProto>,
    parsed: Option<Parsed<'a>>,
    uri: OnceCell<Vec<u8>>,
    host: OnceCell<Option<Vec<u8>>>,
    header: OnceCell<Vec<u8>>,
    header_names: OnceCell<Vec<u8>>,
    start: OnceCell<Vec<u8>>,
    dns_names: OnceCell<Vec<Vec<u8>>>,
    ja3: OnceCell<Option<(String, String)>>,
    /// TLS server handshake and SSH buffers, built once (see [`AppView::tls_ssh`]).
    tls_ssh: OnceCell<TlsSshBuffers>,
    decompressed: OnceCell<Option<Vec<u8>>>,
    /// How bodies are decoded (`Content-Encoding` layer limit).
    decode: http::DecodeOptions,
    /// The message's bytes and transport, for its app-layer events (built on demand).
    raw: (&'a [u8], Transport),
    /// Events the flow's framing raised about the message.
    flow_events: verdict_applayer::events::EventSet,
    events: OnceCell<verdict_applayer::events::EventSet>,
}

impl<'a> AppView<'a> {
    /// A view with no app layer (rules needing one do not match).
    pub(crate) fn none() -> AppView<'a> {
        AppView::from_parsed(None)
    }

    /// A view of a flow whose protocol is known but whose packet carries no message.
    pub(crate) fn flow_only(proto: Option<AppProto>) -> AppView<'a> {
        let mut v = AppView::from_parsed(None);
        v.proto = proto;
        v
    }

    /// A view of one framed message of a TCP flow.
    pub(crate) fn message(
        m: &verdict_applayer::flow::AppMessage<'a>,
        decode: http::DecodeOptions,
    ) -> AppView<'a> {
        let mut v =
            AppView::from_parsed(verdict_applayer::parse_as(m.proto, m.bytes, Transport::Tcp));
        v.proto = Some(m.proto);
        v.decode = decode;
        v.raw = (m.bytes, Transport::Tcp);
        v.flow_events = m.flow_events;
        v
    }

    fn from_parsed(parsed: Option<Parsed<'a>>) -> AppView<'a> {
        AppView {
            proto: parsed.as_ref().map(Parsed::proto),
            parsed,
            uri: OnceCell::new(),
            host: OnceCell::new(),
            header: OnceCell::new(),
            header_names: OnceCell::new(),
            start: OnceCell::new(),
            dns_names: OnceCell::new(),
            ja3: OnceCell::new(),
            tls_ssh: OnceCell::new(),
            decompressed: OnceCell::new(),
            decode: http::DecodeOptions::default(),
            raw: (&[], Transport::Tcp),
            flow_events: verdict_applayer::events::EventSet::default(),
            events: OnceCell::new(),
        }
    }

    /// Detects and parses the packet's payload.
    pub(crate) fn parse(p: &PacketInput<'a>) -> AppView<'a> {
        let parsed = match p.l4 {
            L4Input::Tcp {
                src_port, dst_port, ..
            } => verdict_applayer::parse(p.payload, Transport::Tcp, src_port, dst_port),
            L4Input::Udp { src_port, dst_port } => {
                verdict_applayer::parse(p.payload, Transport::Udp, src_port, dst_port)
            }
            _ => None,
        };
        let transport = match p.l4 {
            L4Input::Udp { .. } => Transport::Udp,
            _ => Transport::Tcp,
        };
        let mut v = AppView::from_parsed(parsed);
        v.raw = (p.payload, transport);
        v
    }

    /// The detected protocol.
    pub(crate) fn proto(&self) -> Option<AppProto> {
        self.proto
    }

    fn req(&self) -> Option<&http::Request<'a>> {
        match &self.parsed {
            Some(Parsed::HttpRequest(r)) => Some(r),
            _ => None,
        }
    }

    fn resp(&self) -> Option<&http::Response<'a>> {
        match &self.parsed {
            Some(Parsed::HttpResponse(r)) => Some(r),
            _ => None,
        }
    }

    fn header_value(&self, name: &[u8]) -> Option<&'a [u8]> {
        match &self.parsed {
            Some(Parsed::HttpRequest(r)) => r.header(name),
            Some(Parsed::HttpResponse(r)) => r.header(name),
            _ => None,
        }
    }

    /// [`AppView::int`] for a packet from `src`: `ftpbounce` compares the `PORT`
    /// command's address with it.
    pub(crate) fn int_from(
        &self,
        k: AppInt,
        to_server: bool,
        src: Option<std::net::IpAddr>,
    ) -> Option<u64> {
        if k != AppInt::FtpBounce {
            return self.int(k, to_server);
        }
        let c = self.ftp_command()?;
        if !to_server || !c.is(b"PORT") {
            return Some(0);
        }
        let (ip, _) = verdict_applayer::ftp::parse_port_arg(c.arg)?;
        let client = match src? {
            std::net::IpAddr::V4(a) => a,
            std::net::IpAddr::V6(a) => a.to_ipv4_mapped()?,
        };
        Some(u64::from(ip != client))
    }

    /// The value of an app-layer integer keyword for a message sent in direction
    /// `to_server`, None when the packet has no such field.
    pub(crate) fn int(&self, k: AppInt, to_server: bool) -> Option<u64> {
        if let AppInt::Event(e) = k {
            let proto = self.proto?;
            let (bytes, transport) = self.raw;
            let set = self.events.get_or_init(|| {
                verdict_applayer::events::message_events(proto, bytes, transport, to_server)
            });
            return Some(u64::from(set.contains(e) || self.flow_events.contains(e)));
        }
        match (&self.parsed, k) {
            (Some(Parsed::Dns(m)), AppInt::DnsOpcode) => Some(u64::from(m.opcode())),
            (Some(Parsed::Dns(m)), AppInt::DnsRcode) => Some(u64::from(m.rcode())),
            (Some(Parsed::Dns(m)), AppInt::DnsResponse) => Some(u64::from(m.is_response())),
            (Some(Parsed::TlsHandshake(h)), AppInt::TlsVersion) => {
                Some(u64::from(h.server_hello.as_ref()?.version))
            }
            (Some(p), AppInt::SslVersionIn(set)) => {
                let v = match p {
                    Parsed::TlsHandshake(h) => h.server_hello.as_ref()?.version,
                    Parsed::TlsClientHello(c) => c.version,
                    _ => return None,
                };
                Some(u64::from(
                    ssl_version_bit(v).is_some_and(|b| set & (1 << b) != 0),
                ))
            }
            (_, AppInt::FtpBounce) => self.int_from(k, to_server, None),
            (Some(Parsed::FtpCommand(c)), AppInt::FtpMode) => {
                if c.is(b"PORT") || c.is(b"EPRT") {
                    Some(1)
                } else if c.is(b"PASV") || c.is(b"EPSV") {
                    Some(2)
                } else {
                    None
                }
            }
            (Some(Parsed::FtpReply(r)), AppInt::FtpMode) => r.passive_addr().map(|_| 2),
            (Some(Parsed::FtpCommand(c)), AppInt::FtpDynamicPort) => {
                c.active_addr().map(|(_, p)| u64::from(p))
            }
            (Some(Parsed::FtpReply(r)), AppInt::FtpDynamicPort) => {
                r.passive_addr().map(|(_, p)| u64::from(p))
            }
            (Some(p), AppInt::SslStateIn(set)) => {
                let types = match p {
                    Parsed::TlsHandshake(h) => h.types,
                    Parsed::TlsClientHello(_) => 1 << tls_server::msg::CLIENT_HELLO,
                    _ => return None,
                };
                Some(u64::from(types & set != 0))
            }
            _ => None,
        }
    }

    /// Calls `f` on each instance of buffer `b` (one for most buffers; one per question for
    /// `dns.query`) until it returns true. False when the packet has no such buffer.
    pub(crate) fn any(&self, b: Buffer, mut f: impl FnMut(&[u8]) -> bool) -> bool {
        if b == Buffer::DnsQuery {
            return self.dns_names().iter().any(|n| f(n));
        }
        if matches!(b, Buffer::TlsCerts | Buffer::TlsSubjectAltName) {
            return match (&self.parsed, b) {
                (Some(Parsed::TlsHandshake(h)), Buffer::TlsCerts) => h.certs.iter().any(|c| f(c)),
                (Some(Parsed::TlsHandshake(_)), _) => self
                    .tls_ssh()
                    .cert
                    .as_ref()
                    .is_some_and(|c| c.subject_alt_names.iter().any(|n| f(n.as_bytes()))),
                _ => false,
            };
        }
        if b == Buffer::FtpReply {
            return match &self.parsed {
                Some(Parsed::FtpReply(r)) => r.lines().any(f),
                _ => false,
            };
        }
        if b == Buffer::TlsAlpn {
            return match &self.parsed {
                Some(Parsed::TlsClientHello(c)) => c.alpn().any(f),
                _ => false,
            };
        }
        if matches!(b, Buffer::HttpRequestHeader | Buffer::HttpResponseHeader) {
            let headers = match (&self.parsed, b) {
                (Some(Parsed::HttpRequest(r)), Buffer::HttpRequestHeader) => r.headers(),
                (Some(Parsed::HttpResponse(r)), Buffer::HttpResponseHeader) => r.headers(),
                _ => return false,
            };
            let mut line = Vec::new();
            return headers.into_iter().any(|h| {
                line.clear();
                line.extend_from_slice(h.name);
                line.extend_from_slice(b": ");
                line.extend_from_slice(h.value);
                f(&line)
            });
        }
        match self.get(b) {
            Some(bytes) => f(bytes),
            None => false,
        }
    }

    fn dns_names(&self) -> &[Vec<u8>] {
        self.dns_names.get_or_init(|| match &self.parsed {
            Some(Parsed::Dns(m)) => m
                .questions()
                .map_while(Result::ok)
                .map(|q| q.name)
                .collect(),
            _ => Vec::new(),
        })
    }

    /// The bytes of single-instance buffer `b`, None when this packet has no such buffer
    /// (or `b` is not an app-layer buffer).
    pub(crate) fn get(&self, b: Buffer) -> Option<&[u8]> {
        let v: &[u8] = match b {
            Buffer::HttpUri => {
                let r = self.req()?;
                self.uri.get_or_init(|| http::normalize_uri(r.uri_raw))
            }
            Buffer::HttpUriRaw => self.req()?.uri_raw,
            Buffer::HttpMethod => self.req()?.method,
            Buffer::HttpProtocol => match &self.parsed {
                Some(Parsed::HttpRequest(r)) => r.protocol,
                Some(Parsed::HttpResponse(r)) => r.protocol,
                _ => return None,
            },
            Buffer::HttpRequestLine => self.req()?.request_line,
            Buffer::HttpResponseLine => self.resp()?.response_line,
            Buffer::HttpStatCode => self.resp()?.status_code,
            Buffer::HttpStatMsg => self.resp()?.status_msg,
            Buffer::HttpHostRaw => self.req()?.host()?,
            Buffer::HttpHost => self
                .host
                .get_or_init(|| self.req()?.host().map(|h| h.to_ascii_lowercase()))
                .as_deref()?,
            Buffer::HttpCookie => match &self.parsed {
                Some(Parsed::HttpRequest(r)) => r.header(b"cookie")?,
                Some(Parsed::HttpResponse(r)) => r.header(b"set-cookie")?,
                _ => return None,
            },
            Buffer::HttpHeaderValue(name) => self.header_value(name.as_bytes())?,
            Buffer::HttpHeaderRaw => match &self.parsed {
                Some(Parsed::HttpRequest(r)) => r.header_block(),
                Some(Parsed::HttpResponse(r)) => r.header_block(),
                _ => return None,
            },
            Buffer::HttpHeader => self.http_derived(&self.header, |r| {
                r.map_or_else(
                    |r| r.header_block_normalized(),
                    |q| q.header_block_normalized(),
                )
            })?,
            Buffer::HttpHeaderNames => self.http_derived(&self.header_names, |r| {
                r.map_or_else(|r| r.header_names(), |q| q.header_names())
            })?,
            Buffer::HttpStart => {
                self.http_derived(&self.start, |r| r.map_or_else(|r| r.start(), |q| q.start()))?
            }
            // A body is there when this segment carries body bytes.
            Buffer::HttpRequestBody => {
                self.req()?;
                non_empty(self.body()?)?
            }
            Buffer::HttpResponseBody => {
                self.resp()?;
                non_empty(self.body()?)?
            }
            Buffer::FileData => non_empty(self.body()?)?,
            Buffer::DnsQuery => self.dns_names().first()?,
            // Multi-buffers: read through `any` (the prefilter covers them through the
            // normalised header block, which holds every `Name: Value`).
            Buffer::HttpRequestHeader
            | Buffer::HttpResponseHeader
            | Buffer::TlsAlpn
            | Buffer::TlsCerts
            | Buffer::TlsSubjectAltName
            | Buffer::FtpReply => return None,
            Buffer::FtpCommand => self.ftp_command()?.verb,
            Buffer::FtpCommandData => self.ftp_command()?.arg,
            Buffer::FtpCompletionCode => match &self.parsed {
                Some(Parsed::FtpReply(r)) => r.code,
                _ => return None,
            },
            Buffer::TlsCertSubject => self.tls_ssh().cert.as_ref()?.subject.as_bytes(),
            Buffer::TlsCertIssuer => self.tls_ssh().cert.as_ref()?.issuer.as_bytes(),
            Buffer::TlsCertSerial => self.tls_ssh().cert.as_ref()?.serial.as_bytes(),
            Buffer::TlsCertFingerprint => self.tls_ssh().cert.as_ref()?.fingerprint.as_bytes(),
            Buffer::Ja3sString => self.tls_ssh().ja3s.as_ref()?.0.as_bytes(),
            Buffer::Ja3sHash => self.tls_ssh().ja3s.as_ref()?.1.as_bytes(),
            Buffer::SshProto => self.ssh()?.banner?.proto_version,
            Buffer::SshSoftware => self.ssh()?.banner?.software_version,
            Buffer::SshHasshString | Buffer::SshHasshServerString => {
                let h = self.tls_ssh().hassh.as_ref()?;
                if b == Buffer::SshHasshString {
                    &h.0
                } else {
                    &h.2
                }
            }
            Buffer::SshHassh => self.tls_ssh().hassh.as_ref()?.1.as_bytes(),
            Buffer::SshHasshServer => self.tls_ssh().hassh.as_ref()?.3.as_bytes(),
            Buffer::Ja3Hash => self.ja3()?.1.as_bytes(),
            Buffer::Ja3String => self.ja3()?.0.as_bytes(),
            Buffer::TlsSni => match &self.parsed {
                Some(Parsed::TlsClientHello(c)) => c.sni?,
                _ => return None,
            },
            Buffer::TlsRandom | Buffer::TlsRandomTime | Buffer::TlsRandomBytes => {
                // The ClientHello's random to the server, the ServerHello's to the client.
                let random = match &self.parsed {
                    Some(Parsed::TlsClientHello(c)) => c.random,
                    Some(Parsed::TlsHandshake(h)) => h.server_hello.as_ref()?.random,
                    _ => return None,
                };
                match b {
                    Buffer::TlsRandomTime => random.get(..4)?,
                    Buffer::TlsRandomBytes => random.get(4..)?,
                    _ => random,
                }
            }
            Buffer::Payload
            | Buffer::Ipv4Hdr
            | Buffer::Ipv6Hdr
            | Buffer::TcpHdr
            | Buffer::UdpHdr
            | Buffer::Icmpv4Hdr
            | Buffer::Icmpv6Hdr
            | Buffer::SctpHdr
            | Buffer::SctpChunkData => return None,
        };
        // A header that is present with an empty value is an empty buffer (`bsize:0` and
        // negated contents match it), not a missing one.
        Some(v)
    }

    /// The body of this HTTP message as libhtp delivers it (`verdict_applayer::http`'s
    /// `file_data`): framed by chunking, `Content-Length` or connection close, de-chunked
    /// and its `Content-Encoding` layers undone, with libhtp's tolerance of malformed
    /// messages.
    fn body(&self) -> Option<&[u8]> {
        let opts = self.decode;
        self.decompressed
            .get_or_init(|| match &self.parsed {
                Some(Parsed::HttpRequest(r)) => Some(r.file_data(&opts)),
                Some(Parsed::HttpResponse(r)) => Some(r.file_data(&opts)),
                _ => None,
            })
            .as_deref()
    }

    /// The JA3 string and hash of a ClientHello, built once.
    fn ja3(&self) -> Option<&(String, String)> {
        self.ja3
            .get_or_init(|| match &self.parsed {
                Some(Parsed::TlsClientHello(c)) => Some((c.ja3(), c.ja3_hash())),
                _ => None,
            })
            .as_ref()
    }

    /// The FTP command of this message, if it is one.
    pub(crate) fn ftp_command(&self) -> Option<&verdict_applayer::ftp::Command<'a>> {
        match &self.parsed {
            Some(Parsed::FtpCommand(c)) => Some(c),
            _ => None,
        }
    }

    fn ssh(&self) -> Option<&ssh::SshMessage<'a>> {
        match &self.parsed {
            Some(Parsed::Ssh(m)) => Some(m),
            _ => None,
        }
    }

    /// The derived TLS server handshake and SSH buffers of this message, built once: the
    /// leaf certificate decoded, JA3S, HASSH.
    fn tls_ssh(&self) -> &TlsSshBuffers {
        self.tls_ssh.get_or_init(|| {
            let mut t = TlsSshBuffers::default();
            match &self.parsed {
                Some(Parsed::TlsHandshake(h)) => {
                    t.cert = h
                        .certs
                        .first()
                        .and_then(|c| tls_server::CertInfo::parse(c).ok());
                    t.ja3s = h.server_hello.as_ref().map(|s| (s.ja3s(), s.ja3s_hash()));
                }
                Some(Parsed::Ssh(m)) => {
                    t.hassh = m.kexinit.as_ref().map(|k| {
                        let (c, s) = (k.hassh_string(), k.hassh_server_string());
                        let (ch, sh) = (ssh::md5_hex(&c), ssh::md5_hex(&s));
                        (c, ch, s, sh)
                    });
                }
                _ => {}
            }
            t
        })
    }

    /// A buffer built from the HTTP message (request or response), once.
    fn http_derived<'s>(
        &'s self,
        cell: &'s OnceCell<Vec<u8>>,
        build: impl FnOnce(Result<&http::Request<'a>, &http::Response<'a>>) -> Vec<u8>,
    ) -> Option<&'s [u8]> {
        let m = match &self.parsed {
            Some(Parsed::HttpRequest(r)) => Ok(r),
            Some(Parsed::HttpResponse(r)) => Err(r),
            _ => return None,
        };
        Some(cell.get_or_init(|| build(m)))
    }
}

/// The derived TLS server handshake and SSH buffers of one message.
#[derive(Default)]
struct TlsSshBuffers {
    /// The leaf certificate.
    cert: Option<tls_server::CertInfo>,
    /// JA3S string and hash.
    ja3s: Option<(String, String)>,
    /// HASSH string and hash, HASSH-server string and hash.
    hassh: Option<(Vec<u8>, String, Vec<u8>, String)>,
}
