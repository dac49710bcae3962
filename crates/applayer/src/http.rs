//! HTTP/1.x messages as libhtp (Suricata's HTTP parser) reads them, evasions included.
//!
//! An IDS that parses HTTP more strictly than browsers do can be evaded: a server sends a
//! response that the browser decodes and the IDS does not
//! (<https://noxxi.de/research/http-evader.html>). Verdict follows libhtp, so that rules see
//! what Suricata sees:
//! - [`Response::parse`]: a status line is anything starting (after blanks and NULs) with
//!   `http` in any case, ending at CR LF, LF or a bare CR; its protocol and status code may
//!   be anything ([`Response::status_number`] is libhtp's reading). Short junk lines before
//!   it are skipped; an interim `100` is skipped. [`Response::parse_server_bytes`] reads
//!   bytes without a status line as an HTTP/0.9 body.
//! - Header fields (`fields`): CR LF, LF, LF CR or bare CR line ends on the response side,
//!   folding, lines without colon, NUL-insensitive names, repetitions joined with `, `.
//! - Body framing (`body`, [`Framing`], [`BodyEnd`], [`ChunkedDecoder`]): `chunked`
//!   anywhere in `Transfer-Encoding` wins; chunk-size lines read loosely, with the fallback
//!   to "not chunked after all"; `Content-Length` with junk around; bytes after a response
//!   that do not start a new one are more body.
//! - Content codings (`decompress`): gzip/deflate/zlib, each retried as the others and
//!   tolerant of corrupt headers and trailers, layered as `Content-Encoding` lists them up to
//!   [`DecodeOptions::decompress_layer_limit`], each layer bounded by [`DECOMPRESS_LIMIT`].
//!
//! [`Response::file_data`] and [`Request::file_data`] put it together: the body Suricata's
//! `file_data`/`http.response_body`/`http.request_body` inspect.
//!
//! The views borrow the bytes they are given (a packet's payload, or a message framed from
//! the reassembled stream); the head is parsed from its first line, the body is what follows
//! in those bytes. Only the decoded forms (normalised header block, decoded body) are
//! allocated, when asked for.
//!
//! No-panic: every index is checked (`memchr`, `get`, bounds-checked slicing); the
//! `http_decode` fuzz target checks it.

use crate::Error;
use memchr::memchr;

pub(crate) mod body;
mod decompress;
pub(crate) mod fields;

pub use body::{BodyEnd, ChunkedDecoder, Framing};

/// Settings of the body decoding that Suricata makes configurable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// The most `Content-Encoding` tokens undone on a response body (Suricata's
    /// `app-layer.protocols.http.libhtp.default-config.response-body-decompress-layer-limit`;
    /// 0, "no limit" to Suricata, is bounded at 16 layers here).
    pub decompress_layer_limit: usize,
}

impl Default for DecodeOptions {
    /// Suricata's defaults: two layers.
    fn default() -> Self {
        DecodeOptions {
            decompress_layer_limit: 2,
        }
    }
}

/// libhtp's test for a status line, which browsers share: after blanks and NULs, `http` in
/// any case. A server's first line that fails it is body (an HTTP/0.9-style response).
fn looks_like_status_line(p: &[u8]) -> bool {
    let i = p
        .iter()
        .position(|&c| !(fields::is_space(c) || c == 0))
        .unwrap_or(p.len());
    p.get(i..i + 4)
        .is_some_and(|w| w.eq_ignore_ascii_case(b"http"))
}

/// Request methods that make a payload HTTP (Suricata's HTTP probing parser knows these and
/// a few WebDAV ones).
const METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"TRACE",
    b"CONNECT",
    b"PATCH",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"SEARCH",
    b"CHECKOUT",
    b"CHECKIN",
    b"MERGE",
    b"REPORT",
    b"SUBSCRIBE",
    b"UNSUBSCRIBE",
    b"NOTIFY",
    b"POLL",
    b"BCOPY",
    b"BDELETE",
    b"BMOVE",
    b"BPROPFIND",
    b"BPROPPATCH",
    b"ACL",
    b"LABEL",
    b"MKACTIVITY",
    b"MKWORKSPACE",
    b"UPDATE",
    b"VERSION-CONTROL",
    b"UNCHECKOUT",
    b"BASELINE-CONTROL",
    b"ORDERPATCH",
];

/// True when the payload starts with a known method followed by a space.
pub fn is_request_start(p: &[u8]) -> bool {
    METHODS.iter().any(|m| {
        p.len() > m.len() && p.starts_with(m) && matches!(p.get(m.len()), Some(b' ' | b'\t'))
    })
}

/// True when the payload starts like a status line as libhtp (and browsers) accept it: after
/// optional blanks, line ends and NULs, `http` in any case (`HTTP/1.1 200 OK`,
/// `http/1.0 200`, ` HTTP/2.1 200`, ...).
///
/// Like libhtp, a first line that is not a status line is skipped when it is at most two
/// bytes long or the next line starts with `H` (`SIP/2.0 200 ok\r\nHTTP/1.1 200 ok\r\n`).
pub fn is_response_start(p: &[u8]) -> bool {
    status_line_start(p).is_some()
}

/// Where the status line starts in `p`, after the junk lines libhtp skips; None when `p`
/// does not start a response.
fn status_line_start(p: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let rest = p.get(at..)?;
        let Ok((line, next)) = status_line(rest) else {
            // No complete line yet: judge what there is.
            return looks_like_status_line(rest).then_some(at);
        };
        if looks_like_status_line(line) {
            return Some(at);
        }
        // Empty lines are ignored; junk lines as described above.
        if next.is_empty() || !(line.len() <= 2 || next.first() == Some(&b'H')) {
            return None;
        }
        at = p.len() - next.len();
    }
}

/// Splits off the first line: (line without CR LF, rest after the LF). Incomplete without LF.
fn first_line(p: &[u8]) -> Result<(&[u8], &[u8]), Error> {
    let lf = memchr(b'\n', p).ok_or(Error::Incomplete)?;
    let line = &p[..lf];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Ok((line, &p[lf + 1..]))
}

