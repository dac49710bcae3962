//! Transformations of a sticky buffer (Suricata's `dotprefix`, `to_lowercase`, `xor`,
//! `pcrexform`, `from_base64`, `gunzip`, `to_sha256`, ...), applied in rule order before the
//! buffer's payload keywords.
//!
//! Each keyword is parsed once into a [`Transform`]; [`apply_transforms`] runs a list over a
//! buffer. As in Suricata, a transform that cannot do its job either leaves the buffer as it
//! was (`xor` whose key lies outside the buffer, `from_base64` whose offset is past the end,
//! `pcrexform` whose regex does not match) or, for the decoders that Suricata marks as able to
//! fail, makes the buffer an error ([`apply_transforms`] returns `None`): then the buffer's
//! keywords do not match (only `absent: error_or` does).
//!
//! Every output is bounded: decompression stops at the keyword's `max-size` (1 KiB by default,
//! at most 16 MiB), base64 decoding and xor never grow the buffer, hashes are fixed size.

use std::io::Read;
use std::sync::Arc;

/// Default `max-size` of `gunzip` and `zlib_deflate` (Suricata's).
pub(crate) const DECOMPRESS_DEFAULT_MAX: u32 = 1024;
/// The largest `max-size` accepted for `gunzip` and `zlib_deflate`.
pub(crate) const DECOMPRESS_LIMIT: u32 = 16 * 1024 * 1024;

/// Where an `xor` key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum XorKey {
    /// A key written in the rule in hex (1 to 255 bytes).
    Static(Vec<u8>),
    /// `nbytes` key bytes read from the buffer itself at absolute `offset` (Suricata 9's
    /// `xor:extract N O` / `xor:var N O`).
    InBuffer { nbytes: u8, offset: u16 },
    /// A `byte_extract` variable's value, big-endian, its low `width` bytes (`xor:var NAME
    /// [WIDTH]`; the width defaults to the bytes `byte_extract` read).
    Var { var: usize, width: u8 },
}

/// A `from_base64` `bytes` or `offset` value: a number or a byte_extract variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum B64Arg {
    /// A number (0..65535).
    Const(u32),
    /// A byte_extract variable, by index (a negative or too large value counts as 0 bytes
    /// or an offset past the end).
    Var(usize),
}

impl B64Arg {
    fn get(self, vars: &[i64]) -> usize {
        match self {
            B64Arg::Const(n) => n as usize,
            B64Arg::Var(i) => vars
                .get(i)
                .and_then(|v| usize::try_from(*v).ok())
                .unwrap_or(usize::MAX),
        }
    }
}

/// The decoding rules of `from_base64` and `base64_decode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Base64Mode {
    /// RFC 4648 (the default): decoding stops at the first byte outside the alphabet.
    Rfc4648,
    /// RFC 2045: bytes outside the alphabet are skipped.
    Rfc2045,
    /// Any byte outside the alphabet (or misplaced padding) fails the decoding.
    Strict,
}

/// A sticky buffer transformation.
#[derive(Debug, Clone)]
pub(crate) enum Transform {
    /// `dotprefix`: prepend a `.`.
    DotPrefix,
    /// `to_lowercase`.
    ToLower,
    /// `to_uppercase`.
    ToUpper,
    /// `strip_whitespace`: remove every whitespace byte.
    StripWhitespace,
    /// `compress_whitespace`: each run of whitespace becomes one space.
    CompressWhitespace,
    /// `url_decode`: `%XX` decoded and `+` made a space.
    UrlDecode,
    /// `to_md5`: the raw 16-byte MD5 of the buffer.
    ToMd5,
    /// `to_sha1`: the raw 20-byte SHA-1 of the buffer.
    ToSha1,
    /// `to_sha256`: the raw 32-byte SHA-256 of the buffer.
    ToSha256,
    /// `header_lowercase`: the header names of `Name: Value` lines lowercased.
    HeaderLowercase,
    /// `strip_pseudo_headers`: lines starting with `:` (HTTP/2 pseudo headers) removed.
    StripPseudoHeaders,
    /// `xor`: bytes from `offset` on xored with the repeating key; those before kept.
    Xor { key: XorKey, offset: u32 },
    /// `pcrexform`: the first capture group of the regex's first match (the buffer is kept
    /// when the regex does not match).
    PcreXform(Arc<pcre2::bytes::Regex>),
    /// `from_base64`: decode `bytes` bytes (0: all) from `offset`.
    FromBase64 {
        bytes: B64Arg,
        offset: B64Arg,
        mode: Base64Mode,
    },
    /// `gunzip`: the gzip-decompressed buffer, at most `max` bytes (empty when it is not
    /// gzip).
    Gunzip { max: u32 },
    /// `zlib_deflate`: the zlib-decompressed buffer, at most `max` bytes.
    ZlibDeflate { max: u32 },
    /// `subslice:OFFSET[, NBYTES][, truncate]`: a part of the buffer. A negative offset counts
    /// from the end, a negative NBYTES ends that many bytes before the end; out of range
    /// gives an empty buffer unless `truncate` clamps it.
    Subslice {
        offset: i64,
        nbytes: Option<i64>,
        truncate: bool,
    },
}

/// Transform keywords Verdict knows but does not implement (reported as unsupported).
pub(crate) const UNSUPPORTED_TRANSFORMS: &[(&str, &str)] = &[
    (
        "domain",
        "needs the Public Suffix List, which Verdict does not ship",
    ),
    (
        "tld",
        "needs the Public Suffix List, which Verdict does not ship",
    ),
    ("luaxform", "Lua scripting is not supported"),
];

