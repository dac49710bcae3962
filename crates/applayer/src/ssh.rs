//! SSH (RFC 4253): the identification banner and the key exchange init, for the
//! `ssh.proto`, `ssh.software`, `ssh.hassh*` keywords and `alert ssh` rules.
//!
//! Design:
//! - Each side of an SSH connection sends a banner line (`SSH-2.0-OpenSSH_9.6 comment\r\n`,
//!   a server may send other lines first), then binary packets (`u32 packet_length`,
//!   `u8 padding_length`, payload, padding) in clear text until both sides sent NEWKEYS.
//! - [`Framer`] frames one direction of the stream for the per-flow parser
//!   ([`crate::flow`]): it keeps the banner and the clear-text packets (up to a byte limit) in
//!   the direction's message buffer and stops keeping bytes after NEWKEYS (the rest is
//!   encrypted). Suricata has one SSH transaction per flow, so this is one message per
//!   direction that grows as the handshake goes.
//! - [`SshMessage::parse`] reads that buffer (or one packet's payload): the banner's protocol
//!   and software versions and the KEXINIT name-lists, from which HASSH (client,
//!   `kex;enc_c2s;mac_c2s;comp_c2s`) and HASSH server (`kex;enc_s2c;mac_s2c;comp_s2c`) and
//!   their MD5 hashes are built.
//!
//! No-panic promise: every read is bounds-checked; a malformed packet ends the walk. The
//! `ssh_parse` fuzz target checks it.

use crate::Error;

/// SSH message numbers (RFC 4253 section 12).
pub mod msg {
    /// SSH_MSG_KEXINIT.
    pub const KEXINIT: u8 = 20;
    /// SSH_MSG_NEWKEYS.
    pub const NEWKEYS: u8 = 21;
}

/// Largest packet_length accepted (RFC 4253 section 6.1 asks to handle 35000 bytes).
pub const MAX_PACKET: usize = 35_000;

/// Longest banner phase (banner and the lines a server may send before it).
const MAX_BANNER: usize = 8 << 10;

/// True when the payload starts like an SSH identification banner (`SSH-`).
pub fn is_banner_start(p: &[u8]) -> bool {
    p.starts_with(b"SSH-")
}

/// The identification line `SSH-protoversion-softwareversion [comments]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Banner<'a> {
    /// `ssh.proto`: the protocol version (`2.0`, `1.99`).
    pub proto_version: &'a [u8],
    /// `ssh.software`: the software version, up to the first space or the line end.
    pub software_version: &'a [u8],
}

impl<'a> Banner<'a> {
    /// Parses a banner line (with or without its line end).
    pub fn parse(line: &'a [u8]) -> Result<Banner<'a>, Error> {
        let rest = line
            .strip_prefix(b"SSH-")
            .ok_or(Error::Invalid("SSH banner (no SSH- prefix)"))?;
        let end = rest
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(rest.len());
        let rest = rest.get(..end).unwrap_or(&[]);
        let dash = rest
            .iter()
            .position(|&b| b == b'-')
            .ok_or(Error::Invalid("SSH banner (no software version)"))?;
        let proto_version = rest.get(..dash).unwrap_or(&[]);
        let sw = rest.get(dash + 1..).unwrap_or(&[]);
        let sw_end = sw.iter().position(|&b| b == b' ').unwrap_or(sw.len());
        Ok(Banner {
            proto_version,
            software_version: sw.get(..sw_end).unwrap_or(&[]),
        })
    }
}

/// The name-lists of a KEXINIT message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KexInit<'a> {
    /// kex_algorithms.
    pub kex: &'a [u8],
    /// server_host_key_algorithms.
    pub host_key: &'a [u8],
    /// encryption_algorithms_client_to_server.
    pub enc_c2s: &'a [u8],
    /// encryption_algorithms_server_to_client.
    pub enc_s2c: &'a [u8],
    /// mac_algorithms_client_to_server.
    pub mac_c2s: &'a [u8],
    /// mac_algorithms_server_to_client.
    pub mac_s2c: &'a [u8],
    /// compression_algorithms_client_to_server.
    pub comp_c2s: &'a [u8],
    /// compression_algorithms_server_to_client.
    pub comp_s2c: &'a [u8],
}

