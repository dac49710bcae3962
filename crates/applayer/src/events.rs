//! App-layer anomaly events: what Suricata's `app-layer-event:<proto>.<event>` keyword
//! matches, for the protocols this crate parses (HTTP/1, DNS, TLS).
//!
//! Suricata's parsers (libhtp for HTTP, its Rust DNS parser) attach events to a transaction
//! when a message breaks the protocol in a way worth flagging: a header line without a colon,
//! two different `Content-Length` values, a DNS opcode out of range, ... Here the events of
//! one message are computed from its bytes by a pure function ([`message_events`]), so the
//! rules crate asks for them only when a rule uses the keyword, and a message cut over
//! segments is judged whole (the flow framer hands it over whole).
//!
//! Only the events listed in [`AppEvent`] are raised; [`AppEvent::from_name`] returns None
//! for every other Suricata event name, so a rule using one is reported unsupported instead of
//! silently never matching.
//!
//! No-panic: every read is bounds-checked, whatever the bytes.

use memchr::memchr;

use crate::http::fields::{contains_nocase_nozero, eq_nocase_nozero};
use crate::{dns, http, AppProto, Transport};

/// One app-layer event this crate raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum AppEvent {
    /// `http.request_field_missing_colon`: a request header line without a colon.
    HttpRequestFieldMissingColon,
    /// `http.response_field_missing_colon`: a response header line without a colon.
    HttpResponseFieldMissingColon,
    /// `http.invalid_content_length_field_in_request`: a `Content-Length` without digits.
    HttpInvalidContentLengthRequest,
    /// `http.invalid_content_length_field_in_response`.
    HttpInvalidContentLengthResponse,
    /// `http.duplicate_content_length_field_in_request`: `Content-Length` repeated with
    /// another value (libhtp's "Ambiguous request C-L value").
    HttpDuplicateContentLengthRequest,
    /// `http.duplicate_content_length_field_in_response`.
    HttpDuplicateContentLengthResponse,
    /// `http.invalid_transfer_encoding_value_in_request`: a `Transfer-Encoding` that is not
    /// `chunked`.
    HttpInvalidTransferEncodingRequest,
    /// `http.missing_host_header`: an HTTP/1.1 request without `Host`.
    HttpMissingHostHeader,
    /// `http.host_header_ambiguous`: the host of an absolute URI and the `Host` header
    /// differ.
    HttpHostHeaderAmbiguous,
    /// `http.request_auth_unrecognized`: an `Authorization` scheme other than Basic,
    /// Digest or Bearer.
    HttpRequestAuthUnrecognized,
    /// `http.request_body_unexpected`: body bytes after a request whose headers announce
    /// none (no `Content-Length`, no `Transfer-Encoding`).
    HttpRequestBodyUnexpected,
    /// `http.method_delim_non_compliant`: the method is followed by something other than
    /// a space (a tab, ...).
    HttpMethodDelimNonCompliant,
    /// `http.uri_delim_non_compliant`: the URI is followed by something other than a space.
    HttpUriDelimNonCompliant,
    /// `http.response_chunked_old_proto`: a chunked response in HTTP/1.0 or 0.9.
    HttpResponseChunkedOldProto,
    /// `http.response_invalid_status`: a status that is not a number in 100..=999.
    HttpResponseInvalidStatus,
    /// `http.invalid_request_chunk_len`: a chunked request body whose chunk-size line is not
    /// one (the body is then read as sent, as libhtp does).
    HttpInvalidRequestChunkLen,
    /// `http.invalid_response_chunk_len`.
    HttpInvalidResponseChunkLen,
    /// `http.response_abnormal_transfer_encoding`: a response `Transfer-Encoding` that
    /// contains `chunked` but is not just `chunked`.
    HttpResponseAbnormalTransferEncoding,
    /// `dns.malformed_data`: a DNS message whose header or question section does not parse.
    DnsMalformedData,
    /// `dns.not_request` (also `not_a_request`): a response sent to the server.
    DnsNotRequest,
    /// `dns.not_response` (also `not_a_response`): a query sent to the client.
    DnsNotResponse,
    /// `dns.z_flag_set`: the reserved Z bit is set.
    DnsZFlagSet,
    /// `dns.invalid_opcode`: opcode 7 or more.
    DnsInvalidOpcode,
    /// `dns.name_too_long`: a question name longer than 1025 bytes.
    DnsNameTooLong,
    /// `dns.infinite_loop`: a question name whose compression pointers loop.
    DnsInfiniteLoop,
    /// `http.request_line_missing_protocol`: a request line without a protocol (HTTP/0.9).
    HttpRequestLineMissingProtocol,
    /// `tls.multiple_sni_extensions`: a ClientHello with more than one server_name extension.
    TlsMultipleSniExtensions,
    /// `tls.invalid_sni_type`: a server name of another type than host_name.
    TlsInvalidSniType,
    /// `tls.invalid_sni_length`: a server name longer than its extension.
    TlsInvalidSniLength,
    /// `tls.heartbeat_message`: a heartbeat record.
    TlsHeartbeatMessage,
    /// `tls.invalid_record_type`: a record of an unknown content type (raised by the flow
    /// framing, which stops parsing the direction there).
    TlsInvalidRecordType,
    /// `applayer_mismatch_protocol_both_directions` (protocol detection, no protocol
    /// prefix): the two directions of a flow start with different protocols (a client
    /// speaking HTTP to an SSH server). Raised by the flow framing, which stops parsing the
    /// second direction.
    AppLayerMismatchProtocolBothDirections,
    /// `applayer_detect_protocol_only_one_direction`: the second direction of a flow starts
    /// with no known protocol (an HTTP/0.9 response, ...).
    AppLayerDetectProtocolOnlyOneDirection,
}

