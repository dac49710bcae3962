//! Keyword matchers: each keyword parsed once into a struct, matched by pure functions over a
//! [`PacketInput`].
//!
//! Payload keywords (content, pcre, isdataat, byte_*) run as one chain with Suricata's
//! semantics: a *buffer offset* moves forward with each match (the end of the last content or
//! pcre match, or where byte_jump/byte_extract left it), relative keywords (`distance`,
//! `within`, pcre `R`, `relative`) work from it, and when a later relative keyword fails the
//! chain backtracks: the earlier content or pcre is searched again from one byte past its
//! previous match start (Suricata's `DetectEngineContentInspection`). A budget bounds the
//! backtracking like Suricata's inspection recursion limit.

use std::net::IpAddr;
use std::sync::Arc;

use crate::input::{ipopt, L4Input, PacketExtra, PacketInput};

/// A number that is either written in the rule or taken from a `byte_extract` variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Val {
    Const(i64),
    Var(usize),
}

impl Val {
    fn get(self, vars: &[i64]) -> i64 {
        match self {
            Val::Const(c) => c,
            Val::Var(i) => vars.get(i).copied().unwrap_or(0),
        }
    }
}

/// Comparison of an unsigned header field, Suricata's integer keyword syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UintCond {
    Eq(u64),
    Ne(u64),
    Lt(u64),
    Le(u64),
    Gt(u64),
    Ge(u64),
    /// Exclusive range: a < x < b.
    Range(u64, u64),
    /// Outside the exclusive range.
    NotRange(u64, u64),
}

impl UintCond {
    /// Parses `N`, `!N`, `<N`, `<=N`, `>N`, `>=N`, `N-M`, `N<>M`, `!N-M` (values <= max).
    pub(crate) fn parse(s: &str, max: u64) -> Option<UintCond> {
        let s = s.trim();
        let num = |t: &str| -> Option<u64> {
            let t = t.trim();
            let n = if let Some(h) = t.strip_prefix("0x") {
                u64::from_str_radix(h, 16).ok()?
            } else {
                t.parse().ok()?
            };
            (n <= max).then_some(n)
        };
        if let Some(r) = s.strip_prefix("!=") {
            return Some(UintCond::Ne(num(r)?));
        }
        if let Some(r) = s.strip_prefix("<=") {
            return Some(UintCond::Le(num(r)?));
        }
        if let Some(r) = s.strip_prefix(">=") {
            return Some(UintCond::Ge(num(r)?));
        }
        if let Some(r) = s.strip_prefix('=') {
            return Some(UintCond::Eq(num(r)?));
        }
        if let Some(r) = s.strip_prefix('<') {
            return Some(UintCond::Lt(num(r)?));
        }
        if let Some(r) = s.strip_prefix('>') {
            return Some(UintCond::Gt(num(r)?));
        }
        let (neg, s) = match s.strip_prefix('!') {
            Some(r) => (true, r.trim()),
            None => (false, s),
        };
        let range = s.split_once("<>").or_else(|| s.split_once('-'));
        if let Some((a, b)) = range {
            let (a, b) = (num(a)?, num(b)?);
            if a >= b {
                return None;
            }
            return Some(if neg {
                UintCond::NotRange(a, b)
            } else {
                UintCond::Range(a, b)
            });
        }
        let n = num(s)?;
        Some(if neg {
            UintCond::Ne(n)
        } else {
            UintCond::Eq(n)
        })
    }

    pub(crate) fn matches(self, x: u64) -> bool {
        match self {
            UintCond::Eq(n) => x == n,
            UintCond::Ne(n) => x != n,
            UintCond::Lt(n) => x < n,
            UintCond::Le(n) => x <= n,
            UintCond::Gt(n) => x > n,
            UintCond::Ge(n) => x >= n,
            UintCond::Range(a, b) => x > a && x < b,
            UintCond::NotRange(a, b) => !(x > a && x < b),
        }
    }
}

/// TCP flags: exact (minus ignored bits), `+` all of, `*` any of, `!` none of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FlagsMatch {
    modifier: u8,
    flags: u8,
    ignore: u8,
}

fn flag_bit(c: char) -> Option<u8> {
    Some(match c.to_ascii_uppercase() {
        'F' => 0x01,
        'S' => 0x02,
        'R' => 0x04,
        'P' => 0x08,
        'A' => 0x10,
        'U' => 0x20,
        'E' | '2' => 0x40,
        'C' | '1' => 0x80,
        '0' => 0,
        _ => return None,
    })
}

impl FlagsMatch {
    pub(crate) fn parse(v: &str) -> Option<FlagsMatch> {
        let (set, mask) = match v.split_once(',') {
            Some((a, b)) => (a.trim(), Some(b.trim())),
            None => (v.trim(), None),
        };
        let mut modifier = b'=';
        let mut flags = 0u8;
        let mut any = false;
        for c in set.chars() {
            match c {
                '+' | '*' | '!' => modifier = c as u8,
                _ => {
                    flags |= flag_bit(c)?;
                    any = true;
                }
            }
        }
        if !any {
            return None;
        }
        let mut ignore = 0u8;
        if let Some(m) = mask {
            for c in m.chars() {
                ignore |= flag_bit(c)?;
            }
        }
        Some(FlagsMatch {
            modifier,
            flags,
            ignore,
        })
    }

    fn matches(self, pkt: u8) -> bool {
        let pkt = pkt & !self.ignore;
        match self.modifier {
            b'+' => pkt & self.flags == self.flags,
            b'*' => pkt & self.flags != 0 || (self.flags == 0 && pkt == 0),
            b'!' => pkt & self.flags == 0 && !(self.flags == 0 && pkt == 0),
            _ => pkt == self.flags,
        }
    }
}

/// `fragbits`: M (more fragments), D (don't fragment), R (reserved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FragbitsMatch {
    modifier: u8,
    bits: u8,
    ignore: u8,
}

fn frag_bit(c: char) -> Option<u8> {
    Some(match c.to_ascii_uppercase() {
        'M' => 1,
        'D' => 2,
        'R' => 4,
        _ => return None,
    })
}

impl FragbitsMatch {
    pub(crate) fn parse(v: &str) -> Option<FragbitsMatch> {
        let (set, mask) = match v.split_once(',') {
            Some((a, b)) => (a.trim(), Some(b.trim())),
            None => (v.trim(), None),
        };
        let mut modifier = b'=';
        let mut bits = 0;
        for c in set.chars() {
            match c {
                '+' | '*' | '!' => modifier = c as u8,
                _ => bits |= frag_bit(c)?,
            }
        }
        if bits == 0 {
            return None;
        }
        let mut ignore = 0;
        if let Some(m) = mask {
            for c in m.chars() {
                ignore |= frag_bit(c)?;
            }
        }
        Some(FragbitsMatch {
            modifier,
            bits,
            ignore,
        })
    }

    fn matches(self, pkt: u8) -> bool {
        let pkt = pkt & 7 & !self.ignore;
        match self.modifier {
            b'+' => pkt & self.bits == self.bits,
            b'*' => pkt & self.bits != 0,
            b'!' => pkt & self.bits == 0,
            _ => pkt == self.bits,
        }
    }
}

pub(crate) fn parse_ipopt(v: &str) -> Option<u32> {
    Some(match v.trim() {
        "rr" => ipopt::RR,
        "eol" => ipopt::EOL,
        "nop" => ipopt::NOP,
        "ts" => ipopt::TS,
        "sec" => ipopt::SEC,
        "esec" => ipopt::ESEC,
        "lsrr" => ipopt::LSRR,
        "ssrr" => ipopt::SSRR,
        "satid" => ipopt::SATID,
        "any" => u32::MAX,
        _ => return None,
    })
}

pub(crate) fn parse_ip_proto(v: &str) -> Option<UintCond> {
    let v = v.trim();
    let (prefix, name) = match v.find(|c: char| c.is_ascii_alphanumeric()) {
        Some(i) => v.split_at(i),
        None => return None,
    };
    let n: u64 = match name.parse() {
        Ok(n) if n <= 255 => n,
        Ok(_) => return None,
        Err(_) => match name.to_ascii_lowercase().as_str() {
            "icmp" => 1,
            "igmp" => 2,
            "ipip" | "ipv4" | "ipencap" => 4,
            "tcp" => 6,
            "udp" => 17,
            "ipv6" => 41,
            "ipv6-route" => 43,
            "ipv6-frag" => 44,
            "rsvp" => 46,
            "gre" => 47,
            "esp" => 50,
            "ah" => 51,
            "ipv6-icmp" | "icmpv6" => 58,
            "ipv6-nonxt" => 59,
            "ipv6-opts" => 60,
            "ospf" | "ospfigp" => 89,
            "pim" => 103,
            "vrrp" => 112,
            "l2tp" => 115,
            "sctp" => 132,
            _ => return None,
        },
    };
    Some(match prefix.trim() {
        "" => UintCond::Eq(n),
        "!" => UintCond::Ne(n),
        "<" => UintCond::Lt(n),
        ">" => UintCond::Gt(n),
        _ => return None,
    })
}

