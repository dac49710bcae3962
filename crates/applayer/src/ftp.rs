//! FTP control channel (RFC 959): client command lines and server replies.
//!
//! Design:
//! - Sans-IO and zero-copy: [`Command::parse`] and [`Reply::parse`] take the bytes of one
//!   framed message (a command line, or a whole possibly multi-line reply) and return views
//!   that borrow them. Framing over the stream is [`message_len`], used by
//!   [`crate::flow::FlowParser`]: a command is one line, a reply is the lines from `nnn-` to
//!   the closing `nnn ` line with the same code (RFC 959 section 4.2).
//! - Lines end with LF (CR LF or bare LF, as servers and Suricata accept both). A line
//!   longer than [`MAX_LINE`] is cut there by the framer, so memory per message is bounded.
//! - The data-channel addresses are decoded from `PORT`/`EPRT` arguments and `227`/`229`
//!   replies ([`parse_port_arg`], [`parse_eprt_arg`], [`parse_pasv_reply`],
//!   [`parse_epsv_reply`]); `ftpbounce` compares the `PORT` address with the client's.
//!
//! No-panic promise: every read is bounds-checked; hostile bytes give `Err` or `None`.

use std::net::{IpAddr, Ipv4Addr};

use crate::Error;

/// Longest line kept per command or reply line (Suricata's default `max-line-length` is
/// 4 KiB); the framer cuts longer lines there.
pub const MAX_LINE: usize = 4096;

/// Most bytes kept for one (multi-line) reply.
pub const MAX_REPLY: usize = 64 << 10;

/// The FTP command verbs Suricata's parser knows (RFC 959, 2228, 2389, 2428, 3659 and
/// common extensions). Detection on a client's first line requires one of them.
const COMMANDS: &[&[u8]] = &[
    b"ABOR", b"ACCT", b"ADAT", b"ALLO", b"APPE", b"AUTH", b"AVBL", b"CCC", b"CDUP", b"CONF",
    b"CSID", b"CWD", b"DELE", b"DSIZ", b"ENC", b"EPRT", b"EPSV", b"FEAT", b"HELP", b"HOST",
    b"LANG", b"LIST", b"LPRT", b"LPSV", b"MDTM", b"MFCT", b"MFF", b"MFMT", b"MIC", b"MKD", b"MLSD",
    b"MLST", b"MODE", b"NLST", b"NOOP", b"OPTS", b"PASS", b"PASV", b"PBSZ", b"PORT", b"PROT",
    b"PWD", b"QUIT", b"REIN", b"REST", b"RETR", b"RMD", b"RMDA", b"RNFR", b"RNTO", b"SITE",
    b"SIZE", b"SMNT", b"SPSV", b"STAT", b"STOR", b"STOU", b"STRU", b"SYST", b"THMB", b"TYPE",
    b"USER", b"XCUP", b"XMKD", b"XPWD", b"XRCP", b"XRMD", b"XRSQ", b"XSEM", b"XSEN",
];