/// Every event with its protocol and Suricata name.
const TABLE: &[(AppEvent, Option<AppProto>, &str)] = &[
    (
        AppEvent::HttpRequestFieldMissingColon,
        Some(AppProto::Http),
        "request_field_missing_colon",
    ),
    (
        AppEvent::HttpResponseFieldMissingColon,
        Some(AppProto::Http),
        "response_field_missing_colon",
    ),
    (
        AppEvent::HttpInvalidContentLengthRequest,
        Some(AppProto::Http),
        "invalid_content_length_field_in_request",
    ),
    (
        AppEvent::HttpInvalidContentLengthResponse,
        Some(AppProto::Http),
        "invalid_content_length_field_in_response",
    ),
    (
        AppEvent::HttpDuplicateContentLengthRequest,
        Some(AppProto::Http),
        "duplicate_content_length_field_in_request",
    ),
    (
        AppEvent::HttpDuplicateContentLengthResponse,
        Some(AppProto::Http),
        "duplicate_content_length_field_in_response",
    ),
    (
        AppEvent::HttpInvalidTransferEncodingRequest,
        Some(AppProto::Http),
        "invalid_transfer_encoding_value_in_request",
    ),
    (
        AppEvent::HttpMissingHostHeader,
        Some(AppProto::Http),
        "missing_host_header",
    ),
    (
        AppEvent::HttpHostHeaderAmbiguous,
        Some(AppProto::Http),
        "host_header_ambiguous",
    ),
    (
        AppEvent::HttpRequestAuthUnrecognized,
        Some(AppProto::Http),
        "request_auth_unrecognized",
    ),
    (
        AppEvent::HttpRequestBodyUnexpected,
        Some(AppProto::Http),
        "request_body_unexpected",
    ),
    (
        AppEvent::HttpMethodDelimNonCompliant,
        Some(AppProto::Http),
        "method_delim_non_compliant",
    ),
    (
        AppEvent::HttpUriDelimNonCompliant,
        Some(AppProto::Http),
        "uri_delim_non_compliant",
    ),
    (
        AppEvent::HttpResponseChunkedOldProto,
        Some(AppProto::Http),
        "response_chunked_old_proto",
    ),
    (
        AppEvent::HttpResponseInvalidStatus,
        Some(AppProto::Http),
        "response_invalid_status",
    ),
    (
        AppEvent::HttpInvalidRequestChunkLen,
        Some(AppProto::Http),
        "invalid_request_chunk_len",
    ),
    (
        AppEvent::HttpInvalidResponseChunkLen,
        Some(AppProto::Http),
        "invalid_response_chunk_len",
    ),
    (
        AppEvent::HttpResponseAbnormalTransferEncoding,
        Some(AppProto::Http),
        "response_abnormal_transfer_encoding",
    ),
    (
        AppEvent::DnsMalformedData,
        Some(AppProto::Dns),
        "malformed_data",
    ),
    (AppEvent::DnsNotRequest, Some(AppProto::Dns), "not_request"),
    (
        AppEvent::DnsNotResponse,
        Some(AppProto::Dns),
        "not_response",
    ),
    (AppEvent::DnsZFlagSet, Some(AppProto::Dns), "z_flag_set"),
    (
        AppEvent::DnsInvalidOpcode,
        Some(AppProto::Dns),
        "invalid_opcode",
    ),
    (
        AppEvent::DnsNameTooLong,
        Some(AppProto::Dns),
        "name_too_long",
    ),
    (
        AppEvent::DnsInfiniteLoop,
        Some(AppProto::Dns),
        "infinite_loop",
    ),
    (
        AppEvent::HttpRequestLineMissingProtocol,
        Some(AppProto::Http),
        "request_line_missing_protocol",
    ),
    (
        AppEvent::TlsMultipleSniExtensions,
        Some(AppProto::Tls),
        "multiple_sni_extensions",
    ),
    (
        AppEvent::TlsInvalidSniType,
        Some(AppProto::Tls),
        "invalid_sni_type",
    ),
    (
        AppEvent::TlsInvalidSniLength,
        Some(AppProto::Tls),
        "invalid_sni_length",
    ),
    (
        AppEvent::TlsHeartbeatMessage,
        Some(AppProto::Tls),
        "heartbeat_message",
    ),
    (
        AppEvent::TlsInvalidRecordType,
        Some(AppProto::Tls),
        "invalid_record_type",
    ),
    (
        AppEvent::AppLayerMismatchProtocolBothDirections,
        None,
        "applayer_mismatch_protocol_both_directions",
    ),
    (
        AppEvent::AppLayerDetectProtocolOnlyOneDirection,
        None,
        "applayer_detect_protocol_only_one_direction",
    ),
];

