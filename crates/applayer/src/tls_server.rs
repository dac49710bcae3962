//! The TLS handshake after the ClientHello: the ServerHello (negotiated version, cipher,
//! JA3S) and the Certificate message (the server's chain), for the `tls.cert_*`, `tls.certs`,
//! `tls.subjectaltname`, `tls.version`, `ssl_state` and `ja3s.*` keywords.
//!
//! Design:
//! - Input is a handshake record whose body holds one or more handshake messages. Over TCP
//!   the per-flow framer ([`crate::flow`]) joins the handshake fragments of consecutive records
//!   into one synthetic record, so a certificate chain cut over many records and segments
//!   arrives whole; for a lone packet only its first record is read.
//! - [`Handshake::parse`] walks the messages (type, 24-bit length, body) and keeps views:
//!   the ServerHello, the DER certificates of the first Certificate message, and which message
//!   types were seen. A message cut at the end of the bytes is used as far as it goes (the
//!   certificates wholly present are kept); bytes that do not look like a handshake message
//!   (the encrypted Finished after ChangeCipherSpec) end the walk.
//! - Certificates are decoded on demand by [`CertInfo::parse`] with `x509-parser` (the parser
//!   Suricata itself uses), so the subject and issuer strings are the ones Suricata prints
//!   (`C=US, O=Example, CN=www.example.com`), the serial is colon-separated uppercase hex
//!   (`5C:19:B7`) and the fingerprint colon-separated lowercase SHA-1 hex.
//!
//! No-panic promise: every read is bounds-checked (`get`, checked arithmetic); `x509-parser`
//! returns errors on malformed DER. The `tls_server` fuzz target checks it.

use crate::Error;

/// Handshake message types (RFC 8446 section 4, RFC 5246 section 7.4).
pub mod msg {
    /// ClientHello.
    pub const CLIENT_HELLO: u8 = 1;
    /// ServerHello.
    pub const SERVER_HELLO: u8 = 2;
    /// Certificate.
    pub const CERTIFICATE: u8 = 11;
    /// ServerKeyExchange.
    pub const SERVER_KEY_EXCHANGE: u8 = 12;
    /// ServerHelloDone.
    pub const SERVER_HELLO_DONE: u8 = 14;
    /// ClientKeyExchange.
    pub const CLIENT_KEY_EXCHANGE: u8 = 16;
}

/// Most certificates kept from one Certificate message.
pub const MAX_CERTS: usize = 16;

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]))
}

fn u24_at(b: &[u8], i: usize) -> Option<usize> {
    Some(
        usize::from(*b.get(i)?) << 16
            | usize::from(*b.get(i + 1)?) << 8
            | usize::from(*b.get(i + 2)?),
    )
}

/// A ServerHello view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerHello<'a> {
    /// The `legacy_version` field (`0x0303` for TLS 1.2 and 1.3).
    pub legacy_version: u16,
    /// The negotiated version: the `supported_versions` extension's value (TLS 1.3) or
    /// `legacy_version`.
    pub version: u16,
    /// The 32-byte `random` field (`tls.random`).
    pub random: &'a [u8],
    /// The selected cipher suite.
    pub cipher: u16,
    /// The extensions block (empty when the hello has none).
    pub extensions: &'a [u8],
}