/// A header-level check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PacketCheck {
    Dsize(UintCond),
    Ttl(UintCond),
    Tos {
        value: u8,
        negated: bool,
    },
    IpId(UintCond),
    IpOpts(u32),
    Fragbits(FragbitsMatch),
    FragOffset(UintCond, bool),
    IpProto(UintCond),
    SameIp,
    Seq(u32),
    Ack(u32),
    Window {
        value: u16,
        negated: bool,
    },
    Flags(FlagsMatch),
    Itype(UintCond),
    Icode(UintCond),
    IcmpId(UintCond),
    IcmpSeq(UintCond),
    /// `decode-event:NAME`.
    DecodeEvent(String),
    /// `stream-event:NAME`.
    StreamEvent(String),
    /// `vlan.id:COND[,LAYER]`.
    VlanId(UintCond, VlanLayer),
    /// `tcp.mss:COND`: the TCP MSS option (from `PacketExtra::l4_header`).
    TcpMss(UintCond),
    /// `sctp.vtag:COND`: the SCTP common header's verification tag.
    SctpVtag(UintCond),
    /// `sctp.chunk_type:COND`: some chunk of the SCTP packet has a type that satisfies it.
    SctpChunkType(UintCond),
    /// `sctp.chunk_cnt:COND`: the number of chunks in the SCTP packet.
    SctpChunkCnt(UintCond),
    /// `ipv4-csum`, `tcpv4-csum`, ...: `valid` (true) or `invalid` (false).
    Checksum(CsumKind, bool),
    /// The packet goes to the server (true) or to the client: added for buffers Suricata
    /// inspects in one direction only ([`Buffer::direction`]).
    ToServer(bool),
}

/// Which checksum a `*-csum` keyword checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CsumKind {
    Ipv4,
    Tcpv4,
    Tcpv6,
    Udpv4,
    Udpv6,
    Icmpv4,
    Icmpv6,
}

impl CsumKind {
    pub(crate) fn from_keyword(k: &str) -> Option<CsumKind> {
        Some(match k {
            "ipv4-csum" => CsumKind::Ipv4,
            "tcpv4-csum" => CsumKind::Tcpv4,
            "tcpv6-csum" => CsumKind::Tcpv6,
            "udpv4-csum" => CsumKind::Udpv4,
            "udpv6-csum" => CsumKind::Udpv6,
            "icmpv4-csum" => CsumKind::Icmpv4,
            "icmpv6-csum" => CsumKind::Icmpv6,
            _ => return None,
        })
    }

    /// Whether the packet's checksum is valid; None when the packet is not of this kind or
    /// the bytes needed are not available.
    fn valid(self, p: &PacketInput<'_>, x: &PacketExtra<'_>) -> Option<bool> {
        let v4 = p.ip.src.is_ipv4();
        let l4 = || -> Option<u16> {
            if x.l4_header.is_empty() {
                return None;
            }
            let len = x.l4_header.len() + p.payload.len();
            let segment = fold(ones_sum_pair(x.l4_header, p.payload));
            Some(fold_all(&[segment, pseudo(p, len)]))
        };
        match self {
            CsumKind::Ipv4 => {
                if !v4 || p.ip.header.len() < 20 {
                    return None;
                }
                Some(fold(ones_sum(p.ip.header, 0)) == 0xffff)
            }
            CsumKind::Tcpv4 | CsumKind::Tcpv6 => {
                if !matches!(p.l4, L4Input::Tcp { .. }) || v4 != (self == CsumKind::Tcpv4) {
                    return None;
                }
                Some(l4()? == 0xffff)
            }
            CsumKind::Udpv4 | CsumKind::Udpv6 => {
                if !matches!(p.l4, L4Input::Udp { .. }) || v4 != (self == CsumKind::Udpv4) {
                    return None;
                }
                // IPv4 UDP checksum 0: not computed by the sender, accepted.
                if v4 && x.l4_header.get(6..8) == Some(&[0, 0]) {
                    return Some(true);
                }
                Some(l4()? == 0xffff)
            }
            CsumKind::Icmpv4 => {
                if !matches!(p.l4, L4Input::Icmp { v6: false, .. }) || x.l4_header.is_empty() {
                    return None;
                }
                Some(fold(ones_sum_pair(x.l4_header, p.payload)) == 0xffff)
            }
            CsumKind::Icmpv6 => {
                if !matches!(p.l4, L4Input::Icmp { v6: true, .. }) {
                    return None;
                }
                Some(l4()? == 0xffff)
            }
        }
    }
}

/// One's complement sum of 16-bit big-endian words (odd trailing byte padded with zero).
fn ones_sum(b: &[u8], init: u64) -> u64 {
    let mut sum = init;
    let mut chunks = b.chunks_exact(2);
    for c in &mut chunks {
        sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

/// Sum of two consecutive buffers as one byte stream.
fn ones_sum_pair(a: &[u8], b: &[u8]) -> u64 {
    if a.len() % 2 == 0 {
        ones_sum(b, ones_sum(a, 0))
    } else {
        // The odd byte of `a` pairs with the first byte of `b`.
        let (last, head) = (a[a.len() - 1], b.first().copied().unwrap_or(0));
        let s = ones_sum(&a[..a.len() - 1], 0) + u64::from(u16::from_be_bytes([last, head]));
        ones_sum(b.get(1..).unwrap_or(&[]), s)
    }
}

fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

fn fold_all(parts: &[u16]) -> u16 {
    fold(parts.iter().map(|&p| u64::from(p)).sum())
}

/// The TCP/UDP/ICMPv6 pseudo-header sum.
fn pseudo(p: &PacketInput<'_>, len: usize) -> u16 {
    let mut sum = 0u64;
    match (p.ip.src, p.ip.dst) {
        (std::net::IpAddr::V4(s), std::net::IpAddr::V4(d)) => {
            sum = ones_sum(&s.octets(), sum);
            sum = ones_sum(&d.octets(), sum);
            sum += u64::from(p.ip.proto);
            sum += len as u64 & 0xffff;
        }
        (std::net::IpAddr::V6(s), std::net::IpAddr::V6(d)) => {
            sum = ones_sum(&s.octets(), sum);
            sum = ones_sum(&d.octets(), sum);
            sum += (len as u64 >> 16) + (len as u64 & 0xffff);
            sum += u64::from(p.ip.proto);
        }
        _ => {}
    }
    fold(sum)
}

/// The TCP MSS option of a TCP header with options.
fn tcp_mss(h: &[u8]) -> Option<u16> {
    let doff = usize::from(*h.get(12)? >> 4) * 4;
    let opts = h.get(20..doff.min(h.len()))?;
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            0 => return None,
            1 => i += 1,
            kind => {
                let len = usize::from(*opts.get(i + 1)?);
                if len < 2 {
                    return None;
                }
                if kind == 2 && len == 4 {
                    return Some(u16::from_be_bytes([*opts.get(i + 2)?, *opts.get(i + 3)?]));
                }
                i += len;
            }
        }
    }
    None
}

/// Which VLAN layer `vlan.id` looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VlanLayer {
    /// Any layer may match (the default).
    Any,
    /// Every layer must match.
    All,
    /// One layer: 0 is the outermost, -1 the innermost.
    Index(i8),
}

impl VlanLayer {
    pub(crate) fn parse(s: Option<&str>) -> Option<VlanLayer> {
        Some(match s.map(str::trim) {
            None | Some("any") => VlanLayer::Any,
            Some("all") => VlanLayer::All,
            Some(n) => VlanLayer::Index(n.parse().ok().filter(|i: &i8| (-3..=2).contains(i))?),
        })
    }

    fn matches(self, c: UintCond, ids: &[u16]) -> bool {
        if ids.is_empty() {
            return false;
        }
        match self {
            VlanLayer::Any => ids.iter().any(|&i| c.matches(u64::from(i))),
            VlanLayer::All => ids.iter().all(|&i| c.matches(u64::from(i))),
            VlanLayer::Index(i) => {
                let idx = if i < 0 {
                    ids.len() as i64 + i64::from(i)
                } else {
                    i64::from(i)
                };
                usize::try_from(idx)
                    .ok()
                    .and_then(|i| ids.get(i))
                    .is_some_and(|&v| c.matches(u64::from(v)))
            }
        }
    }
}

