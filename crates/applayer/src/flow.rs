//! Per-flow app-layer state over a reassembled TCP stream: protocol detection on the first
//! bytes of each direction, then message framing, so rules see whole messages (an HTTP
//! request head and body, a TLS handshake, a DNS-over-TCP message) however the sender cut
//! them into segments.
//!
//! Design:
//! - The reassembler (`verdict_stream`) hands over the stream of each direction in order;
//!   [`FlowParser::data`] and [`FlowParser::gap`] take it. Each direction accumulates the
//!   bytes of its *current message* in one buffer, bounded by [`AppConfig`] (head limit and
//!   Suricata's request/response body limits), and frames it: HTTP/1 head up to the empty
//!   line, then the body by `Content-Length`, `chunked` or connection close; TLS records
//!   (the handshake fragments of consecutive records are joined into one synthetic record,
//!   so a ClientHello cut over records or segments parses); DNS's 2-byte length prefix.
//! - The existing zero-copy parsers ([`crate::parse_as`]) run on that buffer, so the
//!   per-packet parsers serve reassembled data unchanged.
//! - Transactions: HTTP request *n* and response *n* are transaction *n*; DNS query and
//!   response likewise; a TLS session is one transaction (0), as in Suricata. Rules match
//!   once per (rule, transaction), which the rules crate keeps track of.
//! - [`FlowParser::messages`] lists the messages that got data since
//!   [`FlowParser::begin_packet`]: the current one and those completed during the packet
//!   (pipelining), at most [`MAX_DONE`] of the latter.
//! - After a gap, a message in progress is abandoned and the direction resynchronises on the
//!   next bytes that start a message.
//!
//! No-panic promise: as the rest of the crate, every index is checked.

use crate::events::{AppEvent, EventSet};
use crate::{AppProto, Transport};

/// Most completed messages remembered per direction and packet.
pub const MAX_DONE: usize = 8;

/// Bounds on what is kept per message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppConfig {
    /// Bytes of an HTTP head kept (request/status line and headers).
    pub head_limit: usize,
    /// Bytes of a request body kept (Suricata's `request-body-limit`, 100 KiB by default).
    pub request_body_limit: usize,
    /// Bytes of a response body kept (Suricata's `response-body-limit`, 100 KiB).
    pub response_body_limit: usize,
    /// Bytes of TLS handshake kept per direction.
    pub tls_handshake_limit: usize,
    /// Bytes looked at to detect the protocol of a direction before giving up.
    pub detect_limit: usize,
    /// How HTTP bodies are decoded for rules.
    pub decode: crate::http::DecodeOptions,
    /// A body in progress is shown to rules again each time it grew by this many bytes
    /// (Suricata's `request-body-minimal-inspect-size`, 32 KiB), and when it completes.
    pub body_inspect_step: usize,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            head_limit: 64 << 10,
            request_body_limit: 100 << 10,
            response_body_limit: 100 << 10,
            tls_handshake_limit: 64 << 10,
            detect_limit: 1024,
            decode: crate::http::DecodeOptions::default(),
            body_inspect_step: 32 << 10,
        }
    }
}

/// One message (or the part of it seen so far) as rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppMessage<'a> {
    /// Its protocol.
    pub proto: AppProto,
    /// Its bytes, from the start of the message: what [`crate::parse_as`] parses.
    pub bytes: &'a [u8],
    /// The transaction it belongs to.
    pub tx_id: u64,
    /// The whole message was seen.
    pub complete: bool,
    /// Events the framing raised about this message (what its own bytes cannot show, e.g.
    /// `http.request_body_unexpected` for bytes after a request that start no new one);
    /// [`crate::events::message_events`] gives the others.
    pub flow_events: EventSet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunked {
    /// Reading the chunk-size line.
    Size { value: u64, digits: bool, ext: bool },
    /// In chunk data.
    Data(u64),
    /// The CR LF after chunk data.
    DataEnd,
    /// Trailer lines; `empty` = the current line has no byte yet.
    Trailer { empty: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing known yet (protocol detection runs on the buffer).
    Detect,
    /// Waiting for the start of the next message.
    Idle,
    /// Collecting an HTTP head.
    HttpHead,
    /// HTTP body with this many bytes left.
    HttpBody(u64),
    /// Chunked HTTP body.
    HttpChunked(Chunked),
    /// HTTP body until the connection closes.
    HttpUntilClose,
    /// TLS records.
    Tls,
    /// DNS over TCP.
    Dns,
    /// SSH: banner and clear-text packets (framed by [`crate::ssh::Framer`]).
    Ssh,
    /// FTP control channel: command lines and (multi-line) replies (framed by
    /// [`crate::ftp::Framer`]).
    Ftp,
    /// FTP after a stream gap: skipping to the next line end.
    FtpResync,
    /// Not parsed any more (unknown protocol, tunnel, too many errors).
    Off,
}

#[derive(Debug, Clone)]
struct Dir {
    state: State,
    /// The current message's bytes (bounded).
    buf: Vec<u8>,
    /// The current message got data in this packet.
    touched: bool,
    /// The current message is complete.
    complete: bool,
    /// Transaction id of the current message.
    tx: u64,
    /// Messages completed during this packet: (tx, bytes, framing events).
    done: Vec<(u64, Vec<u8>, EventSet)>,
    /// Spare buffers for reuse.
    spare: Vec<Vec<u8>>,
    /// Bytes of the current message seen (kept or not).
    seen: u64,
    /// Body limit hit: body bytes are no longer kept.
    truncated: bool,
    /// TLS: the record being read (header and as much of the body as kept) and the bytes of
    /// its body still to come.
    tls_rec: Vec<u8>,
    /// TLS: joined handshake fragments.
    tls_hs: Vec<u8>,
    /// TLS: record version of the first handshake record.
    tls_ver: [u8; 2],
    /// HTTP, between messages: the first bytes of what follows, to tell whether a new
    /// message starts.
    probe: Vec<u8>,
    /// HTTP: the current (complete) message is an interim 1xx response: the final response
    /// belongs to the same transaction.
    interim: bool,
    /// Bytes of the current message when it was last shown to rules.
    shown: usize,
    /// SSH: where the framer is.
    ssh: crate::ssh::Framer,
    /// FTP: where the line framer is.
    ftp: crate::ftp::Framer,
    /// Events the framing raised about the current message.
    events: EventSet,
}

impl Dir {
    fn new() -> Dir {
        Dir {
            state: State::Detect,
            buf: Vec::new(),
            touched: false,
            complete: false,
            tx: 0,
            done: Vec::new(),
            spare: Vec::new(),
            seen: 0,
            truncated: false,
            tls_rec: Vec::new(),
            tls_hs: Vec::new(),
            tls_ver: [3, 1],
            probe: Vec::new(),
            interim: false,
            shown: 0,
            ssh: crate::ssh::Framer::default(),
            ftp: crate::ftp::Framer::default(),
            events: EventSet::default(),
        }
    }

    /// Ends the current message: it goes to `done` (if it had data in this packet) and the
    /// next one starts empty with the next transaction id.
    fn finish(&mut self, next_tx: bool) {
        if self.touched && self.done.len() < MAX_DONE {
            let fresh = self.spare.pop().unwrap_or_default();
            let bytes = std::mem::replace(&mut self.buf, fresh);
            self.done.push((self.tx, bytes, self.events));
        } else {
            self.buf.clear();
        }
        self.touched = false;
        self.complete = false;
        self.events = EventSet::default();
        self.seen = 0;
        self.truncated = false;
        self.interim = false;
        self.shown = 0;
        if next_tx {
            self.tx += 1;
        }
    }

    /// Adds body bytes. They are shown to rules ([`Dir::touched`]) in steps of `step`
    /// bytes (Suricata's body minimal inspect size), when the limit is hit, and when the
    /// message completes (the callers mark that), so a large body costs rules a few looks,
    /// not one per segment.
    fn keep(&mut self, bytes: &[u8], limit: usize, step: usize) {
        self.seen += bytes.len() as u64;
        let room = limit.saturating_sub(self.buf.len());
        let was_truncated = self.truncated;
        if bytes.len() > room {
            self.truncated = true;
        }
        self.buf
            .extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or(&[]));
        if self.buf.len() >= self.shown.saturating_add(step) || self.truncated && !was_truncated {
            self.show();
        }
    }

    /// Shows the message to rules in this packet.
    fn show(&mut self) {
        self.touched = true;
        self.shown = self.buf.len();
    }
}