/// The first line of `b` without its line end (CR LF or LF); the whole of `b` when it has
/// no LF.
fn first_line(b: &[u8]) -> &[u8] {
    let line = match memchr::memchr(b'\n', b) {
        Some(n) => b.get(..n).unwrap_or(b),
        None => b,
    };
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The three-digit code at the start of `line` and the separator after it (`b' '`, `b'-'`,
/// or `None` when the line is just the code).
fn reply_code(line: &[u8]) -> Option<([u8; 3], Option<u8>)> {
    match line {
        [a, b, c, rest @ ..] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            match rest.first() {
                None | Some(b'\r') | Some(b'\n') => Some(([*a, *b, *c], None)),
                Some(&s @ (b' ' | b'-')) => Some(([*a, *b, *c], Some(s))),
                _ => None,
            }
        }
        _ => None,
    }
}

/// True when `b` starts with a known command verb (any case) followed by a space or the
/// line end: a client's command line.
pub fn is_command_start(b: &[u8]) -> bool {
    let end = b
        .iter()
        .position(|c| matches!(c, b' ' | b'\r' | b'\n'))
        .unwrap_or(b.len());
    if end == b.len() {
        // The verb is not followed by anything yet: too early to tell.
        return false;
    }
    let verb = b.get(..end).unwrap_or(&[]);
    COMMANDS.iter().any(|c| c.eq_ignore_ascii_case(verb))
}

/// True when `b` starts with a reply line (`nnn ` or `nnn-`) whose first digit is 1 to 5.
pub fn is_reply_start(b: &[u8]) -> bool {
    matches!(reply_code(b), Some(([b'1'..=b'5', _, _], Some(_))))
}

/// Names the FTP control channel from a direction's first bytes: on port 21 (either side),
/// a reply line or a known command; on any port, a `220` greeting that mentions FTP (as
/// Suricata's pattern `220 (`...`FTP` probing does for servers on other ports).
pub fn detect(b: &[u8], port21: bool) -> bool {
    if port21 {
        return is_reply_start(b) || is_command_start(b);
    }
    let line = first_line(b);
    matches!(reply_code(line), Some((code, Some(_))) if &code == b"220")
        && line.windows(3).any(|w| w.eq_ignore_ascii_case(b"ftp"))
}

/// How many bytes at the start of `b` make one message, None while it is incomplete.
///
/// `reply` selects the server's framing: a reply line `nnn-` opens a multi-line reply that
/// ends with the line starting `nnn ` (same code); anything else (commands, single-line
/// replies, lines that are no reply) is one line. Always `<= b.len()`.
pub fn message_len(b: &[u8], reply: bool) -> Option<usize> {
    let first_end = memchr::memchr(b'\n', b)? + 1;
    if !reply {
        return Some(first_end);
    }
    let (code, sep) = match reply_code(b) {
        Some(c) => c,
        None => return Some(first_end),
    };
    if sep != Some(b'-') {
        return Some(first_end);
    }
    let mut at = first_end;
    loop {
        let rest = b.get(at..)?;
        let n = memchr::memchr(b'\n', rest)? + 1;
        if let Some((c, s)) = reply_code(rest) {
            if c == code && s != Some(b'-') {
                return Some(at + n);
            }
        }
        at += n;
    }
}

/// A client command line: `VERB[ SP argument] CRLF`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command<'a> {
    /// The verb as sent (`USER`, `retr`, ...): Suricata's `ftp.command`.
    pub verb: &'a [u8],
    /// What follows the verb and its space, without the line end: `ftp.command_data`.
    pub arg: &'a [u8],
    /// The whole line without its line end.
    pub line: &'a [u8],
}

impl<'a> Command<'a> {
    /// Parses the first line of `b`. [`Error::Invalid`] when it does not start with a
    /// verb of 1 to 8 ASCII letters.
    pub fn parse(b: &'a [u8]) -> Result<Command<'a>, Error> {
        let line = first_line(b);
        let (verb, arg) = match memchr::memchr(b' ', line) {
            Some(n) => (
                line.get(..n).unwrap_or(&[]),
                line.get(n + 1..).unwrap_or(&[]),
            ),
            None => (line, &[][..]),
        };
        if verb.is_empty() || verb.len() > 8 || !verb.iter().all(u8::is_ascii_alphabetic) {
            return Err(Error::Invalid("ftp command"));
        }
        Ok(Command { verb, arg, line })
    }

    /// True when the verb is `v` (ASCII case-insensitive; `v` upper case).
    pub fn is(&self, v: &[u8]) -> bool {
        self.verb.eq_ignore_ascii_case(v)
    }

    /// The data-channel address a `PORT` or `EPRT` command announces (active mode).
    pub fn active_addr(&self) -> Option<(IpAddr, u16)> {
        if self.is(b"PORT") {
            parse_port_arg(self.arg).map(|(ip, p)| (IpAddr::V4(ip), p))
        } else if self.is(b"EPRT") {
            parse_eprt_arg(self.arg)
        } else {
            None
        }
    }
}

/// A server reply, one line or multi-line (`nnn-...` up to `nnn ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply<'a> {
    /// The three-digit code as text (`"220"`): Suricata's `ftp.completion_code`.
    pub code: &'a [u8],
    /// The text of the first line after the code and its separator, without the line end:
    /// Suricata's `ftp.reply` for a one-line reply.
    pub text: &'a [u8],
    /// All bytes of the reply.
    pub bytes: &'a [u8],
}

