//! Header fields the way libhtp (Suricata's HTTP/1 parser) reads them, evasions included.
//!
//! Servers and browsers accept header blocks that RFC 9112 forbids, and an IDS that reads them
//! more strictly than the browser can be evaded (<https://noxxi.de/research/http-evader.html>).
//! This module follows libhtp's documented behaviour so that Verdict sees the same fields
//! Suricata sees:
//! - a response line may end with CR LF, LF, LF CR or a bare CR; a request line with CR LF or
//!   LF. A few "deformed" sequences (`LF CR CR LF` before the final empty line, `CR LF CR`
//!   followed by CRs and blanks) also end a line;
//! - a line that starts with a space, a tab or a NUL continues (folds into) the previous value,
//!   joined by that character -- except, in a response, when the continuation looks like
//!   `name:` (then it is a new field with leading blanks);
//! - a line without a colon is a field with an empty name whose value is the whole line;
//! - names and values are trimmed of blanks, CR, LF, VT and FF;
//! - the block ends at the first empty line (any of the line endings above).
//!
//! The parser works over the bytes at hand: [`parse`] says where the block ends, or that it
//! has not ended yet. No-panic: every index is checked against the input length.

/// Which side of the conversation a header block comes from: the response side accepts more
/// line endings than the request side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// Client to server.
    Request,
    /// Server to client.
    Response,
}

/// One parsed field: trimmed name and value, folded lines joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field {
    /// The name (empty for a line without a colon).
    pub(crate) name: Vec<u8>,
    /// The value, folded continuation lines included.
    pub(crate) value: Vec<u8>,
}

/// The fields of a header block and where it ends.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Block {
    /// The fields in order (repetitions not merged; see [`Block::get`]).
    pub(crate) fields: Vec<Field>,
    /// Offset just after the empty line that ends the block, None when the input ends first.
    pub(crate) end: Option<usize>,
}

impl Block {
    /// The value of field `name` as libhtp stores it: names compare without case and without
    /// NUL bytes; repetitions are joined with `, ` (a repeated `Content-Length` keeps the
    /// first value).
    pub(crate) fn get(&self, name: &[u8]) -> Option<Vec<u8>> {
        let mut out: Option<Vec<u8>> = None;
        for f in self
            .fields
            .iter()
            .filter(|f| eq_nocase_nozero(&f.name, name))
        {
            match &mut out {
                None => out = Some(f.value.clone()),
                Some(v) if !name.eq_ignore_ascii_case(b"content-length") => {
                    v.extend_from_slice(b", ");
                    v.extend_from_slice(&f.value);
                }
                Some(_) => {}
            }
        }
        out
    }
}

impl Block {
    /// The fields as libhtp's header table holds them: one entry per name (compared
    /// without case), in order of first appearance, repetitions joined with `, ` (a
    /// repeated `Content-Length` keeps its first value).
    pub(crate) fn table(&self) -> Vec<Field> {
        let mut out: Vec<Field> = Vec::with_capacity(self.fields.len());
        for f in &self.fields {
            match out
                .iter_mut()
                .find(|e| e.name.eq_ignore_ascii_case(&f.name))
            {
                Some(e) if !f.name.eq_ignore_ascii_case(b"content-length") => {
                    e.value.extend_from_slice(b", ");
                    e.value.extend_from_slice(&f.value);
                }
                Some(_) => {}
                None => out.push(f.clone()),
            }
        }
        out
    }
}

/// `a` equals `b` ignoring ASCII case and the NUL bytes of `a`.
pub(crate) fn eq_nocase_nozero(a: &[u8], b: &[u8]) -> bool {
    let mut it = a.iter().filter(|&&c| c != 0);
    for &c in b {
        match it.next() {
            Some(x) if x.eq_ignore_ascii_case(&c) => {}
            _ => return false,
        }
    }
    it.next().is_none()
}

/// True when `needle` occurs in `hay` ignoring ASCII case and the NUL bytes of `hay`.
pub(crate) fn contains_nocase_nozero(hay: &[u8], needle: &[u8]) -> bool {
    let stripped: Vec<u8> = hay.iter().copied().filter(|&c| c != 0).collect();
    contains_nocase(&stripped, needle)
}

/// True when `needle` occurs in `hay` ignoring ASCII case.
pub(crate) fn contains_nocase(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// libhtp's whitespace: SP, HT, CR, LF, VT, FF.
pub(crate) fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c)
}

/// `b` without leading and trailing [`is_space`] bytes.
pub(crate) fn trimmed(mut b: &[u8]) -> &[u8] {
    while let [c, rest @ ..] = b {
        if !is_space(*c) {
            break;
        }
        b = rest;
    }
    while let [rest @ .., c] = b {
        if !is_space(*c) {
            break;
        }
        b = rest;
    }
    b
}