/// Splits off a status line as libhtp does: it ends at CR LF, LF or a bare CR. Returns (line
/// without its end, rest). Incomplete without a line end (or with a CR as the last byte).
fn status_line(p: &[u8]) -> Result<(&[u8], &[u8]), Error> {
    let i = p
        .iter()
        .position(|&c| c == b'\n' || c == b'\r')
        .ok_or(Error::Incomplete)?;
    let n = match (p[i], p.get(i + 1)) {
        (b'\r', Some(b'\n')) => 2,
        (b'\r', None) => return Err(Error::Incomplete),
        _ => 1,
    };
    Ok((&p[..i], &p[i + n..]))
}

/// Splits the bytes after the first line into (header block with its final empty line, body,
/// complete). Without an empty line, the block is the complete lines and the body is empty.
fn split_head(rest: &[u8]) -> (&[u8], &[u8], bool) {
    let mut pos = 0;
    loop {
        let Some(off) = rest.get(pos..).and_then(|r| memchr(b'\n', r)) else {
            // No complete line left: the block ends at the last complete line.
            return (&rest[..pos], &[], false);
        };
        let line = &rest[pos..pos + off];
        let end = pos + off + 1;
        if line.is_empty() || line == b"\r" {
            return (&rest[..end], &rest[end..], true);
        }
        pos = end;
    }
}

/// One header line: name and value, both trimmed of surrounding blanks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The header name as sent.
    pub name: &'a [u8],
    /// The header value, leading and trailing spaces and tabs removed.
    pub value: &'a [u8],
}

fn trim(mut b: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b' ' | b'\t' | b'\r'] = b {
        b = rest;
    }
    b
}

/// Iterator over the header lines of a raw header block, zero-copy: one item per line with a
/// colon (continuation lines and lines without a colon are skipped; values are not unfolded
/// -- [`Response::header_block_normalized`] has libhtp's unfolded, merged table). Lines end
/// as libhtp ends them: at LF (a CR before it dropped), and on the response side also at
/// LF CR and at a bare CR.
#[derive(Debug, Clone)]
pub struct Headers<'a> {
    rest: &'a [u8],
    side: fields::Side,
}

impl<'a> Headers<'a> {
    /// The next line and the rest after its end.
    fn split_line(&self) -> (&'a [u8], &'a [u8]) {
        let r = self.rest;
        let end = match self.side {
            fields::Side::Request => memchr(b'\n', r),
            fields::Side::Response => memchr::memchr2(b'\n', b'\r', r),
        };
        let Some(i) = end else {
            return (r, &r[r.len()..]);
        };
        let eol = match (r[i], r.get(i + 1)) {
            (b'\r', Some(b'\n')) | (b'\n', Some(b'\r')) if self.side == fields::Side::Response => 2,
            _ => 1,
        };
        let line = &r[..i];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        (line, r.get(i + eol..).unwrap_or(&[]))
    }
}

impl<'a> Iterator for Headers<'a> {
    type Item = Header<'a>;
    fn next(&mut self) -> Option<Header<'a>> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (line, rest) = self.split_line();
            self.rest = rest;
            if line.is_empty() || matches!(line.first(), Some(b' ' | b'\t')) {
                continue;
            }
            if let Some(c) = memchr(b':', line) {
                return Some(Header {
                    name: trim(&line[..c]),
                    value: trim(&line[c + 1..]),
                });
            }
        }
    }
}

/// The head of a message, shared by requests and responses.
#[derive(Debug, Clone, Copy)]
struct Head<'a> {
    block: &'a [u8],
    body: &'a [u8],
    complete: bool,
}

impl<'a> Head<'a> {
    /// The first field named `name` (compared as libhtp does: without case and NUL bytes).
    fn header(&self, name: &[u8], side: fields::Side) -> Option<&'a [u8]> {
        (Headers {
            rest: self.block,
            side,
        })
        .find(|h| fields::eq_nocase_nozero(h.name, name))
        .map(|h| h.value)
    }
}

/// libhtp's header table of a header block. A block cut before its empty line (the rest of
/// the head is in later bytes) is read as if it ended there, so that its last complete line
/// counts.
fn header_table(block: &[u8], side: fields::Side) -> Vec<fields::Field> {
    let parsed = fields::parse(block, side);
    if parsed.end.is_some() || block.is_empty() {
        return parsed.table();
    }
    let mut ended = block.to_vec();
    ended.extend_from_slice(b"\r\n");
    fields::parse(&ended, side).table()
}