/// The app-layer state of one TCP flow (both directions). Index 0 is to-server.
#[derive(Debug, Clone)]
pub struct FlowParser {
    cfg: AppConfig,
    proto: Option<AppProto>,
    ports: (u16, u16),
    dirs: [Dir; 2],
    /// Requests whose response has no body (HEAD), by transaction id, oldest first.
    head_requests: Vec<u64>,
    /// Requests that are CONNECT, by transaction id.
    connect_requests: Vec<u64>,
}

fn idx(to_server: bool) -> usize {
    usize::from(!to_server)
}

impl FlowParser {
    /// A flow with nothing seen; `client_port`, `server_port` help protocol detection.
    pub fn new(cfg: AppConfig, client_port: u16, server_port: u16) -> FlowParser {
        FlowParser {
            cfg,
            proto: None,
            ports: (client_port, server_port),
            dirs: [Dir::new(), Dir::new()],
            head_requests: Vec::new(),
            connect_requests: Vec::new(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &AppConfig {
        &self.cfg
    }

    /// The detected protocol of the flow.
    pub fn proto(&self) -> Option<AppProto> {
        self.proto
    }

    /// Starts a packet: forgets which messages the previous packet touched.
    pub fn begin_packet(&mut self) {
        self.forget_touched(true);
        self.forget_touched(false);
    }

    /// Forgets which messages of direction `to_server` got data (they were inspected), so
    /// that [`FlowParser::messages`] lists only what comes next. An engine that inspects a
    /// direction's messages only on that direction's packets calls it before each of them,
    /// rather than [`FlowParser::begin_packet`]: messages completed by data a packet of the
    /// other direction released (its ACK past a hole) then wait for their own direction.
    pub fn forget_touched(&mut self, to_server: bool) {
        let d = &mut self.dirs[idx(to_server)];
        d.touched = false;
        while let Some((_, mut b, _)) = d.done.pop() {
            if d.spare.len() < 2 {
                b.clear();
                d.spare.push(b);
            }
        }
    }

    /// The messages of direction `to_server` that got data since [`FlowParser::begin_packet`],
    /// completed ones first, in stream order.
    pub fn messages(&self, to_server: bool) -> impl Iterator<Item = AppMessage<'_>> + '_ {
        let d = &self.dirs[idx(to_server)];
        let proto = self.proto;
        let done = d.done.iter().filter_map(move |(tx, b, ev)| {
            Some(AppMessage {
                proto: proto?,
                bytes: b,
                tx_id: *tx,
                complete: true,
                flow_events: *ev,
            })
        });
        // An HTTP head in progress is shown up to its last complete line, as libhtp makes
        // the request line and each header available once their line ends.
        let shown = match d.state {
            State::HttpHead => match memchr::memrchr(b'\n', &d.buf) {
                Some(n) => d.buf.get(..n + 1).unwrap_or(&[]),
                None => &[],
            },
            _ => &d.buf[..],
        };
        let current = (d.touched && !shown.is_empty())
            .then_some(())
            .and_then(|_| {
                Some(AppMessage {
                    proto: proto?,
                    bytes: shown,
                    tx_id: d.tx,
                    complete: d.complete,
                    flow_events: d.events,
                })
            });
        done.chain(current)
    }

    /// Bytes lost in direction `to_server` (a stream gap): the message in progress is
    /// abandoned and parsing resumes at the next message start.
    pub fn gap(&mut self, to_server: bool, len: u64) {
        let d = &mut self.dirs[idx(to_server)];
        match d.state {
            State::HttpBody(left) if left > len => {
                // Only body bytes are lost: the message goes on.
                d.state = State::HttpBody(left - len);
                d.seen += len;
                return;
            }
            State::Detect | State::Off => return,
            _ => {}
        }
        if d.state == State::Idle {
            // A complete message waits for what follows: it is done.
            if !d.buf.is_empty() {
                let next = !d.interim;
                d.finish(next);
            }
        } else if !d.buf.is_empty() {
            // The message in progress is abandoned.
            d.finish(true);
        }
        d.probe.clear();
        d.tls_rec.clear();
        d.ftp.reset();
        d.state = match self.proto {
            Some(AppProto::Http) => State::Idle,
            // FTP resynchronises on the next line.
            Some(AppProto::Ftp) => State::FtpResync,
            // Record boundaries are lost: TLS and DNS over TCP can not resynchronise.
            _ => State::Off,
        };
    }

    /// The sender of direction `to_server` closed it (FIN, RST), or the flow ended: a body
    /// delimited by the connection close is complete, and a message with bytes rules have
    /// not seen yet is shown to them once more.
    pub fn end(&mut self, to_server: bool) {
        let d = &mut self.dirs[idx(to_server)];
        if d.state == State::HttpUntilClose {
            d.complete = true;
            d.state = State::Idle;
            d.show();
        } else if d.buf.len() > d.shown {
            d.show();
        }
    }

    /// Takes in-order stream bytes of direction `to_server`.
    pub fn data(&mut self, to_server: bool, mut bytes: &[u8]) {
        let i = idx(to_server);
        // Bounded: each round consumes bytes or changes state towards consuming them.
        let mut rounds = 0;
        while !bytes.is_empty() && rounds < 4096 {
            rounds += 1;
            let state = self.dirs[i].state;
            bytes = match state {
                State::Off => return,
                State::Detect => self.detect(i, bytes),
                State::Idle => self.idle(i, bytes),
                State::HttpHead => self.http_head(i, bytes),
                State::HttpBody(left) => self.http_body(i, bytes, left),
                State::HttpChunked(c) => self.http_chunked(i, bytes, c),
                State::HttpUntilClose => {
                    let lim = self.body_limit(i);
                    let step = self.cfg.body_inspect_step;
                    self.dirs[i].keep(bytes, lim, step);
                    &[]
                }
                State::Tls => self.tls(i, bytes),
                State::Dns => self.dns(i, bytes),
                State::Ssh => self.ssh(i, bytes),
                State::Ftp => self.ftp(i, bytes),
                State::FtpResync => self.ftp_resync(i, bytes),
            };
        }
    }

    fn body_limit(&self, i: usize) -> usize {
        let body = if i == 0 {
            self.cfg.request_body_limit
        } else {
            self.cfg.response_body_limit
        };
        self.cfg.head_limit.saturating_add(body)
    }

    /// Protocol detection on the first bytes of a direction.
    fn detect<'b>(&mut self, i: usize, bytes: &'b [u8]) -> &'b [u8] {
        if let Some(p) = self.proto {
            // The other direction decided. What this one starts with is checked too
            // (Suricata detects each direction): another protocol is
            // `applayer_mismatch_protocol_both_directions` and ends parsing here; no
            // protocol at all is `applayer_detect_protocol_only_one_direction`.
            let (cp, sp) = self.ports;
            let (src, dst) = if i == 0 { (cp, sp) } else { (sp, cp) };
            let limit = self.cfg.detect_limit;
            let d = &mut self.dirs[i];
            let old = std::mem::take(&mut d.buf);
            let mut first = old.clone();
            first.extend_from_slice(bytes.get(..limit).unwrap_or(bytes));
            match crate::detect(&first, Transport::Tcp, src, dst) {
                Some(q) if q != p => {
                    first.truncate(64);
                    d.buf = first;
                    d.events
                        .insert(AppEvent::AppLayerMismatchProtocolBothDirections);
                    d.complete = true;
                    d.show();
                    d.state = State::Off;
                    return &[];
                }
                None if first.len() >= 16 || first.contains(&b'\n') => {
                    d.events
                        .insert(AppEvent::AppLayerDetectProtocolOnlyOneDirection);
                }
                _ => {}
            }
            // Parse what this direction buffered, then the rest.
            d.state = start_state(p);
            if !old.is_empty() {
                self.data(i == 0, &old);
            }
            return bytes;
        }
        let d = &mut self.dirs[i];
        let pending = d.buf.len();
        d.buf
            .extend_from_slice(bytes.get(..self.cfg.detect_limit).unwrap_or(bytes));
        let (cp, sp) = self.ports;
        let (src, dst) = if i == 0 { (cp, sp) } else { (sp, cp) };
        match crate::detect(&d.buf, Transport::Tcp, src, dst) {
            Some(p) => {
                self.proto = Some(p);
                d.state = start_state(p);
                // Re-feed what was buffered, then the rest of this chunk.
                let buffered = std::mem::take(&mut d.buf);
                let (old, _) = buffered.split_at(pending.min(buffered.len()));
                let old = old.to_vec();
                if !old.is_empty() {
                    self.data(i == 0, &old);
                }
                bytes
            }
            None => {
                let d = &mut self.dirs[i];
                // HTTP needs the method and a blank; DNS its length-prefixed message.
                let short = d.buf.len() < 16 && !d.buf.contains(&b'\n');
                if !short || d.buf.len() >= self.cfg.detect_limit {
                    d.state = State::Off;
                    d.buf = Vec::new();
                }
                &[]
            }
        }
    }

    /// Between messages: what starts the next one. An HTTP message stays current after it
    /// completes until the next one starts: bytes that do not start a message are, for a
    /// response, more of its body (libhtp hands them to `file_data`), for a request skipped.
    fn idle<'b>(&mut self, i: usize, bytes: &'b [u8]) -> &'b [u8] {
        let d = &mut self.dirs[i];
        match self.proto {
            Some(AppProto::Http) => {
                let pending = d.probe.len();
                d.probe.extend_from_slice(bytes.get(..64).unwrap_or(bytes));
                let starts = |b: &[u8]| {
                    crate::http::is_request_start(b) || crate::http::is_response_start(b)
                };
                if starts(&d.probe) {
                    let probe = std::mem::take(&mut d.probe);
                    if !d.buf.is_empty() {
                        let next = !d.interim;
                        d.finish(next);
                    }
                    d.state = State::HttpHead;
                    let old = probe.get(..pending).unwrap_or(&[]).to_vec();
                    if !old.is_empty() {
                        self.data(i == 0, &old);
                    }
                    return bytes;
                }
                if d.probe.len() < 16 && !d.probe.contains(&b'\n') {
                    // Too short to tell yet.
                    return &[];
                }
                let probe = std::mem::take(&mut d.probe);
                // A request is waiting for its response (the client's side holds requests:
                // not so in a flow picked up midstream with the server's bytes first).
                let c = &self.dirs[0];
                let requests = c.tx + u64::from(crate::http::is_request_start(&c.buf));
                let d = &mut self.dirs[i];
                if i == 1 && d.buf.is_empty() && d.tx < requests {
                    // An answer to a request without a status line: libhtp takes it for an
                    // HTTP/0.9 response, all body until the connection closes.
                    d.state = State::HttpUntilClose;
                    let old = probe.get(..pending).unwrap_or(&[]).to_vec();
                    if !old.is_empty() {
                        self.data(false, &old);
                    }
                    return bytes;
                }
                if i == 1 && !d.buf.is_empty() {
                    // Trailing bytes of a response: more body, up to the next line.
                    let old = probe.get(..pending).unwrap_or(&[]).to_vec();
                    let lim = self.body_limit(i);
                    let d = &mut self.dirs[i];
                    d.keep(&old, lim, usize::MAX);
                    let n = match memchr::memchr(b'\n', bytes) {
                        Some(n) => n + 1,
                        None => bytes.len(),
                    };
                    d.keep(bytes.get(..n).unwrap_or(&[]), lim, usize::MAX);
                    d.show();
                    return bytes.get(n..).unwrap_or(&[]);
                }
                // Not a message start: drop up to the next line. After a request, libhtp
                // takes such bytes for an unexpected body of it.
                if i == 0 && !d.buf.is_empty() {
                    d.events.insert(AppEvent::HttpRequestBodyUnexpected);
                    d.show();
                }
                let skip = match memchr::memchr(b'\n', bytes) {
                    Some(n) => n + 1,
                    None => bytes.len(),
                };
                bytes.get(skip..).unwrap_or(&[])
            }
            Some(p) => {
                d.state = start_state(p);
                bytes
            }
            None => {
                d.state = State::Off;
                &[]
            }
        }
    }

    fn http_head<'b>(&mut self, i: usize, bytes: &'b [u8]) -> &'b [u8] {
        let limit = self.cfg.head_limit;
        let d = &mut self.dirs[i];
        // Where the empty line ends, searching from a little before the new bytes.
        let from = d.buf.len().saturating_sub(3);
        let old = d.buf.len();
        d.buf.extend_from_slice(bytes);
        d.show();
        let end = http_head_len(&d.buf)
            .or_else(|| head_end(d.buf.get(from..).unwrap_or(&[])).map(|e| from + e));
        let Some(end) = end else {
            if d.buf.len() > limit {
                d.buf.truncate(limit);
                d.truncated = true;
                // A head that never ends: stop parsing this direction.
                d.complete = true;
                d.state = State::Off;
            }
            return &[];
        };
        // The bytes after the head belong to the body or the next message.
        d.buf.truncate(end);
        let used = end.saturating_sub(old);
        let rest = bytes.get(used..).unwrap_or(&[]);
        d.seen = end as u64;
        let next = self.body_state(i);
        let d = &mut self.dirs[i];
        match next {
            None => {
                d.complete = true;
                d.state = State::Idle;
            }
            Some(s) => d.state = s,
        }
        rest
    }

    /// The framing of the body after a complete head in `dirs[i].buf`; None when there is
    /// none.
    fn body_state(&mut self, i: usize) -> Option<State> {
        let mut interim = false;
        let state = self.body_state_inner(i, &mut interim);
        self.dirs[i].interim = interim;
        state
    }

    fn body_state_inner(&mut self, i: usize, interim: &mut bool) -> Option<State> {
        let d = &self.dirs[i];
        let tx = d.tx;
        if let Ok(r) = crate::http::Request::parse(&d.buf) {
            if r.method.eq_ignore_ascii_case(b"HEAD") {
                push_bounded(&mut self.head_requests, tx);
            }
            if r.method.eq_ignore_ascii_case(b"CONNECT") {
                push_bounded(&mut self.connect_requests, tx);
            }
            if r.header(b"transfer-encoding")
                .is_some_and(crate::http::is_chunked)
            {
                return Some(State::HttpChunked(Chunked::Size {
                    value: 0,
                    digits: false,
                    ext: false,
                }));
            }
            return match content_length(r.header(b"content-length")) {
                Some(n) if n > 0 => Some(State::HttpBody(n)),
                _ => None,
            };
        }
        if let Ok(r) = crate::http::Response::parse(&d.buf) {
            let status = r.status();
            let head_req = self.head_requests.contains(&tx);
            let connect = self.connect_requests.contains(&tx);
            if status == 101 || (connect && (200..300).contains(&status)) {
                // A tunnel (upgrade, CONNECT): no more HTTP on this flow.
                self.dirs[0].state = State::Off;
                return Some(State::Off);
            }
            // An interim response (100 Continue, ...) shares its transaction with the final one.
            *interim = (100..200).contains(&status);
            if head_req || (100..200).contains(&status) || status == 204 || status == 304 {
                return None;
            }
            if r.header(b"transfer-encoding")
                .is_some_and(crate::http::is_chunked)
            {
                return Some(State::HttpChunked(Chunked::Size {
                    value: 0,
                    digits: false,
                    ext: false,
                }));
            }
            return match content_length(r.header(b"content-length")) {
                Some(0) => None,
                Some(n) => Some(State::HttpBody(n)),
                None => Some(State::HttpUntilClose),
            };
        }
        // Neither parses (e.g. a bad request line): no body.
        None
    }

    fn http_body<'b>(&mut self, i: usize, bytes: &'b [u8], left: u64) -> &'b [u8] {
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(bytes.len());
        let (now, rest) = bytes.split_at(n);
        let lim = self.body_limit(i);
        let step = self.cfg.body_inspect_step;
        let d = &mut self.dirs[i];
        d.keep(now, lim, step);
        let left = left - n as u64;
        if left == 0 {
            d.complete = true;
            d.show();
            d.state = State::Idle;
        } else {
            d.state = State::HttpBody(left);
        }
        rest
    }

    fn http_chunked<'b>(&mut self, i: usize, bytes: &'b [u8], mut c: Chunked) -> &'b [u8] {
        let lim = self.body_limit(i);
        let mut pos = 0;
        let mut done = false;
        while pos < bytes.len() && !done {
            match c {
                Chunked::Data(left) => {
                    let n = usize::try_from(left)
                        .unwrap_or(usize::MAX)
                        .min(bytes.len() - pos);
                    pos += n;
                    let left = left - n as u64;
                    c = if left == 0 {
                        Chunked::DataEnd
                    } else {
                        Chunked::Data(left)
                    };
                }
                _ => {
                    let b = bytes.get(pos).copied().unwrap_or(b'\n');
                    pos += 1;
                    c = match (c, b) {
                        (Chunked::Size { value, .. }, b'\n') => {
                            if value == 0 {
                                Chunked::Trailer { empty: true }
                            } else {
                                Chunked::Data(value)
                            }
                        }
                        (Chunked::Size { ext: true, .. }, _) => c,
                        (Chunked::Size { value, digits, .. }, b) if b.is_ascii_hexdigit() => {
                            let v = (b as char).to_digit(16).unwrap_or(0);
                            if digits || v > 0 || value == 0 {
                                Chunked::Size {
                                    value: value.saturating_mul(16).saturating_add(u64::from(v)),
                                    digits: true,
                                    ext: false,
                                }
                            } else {
                                c
                            }
                        }
                        (Chunked::Size { value, digits, .. }, b';') => Chunked::Size {
                            value,
                            digits,
                            ext: true,
                        },
                        // Spaces, CR and anything else on the size line are skipped (lenient).
                        (Chunked::Size { .. }, _) => c,
                        (Chunked::DataEnd, b'\n') => Chunked::Size {
                            value: 0,
                            digits: false,
                            ext: false,
                        },
                        (Chunked::DataEnd, _) => Chunked::DataEnd,
                        (Chunked::Trailer { empty }, b'\n') => {
                            if empty {
                                done = true;
                            }
                            Chunked::Trailer { empty: true }
                        }
                        (Chunked::Trailer { .. }, b'\r') => c,
                        (Chunked::Trailer { .. }, _) => Chunked::Trailer { empty: false },
                        (Chunked::Data(_), _) => c,
                    };
                }
            }
        }
        let (now, rest) = bytes.split_at(pos.min(bytes.len()));
        let step = self.cfg.body_inspect_step;
        let d = &mut self.dirs[i];
        d.keep(now, lim, step);
        if done {
            d.complete = true;
            d.show();
            d.state = State::Idle;
        } else {
            d.state = State::HttpChunked(c);
        }
        rest
    }

    fn tls<'b>(&mut self, i: usize, bytes: &'b [u8]) -> &'b [u8] {
        let d = &mut self.dirs[i];
        // An SSLv2-format ClientHello (2-byte header) opens some old handshakes: it is read
        // whole and handed on as the TLS record it stands for.
        let first = d.tls_rec.first().or(bytes.first()).copied().unwrap_or(0);
        if first & 0x80 != 0 && i == 0 && d.tls_hs.is_empty() {
            if d.tls_rec.len() < 2 {
                let n = (2 - d.tls_rec.len()).min(bytes.len());
                d.tls_rec.extend_from_slice(bytes.get(..n).unwrap_or(&[]));
                return bytes.get(n..).unwrap_or(&[]);
            }
            let want = crate::tls::sslv2_record_len(&d.tls_rec)
                .unwrap_or(0)
                .saturating_sub(d.tls_rec.len());
            let n = want.min(bytes.len());
            d.tls_rec.extend_from_slice(bytes.get(..n).unwrap_or(&[]));
            if n == want {
                match crate::tls::sslv2_client_hello_record(&d.tls_rec) {
                    Some(rec) => {
                        d.tls_rec = rec;
                        self.tls_record_done(i);
                    }
                    None => {
                        d.state = State::Off;
                        d.tls_rec.clear();
                        return &[];
                    }
                }
            }
            return bytes.get(n..).unwrap_or(&[]);
        }
        // Complete the record header first.
        if d.tls_rec.len() < 5 {
            let n = (5 - d.tls_rec.len()).min(bytes.len());
            d.tls_rec.extend_from_slice(bytes.get(..n).unwrap_or(&[]));
            let rest = bytes.get(n..).unwrap_or(&[]);
            if d.tls_rec.len() == 5 && crate::tls::record_version(&d.tls_rec).is_none() {
                // Not a TLS record: the stream is not (or no longer) TLS. A record of an
                // unknown content type is Suricata's `tls.invalid_record_type`: its header
                // is the direction's last message.
                // (An SSLv2 record, high bit set, is not one.)
                if !(0x14..=0x18).contains(&d.tls_rec[0]) && d.tls_rec[0] & 0x80 == 0 {
                    d.buf.clear();
                    d.buf.extend_from_slice(&d.tls_rec);
                    d.events.insert(AppEvent::TlsInvalidRecordType);
                    d.complete = true;
                    d.show();
                }
                d.state = State::Off;
                d.tls_rec.clear();
                return &[];
            }
            if d.tls_rec.len() == 5 && rec_len(&d.tls_rec) == 0 {
                self.tls_record_done(i);
            }
            return rest;
        }
        let want = rec_len(&d.tls_rec).saturating_sub(d.tls_rec.len() - 5);
        let n = want.min(bytes.len());
        d.tls_rec.extend_from_slice(bytes.get(..n).unwrap_or(&[]));
        if n == want {
            self.tls_record_done(i);
        }
        bytes.get(n..).unwrap_or(&[])
    }

    /// A whole TLS record is in `tls_rec`.
    fn tls_record_done(&mut self, i: usize) {
        let hs_limit = self.cfg.tls_handshake_limit;
        let d = &mut self.dirs[i];
        let rec = std::mem::take(&mut d.tls_rec);
        let ctype = rec.first().copied().unwrap_or(0);
        // A handshake that got bytes in this packet stays the packet's message when other
        // records (ChangeCipherSpec, application data) follow it in the same packet, so a
        // ServerHello sent with them is seen.
        if ctype != 0x16 && d.touched && d.buf.first() == Some(&0x16) {
            d.tls_rec = rec;
            d.tls_rec.clear();
            return;
        }
        d.buf.clear();
        if ctype == 0x16 {
            if d.tls_hs.is_empty() {
                d.tls_ver = [
                    rec.get(1).copied().unwrap_or(3),
                    rec.get(2).copied().unwrap_or(1),
                ];
            }
            let frag = rec.get(5..).unwrap_or(&[]);
            let room = hs_limit.saturating_sub(d.tls_hs.len());
            d.tls_hs
                .extend_from_slice(frag.get(..room.min(frag.len())).unwrap_or(&[]));
            // The message rules see: one synthetic record holding the joined handshake.
            let len = u16::try_from(d.tls_hs.len()).unwrap_or(u16::MAX);
            d.buf.extend_from_slice(&[0x16, d.tls_ver[0], d.tls_ver[1]]);
            d.buf.extend_from_slice(&len.to_be_bytes());
            d.buf.extend_from_slice(&d.tls_hs);
        } else {
            // Other records: their header tells the record version.
            d.buf.extend_from_slice(rec.get(..5).unwrap_or(&rec));
        }
        d.touched = true;
        d.complete = true;
        d.tls_rec = rec;
        d.tls_rec.clear();
    }

    /// SSH: one message per direction (Suricata's single transaction) that grows with the
    /// banner and the clear-text packets; after NEWKEYS packets still touch it (so `alert ssh`
    /// rules see the packets) but nothing more is kept.
    fn ssh<'b>(&mut self, i: usize, bytes: &'b [u8]) -> &'b [u8] {
        let limit = self.cfg.tls_handshake_limit;
        let d = &mut self.dirs[i];
        d.touched = true;
        d.ssh.data(&mut d.buf, bytes, limit);
        d.complete = d.ssh.done();
        &[]
    }

    /// FTP: each command line and each (multi-line) reply is a message of its own with the
    /// next transaction id of its direction.
    fn ftp<'b>(&mut self, i: usize, bytes: &'b [u8]) -> &'b [u8] {
        let d = &mut self.dirs[i];
        d.touched = true;
        let (used, done) = d.ftp.data(&mut d.buf, bytes, i == 1);
        if done {
            d.complete = true;
            d.finish(true);
        }
        bytes.get(used..).unwrap_or(&[])
    }

    /// FTP after a gap: the rest of the cut line is skipped.
    fn ftp_resync<'b>(&mut self, i: usize, bytes: &'b [u8]) -> &'b [u8] {
        match memchr::memchr(b'\n', bytes) {
            Some(n) => {
                self.dirs[i].state = State::Ftp;
                bytes.get(n + 1..).unwrap_or(&[])
            }
            None => &[],
        }
    }

    fn dns<'b>(&mut self, i: usize, bytes: &'b [u8]) -> &'b [u8] {
        let d = &mut self.dirs[i];
        d.touched = true;
        if d.buf.len() < 2 {
            let n = (2 - d.buf.len()).min(bytes.len());
            d.buf.extend_from_slice(bytes.get(..n).unwrap_or(&[]));
            return bytes.get(n..).unwrap_or(&[]);
        }
        let len = usize::from(u16::from_be_bytes([d.buf[0], d.buf[1]]));
        let want = (len + 2).saturating_sub(d.buf.len());
        let n = want.min(bytes.len());
        d.buf.extend_from_slice(bytes.get(..n).unwrap_or(&[]));
        if d.buf.len() >= len + 2 {
            d.complete = true;
            d.finish(true);
        }
        bytes.get(n..).unwrap_or(&[])
    }
}