impl<'a> Reply<'a> {
    /// Parses a reply starting at `b`. [`Error::Invalid`] when `b` does not start with a
    /// three-digit code followed by a space, `-` or the line end.
    pub fn parse(b: &'a [u8]) -> Result<Reply<'a>, Error> {
        let line = first_line(b);
        reply_code(line).ok_or(Error::Invalid("ftp reply"))?;
        Ok(Reply {
            code: line.get(..3).unwrap_or(&[]),
            text: line.get(4..).unwrap_or(&[]),
            bytes: b,
        })
    }

    /// The reply code as a number.
    pub fn code_num(&self) -> u16 {
        self.code
            .iter()
            .fold(0u16, |n, d| n * 10 + u16::from(d.wrapping_sub(b'0') % 10))
    }

    /// Each line's text: the code and separator removed where a line starts with the reply
    /// code, the line ends removed.
    pub fn lines(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let code = self.code;
        self.bytes
            .split(|&c| c == b'\n')
            .filter(|l| !l.is_empty())
            .map(move |l| {
                let l = l.strip_suffix(b"\r").unwrap_or(l);
                if l.starts_with(code) && matches!(l.get(3), Some(b' ' | b'-') | None) {
                    l.get(4..).unwrap_or(&[])
                } else {
                    l
                }
            })
    }

    /// The data-channel address the server announces in a `227` (PASV) or `229` (EPSV,
    /// port only) reply: passive mode.
    pub fn passive_addr(&self) -> Option<(Option<Ipv4Addr>, u16)> {
        match self.code {
            b"227" => parse_pasv_reply(self.text).map(|(ip, p)| (Some(ip), p)),
            b"229" => parse_epsv_reply(self.text).map(|p| (None, p)),
            _ => None,
        }
    }
}

/// Parses `h1,h2,h3,h4,p1,p2` (six decimal numbers 0..=255, spaces around them allowed).
fn six_numbers(s: &[u8]) -> Option<(Ipv4Addr, u16)> {
    let mut n = [0u8; 6];
    let mut parts = s.split(|&c| c == b',');
    for slot in n.iter_mut() {
        let p = parts.next()?.trim_ascii();
        if p.is_empty() || p.len() > 3 || !p.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let v = p.iter().fold(0u16, |a, d| a * 10 + u16::from(d - b'0'));
        *slot = u8::try_from(v).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    let [a, b, c, d, p1, p2] = n;
    Some((Ipv4Addr::new(a, b, c, d), u16::from_be_bytes([p1, p2])))
}

/// The address and port of a `PORT` argument `h1,h2,h3,h4,p1,p2`.
pub fn parse_port_arg(arg: &[u8]) -> Option<(Ipv4Addr, u16)> {
    six_numbers(arg.trim_ascii())
}

/// The address and port of an `EPRT` argument `|1|192.0.2.1|6446|` (RFC 2428; any
/// delimiter character, protocol 1 IPv4 or 2 IPv6).
pub fn parse_eprt_arg(arg: &[u8]) -> Option<(IpAddr, u16)> {
    let arg = arg.trim_ascii();
    let delim = *arg.first()?;
    let mut f = arg.get(1..)?.split(|&c| c == delim);
    let proto = f.next()?;
    let addr = std::str::from_utf8(f.next()?).ok()?;
    let port = std::str::from_utf8(f.next()?).ok()?.parse::<u16>().ok()?;
    let ip: IpAddr = match proto {
        b"1" => IpAddr::V4(addr.parse().ok()?),
        b"2" => IpAddr::V6(addr.parse().ok()?),
        _ => return None,
    };
    Some((ip, port))
}

/// The address and port of a `227` reply's text, `Entering Passive Mode
/// (h1,h2,h3,h4,p1,p2).` (the parentheses are optional: the six numbers are found after the
/// first digit).
pub fn parse_pasv_reply(text: &[u8]) -> Option<(Ipv4Addr, u16)> {
    let start = text.iter().position(u8::is_ascii_digit)?;
    let rest = text.get(start..)?;
    let end = rest
        .iter()
        .position(|c| !(c.is_ascii_digit() || matches!(c, b',' | b' ')))
        .unwrap_or(rest.len());
    six_numbers(rest.get(..end)?)
}

/// The port of a `229` reply's text, `Entering Extended Passive Mode (|||6446|)`.
pub fn parse_epsv_reply(text: &[u8]) -> Option<u16> {
    let open = memchr::memchr(b'(', text)?;
    let inner = text.get(open + 1..)?;
    let close = memchr::memchr(b')', inner)?;
    let inner = inner.get(..close)?;
    let delim = *inner.first()?;
    let mut f = inner.get(1..)?.split(|&c| c == delim);
    f.next()?;
    f.next()?;
    std::str::from_utf8(f.next()?).ok()?.parse().ok()
}

/// Incremental framing state of one direction: how much of the current line was kept, so
/// an overlong line is cut at [`MAX_LINE`] and its rest skipped up to the LF, and the code
/// of an open multi-line reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Framer {
    /// Bytes of the current line seen (kept or not).
    line: usize,
    /// Where the current line starts in the message buffer.
    line_start: usize,
    /// The code of the multi-line reply being read (its first line was `nnn-`).
    open: Option<[u8; 3]>,
}

impl Framer {
    /// Takes stream bytes into `buf` (the current message, empty at a message start) up to
    /// the end of one message. Returns how many bytes of `data` were consumed and whether
    /// `buf` now holds a whole message. Lines are cut at [`MAX_LINE`] bytes (the cut line is
    /// kept with a LF), a reply at [`MAX_REPLY`] bytes (it then ends at the next line end).
    pub fn data(&mut self, buf: &mut Vec<u8>, data: &[u8], reply: bool) -> (usize, bool) {
        let mut used = 0;
        while used < data.len() {
            let rest = data.get(used..).unwrap_or(&[]);
            let (take, eol) = match memchr::memchr(b'\n', rest) {
                Some(n) => (n + 1, true),
                None => (rest.len(), false),
            };
            let room = MAX_LINE.saturating_sub(self.line);
            let line_bytes = rest.get(..take).unwrap_or(&[]);
            if take <= room {
                buf.extend_from_slice(line_bytes);
            } else {
                buf.extend_from_slice(line_bytes.get(..room).unwrap_or(&[]));
                if eol {
                    buf.push(b'\n');
                }
            }
            self.line += take;
            used += take;
            if !eol {
                break;
            }
            let first = self.line_start == 0;
            let line = buf.get(self.line_start..).unwrap_or(&[]);
            let code = reply_code(line);
            self.line = 0;
            self.line_start = buf.len();
            let done = if !reply || buf.len() >= MAX_REPLY {
                true
            } else if first {
                match code {
                    Some((c, Some(b'-'))) => {
                        self.open = Some(c);
                        false
                    }
                    _ => true,
                }
            } else {
                matches!((code, self.open), (Some((c, s)), Some(o)) if c == o && s != Some(b'-'))
            };
            if done {
                self.line_start = 0;
                self.open = None;
                return (used, true);
            }
        }
        (used, false)
    }