/// Appends Suricata's normalised header block: `Name: Value\r\n` per entry of libhtp's
/// header table (folded lines joined, repeated names merged with `, `), in order.
fn normalized_block(block: &[u8], side: fields::Side, out: &mut Vec<u8>) {
    for f in header_table(block, side) {
        out.extend_from_slice(&f.name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(&f.value);
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends Suricata's `http.header_names` buffer: `\r\n`, each name of libhtp's header
/// table followed by `\r\n`, then `\r\n`.
fn names_block(block: &[u8], side: fields::Side, out: &mut Vec<u8>) {
    out.extend_from_slice(b"\r\n");
    for f in header_table(block, side) {
        out.extend_from_slice(&f.name);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// An HTTP/1 request head as one segment carries it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The request line without its CR LF (`http.request_line`).
    pub request_line: &'a [u8],
    /// The method (`http.method`).
    pub method: &'a [u8],
    /// The request target as sent (`http.uri.raw`).
    pub uri_raw: &'a [u8],
    /// The protocol (`HTTP/1.1`; empty for an HTTP/0.9 request line) (`http.protocol`).
    pub protocol: &'a [u8],
    head: Head<'a>,
}

impl<'a> Request<'a> {
    /// Parses a request head. Needs the complete request line.
    pub fn parse(p: &'a [u8]) -> Result<Request<'a>, Error> {
        if !is_request_start(p) {
            return Err(Error::Invalid("HTTP request line (unknown method)"));
        }
        let (line, rest) = first_line(p)?;
        // Like libhtp: the method up to the first blank, the protocol after the last blank
        // when it starts with `HTTP/`, and the URI in between, spaces included.
        let blank = |b: &u8| *b == b' ' || *b == b'\t';
        let m_end = line.iter().position(blank).unwrap_or(line.len());
        let method = &line[..m_end];
        let after = trim(&line[m_end..]);
        let (uri_raw, protocol) = match after.iter().rposition(blank) {
            Some(i) if after[i + 1..].starts_with(b"HTTP/") => (trim(&after[..i]), &after[i + 1..]),
            _ => (after, &after[after.len()..]),
        };
        if uri_raw.is_empty() {
            return Err(Error::Invalid("HTTP request line (no URI)"));
        }
        let (block, body, complete) = split_head(rest);
        Ok(Request {
            request_line: line,
            method,
            uri_raw,
            protocol,
            head: Head {
                block,
                body,
                complete,
            },
        })
    }

    /// The raw header block after the request line, with the final empty line when this
    /// segment has it (`http.header.raw`).
    pub fn header_block(&self) -> &'a [u8] {
        self.head.block
    }

    /// True when the empty line ending the headers is in this segment.
    pub fn headers_complete(&self) -> bool {
        self.head.complete
    }

    /// The header lines.
    pub fn headers(&self) -> Headers<'a> {
        Headers {
            rest: self.head.block,
            side: fields::Side::Request,
        }
    }

    /// The value of the first header named `name` (case-insensitive).
    pub fn header(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.head.header(name, fields::Side::Request)
    }

    /// The body bytes that follow the head in this segment.
    pub fn body(&self) -> &'a [u8] {
        self.head.body
    }

    /// How this request's body is delimited, as libhtp decides it: chunked when
    /// `Transfer-Encoding` contains `chunked`, else `Content-Length`, else no body.
    pub fn framing(&self) -> Framing {
        let block = fields::parse(self.head.block, fields::Side::Request);
        let te = block.get(b"transfer-encoding");
        let cl = block.get(b"content-length");
        body::request_framing(te.as_deref(), cl.as_deref())
    }

    /// Where this request's body ends in [`Request::body`], framed as libhtp frames it:
    /// chunked (loosely detected and read), `Content-Length`, or no body.
    pub fn body_end(&self) -> BodyEnd {
        if !self.head.complete {
            return BodyEnd::NeedMore;
        }
        body::body(self.head.body, self.framing()).1
    }

    /// The request body as libhtp delimits it, from the bytes at hand: de-chunked when
    /// `Transfer-Encoding` says chunked (read as loosely as libhtp does), else up to
    /// `Content-Length`; then its `Content-Encoding` layers undone as for a response
    /// (Suricata decompresses request bodies too).
    ///
    /// Without either header libhtp sees no body; these bytes are framed already (by the
    /// flow's message framing, or they are one packet's payload), so whatever follows the
    /// head in them is kept as the body.
    pub fn file_data(&self, opts: &DecodeOptions) -> Vec<u8> {
        if !self.head.complete {
            return Vec::new();
        }
        let block = fields::parse(self.head.block, fields::Side::Request);
        let te = block.get(b"transfer-encoding");
        let cl = block.get(b"content-length");
        let framing = match body::request_framing(te.as_deref(), cl.as_deref()) {
            body::Framing::None if cl.is_none() => body::Framing::Close,
            f => f,
        };
        let out = body::body(self.head.body, framing).0;
        match block.get(b"content-encoding") {
            Some(ce) if !out.is_empty() => {
                decompress::decode(&out, &ce, opts.decompress_layer_limit)
            }
            _ => out,
        }
    }

    /// The Host header without its port (`http.host.raw`; Suricata's `http.host` is this
    /// lowercased). An IPv6 literal keeps its brackets.
    pub fn host(&self) -> Option<&'a [u8]> {
        self.header(b"host").map(strip_port)
    }

    /// Suricata's normalised `http.header` buffer: `Name: Value\r\n` per header.
    pub fn header_block_normalized(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.head.block.len());
        normalized_block(self.head.block, fields::Side::Request, &mut v);
        v
    }

    /// Suricata's `http.header_names` buffer.
    pub fn header_names(&self) -> Vec<u8> {
        let mut v = Vec::new();
        names_block(self.head.block, fields::Side::Request, &mut v);
        v
    }

    /// Suricata's `http.start`: the request line, the normalised headers, an empty line.
    pub fn start(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.request_line.len() + self.head.block.len() + 4);
        v.extend_from_slice(self.request_line);
        v.extend_from_slice(b"\r\n");
        normalized_block(self.head.block, fields::Side::Request, &mut v);
        v.extend_from_slice(b"\r\n");
        v
    }
}

fn strip_port(v: &[u8]) -> &[u8] {
    if v.first() == Some(&b'[') {
        return match memchr(b']', v) {
            Some(i) => &v[..=i],
            None => v,
        };
    }
    match memchr(b':', v) {
        Some(i) => &v[..i],
        None => v,
    }
}

/// An HTTP/1 response head as one segment carries it.
#[derive(Debug, Clone, Copy)]
pub struct Response<'a> {
    /// The status line without its CR LF (`http.response_line`).
    pub response_line: &'a [u8],
    /// The protocol (`HTTP/1.1`).
    pub protocol: &'a [u8],
    /// The status code digits (`http.stat_code`).
    pub status_code: &'a [u8],
    /// The reason phrase (`http.stat_msg`), possibly empty.
    pub status_msg: &'a [u8],
    head: Head<'a>,
}