fn start_state(p: AppProto) -> State {
    match p {
        AppProto::Http => State::Idle,
        AppProto::Tls => State::Tls,
        AppProto::Dns => State::Dns,
        AppProto::Ssh => State::Ssh,
        AppProto::Ftp => State::Ftp,
    }
}

fn rec_len(h: &[u8]) -> usize {
    match h {
        [_, _, _, a, b, ..] => usize::from(u16::from_be_bytes([*a, *b])),
        _ => 0,
    }
}

fn push_bounded(v: &mut Vec<u64>, tx: u64) {
    if v.len() >= 16 {
        v.remove(0);
    }
    v.push(tx);
}

/// The length of a complete HTTP head at the start of `b`, as the (lenient, libhtp-like)
/// parsers of [`crate::http`] delimit it; None while it is incomplete or unparsable.
fn http_head_len(b: &[u8]) -> Option<usize> {
    let body = if crate::http::is_response_start(b) {
        let r = crate::http::Response::parse(b).ok()?;
        r.headers_complete().then(|| r.body().len())?
    } else {
        let r = crate::http::Request::parse(b).ok()?;
        r.headers_complete().then(|| r.body().len())?
    };
    b.len().checked_sub(body)
}

/// The end of an HTTP head (after the empty line) in `b`, accepting bare LF line ends: the
/// fallback when the parsers reject the head.
fn head_end(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(n) = memchr::memchr(b'\n', b.get(i..)?) {
        let nl = i + n;
        match b.get(nl + 1) {
            Some(b'\n') => return Some(nl + 2),
            Some(b'\r') if b.get(nl + 2) == Some(&b'\n') => return Some(nl + 3),
            _ => {}
        }
        i = nl + 1;
    }
    None
}