impl Transform {
    /// True if `k` names a transform keyword (supported or not).
    pub(crate) fn is_keyword(k: &str) -> bool {
        matches!(
            k,
            "dotprefix"
                | "to_lowercase"
                | "to_uppercase"
                | "strip_whitespace"
                | "compress_whitespace"
                | "url_decode"
                | "to_md5"
                | "to_sha1"
                | "to_sha256"
                | "header_lowercase"
                | "strip_pseudo_headers"
                | "xor"
                | "pcrexform"
                | "from_base64"
                | "gunzip"
                | "zlib_deflate"
                | "subslice"
        ) || UNSUPPORTED_TRANSFORMS.iter().any(|(n, _)| *n == k)
    }

    /// Parses transform keyword `k` with its value. `Err` says what is wrong with the value.
    #[cfg(test)]
    pub(crate) fn parse(k: &str, value: Option<&str>) -> Result<Transform, String> {
        Self::parse_with_vars(k, value, &|_| None)
    }

    /// [`Transform::parse`], with `var` giving the index and read width of a `byte_extract`
    /// variable by name (for `xor:var NAME`).
    pub(crate) fn parse_with_vars(
        k: &str,
        value: Option<&str>,
        var: &dyn Fn(&str) -> Option<(usize, u8)>,
    ) -> Result<Transform, String> {
        let v = value.map(str::trim).unwrap_or("");
        let no_value = |t: Transform| {
            if v.is_empty() {
                Ok(t)
            } else {
                Err(format!("`{k}` takes no value"))
            }
        };
        match k {
            "dotprefix" => no_value(Transform::DotPrefix),
            "to_lowercase" => no_value(Transform::ToLower),
            "to_uppercase" => no_value(Transform::ToUpper),
            "strip_whitespace" => no_value(Transform::StripWhitespace),
            "compress_whitespace" => no_value(Transform::CompressWhitespace),
            "url_decode" => no_value(Transform::UrlDecode),
            "to_md5" => no_value(Transform::ToMd5),
            "to_sha1" => no_value(Transform::ToSha1),
            "to_sha256" => no_value(Transform::ToSha256),
            "header_lowercase" => no_value(Transform::HeaderLowercase),
            "strip_pseudo_headers" => no_value(Transform::StripPseudoHeaders),
            "xor" => parse_xor(v, var),
            "pcrexform" => parse_pcrexform(v),
            "from_base64" => parse_from_base64(v, var),
            "gunzip" => parse_max_size(k, v).map(|max| Transform::Gunzip { max }),
            "zlib_deflate" => parse_max_size(k, v).map(|max| Transform::ZlibDeflate { max }),
            "subslice" => parse_subslice(v),
            _ => Err(format!("`{k}` is not a transform")),
        }
    }

    /// True when the output is the input with a `.` prepended or the input itself: the
    /// buffer's contents may then serve as fast patterns (minus a leading `.`).
    pub(crate) fn keeps_bytes(&self) -> bool {
        matches!(self, Transform::DotPrefix)
    }