    /// Forgets the message in progress (after a stream gap).
    pub fn reset(&mut self) {
        *self = Framer::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        let c = Command::parse(b"USER anonymous\r\n").unwrap();
        assert_eq!((c.verb, c.arg), (&b"USER"[..], &b"anonymous"[..]));
        let c = Command::parse(b"PASV\r\n").unwrap();
        assert_eq!((c.verb, c.arg), (&b"PASV"[..], &b""[..]));
        let c = Command::parse(b"retr /a b.txt\n").unwrap();
        assert!(c.is(b"RETR"));
        assert_eq!(c.arg, b"/a b.txt");
        assert!(Command::parse(b"\r\n").is_err());
        assert!(Command::parse(b"12 x\r\n").is_err());
        assert!(Command::parse(b"\xff\xfe\r\n").is_err());
    }

    #[test]
    fn port_and_eprt() {
        let c = Command::parse(b"PORT 192,168,1,2,7,138\r\n").unwrap();
        assert_eq!(
            c.active_addr(),
            Some((IpAddr::V4(Ipv4Addr::new(192, 168, 1, 2)), 7 * 256 + 138))
        );
        assert_eq!(parse_port_arg(b"1,2,3,4,5"), None);
        assert_eq!(parse_port_arg(b"1,2,3,4,5,6,7"), None);
        assert_eq!(parse_port_arg(b"256,2,3,4,5,6"), None);
        assert_eq!(parse_port_arg(b"1,2,3,4,5,-6"), None);
        let c = Command::parse(b"EPRT |2|::1|6446|\r\n").unwrap();
        assert_eq!(c.active_addr(), Some(("::1".parse().unwrap(), 6446)));
        assert_eq!(
            parse_eprt_arg(b"!1!10.0.0.1!21!"),
            Some(("10.0.0.1".parse().unwrap(), 21))
        );
        assert_eq!(parse_eprt_arg(b"|3|x|1|"), None);
        assert_eq!(parse_eprt_arg(b""), None);
    }