impl AppEvent {
    /// The event named `proto.event` as Suricata's `app-layer-event` keyword spells it
    /// (`http.missing_host_header`, `dns.z_flag_set`; the protocol detection events have no
    /// prefix: `applayer_mismatch_protocol_both_directions`), None for names this crate
    /// does not raise. The older DNS spellings `not_a_request`/`not_a_response` are
    /// accepted.
    pub fn from_name(name: &str) -> Option<AppEvent> {
        let name = name.trim();
        let (proto, event) = match name.split_once('.') {
            Some((p, e)) => (Some(AppProto::from_name(p)?), e),
            None => (None, name),
        };
        let event = match event {
            "not_a_request" => "not_request",
            "not_a_response" => "not_response",
            e => e,
        };
        TABLE
            .iter()
            .find(|(_, p, n)| *p == proto && *n == event)
            .map(|(e, _, _)| *e)
    }

    /// Suricata's name, without the protocol prefix.
    pub fn name(self) -> &'static str {
        TABLE
            .iter()
            .find(|(e, _, _)| *e == self)
            .map_or("", |(_, _, n)| n)
    }

    /// The protocol that raises it; None for the protocol detection events.
    pub fn proto(self) -> Option<AppProto> {
        TABLE
            .iter()
            .find(|(e, _, _)| *e == self)
            .and_then(|(_, p, _)| *p)
    }
}

/// A set of [`AppEvent`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventSet(u64);

impl EventSet {
    /// Adds an event.
    pub fn insert(&mut self, e: AppEvent) {
        self.0 |= 1 << (e as u8);
    }