    /// Writes the transformed `input` to `out` (cleared first). `vars` holds the rule's
    /// `byte_extract` values. `false`: the transform failed and the buffer is an error (it
    /// matches nothing).
    pub(crate) fn apply(&self, input: &[u8], vars: &[i64], out: &mut Vec<u8>) -> bool {
        out.clear();
        match self {
            Transform::DotPrefix => {
                out.push(b'.');
                out.extend_from_slice(input);
            }
            Transform::ToLower => out.extend(input.iter().map(u8::to_ascii_lowercase)),
            Transform::ToUpper => out.extend(input.iter().map(u8::to_ascii_uppercase)),
            Transform::StripWhitespace => out.extend(input.iter().filter(|b| !is_space(**b))),
            Transform::CompressWhitespace => {
                let mut in_space = false;
                for &b in input {
                    if is_space(b) {
                        if !in_space {
                            out.push(b' ');
                        }
                        in_space = true;
                    } else {
                        out.push(b);
                        in_space = false;
                    }
                }
            }
            Transform::UrlDecode => url_decode(input, out),
            Transform::ToMd5 => {
                use md5::Digest;
                out.extend_from_slice(&md5::Md5::digest(input));
            }
            Transform::ToSha1 => {
                use sha1::Digest;
                out.extend_from_slice(&sha1::Sha1::digest(input));
            }
            Transform::ToSha256 => {
                use sha2::Digest;
                out.extend_from_slice(&sha2::Sha256::digest(input));
            }
            Transform::HeaderLowercase => {
                // Suricata's state machine: lowercase up to the first `:` of each line, then
                // copy up to the next new line.
                for line in input.split_inclusive(|&b| b == b'\n') {
                    let end = line.iter().position(|&b| b == b':').unwrap_or(line.len());
                    out.extend(line[..end].iter().map(u8::to_ascii_lowercase));
                    out.extend_from_slice(&line[end..]);
                }
            }
            Transform::StripPseudoHeaders => {
                for line in input.split_inclusive(|&b| b == b'\n') {
                    if line.first() != Some(&b':') {
                        out.extend_from_slice(line);
                    }
                }
            }
            Transform::Xor { key, offset } => {
                let start = *offset as usize;
                let var_key;
                let key: &[u8] = match key {
                    XorKey::Var { var, width } => {
                        let Some(v) = vars.get(*var) else {
                            out.extend_from_slice(input);
                            return true;
                        };
                        var_key = v.to_be_bytes();
                        &var_key[8 - usize::from((*width).clamp(1, 8))..]
                    }
                    XorKey::Static(k) => k,
                    XorKey::InBuffer { nbytes, offset } => {
                        let from = usize::from(*offset);
                        match input.get(from..from + usize::from(*nbytes)) {
                            Some(k) if !k.is_empty() => k,
                            // The key is not in the buffer: it stays as it is.
                            _ => {
                                out.extend_from_slice(input);
                                return true;
                            }
                        }
                    }
                };
                if start > input.len() || key.is_empty() {
                    out.extend_from_slice(input);
                    return true;
                }
                // The key is read from `input` while `out` is written: an in-buffer key is
                // never altered by the decoding it drives.
                out.extend_from_slice(&input[..start]);
                out.extend(
                    input[start..]
                        .iter()
                        .zip(key.iter().cycle())
                        .map(|(b, k)| b ^ k),
                );
            }
            Transform::PcreXform(re) => match re.captures(input) {
                Ok(Some(c)) => match c.get(1) {
                    Some(m) => out.extend_from_slice(m.as_bytes()),
                    None => out.extend_from_slice(input),
                },
                _ => out.extend_from_slice(input),
            },
            Transform::FromBase64 {
                bytes,
                offset,
                mode,
            } => {
                let off = offset.get(vars);
                if off > 0 && off >= input.len() {
                    out.extend_from_slice(input);
                    return true;
                }
                let rest = &input[off..];
                let data = match bytes.get(vars) {
                    0 => rest,
                    n => &rest[..n.min(rest.len())],
                };
                if !base64_decode(data, *mode, usize::MAX, out) || out.is_empty() {
                    out.clear();
                    return false;
                }
            }
            Transform::Gunzip { max } => {
                decompress(flate2::read::GzDecoder::new(input), *max as usize, out)
            }
            Transform::ZlibDeflate { max } => {
                decompress(flate2::read::ZlibDecoder::new(input), *max as usize, out)
            }
            Transform::Subslice {
                offset,
                nbytes,
                truncate,
            } => {
                if input.is_empty() {
                    return true;
                }
                if let Some((a, b)) =
                    subslice_range(input.len() as i64, *offset, *nbytes, *truncate)
                {
                    out.extend_from_slice(&input[a..b]);
                }
            }
        }
        true
    }
}

/// C `isspace()`: space, `\t`, `\n`, `\v`, `\f`, `\r`.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn url_decode(input: &[u8], out: &mut Vec<u8>) {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        match b {
            b'%' => {
                let h = input.get(i + 1).copied().and_then(hex);
                let l = input.get(i + 2).copied().and_then(hex);
                if let (Some(h), Some(l)) = (h, l) {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                out.push(b);
            }
            b'+' => out.push(b' '),
            _ => out.push(b),
        }
        i += 1;
    }
}

/// Reads up to `max` decompressed bytes into `out`. A stream that is not valid from its
/// first byte gives an empty buffer; one that breaks later keeps what was decoded before.
fn decompress(mut r: impl Read, max: usize, out: &mut Vec<u8>) {
    let mut chunk = [0u8; 4096];
    while out.len() < max {
        let want = (max - out.len()).min(chunk.len());
        match r.read(&mut chunk[..want]) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
        }
    }
}

fn b64_value(c: u8) -> Option<u8> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    })
}

/// Decodes base64 `input` into `out` (appending at most `max` bytes), by `mode`. A final
/// partial group of 2 or 3 characters gives its 1 or 2 bytes, as if padded. `false` when
/// `Strict` decoding meets a byte outside the alphabet.
pub(crate) fn base64_decode(input: &[u8], mode: Base64Mode, max: usize, out: &mut Vec<u8>) -> bool {
    let limit = out.len().saturating_add(max);
    let mut group = [0u8; 4];
    let mut n = 0;
    // Emits a group of `n` sextets (`pad`: the number of `=` in it).
    fn emit(group: &[u8; 4], n: usize, out: &mut Vec<u8>, limit: usize) {
        let b = [
            group[0] << 2 | group[1] >> 4,
            group[1] << 4 | group[2] >> 2,
            group[2] << 6 | group[3],
        ];
        let take = match n {
            2 => 1,
            3 => 2,
            4 => 3,
            _ => 0,
        };
        for &x in &b[..take] {
            if out.len() < limit {
                out.push(x);
            }
        }
    }
    let mut padded = false;
    for &c in input {
        if out.len() >= limit {
            break;
        }
        if c == b'=' {
            // Padding closes the current group (`xx==`, `xxx=`).
            if n >= 2 {
                emit(&group, n, out, limit);
                n = 0;
                group = [0; 4];
                padded = true;
                continue;
            }
            if n == 0 && padded {
                // More padding after a closed group: skip it.
                continue;
            }
            match mode {
                Base64Mode::Strict => return false,
                Base64Mode::Rfc2045 => continue,
                Base64Mode::Rfc4648 => break,
            }
        }
        let Some(v) = b64_value(c) else {
            match mode {
                Base64Mode::Strict => return false,
                Base64Mode::Rfc2045 => continue,
                Base64Mode::Rfc4648 => break,
            }
        };
        padded = false;
        group[n] = v;
        n += 1;
        if n == 4 {
            emit(&group, 4, out, limit);
            n = 0;
            group = [0; 4];
        }
    }
    if n > 0 {
        if mode == Base64Mode::Strict && n == 1 {
            return false;
        }
        emit(&group, n, out, limit);
    }
    true
}