impl<'a> Response<'a> {
    /// Parses a response head the way libhtp does. Needs the complete status line.
    ///
    /// - empty lines, and short junk lines, before the status line are skipped;
    /// - the status line ends at CR LF, LF or a bare CR; its fields are separated by any
    ///   whitespace: protocol (anything, `HTTP/1.1` or not), status code (anything; see
    ///   [`Response::status_number`]), message;
    /// - the header block ends at the first empty line, with libhtp's line endings (CR LF, LF,
    ///   LF CR, CR and a few deformed ones);
    /// - an interim `100` response without body headers is skipped: the view is the final
    ///   response that follows it in the bytes.
    pub fn parse(p: &'a [u8]) -> Result<Response<'a>, Error> {
        let mut p = p;
        loop {
            let r = Response::parse_one(p)?;
            let interim = r.status_number() == Some(100)
                && r.head.complete
                && r.header(b"transfer-encoding").is_none()
                && r.header(b"content-length")
                    .map_or(true, |v| body::content_length(v) == Some(0));
            if interim && looks_like_status_line(r.head.body) && r.head.body.len() < p.len() {
                p = r.head.body;
                continue;
            }
            return Ok(r);
        }
    }

    /// Reads the server's side of an HTTP connection the way libhtp does: a response when
    /// the bytes start with a status line (after the junk lines libhtp skips), otherwise an
    /// HTTP/0.9-style response -- no status line, no headers, and all the bytes are body up to
    /// the end of the connection (what browsers do, and what an HTTP/0.9 request gets).
    /// Use it where the bytes are known to come from the server of an HTTP flow;
    /// [`Response::parse`] is for bytes that must announce themselves.
    pub fn parse_server_bytes(p: &'a [u8]) -> Result<Response<'a>, Error> {
        if status_line_start(p).is_some() {
            return Response::parse(p);
        }
        if p.is_empty() {
            return Err(Error::Incomplete);
        }
        Ok(Response {
            response_line: &p[..0],
            protocol: &p[..0],
            status_code: &p[..0],
            status_msg: &p[..0],
            head: Head {
                block: &p[..0],
                body: p,
                complete: true,
            },
        })
    }

    fn parse_one(p: &'a [u8]) -> Result<Response<'a>, Error> {
        let start = status_line_start(p).ok_or(Error::Invalid(
            "HTTP status line (does not start with `http`)",
        ))?;
        let (line, rest) = status_line(&p[start..])?;
        let is_ws = |c: &u8| fields::is_space(*c);
        let skip = line
            .iter()
            .position(|&c| !(fields::is_space(c) || c == 0))
            .unwrap_or(line.len());
        let after = &line[skip..];
        let proto_end = after.iter().position(is_ws).unwrap_or(after.len());
        let protocol = &after[..proto_end];
        let after = &after[proto_end..];
        let ws1 = after.iter().position(|c| !is_ws(c)).unwrap_or(after.len());
        let after = &after[ws1..];
        let code_end = after.iter().position(is_ws).unwrap_or(after.len());
        let code = if ws1 == 0 {
            &after[..0]
        } else {
            &after[..code_end]
        };
        let after = &after[code.len()..];
        let ws2 = after
            .iter()
            .position(|c| !c.is_ascii_whitespace())
            .unwrap_or(after.len());
        let msg = if ws2 == 0 { &after[..0] } else { &after[ws2..] };
        let parsed = fields::parse(rest, fields::Side::Response);
        let (block, body, complete) = match parsed.end {
            Some(e) if e <= rest.len() => (&rest[..e], &rest[e..], true),
            _ => {
                let last = rest.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
                (&rest[..last], &rest[rest.len()..], false)
            }
        };
        Ok(Response {
            response_line: line,
            protocol,
            status_code: code,
            status_msg: msg,
            head: Head {
                block,
                body,
                complete,
            },
        })
    }

    /// The status code as libhtp reads it: digits (blanks around allowed, leading zeros too)
    /// from 100 to 999; None otherwise.
    pub fn status_number(&self) -> Option<u16> {
        let t = trim(self.status_code);
        if t.is_empty() || !t.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let v = t.iter().try_fold(0u32, |a, &d| {
            a.checked_mul(10)?.checked_add(u32::from(d - b'0'))
        })?;
        u16::try_from(v).ok().filter(|v| (100..=999).contains(v))
    }

    /// How this response's body is delimited, as libhtp decides it from the status code and
    /// the `Transfer-Encoding` and `Content-Length` fields (repeated fields joined, folded
    /// lines unfolded): chunked when `Transfer-Encoding` contains `chunked` (whatever the
    /// protocol version and even with a `Content-Length`), else the length, else until
    /// close; no body for 1xx, 204 and 304 without either field, nor for an unparsable
    /// length. The response to a `HEAD` request has no body whatever this says.
    pub fn framing(&self) -> Framing {
        let block = fields::parse(self.head.block, fields::Side::Response);
        let te = block.get(b"transfer-encoding");
        let cl = block.get(b"content-length");
        body::response_framing(self.status_number(), te.as_deref(), cl.as_deref())
    }

    /// Where this response's body ends in [`Response::body`], framed as libhtp frames it
    /// (loose chunked detection and chunk-size lines, the raw fallback when the chunks are
    /// not chunks, `Content-Length`, connection close; no body for 1xx/204/304 without
    /// length headers). A message framer uses it to cut a stream into responses. The
    /// response to a `HEAD` request has no body whatever this says.
    pub fn body_end(&self) -> BodyEnd {
        if !self.head.complete {
            return BodyEnd::NeedMore;
        }
        body::body(self.head.body, self.framing()).1
    }

    /// The decoded response body as Suricata's `file_data` sees it, from the bytes at hand:
    /// framed per libhtp ([`Response::parse`] gives the head; chunked coding detected
    /// loosely, chunk-size lines read leniently, falling back to the raw bytes when they are
    /// not chunks; `Content-Length`; or to the end), bytes after the body that do not start a
    /// new response appended, then the `Content-Encoding` layers undone (gzip and deflate,
    /// each tolerant of mislabelling and corruption, bounded in output).
    pub fn file_data(&self, opts: &DecodeOptions) -> Vec<u8> {
        if !self.head.complete {
            return Vec::new();
        }
        let block = fields::parse(self.head.block, fields::Side::Response);
        let framing = self.framing();
        if framing == Framing::None
            && block
                .get(b"content-length")
                .is_some_and(|v| body::content_length(&v).is_none())
        {
            // libhtp stops parsing at an unparsable length.
            return Vec::new();
        }
        let (mut out, end) = body::body(self.head.body, framing);
        if let BodyEnd::At(e) = end {
            // After the body (or a response without one), bytes that do not start a new
            // response are more body: libhtp delivers them as such.
            out.extend_from_slice(body::trailing_response_body(
                self.head.body.get(e..).unwrap_or(&[]),
            ));
        }
        match block.get(b"content-encoding") {
            Some(ce) if !out.is_empty() => {
                decompress::decode(&out, &ce, opts.decompress_layer_limit)
            }
            _ => out,
        }
    }

    /// The status code as a number, 0 when it is not a valid one (see
    /// [`Response::status_number`]).
    pub fn status(&self) -> u16 {
        self.status_number().unwrap_or(0)
    }

    /// The raw header block (with the final empty line when this segment has it).
    pub fn header_block(&self) -> &'a [u8] {
        self.head.block
    }

    /// True when the empty line ending the headers is in this segment.
    pub fn headers_complete(&self) -> bool {
        self.head.complete
    }

    /// The header lines.
    pub fn headers(&self) -> Headers<'a> {
        Headers {
            rest: self.head.block,
            side: fields::Side::Response,
        }
    }

    /// The value of the first header named `name` (case-insensitive).
    pub fn header(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.head.header(name, fields::Side::Response)
    }

    /// The body bytes that follow the head in this segment.
    pub fn body(&self) -> &'a [u8] {
        self.head.body
    }

