//! Content-Encoding decoding the way libhtp (Suricata's HTTP/1 parser) does it.
//!
//! Browsers decode bodies that strict decoders reject, so an IDS must too
//! (<https://noxxi.de/research/http-evader-explained-5-gzip.html>):
//! - the `Content-Encoding` value is split on commas and spaces; a token *containing* `gzip`
//!   is gzip, one containing `deflate` is deflate, `identity`/`none`/`inflate` and unknown
//!   tokens are no layer. Layers are undone last one first. At most `layer_limit` tokens are
//!   looked at (Suricata's `response-body-decompress-layer-limit`, default 2; 0, "no
//!   limit", is bounded at [`MAX_LAYERS`] here);
//! - gzip: the header is skipped as its flags say (reserved flag bits are ignored), the
//!   deflate stream decoded, and the trailer (CRC, size) is not checked;
//! - a layer that fails is retried as the next format in the cycle gzip -> raw deflate ->
//!   zlib -> gzip; when a first attempt fails after producing output, that output is kept;
//!   when no format works, the bytes pass through unchanged;
//! - output is bounded ([`OUTPUT_LIMIT`] per layer) against decompression bombs.
//!
//! No-panic: all slicing is checked; decoding errors are values.

use flate2::{Decompress, FlushDecompress, Status};

use super::fields::{contains_nocase, eq_nocase_nozero};

/// The most bytes one layer produces.
pub(crate) const OUTPUT_LIMIT: usize = 1024 * 1024;

/// The most layers undone when the configured limit is 0 ("no limit" to Suricata): each
/// layer costs a pass over up to [`OUTPUT_LIMIT`] bytes, so a header listing thousands of
/// encodings must not cost thousands of passes.
pub(crate) const MAX_LAYERS: usize = 16;

/// A compression format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// RFC 1952 gzip (libhtp's tolerant header parser, then raw deflate).
    Gzip,
    /// RFC 1951 raw deflate.
    Deflate,
    /// RFC 1950 zlib.
    Zlib,
    /// A format this crate cannot decode (lzma, brotli): the bytes pass through.
    Unsupported,
}

impl Format {
    /// The format libhtp retries with after this one fails.
    fn next(self) -> Format {
        match self {
            Format::Gzip => Format::Deflate,
            Format::Deflate => Format::Zlib,
            Format::Zlib | Format::Unsupported => Format::Gzip,
        }
    }
}