/// Applies `ts` in order to `input`; the result is in `a` (with `b` as scratch). Returns
/// `input` itself when there is no transform, `None` when a transform failed.
pub(crate) fn apply_transforms<'s>(
    ts: &[Transform],
    input: &'s [u8],
    vars: &[i64],
    a: &'s mut Vec<u8>,
    b: &mut Vec<u8>,
) -> Option<&'s [u8]> {
    let Some((first, rest)) = ts.split_first() else {
        return Some(input);
    };
    if !first.apply(input, vars, a) {
        return None;
    }
    for t in rest {
        if !t.apply(a, vars, b) {
            return None;
        }
        std::mem::swap(a, b);
    }
    Some(a)
}

/// `xor:"0d0ac8ff"`, `xor:offset 4,0d0ac8ff`, `xor:extract 1 0`, `xor:offset 1,var 1 0`,
/// `xor:var NAME [WIDTH]` (a byte_extract variable).
fn parse_xor(v: &str, var: &dyn Fn(&str) -> Option<(usize, u8)>) -> Result<Transform, String> {
    const EXPECTED: &str = "expected a hex key (`xor:\"0d0ac8ff\"`), `extract N OFFSET` (key bytes read from the buffer) or `var NAME [WIDTH]` (a byte_extract variable), optionally after `offset N,`";
    let v = v.trim();
    if v.is_empty() {
        return Err(format!("missing key: {EXPECTED}"));
    }
    let (offset, key_part) = match keyword_rest(v, "offset") {
        Some(rest) => {
            let (o, k) = rest.split_once(',').ok_or_else(|| {
                format!("`offset N` must be followed by `,` and the key: {EXPECTED}")
            })?;
            let o: u32 = o
                .trim()
                .parse()
                .map_err(|_| format!("bad xor offset `{}`: expected 0..4294967295", o.trim()))?;
            (o, k.trim())
        }
        None => (0, v),
    };
    let in_buffer = keyword_rest(key_part, "extract").or_else(|| keyword_rest(key_part, "var"));
    let by_name = keyword_rest(key_part, "var").filter(|r| {
        !r.split_whitespace()
            .next()
            .is_some_and(|t| t.bytes().all(|b| b.is_ascii_digit()))
    });
    let key = match (by_name, in_buffer) {
        (Some(spec), _) => {
            let mut it = spec.split_whitespace();
            let name = it.next().unwrap_or("").trim_matches('"');
            let (index, natural) = var(name).ok_or_else(|| {
                format!("`{name}` is not a byte_extract variable defined before this xor")
            })?;
            let width = match (it.next(), it.next()) {
                (None, _) => natural,
                (Some(w), None) => w
                    .parse::<u8>()
                    .ok()
                    .filter(|w| (1..=8).contains(w))
                    .ok_or_else(|| format!("bad key width `{w}`: expected 1..8"))?,
                _ => return Err(format!("expected `var NAME [WIDTH]`: {EXPECTED}")),
            };
            XorKey::Var { var: index, width }
        }
        (None, Some(spec)) => {
            let mut it = spec.split_whitespace();
            let (Some(n), Some(o), None) = (it.next(), it.next(), it.next()) else {
                return Err(format!("expected `extract NBYTES OFFSET`: {EXPECTED}"));
            };
            let nbytes: u8 = n
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("bad key length `{n}`: expected 1..255"))?;
            let offset: u16 = o
                .parse()
                .map_err(|_| format!("bad key offset `{o}`: expected 0..65535"))?;
            XorKey::InBuffer { nbytes, offset }
        }
        (None, None) => {
            let hex = crate::parse::unquote(key_part).trim();
            if hex.is_empty() || hex.len() % 2 != 0 {
                return Err(format!(
                    "the xor key must be an even number of hex digits, got `{hex}`"
                ));
            }
            let key = (0..hex.len())
                .step_by(2)
                .map(|i| {
                    hex.get(i..i + 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                })
                .collect::<Option<Vec<u8>>>()
                .ok_or_else(|| format!("the xor key `{hex}` is not hexadecimal"))?;
            if key.len() > 255 {
                return Err("the xor key is longer than 255 bytes".into());
            }
            XorKey::Static(key)
        }
    };
    Ok(Transform::Xor { key, offset })
}

/// `s` without a leading `word` followed by whitespace, trimmed.
fn keyword_rest<'a>(s: &'a str, word: &str) -> Option<&'a str> {
    let r = s.strip_prefix(word)?;
    r.starts_with(|c: char| c.is_ascii_whitespace())
        .then(|| r.trim())
}

fn parse_pcrexform(v: &str) -> Result<Transform, String> {
    let inner = v
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .ok_or("pcrexform needs a quoted regular expression: pcrexform:\"(...)\"")?;
    if inner.is_empty() {
        return Err("pcrexform needs a regular expression".into());
    }
    let mut b = pcre2::bytes::RegexBuilder::new();
    b.jit_if_available(true);
    // The same limits as `pcre` (Suricata's defaults): a hostile buffer costs bounded time.
    let full = format!("(*LIMIT_MATCH=3500)(*LIMIT_DEPTH=1500){inner}");
    let re = b
        .build(&full)
        .map_err(|e| format!("the regex does not compile: {e}"))?;
    if re.captures_len() < 2 {
        return Err(
            "the pcrexform regex needs a capture group: its first one is the output".into(),
        );
    }
    Ok(Transform::PcreXform(Arc::new(re)))
}