/// HTTP token characters (RFC 2616 `token`).
fn is_token(c: u8) -> bool {
    (32..=126).contains(&c) && !b"()<>@,;:\\\"/[]?={} \t".contains(&c)
}

/// Why a sub-parser did not match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Miss {
    /// More bytes are needed to decide.
    Incomplete,
    /// The bytes do not match.
    No,
}

type Res<T> = Result<(usize, T), Miss>;

struct Parser<'a> {
    d: &'a [u8],
    side: Side,
}

/// The most continuation lines folded into one value (libhtp's bound on quadratic work).
const MAX_FOLDS: u32 = 128;

impl<'a> Parser<'a> {
    fn at(&self, i: usize) -> Option<u8> {
        self.d.get(i).copied()
    }

    fn starts(&self, i: usize, t: &[u8]) -> bool {
        self.d.get(i..).is_some_and(|r| r.starts_with(t))
    }

    fn is_eol_byte(&self, c: u8) -> bool {
        c == b'\n' || (self.side == Side::Response && c == b'\r')
    }

    /// A regular line ending at `i`: its length.
    fn eol_regular(&self, i: usize) -> Option<usize> {
        let alts: &[&[u8]] = match self.side {
            Side::Response => &[b"\r\n", b"\n\r", b"\n", b"\r"],
            Side::Request => &[b"\r\n", b"\n"],
        };
        alts.iter().find(|t| self.starts(i, t)).map(|t| t.len())
    }

    /// A deformed line ending at `i`: its length.
    fn eol_deformed(&self, i: usize) -> Result<usize, Miss> {
        let next_is_eol = |j: usize| self.starts(j, b"\n") || self.starts(j, b"\r\n");
        if self.starts(i, b"\n\r\r\n") && next_is_eol(i + 4) {
            return Ok(4);
        }
        match self.side {
            Side::Response => {
                if !self.starts(i, b"\r\n\r") {
                    return Err(Miss::No);
                }
                let mut j = i + 3;
                while matches!(self.at(j), Some(b'\r' | b' ' | b'\t')) {
                    j += 1;
                }
                if j == self.d.len() {
                    return Err(Miss::Incomplete);
                }
                if j == i + 3 {
                    return Err(Miss::No);
                }
                if self.at(j) == Some(b'\n') {
                    j += 1;
                }
                if next_is_eol(j) {
                    return Err(Miss::No);
                }
                Ok(j - i)
            }
            Side::Request => {
                if self.starts(i, b"\n\r") && self.starts(i + 2, b"\r\n") {
                    Ok(2)
                } else {
                    Err(Miss::No)
                }
            }
        }
    }

    /// Any complete line ending at `i`: its length.
    fn eol_any(&self, i: usize) -> Result<usize, Miss> {
        match self.eol_deformed(i) {
            Ok(n) => Ok(n),
            Err(Miss::Incomplete) => Err(Miss::Incomplete),
            Err(Miss::No) => self.eol_regular(i).ok_or(Miss::No),
        }
    }

    /// A folding character at `i` (SP, HT or NUL).
    fn folding_lws(&self, i: usize) -> Result<u8, Miss> {
        match self.at(i) {
            None => Err(Miss::Incomplete),
            Some(c @ (b' ' | b'\t' | 0)) => Ok(c),
            Some(_) => Err(Miss::No),
        }
    }

    /// After a value: a fold (line ending + folding character) or a terminator (line ending
    /// not followed by a folding character). Returns (next offset, eol length, fold byte).
    fn fold_or_end(&self, i: usize) -> Result<(usize, usize, Option<u8>), Miss> {
        // Folding: a line ending (deformed ones count only on the request side) then LWS.
        let fold_eol = match self.side {
            Side::Response => self.eol_regular(i).ok_or(Miss::No),
            Side::Request => self.eol_any(i),
        };
        match fold_eol {
            Ok(n) => match self.folding_lws(i + n) {
                Ok(c) => return Ok((i + n + 1, n, Some(c))),
                Err(Miss::Incomplete) => return Err(Miss::Incomplete),
                Err(Miss::No) => {}
            },
            Err(Miss::Incomplete) => return Err(Miss::Incomplete),
            Err(Miss::No) => {}
        }
        if self.at(i) == Some(0) {
            return Ok((i + 1, 1, None));
        }
        let n = self.eol_any(i)?;
        match self.folding_lws(i + n) {
            Ok(_) => Err(Miss::No),
            Err(Miss::Incomplete) => Err(Miss::Incomplete),
            Err(Miss::No) => Ok((i + n, n, None)),
        }
    }