/// The layers to undo, in the order to undo them, from a `Content-Encoding` value.
pub(crate) fn layers(ce: &[u8], layer_limit: usize) -> Vec<Format> {
    // Whole-value forms first (libhtp's fast path; NUL bytes are ignored there).
    for (names, f) in [
        (&[&b"gzip"[..], b"x-gzip"][..], Format::Gzip),
        (&[b"deflate", b"x-deflate"], Format::Deflate),
        (&[b"lzma", b"br"], Format::Unsupported),
    ] {
        if names.iter().any(|n| eq_nocase_nozero(ce, n)) {
            return vec![f];
        }
    }
    if eq_nocase_nozero(ce, b"inflate") || eq_nocase_nozero(ce, b"none") {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (n, tok) in ce
        .split(|&c| c == b',' || c == b' ')
        .filter(|t| !t.is_empty())
        .enumerate()
    {
        let limit = if layer_limit == 0 {
            MAX_LAYERS
        } else {
            layer_limit
        };
        if n >= limit {
            break;
        }
        let f = if contains_nocase(tok, b"gzip") {
            Format::Gzip
        } else if contains_nocase(tok, b"deflate") {
            Format::Deflate
        } else if tok == b"lzma" {
            Format::Unsupported
        } else {
            continue;
        };
        out.push(f);
    }
    out.reverse();
    out
}

/// Undoes the layers of `ce` on `body`.
pub(crate) fn decode(body: &[u8], ce: &[u8], layer_limit: usize) -> Vec<u8> {
    let mut cur = body.to_vec();
    for f in layers(ce, layer_limit) {
        cur = decode_layer(&cur, f);
    }
    cur
}

/// One layer: the format, then the retry cycle, then pass-through.
pub(crate) fn decode_layer(input: &[u8], first: Format) -> Vec<u8> {
    if first == Format::Unsupported {
        return input.to_vec();
    }
    let mut f = first;
    for attempt in 0..4 {
        match inflate(input, f) {
            Ok(out) => return out,
            Err(out) if attempt == 0 && !out.is_empty() => return out,
            Err(_) => f = f.next(),
        }
    }
    input.to_vec()
}

/// Decodes `input` as `f`: Ok with the output when the stream decodes (possibly truncated, or
/// followed by ignored bytes), Err with the output so far when it is corrupt.
fn inflate(input: &[u8], f: Format) -> Result<Vec<u8>, Vec<u8>> {
    let (data, zlib) = match f {
        Format::Gzip => match gzip_body(input) {
            Ok(p) => (p, false),
            Err(GzipHeader::Cut) => return Ok(Vec::new()),
            Err(GzipHeader::Invalid) => return Err(Vec::new()),
        },
        Format::Deflate => (input, false),
        Format::Zlib => (input, true),
        Format::Unsupported => return Err(Vec::new()),
    };
    let mut d = Decompress::new(zlib);
    let mut out: Vec<u8> = Vec::with_capacity(data.len().saturating_mul(4).min(OUTPUT_LIMIT));
    loop {
        let consumed = usize::try_from(d.total_in()).unwrap_or(usize::MAX);
        let rest = data.get(consumed..).unwrap_or(&[]);
        if out.len() >= OUTPUT_LIMIT {
            out.truncate(OUTPUT_LIMIT);
            return Ok(out);
        }
        if out.capacity() == out.len() {
            out.reserve((out.len() + 4096).min(OUTPUT_LIMIT - out.len()).max(1));
        }
        let before = (d.total_in(), d.total_out());
        match d.decompress_vec(rest, &mut out, FlushDecompress::None) {
            Ok(Status::StreamEnd) => return Ok(out),
            Ok(_) => {
                if (d.total_in(), d.total_out()) == before {
                    // No progress: the input is used up (a truncated stream).
                    return Ok(out);
                }
            }
            Err(_) => return Err(out),
        }
    }
}

/// Why a gzip header gives no deflate stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GzipHeader {
    /// Not gzip (magic or method wrong): a decoding error.
    Invalid,
    /// The bytes end inside the header: nothing to decode yet, and no error (libhtp waits).
    Cut,
}