/// `from_base64[: bytes N][, offset N][, mode rfc4648|rfc2045|strict]`.
fn parse_from_base64(
    v: &str,
    var: &dyn Fn(&str) -> Option<(usize, u8)>,
) -> Result<Transform, String> {
    let (mut bytes, mut offset, mut mode) = (None, None, None);
    if !v.is_empty() {
        for part in v.split(',') {
            let part = part.trim();
            let (name, val) = part
                .split_once(char::is_whitespace)
                .map(|(n, v)| (n, v.trim()))
                .ok_or_else(|| format!("`{part}`: expected bytes N, offset N or mode M"))?;
            let num = |what: &str| -> Result<B64Arg, String> {
                if let Ok(n) = val.parse::<u16>() {
                    return Ok(B64Arg::Const(u32::from(n)));
                }
                match var(val) {
                    Some((i, _)) if !val.starts_with(|c: char| c.is_ascii_digit() || c == '-') => {
                        Ok(B64Arg::Var(i))
                    }
                    _ => Err(format!(
                        "bad {what} `{val}`: expected an integer 0..65535 or a byte_extract variable"
                    )),
                }
            };
            let dup = |set: bool| {
                if set {
                    Err(format!("`{name}` given twice"))
                } else {
                    Ok(())
                }
            };
            match name {
                "bytes" => {
                    dup(bytes.is_some())?;
                    bytes = Some(num("bytes")?);
                }
                "offset" => {
                    dup(offset.is_some())?;
                    offset = Some(num("offset")?);
                }
                "mode" => {
                    dup(mode.is_some())?;
                    mode = Some(match val {
                        "rfc4648" => Base64Mode::Rfc4648,
                        "rfc2045" => Base64Mode::Rfc2045,
                        "strict" => Base64Mode::Strict,
                        _ => {
                            return Err(format!(
                                "unknown mode `{val}`: expected rfc4648, rfc2045 or strict"
                            ))
                        }
                    });
                }
                _ => {
                    return Err(format!(
                        "unknown option `{name}`: expected bytes, offset, mode"
                    ))
                }
            }
        }
    }
    Ok(Transform::FromBase64 {
        bytes: bytes.unwrap_or(B64Arg::Const(0)),
        offset: offset.unwrap_or(B64Arg::Const(0)),
        mode: mode.unwrap_or(Base64Mode::Rfc4648),
    })
}

/// The `[start, end)` range `subslice` keeps of a `len`-byte buffer, None for an empty
/// result.
fn subslice_range(
    len: i64,
    offset: i64,
    nbytes: Option<i64>,
    truncate: bool,
) -> Option<(usize, usize)> {
    if offset.abs() > len && !truncate {
        return None;
    }
    let start = if offset >= 0 {
        offset.min(len)
    } else {
        len + offset.max(-len)
    };
    let end = match nbytes {
        None => len,
        Some(n) if n < 0 => match len + n {
            e if e < 0 && !truncate => return None,
            e => e.max(0),
        },
        Some(n) => match start + n {
            e if e > len && !truncate => return None,
            e => e.min(len),
        },
    };
    let (a, b) = if end < start {
        (end, start)
    } else {
        (start, end)
    };
    Some((a as usize, b as usize))
}

/// `subslice:OFFSET`, `OFFSET, NBYTES`, `OFFSET, truncate`, `OFFSET, NBYTES, truncate`.
fn parse_subslice(v: &str) -> Result<Transform, String> {
    const EXPECTED: &str =
        "expected OFFSET, `OFFSET, NBYTES`, `OFFSET, truncate` or `OFFSET, NBYTES, truncate`";
    let parts: Vec<&str> = v.split(',').map(str::trim).collect();
    let num = |s: &str| -> Result<i64, String> {
        s.parse::<i32>()
            .map(i64::from)
            .map_err(|_| format!("bad number `{s}`: {EXPECTED}"))
    };
    let nonzero = |n: i64| {
        if n == 0 {
            Err("NBYTES 0 would always give an empty buffer".to_string())
        } else {
            Ok(n)
        }
    };
    let is_trunc = |s: &str| s.eq_ignore_ascii_case("truncate");
    let (offset, nbytes, truncate) = match parts.as_slice() {
        [o] if !o.is_empty() => (num(o)?, None, false),
        [o, t] if is_trunc(t) => (num(o)?, None, true),
        [o, n] => (num(o)?, Some(nonzero(num(n)?)?), false),
        [o, n, t] if is_trunc(t) => (num(o)?, Some(nonzero(num(n)?)?), true),
        _ => return Err(EXPECTED.into()),
    };
    Ok(Transform::Subslice {
        offset,
        nbytes,
        truncate,
    })
}

