//! Message body framing the way libhtp (Suricata's HTTP/1 parser) does it: which bytes after
//! the header block are the body, with the chunk framing removed.
//!
//! - `Transfer-Encoding` whose value contains `chunked` anywhere (case and NUL bytes
//!   ignored) means chunked, whatever the protocol version and even with a
//!   `Content-Length`;
//! - chunk-size lines: leading CR, LF, SP, HT, VT, FF are skipped (so is a line made only of
//!   them), then hex digits, then anything (extensions, junk) up to the LF. A size line
//!   without hex digits ends the chunking: from that line on, the rest is the body as sent
//!   (libhtp falls back to "identity until close"); so does a first line that is not hex and
//!   has no LF yet;
//! - after a chunk's data, everything up to the next LF is skipped;
//! - size 0 ends the body (trailers follow);
//! - otherwise `Content-Length` (digits after optional junk, junk after ignored) bounds the
//!   body; an unparsable one means no body;
//! - otherwise the body runs to the end of the connection.
//!
//! The bytes at hand may end early: the body is then what they hold.
//! No-panic: every index is checked.

use super::fields::{contains_nocase_nozero, trimmed};

/// How the body of a message is delimited, as libhtp decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (a 1xx, 204 or 304 response without length headers, or an invalid length).
    None,
    /// Chunked transfer coding.
    Chunked,
    /// Exactly this many bytes.
    Length(u64),
    /// Until the connection closes.
    Close,
}

/// libhtp's response framing from the status code and the (joined) TE and CL values.
pub(crate) fn response_framing(
    status: Option<u16>,
    te: Option<&[u8]>,
    cl: Option<&[u8]>,
) -> Framing {
    if let Some(s) = status {
        if ((100..=199).contains(&s) || s == 204 || s == 304) && te.is_none() && cl.is_none() {
            return Framing::None;
        }
    }
    if te.is_some_and(|t| contains_nocase_nozero(t, b"chunked")) {
        return Framing::Chunked;
    }
    match cl {
        Some(v) => match content_length(v) {
            Some(n) => Framing::Length(n),
            None => Framing::None,
        },
        None => Framing::Close,
    }
}

/// libhtp's request framing: chunked, or `Content-Length`, or no body.
pub(crate) fn request_framing(te: Option<&[u8]>, cl: Option<&[u8]>) -> Framing {
    if te.is_some_and(|t| contains_nocase_nozero(t, b"chunked")) {
        return Framing::Chunked;
    }
    match cl.and_then(content_length) {
        Some(n) => Framing::Length(n),
        None => Framing::None,
    }
}

/// A `Content-Length` value: blanks, then optional junk, then digits (junk after them is
/// ignored). None without digits or on overflow.
pub(crate) fn content_length(v: &[u8]) -> Option<u64> {
    let start = v.iter().position(u8::is_ascii_digit)?;
    let digits = &v[start..];
    let end = digits
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].iter().try_fold(0u64, |a, &d| {
        a.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

fn is_chunked_ctl(c: u8) -> bool {
    matches!(c, b'\r' | b'\n' | b' ' | b'\t' | 0x0b | 0x0c)
}

/// The size on one chunk-size line (LF included): Ok(None) to skip the line, Err when it is
/// not a size line.
fn chunk_size(line: &[u8]) -> Result<Option<u64>, ()> {
    let mut p = line;
    while let [c, rest @ ..] = p {
        if !is_chunked_ctl(*c) {
            break;
        }
        p = rest;
    }
    if p.is_empty() {
        return Ok(None);
    }
    while let [b' ' | b'\t', rest @ ..] = p {
        p = rest;
    }
    let n = p
        .iter()
        .position(|c| !c.is_ascii_hexdigit())
        .unwrap_or(p.len());
    if n == 0 {
        return Err(());
    }
    let mut v: u64 = 0;
    for &d in &p[..n] {
        let x = char::from(d).to_digit(16).unwrap_or(0);
        v = match v.checked_mul(16) {
            Some(v) => v + u64::from(x),
            None => return Ok(None),
        };
    }
    if v > i32::MAX as u64 {
        return Ok(None);
    }
    Ok(Some(v))
}

/// Where the body in `d` ends for this framing (chunked excluded): the slice of `d` that is
/// body, and the offset after it.
fn plain(d: &[u8], f: Framing) -> (&[u8], usize) {
    match f {
        Framing::None | Framing::Chunked => (&[], 0),
        Framing::Length(n) => {
            let n = usize::try_from(n).unwrap_or(usize::MAX).min(d.len());
            (&d[..n], n)
        }
        Framing::Close => (d, d.len()),
    }
}

/// Where a body ends in the bytes after the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEnd {
    /// After this many bytes (a chunked body: after its last chunk and trailers).
    At(usize),
    /// Not within these bytes: the body goes on in later ones.
    NeedMore,
    /// At the end of the connection (no length; or chunking that turned out not to be).
    AtClose,
}

/// The longest chunk-size or trailer line kept while waiting for its LF; a longer one means
/// the body is not chunked after all.
const LINE_LIMIT: usize = 16 * 1024;

/// Where a [`ChunkedDecoder`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ChunkState {
    /// Reading a chunk-size line.
    #[default]
    Size,
    /// Inside a chunk's data: bytes left.
    Data(u64),
    /// After a chunk's data, skipping up to the LF.
    DataEnd,
    /// After the last chunk, reading trailer lines up to an empty one.
    Trailer,
    /// The body has ended.
    Done,
    /// Not chunked after all: everything up to the end of the connection is body.
    Raw,
}