    /// True when `e` is in the set.
    pub fn contains(self, e: AppEvent) -> bool {
        self.0 & (1 << (e as u8)) != 0
    }

    /// True when the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The events in the set.
    pub fn iter(self) -> impl Iterator<Item = AppEvent> {
        TABLE
            .iter()
            .map(|(e, _, _)| *e)
            .filter(move |e| self.contains(*e))
    }
}

/// The events of one message of protocol `proto` sent in direction `to_server`: an HTTP
/// head (and the body bytes framed with it), or a DNS message (with its 2-byte length
/// prefix over TCP).
pub fn message_events(
    proto: AppProto,
    bytes: &[u8],
    transport: Transport,
    to_server: bool,
) -> EventSet {
    let mut set = EventSet::default();
    match proto {
        AppProto::Http => {
            if http::is_response_start(bytes) {
                response_events(bytes, &mut set);
            } else {
                request_events(bytes, &mut set);
            }
        }
        AppProto::Dns => dns_events(bytes, transport, to_server, &mut set),
        AppProto::Tls => tls_events(bytes, &mut set),
        AppProto::Ssh | AppProto::Ftp => {}
    }
    set
}

/// The header lines of a head (after its first line), up to the empty line, without their
/// line ends. Continuation lines (starting with a blank) are left out.
fn header_lines(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = block;
    std::iter::from_fn(move || loop {
        if rest.is_empty() {
            return None;
        }
        let (line, next) = match memchr(b'\n', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            rest = &[];
            return None;
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            continue;
        }
        return Some(line);
    })
}

/// The events shared by both sides: colons, `Content-Length` values.
fn field_events(
    block: &[u8],
    missing_colon: AppEvent,
    invalid_cl: AppEvent,
    dup_cl: AppEvent,
    set: &mut EventSet,
) {
    let mut first_cl: Option<Option<u64>> = None;
    for line in header_lines(block) {
        let Some(c) = memchr(b':', line) else {
            set.insert(missing_colon);
            continue;
        };
        let name = http::fields::trimmed(&line[..c]);
        if !eq_nocase_nozero(name, b"content-length") {
            continue;
        }
        let value = http::fields::trimmed(&line[c + 1..]);
        let n = http::body::content_length(value);
        if n.is_none() {
            set.insert(invalid_cl);
        }
        match first_cl {
            None => first_cl = Some(n),
            Some(prev) => {
                if prev.is_none() || n.is_none() || prev != n {
                    set.insert(dup_cl);
                }
            }
        }
    }
}

fn request_events(bytes: &[u8], set: &mut EventSet) {
    let Ok(req) = http::Request::parse(bytes) else {
        return;
    };
    if req.protocol.is_empty() {
        set.insert(AppEvent::HttpRequestLineMissingProtocol);
    }
    // The delimiters around the URI, as sent.
    let line = req.request_line;
    if let Some(&d) = line.get(req.method.len()) {
        if d != b' ' {
            set.insert(AppEvent::HttpMethodDelimNonCompliant);
        }
    }
    if !req.protocol.is_empty() {
        let proto_at = (req.protocol.as_ptr() as usize).saturating_sub(line.as_ptr() as usize);
        if let Some(&d) = proto_at.checked_sub(1).and_then(|i| line.get(i)) {
            if d != b' ' {
                set.insert(AppEvent::HttpUriDelimNonCompliant);
            }
        }
    }
    let block = req.header_block();
    field_events(
        block,
        AppEvent::HttpRequestFieldMissingColon,
        AppEvent::HttpInvalidContentLengthRequest,
        AppEvent::HttpDuplicateContentLengthRequest,
        set,
    );
    let te = req.header(b"transfer-encoding");
    if te.is_some_and(|t| !contains_nocase_nozero(t, b"chunked")) {
        set.insert(AppEvent::HttpInvalidTransferEncodingRequest);
    }
    if req.headers_complete()
        && te.is_some_and(|t| contains_nocase_nozero(t, b"chunked"))
        && bad_chunks(req.body())
    {
        set.insert(AppEvent::HttpInvalidRequestChunkLen);
    }
    if let Some(auth) = req.header(b"authorization") {
        let known = [&b"basic"[..], b"digest", b"bearer"].iter().any(|s| {
            auth.get(..s.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(s))
        });
        if !known {
            set.insert(AppEvent::HttpRequestAuthUnrecognized);
        }
    }
    if req.headers_complete() {
        let host = req.header(b"host");
        if host.is_none() && protocol_at_least_1_1(req.protocol) {
            set.insert(AppEvent::HttpMissingHostHeader);
        }
        if let (Some(h), Some(u)) = (host, uri_authority(req.uri_raw)) {
            if !same_authority(h, u) {
                set.insert(AppEvent::HttpHostHeaderAmbiguous);
            }
        }
        if te.is_none()
            && req.header(b"content-length").is_none()
            && req.body().iter().any(|c| !c.is_ascii_whitespace())
        {
            set.insert(AppEvent::HttpRequestBodyUnexpected);
        }
    }
}