/// The deflate stream inside a gzip member: the header skipped as its flags say (reserved
/// flag bits ignored, as libhtp's own header parser does).
fn gzip_body(d: &[u8]) -> Result<&[u8], GzipHeader> {
    const FHCRC: u8 = 1 << 1;
    const FEXTRA: u8 = 1 << 2;
    const FNAME: u8 = 1 << 3;
    const FCOMMENT: u8 = 1 << 4;
    const MAGIC: &[u8] = b"\x1f\x8b\x08";
    let cut = GzipHeader::Cut;
    if !d.starts_with(MAGIC) {
        return Err(if MAGIC.starts_with(d) {
            cut
        } else {
            GzipHeader::Invalid
        });
    }
    let flags = *d.get(3).ok_or(cut)?;
    let mut p = d.get(10..).ok_or(cut)?;
    if flags & FEXTRA != 0 {
        let xlen = match p {
            [lo, hi, ..] => usize::from(u16::from_le_bytes([*lo, *hi])),
            _ => return Err(cut),
        };
        p = p.get(2 + xlen..).ok_or(cut)?;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let nul = p.iter().position(|&c| c == 0).ok_or(cut)?;
            p = &p[nul + 1..];
        }
    }
    if flags & FHCRC != 0 {
        p = p.get(2..).ok_or(cut)?;
    }
    Ok(p)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    pub(crate) const TEXT: &[u8] =
        b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

    pub(crate) fn gzip(d: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(d).unwrap();
        e.finish().unwrap()
    }

    pub(crate) fn zlib(d: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(d).unwrap();
        e.finish().unwrap()
    }

    pub(crate) fn deflate(d: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(d).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn token_rules() {
        assert_eq!(layers(b"gzip", 2), vec![Format::Gzip]);
        assert_eq!(layers(b"GZIP\0", 2), vec![Format::Gzip]);
        assert_eq!(layers(b"x-deflate", 2), vec![Format::Deflate]);
        assert_eq!(layers(b"identity", 2), vec![]);
        assert_eq!(layers(b"foo_gzip_x", 2), vec![Format::Gzip]);
        // Listed in the order applied: undone last first.
        assert_eq!(
            layers(b"deflate, gzip", 2),
            vec![Format::Gzip, Format::Deflate]
        );
        // The limit counts every token, unknown ones too.
        assert_eq!(
            layers(b"gzip, deflate, gzip", 2),
            vec![Format::Deflate, Format::Gzip]
        );
        assert_eq!(layers(b"gzip, deflate, gzip", 3).len(), 3);
        assert_eq!(layers(b"identity, gzip", 1), vec![]);
        assert_eq!(layers(b"gzip, gzip", 0).len(), 2);
        // "No limit" is still bounded.
        assert_eq!(layers(&b"gzip,".repeat(1000), 0).len(), MAX_LAYERS);
    }

    #[test]
    fn formats_and_retries() {
        assert_eq!(decode(&gzip(TEXT), b"gzip", 2), TEXT);
        assert_eq!(decode(&deflate(TEXT), b"deflate", 2), TEXT);
        // Mislabelled: zlib as deflate, raw deflate as gzip, gzip as deflate.
        assert_eq!(decode(&zlib(TEXT), b"deflate", 2), TEXT);
        assert_eq!(decode(&deflate(TEXT), b"gzip", 2), TEXT);
        assert_eq!(decode(&gzip(TEXT), b"deflate", 2), TEXT);
        // Not compressed at all: passes through.
        assert_eq!(decode(TEXT, b"gzip", 2), TEXT);
        // Unknown encodings leave the bytes alone.
        assert_eq!(decode(&gzip(TEXT), b"br", 2), gzip(TEXT));
        // Two layers.
        let two = gzip(&zlib(TEXT));
        assert_eq!(decode(&two, b"deflate, gzip", 2), TEXT);
        assert_ne!(decode(&two, b"deflate, gzip", 1), TEXT);
    }

    #[test]
    fn tolerant_gzip() {
        let mut g = gzip(TEXT);
        // Reserved flag bits, a broken CRC and size trailer.
        g[3] |= 0xe0;
        let n = g.len();
        g[n - 8..].copy_from_slice(&[0; 8]);
        assert_eq!(decode(&g, b"gzip", 2), TEXT);
        // FNAME + FEXTRA + FHCRC.
        let mut h = vec![0x1f, 0x8b, 8, 0x0e, 0, 0, 0, 0, 0, 3, 2, 0, b'x', b'y'];
        h.extend_from_slice(b"name\0\x12\x34");
        h.extend_from_slice(&deflate(TEXT));
        assert_eq!(decode(&h, b"gzip", 2), TEXT);
        // Truncated: what decodes from the start.
        let g = gzip(TEXT);
        let cut = decode(&g[..g.len() - 20], b"gzip", 2);
        assert!(!cut.is_empty() && TEXT.starts_with(&cut));
        // Cut inside the header: nothing yet (libhtp waits for the rest of the header).
        assert_eq!(decode(&g[..5], b"gzip", 2), b"");
        assert_eq!(gzip_body(b"\x1f"), Err(GzipHeader::Cut));
        assert_eq!(gzip_body(b"\x1f\x8b\x07"), Err(GzipHeader::Invalid));
    }

    #[test]
    fn bomb_is_bounded() {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![0u8; OUTPUT_LIMIT * 3]).unwrap();
        let big = e.finish().unwrap();
        assert_eq!(decode(&big, b"gzip", 2).len(), OUTPUT_LIMIT);
        // Layers multiply nothing: each is bounded.
        assert!(decode(&gzip(&big), b"gzip, gzip", 2).len() <= OUTPUT_LIMIT);
    }
}