    /// Suricata's normalised `http.header` buffer.
    pub fn header_block_normalized(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.head.block.len());
        normalized_block(self.head.block, fields::Side::Response, &mut v);
        v
    }

    /// Suricata's `http.header_names` buffer.
    pub fn header_names(&self) -> Vec<u8> {
        let mut v = Vec::new();
        names_block(self.head.block, fields::Side::Response, &mut v);
        v
    }

    /// Suricata's `http.start`: the status line, the normalised headers, an empty line.
    pub fn start(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.response_line.len() + self.head.block.len() + 4);
        v.extend_from_slice(self.response_line);
        v.extend_from_slice(b"\r\n");
        normalized_block(self.head.block, fields::Side::Response, &mut v);
        v.extend_from_slice(b"\r\n");
        v
    }
}

/// True when a `Transfer-Encoding` value means chunked to libhtp: it contains `chunked`
/// anywhere, ignoring case and NUL bytes (`chunked`, `Chunked;`, `x-chunked`, `chu\0nked`).
pub fn is_chunked(transfer_encoding: &[u8]) -> bool {
    fields::contains_nocase_nozero(transfer_encoding, b"chunked")
}

/// De-chunks the body bytes of a chunked message as far as they go, as libhtp does: the data
/// of each chunk, without sizes, extensions and line ends. Size lines may start with CR, LF,
/// blanks, VT or FF; junk after the hex digits is ignored; a line that is not a size line
/// ends the chunking and the rest is kept as sent (libhtp's fallback); a chunk cut by the end
/// of the bytes contributes what is there.
pub fn dechunk(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    body::dechunk(body, &mut out);
    out
}

/// The most bytes one decompression layer of [`decompress`] or [`Response::file_data`]
/// produces: bounds what hostile input (a compression bomb) can cost.
pub const DECOMPRESS_LIMIT: usize = decompress::OUTPUT_LIMIT;

/// Undoes a body's `Content-Encoding` as libhtp does (see [`Response::file_data`]), with
/// Suricata's default layer limit. None when the value names no gzip or deflate layer, or
/// when no layer decodes (the bytes would pass through unchanged).
pub fn decompress(body: &[u8], content_encoding: &[u8]) -> Option<Vec<u8>> {
    let limit = DecodeOptions::default().decompress_layer_limit;
    if decompress::layers(content_encoding, limit).is_empty() {
        return None;
    }
    let out = decompress::decode(body, content_encoding, limit);
    (out != body && !out.is_empty()).then_some(out)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The normalised URI of Suricata's `http.uri` (libhtp's defaults), from the raw request