/// libhtp's reading of a chunked body, fed the bytes after the head as they arrive (sans-IO,
/// any split of the input gives the same result):
/// - a size line may start with CR, LF, SP, HT, VT or FF (a line of only those is skipped),
///   then hex digits; whatever follows them up to the LF (extensions, junk) is ignored;
/// - a size line without hex digits (or a first line that cannot become one, or one longer
///   than 16 KiB) means the body is not chunked after all: from that line on, the bytes are
///   the body as sent, up to the end of the connection ([`ChunkedDecoder::is_raw`]);
/// - after a chunk's data, everything up to the next LF is skipped;
/// - size 0 ends the chunks; trailer lines follow up to an empty line.
///
/// Memory: at most one line is buffered.
#[derive(Debug, Clone, Default)]
pub struct ChunkedDecoder {
    state: ChunkState,
    line: Vec<u8>,
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    pub fn new() -> ChunkedDecoder {
        ChunkedDecoder::default()
    }

    /// True when the body has ended (last chunk and trailers seen).
    pub fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// True when the body turned out not to be chunked: it runs to the end of the
    /// connection.
    pub fn is_raw(&self) -> bool {
        self.state == ChunkState::Raw
    }

    /// Feeds the next bytes of the body: appends the chunk data (or, once raw, the bytes as
    /// sent) to `out`, and returns how many bytes of `bytes` belong to the body (all of
    /// them unless it ends inside; the rest is the next message).
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<u8>) -> usize {
        let mut i = 0;
        while i < bytes.len() {
            let rest = &bytes[i..];
            match self.state {
                ChunkState::Done => return i,
                ChunkState::Raw => {
                    out.extend_from_slice(rest);
                    return bytes.len();
                }
                ChunkState::Data(left) => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(rest.len());
                    out.extend_from_slice(&rest[..n]);
                    i += n;
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(left)
                    };
                }
                ChunkState::DataEnd => match rest.iter().position(|&c| c == b'\n') {
                    Some(lf) => {
                        i += lf + 1;
                        self.state = ChunkState::Size;
                    }
                    None => return bytes.len(),
                },
                ChunkState::Size | ChunkState::Trailer => {
                    let (taken, lf) = match rest.iter().position(|&c| c == b'\n') {
                        Some(lf) => (lf + 1, true),
                        None => (rest.len(), false),
                    };
                    self.line.extend_from_slice(&rest[..taken]);
                    i += taken;
                    if !lf {
                        if self.line.len() > LINE_LIMIT || self.cannot_be_size() {
                            self.fall_back_to_raw(out);
                        }
                        continue;
                    }
                    if self.state == ChunkState::Trailer {
                        if trimmed(&self.line).is_empty() {
                            self.state = ChunkState::Done;
                        }
                        self.line.clear();
                        continue;
                    }
                    match chunk_size(&self.line) {
                        Ok(None) => self.line.clear(),
                        Ok(Some(0)) => {
                            self.line.clear();
                            self.state = ChunkState::Trailer;
                        }
                        Ok(Some(n)) => {
                            self.line.clear();
                            self.state = ChunkState::Data(n);
                        }
                        Err(()) => self.fall_back_to_raw(out),
                    }
                }
            }
        }
        i
    }

    /// True when the size line so far cannot start with hex digits (libhtp's early check
    /// for "not chunked after all").
    fn cannot_be_size(&self) -> bool {
        self.state == ChunkState::Size
            && self
                .line
                .iter()
                .find(|&&c| !is_chunked_ctl(c))
                .is_some_and(|c| !c.is_ascii_hexdigit())
    }

    /// Falls back to "not chunked": the pending line is body as sent.
    fn fall_back_to_raw(&mut self, out: &mut Vec<u8>) {
        if self.state == ChunkState::Size {
            out.append(&mut self.line);
        }
        self.line = Vec::new();
        self.state = ChunkState::Raw;
    }
}