fn response_events(bytes: &[u8], set: &mut EventSet) {
    let Ok(resp) = http::Response::parse(bytes) else {
        return;
    };
    field_events(
        resp.header_block(),
        AppEvent::HttpResponseFieldMissingColon,
        AppEvent::HttpInvalidContentLengthResponse,
        AppEvent::HttpDuplicateContentLengthResponse,
        set,
    );
    let code = http::fields::trimmed(resp.status_code);
    let valid_status =
        code.len() == 3 && code.iter().all(u8::is_ascii_digit) && (b'1'..=b'9').contains(&code[0]);
    if !valid_status {
        set.insert(AppEvent::HttpResponseInvalidStatus);
    }
    let chunked = resp
        .header(b"transfer-encoding")
        .filter(|t| contains_nocase_nozero(t, b"chunked"));
    if let Some(te) = chunked {
        if !protocol_at_least_1_1(resp.protocol) {
            set.insert(AppEvent::HttpResponseChunkedOldProto);
        }
        if !http::fields::trimmed(te).eq_ignore_ascii_case(b"chunked") {
            set.insert(AppEvent::HttpResponseAbnormalTransferEncoding);
        }
        if resp.headers_complete() && bad_chunks(resp.body()) {
            set.insert(AppEvent::HttpInvalidResponseChunkLen);
        }
    }
}

/// A chunked body whose framing breaks (a chunk-size line that is not one): libhtp then
/// reads the body as sent.
fn bad_chunks(body: &[u8]) -> bool {
    let mut out = Vec::new();
    http::body::dechunk(body, &mut out) == http::body::BodyEnd::AtClose
}

/// `HTTP/1.1` or later (`HTTP/2.0`, ...).
fn protocol_at_least_1_1(p: &[u8]) -> bool {
    let Some(v) = p
        .get(5..)
        .filter(|_| p.len() >= 8 && p[..5].eq_ignore_ascii_case(b"HTTP/"))
    else {
        return false;
    };
    match (v.first(), v.get(1), v.get(2)) {
        (Some(&major), Some(b'.'), Some(&minor))
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            major > b'1' || (major == b'1' && minor >= b'1')
        }
        _ => false,
    }
}