/// target:
/// - an absolute URI (`http://host:port/p?q`) is reduced to its path and query;
/// - in the path, `%XX` escapes are decoded (an invalid escape is kept as sent), then
///   repeated `/` are compressed and `.` and `..` segments removed (never above the root);
/// - the query (from the first `?`) is kept as sent; a `#fragment` is kept too.
pub fn normalize_uri(raw: &[u8]) -> Vec<u8> {
    let mut uri = raw;
    // Absolute form: skip scheme://authority.
    if let Some(i) = memchr::memmem::find(uri, b"://") {
        let scheme = &uri[..i];
        if !scheme.is_empty()
            && scheme
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b))
        {
            let after = &uri[i + 3..];
            uri = match after.iter().position(|&b| b == b'/' || b == b'?') {
                Some(j) => &after[j..],
                None => b"/",
            };
        }
    }
    let (path, query) = match memchr(b'?', uri) {
        Some(i) => (&uri[..i], &uri[i..]),
        None => (uri, &uri[uri.len()..]),
    };
    let mut decoded = Vec::with_capacity(path.len());
    let mut i = 0;
    while let Some(&b) = path.get(i) {
        if b == b'%' {
            if let (Some(h), Some(l)) = (
                path.get(i + 1).copied().and_then(hex),
                path.get(i + 2).copied().and_then(hex),
            ) {
                decoded.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        decoded.push(b);
        i += 1;
    }
    let mut out = Vec::with_capacity(decoded.len() + query.len());
    let absolute = decoded.first() == Some(&b'/');
    let trailing = decoded.len() > 1 && matches!(decoded.last(), Some(b'/'))
        || decoded.ends_with(b"/.")
        || decoded.ends_with(b"/..");
    let mut segs: Vec<&[u8]> = Vec::new();
    for seg in decoded.split(|&b| b == b'/') {
        match seg {
            b"" | b"." => {}
            b".." => {
                segs.pop();
            }
            s => segs.push(s),
        }
    }
    if absolute {
        out.push(b'/');
    }
    for (n, s) in segs.iter().enumerate() {
        if n > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(s);
    }
    if trailing && !segs.is_empty() {
        out.push(b'/');
    }
    out.extend_from_slice(query);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQ: &[u8] = b"POST /a/../b%20c/./d?x=%41 HTTP/1.1\r\nHost: Example.COM:8080\r\nUser-Agent:  curl/8 \r\nCookie: s=1\r\nContent-Type: text/plain\r\n\r\nbody!";

    #[test]
    fn request_fields() {
        let r = Request::parse(REQ).unwrap();
        assert_eq!(r.method, b"POST");
        assert_eq!(r.uri_raw, b"/a/../b%20c/./d?x=%41");
        assert_eq!(r.protocol, b"HTTP/1.1");
        assert_eq!(r.request_line, b"POST /a/../b%20c/./d?x=%41 HTTP/1.1");
        assert_eq!(r.host(), Some(&b"Example.COM"[..]));
        assert_eq!(r.header(b"user-agent"), Some(&b"curl/8"[..]));
        assert_eq!(r.header(b"COOKIE"), Some(&b"s=1"[..]));
        assert_eq!(r.header(b"content-type"), Some(&b"text/plain"[..]));
        assert_eq!(r.body(), b"body!");
        assert!(r.headers_complete());
        assert!(r.header_block().ends_with(b"text/plain\r\n\r\n"));
        assert_eq!(r.headers().count(), 4);
        assert_eq!(
            r.header_block_normalized(),
            b"Host: Example.COM:8080\r\nUser-Agent: curl/8\r\nCookie: s=1\r\nContent-Type: text/plain\r\n"
        );
        assert_eq!(
            r.header_names(),
            b"\r\nHost\r\nUser-Agent\r\nCookie\r\nContent-Type\r\n\r\n"
        );
        assert!(r
            .start()
            .starts_with(b"POST /a/../b%20c/./d?x=%41 HTTP/1.1\r\nHost: "));
        assert!(r.start().ends_with(b"text/plain\r\n\r\n"));
    }

    #[test]
    fn request_partial_and_bad() {
        assert_eq!(
            Request::parse(b"GET /abc HTTP/1.1").unwrap_err(),
            Error::Incomplete
        );
        assert!(matches!(
            Request::parse(b"FOO / HTTP/1.1\r\n"),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(
            Request::parse(b"GET \r\n"),
            Err(Error::Invalid(_))
        ));
        let r = Request::parse(b"GET /uri afterspace HTTP/1.1\r\n").unwrap();
        assert_eq!(r.uri_raw, b"/uri afterspace");
        assert_eq!(r.protocol, b"HTTP/1.1");
        let r = Request::parse(b"GET /a b\r\n").unwrap();
        assert_eq!((r.uri_raw, r.protocol), (&b"/a b"[..], &b""[..]));
        let r = Request::parse(b"GET /x HTTP/1.0\r\nHost: h\r\nAccept: a").unwrap();
        assert!(!r.headers_complete());
        assert_eq!(r.headers().count(), 1);
        assert_eq!(r.body(), b"");
        let r = Request::parse(b"GET /old\n").unwrap();
        assert_eq!(r.protocol, b"");
        assert_eq!(r.uri_raw, b"/old");
    }

    #[test]
    fn response_fields() {
        let r = Response::parse(b"HTTP/1.1 404 Not Found\r\nServer: nginx\r\n\r\n<html>").unwrap();
        assert_eq!(r.status_code, b"404");
        assert_eq!(r.status(), 404);
        assert_eq!(r.status_msg, b"Not Found");
        assert_eq!(r.response_line, b"HTTP/1.1 404 Not Found");
        assert_eq!(r.header(b"server"), Some(&b"nginx"[..]));
        assert_eq!(r.body(), b"<html>");
        let r = Response::parse(b"HTTP/1.0 200\r\n\r\n").unwrap();
        assert_eq!(r.status_msg, b"");
        // libhtp keeps a response whose status code is not a number (and so do browsers).
        let r = Response::parse(b"HTTP/1.1 2x0 OK\r\n\r\n").unwrap();
        assert_eq!(
            (r.status_code, r.status_number(), r.status()),
            (&b"2x0"[..], None, 0)
        );
        assert_eq!(
            Response::parse(b"HTTP/1.1 200 OK").unwrap_err(),
            Error::Incomplete
        );
        assert!(matches!(
            Response::parse(b"SIP/2.0 200 OK\r\n\r\n"),
            Err(Error::Invalid(_))
        ));
        // Junk lines libhtp skips before the status line.
        for p in [
            &b"SIP/2.0 200 ok\r\nHTTP/1.1 200 ok\r\n\r\nX"[..],
            b" foobar\r\nHTTP/1.1 200 ok\r\n\r\nX",
            b"ab\r\nhttp/1.1 200 ok\r\n\r\nX",
        ] {
            assert!(is_response_start(p));
            let r = Response::parse(p).unwrap();
            assert_eq!((r.status(), r.body()), (200, &b"X"[..]));
        }
        assert!(!is_response_start(b"foobar\r\nxttp/1.1 200 ok\r\n"));
        assert!(!is_response_start(b"foobar\r\n"));
    }

    #[test]
    fn lenient_status_lines() {
        // Lowercase, other versions, leading blank lines, bare CR, leading zeros.
        for (p, proto, code, num) in [
            (
                &b"http/1.1 200 ok\r\n\r\nX"[..],
                &b"http/1.1"[..],
                &b"200"[..],
                Some(200),
            ),
            (b"HTTP/2.1 200 ok\r\n\r\nX", b"HTTP/2.1", b"200", Some(200)),
            (
                b"\r\n\r\nHTTP/1.1 200 ok\r\n\r\nX",
                b"HTTP/1.1",
                b"200",
                Some(200),
            ),
            (
                b"HTTP/1.1 0200 ok\r\n\r\nX",
                b"HTTP/1.1",
                b"0200",
                Some(200),
            ),
            (
                b"HTTP/1.1\x0b200\x0bok\r\n\r\nX",
                b"HTTP/1.1",
                b"200",
                Some(200),
            ),
            (b"HTTP/1.1 2040 ok\r\n\r\nX", b"HTTP/1.1", b"2040", None),
            (b"HTTP/1.1\rServer: x\r\n\r\nX", b"HTTP/1.1", b"", None),
        ] {
            let r = Response::parse(p).unwrap();
            assert_eq!(
                (r.protocol, r.status_code, r.status_number()),
                (proto, code, num)
            );
            assert_eq!(r.body(), b"X");
        }
        // An interim 100 is skipped.
        let r =
            Response::parse(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 NF\r\n\r\nbody").unwrap();
        assert_eq!((r.status(), r.body()), (404, &b"body"[..]));
        let r = Response::parse(b"HTTP/1.1 100 Continue\r\n\r\n").unwrap();
        assert_eq!(r.status(), 100);
    }

    #[test]
    fn response_file_data() {
        use decompress::tests::{deflate, gzip, zlib, TEXT};
        let o = DecodeOptions::default();
        let fd = |p: &[u8]| Response::parse(p).unwrap().file_data(&o);
        let mut chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        chunked.extend_from_slice(b"\r5\r\nhello\r\n\x0c6\r\n world\r\n0\r\n\r\n");
        assert_eq!(fd(&chunked), b"hello world");
        // Chunked on HTTP/1.0 with a body that is not chunked: the raw bytes.
        assert_eq!(
            fd(b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nContent-length: 5\r\n\r\nX5O!P%@AP"),
            b"X5O!P%@AP"
        );
        // Folded Transfer-Encoding.
        assert_eq!(
            fd(b"HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
            b"abc"
        );
        // Content-Length, and what follows it that is not a new response.
        assert_eq!(
            fd(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef"),
            b"abcdef"
        );
        assert_eq!(
            fd(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\n"),
            b"abc"
        );
        // No body for 204 / 304 (but bytes after the head that are not a response are
        // body to libhtp); invalid Content-Length: nothing.
        assert_eq!(fd(b"HTTP/1.1 304 NM\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"), b"");
        assert_eq!(fd(b"HTTP/1.1 100 Continue\r\n\r\nX5O!P"), b"X5O!P");
        assert_eq!(fd(b"HTTP/1.1 204 No\r\n\r\nabc"), b"abc");
        assert_eq!(fd(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\nabc"), b"");
        // Encodings, repeated and mislabelled, bare-CR header lines.
        for (ce, body) in [
            (&b"Content-Encoding: gzip\r\n"[..], gzip(TEXT)),
            (b"Content-Encoding: deflate\r\n", deflate(TEXT)),
            (b"Content-Encoding: deflate\r\n", zlib(TEXT)),
            (b"Content-Encoding: gzip\rX: y\r\n", gzip(TEXT)),
            (
                b"Content-Encoding: deflate\r\nContent-Encoding: gzip\r\n",
                gzip(&zlib(TEXT)),
            ),
            (b"Content-Encoding: x_gzip\r\n", gzip(TEXT)),
            (b"Content\0-Encoding: gzip\r\n", gzip(TEXT)),
        ] {
            let mut p = b"HTTP/1.1 200 OK\r\n".to_vec();
            p.extend_from_slice(ce);
            p.extend_from_slice(b"\r\n");
            p.extend_from_slice(&body);
            assert_eq!(fd(&p), TEXT, "{}", String::from_utf8_lossy(ce));
        }
        // Not compressed after all: as sent. Incomplete head: nothing.
        assert_eq!(
            fd(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\nplain"),
            b"plain"
        );
        assert_eq!(fd(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"), b"");
    }

    #[test]
    fn normalized_headers_follow_libhtp() {
        let r = Response::parse(
            b"HTTP/1.1 200 OK\r\nX-A: 1\r\n  2\r\nSet-Cookie: a\rset-cookie: b\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            r.header_block_normalized(),
            b"X-A: 1  2\r\nSet-Cookie: a, b\r\n"
        );
        assert_eq!(r.header_names(), b"\r\nX-A\r\nSet-Cookie\r\n\r\n");
        // A head cut after a complete line: that line counts.
        let q = Request::parse(b"GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: u\r\nAcc").unwrap();
        assert_eq!(q.header_block_normalized(), b"Host: h\r\nUser-Agent: u\r\n");
    }

    #[test]
    fn http09_server_bytes() {
        let o = DecodeOptions::default();
        let r = Response::parse_server_bytes(b"X5O!P%@AP[4\\PZX54").unwrap();
        assert_eq!((r.response_line, r.status_number()), (&b""[..], None));
        assert_eq!(r.framing(), Framing::Close);
        assert_eq!(r.file_data(&o), b"X5O!P%@AP[4\\PZX54");
        assert_eq!(r.body_end(), BodyEnd::AtClose);
        // A real response is read as one.
        let r = Response::parse_server_bytes(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab")
            .unwrap();
        assert_eq!((r.status(), r.file_data(&o)), (200, b"ab".to_vec()));
        assert_eq!(
            Response::parse_server_bytes(b"").unwrap_err(),
            Error::Incomplete
        );
    }

    #[test]
    fn header_lines_end_as_libhtp_ends_them() {
        let r =
            Response::parse(b"HTTP/1.1 200 OK\r\nServer: x\rContent-Type: t\n\rX\0-Y: z\r\n\r\n")
                .unwrap();
        assert_eq!(r.header(b"server"), Some(&b"x"[..]));
        assert_eq!(r.header(b"content-type"), Some(&b"t"[..]));
        assert_eq!(r.header(b"x-y"), Some(&b"z"[..]));
        assert_eq!(r.headers().count(), 3);
        // A request line ends only at LF.
        let q = Request::parse(b"GET / HTTP/1.1\r\nA: 1\rB: 2\r\n\r\n").unwrap();
        assert_eq!(q.header(b"a"), Some(&b"1\rB: 2"[..]));
    }

    #[test]
    fn body_ends() {
        let end = |p: &[u8]| Response::parse(p).unwrap().body_end();
        assert_eq!(
            end(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabcd"),
            BodyEnd::At(2)
        );
        assert_eq!(
            end(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabcd"),
            BodyEnd::NeedMore
        );
        assert_eq!(end(b"HTTP/1.1 200 OK\r\n\r\nabcd"), BodyEnd::AtClose);
        assert_eq!(end(b"HTTP/1.1 304 NM\r\n\r\n"), BodyEnd::At(0));
        assert_eq!(end(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n\r\n1\r\na\r\n0\r\n\r\nHTTP"), BodyEnd::At(15));
        assert_eq!(
            end(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nnot chunks"),
            BodyEnd::AtClose
        );
        assert_eq!(end(b"HTTP/1.1 200 OK\r\nServer: x\r\n"), BodyEnd::NeedMore);
        // Header block ended by LF CR CR LF.
        assert_eq!(
            end(b"HTTP/1.1 200 OK\r\nContent-length: 3\n\r\r\nabc"),
            BodyEnd::At(3)
        );
        let req = |p: &[u8]| Request::parse(p).unwrap().body_end();
        assert_eq!(req(b"GET / HTTP/1.1\r\n\r\nGET"), BodyEnd::At(0));
        // Framing from libhtp's view of the fields: repeated Transfer-Encoding joined,
        // folded Content-Length unfolded, 1xx with a length has a body, status `0204` is
        // 204.
        let fr = |p: &[u8]| Response::parse(p).unwrap().framing();
        assert_eq!(
            fr(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: x\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Framing::Chunked
        );
        assert_eq!(
            fr(b"HTTP/1.1 200 OK\r\nContent-Length: 34\r\n 68\r\n\r\n"),
            Framing::Length(34)
        );
        assert_eq!(
            fr(b"HTTP/1.1 100 ok\r\nContent-Length: 5\r\n\r\n"),
            Framing::Length(5)
        );
        assert_eq!(fr(b"HTTP/1.1 0204 ok\r\n\r\n"), Framing::None);
        assert_eq!(fr(b"HTTP/1.1 200 ok\r\n\r\n"), Framing::Close);
        let q = Request::parse(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
        assert_eq!(q.framing(), Framing::Chunked);
        assert_eq!(
            req(b"POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\nab"),
            BodyEnd::At(1)
        );
    }

    #[test]
    fn request_file_data() {
        let o = DecodeOptions::default();
        let r = Request::parse(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.file_data(&o), b"abc");
        let r = Request::parse(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nabc").unwrap();
        assert_eq!(r.file_data(&o), b"ab");
        // No length: what follows the head in these bytes.
        let r = Request::parse(b"GET / HTTP/1.1\r\n\r\nabc").unwrap();
        assert_eq!(r.file_data(&o), b"abc");
        // An invalid length: no body.
        let r = Request::parse(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\nabc").unwrap();
        assert_eq!(r.file_data(&o), b"");
        let gz = decompress::tests::gzip(b"name=john");
        let mut p = format!(
            "POST / HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
            gz.len()
        )
        .into_bytes();
        p.extend_from_slice(&gz);
        assert_eq!(Request::parse(&p).unwrap().file_data(&o), b"name=john");
    }

    #[test]
    fn uri_normalization() {
        assert_eq!(normalize_uri(b"/a/../b%20c/./d?x=%41"), b"/b c/d?x=%41");
        assert_eq!(normalize_uri(b"//x///y/"), b"/x/y/");
        assert_eq!(normalize_uri(b"/../../etc/passwd"), b"/etc/passwd");
        assert_eq!(normalize_uri(b"http://host:80/p%2fq?z"), b"/p/q?z");
        assert_eq!(normalize_uri(b"http://host"), b"/");
        assert_eq!(normalize_uri(b"/%zz%4"), b"/%zz%4");
        assert_eq!(normalize_uri(b"/"), b"/");
        assert_eq!(normalize_uri(b"*"), b"*");
    }

    #[test]
    fn chunked_bodies() {
        assert!(is_chunked(b"gzip, Chunked") && !is_chunked(b"gzip"));
        assert!(is_chunked(b"x chunked") && is_chunked(b"CHU\0NKED;") && !is_chunked(b"chunk"));
        assert_eq!(
            dechunk(b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n"),
            b"hello world"
        );
        // Cut in the middle of the second chunk, or of a size line.
        assert_eq!(dechunk(b"5\r\nhello\r\nA\r\n wor"), b"hello wor");
        assert_eq!(dechunk(b"5\r\nhello\r\n1"), b"hello");
        // Not a size line: the rest as sent (libhtp's fallback); a size over i32::MAX is
        // skipped.
        assert_eq!(dechunk(b"zz\r\nhello"), b"zz\r\nhello");
        assert_eq!(dechunk(b"fffffffff\r\nx"), b"x");
    }

    #[test]
    fn compressed_bodies() {
        use std::io::Write;
        let text = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(text).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(decompress(&gz, b"gzip").as_deref(), Some(&text[..]));
        assert_eq!(
            decompress(&gz, b"identity, X-GZIP").as_deref(),
            Some(&text[..])
        );
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(text).unwrap();
        let z = z.finish().unwrap();
        assert_eq!(decompress(&z, b"deflate").as_deref(), Some(&text[..]));
        let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        d.write_all(text).unwrap();
        let d = d.finish().unwrap();
        assert_eq!(decompress(&d, b"deflate").as_deref(), Some(&text[..]));
        assert_eq!(decompress(&gz, b"br"), None);
        // Two layers: deflate applied first, then gzip.
        let mut gz2 = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz2.write_all(&z).unwrap();
        let gz2 = gz2.finish().unwrap();
        assert_eq!(
            decompress(&gz2, b"deflate,gzip").as_deref(),
            Some(&text[..])
        );
        assert_eq!(decompress(b"not gzip", b"gzip"), None);
        // A bomb stops at the limit.
        let mut big = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        big.write_all(&vec![0u8; DECOMPRESS_LIMIT * 4]).unwrap();
        let big = big.finish().unwrap();
        assert_eq!(
            decompress(&big, b"gzip").map(|v| v.len()),
            Some(DECOMPRESS_LIMIT)
        );
    }

    #[test]
    fn host_ports() {
        assert_eq!(strip_port(b"[::1]:80"), b"[::1]");
        assert_eq!(strip_port(b"a.b"), b"a.b");
    }
}