/// The buffer a chain of payload keywords inspects (selected by sticky buffer keywords).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Buffer {
    /// The transport payload (`pkt_data`, the default).
    Payload,
    /// `ipv4.hdr`: the IPv4 header, IPv4 packets only.
    Ipv4Hdr,
    /// `ipv6.hdr`: the IPv6 header chain, IPv6 packets only.
    Ipv6Hdr,
    /// `tcp.hdr`.
    TcpHdr,
    /// `udp.hdr`.
    UdpHdr,
    /// `icmpv4.hdr`.
    Icmpv4Hdr,
    /// `icmpv6.hdr`.
    Icmpv6Hdr,
    /// `sctp.hdr`: the SCTP common header and every chunk.
    SctpHdr,
    /// `sctp.chunk_data`: the user data of each DATA chunk (a multi-buffer).
    SctpChunkData,
    /// `http.uri`: the normalised request URI.
    HttpUri,
    /// `http.uri.raw`: the request URI as sent.
    HttpUriRaw,
    /// `http.method`.
    HttpMethod,
    /// `http.protocol`.
    HttpProtocol,
    /// `http.request_line`.
    HttpRequestLine,
    /// `http.response_line`.
    HttpResponseLine,
    /// `http.stat_code`.
    HttpStatCode,
    /// `http.stat_msg`.
    HttpStatMsg,
    /// `http.host`: the Host header without port, lowercased.
    HttpHost,
    /// `http.host.raw`: the Host header without port, as sent.
    HttpHostRaw,
    /// `http.cookie`: the request's Cookie or the response's Set-Cookie header.
    HttpCookie,
    /// A single header's value (`http.user_agent`, `http.content_type`, `http.server`, ...),
    /// by lowercase header name.
    HttpHeaderValue(&'static str),
    /// `http.header`: Suricata's normalised header block.
    HttpHeader,
    /// `http.header.raw`: the header block as sent.
    HttpHeaderRaw,
    /// `http.header_names`.
    HttpHeaderNames,
    /// `http.request_header`: each request header as `Name: Value` (a multi-buffer).
    HttpRequestHeader,
    /// `http.response_header`: each response header as `Name: Value` (a multi-buffer).
    HttpResponseHeader,
    /// `http.start`.
    HttpStart,
    /// `http.request_body` (`http_client_body`): body bytes of a request in this segment.
    HttpRequestBody,
    /// `http.response_body` (`http_server_body`): body bytes of a response in this segment.
    HttpResponseBody,
    /// `file_data`/`file.data`: the body bytes of this segment's HTTP message.
    FileData,
    /// `dns.query`: each question name, dotted (a multi-buffer).
    DnsQuery,
    /// `tls.sni`.
    TlsSni,
    /// `tls.alpn`: each ALPN protocol of the ClientHello (a multi-buffer).
    TlsAlpn,
    /// `tls.random`: the 32-byte random of the ClientHello (to server) or the ServerHello
    /// (to client).
    TlsRandom,
    /// `tls.random_time`: its first 4 bytes.
    TlsRandomTime,
    /// `tls.random_bytes`: its last 28 bytes.
    TlsRandomBytes,
    /// `ja3.hash`/`ja3_hash`: the ClientHello's JA3 MD5, lowercase hex.
    Ja3Hash,
    /// `ja3.string`: the ClientHello's JA3 string.
    Ja3String,
    // --- TLS server handshake and SSH (`verdict_applayer::tls_server`, `::ssh`) ---
    /// `tls.certs`: each DER certificate of the server's chain (a multi-buffer).
    TlsCerts,
    /// `tls.cert_subject`: the leaf certificate's subject DN (`C=US, O=..., CN=...`).
    TlsCertSubject,
    /// `tls.cert_issuer`: the leaf certificate's issuer DN.
    TlsCertIssuer,
    /// `tls.cert_serial`: the leaf certificate's serial, `5C:19:B7`.
    TlsCertSerial,
    /// `tls.cert_fingerprint`: SHA-1 of the leaf certificate, `4a:a3:...` (lowercase).
    TlsCertFingerprint,
    /// `tls.subjectaltname`: each subject alternative name of the leaf certificate (a
    /// multi-buffer).
    TlsSubjectAltName,
    /// `ja3s.hash`: MD5 of the ServerHello's JA3S string, lowercase hex.
    Ja3sHash,
    /// `ja3s.string`: the ServerHello's JA3S string.
    Ja3sString,
    /// `ssh.proto`/`ssh_proto`: the banner's protocol version (`2.0`).
    SshProto,
    /// `ssh.software`/`ssh_software`: the banner's software version (`OpenSSH_9.6`).
    SshSoftware,
    /// `ssh.hassh`: MD5 of the client's HASSH string.
    SshHassh,
    /// `ssh.hassh.string`: the client's KEXINIT `kex;enc;mac;comp` lists.
    SshHasshString,
    /// `ssh.hassh.server`: MD5 of the server's HASSH string.
    SshHasshServer,
    /// `ssh.hassh.server.string`: the server's KEXINIT `kex;enc;mac;comp` lists.
    SshHasshServerString,
    // --- FTP control channel (`verdict_applayer::ftp`) ---
    /// `ftp.command`: the verb of a client command (`USER`, `RETR`).
    FtpCommand,
    /// `ftp.command_data`: what follows the verb (`anonymous`, a file name).
    FtpCommandData,
    /// `ftp.completion_code`: the three-digit code of each server reply line (a
    /// multi-buffer).
    FtpCompletionCode,
    /// `ftp.reply`: the text of each server reply line, code removed (a multi-buffer).
    FtpReply,
}

impl Buffer {
    pub(crate) fn from_keyword(k: &str) -> Option<Buffer> {
        Some(match k {
            "pkt_data" => Buffer::Payload,
            "ipv4.hdr" => Buffer::Ipv4Hdr,
            "ipv6.hdr" => Buffer::Ipv6Hdr,
            "tcp.hdr" => Buffer::TcpHdr,
            "udp.hdr" => Buffer::UdpHdr,
            "icmpv4.hdr" => Buffer::Icmpv4Hdr,
            "icmpv6.hdr" => Buffer::Icmpv6Hdr,
            "sctp.hdr" => Buffer::SctpHdr,
            "sctp.chunk_data" => Buffer::SctpChunkData,
            "http.uri" => Buffer::HttpUri,
            "http.uri.raw" => Buffer::HttpUriRaw,
            "http.method" => Buffer::HttpMethod,
            "http.protocol" | "http_protocol" => Buffer::HttpProtocol,
            "http.request_line" | "http_request_line" => Buffer::HttpRequestLine,
            "http.response_line" | "http_response_line" => Buffer::HttpResponseLine,
            "http.stat_code" => Buffer::HttpStatCode,
            "http.stat_msg" => Buffer::HttpStatMsg,
            "http.host" => Buffer::HttpHost,
            "http.host.raw" => Buffer::HttpHostRaw,
            "http.cookie" => Buffer::HttpCookie,
            "http.user_agent" => Buffer::HttpHeaderValue("user-agent"),
            "http.content_type" | "http_content_type" => Buffer::HttpHeaderValue("content-type"),
            "http.content_len" | "http_content_len" => Buffer::HttpHeaderValue("content-length"),
            "http.server" | "http_server" => Buffer::HttpHeaderValue("server"),
            "http.location" | "http_location" => Buffer::HttpHeaderValue("location"),
            "http.referer" | "http_referer" => Buffer::HttpHeaderValue("referer"),
            "http.accept" | "http_accept" => Buffer::HttpHeaderValue("accept"),
            "http.accept_lang" | "http_accept_lang" => Buffer::HttpHeaderValue("accept-language"),
            "http.accept_enc" | "http_accept_enc" => Buffer::HttpHeaderValue("accept-encoding"),
            "http.connection" | "http_connection" => Buffer::HttpHeaderValue("connection"),
            "http.header" => Buffer::HttpHeader,
            "http.header.raw" => Buffer::HttpHeaderRaw,
            "http.header_names" | "http_header_names" => Buffer::HttpHeaderNames,
            "http.request_header" => Buffer::HttpRequestHeader,
            "http.response_header" => Buffer::HttpResponseHeader,
            "http.start" | "http_start" => Buffer::HttpStart,
            "http.request_body" => Buffer::HttpRequestBody,
            "http.response_body" => Buffer::HttpResponseBody,
            "file_data" | "file.data" => Buffer::FileData,
            "dns.query" | "dns_query" | "dns.queries.rrname" => Buffer::DnsQuery,
            "tls.alpn" => Buffer::TlsAlpn,
            "tls.random" => Buffer::TlsRandom,
            "tls.random_time" => Buffer::TlsRandomTime,
            "tls.random_bytes" => Buffer::TlsRandomBytes,
            "ja3.hash" | "ja3_hash" => Buffer::Ja3Hash,
            "ja3.string" => Buffer::Ja3String,
            "tls.sni" | "tls_sni" => Buffer::TlsSni,
            // TLS server handshake and SSH.
            "tls.certs" => Buffer::TlsCerts,
            "tls.cert_subject" | "tls_cert_subject" => Buffer::TlsCertSubject,
            "tls.cert_issuer" | "tls_cert_issuer" => Buffer::TlsCertIssuer,
            "tls.cert_serial" | "tls_cert_serial" => Buffer::TlsCertSerial,
            "tls.cert_fingerprint" | "tls_cert_fingerprint" => Buffer::TlsCertFingerprint,
            "tls.subjectaltname" => Buffer::TlsSubjectAltName,
            "ja3s.hash" => Buffer::Ja3sHash,
            "ja3s.string" => Buffer::Ja3sString,
            "ssh.proto" | "ssh_proto" => Buffer::SshProto,
            "ssh.software" | "ssh_software" => Buffer::SshSoftware,
            "ssh.hassh" => Buffer::SshHassh,
            "ssh.hassh.string" => Buffer::SshHasshString,
            "ssh.hassh.server" => Buffer::SshHasshServer,
            "ssh.hassh.server.string" => Buffer::SshHasshServerString,
            "ftp.command" => Buffer::FtpCommand,
            "ftp.command_data" => Buffer::FtpCommandData,
            "ftp.completion_code" => Buffer::FtpCompletionCode,
            "ftp.reply" => Buffer::FtpReply,
            _ => return None,
        })
    }

    /// The buffer a legacy content modifier (`http_uri`, ...) moves its content to.
    pub(crate) fn from_modifier(k: &str) -> Option<Buffer> {
        Some(match k {
            "http_uri" => Buffer::HttpUri,
            "http_raw_uri" => Buffer::HttpUriRaw,
            "http_method" => Buffer::HttpMethod,
            "http_header" => Buffer::HttpHeader,
            "http_raw_header" => Buffer::HttpHeaderRaw,
            "http_cookie" => Buffer::HttpCookie,
            "http_user_agent" => Buffer::HttpHeaderValue("user-agent"),
            "http_host" => Buffer::HttpHost,
            "http_raw_host" => Buffer::HttpHostRaw,
            "http_client_body" => Buffer::HttpRequestBody,
            "http_server_body" => Buffer::HttpResponseBody,
            "http_stat_code" => Buffer::HttpStatCode,
            "http_stat_msg" => Buffer::HttpStatMsg,
            _ => return None,
        })
    }