impl<'a> ServerHello<'a> {
    /// Parses a ServerHello message body (after the 4-byte handshake header).
    pub fn parse(body: &'a [u8]) -> Result<ServerHello<'a>, Error> {
        let legacy_version = u16_at(body, 0).ok_or(Error::Incomplete)?;
        // version (2) + random (32), then the session id.
        let sid_len = usize::from(*body.get(34).ok_or(Error::Incomplete)?);
        let at = 35 + sid_len;
        let cipher = u16_at(body, at).ok_or(Error::Incomplete)?;
        body.get(at + 2).ok_or(Error::Incomplete)?; // compression method
        let rest = body.get(at + 3..).unwrap_or(&[]);
        let extensions = if rest.is_empty() {
            &[][..]
        } else {
            let n = usize::from(u16_at(rest, 0).ok_or(Error::Incomplete)?);
            rest.get(2..2 + n).ok_or(Error::Incomplete)?
        };
        let random = body.get(2..34).ok_or(Error::Incomplete)?;
        let mut hello = ServerHello {
            legacy_version,
            version: legacy_version,
            random,
            cipher,
            extensions,
        };
        if let Some(v) = hello
            .extension_list()
            .find(|(t, _)| *t == 43)
            .and_then(|(_, d)| u16_at(d, 0))
        {
            hello.version = v;
        }
        Ok(hello)
    }

    /// The extensions as (type, data) pairs; a malformed tail ends the list.
    pub fn extension_list(&self) -> impl Iterator<Item = (u16, &'a [u8])> + 'a {
        let mut b = self.extensions;
        std::iter::from_fn(move || {
            let ty = u16_at(b, 0)?;
            let n = usize::from(u16_at(b, 2)?);
            let data = b.get(4..4 + n)?;
            b = b.get(4 + n..).unwrap_or(&[]);
            Some((ty, data))
        })
    }

    /// The JA3S string (`ja3s.string`): `version,cipher,extensions`, decimal, the extensions
    /// dash-separated in order.
    pub fn ja3s(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = write!(s, "{},{},", self.legacy_version, self.cipher);
        for (i, (t, _)) in self.extension_list().enumerate() {
            if i > 0 {
                s.push('-');
            }
            let _ = write!(s, "{t}");
        }
        s
    }

    /// The JA3S hash (`ja3s.hash`): MD5 of [`ServerHello::ja3s`], lowercase hex.
    pub fn ja3s_hash(&self) -> String {
        use md5::{Digest, Md5};
        hex(&Md5::digest(self.ja3s().as_bytes()), None, false)
    }
}

/// Formats bytes as hex, optionally separated, upper or lower case.
fn hex(bytes: &[u8], sep: Option<char>, upper: bool) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            if let Some(c) = sep {
                s.push(c);
            }
        }
        let _ = if upper {
            write!(s, "{b:02X}")
        } else {
            write!(s, "{b:02x}")
        };
    }
    s
}

/// What a run of handshake messages (one direction of a TLS session) holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake<'a> {
    /// The record layer version of the (first) handshake record.
    pub record_version: u16,
    /// The ServerHello, when one was seen.
    pub server_hello: Option<ServerHello<'a>>,
    /// The DER certificates of the first Certificate message, leaf first (at most
    /// [`MAX_CERTS`]).
    pub certs: Vec<&'a [u8]>,
    /// Bit `t` is set when a handshake message of type `t` (< 32) was seen.
    pub types: u32,
}

