//! TLS records and the ClientHello (RFC 8446 section 4.1.2, RFC 6066 for SNI).
//!
//! [`ClientHello::parse`] reads a handshake record whose first message is a ClientHello and
//! extracts the versions, the server name (`tls.sni`) and what JA3 needs. Only the first
//! record is read: a ClientHello split over records or segments gives
//! [`Error::Incomplete`]. No-panic: all reads are bounds-checked through a cursor whose reads
//! return `Incomplete` past the end.

use crate::Error;

/// True when the payload starts like a TLS handshake record (`0x16 0x03 0x00..=0x04`).
pub fn is_handshake_start(p: &[u8]) -> bool {
    matches!(p, [0x16, 0x03, 0..=4, ..])
}

/// The record layer version of a TLS record, when the payload starts with a record header.
pub fn record_version(p: &[u8]) -> Option<u16> {
    match p {
        [0x14..=0x18, 0x03, minor @ 0..=4, ..] => Some(0x0300 | u16::from(*minor)),
        _ => None,
    }
}

/// True when the payload starts like an SSLv2-format CLIENT-HELLO (RFC 5246 appendix E.2,
/// sent by old clients to reach SSLv3/TLS servers): a 2-byte header with the high bit set,
/// message type 1, version 2.0 or 3.x.
pub fn is_sslv2_client_hello(p: &[u8]) -> bool {
    matches!(p, [h, _, 1, 0, 2, ..] | [h, _, 1, 3, 0..=4, ..] if *h & 0x80 != 0)
}

/// The length of the SSLv2 record starting `p` (2-byte header included), once the header is
/// there.
pub fn sslv2_record_len(p: &[u8]) -> Option<usize> {
    match p {
        [h, l, ..] if *h & 0x80 != 0 => Some((usize::from(h & 0x7f) << 8 | usize::from(*l)) + 2),
        _ => None,
    }
}

/// Rewrites a whole SSLv2-format CLIENT-HELLO record as the TLS handshake record holding the
/// equivalent ClientHello (RFC 5246 appendix E.2): same version, cipher suites (the SSLv2
/// specs that are TLS suites, `00 XX YY`), session id, the challenge right-aligned in a
/// zero-padded random, null compression, no extensions. Suricata reads such a hello as a TLS
/// one (`ssl_version`, cipher suites). None when the record is not a valid CLIENT-HELLO.
pub fn sslv2_client_hello_record(p: &[u8]) -> Option<Vec<u8>> {
    if !is_sslv2_client_hello(p) {
        return None;
    }
    let body = p.get(2..sslv2_record_len(p)?)?;
    let mut r = Reader { b: body };
    r.u8().ok()?; // CLIENT-HELLO
    let version = r.u16().ok()?;
    let (specs_len, sid_len, challenge_len) = (r.u16().ok()?, r.u16().ok()?, r.u16().ok()?);
    let specs = r.take(usize::from(specs_len)).ok()?;
    let sid = r.take(usize::from(sid_len)).ok()?;
    let challenge = r.take(usize::from(challenge_len)).ok()?;
    if specs.len() % 3 != 0 || sid.len() > 32 || !(16..=32).contains(&challenge.len()) {
        return None;
    }
    let suites: Vec<u8> = specs
        .chunks_exact(3)
        .filter(|c| c[0] == 0)
        .flat_map(|c| [c[1], c[2]])
        .collect();
    let mut hello = Vec::with_capacity(48 + suites.len());
    hello.extend_from_slice(&version.to_be_bytes());
    hello.extend(std::iter::repeat(0).take(32 - challenge.len()));
    hello.extend_from_slice(challenge);
    hello.push(sid.len() as u8);
    hello.extend_from_slice(sid);
    hello.extend_from_slice(&u16::try_from(suites.len()).ok()?.to_be_bytes());
    hello.extend_from_slice(&suites);
    hello.extend_from_slice(&[1, 0]); // null compression
    let hs_len = u32::try_from(hello.len()).ok()?.to_be_bytes();
    let rec_len = u16::try_from(hello.len() + 4).ok()?.to_be_bytes();
    let minor = if version >> 8 == 3 {
        (version & 0xff) as u8
    } else {
        0
    };
    let mut rec = vec![0x16, 3, minor, rec_len[0], rec_len[1], 1];
    rec.extend_from_slice(&hs_len[1..]);
    rec.extend_from_slice(&hello);
    Some(rec)
}