    /// The buffer a pcre HTTP flag inspects (Suricata's `U I P Q H D M C S Y V W Z`).
    pub(crate) fn from_pcre_flag(f: char) -> Option<Buffer> {
        Some(match f {
            'U' => Buffer::HttpUri,
            'I' => Buffer::HttpUriRaw,
            'P' => Buffer::HttpRequestBody,
            'Q' => Buffer::FileData,
            'H' => Buffer::HttpHeader,
            'D' => Buffer::HttpHeaderRaw,
            'M' => Buffer::HttpMethod,
            'C' => Buffer::HttpCookie,
            'S' => Buffer::HttpStatCode,
            'Y' => Buffer::HttpStatMsg,
            'V' => Buffer::HttpHeaderValue("user-agent"),
            'W' => Buffer::HttpHost,
            'Z' => Buffer::HttpHostRaw,
            _ => return None,
        })
    }

    /// The only direction Suricata inspects this buffer in (true: to server), None for both.
    pub(crate) fn direction(self) -> Option<bool> {
        match self {
            Buffer::SshHassh | Buffer::SshHasshString => Some(true),
            Buffer::SshHasshServer | Buffer::SshHasshServerString => Some(false),
            Buffer::FtpCommand | Buffer::FtpCommandData => Some(true),
            Buffer::FtpCompletionCode | Buffer::FtpReply => Some(false),
            _ => None,
        }
    }

    /// True for the app-layer buffers (read from the packet's app-layer view).
    pub(crate) fn is_app(self) -> bool {
        !matches!(
            self,
            Buffer::Payload
                | Buffer::Ipv4Hdr
                | Buffer::Ipv6Hdr
                | Buffer::TcpHdr
                | Buffer::UdpHdr
                | Buffer::Icmpv4Hdr
                | Buffer::Icmpv6Hdr
                | Buffer::SctpHdr
                | Buffer::SctpChunkData
        )
    }

    /// The bytes of this buffer for a packet, None when the packet has no such buffer.
    pub(crate) fn bytes<'a>(self, p: &PacketInput<'a>, x: &PacketExtra<'a>) -> Option<&'a [u8]> {
        let b = match self {
            Buffer::Payload => p.payload,
            Buffer::Ipv4Hdr if p.ip.src.is_ipv4() => p.ip.header,
            Buffer::Ipv6Hdr if p.ip.src.is_ipv6() => p.ip.header,
            Buffer::TcpHdr if matches!(p.l4, L4Input::Tcp { .. }) => x.l4_header,
            Buffer::UdpHdr if matches!(p.l4, L4Input::Udp { .. }) => x.l4_header,
            Buffer::Icmpv4Hdr if matches!(p.l4, L4Input::Icmp { v6: false, .. }) => x.l4_header,
            Buffer::Icmpv6Hdr if matches!(p.l4, L4Input::Icmp { v6: true, .. }) => x.l4_header,
            Buffer::SctpHdr if is_sctp(p) => x.l4_header,
            // A multi-buffer: the first DATA chunk here; `slot_matches` walks them all.
            Buffer::SctpChunkData if is_sctp(p) => crate::input::sctp_data(x.l4_header).next()?,
            _ => return None,
        };
        (!b.is_empty()).then_some(b)
    }
}

/// An SCTP packet (the rules contract has no SCTP variant: IP protocol 132).
fn is_sctp(p: &PacketInput<'_>) -> bool {
    p.ip.proto == 132 && matches!(p.l4, L4Input::Other)
}

/// The value of an `sctp.chunk_type` chunk name (case-insensitive), as Suricata names them.
pub(crate) fn sctp_chunk_type(name: &str) -> Option<u8> {
    const NAMES: [(&str, u8); 16] = [
        ("data", 0),
        ("init", 1),
        ("init_ack", 2),
        ("sack", 3),
        ("heartbeat", 4),
        ("hb_ack", 5),
        ("abort", 6),
        ("shutdown", 7),
        ("shutdown_ack", 8),
        ("error", 9),
        ("cookie_echo", 10),
        ("cookie_ack", 11),
        ("ecne", 12),
        ("cwr", 13),
        ("shutdown_complete", 14),
        ("forward_tsn", 192),
    ];
    NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, v)| v)
}

fn event_name(n: &str) -> &str {
    n.strip_prefix("decoder.")
        .or_else(|| n.strip_prefix("stream."))
        .unwrap_or(n)
}

impl PacketCheck {
    pub(crate) fn matches(&self, p: &PacketInput<'_>, x: &PacketExtra<'_>) -> bool {
        match self {
            PacketCheck::DecodeEvent(n) => {
                return x.decode_events.iter().any(|e| event_name(e) == n)
            }
            PacketCheck::StreamEvent(n) => {
                return x.stream_events.iter().any(|e| event_name(e) == n)
            }
            PacketCheck::VlanId(c, layer) => return layer.matches(*c, x.vlan_ids),
            PacketCheck::TcpMss(c) => {
                return matches!(p.l4, L4Input::Tcp { .. })
                    && tcp_mss(x.l4_header).is_some_and(|m| c.matches(u64::from(m)))
            }
            PacketCheck::Checksum(kind, want) => return kind.valid(p, x) == Some(*want),
            PacketCheck::ToServer(want) => return p.flow.to_server == *want,
            PacketCheck::SctpVtag(c) => {
                return is_sctp(p)
                    && x.l4_header.get(4..8).is_some_and(|v| {
                        c.matches(u64::from(u32::from_be_bytes([v[0], v[1], v[2], v[3]])))
                    })
            }
            PacketCheck::SctpChunkType(c) => {
                return is_sctp(p)
                    && crate::input::sctp_chunks(x.l4_header).any(|(t, _)| c.matches(u64::from(t)))
            }
            PacketCheck::SctpChunkCnt(c) => {
                return is_sctp(p)
                    && x.l4_header.len() >= 12
                    && c.matches(crate::input::sctp_chunks(x.l4_header).count() as u64)
            }
            _ => {}
        }
        match *self {
            PacketCheck::DecodeEvent(_)
            | PacketCheck::StreamEvent(_)
            | PacketCheck::VlanId(..)
            | PacketCheck::TcpMss(_)
            | PacketCheck::SctpVtag(_)
            | PacketCheck::SctpChunkType(_)
            | PacketCheck::SctpChunkCnt(_)
            | PacketCheck::Checksum(..)
            | PacketCheck::ToServer(_) => false,
            PacketCheck::Dsize(c) => c.matches(p.payload.len() as u64),
            PacketCheck::Ttl(c) => c.matches(u64::from(p.ip.ttl)),
            PacketCheck::Tos { value, negated } => (p.ip.tos == value) != negated,
            PacketCheck::IpId(c) => p.ip.src.is_ipv4() && c.matches(u64::from(p.ip.id)),
            PacketCheck::IpOpts(bit) => p.ip.ipopts & bit != 0,
            PacketCheck::Fragbits(f) => f.matches(p.ip.fragbits),
            PacketCheck::FragOffset(c, neg) => c.matches(u64::from(p.ip.frag_offset)) != neg,
            PacketCheck::IpProto(c) => c.matches(u64::from(p.ip.proto)),
            PacketCheck::SameIp => p.ip.src == p.ip.dst,
            PacketCheck::Seq(n) => matches!(p.l4, L4Input::Tcp { seq, .. } if seq == n),
            PacketCheck::Ack(n) => matches!(p.l4, L4Input::Tcp { ack, .. } if ack == n),
            PacketCheck::Window { value, negated } => {
                matches!(p.l4, L4Input::Tcp { window, .. } if (window == value) != negated)
            }
            PacketCheck::Flags(f) => matches!(p.l4, L4Input::Tcp { flags, .. } if f.matches(flags)),
            PacketCheck::Itype(c) => {
                matches!(p.l4, L4Input::Icmp { icmp_type, .. } if c.matches(u64::from(icmp_type)))
            }
            PacketCheck::Icode(c) => {
                matches!(p.l4, L4Input::Icmp { code, .. } if c.matches(u64::from(code)))
            }
            PacketCheck::IcmpId(c) => {
                matches!(p.l4, L4Input::Icmp { id: Some(id), .. } if c.matches(u64::from(id)))
            }
            PacketCheck::IcmpSeq(c) => {
                matches!(p.l4, L4Input::Icmp { seq: Some(s), .. } if c.matches(u64::from(s)))
            }
        }
    }
}

/// `flow:` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct FlowCheck {
    established: Option<bool>,
    to_server: Option<bool>,
    stream: Option<bool>,
}

impl FlowCheck {
    /// `only_stream` (true) / `no_stream` (false), if given.
    pub(crate) fn stream(&self) -> Option<bool> {
        self.stream
    }