/// Removes the chunk framing from `d`: appends the data to `out` and says where the chunked
/// body ends.
pub(crate) fn dechunk(d: &[u8], out: &mut Vec<u8>) -> BodyEnd {
    let mut dec = ChunkedDecoder::new();
    let n = dec.feed(d, out);
    if dec.is_done() {
        BodyEnd::At(n)
    } else if dec.is_raw() {
        BodyEnd::AtClose
    } else {
        BodyEnd::NeedMore
    }
}

/// The body bytes of a message in `d` (the bytes after its header block) and where the
/// body ends.
pub(crate) fn body(d: &[u8], f: Framing) -> (Vec<u8>, BodyEnd) {
    match f {
        Framing::Chunked => {
            let mut out = Vec::with_capacity(d.len());
            let end = dechunk(d, &mut out);
            (out, end)
        }
        Framing::None => (Vec::new(), BodyEnd::At(0)),
        Framing::Close => (d.to_vec(), BodyEnd::AtClose),
        Framing::Length(n) => {
            let (b, end) = plain(d, f);
            let ended = if u64::try_from(end).ok() == Some(n) {
                BodyEnd::At(end)
            } else {
                BodyEnd::NeedMore
            };
            (b.to_vec(), ended)
        }
    }
}

/// After a response body ends, libhtp keeps reading: bytes that do not start (after blanks
/// and NULs) with `http` are more body of the same response. The extra body in `d`.
pub(crate) fn trailing_response_body(d: &[u8]) -> &[u8] {
    let mut p = d;
    // Empty lines between responses are ignored.
    while let [b'\r' | b'\n', rest @ ..] = p {
        p = rest;
    }
    if p.is_empty() || super::looks_like_status_line(p) {
        return &[];
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dc(d: &[u8]) -> (Vec<u8>, BodyEnd) {
        body(d, Framing::Chunked)
    }

    #[test]
    fn framing_choice() {
        assert_eq!(
            response_framing(Some(200), Some(b"chunked"), Some(b"5")),
            Framing::Chunked
        );
        assert_eq!(
            response_framing(Some(200), Some(b"xchu\0nked;"), None),
            Framing::Chunked
        );
        assert_eq!(
            response_framing(Some(200), Some(b"gzip"), Some(b"5")),
            Framing::Length(5)
        );
        assert_eq!(response_framing(Some(204), None, None), Framing::None);
        assert_eq!(
            response_framing(Some(304), None, Some(b"3")),
            Framing::Length(3)
        );
        assert_eq!(response_framing(None, None, None), Framing::Close);
        assert_eq!(
            response_framing(Some(200), None, Some(b"abc")),
            Framing::None
        );
        assert_eq!(request_framing(None, None), Framing::None);
        assert_eq!(request_framing(None, Some(b" +12x")), Framing::Length(12));
        assert_eq!(content_length(b"99999999999999999999999"), None);
    }

    #[test]
    fn chunk_sizes() {
        assert_eq!(dc(b"5\r\nhello\r\n0\r\n\r\n").0, b"hello");
        // Leading CR/FF/LF before the size, extensions and junk after it.
        assert_eq!(
            dc(b"\r5\r\nhello\r\n\x0c3;x=y\r\nabc\r\n0\r\n\r\n").0,
            b"helloabc"
        );
        assert_eq!(dc(b"\r\n\r\n5\r\nhello\r\n0\r\n\r\n").0, b"hello");
        // Junk up to the LF after the data is skipped.
        assert_eq!(dc(b"5\r\nhelloXYZ\n2\nab\n0\n\n").0, b"helloab");
        // Cut in the middle of a chunk.
        assert_eq!(dc(b"5\r\nhel"), (b"hel".to_vec(), BodyEnd::NeedMore));
        assert_eq!(dc(b"5\r\nhello\r\n0\r\nX: y\r\n").1, BodyEnd::NeedMore);
        // End offset after the trailers.
        let d = b"1\r\na\r\n0\r\nX: y\r\n\r\nNEXT";
        let (b, end) = dc(d);
        assert_eq!((b.as_slice(), end), (&b"a"[..], BodyEnd::At(d.len() - 4)));
    }

    #[test]
    fn not_chunked_after_all() {
        // A size line without hex digits: the rest is the body as sent.
        assert_eq!(dc(b"5\r\nhello\r\nworld\r\n").0, b"helloworld\r\n");
        // No LF and not hex: plain body.
        assert_eq!(
            dc(b"X5O!P%@AP[4"),
            (b"X5O!P%@AP[4".to_vec(), BodyEnd::AtClose)
        );
        assert_eq!(dc(b"5\r\nhello\r\nzz\r\n").1, BodyEnd::AtClose);
        // Hex without LF yet: wait.
        assert_eq!(dc(b"5"), (Vec::new(), BodyEnd::NeedMore));
    }

    #[test]
    fn streaming_matches_whole() {
        let cases: &[&[u8]] = &[
            b"\r5\r\nhello\r\n\x0c3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\nNEXT",
            b"5\r\nhello\r\nworld\r\n",
            b"X5O!P%@AP[4\\PZX",
            b"\r\n\r\nf\r\nX5O!P%@AP[4\\PZX\r\n\r\n\r\n0\r\n\r\n",
            b"5\r\nhelloXYZ\n2\nab\n0\n\n",
        ];
        for d in cases {
            let mut whole = Vec::new();
            let end = dechunk(d, &mut whole);
            for split in 0..d.len() {
                let mut dec = ChunkedDecoder::new();
                let mut out = Vec::new();
                let a = dec.feed(&d[..split], &mut out);
                let b = dec.feed(&d[split..], &mut out);
                assert_eq!(
                    out,
                    whole,
                    "split {split} of {:?}",
                    String::from_utf8_lossy(d)
                );
                if let BodyEnd::At(n) = end {
                    assert!(dec.is_done());
                    assert_eq!(a + b, n);
                }
                assert_eq!(dec.is_raw(), end == BodyEnd::AtClose);
            }
        }
        // An over-long size line: not chunked.
        let mut dec = ChunkedDecoder::new();
        let mut out = Vec::new();
        dec.feed(&vec![b'1'; LINE_LIMIT + 1], &mut out);
        assert!(dec.is_raw() && out.len() == LINE_LIMIT + 1);
    }

    #[test]
    fn lengths() {
        let b = |d: &[u8], f| body(d, f);
        assert_eq!(
            b(b"abcdef", Framing::Length(3)),
            (b"abc".to_vec(), BodyEnd::At(3))
        );
        assert_eq!(
            b(b"ab", Framing::Length(3)),
            (b"ab".to_vec(), BodyEnd::NeedMore)
        );
        assert_eq!(b(b"ab", Framing::Close), (b"ab".to_vec(), BodyEnd::AtClose));
        assert_eq!(b(b"ab", Framing::None), (Vec::new(), BodyEnd::At(0)));
        assert_eq!(trailing_response_body(b"\r\nmore"), b"more");
        assert_eq!(trailing_response_body(b"HTTP/1.1 200 OK\r\n"), b"");
        assert_eq!(trailing_response_body(b"  http/1.1 200"), b"");
    }
}