/// SNI anomalies of a handshake record starting with a ClientHello, as Suricata's TLS parser
/// flags them: (more than one server_name extension, a first name of another type than
/// host_name, a first name longer than what its extension holds). None when the bytes are
/// not a ClientHello record with its extensions.
pub fn sni_anomalies(p: &[u8]) -> Option<(bool, bool, bool)> {
    if !is_handshake_start(p) {
        return None;
    }
    let mut r = Reader { b: p.get(5..)? };
    if r.u8().ok()? != 1 {
        return None;
    }
    let len = r.u24().ok()?;
    let mut c = Reader {
        b: r.b.get(..len.min(r.b.len()))?,
    };
    c.take(2 + 32).ok()?;
    c.vec8().ok()?;
    c.vec16().ok()?;
    c.vec8().ok()?;
    let mut ext = Reader {
        b: c.vec16().unwrap_or(c.b),
    };
    let (mut count, mut bad_type, mut bad_len) = (0, false, false);
    while !ext.b.is_empty() {
        let (Ok(ty), Ok(n)) = (ext.u16(), ext.u16()) else {
            break;
        };
        let data = ext.b.get(..usize::from(n)).unwrap_or(ext.b);
        ext.b = ext.b.get(usize::from(n)..).unwrap_or(&[]);
        if ty != 0 {
            continue;
        }
        count += 1;
        if count > 1 {
            continue;
        }
        let mut e = Reader { b: data };
        if e.u16().is_err() {
            bad_len = true;
            continue;
        }
        match e.u8() {
            Ok(0) => {}
            Ok(_) => bad_type = true,
            Err(_) => bad_len = true,
        }
        if !bad_type {
            match e.u16() {
                Ok(name_len) if usize::from(name_len) <= e.b.len() => {}
                _ => bad_len = true,
            }
        }
    }
    Some((count > 1, bad_type, bad_len))
}

/// A bounds-checked cursor.
struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if n > self.b.len() {
            return Err(Error::Incomplete);
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, Error> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u24(&mut self) -> Result<usize, Error> {
        let b = self.take(3)?;
        Ok(usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]))
    }
    fn vec8(&mut self) -> Result<&'a [u8], Error> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }
    fn vec16(&mut self) -> Result<&'a [u8], Error> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
}

/// A ClientHello view.
#[derive(Debug, Clone, Copy)]
pub struct ClientHello<'a> {
    /// The record layer version.
    pub record_version: u16,
    /// The ClientHello `legacy_version` (`0x0303` for TLS 1.2 and 1.3 hellos).
    pub version: u16,
    /// The 32-byte `random` field (`tls.random`).
    pub random: &'a [u8],
    /// The cipher suites list (2 bytes each).
    pub cipher_suites: &'a [u8],
    /// The extensions block (empty when the hello has none).
    pub extensions: &'a [u8],
    /// The first host name of the server_name extension (`tls.sni`).
    pub sni: Option<&'a [u8]>,
}

fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