    pub(crate) fn parse(v: &str) -> Result<FlowCheck, String> {
        let mut f = FlowCheck::default();
        for part in v.split(',').map(str::trim) {
            let (slot, val) = match part {
                "established" => (&mut f.established, true),
                "not_established" => (&mut f.established, false),
                "to_server" | "from_client" => (&mut f.to_server, true),
                "to_client" | "from_server" => (&mut f.to_server, false),
                "only_stream" => (&mut f.stream, true),
                "no_stream" => (&mut f.stream, false),
                "stateless" => continue,
                "only_frag" | "no_frag" => {
                    return Err(format!("flow:{part} is not supported yet (fragments are reassembled before detection)"))
                }
                other => {
                    return Err(format!(
                        "unknown flow option `{other}` (expected established, not_established, to_server, to_client, from_server, from_client, stateless, only_stream, no_stream)"
                    ))
                }
            };
            if slot.is_some_and(|s| s != val) {
                return Err(format!("flow option `{part}` contradicts an earlier one"));
            }
            *slot = Some(val);
        }
        Ok(f)
    }

    pub(crate) fn matches(&self, p: &PacketInput<'_>) -> bool {
        let f = &p.flow;
        if (self.established.is_some() || self.to_server.is_some()) && !f.tracked {
            return false;
        }
        if self.established.is_some_and(|e| e != f.established) {
            return false;
        }
        if self.to_server.is_some_and(|t| t != f.to_server) {
            return false;
        }
        if self.stream.is_some_and(|s| s != f.from_stream) {
            return false;
        }
        true
    }
}

/// `flowbits:` commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FlowbitCmd {
    Set(Vec<Arc<str>>),
    Unset(Vec<Arc<str>>),
    Toggle(Vec<Arc<str>>),
    /// Any of the names is set.
    IsSet(Vec<Arc<str>>),
    /// Any of the names is not set.
    IsNotSet(Vec<Arc<str>>),
    NoAlert,
}

impl FlowbitCmd {
    pub(crate) fn parse(v: &str) -> Result<FlowbitCmd, String> {
        let (cmd, names) = match v.split_once(',') {
            Some((c, n)) => (c.trim(), Some(n.trim())),
            None => (v.trim(), None),
        };
        if cmd == "noalert" {
            return match names {
                None => Ok(FlowbitCmd::NoAlert),
                Some(_) => Err("flowbits:noalert takes no name".into()),
            };
        }
        let names = names.ok_or_else(|| format!("flowbits:{cmd} needs a name"))?;
        let sep = if names.contains('|') { '|' } else { '&' };
        let list: Vec<Arc<str>> = names.split(sep).map(|n| Arc::from(n.trim())).collect();
        if list
            .iter()
            .any(|n| n.is_empty() || n.contains(char::is_whitespace))
        {
            return Err(format!("bad flowbit name(s) `{names}`"));
        }
        if names.contains('&') && names.contains('|') {
            return Err("flowbits cannot mix `|` and `&`".into());
        }
        let or_group = sep == '|' && list.len() > 1;
        Ok(match cmd {
            "set" | "unset" | "toggle" if or_group => {
                return Err(format!("flowbits:{cmd} does not take an OR group (`|`)"))
            }
            "set" => FlowbitCmd::Set(list),
            "unset" => FlowbitCmd::Unset(list),
            "toggle" => FlowbitCmd::Toggle(list),
            "isset" if sep == '&' && list.len() > 1 => {
                return Err(
                    "flowbits:isset with `&` is not supported; use several isset keywords".into(),
                )
            }
            "isset" => FlowbitCmd::IsSet(list),
            "isnotset" if sep == '&' && list.len() > 1 => {
                return Err(
                    "flowbits:isnotset with `&` is not supported; use several isnotset keywords"
                        .into(),
                )
            }
            "isnotset" => FlowbitCmd::IsNotSet(list),
            other => {
                return Err(format!(
                "unknown flowbits command `{other}` (set, unset, toggle, isset, isnotset, noalert)"
            ))
            }
        })
    }

    pub(crate) fn is_set_like(&self) -> bool {
        matches!(
            self,
            FlowbitCmd::Set(_) | FlowbitCmd::Unset(_) | FlowbitCmd::Toggle(_)
        )
    }

    pub(crate) fn is_read(&self) -> bool {
        matches!(self, FlowbitCmd::IsSet(_) | FlowbitCmd::IsNotSet(_))
    }
}

/// A flowint operand: a number or another flowint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IntOperand {
    Const(u32),
    Var(Arc<str>),
}

/// `flowint:name,op[,value]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FlowintCmd {
    /// `=`, `+`, `-`: changes applied when the rule matches (post-match).
    Modify {
        name: Arc<str>,
        op: char,
        value: IntOperand,
    },
    /// `==`, `!=`, `<`, `<=`, `>`, `>=`: a condition (fails when the variable is unset).
    Compare {
        name: Arc<str>,
        op: &'static str,
        value: IntOperand,
    },
    /// `isset` / `notset` (`isnotset`).
    IsSet { name: Arc<str>, set: bool },
}

impl FlowintCmd {
    pub(crate) fn parse(v: &str) -> Result<FlowintCmd, String> {
        let parts: Vec<&str> = v.split(',').map(str::trim).collect();
        let name: Arc<str> = match parts.first() {
            Some(n) if !n.is_empty() && !n.contains(char::is_whitespace) => Arc::from(*n),
            _ => return Err("expected flowint:name,operator[,value]".into()),
        };
        let op = parts.get(1).copied().unwrap_or("");
        let value = || -> Result<IntOperand, String> {
            let v = parts
                .get(2)
                .copied()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("flowint operator `{op}` needs a value"))?;
            Ok(match v.parse::<u32>() {
                Ok(n) => IntOperand::Const(n),
                Err(_) if v.parse::<i64>().is_err() && !v.contains(char::is_whitespace) => {
                    IntOperand::Var(Arc::from(v))
                }
                Err(_) => {
                    return Err(format!(
                        "bad flowint value `{v}` (0..4294967295 or a flowint name)"
                    ))
                }
            })
        };
        Ok(match op {
            "=" | "+" | "-" => FlowintCmd::Modify {
                name,
                op: op.chars().next().unwrap_or('='),
                value: value()?,
            },
            "==" | "!=" | "<" | "<=" | ">" | ">=" => {
                let op: &'static str = match op {
                    "==" => "==",
                    "!=" => "!=",
                    "<" => "<",
                    "<=" => "<=",
                    ">" => ">",
                    _ => ">=",
                };
                FlowintCmd::Compare {
                    name,
                    op,
                    value: value()?,
                }
            }
            "isset" => FlowintCmd::IsSet { name, set: true },
            "notset" | "isnotset" => FlowintCmd::IsSet { name, set: false },
            other => {
                return Err(format!(
                "unknown flowint operator `{other}` (=, +, -, ==, !=, <, <=, >, >=, isset, notset)"
            ))
            }
        })
    }

    pub(crate) fn is_modify(&self) -> bool {
        matches!(self, FlowintCmd::Modify { .. })
    }
}

/// How a threshold counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ThresholdKind {
    Limit,
    Threshold,
    Both,
    Detection,
    /// Alert on match `count`, then `count * multiplier`, `count * multiplier^2`, ...
    Backoff,
}

/// What a threshold tracks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Track {
    Src,
    Dst,
    Rule,
    Both,
    /// Per flow: the tracker lives in the flow's `FlowVars`.
    Flow,
}

/// `detection_filter ... unique_on src_port|dst_port`: count distinct ports, not matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UniqueOn {
    SrcPort,
    DstPort,
}

/// `threshold` / `detection_filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Threshold {
    pub kind: ThresholdKind,
    pub track: Track,
    pub count: u32,
    pub seconds: u32,
    pub unique_on: Option<UniqueOn>,
    /// `multiplier` of type backoff (1 otherwise).
    pub multiplier: u32,
}

impl Threshold {
    /// Outer error: invalid; inner error: unsupported setting.
    pub(crate) fn parse(v: &str, detection: bool) -> Result<Result<Threshold, String>, String> {
        let mut kind = if detection {
            Some(ThresholdKind::Detection)
        } else {
            None
        };
        let mut track = None;
        let mut count = None;
        let mut seconds = None;
        let mut unique_on = None;
        let mut multiplier = None;
        for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, val) = part
                .split_once(char::is_whitespace)
                .map(|(a, b)| (a.trim(), b.trim()))
                .ok_or_else(|| format!("expected `name value`, found `{part}`"))?;
            match k {
                "type" if !detection => {
                    kind = Some(match val {
                        "limit" => ThresholdKind::Limit,
                        "threshold" => ThresholdKind::Threshold,
                        "both" => ThresholdKind::Both,
                        "backoff" => ThresholdKind::Backoff,
                        other => {
                            return Err(format!("unknown type `{other}` (limit, threshold, both)"))
                        }
                    })
                }
                "track" => {
                    track = Some(match val {
                        "by_src" => Track::Src,
                        "by_dst" => Track::Dst,
                        "by_rule" => Track::Rule,
                        "by_both" => Track::Both,
                        "by_flow" => Track::Flow,
                        other => {
                            return Err(format!(
                                "unknown track `{other}` (by_src, by_dst, by_rule, by_both)"
                            ))
                        }
                    })
                }
                "count" => {
                    count = Some(
                        val.parse::<u32>()
                            .map_err(|_| format!("bad count `{val}`"))?,
                    )
                }
                "seconds" => {
                    seconds = Some(
                        val.parse::<u32>()
                            .map_err(|_| format!("bad seconds `{val}`"))?,
                    )
                }
                "multiplier" => {
                    multiplier = Some(
                        val.parse::<u32>()
                            .ok()
                            .filter(|&m| m >= 1)
                            .ok_or_else(|| format!("bad multiplier `{val}`"))?,
                    )
                }
                "unique_on" if detection => {
                    unique_on = Some(match val {
                        "src_port" => UniqueOn::SrcPort,
                        "dst_port" => UniqueOn::DstPort,
                        other => {
                            return Err(format!("unknown unique_on `{other}` (src_port, dst_port)"))
                        }
                    })
                }
                other => return Err(format!("unknown setting `{other}`")),
            }
        }
        let kind = kind.ok_or("missing `type`")?;
        let track = track.ok_or("missing `track`")?;
        let count = count.ok_or("missing `count`")?;
        let (seconds, multiplier) = if kind == ThresholdKind::Backoff {
            (0, multiplier.ok_or("type backoff needs `multiplier`")?)
        } else {
            (seconds.ok_or("missing `seconds`")?, 1)
        };
        if count == 0 && kind != ThresholdKind::Detection {
            return Err("count must be at least 1".into());
        }
        Ok(Ok(Threshold {
            kind,
            track,
            count,
            seconds,
            unique_on,
            multiplier,
        }))
    }

    /// The tracking key's addresses for a packet.
    pub(crate) fn key(&self, p: &PacketInput<'_>) -> (Option<IpAddr>, Option<IpAddr>) {
        match self.track {
            Track::Src => (Some(p.ip.src), None),
            Track::Dst => (Some(p.ip.dst), None),
            Track::Rule | Track::Flow => (None, None),
            Track::Both => {
                // Both directions between the same pair count together.
                let (a, b) = if p.ip.src <= p.ip.dst {
                    (p.ip.src, p.ip.dst)
                } else {
                    (p.ip.dst, p.ip.src)
                };
                (Some(a), Some(b))
            }
        }
    }
}