impl<'a> Handshake<'a> {
    /// Parses a TLS handshake record (`0x16 0x03 0x00..=0x04`, length, messages). A length
    /// field of 0xffff (the per-flow framer's saturated length for a joined handshake of 64 KiB
    /// or more) takes every byte after the header.
    pub fn parse(p: &'a [u8]) -> Result<Handshake<'a>, Error> {
        if !crate::tls::is_handshake_start(p) {
            return Err(Error::Invalid("TLS record (not a handshake)"));
        }
        let record_version = u16_at(p, 1).ok_or(Error::Incomplete)?;
        let len = usize::from(u16_at(p, 3).ok_or(Error::Incomplete)?);
        let body = p.get(5..).unwrap_or(&[]);
        let body = if len == usize::from(u16::MAX) {
            body
        } else {
            body.get(..len.min(body.len())).unwrap_or(&[])
        };
        let mut hs = Handshake {
            record_version,
            server_hello: None,
            certs: Vec::new(),
            types: 0,
        };
        let mut at = 0;
        let mut cert_done = false;
        while let (Some(&ty), Some(n)) = (body.get(at), u24_at(body, at + 1)) {
            // Encrypted bytes after ChangeCipherSpec do not look like a message: stop there.
            if !matches!(ty, 0..=24 | 67) || n > 1 << 24 {
                break;
            }
            let start = at + 4;
            let msg = body
                .get(start..start.saturating_add(n).min(body.len()))
                .unwrap_or(&[]);
            if ty < 32 {
                hs.types |= 1 << ty;
            }
            match ty {
                msg::SERVER_HELLO if hs.server_hello.is_none() => {
                    hs.server_hello = ServerHello::parse(msg).ok();
                }
                msg::CERTIFICATE if !cert_done => {
                    cert_done = true;
                    hs.certs = cert_list(msg);
                }
                _ => {}
            }
            at = start.saturating_add(n);
        }
        if hs.types == 0 {
            return Err(Error::Incomplete);
        }
        Ok(hs)
    }

    /// True when a handshake message of type `t` was seen.
    pub fn has(&self, t: u8) -> bool {
        t < 32 && self.types & (1 << t) != 0
    }
}

/// The certificates of a (TLS 1.2 style) Certificate message body, as far as they are
/// present.
fn cert_list(body: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let Some(total) = u24_at(body, 0) else {
        return out;
    };
    let list = body.get(3..).unwrap_or(&[]);
    let list = list.get(..total.min(list.len())).unwrap_or(&[]);
    let mut at = 0;
    while out.len() < MAX_CERTS {
        let Some(n) = u24_at(list, at) else { break };
        let Some(der) = list.get(at + 3..at + 3 + n) else {
            break;
        };
        out.push(der);
        at += 3 + n;
    }
    out
}

/// The fields of one X.509 certificate that rules match, as Suricata formats them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// `tls.cert_subject`: the subject DN, `C=US, O=..., CN=...`.
    pub subject: String,
    /// `tls.cert_issuer`: the issuer DN.
    pub issuer: String,
    /// `tls.cert_serial`: the serial's DER bytes as uppercase hex, colon-separated.
    pub serial: String,
    /// `tls.cert_fingerprint`: SHA-1 of the DER certificate, lowercase hex, colon-separated.
    pub fingerprint: String,
    /// Start of validity, seconds since the Unix epoch.
    pub not_before: i64,
    /// End of validity, seconds since the Unix epoch.
    pub not_after: i64,
    /// `tls.subjectaltname`: the subject alternative names (DNS names, e-mail addresses,
    /// URIs as written; IP addresses in text form).
    pub subject_alt_names: Vec<String>,
}