impl<'a> ClientHello<'a> {
    /// Parses a TLS record carrying a ClientHello.
    pub fn parse(p: &'a [u8]) -> Result<ClientHello<'a>, Error> {
        if !is_handshake_start(p) {
            return Err(Error::Invalid("TLS record (not a handshake)"));
        }
        let mut r = Reader { b: p };
        r.take(1)?;
        let record_version = r.u16()?;
        let rec = r.vec16()?;
        let mut h = Reader { b: rec };
        if h.u8()? != 1 {
            return Err(Error::Invalid("TLS handshake (not a ClientHello)"));
        }
        let len = h.u24()?;
        let mut c = Reader { b: h.take(len)? };
        let version = c.u16()?;
        let random = c.take(32)?;
        c.vec8()?; // session id
        let cipher_suites = c.vec16()?;
        c.vec8()?; // compression methods
        let extensions = if c.b.is_empty() { &[][..] } else { c.vec16()? };
        let mut ch = ClientHello {
            record_version,
            version,
            random,
            cipher_suites,
            extensions,
            sni: None,
        };
        for ext in ch.extension_list() {
            let (ty, data) = ext?;
            if ty == 0 {
                let mut s = Reader { b: data };
                let mut list = Reader { b: s.vec16()? };
                while !list.b.is_empty() {
                    let kind = list.u8()?;
                    let name = list.vec16()?;
                    if kind == 0 {
                        ch.sni = Some(name);
                        break;
                    }
                }
            }
        }
        Ok(ch)
    }

    /// The extensions as (type, data) pairs.
    pub fn extension_list(&self) -> impl Iterator<Item = Result<(u16, &'a [u8]), Error>> + 'a {
        let mut r = Reader { b: self.extensions };
        std::iter::from_fn(move || {
            if r.b.is_empty() {
                return None;
            }
            let item = (|| Ok((r.u16()?, r.vec16()?)))();
            if item.is_err() {
                r.b = &[];
            }
            Some(item)
        })
    }

    /// The JA3 hash (`ja3.hash`): the MD5 of [`ClientHello::ja3`] in lowercase hex.
    pub fn ja3_hash(&self) -> String {
        use md5::{Digest, Md5};
        use std::fmt::Write;
        let digest = Md5::digest(self.ja3().as_bytes());
        let mut s = String::with_capacity(32);
        for b in digest {
            let _ = write!(s, "{b:02x}");
        }
        s
    }

    /// The protocols of the ALPN extension (`tls.alpn`), in order.
    pub fn alpn(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let list = self
            .extension_list()
            .map_while(Result::ok)
            .find(|e| e.0 == 16)
            .map_or(&[][..], |e| Reader { b: e.1 }.vec16().unwrap_or(&[]));
        let mut r = Reader { b: list };
        std::iter::from_fn(move || r.vec8().ok())
    }

    /// The JA3 string: `version,ciphers,extensions,curves,point_formats`, each list
    /// dash-separated in decimal, GREASE values left out.
    pub fn ja3(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = write!(s, "{},", self.version);
        let join = |s: &mut String, vals: &mut dyn Iterator<Item = u16>| {
            let mut first = true;
            for v in vals.filter(|v| !is_grease(*v)) {
                if !first {
                    s.push('-');
                }
                first = false;
                let _ = write!(s, "{v}");
            }
        };
        join(
            &mut s,
            &mut self
                .cipher_suites
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]])),
        );
        s.push(',');
        let exts: Vec<(u16, &[u8])> = self.extension_list().map_while(Result::ok).collect();
        join(&mut s, &mut exts.iter().map(|e| e.0));
        s.push(',');
        let groups = exts.iter().find(|e| e.0 == 10).map_or(&[][..], |e| {
            let mut r = Reader { b: e.1 };
            r.vec16().unwrap_or(&[])
        });
        join(
            &mut s,
            &mut groups
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]])),
        );
        s.push(',');
        let formats = exts.iter().find(|e| e.0 == 11).map_or(&[][..], |e| {
            let mut r = Reader { b: e.1 };
            r.vec8().unwrap_or(&[])
        });
        join(&mut s, &mut formats.iter().map(|&b| u16::from(b)));
        s
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A ClientHello record with the given SNI (none when empty).
    pub(crate) fn client_hello(sni: &[u8]) -> Vec<u8> {
        let mut exts = Vec::new();
        if !sni.is_empty() {
            let mut list = vec![0u8];
            list.extend_from_slice(&(sni.len() as u16).to_be_bytes());
            list.extend_from_slice(sni);
            let mut data = (list.len() as u16).to_be_bytes().to_vec();
            data.extend_from_slice(&list);
            exts.extend_from_slice(&[0, 0]);
            exts.extend_from_slice(&(data.len() as u16).to_be_bytes());
            exts.extend_from_slice(&data);
        }
        // supported_groups: GREASE, x25519; ec_point_formats: uncompressed.
        exts.extend_from_slice(&[0, 10, 0, 6, 0, 4, 0x2a, 0x2a, 0, 29, 0, 11, 0, 2, 1, 0]);
        let mut body = vec![3, 3];
        body.extend_from_slice(&[7; 32]);
        body.push(0);
        body.extend_from_slice(&[0, 4, 0x13, 0x01, 0xc0, 0x2f]);
        body.extend_from_slice(&[1, 0]);
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

    /// `printf "771,4865-49199,0-10-11,29,0" | md5sum`.
    const JA3_MD5: &str = "595921e9fec93842ba4be2d9f46f3bbe";

    #[test]
    fn sni_and_versions() {
        let rec = client_hello(b"www.example.org");
        let ch = ClientHello::parse(&rec).unwrap();
        assert_eq!(ch.sni, Some(&b"www.example.org"[..]));
        assert_eq!(ch.record_version, 0x0301);
        assert_eq!(ch.version, 0x0303);
        assert_eq!(ch.ja3(), "771,4865-49199,0-10-11,29,0");
        assert_eq!(ch.alpn().count(), 0);
        assert_eq!(ch.ja3_hash(), JA3_MD5);
        let rec = client_hello(b"");
        let ch = ClientHello::parse(&rec).unwrap();
        assert_eq!(ch.sni, None);
        assert_eq!(record_version(&rec), Some(0x0301));
    }

    #[test]
    fn truncated_and_wrong() {
        let rec = client_hello(b"a.example");
        for n in 0..rec.len() {
            assert!(ClientHello::parse(&rec[..n]).is_err(), "prefix {n}");
        }
        let mut sh = rec.clone();
        sh[5] = 2; // ServerHello
        assert!(matches!(ClientHello::parse(&sh), Err(Error::Invalid(_))));
        assert!(is_grease(0x2a2a) && !is_grease(0x2a2b));
    }
}