fn name_list<'a>(b: &mut &'a [u8]) -> Result<&'a [u8], Error> {
    let n = b
        .get(..4)
        .map(|h| u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize)
        .ok_or(Error::Incomplete)?;
    let list = b
        .get(4..4usize.saturating_add(n))
        .ok_or(Error::Incomplete)?;
    *b = b.get(4 + n..).unwrap_or(&[]);
    Ok(list)
}

impl<'a> KexInit<'a> {
    /// Parses a KEXINIT payload (starting with the message number 20).
    pub fn parse(payload: &'a [u8]) -> Result<KexInit<'a>, Error> {
        if payload.first() != Some(&msg::KEXINIT) {
            return Err(Error::Invalid("SSH KEXINIT (wrong message number)"));
        }
        // Message number and the 16-byte cookie.
        let mut b = payload.get(17..).ok_or(Error::Incomplete)?;
        Ok(KexInit {
            kex: name_list(&mut b)?,
            host_key: name_list(&mut b)?,
            enc_c2s: name_list(&mut b)?,
            enc_s2c: name_list(&mut b)?,
            mac_c2s: name_list(&mut b)?,
            mac_s2c: name_list(&mut b)?,
            comp_c2s: name_list(&mut b)?,
            comp_s2c: name_list(&mut b)?,
        })
    }

    /// `ssh.hassh.string`: `kex;enc_c2s;mac_c2s;comp_c2s`.
    pub fn hassh_string(&self) -> Vec<u8> {
        [self.kex, self.enc_c2s, self.mac_c2s, self.comp_c2s].join(&b';')
    }

    /// `ssh.hassh.server.string`: `kex;enc_s2c;mac_s2c;comp_s2c`.
    pub fn hassh_server_string(&self) -> Vec<u8> {
        [self.kex, self.enc_s2c, self.mac_s2c, self.comp_s2c].join(&b';')
    }
}

/// The MD5 of `s` in lowercase hex (HASSH).
pub fn md5_hex(s: &[u8]) -> String {
    use md5::{Digest, Md5};
    use std::fmt::Write;
    let mut out = String::with_capacity(32);
    for b in Md5::digest(s) {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// What one direction of an SSH connection showed in clear text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SshMessage<'a> {
    /// The identification banner, when its line was seen.
    pub banner: Option<Banner<'a>>,
    /// The KEXINIT, when it was seen whole.
    pub kexinit: Option<KexInit<'a>>,
    /// A NEWKEYS was seen: what follows is encrypted.
    pub newkeys: bool,
}

impl<'a> SshMessage<'a> {
    /// Parses the start of one direction: lines up to the banner, then binary packets.
    /// `Invalid` when no banner line starts the bytes (a server's lines before it aside).
    pub fn parse(b: &'a [u8]) -> Result<SshMessage<'a>, Error> {
        let mut rest = b;
        let mut banner = None;
        while !rest.is_empty() && rest.len() + MAX_BANNER > b.len() {
            let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |n| n + 1);
            let line = rest.get(..end).unwrap_or(&[]);
            rest = rest.get(end..).unwrap_or(&[]);
            if is_banner_start(line) {
                banner = Some(Banner::parse(line)?);
                break;
            }
        }
        let Some(banner) = banner else {
            return Err(Error::Invalid("SSH (no banner line)"));
        };
        let mut m = SshMessage {
            banner: Some(banner),
            kexinit: None,
            newkeys: false,
        };
        // Binary packets in clear text.
        while let Some(h) = rest.get(..5) {
            let len = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
            let pad = usize::from(h[4]);
            if !(2..=MAX_PACKET).contains(&len) || pad >= len {
                break;
            }
            let Some(pkt) = rest.get(5..4 + len) else {
                break;
            };
            let payload = pkt.get(..len - 1 - pad).unwrap_or(&[]);
            match payload.first() {
                Some(&msg::KEXINIT) if m.kexinit.is_none() => {
                    m.kexinit = KexInit::parse(payload).ok()
                }
                Some(&msg::NEWKEYS) => {
                    m.newkeys = true;
                    break;
                }
                _ => {}
            }
            rest = rest.get(4 + len..).unwrap_or(&[]);
        }
        Ok(m)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Phase {
    /// Reading lines up to and including the banner.
    #[default]
    Banner,
    /// Reading a packet's 5-byte header (`have` bytes of it so far).
    Header { have: u8, hdr: [u8; 5] },
    /// In a packet body: `left` bytes to go; `first` = the message number is still to come.
    Body { left: usize, first: bool },
    /// Encrypted (after NEWKEYS) or not SSH any more: nothing is kept.
    Done,
}

/// Frames one direction of an SSH stream into the direction's message buffer (see the
/// module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Framer {
    phase: Phase,
    /// Start of the current line in the buffer (banner phase).
    line: usize,
    /// The packet in progress is NEWKEYS.
    newkeys: bool,
}

impl Framer {
    /// True once nothing more is kept (NEWKEYS seen, or the stream stopped looking like SSH).
    pub fn done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Takes in-order stream bytes; keeps the clear-text part in `buf` (at most `limit`
    /// bytes in all).
    pub fn data(&mut self, buf: &mut Vec<u8>, mut bytes: &[u8], limit: usize) {
        let keep = |buf: &mut Vec<u8>, b: &[u8]| {
            let room = limit.saturating_sub(buf.len());
            buf.extend_from_slice(b.get(..room.min(b.len())).unwrap_or(&[]));
        };
        // Bounded: each round consumes at least one byte or ends.
        while !bytes.is_empty() {
            match self.phase {
                Phase::Done => return,
                Phase::Banner => {
                    let end = memchr::memchr(b'\n', bytes).map_or(bytes.len(), |n| n + 1);
                    let (now, rest) = bytes.split_at(end);
                    keep(buf, now);
                    bytes = rest;
                    if buf.len() >= MAX_BANNER.min(limit) {
                        self.phase = Phase::Done;
                    } else if now.last() == Some(&b'\n') {
                        let line = buf.get(self.line..).unwrap_or(&[]);
                        if is_banner_start(line) {
                            self.phase = Phase::Header {
                                have: 0,
                                hdr: [0; 5],
                            };
                        }
                        self.line = buf.len();
                    }
                }
                Phase::Header { mut have, mut hdr } => {
                    while have < 5 {
                        let Some((&b, rest)) = bytes.split_first() else {
                            break;
                        };
                        hdr[usize::from(have)] = b;
                        have += 1;
                        bytes = rest;
                    }
                    if have < 5 {
                        self.phase = Phase::Header { have, hdr };
                        return;
                    }
                    keep(buf, &hdr);
                    let len = u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) as usize;
                    if !(2..=MAX_PACKET).contains(&len) || usize::from(hdr[4]) >= len {
                        self.phase = Phase::Done;
                        return;
                    }
                    self.newkeys = false;
                    self.phase = Phase::Body {
                        left: len - 1,
                        first: true,
                    };
                }
                Phase::Body { left, first } => {
                    let n = left.min(bytes.len());
                    let (now, rest) = bytes.split_at(n);
                    if first {
                        self.newkeys = now.first() == Some(&msg::NEWKEYS);
                    }
                    keep(buf, now);
                    bytes = rest;
                    self.phase = if n == left {
                        if self.newkeys {
                            Phase::Done
                        } else {
                            Phase::Header {
                                have: 0,
                                hdr: [0; 5],
                            }
                        }
                    } else {
                        Phase::Body {
                            left: left - n,
                            first: first && n == 0,
                        }
                    };
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One binary packet around `payload` (4 bytes of padding).
    pub(crate) fn packet(payload: &[u8]) -> Vec<u8> {
        let len = (payload.len() + 1 + 4) as u32;
        let mut p = len.to_be_bytes().to_vec();
        p.push(4);
        p.extend_from_slice(payload);
        p.extend_from_slice(&[0; 4]);
        p
    }

    /// A KEXINIT payload with the given name-lists.
    pub(crate) fn kexinit(lists: [&str; 10]) -> Vec<u8> {
        let mut k = vec![msg::KEXINIT];
        k.extend_from_slice(&[0x5a; 16]);
        for l in lists {
            k.extend_from_slice(&(l.len() as u32).to_be_bytes());
            k.extend_from_slice(l.as_bytes());
        }
        k.extend_from_slice(&[0, 0, 0, 0, 0]);
        k
    }

    pub(crate) const LISTS: [&str; 10] = [
        "curve25519-sha256,diffie-hellman-group14-sha256",
        "ssh-ed25519",
        "aes128-ctr,aes256-ctr",
        "aes256-ctr",
        "hmac-sha2-256",
        "hmac-sha2-512",
        "none,zlib@openssh.com",
        "none",
        "",
        "",
    ];

    /// A client's clear-text start: banner, KEXINIT, NEWKEYS.
    pub(crate) fn client_start() -> Vec<u8> {
        let mut w = b"SSH-2.0-OpenSSH_9.6 Debian-1\r\n".to_vec();
        w.extend_from_slice(&packet(&kexinit(LISTS)));
        w.extend_from_slice(&packet(&[msg::NEWKEYS]));
        w
    }

    #[test]
    fn banner_versions() {
        let b = Banner::parse(b"SSH-2.0-OpenSSH_9.6 Debian-1\r\n").unwrap();
        assert_eq!(b.proto_version, b"2.0");
        assert_eq!(b.software_version, b"OpenSSH_9.6");
        let b = Banner::parse(b"SSH-1.99-Cisco-1.25\n").unwrap();
        assert_eq!(
            (b.proto_version, b.software_version),
            (&b"1.99"[..], &b"Cisco-1.25"[..])
        );
        assert!(Banner::parse(b"SSH-2.0").is_err());
        assert!(Banner::parse(b"HTTP/1.1 200").is_err());
        assert!(is_banner_start(b"SSH-2.0-x") && !is_banner_start(b"SSH"));
    }

    #[test]
    fn kexinit_and_hassh() {
        let w = client_start();
        let m = SshMessage::parse(&w).unwrap();
        let k = m.kexinit.unwrap();
        assert!(m.newkeys);
        let s = k.hassh_string();
        assert_eq!(
            s,
            b"curve25519-sha256,diffie-hellman-group14-sha256;aes128-ctr,aes256-ctr;hmac-sha2-256;none,zlib@openssh.com"
        );
        assert_eq!(
            k.hassh_server_string(),
            b"curve25519-sha256,diffie-hellman-group14-sha256;aes256-ctr;hmac-sha2-512;none"
        );
        // printf '%s' "$s" | md5sum
        assert_eq!(md5_hex(&s), "3c22e3bfc2b8b121088e0bc23a380321");
        // A server's lines before its banner are skipped.
        let mut w2 = b"Welcome\r\n".to_vec();
        w2.extend_from_slice(&w);
        assert_eq!(SshMessage::parse(&w2).unwrap().kexinit, Some(k));
        assert!(SshMessage::parse(b"GET / HTTP/1.1\r\n").is_err());
    }

    #[test]
    fn framer_over_any_cut() {
        let w = client_start();
        let mut tail = w.clone();
        tail.extend_from_slice(&[0xab; 100]); // encrypted
        for cut in [1, 2, 3, 5, 7, 64, 1000] {
            let mut f = Framer::default();
            let mut buf = Vec::new();
            for part in tail.chunks(cut) {
                f.data(&mut buf, part, 1 << 16);
            }
            assert_eq!(buf, w, "cut {cut}");
            assert!(f.done());
        }
        // The limit bounds what is kept.
        let mut f = Framer::default();
        let mut buf = Vec::new();
        f.data(&mut buf, &tail, 40);
        assert_eq!(buf.len(), 40);
        // Not SSH after the banner: stops keeping.
        let mut f = Framer::default();
        let mut buf = Vec::new();
        f.data(
            &mut buf,
            b"SSH-2.0-x\r\n\xff\xff\xff\xff\x00garbage",
            1 << 16,
        );
        assert!(f.done());
    }

    #[test]
    fn truncated_and_garbage() {
        let w = client_start();
        for n in 0..w.len() {
            if let Ok(m) = SshMessage::parse(&w[..n]) {
                assert!(m.kexinit.is_none() || n >= w.len() - 14);
            }
        }
        let mut x: u32 = 1;
        for _ in 0..2000 {
            let mut junk = b"SSH-2.0-x\r\n".to_vec();
            for _ in 0..80 {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                junk.push(((x >> 16) as u8) % 24);
            }
            let _ = SshMessage::parse(&junk);
            let mut f = Framer::default();
            let mut buf = Vec::new();
            f.data(&mut buf, &junk, 64);
            assert!(buf.len() <= 64);
        }
    }
}