/// `content` with its modifiers.
#[derive(Debug, Clone)]
pub(crate) struct Content {
    pub pattern: Vec<u8>,
    pub negated: bool,
    pub nocase: bool,
    pub offset: Option<Val>,
    pub depth: Option<Val>,
    pub distance: Option<Val>,
    pub within: Option<Val>,
    pub startswith: bool,
    pub endswith: bool,
    pub fast_pattern: bool,
    pub fast_pattern_chop: Option<(usize, usize)>,
    finder: memchr::memmem::Finder<'static>,
    /// The next payload keyword is relative to this one (so a failure there retries here).
    pub relative_next: bool,
}

impl Content {
    pub(crate) fn new(pattern: Vec<u8>, negated: bool) -> Content {
        let finder = memchr::memmem::Finder::new(&pattern).into_owned();
        Content {
            pattern,
            negated,
            nocase: false,
            offset: None,
            depth: None,
            distance: None,
            within: None,
            startswith: false,
            endswith: false,
            fast_pattern: false,
            fast_pattern_chop: None,
            finder,
            relative_next: false,
        }
    }

    pub(crate) fn set_nocase(&mut self) {
        self.nocase = true;
        self.pattern.make_ascii_lowercase();
        self.finder = memchr::memmem::Finder::new(&self.pattern).into_owned();
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.startswith
            && (self.distance.is_some()
                || self.within.is_some()
                || self.offset.is_some()
                || self.depth.is_some())
        {
            return Err(
                "startswith cannot be combined with offset, depth, distance or within".into(),
            );
        }
        if self.startswith && self.endswith && self.negated {
            return Err("negated startswith+endswith is not supported".into());
        }
        Ok(())
    }

    fn is_relative(&self) -> bool {
        self.distance.is_some() || self.within.is_some()
    }

    /// Finds this content in `buf` given the previous match end and a retry floor.
    fn find(
        &self,
        buf: &[u8],
        prev_end: usize,
        retry: Option<usize>,
        vars: &[i64],
    ) -> Option<(usize, usize)> {
        let len = buf.len() as i64;
        let plen = self.pattern.len() as i64;
        let (mut lo, mut hi): (i64, i64);
        if self.is_relative() {
            let base = prev_end as i64;
            let dist = self.distance.map_or(0, |d| d.get(vars));
            lo = if dist < 0 && -dist > base {
                0
            } else {
                base + dist
            };
            hi = len;
            if let Some(w) = self.within {
                let w_end = base + dist + w.get(vars);
                if w_end < hi {
                    hi = w_end;
                }
            }
        } else if self.startswith {
            lo = 0;
            hi = plen;
        } else {
            lo = self.offset.map_or(0, |o| o.get(vars)).max(0);
            hi = match self.depth {
                Some(d) => lo + d.get(vars),
                None => len,
            };
        }
        if let Some(r) = retry {
            lo = lo.max(r as i64);
        }
        hi = hi.min(len);
        if lo < 0 {
            lo = 0;
        }
        if hi <= lo || hi - lo < plen {
            return None;
        }
        let (lo, hi) = (lo as usize, hi as usize);
        if self.endswith {
            let start = hi.checked_sub(self.pattern.len())?;
            if hi != buf.len() || start < lo {
                return None;
            }
            return self.eq_at(buf, start).then_some((start, hi));
        }
        let hay = &buf[lo..hi];
        let at = if self.nocase {
            find_nocase(hay, &self.pattern)
        } else {
            self.finder.find(hay)
        }?;
        Some((lo + at, lo + at + self.pattern.len()))
    }

    fn eq_at(&self, buf: &[u8], start: usize) -> bool {
        let Some(s) = buf.get(start..start + self.pattern.len()) else {
            return false;
        };
        if self.nocase {
            s.eq_ignore_ascii_case(&self.pattern)
        } else {
            s == self.pattern.as_slice()
        }
    }
}

/// Case-insensitive search for a lower-cased needle.
fn find_nocase(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let (a, b) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    let last_start = hay.len().checked_sub(needle.len())?;
    let mut i = 0;
    while i <= last_start {
        let pos = memchr::memchr2(a, b, &hay[i..=last_start])? + i;
        if hay[pos..pos + needle.len()].eq_ignore_ascii_case(needle) {
            return Some(pos);
        }
        i = pos + 1;
    }
    None
}

/// `pcre` with Suricata's flags.
#[derive(Debug)]
pub(crate) struct PcreOp {
    regex: pcre2::bytes::Regex,
    negated: bool,
    relative: bool,
    pub(crate) relative_next: bool,
    /// The HTTP buffer an HTTP flag (`U`, `H`, ...) selects.
    pub(crate) buffer: Option<Buffer>,
}

impl PcreOp {
    /// True with the `R` flag.
    pub(crate) fn is_relative(&self) -> bool {
        self.relative
    }

    /// Outer error: invalid value; inner error: (keyword, reason) unsupported.
    pub(crate) fn parse(v: &str) -> Result<Result<PcreOp, (String, String)>, String> {
        let v = v.trim();
        let (negated, v) = match v.strip_prefix('!') {
            Some(r) => (true, r.trim_start()),
            None => (false, v),
        };
        // Suricata also accepts the regex without quotes: pcre:/abc/i;
        let inner = match v.strip_prefix('"') {
            Some(r) => r
                .strip_suffix('"')
                .ok_or("pcre is missing its closing `\"`")?,
            None => v,
        };
        let body = inner
            .strip_prefix('/')
            .ok_or("the regex must start with `/`")?;
        let end = body
            .rfind('/')
            .ok_or("the regex must end with `/` followed by flags")?;
        let (pattern, flags) = (&body[..end], &body[end + 1..]);
        let mut b = pcre2::bytes::RegexBuilder::new();
        b.jit_if_available(true);
        let mut prefix = String::new();
        let mut anchored = false;
        let mut relative = false;
        let mut buffer = None;
        for f in flags.chars() {
            match f {
                'i' => {
                    b.caseless(true);
                }
                's' => {
                    b.dotall(true);
                }
                'm' => {
                    b.multi_line(true);
                }
                'x' => {
                    b.extended(true);
                }
                'A' => anchored = true,
                'G' => prefix.push_str("(?U)"),
                'R' => relative = true,
                'B' | 'O' => {}
                'E' => {
                    return Ok(Err((
                        "pcre/E".into(),
                        "the dollar-endonly flag is not supported by the regex binding yet".into(),
                    )))
                }
                f if Buffer::from_pcre_flag(f).is_some() => buffer = Buffer::from_pcre_flag(f),
                'K' => {
                    return Ok(Err((
                        format!("pcre/{f}"),
                        "the raw cookie buffer is not implemented yet".into(),
                    )))
                }
                other => return Err(format!("unknown pcre flag `{other}`")),
            }
        }
        if pattern.contains("(?P<pkt_")
            || pattern.contains("(?P<flow_")
            || pattern.contains("(?<pkt_")
            || pattern.contains("(?<flow_")
        {
            return Ok(Err((
                "pcre/capture".into(),
                "pcre captures into pkt/flow variables are not supported yet".into(),
            )));
        }
        // Suricata's default pcre limits (suricata.yaml `pcre.match-limit: 3500`,
        // `match-limit-recursion: 1500`): hitting them counts as no match, and they bound the
        // time one hostile packet can cost.
        let limits = "(*LIMIT_MATCH=3500)(*LIMIT_DEPTH=1500)";
        let full = if anchored {
            format!("{limits}{prefix}\\A(?:{pattern})")
        } else {
            format!("{limits}{prefix}{pattern}")
        };
        let regex = b
            .build(&full)
            .map_err(|e| format!("the regex does not compile: {e}"))?;
        Ok(Ok(PcreOp {
            regex,
            negated,
            relative,
            relative_next: false,
            buffer,
        }))
    }