/// The authority (`host[:port]`) of an absolute URI (`http://host:port/path`).
fn uri_authority(uri: &[u8]) -> Option<&[u8]> {
    let i = uri.windows(3).position(|w| w == b"://")?;
    if !uri[..i]
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(c))
        || i == 0
    {
        return None;
    }
    let rest = &uri[i + 3..];
    let end = rest
        .iter()
        .position(|c| matches!(c, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let auth = &rest[..end];
    // Drop user info.
    let auth = match memchr::memrchr(b'@', auth) {
        Some(at) => &auth[at + 1..],
        None => auth,
    };
    (!auth.is_empty()).then_some(auth)
}

/// Splits `host[:port]` (a bracketed IPv6 literal keeps its colons).
fn host_port(a: &[u8]) -> (&[u8], Option<&[u8]>) {
    let a = http::fields::trimmed(a);
    let a = a.strip_suffix(b".").unwrap_or(a);
    if a.first() == Some(&b'[') {
        if let Some(close) = memchr(b']', a) {
            let port = a.get(close + 1..).and_then(|r| r.strip_prefix(b":"));
            return (&a[..=close], port);
        }
    }
    match memchr::memrchr(b':', a) {
        Some(c) => (&a[..c], Some(&a[c + 1..])),
        None => (a, None),
    }
}

/// libhtp's comparison of the URI's and the `Host` header's authorities: the host names
/// without case, and the ports when both have one.
fn same_authority(header: &[u8], uri: &[u8]) -> bool {
    let (hh, hp) = host_port(header);
    let (uh, up) = host_port(uri);
    let hh = hh.strip_suffix(b".").unwrap_or(hh);
    let uh = uh.strip_suffix(b".").unwrap_or(uh);
    if !hh.eq_ignore_ascii_case(uh) {
        return false;
    }
    match (hp, up) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// A TLS message as the flow framer hands it over: a handshake record (fragments joined) or
/// another record's header.
fn tls_events(bytes: &[u8], set: &mut EventSet) {
    if bytes.first() == Some(&0x18) && crate::tls::record_version(bytes).is_some() {
        set.insert(AppEvent::TlsHeartbeatMessage);
    }
    if let Some((multiple, bad_type, bad_len)) = crate::tls::sni_anomalies(bytes) {
        if multiple {
            set.insert(AppEvent::TlsMultipleSniExtensions);
        }
        if bad_type {
            set.insert(AppEvent::TlsInvalidSniType);
        }
        if bad_len {
            set.insert(AppEvent::TlsInvalidSniLength);
        }
    }
}

fn dns_events(bytes: &[u8], transport: Transport, to_server: bool, set: &mut EventSet) {
    let msg = match transport {
        Transport::Udp => bytes,
        Transport::Tcp => {
            let Some(len) = bytes
                .get(..2)
                .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            else {
                return;
            };
            match bytes.get(2..2 + len) {
                Some(m) => m,
                // Not all of it yet: nothing to say.
                None => return,
            }
        }
    };
    let m = match dns::Message::parse(msg) {
        Ok(m) => m,
        Err(crate::Error::Incomplete) if msg.len() >= 12 => {
            set.insert(AppEvent::DnsMalformedData);
            return;
        }
        Err(_) => {
            set.insert(AppEvent::DnsMalformedData);
            return;
        }
    };
    for q in m.questions() {
        match q {
            Ok(_) => {}
            Err(crate::Error::Invalid(dns::NAME_TOO_LONG)) => set.insert(AppEvent::DnsNameTooLong),
            Err(crate::Error::Invalid(dns::NAME_LOOP)) => set.insert(AppEvent::DnsInfiniteLoop),
            Err(_) => set.insert(AppEvent::DnsMalformedData),
        }
    }
    let flags = m.flags();
    if to_server && m.is_response() {
        set.insert(AppEvent::DnsNotRequest);
    }
    if !to_server && !m.is_response() {
        set.insert(AppEvent::DnsNotResponse);
    }
    if flags & 0x0040 != 0 {
        set.insert(AppEvent::DnsZFlagSet);
    }
    if m.opcode() >= 7 {
        set.insert(AppEvent::DnsInvalidOpcode);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(b: &[u8]) -> EventSet {
        message_events(AppProto::Http, b, Transport::Tcp, true)
    }

    fn resp(b: &[u8]) -> EventSet {
        message_events(AppProto::Http, b, Transport::Tcp, false)
    }

    #[test]
    fn names_round_trip() {
        for (e, p, n) in TABLE {
            let full = match p {
                Some(p) => format!("{}.{}", p.name(), n),
                None => n.to_string(),
            };
            assert_eq!(AppEvent::from_name(&full), Some(*e));
            assert_eq!(e.name(), *n);
            assert_eq!(e.proto(), *p);
        }
        assert_eq!(
            AppEvent::from_name("dns.not_a_request"),
            Some(AppEvent::DnsNotRequest)
        );
        assert_eq!(AppEvent::from_name("http.gzip_decompression_failed"), None);
        assert_eq!(AppEvent::from_name("smb.x"), None);
        assert_eq!(AppEvent::from_name("nodot"), None);
    }

    #[test]
    fn a_clean_request_has_no_events() {
        assert!(req(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").is_empty());
        assert!(resp(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").is_empty());
    }

    #[test]
    fn content_length_events() {
        let e =
            req(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:11\r\nContent-Length:93\r\n\r\n");
        assert!(e.contains(AppEvent::HttpDuplicateContentLengthRequest));
        // The same value twice is tolerated.
        let e =
            req(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length:3\r\n\r\nabc");
        assert!(e.is_empty());
        let e = req(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n");
        assert!(e.contains(AppEvent::HttpInvalidContentLengthRequest));
        let e = resp(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
        assert!(e.contains(AppEvent::HttpDuplicateContentLengthResponse));
    }

    #[test]
    fn request_head_events() {
        let e = req(b"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Turbo xyz\r\n\r\n");
        assert_eq!(
            e.iter().collect::<Vec<_>>(),
            vec![AppEvent::HttpRequestAuthUnrecognized]
        );
        assert!(req(b"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic eHl6\r\n\r\n").is_empty());
        assert!(req(b"GET / HTTP/1.1\r\n\r\n").contains(AppEvent::HttpMissingHostHeader));
        assert!(req(b"GET / HTTP/1.0\r\n\r\n").is_empty());
        assert!(req(b"GET /\r\n\r\n").contains(AppEvent::HttpRequestLineMissingProtocol));
        assert!(req(b"GET / HTTP/1.1\r\nHost: a\r\nbogus line\r\n\r\n")
            .contains(AppEvent::HttpRequestFieldMissingColon));
        assert!(req(b"GET http://b/ HTTP/1.1\r\nHost: a\r\n\r\n")
            .contains(AppEvent::HttpHostHeaderAmbiguous));
        assert!(req(b"GET http://A:80/ HTTP/1.1\r\nHost: a:80\r\n\r\n").is_empty());
        assert!(req(b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n")
            .contains(AppEvent::HttpMethodDelimNonCompliant));
        assert!(
            req(b"GET /\tHTTP/1.1\r\nHost: a\r\n\r\n").contains(AppEvent::HttpUriDelimNonCompliant)
        );
        assert!(req(b"POST / HTTP/1.1\r\nHost: a\r\n\r\nlogin=foo")
            .contains(AppEvent::HttpRequestBodyUnexpected));
        assert!(
            req(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n")
                .contains(AppEvent::HttpInvalidTransferEncodingRequest)
        );
        // A head cut before its end raises nothing that needs the whole head.
        assert!(req(b"GET / HTTP/1.1\r\n").is_empty());
    }

    #[test]
    fn chunk_events() {
        let e = req(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n");
        assert!(e.contains(AppEvent::HttpInvalidRequestChunkLen));
        let e = req(
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
        );
        assert!(e.is_empty());
        let e = resp(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nxyz\r\n");
        assert!(e.contains(AppEvent::HttpResponseAbnormalTransferEncoding));
        assert!(e.contains(AppEvent::HttpInvalidResponseChunkLen));
    }

    #[test]
    fn response_events() {
        assert!(
            resp(b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                .contains(AppEvent::HttpResponseChunkedOldProto)
        );
        assert!(resp(b"HTTP/1.1 2000 OK\r\n\r\n").contains(AppEvent::HttpResponseInvalidStatus));
        assert!(resp(b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n")
            .contains(AppEvent::HttpResponseFieldMissingColon));
    }

    #[test]
    fn dns_events() {
        let mut q = crate::dns::tests::query(b"\x08suricata\x02io\x00", 1);
        let ev = |b: &[u8], ts| message_events(AppProto::Dns, b, Transport::Udp, ts);
        assert!(ev(&q, true).is_empty());
        assert!(ev(&q, false).contains(AppEvent::DnsNotResponse));
        q[2] = 0x49; // opcode 9, RD
        assert!(ev(&q, true).contains(AppEvent::DnsInvalidOpcode));
        q[2] = 0x81; // QR
        q[3] = 0x40; // Z
        let e = ev(&q, true);
        assert!(e.contains(AppEvent::DnsNotRequest) && e.contains(AppEvent::DnsZFlagSet));
        assert!(ev(&q[..14], true).contains(AppEvent::DnsMalformedData));
        // A name pointing at itself, a name too long.
        let mut l = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        l.extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01");
        assert_eq!(
            ev(&l, true).iter().collect::<Vec<_>>(),
            [AppEvent::DnsInfiniteLoop]
        );
        let mut long = Vec::new();
        for _ in 0..20 {
            long.push(60);
            long.extend_from_slice(&[b'a'; 60]);
        }
        long.push(0);
        let t = crate::dns::tests::query(&long, 1);
        assert!(ev(&t, true).contains(AppEvent::DnsNameTooLong));
        // Over TCP the length prefix comes first; a message not all there says nothing.
        let mut t = vec![0, q.len() as u8];
        t.extend_from_slice(&q);
        assert!(
            message_events(AppProto::Dns, &t, Transport::Tcp, true).contains(AppEvent::DnsZFlagSet)
        );
        assert!(message_events(AppProto::Dns, &t[..8], Transport::Tcp, true).is_empty());
    }

    /// A ClientHello record with these extensions.
    fn hello(exts: &[u8]) -> Vec<u8> {
        let mut body = vec![3, 3];
        body.extend_from_slice(&[0; 32]);
        body.extend_from_slice(&[0, 0, 2, 0x13, 0x01, 1, 0]);
        body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        body.extend_from_slice(exts);
        let mut hs = vec![1, 0];
        hs.extend_from_slice(&(body.len() as u16).to_be_bytes());
        hs.extend_from_slice(&body);
        let mut rec = vec![0x16, 3, 1];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn tls_events() {
        let tls = |b: &[u8]| message_events(AppProto::Tls, b, Transport::Tcp, true);
        let sni = |kind: u8, name: &[u8], claimed: u16| {
            let mut e = vec![0, 0];
            let mut list = vec![kind];
            list.extend_from_slice(&claimed.to_be_bytes());
            list.extend_from_slice(name);
            let mut data = (list.len() as u16).to_be_bytes().to_vec();
            data.extend_from_slice(&list);
            e.extend_from_slice(&(data.len() as u16).to_be_bytes());
            e.extend_from_slice(&data);
            e
        };
        let one = sni(0, b"a.example", 9);
        assert!(tls(&hello(&one)).is_empty());
        let two = [one.clone(), one.clone()].concat();
        assert!(tls(&hello(&two)).contains(AppEvent::TlsMultipleSniExtensions));
        assert!(tls(&hello(&sni(1, b"a.example", 9))).contains(AppEvent::TlsInvalidSniType));
        assert!(tls(&hello(&sni(0, b"a.example", 90))).contains(AppEvent::TlsInvalidSniLength));
        assert!(tls(&[0x18, 3, 3, 0, 3]).contains(AppEvent::TlsHeartbeatMessage));
        assert!(tls(&[0x17, 3, 3, 0, 3]).is_empty());
    }

    #[test]
    fn hostile_bytes_do_not_panic() {
        for b in [
            &b""[..],
            b"\x00",
            b"GET",
            b"HTTP/1.1",
            b"GET http:// HTTP/1.1\r\nHost: [\r\n\r\n",
        ] {
            for p in [AppProto::Http, AppProto::Dns, AppProto::Tls] {
                for t in [Transport::Tcp, Transport::Udp] {
                    let _ = message_events(p, b, t, true);
                    let _ = message_events(p, b, t, false);
                }
            }
        }
    }
}