/// `gunzip[: max-size N]` (also `max-size=N`); N may carry a unit (`KiB`, `MiB`, `kb`, `mb`).
fn parse_max_size(k: &str, v: &str) -> Result<u32, String> {
    if v.is_empty() {
        return Ok(DECOMPRESS_DEFAULT_MAX);
    }
    let rest = v
        .strip_prefix("max-size")
        .map(|r| r.trim_start().trim_start_matches('=').trim())
        .ok_or_else(|| format!("unknown `{k}` option `{v}`: expected max-size N"))?;
    let split = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (num, unit) = rest.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("bad max-size `{rest}`: expected an integer with an optional unit"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "kib" => 1024,
        "mb" => 1_000_000,
        "mib" => 1024 * 1024,
        other => {
            return Err(format!(
                "unknown unit `{other}` (expected KiB, MiB, kb or mb)"
            ))
        }
    };
    let total = n.saturating_mul(mult);
    if total == 0 {
        return Err("max-size 0 would always give an empty buffer".into());
    }
    if total > u64::from(DECOMPRESS_LIMIT) {
        return Err(format!(
            "max-size is at most {DECOMPRESS_LIMIT} bytes (16 MiB)"
        ));
    }
    Ok(total as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(t: &Transform, input: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        t.apply(input, &[], &mut out).then_some(out)
    }

    fn t(k: &str, v: Option<&str>) -> Transform {
        Transform::parse(k, v).unwrap()
    }

    #[test]
    fn xor_static_key() {
        let x = t("xor", Some("\"0d0ac8ff\""));
        let plain = b"password=secret";
        let enc: Vec<u8> = plain
            .iter()
            .zip([0x0d, 0x0a, 0xc8, 0xff].iter().cycle())
            .map(|(a, b)| a ^ b)
            .collect();
        assert_eq!(run(&x, &enc).unwrap(), plain);
        // Suricata's own example (key `0a0DC8ff`: hex is case-insensitive).
        let x = t("xor", Some("\"0a0DC8ff\""));
        assert_eq!(
            run(&x, b"example.com").unwrap(),
            b"ou\xa9\x92za\xad\xd1ib\xa5"
        );
        assert_eq!(run(&x, b"").unwrap(), b"");
    }

    #[test]
    fn xor_offset_and_buffer_key() {
        let x = t("xor", Some("offset 1,extract 1 0"));
        let mut body = vec![0x42];
        body.extend(b"hello".iter().map(|b| b ^ 0x42));
        let out = run(&x, &body).unwrap();
        assert_eq!(out[0], 0x42);
        assert_eq!(&out[1..], b"hello");
        // `var` is the other spelling.
        assert!(matches!(
            t("xor", Some("var 2 3")),
            Transform::Xor {
                key: XorKey::InBuffer {
                    nbytes: 2,
                    offset: 3
                },
                offset: 0
            }
        ));
        // The key inside the decoded region is read before it is decoded.
        let x = t("xor", Some("extract 1 0"));
        let mut body = vec![0x21];
        body.extend(b"nfected".iter().map(|b| b ^ 0x21));
        let out = run(&x, &body).unwrap();
        assert_eq!(&out[1..], b"nfected");
        assert_eq!(out[0], 0);
        // Key out of the buffer, offset past the end: the buffer is kept.
        assert_eq!(
            run(&t("xor", Some("extract 4 10")), b"abc").unwrap(),
            b"abc"
        );
        assert_eq!(
            run(&t("xor", Some("offset 9,\"01\"")), b"abc").unwrap(),
            b"abc"
        );
        // Offset at the end: nothing to xor.
        assert_eq!(
            run(&t("xor", Some("offset 3,\"01\"")), b"abc").unwrap(),
            b"abc"
        );
    }

    #[test]
    fn xor_byte_extract_key() {
        let lookup = |n: &str| (n == "xkey").then_some((1usize, 2u8));
        let x = Transform::parse_with_vars("xor", Some("offset 4,var xkey"), &lookup).unwrap();
        let mut body = b"HDR:".to_vec();
        body.extend(
            b"login"
                .iter()
                .zip([0x41u8, 0x42].iter().cycle())
                .map(|(a, b)| a ^ b),
        );
        let mut out = Vec::new();
        assert!(x.apply(&body, &[0, 0x4142], &mut out));
        assert_eq!(out, b"HDR:login");
        // An explicit width takes the low bytes.
        let x1 = Transform::parse_with_vars("xor", Some("var xkey 1"), &lookup).unwrap();
        assert!(x1.apply(&[0x43 ^ b'a'], &[0, 0x1243], &mut out));
        assert_eq!(out, b"a");
        // No such variable at run time: the buffer stays.
        assert!(x1.apply(b"abc", &[], &mut out));
        assert_eq!(out, b"abc");
        for v in ["var nokey", "var xkey 9", "var xkey 0", "var xkey 1 2"] {
            assert!(
                Transform::parse_with_vars("xor", Some(v), &lookup).is_err(),
                "{v}"
            );
        }
    }

    #[test]
    fn from_base64_variables() {
        let lookup = |n: &str| match n {
            "off" => Some((0usize, 1u8)),
            "len" => Some((1usize, 1u8)),
            _ => None,
        };
        let d = Transform::parse_with_vars("from_base64", Some("offset off, bytes len"), &lookup)
            .unwrap();
        let mut out = Vec::new();
        assert!(d.apply(b"xx dGhpc2lz", &[3, 4], &mut out));
        assert_eq!(out, b"thi");
        // A negative variable: offset past the end, the buffer is kept.
        assert!(d.apply(b"xx dGhpc2lz", &[-1, 4], &mut out));
        assert_eq!(out, b"xx dGhpc2lz");
        assert!(Transform::parse_with_vars("from_base64", Some("offset nope"), &lookup).is_err());
    }

    #[test]
    fn xor_bad_values() {
        for v in [
            "",
            "\"0d0\"",
            "\"zz\"",
            "offset 1",
            "offset x,\"00\"",
            "offset 1,",
            "extract 0 0",
            "extract 1",
            "extract 256 0",
            "extract 1 65536",
            "extract 1 0 9",
        ] {
            assert!(Transform::parse("xor", Some(v)).is_err(), "{v}");
        }
        let long = format!("\"{}\"", "00".repeat(256));
        assert!(Transform::parse("xor", Some(&long)).is_err());
    }

    #[test]
    fn pcrexform_first_group() {
        let p = t("pcrexform", Some(r#""[a-zA-Z]+\s+(.*)\s+HTTP""#));
        assert_eq!(
            run(&p, b"GET /z4d4kWk.jpg HTTP/1.1").unwrap(),
            b"/z4d4kWk.jpg"
        );
        // No match: the buffer stays.
        assert_eq!(run(&p, b"nothing").unwrap(), b"nothing");
        // An optional group that did not take part: the buffer stays.
        let p = t("pcrexform", Some(r#""a(b)?""#));
        assert_eq!(run(&p, b"xa").unwrap(), b"xa");
        assert!(Transform::parse("pcrexform", Some("\"abc\"")).is_err());
        assert!(Transform::parse("pcrexform", Some("\"(\"")).is_err());
        assert!(Transform::parse("pcrexform", Some("abc")).is_err());
        assert!(Transform::parse("pcrexform", None).is_err());
        // Catastrophic backtracking is cut by the match limit, not the CPU.
        let p = t("pcrexform", Some(r#""((a+)+)$""#));
        let hostile = [b'a'; 4000]
            .iter()
            .chain(b"!")
            .copied()
            .collect::<Vec<u8>>();
        assert!(run(&p, &hostile).is_some());
    }

    #[test]
    fn from_base64_modes_and_options() {
        let d = t("from_base64", None);
        assert_eq!(run(&d, b"dGhpc2lzYXRlc3QK").unwrap(), b"thisisatest\n");
        // RFC 4648 stops at the first byte outside the alphabet.
        assert_eq!(run(&d, b"dGhp c2lz").unwrap(), b"thi");
        let r2045 = t("from_base64", Some("mode rfc2045"));
        assert_eq!(run(&r2045, b"dGhp c2lz").unwrap(), b"thisis");
        let strict = t("from_base64", Some("mode strict"));
        assert!(run(&strict, b"dGhp c2lz").is_none());
        assert_eq!(run(&strict, b"dGhpcw==").unwrap(), b"this");
        // Partial final groups.
        assert_eq!(run(&d, b"dGhpcw").unwrap(), b"this");
        assert_eq!(run(&d, b"YWI").unwrap(), b"ab");
        // Offset and bytes.
        let o = t("from_base64", Some("offset 6"));
        assert_eq!(
            run(&o, b"/?arg=dGhpc2lzYXRlc3QK").unwrap(),
            b"thisisatest\n"
        );
        let ob = t("from_base64", Some("bytes 4, offset 6"));
        assert_eq!(run(&ob, b"/?arg=dGhpc2lzYXRlc3QK").unwrap(), b"thi");
        // Offset past the end: kept; bytes past the end: to the end.
        assert_eq!(run(&o, b"short").unwrap(), b"short");
        let big = t("from_base64", Some("bytes 1000"));
        assert_eq!(run(&big, b"dGhp").unwrap(), b"thi");
        // Nothing decodable: an error buffer.
        assert!(run(&d, b"!!!!").is_none());
        for v in [
            "mode x",
            "bytes 70000",
            "offset -1",
            "bytes var",
            "bytes 1, bytes 2",
            "foo 1",
            "bytes",
        ] {
            assert!(Transform::parse("from_base64", Some(v)).is_err(), "{v}");
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gunzip_and_zlib_bounded() {
        let g = t("gunzip", None);
        assert_eq!(run(&g, &gzip(b"hello world")).unwrap(), b"hello world");
        let g8 = t("gunzip", Some("max-size 8"));
        assert_eq!(run(&g8, &gzip(b"This is compressed")).unwrap(), b"This is ");
        // Not gzip: empty; truncated: what was decoded.
        assert_eq!(run(&g, b"plain text").unwrap(), b"");
        let z = t("zlib_deflate", Some("max-size=1KiB"));
        assert_eq!(run(&z, &zlib(b"hello")).unwrap(), b"hello");
        assert_eq!(run(&z, &gzip(b"hello")).unwrap(), b"");
        // A bomb stops at max-size.
        let bomb = zlib(&vec![0u8; 10_000_000]);
        let out = run(&t("zlib_deflate", Some("max-size 1MiB")), &bomb).unwrap();
        assert_eq!(out.len(), 1024 * 1024);
        let cut = gzip(&[b'x'; 5000]);
        let out = run(&t("gunzip", Some("max-size 10000")), &cut[..cut.len() / 2]).unwrap();
        assert!(out.len() <= 5000);
        for v in [
            "max-size 0",
            "max-size 17MiB",
            "max-size x",
            "foo 1",
            "max-size 1 GB",
        ] {
            assert!(Transform::parse("gunzip", Some(v)).is_err(), "{v}");
        }
    }

    #[test]
    fn subslice_ranges() {
        let s = b"this is suricata";
        let cut = |v: &str| run(&t("subslice", Some(v)), s).unwrap();
        assert_eq!(cut("1"), b"his is suricata");
        assert_eq!(cut("0, 9"), b"this is s");
        assert_eq!(cut("1,12"), b"his is suric");
        assert_eq!(cut("-8"), b"suricata");
        assert_eq!(cut("13,-12"), b" is suric");
        assert_eq!(cut("-10, -2"), b"s surica");
        // Out of range: empty, unless truncated.
        assert_eq!(cut("2, 30"), b"");
        assert_eq!(cut("2, 30, truncate"), b"is is suricata");
        assert_eq!(cut("40"), b"");
        assert_eq!(cut("40, TRUNCATE"), b"");
        assert_eq!(cut("-40, truncate"), b"this is suricata");
        assert_eq!(cut("0, -40"), b"");
        assert_eq!(cut("0, -40, truncate"), b"");
        assert_eq!(run(&t("subslice", Some("3")), b"").unwrap(), b"");
        for v in [
            "",
            "f, y",
            "1 1",
            "1,0",
            "1, 2, nottruncate",
            "1, 2, 3, 4",
            "99999999999",
        ] {
            assert!(Transform::parse("subslice", Some(v)).is_err(), "{v}");
        }
    }

    #[test]
    fn hashes_and_headers() {
        assert_eq!(
            run(&t("to_md5", None), b"abc").unwrap(),
            b"\x90\x01\x50\x98\x3c\xd2\x4f\xb0\xd6\x96\x3f\x7d\x28\xe1\x7f\x72"
        );
        assert_eq!(run(&t("to_sha1", None), b"abc").unwrap().len(), 20);
        let sha = run(&t("to_sha256", None), b"abc").unwrap();
        assert_eq!(&sha[..4], b"\xba\x78\x16\xbf");
        assert!(Transform::parse("to_sha256", Some("x")).is_err());
        assert_eq!(
            run(&t("header_lowercase", None), b"Host: A.B\r\nX-Y: Z: W\r\n").unwrap(),
            b"host: A.B\r\nx-y: Z: W\r\n"
        );
        // A line's first `:` ends its name, even a pseudo header's leading one.
        assert_eq!(
            run(&t("header_lowercase", None), b":Method: GET\r\nA\r\n").unwrap(),
            b":Method: GET\r\na\r\n"
        );
        assert_eq!(
            run(
                &t("strip_pseudo_headers", None),
                b":method: GET\r\nhost: a\r\n:path: /\r\n"
            )
            .unwrap(),
            b"host: a\r\n"
        );
    }

    #[test]
    fn chained() {
        let ts = [
            t("from_base64", Some("offset 1")),
            t("gunzip", None),
            t("to_uppercase", None),
        ];
        let mut input = b"=".to_vec();
        let b64 = {
            // Encode gzip(b"abc") in base64 by hand with the decoder's alphabet.
            let data = gzip(b"abc");
            let alpha = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let mut s = Vec::new();
            for c in data.chunks(3) {
                let n = (u32::from(c[0]) << 16)
                    | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                    | u32::from(*c.get(2).unwrap_or(&0));
                for i in 0..=c.len() {
                    s.push(alpha[(n >> (18 - 6 * i) & 63) as usize]);
                }
            }
            s
        };
        input.extend(b64);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        assert_eq!(
            apply_transforms(&ts, &input, &[], &mut a, &mut b).unwrap(),
            b"ABC"
        );
        let (mut a, mut b) = (Vec::new(), Vec::new());
        assert!(apply_transforms(&ts[..1], b"=!!!", &[], &mut a, &mut b).is_none());
    }

    #[test]
    fn hostile_inputs_never_panic() {
        // A fixed pseudo-random stream of buffers and option strings.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let ts: Vec<Transform> = [
            ("xor", Some("\"ff00\"")),
            ("xor", Some("offset 3,extract 2 1")),
            ("xor", Some("extract 255 65535")),
            ("pcrexform", Some("\"(a|b)*c\"")),
            ("from_base64", Some("bytes 7, offset 2, mode rfc2045")),
            ("from_base64", Some("mode strict")),
            ("gunzip", None),
            ("zlib_deflate", Some("max-size 64")),
            ("header_lowercase", None),
            ("strip_pseudo_headers", None),
            ("url_decode", None),
            ("to_sha256", None),
            ("subslice", Some("-3, -70, truncate")),
        ]
        .iter()
        .map(|(k, v)| t(k, *v))
        .collect();
        let alphabet = b"AZaz09+/=%:\r\n \x1f\x8b\x78\x9c\x00\xff";
        for _ in 0..2000 {
            let len = (next() % 96) as usize;
            let buf: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 3 == 0 {
                        r as u8
                    } else {
                        alphabet[(r % alphabet.len() as u64) as usize]
                    }
                })
                .collect();
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let _ = apply_transforms(&ts, &buf, &[-1, i64::MAX], &mut a, &mut b);
            for tr in &ts {
                let _ = run(tr, &buf);
            }
            // Option strings made of the same bytes must parse or be refused, never panic.
            let text = String::from_utf8_lossy(&buf);
            for k in ["xor", "from_base64", "gunzip", "zlib_deflate", "pcrexform"] {
                let _ = Transform::parse(k, Some(&text));
            }
        }
    }
}