    /// Matches in `buf[start..]` (Suricata passes the subject from the start offset).
    fn find(&self, buf: &[u8], start: usize) -> Option<(usize, usize)> {
        let sub = buf.get(start..)?;
        match self.regex.find(sub) {
            Ok(Some(m)) => Some((start + m.start(), start + m.end())),
            _ => None,
        }
    }
}

/// `isdataat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IsDataAt {
    pub at: Val,
    pub relative: bool,
    pub negated: bool,
}

/// Byte order for byte_* keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endian {
    Big,
    Little,
}

/// byte_test operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BtOp {
    Lt,
    Gt,
    Eq,
    Le,
    Ge,
    And,
    Xor,
}

/// `byte_test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByteTest {
    pub nbytes: u8,
    pub op: BtOp,
    pub negated: bool,
    pub value: Val,
    pub offset: Val,
    pub relative: bool,
    pub endian: Endian,
    pub base: Option<u32>,
    pub bitmask: Option<u32>,
}

/// `byte_jump`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByteJump {
    pub nbytes: u8,
    /// The byte count comes from this byte_extract variable instead of `nbytes`.
    pub nbytes_var: Option<usize>,
    pub offset: Val,
    pub relative: bool,
    pub multiplier: u32,
    pub endian: Endian,
    pub base: Option<u32>,
    pub align: bool,
    pub from_beginning: bool,
    pub from_end: bool,
    pub post_offset: i32,
    pub bitmask: Option<u32>,
}

/// `byte_extract`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByteExtract {
    pub nbytes: u8,
    pub offset: i64,
    pub var: usize,
    pub relative: bool,
    pub multiplier: u32,
    pub endian: Endian,
    pub base: Option<u32>,
    pub align: u32,
    pub bitmask: Option<u32>,
}

/// Reads `n` bytes at `at` as a number: binary (endian) or an ASCII number in `base`.
fn extract(
    buf: &[u8],
    at: i64,
    n: u8,
    endian: Endian,
    base: Option<u32>,
    bitmask: Option<u32>,
) -> Option<u64> {
    if at < 0 {
        return None;
    }
    let at = usize::try_from(at).ok()?;
    let bytes = buf.get(at..at.checked_add(usize::from(n))?)?;
    let mut v: u64 = match base {
        None => {
            let mut v = 0u64;
            match endian {
                Endian::Big => bytes.iter().for_each(|&b| v = v << 8 | u64::from(b)),
                Endian::Little => bytes.iter().rev().for_each(|&b| v = v << 8 | u64::from(b)),
            }
            v
        }
        Some(radix) => {
            let s = std::str::from_utf8(bytes).ok()?;
            let s = s.trim_start();
            let digits: &str = &s[..s.find(|c: char| !c.is_digit(radix)).unwrap_or(s.len())];
            if digits.is_empty() {
                return None;
            }
            u64::from_str_radix(digits, radix).ok()?
        }
    };
    if let Some(mask) = bitmask {
        v &= u64::from(mask);
        v >>= mask.trailing_zeros();
    }
    Some(v)
}

/// A keyword of the payload chain.
#[derive(Debug)]
pub(crate) enum PayloadOp {
    Content(Box<Content>),
    Pcre(Box<PcreOp>),
    IsDataAt(IsDataAt),
    ByteTest(ByteTest),
    ByteJump(ByteJump),
    ByteExtract(ByteExtract),
    Base64Decode(Box<Base64Decode>),
}

/// Most bytes `base64_decode` decodes (Suricata's limit).
const BASE64_DECODE_MAX: usize = 65535;

/// `base64_decode:[bytes N][, offset N][, relative]` with the keywords of the `base64_data`
/// buffer that follows it: the decoded bytes must be non-empty and match `data`.
#[derive(Debug, Default)]
pub(crate) struct Base64Decode {
    /// How many encoded bytes to decode (0: to the end of the buffer).
    pub bytes: u32,
    /// Bytes skipped before decoding (from the buffer start, or the previous match end).
    pub offset: u32,
    /// Decode from the end of the previous match.
    pub relative: bool,
    /// The `base64_data` keywords.
    pub data: Vec<PayloadOp>,
}

impl Base64Decode {
    /// Parses the keyword's value.
    pub(crate) fn parse(v: &str) -> Result<Base64Decode, String> {
        let mut d = Base64Decode::default();
        let (mut have_bytes, mut have_offset) = (false, false);
        for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part == "relative" {
                if d.relative {
                    return Err("`relative` given twice".into());
                }
                d.relative = true;
                continue;
            }
            let (name, val) = part
                .split_once(char::is_whitespace)
                .map(|(n, v)| (n, v.trim()))
                .ok_or_else(|| format!("`{part}`: expected bytes N, offset N or relative"))?;
            let n: u32 = val
                .parse::<u16>()
                .map(u32::from)
                .map_err(|_| format!("bad {name} `{val}`: expected an integer 0..65535"))?;
            match name {
                "bytes" if !have_bytes => {
                    if n == 0 {
                        return Err("bytes 0 decodes nothing".into());
                    }
                    have_bytes = true;
                    d.bytes = n;
                }
                "offset" if !have_offset => {
                    have_offset = true;
                    d.offset = n;
                }
                "bytes" | "offset" => return Err(format!("`{name}` given twice")),
                _ => {
                    return Err(format!(
                        "unknown option `{name}`: expected bytes, offset, relative"
                    ))
                }
            }
        }
        Ok(d)
    }

    /// The decoded bytes at `pos` (the previous match end), empty when there are none.
    fn decode(&self, buf: &[u8], pos: usize, out: &mut Vec<u8>) {
        out.clear();
        let base = if self.relative { pos } else { 0 };
        let Some(rest) = buf.get(base.saturating_add(self.offset as usize)..) else {
            return;
        };
        let data = match self.bytes as usize {
            0 => rest,
            n => &rest[..n.min(rest.len())],
        };
        crate::transform::base64_decode(
            data,
            crate::transform::Base64Mode::Rfc4648,
            BASE64_DECODE_MAX,
            out,
        );
    }
}

impl PayloadOp {
    pub(crate) fn is_payload_inspecting(&self) -> bool {
        true
    }

    fn is_relative(&self) -> bool {
        match self {
            PayloadOp::Content(c) => c.is_relative(),
            PayloadOp::Pcre(p) => p.relative,
            PayloadOp::IsDataAt(i) => i.relative,
            PayloadOp::ByteTest(t) => t.relative,
            PayloadOp::ByteJump(j) => j.relative,
            PayloadOp::ByteExtract(e) => e.relative,
            PayloadOp::Base64Decode(b) => b.relative,
        }
    }
}

pub(crate) use crate::transform::{apply_transforms, Transform};

/// A buffer as a rule inspects it: the sticky buffer and which of the rule's transform lists
/// applies to it (`xf` 0: none, else `Rule::transforms[xf - 1]`). As in Suricata, the same
/// buffer with different transforms is a different buffer with its own keyword chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    pub buf: Buffer,
    pub xf: usize,
}

/// Which TCP stream(s) `stream_size` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamSide {
    /// The bytes the server sent.
    Server,
    /// The bytes the client sent.
    Client,
    /// Both streams must satisfy the comparison.
    Both,
    /// Either stream satisfies it.
    Either,
}

/// `stream_size:<server|client|both|either>,<op>,<N>`: the amount of data a TCP stream
/// registered by sequence numbers (next expected sequence number minus the initial one, so
/// the SYN counts as one byte, as in Suricata).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamSize {
    pub side: StreamSide,
    pub cond: UintCond,
}

impl StreamSize {
    /// Parses `server,<,6` (spaces allowed around the parts).
    pub(crate) fn parse(v: &str) -> Result<StreamSize, String> {
        const EXPECTED: &str =
            "expected <server|client|both|either>,<op>,<N> with op one of <, <=, =, !=, >=, >";
        let parts: Vec<&str> = v.split(',').map(str::trim).collect();
        let [side, op, n] = parts.as_slice() else {
            return Err(EXPECTED.into());
        };
        let side = match *side {
            "server" => StreamSide::Server,
            "client" => StreamSide::Client,
            "both" => StreamSide::Both,
            "either" => StreamSide::Either,
            other => return Err(format!("unknown stream `{other}`: {EXPECTED}")),
        };
        let n: u32 = n
            .parse()
            .map_err(|_| format!("bad size `{n}`: expected an integer 0..4294967295"))?;
        let n = u64::from(n);
        let cond = match *op {
            "<" => UintCond::Lt(n),
            "<=" => UintCond::Le(n),
            "=" | "==" => UintCond::Eq(n),
            "!=" => UintCond::Ne(n),
            ">=" => UintCond::Ge(n),
            ">" => UintCond::Gt(n),
            other => return Err(format!("unknown operator `{other}`: {EXPECTED}")),
        };
        Ok(StreamSize { side, cond })
    }

    /// Compares the client's and the server's stream sizes.
    pub(crate) fn matches(&self, client: u32, server: u32) -> bool {
        let (c, s) = (
            self.cond.matches(u64::from(client)),
            self.cond.matches(u64::from(server)),
        );
        match self.side {
            StreamSide::Server => s,
            StreamSide::Client => c,
            StreamSide::Both => c && s,
            StreamSide::Either => c || s,
        }
    }
}