    #[test]
    fn replies() {
        let r = Reply::parse(b"220 (vsFTPd 3.0.3)\r\n").unwrap();
        assert_eq!((r.code, r.text), (&b"220"[..], &b"(vsFTPd 3.0.3)"[..]));
        assert_eq!(r.code_num(), 220);
        let m = b"230-Welcome\r\n hello\r\n230 Login ok\r\n";
        assert_eq!(message_len(m, true), Some(m.len()));
        assert_eq!(message_len(&m[..20], true), None);
        let r = Reply::parse(m).unwrap();
        let lines: Vec<_> = r.lines().collect();
        assert_eq!(lines, [&b"Welcome"[..], b" hello", b"Login ok"]);
        assert!(Reply::parse(b"OK\r\n").is_err());
        let r = Reply::parse(b"227 Entering Passive Mode (10,0,0,1,4,1).\r\n").unwrap();
        assert_eq!(
            r.passive_addr(),
            Some((Some(Ipv4Addr::new(10, 0, 0, 1)), 1025))
        );
        let r = Reply::parse(b"229 Entering Extended Passive Mode (|||6446|)\r\n").unwrap();
        assert_eq!(r.passive_addr(), Some((None, 6446)));
    }

    #[test]
    fn detection() {
        assert!(detect(b"220 ready\r\n", true));
        assert!(detect(b"USER x\r\n", true));
        assert!(!detect(b"USER", true), "verb not ended yet");
        assert!(!detect(b"GET / HTTP/1.1\r\n", true));
        assert!(!detect(b"220 ready\r\n", false));
        assert!(detect(b"220 ProFTPD Server\r\n", false));
        assert!(!detect(b"699 x\r\n", true));
    }

    #[test]
    fn framer_multi_line_over_segments() {
        let mut f = Framer::default();
        let mut buf = Vec::new();
        assert_eq!(f.data(&mut buf, b"220-a\r\n220-b", true), (12, false));
        assert_eq!(f.data(&mut buf, b"\r\n220 c\r\nUSER", true), (9, true));
        assert_eq!(buf, b"220-a\r\n220-b\r\n220 c\r\n");
        let mut buf = Vec::new();
        assert_eq!(f.data(&mut buf, b"USER a\r\nPASS b\r\n", false), (8, true));
        assert_eq!(buf, b"USER a\r\n");
    }

    #[test]
    fn overlong_lines_are_bounded() {
        let mut f = Framer::default();
        let mut buf = Vec::new();
        let long = vec![b'A'; 3 * MAX_LINE];
        assert_eq!(f.data(&mut buf, &long, false), (long.len(), false));
        assert_eq!(f.data(&mut buf, &long, false), (long.len(), false));
        assert_eq!(f.data(&mut buf, b"B\r\n", false), (3, true));
        assert_eq!(buf.len(), MAX_LINE + 1);
        // A multi-line reply that never closes stops at MAX_REPLY.
        let mut buf = Vec::new();
        let mut f = Framer::default();
        let mut done = false;
        for _ in 0..10_000 {
            let (_, d) = f.data(&mut buf, b"211-feature line\r\n", true);
            if d {
                done = true;
                break;
            }
        }
        assert!(done);
        assert!(buf.len() <= MAX_REPLY + MAX_LINE);
    }

    #[test]
    fn hostile_bytes_do_not_panic() {
        for b in [
            &b""[..],
            b"\n",
            b"\r",
            b"1",
            b"12",
            b"123",
            b"123-",
            b"123-\n123",
            b"999 \xff\n",
            b"PORT ,,,,,\n",
            b"EPRT |",
            b"EPRT ||||||",
        ] {
            let _ = Command::parse(b).map(|c| c.active_addr());
            let _ = Reply::parse(b).map(|r| (r.passive_addr(), r.lines().count(), r.code_num()));
            let _ = message_len(b, true);
            let _ = detect(b, true);
            let _ = detect(b, false);
        }
    }
}