    /// The bytes of one value line and what ends it.
    fn value_bytes(&self, i: usize) -> Res<(&'a [u8], usize, Option<u8>)> {
        let rest = self.d.get(i..).unwrap_or(&[]);
        let len = rest
            .iter()
            .position(|&c| self.is_eol_byte(c))
            .ok_or(Miss::Incomplete)?;
        let mut v = &rest[..len];
        if v.last() == Some(&b'\r') {
            v = &v[..v.len() - 1];
        }
        let (next, eol, fold) = self.fold_or_end(i + v.len())?;
        Ok((next, (v, eol, fold)))
    }

    /// True when the bytes at `i` look like `name:` (a new field, not a continuation).
    fn looks_like_name(&self, i: usize) -> Result<bool, Miss> {
        let mut j = i;
        while matches!(self.at(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        let t0 = j;
        while self.at(j).is_some_and(is_token) {
            j += 1;
        }
        let tokens = j > t0;
        while matches!(self.at(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        match self.at(j) {
            None => Err(Miss::Incomplete),
            Some(b':') => Ok(tokens),
            Some(_) => Ok(false),
        }
    }

    /// A value with its folded continuation lines.
    fn value(&self, i: usize) -> Res<Vec<u8>> {
        let (mut rest, (first, _, fold)) = self.value_bytes(i)?;
        let mut value = first.to_vec();
        let Some(mut ofold) = fold else {
            return Ok((rest, value));
        };
        let mut i = rest;
        let mut folds = 0;
        loop {
            if self.side == Side::Response && self.looks_like_name(i)? {
                return Ok((i, value));
            }
            let (rest2, (bytes, eol, fold)) = self.value_bytes(i)?;
            i = rest2;
            if !value.is_empty() {
                value.push(ofold);
            }
            if !bytes.is_empty() || eol > 1 {
                rest = rest2;
                value.extend_from_slice(bytes);
            } else if eol == 1 && self.at(rest2) == Some(b'\n') {
                rest = rest2;
            }
            folds += 1;
            match fold {
                Some(f) if folds < MAX_FOLDS => ofold = f,
                _ => return Ok((rest, value)),
            }
        }
    }

    /// A field name up to its colon (the scan continues over a line ending followed by a
    /// space, as libhtp does).
    fn name(&self, i: usize) -> (usize, &'a [u8]) {
        let rest = self.d.get(i..).unwrap_or(&[]);
        let mut terminated = 0u8;
        let mut offset = 0;
        for (k, &c) in rest.iter().enumerate() {
            if terminated == 0 {
                if c == b':' {
                    offset = k;
                    break;
                } else if self.is_eol_byte(c) {
                    terminated = c;
                }
            } else if c == b' ' {
                terminated = 0;
            } else if c == b'\n' && terminated == b'\r' {
                terminated = c;
            } else {
                offset = k.saturating_sub(1);
                break;
            }
        }
        (i + offset, &rest[..offset])
    }

    fn header_with_colon(&self, i: usize) -> Res<Field> {
        let (j, name) = self.name(i);
        if self.at(j) != Some(b':') {
            return Err(Miss::No);
        }
        let mut j = j + 1;
        while matches!(self.at(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        let (next, value) = self.value(j)?;
        Ok((
            next,
            Field {
                name: trimmed(name).to_vec(),
                value: trimmed(&value).to_vec(),
            },
        ))
    }

    fn header_sans_colon(&self, i: usize) -> Res<Field> {
        if self.starts(i, b"\r\n") {
            return Err(Miss::No);
        }
        let (next, value) = self.value(i)?;
        Ok((
            next,
            Field {
                name: Vec::new(),
                value: trimmed(&value).to_vec(),
            },
        ))
    }

    fn header(&self, i: usize) -> Res<Field> {
        // `complete(header_with_colon)`: running out of bytes there counts as no match.
        match self.header_with_colon(i) {
            Ok(r) => Ok(r),
            Err(_) => self.header_sans_colon(i),
        }
    }

    fn headers(&self) -> Block {
        let mut block = Block::default();
        let mut i = 0;
        loop {
            match self.header(i) {
                Ok((next, f)) => {
                    i = next;
                    block.fields.push(f);
                    if let Some(n) = self.eol_regular(i) {
                        block.end = Some(i + n);
                        return block;
                    }
                }
                Err(Miss::Incomplete) => return block,
                Err(Miss::No) => {
                    if block.fields.is_empty() {
                        if let Ok(n) = self.eol_any(i) {
                            block.end = Some(i + n);
                        }
                    }
                    return block;
                }
            }
            if i >= self.d.len() {
                return block;
            }
        }
    }
}

/// Parses the header block at the start of `d` (the bytes after the request or status
/// line), libhtp-style.
pub(crate) fn parse(d: &[u8], side: Side) -> Block {
    Parser { d, side }.headers()
}

#[cfg(test)]
mod tests {
    use super::*;

    type NameValue = (Vec<u8>, Vec<u8>);

    fn fields(d: &[u8], side: Side) -> (Vec<NameValue>, Option<usize>) {
        let b = parse(d, side);
        (
            b.fields.into_iter().map(|f| (f.name, f.value)).collect(),
            b.end,
        )
    }

    fn nv(n: &str, v: &str) -> (Vec<u8>, Vec<u8>) {
        (n.as_bytes().to_vec(), v.as_bytes().to_vec())
    }

    #[test]
    fn plain_crlf_and_lf() {
        let d = b"A: 1\r\nB:2\r\n\r\nbody";
        let (f, end) = fields(d, Side::Response);
        assert_eq!(f, vec![nv("A", "1"), nv("B", "2")]);
        assert_eq!(&d[end.unwrap()..], b"body");
        let d = b"A: 1\nB:2\n\nbody";
        let (f, end) = fields(d, Side::Request);
        assert_eq!(f, vec![nv("A", "1"), nv("B", "2")]);
        assert_eq!(&d[end.unwrap()..], b"body");
        // No empty line yet: no end.
        assert_eq!(fields(b"A: 1\r\nB: 2", Side::Response).1, None);
        // An immediately empty block.
        assert_eq!(fields(b"\r\nbody", Side::Response).1, Some(2));
    }

    #[test]
    fn folding() {
        let d = b"Transfer-Encoding: \r\n chunked\r\nX: y\r\n\r\n";
        let (f, end) = fields(d, Side::Response);
        assert_eq!(f, vec![nv("Transfer-Encoding", "chunked"), nv("X", "y")]);
        assert_eq!(end, Some(d.len()));
        let d = b"K: V\r\n a\r\n l\n u\r\n\te\r\n\r\n";
        assert_eq!(fields(d, Side::Request).0, vec![nv("K", "V a l u\te")]);
        // In a response, a continuation that looks like `name:` is a new field.
        let d = b"A: 1\r\n B: 2\r\n\r\n";
        assert_eq!(
            fields(d, Side::Response).0,
            vec![nv("A", "1"), nv("B", "2")]
        );
        assert_eq!(fields(d, Side::Request).0, vec![nv("A", "1 B: 2")]);
    }

    #[test]
    fn response_line_endings() {
        // Bare CR and LF CR end lines in a response, not in a request.
        let d = b"A: 1\rB: 2\n\rC: 3\r\n\r\nbody";
        let (f, end) = fields(d, Side::Response);
        assert_eq!(f, vec![nv("A", "1"), nv("B", "2"), nv("C", "3")]);
        assert_eq!(&d[end.unwrap()..], b"body");
        let (f, _) = fields(d, Side::Request);
        assert_eq!(f[0], nv("A", "1\rB: 2"));
        // A name broken by CR LF SP before its colon.
        let d = b"Transfer-Encoding\r\n :chunked\r\n\r\n";
        assert_eq!(
            fields(d, Side::Response).0,
            vec![nv("Transfer-Encoding", "chunked")]
        );
    }

    #[test]
    fn missing_colon_and_lookup() {
        let d = b"garbage line\r\nContent-Length: 5\r\nContent-length: 7\r\nX: a\r\nx: b\r\n\r\n";
        let b = parse(d, Side::Response);
        assert_eq!(
            b.fields[0],
            Field {
                name: vec![],
                value: b"garbage line".to_vec()
            }
        );
        assert_eq!(b.get(b"content-length").as_deref(), Some(&b"5"[..]));
        assert_eq!(b.get(b"X").as_deref(), Some(&b"a, b"[..]));
        assert_eq!(b.get(b"missing"), None);
        let t = b.table();
        assert_eq!(t.len(), 3);
        assert_eq!(
            (t[1].value.as_slice(), t[2].value.as_slice()),
            (&b"5"[..], &b"a, b"[..])
        );
        assert!(eq_nocase_nozero(b"Content\0-Encoding", b"content-encoding"));
        assert!(!eq_nocase_nozero(b"Content-Encodin", b"content-encoding"));
        assert!(contains_nocase_nozero(b"xchu\0nKed", b"chunked"));
        assert!(!contains_nocase_nozero(b"chunke", b"chunked"));
    }

    #[test]
    fn space_line_ends_block_after_fold() {
        // `LF SP LF`: the empty continuation ends the block.
        let d = b"A: 1\n \nbody";
        let (f, end) = fields(d, Side::Response);
        assert_eq!(f, vec![nv("A", "1")]);
        assert_eq!(&d[end.unwrap()..], b"body");
    }

    #[test]
    fn hostile_bytes_never_panic() {
        for d in [
            &b""[..],
            b"\r",
            b"\n\r\r\n",
            b"\r\n\r \t",
            b":",
            b"a\r \r :\r v\r\n\r\n",
            b"\0\0\0",
            b"a: \r\n \r\n \r\n",
        ] {
            let _ = parse(d, Side::Response);
            let _ = parse(d, Side::Request);
        }
    }
}