/// Suricata's `absent` keyword on a sticky buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Absent {
    /// `absent`: the buffer must not exist (no keyword may inspect it).
    Only,
    /// `absent: or_else`: the buffer does not exist, or its keywords match.
    OrElse,
    /// `absent: error_or`: a transform of the buffer failed, or its keywords match.
    ErrorOr,
}

impl Absent {
    /// Parses the keyword's value (none, `or_else`, `error_or`).
    pub(crate) fn parse(v: Option<&str>) -> Result<Absent, String> {
        match v.map(str::trim).unwrap_or("") {
            "" => Ok(Absent::Only),
            "or_else" => Ok(Absent::OrElse),
            "error_or" => Ok(Absent::ErrorOr),
            other => Err(format!(
                "unknown absent option `{other}`: expected nothing, `or_else` or `error_or`"
            )),
        }
    }
}

impl Slot {
    /// The buffer untransformed.
    pub(crate) fn plain(buf: Buffer) -> Slot {
        Slot { buf, xf: 0 }
    }
}

/// Marks contents and pcres followed by a relative keyword (they are retried on failure).
pub(crate) fn set_relative_next(ops: &mut [PayloadOp]) {
    for i in 0..ops.len() {
        let next_rel = ops.get(i + 1).is_some_and(PayloadOp::is_relative);
        match &mut ops[i] {
            PayloadOp::Content(c) => c.relative_next = next_rel,
            PayloadOp::Pcre(p) => p.relative_next = next_rel,
            _ => {}
        }
    }
}

/// Picks the prefilter pattern: the explicit `fast_pattern` (if positive), else the longest
/// positive content (the first of equal length).
pub(crate) fn choose_fast_pattern<'o>(
    ops: impl Iterator<Item = (Buffer, &'o PayloadOp)>,
) -> Option<(Vec<u8>, bool, Buffer)> {
    let contents = ops.filter_map(|(b, o)| match o {
        PayloadOp::Content(c) => Some((b, c)),
        _ => None,
    });
    let mut best: Option<(Buffer, &Content)> = None;
    for (b, c) in contents {
        if c.fast_pattern {
            if c.negated {
                return None;
            }
            best = Some((b, c));
            break;
        }
        if !c.negated && best.map_or(true, |(_, bc)| c.pattern.len() > bc.pattern.len()) {
            best = Some((b, c));
        }
    }
    let (buf, c) = best?;
    let bytes = match c.fast_pattern_chop {
        Some((o, l)) => c.pattern[o..o + l].to_vec(),
        None => c.pattern.clone(),
    };
    Some((bytes, c.nocase, buf))
}

/// How a payload inspection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inspect {
    Match,
    NoMatch,
    /// Stop: no retry of an earlier keyword can help (or the budget ran out).
    Abort,
}

/// Inspection budget, like Suricata's `inspection-recursion-limit`.
const BUDGET: u32 = 3000;

/// Runs a sticky buffer's chain over `buf`. Unlike the payload, an app-layer buffer may be
/// present and empty (a header with an empty value): then only negated contents match, as in
/// Suricata.
pub(crate) fn inspect_buffer(ops: &[PayloadOp], buf: &[u8], vars: &mut [i64]) -> bool {
    if buf.is_empty() {
        return ops
            .iter()
            .all(|o| matches!(o, PayloadOp::Content(c) if c.negated));
    }
    inspect_payload(ops, buf, vars)
}

/// Runs the payload chain over `buf`. `vars` holds byte_extract values.
pub(crate) fn inspect_payload(ops: &[PayloadOp], buf: &[u8], vars: &mut [i64]) -> bool {
    if ops.is_empty() {
        return true;
    }
    if buf.is_empty() {
        return false;
    }
    let mut budget = BUDGET;
    inspect(ops, 0, buf, 0, vars, &mut budget) == Inspect::Match
}

fn inspect(
    ops: &[PayloadOp],
    i: usize,
    buf: &[u8],
    pos: usize,
    vars: &mut [i64],
    budget: &mut u32,
) -> Inspect {
    let Some(op) = ops.get(i) else {
        return Inspect::Match;
    };
    if *budget == 0 {
        return Inspect::Abort;
    }
    *budget -= 1;
    match op {
        PayloadOp::Content(c) => {
            let mut retry = None;
            loop {
                match c.find(buf, pos, retry, vars) {
                    None => {
                        if c.negated {
                            return inspect(ops, i + 1, buf, pos, vars, budget);
                        }
                        // An absolute content that is not there will not be there on a retry.
                        return if c.is_relative() {
                            Inspect::NoMatch
                        } else {
                            Inspect::Abort
                        };
                    }
                    Some((start, end)) => {
                        if c.negated {
                            return Inspect::NoMatch;
                        }
                        match inspect(ops, i + 1, buf, end, vars, budget) {
                            Inspect::Match => return Inspect::Match,
                            Inspect::Abort => return Inspect::Abort,
                            Inspect::NoMatch => {}
                        }
                        if !c.relative_next {
                            return Inspect::NoMatch;
                        }
                        if *budget == 0 {
                            return Inspect::Abort;
                        }
                        *budget -= 1;
                        retry = Some(start + 1);
                    }
                }
            }
        }
        PayloadOp::Pcre(p) => {
            let mut start = if p.relative { pos } else { 0 };
            loop {
                let found = p.find(buf, start);
                match found {
                    None => {
                        return if p.negated {
                            inspect(ops, i + 1, buf, pos, vars, budget)
                        } else {
                            Inspect::NoMatch
                        };
                    }
                    Some((s, e)) => {
                        if p.negated {
                            return Inspect::NoMatch;
                        }
                        match inspect(ops, i + 1, buf, e, vars, budget) {
                            Inspect::Match => return Inspect::Match,
                            Inspect::Abort => return Inspect::Abort,
                            Inspect::NoMatch => {}
                        }
                        if !p.relative_next || s + 1 > buf.len() {
                            return Inspect::NoMatch;
                        }
                        if *budget == 0 {
                            return Inspect::Abort;
                        }
                        *budget -= 1;
                        start = s + 1;
                    }
                }
            }
        }
        PayloadOp::IsDataAt(d) => {
            let at = d.at.get(vars);
            let ok = if d.relative {
                (pos as i64).saturating_add(at) <= buf.len() as i64
            } else {
                at >= 0 && at < buf.len() as i64
            };
            if ok != d.negated {
                inspect(ops, i + 1, buf, pos, vars, budget)
            } else {
                Inspect::NoMatch
            }
        }
        PayloadOp::ByteTest(t) => {
            let base = if t.relative { pos as i64 } else { 0 };
            let Some(v) = extract(
                buf,
                base + t.offset.get(vars),
                t.nbytes,
                t.endian,
                t.base,
                t.bitmask,
            ) else {
                return Inspect::NoMatch;
            };
            let want = t.value.get(vars) as u64;
            let r = match t.op {
                BtOp::Lt => v < want,
                BtOp::Gt => v > want,
                BtOp::Eq => v == want,
                BtOp::Le => v <= want,
                BtOp::Ge => v >= want,
                BtOp::And => v & want != 0,
                BtOp::Xor => v ^ want != 0,
            };
            if r != t.negated {
                inspect(ops, i + 1, buf, pos, vars, budget)
            } else {
                Inspect::NoMatch
            }
        }
        PayloadOp::ByteJump(j) => {
            let base = if j.relative { pos as i64 } else { 0 };
            let at = base + j.offset.get(vars);
            let nbytes = match j.nbytes_var {
                Some(i) => match u8::try_from(vars.get(i).copied().unwrap_or(-1)) {
                    Ok(n) if n <= 8 || (j.base.is_some() && n <= 23) => n,
                    _ => return Inspect::NoMatch,
                },
                None => j.nbytes,
            };
            let Some(v) = extract(buf, at, nbytes, j.endian, j.base, j.bitmask) else {
                return Inspect::NoMatch;
            };
            let mut v = (v as i64).saturating_mul(i64::from(j.multiplier));
            if j.align && v % 4 != 0 {
                v += 4 - v % 4;
            }
            v = v.saturating_add(i64::from(j.post_offset));
            let target = if j.from_beginning {
                v
            } else if j.from_end {
                (buf.len() as i64).saturating_add(v)
            } else {
                at.saturating_add(i64::from(nbytes)).saturating_add(v)
            };
            if target < 0 || target >= buf.len() as i64 {
                return Inspect::NoMatch;
            }
            inspect(ops, i + 1, buf, target as usize, vars, budget)
        }
        PayloadOp::ByteExtract(e) => {
            let base = if e.relative { pos as i64 } else { 0 };
            let at = base + e.offset;
            let Some(v) = extract(buf, at, e.nbytes, e.endian, e.base, e.bitmask) else {
                return Inspect::NoMatch;
            };
            let mut v = (v as i64).saturating_mul(i64::from(e.multiplier));
            if e.align > 1 && v % i64::from(e.align) != 0 {
                v += i64::from(e.align) - v % i64::from(e.align);
            }
            if let Some(slot) = vars.get_mut(e.var) {
                *slot = v;
            }
            inspect(
                ops,
                i + 1,
                buf,
                (at + i64::from(e.nbytes)) as usize,
                vars,
                budget,
            )
        }
        PayloadOp::Base64Decode(b) => {
            let mut decoded = Vec::new();
            b.decode(buf, pos, &mut decoded);
            if decoded.is_empty() || !inspect_payload(&b.data, &decoded, vars) {
                return Inspect::NoMatch;
            }
            inspect(ops, i + 1, buf, pos, vars, budget)
        }
    }
}