impl CertInfo {
    /// Decodes a DER certificate.
    pub fn parse(der: &[u8]) -> Result<CertInfo, Error> {
        use sha1::{Digest, Sha1};
        use x509_parser::extensions::GeneralName;
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|_| Error::Invalid("X.509 certificate"))?;
        let mut sans = Vec::new();
        if let Ok(Some(ext)) = cert.subject_alternative_name() {
            for gn in &ext.value.general_names {
                match gn {
                    GeneralName::DNSName(s) | GeneralName::RFC822Name(s) | GeneralName::URI(s) => {
                        sans.push((*s).to_string())
                    }
                    GeneralName::IPAddress(b) => {
                        if let Ok(a) = <[u8; 4]>::try_from(*b) {
                            sans.push(std::net::Ipv4Addr::from(a).to_string());
                        } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                            sans.push(std::net::Ipv6Addr::from(a).to_string());
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(CertInfo {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            serial: hex(cert.raw_serial(), Some(':'), true),
            fingerprint: hex(&Sha1::digest(der), Some(':'), false),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            subject_alt_names: sans,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A self-signed EC P-256 certificate made with `openssl req -x509` (its SHA-1 fingerprint,
    /// from `openssl x509 -fingerprint -sha1`, is in `cert.sha1`): subject and issuer
    /// `C=US, O=Verdict Test, CN=www.example.org`,
    /// serial 0x1f2e3d, SAN DNS:www.example.org, DNS:alt.example.net, IP:198.18.0.1.
    pub(crate) const CERT_DER: &[u8] = include_bytes!("../testdata/cert.der");

    /// A server flight: ServerHello (TLS 1.2, cipher 0xc02f, extensions 0xff01 and 0x0017),
    /// Certificate with `certs`, ServerHelloDone.
    pub(crate) fn server_flight(certs: &[&[u8]]) -> Vec<u8> {
        let mut sh = vec![3, 3];
        sh.extend_from_slice(&[9; 32]);
        sh.push(0);
        sh.extend_from_slice(&[0xc0, 0x2f, 0]);
        sh.extend_from_slice(&[0, 9, 0xff, 1, 0, 1, 0, 0, 0x17, 0, 0]);
        let mut hs = vec![msg::SERVER_HELLO];
        hs.extend_from_slice(&(sh.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&sh);
        let mut list = Vec::new();
        for c in certs {
            list.extend_from_slice(&(c.len() as u32).to_be_bytes()[1..]);
            list.extend_from_slice(c);
        }
        let mut cm = (list.len() as u32).to_be_bytes()[1..].to_vec();
        cm.extend_from_slice(&list);
        hs.push(msg::CERTIFICATE);
        hs.extend_from_slice(&(cm.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&cm);
        hs.extend_from_slice(&[msg::SERVER_HELLO_DONE, 0, 0, 0]);
        let mut rec = vec![0x16, 3, 3];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn server_hello_and_chain() {
        let rec = server_flight(&[CERT_DER, b"not der"]);
        let hs = Handshake::parse(&rec).unwrap();
        let sh = hs.server_hello.unwrap();
        assert_eq!((sh.version, sh.cipher), (0x0303, 0xc02f));
        assert_eq!(sh.ja3s(), "771,49199,65281-23");
        // printf "771,49199,65281-23" | md5sum
        assert_eq!(sh.ja3s_hash(), "394441ab65754e2207b1e1b457b3641d");
        assert_eq!(hs.certs, [CERT_DER, &b"not der"[..]]);
        assert!(hs.has(msg::SERVER_HELLO) && hs.has(msg::SERVER_HELLO_DONE));
        assert!(!hs.has(msg::SERVER_KEY_EXCHANGE) && !hs.has(msg::CLIENT_HELLO));
        assert_eq!(hs.record_version, 0x0303);
    }

    #[test]
    fn certificate_fields_as_suricata_prints_them() {
        let c = CertInfo::parse(CERT_DER).unwrap();
        assert_eq!(c.subject, "C=US, O=Verdict Test, CN=www.example.org");
        assert_eq!(c.issuer, c.subject);
        assert_eq!(c.serial, "1F:2E:3D");
        assert_eq!(c.fingerprint, include_str!("../testdata/cert.sha1").trim());
        assert_eq!(
            c.subject_alt_names,
            ["www.example.org", "alt.example.net", "198.18.0.1"]
        );
        assert!(c.not_before < c.not_after);
        assert!(CertInfo::parse(b"not der").is_err());
        assert!(CertInfo::parse(&CERT_DER[..CERT_DER.len() - 1]).is_err());
    }

    #[test]
    fn tls13_supported_versions() {
        let mut sh = vec![3, 3];
        sh.extend_from_slice(&[1; 32]);
        sh.extend_from_slice(&[0, 0x13, 0x01, 0]);
        sh.extend_from_slice(&[0, 6, 0, 43, 0, 2, 3, 4]);
        let h = ServerHello::parse(&sh).unwrap();
        assert_eq!((h.legacy_version, h.version), (0x0303, 0x0304));
        assert_eq!(h.ja3s(), "771,4865,43");
    }

    #[test]
    fn truncated_and_garbage() {
        let rec = server_flight(&[CERT_DER, CERT_DER]);
        for n in 0..rec.len() {
            // Never panics; whole certificates present are kept.
            if let Ok(hs) = Handshake::parse(&rec[..n]) {
                assert!(hs.certs.len() <= 2);
                assert!(hs.certs.iter().all(|c| *c == CERT_DER));
            }
        }
        assert!(Handshake::parse(b"\x17\x03\x03\x00\x01x").is_err());
        assert!(Handshake::parse(b"\x16\x03\x03\x00\x00").is_err());
        // Encrypted-looking bytes after a message end the walk.
        let mut rec = server_flight(&[CERT_DER]);
        rec.extend_from_slice(&[0xee; 40]);
        let hs = Handshake::parse(&rec).unwrap();
        assert_eq!(hs.certs.len(), 1);
        let mut x: u32 = 7;
        for _ in 0..2000 {
            let mut junk = vec![0x16, 3, 1, 0xff, 0xff];
            for _ in 0..64 {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                junk.push((x >> 16) as u8 % 20);
            }
            if let Ok(hs) = Handshake::parse(&junk) {
                for c in &hs.certs {
                    let _ = CertInfo::parse(c);
                }
            }
        }
    }
}