fn content_length(v: Option<&[u8]>) -> Option<u64> {
    let v = v?;
    let s = std::str::from_utf8(v).ok()?.trim();
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(p: &FlowParser, ts: bool) -> Vec<(Vec<u8>, u64, bool)> {
        p.messages(ts)
            .map(|m| (m.bytes.to_vec(), m.tx_id, m.complete))
            .collect()
    }

    #[test]
    fn http_request_over_three_segments() {
        let mut p = FlowParser::new(AppConfig::default(), 40000, 80);
        p.begin_packet();
        p.data(true, b"GET /ind");
        assert_eq!(p.proto(), Some(AppProto::Http));
        assert_eq!(msgs(&p, true), [], "no complete line yet");
        p.begin_packet();
        p.data(true, b"ex.html HTTP/1.1\r\nHost: a\r\nAcc");
        assert_eq!(
            msgs(&p, true),
            [(
                b"GET /index.html HTTP/1.1\r\nHost: a\r\n".to_vec(),
                0,
                false
            )],
            "complete lines only"
        );
        p.begin_packet();
        p.data(true, b"ept: */*\r\n");
        p.begin_packet();
        p.data(true, b"\r\n");
        let m = msgs(&p, true);
        assert_eq!(m.len(), 1);
        assert_eq!(
            m[0].0,
            b"GET /index.html HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n"
        );
        assert!(m[0].2, "the head completes the request");
        let r = crate::http::Request::parse(&m[0].0).unwrap();
        assert_eq!(r.uri_raw, b"/index.html");
        // The next request is transaction 1.
        p.begin_packet();
        p.data(true, b"GET /2 HTTP/1.1\r\n\r\n");
        assert_eq!(msgs(&p, true)[0].1, 1);
    }

    #[test]
    fn http_bodies_by_length_and_chunks_and_pipelining() {
        let mut p = FlowParser::new(AppConfig::default(), 40000, 80);
        p.begin_packet();
        p.data(true, b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab");
        assert_eq!(msgs(&p, true)[0].2, false);
        p.begin_packet();
        p.data(true, b"cdeGET /x HTTP/1.1\r\n\r\n");
        let m = msgs(&p, true);
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(m[0].0.ends_with(b"\r\n\r\nabcde") && m[0].2 && m[0].1 == 0);
        assert_eq!(m[1].0, b"GET /x HTTP/1.1\r\n\r\n");
        assert_eq!(m[1].1, 1);
        // A chunked response, cut inside the chunk framing.
        p.begin_packet();
        p.data(
            false,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab",
        );
        p.begin_packet();
        p.data(false, b"c\r\n0\r\n\r\nHTTP/1.1 304 NM\r\n\r\n");
        let m = msgs(&p, false);
        assert_eq!(m.len(), 2);
        assert!(m[0].0.ends_with(b"3\r\nabc\r\n0\r\n\r\n"));
        assert_eq!((m[0].1, m[1].1), (0, 1));
        let r = crate::http::Response::parse(&m[0].0).unwrap();
        assert_eq!(crate::http::dechunk(r.body()), b"abc");
    }

    #[test]
    fn an_answer_without_status_line_is_an_http09_response() {
        let mut p = FlowParser::new(AppConfig::default(), 40000, 80);
        p.data(true, b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
        p.begin_packet();
        p.data(false, b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR");
        p.begin_packet();
        p.data(false, b"-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*");
        p.end(false);
        let m: Vec<_> = p.messages(false).collect();
        assert_eq!(m.len(), 1);
        assert!(m[0].complete && m[0].tx_id == 0);
        let Some(crate::Parsed::HttpResponse(r)) =
            crate::parse_as(AppProto::Http, m[0].bytes, Transport::Tcp)
        else {
            panic!("not a response");
        };
        assert!(r.body().starts_with(b"X5O!") && r.body().ends_with(b"H+H*"));
        // Bytes after a response are more of its body, not another response.
        let mut q = FlowParser::new(AppConfig::default(), 40000, 80);
        q.data(false, b"HTTP/1.1 200 OK\r\n\r\n");
        q.begin_packet();
        q.data(false, b"junk junk junk junk\r\n");
        assert!(q.messages(false).all(|m| m.bytes.starts_with(b"HTTP/1.1")));
    }

    #[test]
    fn an_sslv2_client_hello_is_read_as_the_tls_hello_it_stands_for() {
        // SSLv2 header (len 0x2e), CLIENT-HELLO, version 3.1, 2 specs (one SSLv2-only), no
        // session id, a 16-byte challenge.
        let mut h = vec![0x80, 0x2e - 0x0b, 1, 3, 1, 0, 6, 0, 0, 0, 16];
        h.extend_from_slice(&[0x07, 0x00, 0xc0, 0x00, 0x00, 0x2f]);
        h.extend_from_slice(&[0xaa; 16]);
        h[1] = (h.len() - 2) as u8;
        let mut p = FlowParser::new(AppConfig::default(), 40000, 443);
        // Cut inside the header and the body.
        p.data(true, &h[..1]);
        p.data(true, &h[1..9]);
        assert_eq!(p.proto(), Some(AppProto::Tls));
        p.data(true, &h[9..]);
        let m: Vec<_> = p.messages(true).collect();
        assert_eq!(m.len(), 1);
        let Some(crate::Parsed::TlsClientHello(ch)) =
            crate::parse_as(AppProto::Tls, m[0].bytes, Transport::Tcp)
        else {
            panic!("not a ClientHello: {:?}", m[0].bytes);
        };
        assert_eq!((ch.version, ch.cipher_suites), (0x0301, &[0x00, 0x2f][..]));
        // A bad SSLv2 record turns the parser off.
        let mut p = FlowParser::new(AppConfig::default(), 40000, 443);
        let mut bad = h.clone();
        bad[10] = 3; // a 3-byte challenge
        p.data(true, &bad);
        assert_eq!(p.messages(true).count(), 0);
    }

    #[test]
    fn a_record_of_unknown_type_raises_invalid_record_type() {
        let mut p = FlowParser::new(AppConfig::default(), 40000, 443);
        p.data(true, &[0x16, 3, 1, 0, 4, 1, 0, 0, 0]);
        p.begin_packet();
        p.data(true, &[0x42, 3, 3, 0, 1, 0]);
        let m: Vec<_> = p.messages(true).collect();
        assert_eq!(m.len(), 1);
        assert!(m[0].flow_events.contains(AppEvent::TlsInvalidRecordType));
        // The parser is off afterwards.
        p.begin_packet();
        p.data(true, &[0x16, 3, 1, 0, 4, 1, 0, 0, 0]);
        assert_eq!(p.messages(true).count(), 0);
    }

    #[test]
    fn each_direction_is_detected_and_a_mismatch_is_an_event() {
        let ev = |p: &FlowParser, e| p.messages(false).any(|m| m.flow_events.contains(e));
        // HTTP to an SSH server.
        let mut p = FlowParser::new(AppConfig::default(), 40000, 80);
        p.data(true, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        p.begin_packet();
        p.data(false, b"SSH-2.0-OpenSSH_8.9\r\n");
        assert!(ev(&p, AppEvent::AppLayerMismatchProtocolBothDirections));
        p.begin_packet();
        p.data(false, b"HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!(
            p.messages(false).count(),
            0,
            "the direction is not parsed any more"
        );
        // A server answer in no known protocol.
        let mut p = FlowParser::new(AppConfig::default(), 40000, 80);
        p.data(true, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        p.begin_packet();
        p.data(false, b"just some bytes, no status line\n");
        p.end(false);
        assert!(ev(&p, AppEvent::AppLayerDetectProtocolOnlyOneDirection));
        // A proper answer raises neither.
        let mut p = FlowParser::new(AppConfig::default(), 40000, 80);
        p.data(true, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        p.begin_packet();
        p.data(false, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        assert!(p.messages(false).all(|m| m.flow_events.is_empty()));
    }

    #[test]
    fn bytes_after_a_request_are_an_unexpected_body() {
        let mut p = FlowParser::new(AppConfig::default(), 40000, 80);
        p.begin_packet();
        p.data(true, b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nab");
        let ev = |p: &FlowParser| {
            p.messages(true)
                .map(|m| m.flow_events.contains(AppEvent::HttpRequestBodyUnexpected))
                .collect::<Vec<_>>()
        };
        assert_eq!(ev(&p), [false]);
        p.begin_packet();
        p.data(true, b"\r\n");
        // The request is shown again, with the event.
        assert_eq!(ev(&p), [true]);
        // The next request starts clean.
        p.begin_packet();
        p.data(true, b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(ev(&p), [false]);
    }

    #[test]
    fn interim_response_shares_the_transaction_and_trailing_bytes_are_body() {
        let mut p = FlowParser::new(AppConfig::default(), 40000, 80);
        p.data(true, b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
        p.begin_packet();
        p.data(false, b"HTTP/1.1 100 Continue\r\n\r\n");
        assert_eq!(msgs(&p, false)[0].1, 0);
        p.begin_packet();
        p.data(false, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab");
        p.begin_packet();
        p.data(false, b"not a status line, more body\r\n");
        let m = msgs(&p, false);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].1, 0, "the final response is transaction 0 too");
        assert!(m[0]
            .0
            .ends_with(b"\r\n\r\nabnot a status line, more body\r\n"));
        // The next response is transaction 1.
        p.begin_packet();
        p.data(false, b"HTTP/1.1 204 No Content\r\n\r\n");
        assert_eq!(msgs(&p, false).last().unwrap().1, 1);
    }

    #[test]
    fn body_limit_bounds_memory() {
        let cfg = AppConfig {
            head_limit: 100,
            request_body_limit: 10,
            ..AppConfig::default()
        };
        let mut p = FlowParser::new(cfg, 1, 80);
        p.data(true, b"POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n");
        for _ in 0..100 {
            p.begin_packet();
            p.data(true, b"0123456789");
        }
        let m = msgs(&p, true);
        assert!(m[0].0.len() <= 110);
        assert!(m[0].2, "the body is complete");
    }

    #[test]
    fn tls_client_hello_over_segments_and_records() {
        let hello = crate::tls::tests::client_hello(b"www.example.com");
        // Cut the handshake into two records, and the bytes into segments.
        let hs = &hello[5..];
        let (a, b) = hs.split_at(20);
        let mut wire = vec![0x16, 3, 1];
        wire.extend_from_slice(&(a.len() as u16).to_be_bytes());
        wire.extend_from_slice(a);
        wire.extend_from_slice(&[0x16, 3, 1]);
        wire.extend_from_slice(&(b.len() as u16).to_be_bytes());
        wire.extend_from_slice(b);
        let mut p = FlowParser::new(AppConfig::default(), 40000, 443);
        let mut seen = None;
        for part in wire.chunks(7) {
            p.begin_packet();
            p.data(true, part);
            if let Some(m) = p.messages(true).last() {
                if let Ok(ch) = crate::tls::ClientHello::parse(m.bytes) {
                    seen = ch.sni.map(|s| s.to_vec());
                }
            }
        }
        assert_eq!(p.proto(), Some(AppProto::Tls));
        assert_eq!(seen.as_deref(), Some(&b"www.example.com"[..]));
        assert!(p.messages(true).all(|m| m.tx_id == 0));
    }

    #[test]
    fn tls_handshake_stays_the_message_when_other_records_follow() {
        // ServerHello record, ChangeCipherSpec, application data: one segment.
        let mut wire = vec![0x16, 3, 3, 0, 6, 2, 0, 0, 2, 3, 3];
        wire.extend_from_slice(&[0x14, 3, 3, 0, 1, 1, 0x17, 3, 3, 0, 2, 0xaa, 0xbb]);
        let mut p = FlowParser::new(AppConfig::default(), 443, 40000);
        p.begin_packet();
        p.data(false, &wire);
        let m: Vec<_> = p.messages(false).collect();
        assert_eq!(m.len(), 1);
        assert_eq!(
            m[0].bytes,
            &wire[..11],
            "the handshake, not the last record's header"
        );
        // The next packet with only application data shows that record.
        p.begin_packet();
        p.data(false, &[0x17, 3, 3, 0, 1, 0xcc]);
        let m: Vec<_> = p.messages(false).collect();
        assert_eq!(m[0].bytes, [0x17, 3, 3, 0, 1]);
    }

    #[test]
    fn dns_over_tcp_is_framed() {
        let q = crate::dns::tests::query(b"\x07example\x03com\x00", 7);
        let mut wire = (q.len() as u16).to_be_bytes().to_vec();
        wire.extend_from_slice(&q);
        let mut p = FlowParser::new(AppConfig::default(), 40000, 53);
        p.data(true, &wire[..5]);
        p.begin_packet();
        p.data(true, &wire[5..]);
        let m: Vec<_> = p.messages(true).collect();
        assert_eq!(m.len(), 1);
        assert!(crate::dns::parse_tcp(m[0].bytes).is_ok());
    }

    #[test]
    fn ftp_commands_and_replies_are_messages_with_tx_ids() {
        let mut p = FlowParser::new(AppConfig::default(), 40000, 21);
        p.begin_packet();
        p.data(false, b"220-Welcome\r\n220 ready\r\n");
        assert_eq!(p.proto(), Some(AppProto::Ftp));
        assert_eq!(
            msgs(&p, false),
            [(b"220-Welcome\r\n220 ready\r\n".to_vec(), 0, true)]
        );
        p.begin_packet();
        p.data(true, b"USER anon");
        assert_eq!(msgs(&p, true), [(b"USER anon".to_vec(), 0, false)]);
        p.begin_packet();
        p.data(true, b"ymous\r\nPASS x\r\nPO");
        assert_eq!(
            msgs(&p, true),
            [
                (b"USER anonymous\r\n".to_vec(), 0, true),
                (b"PASS x\r\n".to_vec(), 1, true),
                (b"PO".to_vec(), 2, false),
            ]
        );
        // A gap skips the cut line; the next line is a message again.
        p.begin_packet();
        p.gap(true, 10);
        p.data(true, b"RT 1,2,3,4,5,6\r\nRETR f\r\n");
        assert_eq!(msgs(&p, true), [(b"RETR f\r\n".to_vec(), 3, true)]);
        let m = p.messages(true).next().unwrap();
        assert!(matches!(
            crate::parse_as(m.proto, m.bytes, Transport::Tcp),
            Some(crate::Parsed::FtpCommand(c)) if c.verb == b"RETR"
        ));
    }

    #[test]
    fn ftp_hostile_stream_stays_bounded() {
        // Pseudo-random lines (digits, dashes, letters, long runs, bare CR/LF) cut at
        // random points: no panic, and no message grows past a reply's bound.
        let mut p = FlowParser::new(AppConfig::default(), 40000, 21);
        p.begin_packet();
        p.data(false, b"220-x\r\n");
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let alphabet = b"2220- \r\nUSERPORT,9";
        for round in 0..2000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 9000) as usize;
            let chunk: Vec<u8> = (0..len)
                .map(|i| {
                    let r = seed.rotate_left((i % 64) as u32) as usize + i;
                    if round % 7 == 0 {
                        b'A'
                    } else {
                        alphabet[r % alphabet.len()]
                    }
                })
                .collect();
            p.begin_packet();
            p.data(round % 2 == 0, &chunk);
            if round % 97 == 0 {
                p.gap(round % 3 == 0, 5);
            }
            for ts in [true, false] {
                for m in p.messages(ts) {
                    assert!(m.bytes.len() <= crate::ftp::MAX_REPLY + crate::ftp::MAX_LINE + 1);
                    let _ = crate::parse_as(m.proto, m.bytes, Transport::Tcp);
                }
            }
        }
        assert_eq!(p.proto(), Some(AppProto::Ftp));
    }

    #[test]
    fn ssh_banner_and_kexinit_over_segments() {
        let client = crate::ssh::tests::client_start();
        let mut p = FlowParser::new(AppConfig::default(), 40000, 22);
        p.begin_packet();
        p.data(false, b"SSH-2.0-OpenSSH_7.4\r\n");
        assert_eq!(p.proto(), Some(AppProto::Ssh), "the server speaks first");
        let mut kex = None;
        for part in client.chunks(9) {
            p.begin_packet();
            p.data(true, part);
            let m: Vec<_> = p.messages(true).collect();
            assert_eq!(m.len(), 1);
            assert_eq!(m[0].tx_id, 0);
            if let Some(k) = crate::ssh::SshMessage::parse(m[0].bytes)
                .ok()
                .and_then(|s| s.kexinit)
            {
                kex = Some(k.hassh_string());
            }
        }
        assert!(kex.is_some_and(|k| k.starts_with(b"curve25519-sha256")));
        // Encrypted packets still touch the message; nothing more is kept.
        p.begin_packet();
        p.data(true, &[0xee; 64]);
        let m: Vec<_> = p.messages(true).collect();
        assert_eq!(m.len(), 1);
        assert!(m[0].complete && m[0].bytes == &client[..]);
        let s = crate::ssh::SshMessage::parse(m[0].bytes).unwrap();
        assert_eq!(s.banner.unwrap().software_version, b"OpenSSH_9.6");
        let srv: Vec<_> = p.messages(false).collect();
        assert!(
            srv.is_empty(),
            "the server message was not touched by this packet"
        );
    }

    #[test]
    fn gap_resynchronises_http() {
        let mut p = FlowParser::new(AppConfig::default(), 40000, 80);
        p.data(true, b"GET /a HTTP/1.1\r\nHo");
        p.gap(true, 100);
        p.begin_packet();
        p.data(true, b"garbage line\r\nGET /b HTTP/1.1\r\n\r\n");
        let m = msgs(&p, true);
        assert_eq!(m.last().unwrap().0, b"GET /b HTTP/1.1\r\n\r\n");
    }

    #[test]
    fn unknown_protocol_is_not_kept() {
        let mut p = FlowParser::new(AppConfig::default(), 40000, 5000);
        p.data(true, b"HELO there, not a known protocol\r\n");
        p.data(true, &[0u8; 5000]);
        assert_eq!(p.proto(), None);
        assert_eq!(p.messages(true).count(), 0);
    }
}
