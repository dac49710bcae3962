//! Compiling one [`ParsedRule`] into a [`Rule`]: every keyword parsed once into a typed
//! struct, ready to be matched many times.
//!
//! Unsupported keywords (app-layer sticky buffers, `http_*` modifiers, `flowint`, ...) are
//! collected per rule and the rule is skipped with the list; bad values make the rule
//! invalid. Nothing here panics on hostile input.

use std::sync::Arc;

use crate::classification::Classifications;
use crate::error::{Position, RuleProblem};
use crate::matchers::{
    BtOp, Buffer, ByteExtract, ByteJump, ByteTest, Content, Endian, FlagsMatch, FlowCheck,
    FlowbitCmd, FragbitsMatch, IsDataAt, PacketCheck, PayloadOp, PcreOp, Slot, Threshold, UintCond,
    Val,
};
use crate::parse::{split_commas, unescape, unquote, Action, Direction, ParsedRule, RuleOption};
use crate::vars::{IpSet, PortSet, Vars};

/// What a rule says about itself: everything an alert output needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuleMeta {
    /// The action.
    pub action: Action,
    /// Generator id (`gid`, default 1).
    pub gid: u32,
    /// Signature id (`sid`).
    pub sid: u32,
    /// Revision (`rev`, default 0).
    pub rev: u32,
    /// `msg`, unescaped.
    pub msg: String,
    /// `classtype` name.
    pub classtype: Option<String>,
    /// The classtype's description (EVE `alert.category`), empty without classtype.
    pub category: String,
    /// Priority (EVE `alert.severity`): `priority` keyword, else the classtype's, else 3.
    pub priority: u8,
    /// `reference` values as written (`type,id`).
    pub references: Vec<String>,
    /// `metadata` entries (`key value`), in order.
    pub metadata: Vec<String>,
    /// `target`: which side of the alert is the target.
    pub target: Option<Target>,
    /// `noalert` (or `flowbits:noalert`): the rule never alerts, but its actions still apply.
    pub noalert: bool,
    /// The `alert` keyword: a `pass` rule that also logs an alert (Suricata 7).
    pub alert_on_pass: bool,
    /// `bypass`: when the rule matches, the rest of its flow is no longer inspected (the
    /// caller accepts it without detection; a live driver may bypass it in the kernel).
    pub bypass: bool,
    /// Suricata's "IP-only" rule: ports `any` (or a protocol without ports), and only keywords
    /// that do not look at the packet beyond addresses (no payload, header, `flow` or flowbits
    /// checks). Suricata applies `drop`/`pass` of such rules to the whole flow.
    pub ip_only: bool,
    /// The rule inspects the transport payload (content, pcre, byte_*, isdataat on the
    /// payload buffer). In IPS mode Suricata inspects TCP payload as stream data, so a
    /// matching `drop` of such a TCP rule drops the flow.
    pub inspects_payload: bool,
    /// `flow:no_stream` (the rule only looks at single packets) or `flow:only_stream`
    /// (`Some(true)`), as written.
    pub stream: Option<bool>,
    /// Where the rule was defined.
    pub position: Position,
    /// The rule text.
    pub text: String,
}

/// `target:src_ip` / `target:dest_ip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The source is the target.
    SrcIp,
    /// The destination is the target.
    DestIp,
}

/// The protocol part of the header, as matched against a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proto {
    /// `ip`, `pkthdr`: every packet.
    Any,
    /// `ipv4`/`ip4`.
    V4,
    /// `ipv6`/`ip6`.
    V6,
    Tcp,
    /// `tcp-stream`: only reassembled stream data.
    TcpStream,
    Udp,
    /// `icmp`: ICMPv4 and ICMPv6.
    IcmpAny,
    Icmp4,
    Icmp6,
    /// Another IP protocol by number (`sctp` is 132).
    Number(u8),
    /// An app-layer protocol (`http`, `tls`, `dns`): packets whose payload
    /// `verdict_applayer` detects as that protocol.
    App(verdict_applayer::AppProto),
}

/// Suricata's flowbits ordering classes: rules that only set before rules that set and read,
/// before rules that only read, before rules without flowbits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum FlowbitsClass {
    Set = 0,
    SetRead = 1,
    Read = 2,
    None = 3,
}

/// A compiled rule.
#[derive(Debug)]
pub(crate) struct Rule {
    pub meta: Arc<RuleMeta>,
    pub proto: Proto,
    pub src: IpSet,
    pub src_ports: PortSet,
    pub dst: IpSet,
    pub dst_ports: PortSet,
    pub bidir: bool,
    pub checks: Vec<PacketCheck>,
    pub flow: Option<FlowCheck>,
    pub flowbits: Vec<FlowbitCmd>,
    /// `xbits` and `hostbits` keywords, in rule order.
    pub xbits: Vec<crate::xbits::XbitCmd>,
    pub flowints: Vec<crate::matchers::FlowintCmd>,
    pub payload: Vec<PayloadOp>,
    /// Payload keyword chains on other buffers (`ipv4.hdr`, `tcp.hdr`, `http.uri`, ...), by
    /// buffer and transform list.
    pub header_chains: Vec<(Slot, Vec<PayloadOp>)>,
    /// `bsize` conditions, by the buffer they follow.
    pub bsizes: Vec<(Slot, UintCond)>,
    /// The rule's transform lists (`dotprefix`, `xor`, `from_base64`, ...), each in rule
    /// order; a [`Slot`]'s `xf` indexes them from 1.
    pub transforms: Vec<Vec<crate::matchers::Transform>>,
    /// `stream_size` conditions (TCP only; need the flow's state).
    pub stream_sizes: Vec<crate::matchers::StreamSize>,
    /// `flow.age` conditions, in whole seconds since the flow's first packet.
    pub flow_ages: Vec<UintCond>,
    /// `absent` checks, by buffer.
    pub absents: Vec<(Slot, crate::matchers::Absent)>,
    /// `dataset`/`datarep` keywords, by the buffer they follow (sets resolved when the rule
    /// set is compiled).
    pub datasets: Vec<(Slot, crate::dataset::DatasetUse)>,
    /// App-layer integer keywords (`dns.opcode`, `dns.rcode`).
    pub app_ints: Vec<(crate::app::AppInt, UintCond)>,
    /// `app-layer-protocol` checks: (protocol, negated).
    pub app_protos: Vec<(verdict_applayer::AppProto, bool)>,
    pub extract_vars: usize,
    pub threshold: Option<Threshold>,
    pub detection_filter: Option<Threshold>,
    /// The fast pattern: bytes, nocase and the buffer it must occur in (`Payload` for the
    /// packet, stream or message bytes), when the rule has a positive content.
    pub prefilter: Option<(Vec<u8>, bool, Buffer)>,
    pub flowbits_class: FlowbitsClass,
    /// The same classes for `xbits`/`hostbits` (Suricata orders by them after flowbits).
    pub xbits_class: FlowbitsClass,
    /// Suricata's IP-only rule type (`SIG_TYPE_IPONLY`): only addresses, ports, protocol
    /// and IP-only compatible keywords (`flowbits:set`, thresholds), no negated address.
    /// On a packet with a flow such a rule is evaluated on the first packet of each
    /// direction only.
    pub once_per_direction: bool,
    /// A transactional (`=>`) rule's parts, one per inspected buffer, each compiled as a
    /// rule of its own (see `transactional.rs`); empty for other rules.
    pub parts: Vec<Rule>,
}

const APP_LAYER_PROTOS: &[&str] = &[
    "http",
    "http1",
    "http2",
    "ftp",
    "ftp-data",
    "tls",
    "ssl",
    "smb",
    "dns",
    "dcerpc",
    "ssh",
    "smtp",
    "imap",
    "pop3",
    "modbus",
    "dnp3",
    "enip",
    "nfs",
    "ikev2",
    "ike",
    "krb5",
    "ntp",
    "dhcp",
    "rfb",
    "rdp",
    "snmp",
    "tftp",
    "sip",
    "mqtt",
    "pgsql",
    "telnet",
    "quic",
    "websocket",
    "ldap",
    "bittorrent-dht",
    "irc",
    "msn",
    "template",
    "doh2",
    "cip",
    "pop",
    "mdns",
];

/// Keywords that select an app-layer (or other non-payload) buffer: not supported yet.
fn is_sticky_buffer(name: &str) -> bool {
    name.starts_with("http.")
        || name.starts_with("http_")
        || name.starts_with("tls.")
        || name.starts_with("tls_")
        || name.starts_with("dns.")
        || name.starts_with("dns_")
        || name.starts_with("ssh.")
        || name.starts_with("ssh_")
        || name.starts_with("smb.")
        || name.starts_with("file.")
        || name.starts_with("krb5")
        || name.starts_with("sip.")
        || name.starts_with("ja3")
        || name.starts_with("ja4")
        || name.starts_with("quic.")
        || name.starts_with("mqtt.")
        || name.starts_with("smtp.")
        || name.starts_with("ftp.")
        || name.starts_with("dcerpc.")
        || name.starts_with("snmp.")
        || name.starts_with("ike.")
        || name.starts_with("rfb.")
        || name.starts_with("sni")
        || matches!(
            name,
            "file_data"
                | "uricontent"
                | "urilen"
                | "tcp.hdr"
                | "udp.hdr"
                | "ipv4.hdr"
                | "ipv6.hdr"
                | "icmpv4.hdr"
                | "icmpv6.hdr"
                | "bsize"
                | "filemagic"
                | "filename"
                | "fileext"
                | "filestore"
                | "filemd5"
                | "filesha1"
                | "filesha256"
                | "filesize"
                | "dnp3_data"
                | "dnp3_func"
                | "dnp3_ind"
                | "dnp3_obj"
                | "modbus"
                | "app-layer-protocol"
                | "dce_iface"
                | "dce_opnum"
                | "dce_stub_data"
                | "ssl_state"
                | "ssl_version"
                | "tls_cert_subject"
                | "flowint"
                | "flowvar"
                | "pktvar"
                | "tag"
                | "asn1"
                | "lua"
                | "luajit"
                | "replace"
                | "byte_math"
                | "entropy"
                | "dataset"
                | "datarep"
                | "iprep"
                | "geoip"
                | "tcp.flags"
                | "icmpv6.mtu"
                | "ipv6.hlim"
                | "transform"
                | "stream_event"
                | "decode-event"
                | "engine-event"
                | "app-layer-state"
                | "frame"
                | "bypass"
                | "config"
                | "rpc"
                | "ssh_proto"
                | "ssh_software"
                | "template2"
                | "l3_proto"
                | "ip.dst"
                | "ip.src"
                | "flow.pkts"
                | "flow.bytes"
                | "nfs_procedure"
        )
}

struct Ctx<'a> {
    problems: Vec<RuleProblem>,
    opt: &'a RuleOption,
}

impl Ctx<'_> {
    fn invalid(&mut self, reason: impl Into<String>) {
        self.problems.push(RuleProblem::Invalid {
            keyword: self.opt.name.clone(),
            position: self.opt.position.clone(),
            reason: reason.into(),
        });
    }
    fn unsupported(&mut self, keyword: impl Into<String>, reason: impl Into<String>) {
        self.problems.push(RuleProblem::Unsupported {
            keyword: keyword.into(),
            reason: reason.into(),
        });
    }
}

fn parse_num<T: std::str::FromStr>(s: &str) -> Option<T> {
    s.trim().parse().ok()
}

fn parse_int_auto(s: &str) -> Option<u64> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else {
        s.parse().ok()
    }
}

/// Keywords Verdict implements (besides sticky buffers, legacy content modifiers, checksum
/// keywords and transforms), for `requires: keyword NAME`.
const KNOWN_KEYWORDS: &[&str] = &[
    "msg",
    "sid",
    "rev",
    "gid",
    "classtype",
    "priority",
    "reference",
    "metadata",
    "target",
    "noalert",
    "alert",
    "content",
    "uricontent",
    "nocase",
    "offset",
    "depth",
    "distance",
    "within",
    "startswith",
    "endswith",
    "fast_pattern",
    "rawbytes",
    "pcre",
    "isdataat",
    "byte_test",
    "byte_jump",
    "byte_extract",
    "dsize",
    "bsize",
    "urilen",
    "absent",
    "base64_decode",
    "base64_data",
    "app-layer-protocol",
    "ftpbounce",
    "ftp.mode",
    "ftp.dynamic_port",
    "decode-event",
    "stream-event",
    "vlan.id",
    "ttl",
    "tos",
    "id",
    "ipopts",
    "fragbits",
    "fragoffset",
    "ip_proto",
    "sameip",
    "flags",
    "tcp.flags",
    "seq",
    "ack",
    "window",
    "tcp.mss",
    "sctp.vtag",
    "sctp.chunk_type",
    "sctp.chunk_cnt",
    "itype",
    "icode",
    "icmp_id",
    "icmp_seq",
    "flow",
    "flowbits",
    "flowint",
    "xbits",
    "hostbits",
    "threshold",
    "detection_filter",
    "prefilter",
    "dns.opcode",
    "dns.rcode",
    "tls.version",
    "ssl_version",
    "ssl_state",
    "tls.subject",
    "tls.issuerdn",
    "tls.fingerprint",
    "ssh.protoversion",
    "ssh.softwareversion",
    "requires",
    "stream_size",
    "flow.age",
];

/// True if Verdict implements keyword `k` (what `requires: keyword k` asks).
pub(crate) fn keyword_known(k: &str) -> bool {
    KNOWN_KEYWORDS.contains(&k)
        || Buffer::from_keyword(k).is_some()
        || Buffer::from_modifier(k).is_some()
        || crate::matchers::CsumKind::from_keyword(k).is_some()
        || (crate::matchers::Transform::is_keyword(k)
            && !crate::transform::UNSUPPORTED_TRANSFORMS
                .iter()
                .any(|(n, _)| *n == k))
}

/// The chain of the `base64_data` keywords while a rule is read (moved into its
/// `base64_decode` afterwards).
const BASE64_DATA: Slot = Slot {
    buf: Buffer::Payload,
    xf: usize::MAX,
};

/// Compiles a parsed rule. Errors list every problem found (unsupported and invalid).
pub(crate) fn compile_rule(
    p: &ParsedRule,
    vars: &Vars,
    classes: &Classifications,
) -> Result<Rule, Vec<RuleProblem>> {
    if p.direction == Direction::Transactional {
        return crate::transactional::compile(p, vars, classes);
    }
    let mut problems: Vec<RuleProblem> = Vec::new();
    let header_invalid = |kw: &str, reason: String| RuleProblem::Invalid {
        keyword: kw.to_string(),
        position: p.position.clone(),
        reason,
    };

    let proto = match p.proto.as_str() {
        "ip" | "pkthdr" => Some(Proto::Any),
        "ipv4" | "ip4" => Some(Proto::V4),
        "ipv6" | "ip6" => Some(Proto::V6),
        "tcp" | "tcp-pkt" => Some(Proto::Tcp),
        "tcp-stream" => Some(Proto::TcpStream),
        "udp" => Some(Proto::Udp),
        "icmp" => Some(Proto::IcmpAny),
        "icmpv4" => Some(Proto::Icmp4),
        "icmpv6" => Some(Proto::Icmp6),
        "sctp" => Some(Proto::Number(132)),
        other if verdict_applayer::AppProto::from_name(other).is_some() => {
            verdict_applayer::AppProto::from_name(other).map(Proto::App)
        }
        other if APP_LAYER_PROTOS.contains(&other) => {
            problems.push(RuleProblem::Unsupported {
                keyword: format!("protocol {other}"),
                reason: if other == "ftp-data" {
                    "the FTP data channel (files) is not parsed, only the control channel \
                     (`ftp`); the rule is skipped"
                        .into()
                } else {
                    "only http, tls, dns, ssh and ftp are detected yet; the rule is skipped".into()
                },
            });
            None
        }
        other => {
            // Suricata knows many more app-layer and link-layer names (llmnr, arp, ...):
            // report them as unsupported rather than guess whether the name is valid.
            problems.push(RuleProblem::Unsupported {
                keyword: format!("protocol {other}"),
                reason: "this protocol is not implemented; the rule is skipped".into(),
            });
            None
        }
    };

    let mut resolve_a = |e, what: &str| match vars.resolve_addr(e) {
        Ok(s) => s,
        Err(m) => {
            problems.push(header_invalid(what, m));
            IpSet::empty()
        }
    };
    let src = resolve_a(&p.src_addr, "source address");
    let dst = resolve_a(&p.dst_addr, "destination address");
    let mut resolve_p = |e, what: &str| match vars.resolve_ports(e) {
        Ok(s) => s,
        Err(m) => {
            problems.push(header_invalid(what, m));
            PortSet::empty()
        }
    };
    let src_ports = resolve_p(&p.src_ports, "source port");
    let dst_ports = resolve_p(&p.dst_ports, "destination port");

    let mut meta = RuleMeta {
        action: p.action,
        gid: 1,
        sid: 0,
        rev: 0,
        msg: String::new(),
        classtype: None,
        category: String::new(),
        priority: 3,
        references: Vec::new(),
        metadata: Vec::new(),
        target: None,
        noalert: false,
        alert_on_pass: false,
        bypass: false,
        ip_only: false,
        inspects_payload: false,
        stream: None,
        position: p.position.clone(),
        text: p.text.clone(),
    };
    let mut have_sid = false;
    let mut explicit_priority = None;
    let mut checks = Vec::new();
    let mut flow = None;
    let mut flowbits = Vec::new();
    let mut xbits: Vec<crate::xbits::XbitCmd> = Vec::new();
    let mut flowints: Vec<crate::matchers::FlowintCmd> = Vec::new();
    let mut payload: Vec<PayloadOp> = Vec::new();
    let mut extract_names: Vec<String> = Vec::new();
    let mut threshold = None;
    let mut detection_filter = None;
    // Index in `payload` of the last content (for modifiers), None after a non-content op.
    let mut last_content: Option<usize> = None;
    // The previous payload-inspecting op, for `distance`/`within`/`R` relative checks.
    let mut had_payload_op = false;

    // Set after a keyword selecting a buffer Verdict cannot inspect yet: the payload keywords
    // that follow belong to that buffer, so they are neither compiled nor validated.
    let mut foreign_buffer = false;
    // Chains of payload keywords per inspected buffer; `payload` is the chain of
    // `current_buffer` while options are read.
    let mut current_buffer = Slot::plain(Buffer::Payload);
    let mut chains: Vec<(Slot, Vec<PayloadOp>)> = Vec::new();
    // The buffer the last sticky buffer keyword selected (contents without a legacy
    // modifier such as `http_uri` go there).
    let mut sticky = Slot::plain(Buffer::Payload);
    // Transforms may follow a sticky buffer keyword (also after keywords on the plain buffer:
    // they start a transformed copy of it) until a keyword inspects the transformed buffer
    // (Suricata: "transforms must directly follow stickybuffers"); `pkt_data` takes none.
    let mut sticky_fresh = false;
    // Transforms given but not yet used by a keyword (Suricata: "previous transforms not
    // consumed" when another buffer is selected then).
    let mut transforms_pending = false;
    let mut bsizes: Vec<(Slot, UintCond)> = Vec::new();
    let mut datasets: Vec<(Slot, crate::dataset::DatasetUse)> = Vec::new();
    let mut app_protos: Vec<(verdict_applayer::AppProto, bool)> = Vec::new();
    let mut transforms: Vec<Vec<crate::matchers::Transform>> = Vec::new();
    // Per transform list, the keywords and values that built it (lists are equal when these
    // are: then the buffer and its chain are shared, as in Suricata).
    let mut transform_ids: Vec<Vec<(String, String)>> = Vec::new();
    let mut absents: Vec<(Slot, crate::matchers::Absent)> = Vec::new();
    let mut stream_sizes: Vec<crate::matchers::StreamSize> = Vec::new();
    let mut flow_ages: Vec<UintCond> = Vec::new();
    let mut app_ints: Vec<(crate::app::AppInt, UintCond)> = Vec::new();
    for (oi, opt) in p.options.iter().enumerate() {
        let mut cx = Ctx {
            problems: Vec::new(),
            opt,
        };
        let name = opt.name.as_str();
        // The keywords of an unsupported buffer belong to it: only the buffer is reported.
        if foreign_buffer && inspects_buffer(name) {
            continue;
        }
        let val = opt.value.as_deref().unwrap_or("");
        let needs_value = |cx: &mut Ctx| {
            if opt.value.is_none() {
                cx.invalid("this keyword needs a value");
                false
            } else {
                true
            }
        };
        match name {
            "msg" => meta.msg = unescape(unquote(val)),
            "sid" => match parse_num::<u32>(val) {
                Some(v) if v > 0 => {
                    meta.sid = v;
                    have_sid = true
                }
                _ => cx.invalid("expected a positive integer"),
            },
            "rev" => match parse_num::<u32>(val) {
                Some(v) => meta.rev = v,
                None => cx.invalid("expected an integer"),
            },
            "gid" => match parse_num::<u32>(val) {
                Some(v) => meta.gid = v,
                None => cx.invalid("expected an integer"),
            },
            "classtype" => {
                let c = val.trim();
                match classes.get(c) {
                    Some(cl) => {
                        meta.classtype = Some(c.to_string());
                        meta.category = cl.description.clone();
                        if explicit_priority.is_none() {
                            meta.priority = cl.priority;
                        }
                    }
                    None => cx.invalid(format!(
                        "unknown classtype `{c}` (not in classification.config; add it there)"
                    )),
                }
            }
            "priority" => match parse_num::<u8>(val) {
                Some(v) if v >= 1 => {
                    explicit_priority = Some(v);
                    meta.priority = v
                }
                _ => cx.invalid("expected an integer 1..255"),
            },
            "reference" => {
                if needs_value(&mut cx) {
                    meta.references.push(val.to_string())
                }
            }
            "metadata" => {
                for m in split_commas(val) {
                    if !m.is_empty() {
                        meta.metadata.push(m.to_string());
                    }
                }
            }
            "target" => match val.trim() {
                "src_ip" => meta.target = Some(Target::SrcIp),
                "dest_ip" => meta.target = Some(Target::DestIp),
                _ => cx.invalid("expected src_ip or dest_ip"),
            },
            "noalert" => meta.noalert = true,
            "bypass" => meta.bypass = true,
            "alert" if opt.value.is_none() => meta.alert_on_pass = true,
            "content" | "uricontent" => {
                // Legacy modifiers (`http_uri`, ...) after the content move it to their
                // buffer; `uricontent` is `content` + `http_uri`.
                let target = if name == "uricontent" {
                    Slot::plain(Buffer::HttpUri)
                } else {
                    legacy_target(&p.options[oi + 1..]).map_or(sticky, Slot::plain)
                };
                if target != current_buffer {
                    switch_buffer(&mut current_buffer, target, &mut payload, &mut chains);
                }
                if needs_value(&mut cx) {
                    match parse_content(val) {
                        Ok((pattern, negated)) => {
                            payload
                                .push(PayloadOp::Content(Box::new(Content::new(pattern, negated))));
                            last_content = Some(payload.len() - 1);
                            had_payload_op = true;
                        }
                        Err(e) => cx.invalid(e),
                    }
                }
            }
            "nocase" | "offset" | "depth" | "distance" | "within" | "startswith" | "endswith"
            | "fast_pattern" | "rawbytes" => {
                let Some(ci) = last_content else {
                    if name != "rawbytes" {
                        cx.invalid("must follow a `content`");
                    }
                    problems.append(&mut cx.problems);
                    continue;
                };
                let relative_base = payload[..ci].iter().any(|o| o.is_payload_inspecting());
                let PayloadOp::Content(c) = &mut payload[ci] else {
                    continue;
                };
                content_modifier(&mut cx, c, name, val, &extract_names, relative_base);
            }
            "pcre" => {
                if needs_value(&mut cx) {
                    match PcreOp::parse(val) {
                        Ok(Ok(op)) => {
                            // An HTTP flag selects the buffer; else a relative pcre stays in
                            // the buffer of the keyword before it and another goes to the
                            // sticky buffer.
                            let target = match op.buffer {
                                Some(b) => Slot::plain(b),
                                None if op.is_relative() => current_buffer,
                                None => sticky,
                            };
                            if target != current_buffer {
                                switch_buffer(
                                    &mut current_buffer,
                                    target,
                                    &mut payload,
                                    &mut chains,
                                );
                                last_content = None;
                            }
                            payload.push(PayloadOp::Pcre(Box::new(op)));
                            had_payload_op = true;
                        }
                        Ok(Err((kw, reason))) => cx.unsupported(kw, reason),
                        Err(e) => cx.invalid(e),
                    }
                }
            }
            "isdataat" => {
                match parse_isdataat(val, &extract_names) {
                    Ok(op) => payload.push(PayloadOp::IsDataAt(op)),
                    Err(e) => cx.invalid(e),
                }
                had_payload_op = true;
            }
            "byte_test" if val.split(',').next().map(str::trim) == Some("0") => {
                cx.unsupported(
                    "byte_test",
                    "0 bytes (the whole buffer read as a number) is not supported yet",
                );
            }
            "byte_test" => {
                match parse_byte_test(val, &extract_names) {
                    Ok(Ok(op)) => payload.push(PayloadOp::ByteTest(op)),
                    Ok(Err(kw)) => cx.unsupported(
                        kw,
                        "DCE/RPC byte ordering needs the dcerpc app-layer parser",
                    ),
                    Err(e) => cx.invalid(e),
                }
                had_payload_op = true;
            }
            "byte_jump" => {
                match parse_byte_jump(val, &extract_names) {
                    Ok(Ok(op)) => payload.push(PayloadOp::ByteJump(op)),
                    Ok(Err(kw)) => cx.unsupported(
                        kw,
                        "DCE/RPC byte ordering needs the dcerpc app-layer parser",
                    ),
                    Err(e) => cx.invalid(e),
                }
                had_payload_op = true;
            }
            "byte_extract" => {
                match parse_byte_extract(val, &mut extract_names) {
                    Ok(Ok(op)) => payload.push(PayloadOp::ByteExtract(op)),
                    Ok(Err(kw)) => cx.unsupported(
                        kw,
                        "DCE/RPC byte ordering needs the dcerpc app-layer parser",
                    ),
                    Err(e) => cx.invalid(e),
                }
                had_payload_op = true;
            }
            k if Buffer::from_keyword(k).is_some() => {
                let to = Buffer::from_keyword(k).unwrap_or(Buffer::Payload);
                if let Some(d) = to.direction() {
                    checks.push(PacketCheck::ToServer(d));
                }
                // `dns.query` (unlike `dns.queries.rrname`) is the names of queries only.
                if matches!(k, "dns.query" | "dns_query") {
                    app_ints.push((crate::app::AppInt::DnsResponse, UintCond::Eq(0)));
                }
                if std::mem::take(&mut transforms_pending) {
                    cx.invalid("the transforms before this buffer keyword are not used by any keyword (put the keywords that inspect the transformed buffer after them)");
                }
                let to = Slot::plain(to);
                switch_buffer(&mut current_buffer, to, &mut payload, &mut chains);
                sticky = to;
                sticky_fresh = k != "pkt_data";
                last_content = None;
                foreign_buffer = false;
            }
            k if Buffer::from_modifier(k).is_some() => {
                // Applied when its content was read (see `legacy_target`).
                if last_content.is_none() {
                    cx.invalid("must follow a `content`");
                }
            }
            "bsize" => match UintCond::parse(val, u64::from(u32::MAX)) {
                Some(c) if current_buffer.buf.is_app() => bsizes.push((current_buffer, c)),
                // After pkt_data or a buffer Verdict does not know (e.g. `email.received`).
                Some(_) => cx.unsupported(
                    "bsize",
                    "bsize is only implemented on the app-layer buffers (http.*, dns.query, tls.sni)",
                ),
                None => cx.invalid("expected N, <N, >N, <=N, >=N, N<>M"),
            },
            "dataset" | "datarep" => {
                let parsed = if name == "dataset" {
                    crate::dataset::parse_dataset(val)
                } else {
                    crate::dataset::parse_datarep(val)
                };
                match parsed {
                    Ok(u) if current_buffer.buf != Buffer::Payload => {
                        datasets.push((current_buffer, u))
                    }
                    Ok(_) => cx.unsupported(
                        name,
                        "datasets need a sticky buffer before them (http.*, dns.query, tls.sni, ja3.hash, ...)",
                    ),
                    Err(e) => match e.strip_prefix(crate::dataset::UNSUPPORTED) {
                        Some(why) => cx.unsupported(name, why),
                        None => cx.invalid(e),
                    },
                }
            }
            "dns.opcode" | "dns.rcode" => {
                let k = if name == "dns.opcode" {
                    crate::app::AppInt::DnsOpcode
                } else {
                    crate::app::AppInt::DnsRcode
                };
                match UintCond::parse(val, 15) {
                    Some(c) => app_ints.push((k, c)),
                    None => cx.invalid("expected [!]N, <N, >N or N-M with N 0..15"),
                }
            }
            "urilen" => {
                // `urilen:[<>]N[<>M][,norm|raw]`: the length of the (normalised) URI.
                let (cond, kind) = match val.split_once(',') {
                    Some((c, k)) => (c, k.trim()),
                    None => (val, "norm"),
                };
                let buf = match kind {
                    "norm" => Some(Buffer::HttpUri),
                    "raw" => Some(Buffer::HttpUriRaw),
                    _ => None,
                };
                match (UintCond::parse(cond, u64::from(u32::MAX)), buf) {
                    (Some(c), Some(b)) => bsizes.push((Slot::plain(b), c)),
                    _ => cx.invalid("expected [<>]N or N<>M, optionally followed by ,norm or ,raw"),
                }
            }
            k if crate::matchers::Transform::is_keyword(k) => {
                if let Some((_, why)) = crate::transform::UNSUPPORTED_TRANSFORMS
                    .iter()
                    .find(|(n, _)| *n == k)
                {
                    cx.unsupported(k, *why);
                } else if foreign_buffer {
                    // The buffer is not inspected (the rule is already unsupported).
                } else if !sticky_fresh || sticky.buf == Buffer::Payload {
                    cx.invalid(
                        "transforms must follow a sticky buffer keyword (e.g. `http.uri; to_lowercase;`), before the keywords that inspect the transformed buffer; pkt_data takes none",
                    );
                } else {
                    // `xor:var NAME`: a byte_extract variable and the bytes it reads.
                    let lookup = |name: &str| {
                        let idx = extract_names.iter().position(|n| n == name)?;
                        let width = payload
                            .iter()
                            .chain(chains.iter().flat_map(|(_, ops)| ops.iter()))
                            .find_map(|o| match o {
                                PayloadOp::ByteExtract(e) if e.var == idx => Some(e.nbytes),
                                _ => None,
                            })
                            .unwrap_or(8)
                            .clamp(1, 8);
                        Some((idx, width))
                    };
                    let parsed = crate::matchers::Transform::parse_with_vars(
                        k,
                        opt.value.as_deref(),
                        &lookup,
                    );
                    match parsed {
                        Ok(t) => {
                            let mut id = match sticky.xf {
                                0 => Vec::new(),
                                i => transform_ids[i - 1].clone(),
                            };
                            id.push((k.to_string(), val.trim().to_string()));
                            let xf = match transform_ids.iter().position(|x| *x == id) {
                                Some(i) => i + 1,
                                None => {
                                    let mut list = match sticky.xf {
                                        0 => Vec::new(),
                                        i => transforms[i - 1].clone(),
                                    };
                                    list.push(t);
                                    transforms.push(list);
                                    transform_ids.push(id);
                                    transforms.len()
                                }
                            };
                            sticky = Slot { buf: sticky.buf, xf };
                            switch_buffer(&mut current_buffer, sticky, &mut payload, &mut chains);
                            last_content = None;
                            sticky_fresh = true;
                            transforms_pending = true;
                        }
                        Err(e) => cx.invalid(e),
                    }
                }
            }
            "base64_decode" => {
                if !foreign_buffer {
                    match crate::matchers::Base64Decode::parse(val) {
                        Ok(d) => {
                            if current_buffer == BASE64_DATA {
                                cx.invalid("base64_decode cannot inspect the base64_data buffer");
                            }
                            payload.push(PayloadOp::Base64Decode(Box::new(d)));
                            last_content = None;
                            had_payload_op = true;
                        }
                        Err(e) => cx.invalid(e),
                    }
                }
            }
            "base64_data" => {
                switch_buffer(&mut current_buffer, BASE64_DATA, &mut payload, &mut chains);
                sticky = BASE64_DATA;
                last_content = None;
                foreign_buffer = false;
            }
            "stream_size" => match crate::matchers::StreamSize::parse(val) {
                Ok(ss) => stream_sizes.push(ss),
                Err(e) => cx.invalid(e),
            },
            "flow.age" => match UintCond::parse(val, u64::from(u32::MAX)) {
                Some(c) => flow_ages.push(c),
                None => cx.invalid("expected seconds as N, <N, >N, <=N, >=N, !N or N-M"),
            },
            // Checked before the other keywords (see `crate::requires`).
            "requires" => {}
            "absent" => {
                if foreign_buffer {
                    // The buffer is not inspected (the rule is already unsupported).
                } else if current_buffer.buf == Buffer::Payload {
                    cx.invalid("`absent` must follow a sticky buffer keyword (e.g. `http.referer; absent;`)");
                } else {
                    match crate::matchers::Absent::parse(opt.value.as_deref()) {
                        Ok(a) if absents.iter().any(|(s, _)| *s == current_buffer) => {
                            let _ = a;
                            cx.invalid("`absent` is given twice for this buffer");
                        }
                        Ok(a) => absents.push((current_buffer, a)),
                        Err(e) => cx.invalid(e),
                    }
                }
            }
            "app-layer-protocol" => {
                let v = val.trim();
                let (neg, n) = match v.strip_prefix('!') {
                    Some(r) => (true, r.trim()),
                    None => (false, v),
                };
                match verdict_applayer::AppProto::from_name(n) {
                    Some(a) => app_protos.push((a, neg)),
                    None if n.is_empty() => cx.invalid("expected a protocol name, e.g. http"),
                    None => cx.unsupported(
                        format!("app-layer-protocol {n}"),
                        "only http, tls, dns, ssh and ftp are detected; the rule is skipped",
                    ),
                }
            }
            "decode-event" => match val.trim() {
                "" => cx.invalid("expected an event name, e.g. ipv6.frag_overlap"),
                n => checks.push(PacketCheck::DecodeEvent(
                    n.trim_start_matches("decoder.").to_string(),
                )),
            },
            "stream-event" => match val.trim() {
                "" => cx.invalid("expected an event name, e.g. rst_invalid_ack"),
                n => checks.push(PacketCheck::StreamEvent(
                    n.trim_start_matches("stream.").to_string(),
                )),
            },
            "dsize" => match UintCond::parse(val, u64::from(u16::MAX)) {
                Some(c) => checks.push(PacketCheck::Dsize(c)),
                None => cx.invalid("expected N, <N, >N, N<>M, !N"),
            },
            "ttl" => match UintCond::parse(val, 255) {
                Some(c) => checks.push(PacketCheck::Ttl(c)),
                None => cx.invalid("expected N, <N, >N, N-M, N<>M, !N (0..255)"),
            },
            "tos" => {
                let (neg, v) = match val.trim().strip_prefix('!') {
                    Some(r) => (true, r),
                    None => (false, val.trim()),
                };
                match parse_int_auto(v).and_then(|n| u8::try_from(n).ok()) {
                    Some(n) => checks.push(PacketCheck::Tos {
                        value: n,
                        negated: neg,
                    }),
                    None => cx.invalid("expected [!]N with N a byte (decimal or 0x hex)"),
                }
            }
            "id" => match UintCond::parse(val, u64::from(u16::MAX)) {
                Some(c) => checks.push(PacketCheck::IpId(c)),
                None => cx.invalid("expected an integer 0..65535"),
            },
            "ipopts" => match crate::matchers::parse_ipopt(val) {
                Some(bit) => checks.push(PacketCheck::IpOpts(bit)),
                None => cx
                    .invalid("expected one of rr, eol, nop, ts, sec, esec, lsrr, ssrr, satid, any"),
            },
            "fragbits" => match FragbitsMatch::parse(val) {
                Some(f) => checks.push(PacketCheck::Fragbits(f)),
                None => cx.invalid("expected [+*!]MDR[,mask]"),
            },
            "fragoffset" => {
                let (neg, v) = match val.trim().strip_prefix('!') {
                    Some(r) => (true, r),
                    None => (false, val.trim()),
                };
                match UintCond::parse(v, u64::from(u16::MAX)) {
                    Some(c) => checks.push(PacketCheck::FragOffset(c, neg)),
                    None => cx.invalid("expected [!<>]N"),
                }
            }
            "ip_proto" => match crate::matchers::parse_ip_proto(val) {
                Some(c) => checks.push(PacketCheck::IpProto(c)),
                None => cx.invalid("expected a protocol number or name, optionally with ! < >"),
            },
            "sameip" => checks.push(PacketCheck::SameIp),
            "seq" => match parse_num::<u32>(val) {
                Some(n) => checks.push(PacketCheck::Seq(n)),
                None => cx.invalid("expected an integer 0..4294967295"),
            },
            "ack" => match parse_num::<u32>(val) {
                Some(n) => checks.push(PacketCheck::Ack(n)),
                None => cx.invalid("expected an integer 0..4294967295"),
            },
            "window" => {
                let (neg, v) = match val.trim().strip_prefix('!') {
                    Some(r) => (true, r),
                    None => (false, val.trim()),
                };
                match parse_num::<u16>(v) {
                    Some(n) => checks.push(PacketCheck::Window {
                        value: n,
                        negated: neg,
                    }),
                    None => cx.invalid("expected [!]N with N 0..65535"),
                }
            }
            "tcp.mss" => match UintCond::parse(val, u64::from(u16::MAX)) {
                Some(c) => checks.push(PacketCheck::TcpMss(c)),
                None => cx.invalid("expected N, <N, >N, N-M, !N (0..65535)"),
            },
            "sctp.vtag" => match UintCond::parse(val, u64::from(u32::MAX)) {
                Some(c) => checks.push(PacketCheck::SctpVtag(c)),
                None => cx.invalid("expected N, <N, >N, N-M, !N (0..4294967295)"),
            },
            "sctp.chunk_cnt" => match UintCond::parse(val, u64::from(u16::MAX)) {
                Some(c) => checks.push(PacketCheck::SctpChunkCnt(c)),
                None => cx.invalid("expected N, <N, >N, N-M, !N (0..65535)"),
            },
            "sctp.chunk_type" => {
                // A chunk name (`init`, `!data`) stands for its number.
                let v = val.trim();
                let (neg, name) = match v.strip_prefix('!') {
                    Some(n) => ("!", n.trim()),
                    None => ("", v),
                };
                let numeric = match crate::matchers::sctp_chunk_type(name) {
                    Some(t) => format!("{neg}{t}"),
                    None => v.to_string(),
                };
                match UintCond::parse(&numeric, u64::from(u8::MAX)) {
                    Some(c) => checks.push(PacketCheck::SctpChunkType(c)),
                    None => cx.invalid("expected a chunk name (init, data, ...) or N, <N, >N, N-M, !N (0..255)"),
                }
            }
            k if crate::matchers::CsumKind::from_keyword(k).is_some() => {
                let kind = crate::matchers::CsumKind::from_keyword(k);
                match (kind, val.trim()) {
                    (Some(kind), "valid") => checks.push(PacketCheck::Checksum(kind, true)),
                    (Some(kind), "invalid") => checks.push(PacketCheck::Checksum(kind, false)),
                    _ => cx.invalid("expected valid or invalid"),
                }
            }
            "vlan.id" => {
                let (cond, layer) = match val.split_once(',') {
                    Some((c, l)) => (c, Some(l)),
                    None => (val, None),
                };
                match (UintCond::parse(cond, 4095), crate::matchers::VlanLayer::parse(layer)) {
                    (Some(c), Some(l)) => checks.push(PacketCheck::VlanId(c, l)),
                    _ => cx.invalid("expected [op]ID[,layer] with ID 0..4095 and layer 0..2, -1..-3, any or all"),
                }
            }
            "flags" | "tcp.flags" => match FlagsMatch::parse(val) {
                Some(f) => checks.push(PacketCheck::Flags(f)),
                None => cx.invalid("expected [+*!]FSRPAUCE0[,mask]"),
            },
            "itype" => match UintCond::parse(val, 255) {
                Some(c) => checks.push(PacketCheck::Itype(c)),
                None => cx.invalid("expected N, <N, >N, N<>M"),
            },
            "icode" => match UintCond::parse(val, 255) {
                Some(c) => checks.push(PacketCheck::Icode(c)),
                None => cx.invalid("expected N, <N, >N, N<>M"),
            },
            "icmp_id" => match UintCond::parse(val, u64::from(u16::MAX)) {
                Some(c) => checks.push(PacketCheck::IcmpId(c)),
                None => cx.invalid("expected an integer 0..65535"),
            },
            "icmp_seq" => match UintCond::parse(val, u64::from(u16::MAX)) {
                Some(c) => checks.push(PacketCheck::IcmpSeq(c)),
                None => cx.invalid("expected an integer 0..65535"),
            },
            "flow" => match FlowCheck::parse(val) {
                Ok(f) => flow = Some(f),
                Err(e) => cx.invalid(e),
            },
            "flowint" => match crate::matchers::FlowintCmd::parse(val) {
                Ok(cmd) => flowints.push(cmd),
                Err(e) => cx.invalid(e),
            },
            "flowbits" => match FlowbitCmd::parse(val) {
                Ok(FlowbitCmd::NoAlert) => meta.noalert = true,
                Ok(cmd) => flowbits.push(cmd),
                Err(e) => cx.invalid(e),
            },
            "xbits" | "hostbits" => {
                let parsed = if name == "xbits" {
                    crate::xbits::XbitCmd::parse_xbits(val)
                } else {
                    crate::xbits::XbitCmd::parse_hostbits(val)
                };
                match parsed {
                    Ok(crate::xbits::Parsed::Cmd(cmd)) => xbits.push(cmd),
                    Ok(crate::xbits::Parsed::NoAlert) => meta.noalert = true,
                    Ok(crate::xbits::Parsed::Unsupported(why)) => cx.unsupported(name, why),
                    Err(e) => cx.invalid(e),
                }
            }
            "threshold" => match Threshold::parse(val, false) {
                Ok(Ok(t)) => threshold = Some(t),
                Ok(Err(reason)) => cx.unsupported("threshold", reason),
                Err(e) => cx.invalid(e),
            },
            "detection_filter" => match Threshold::parse(val, true) {
                Ok(Ok(t)) => detection_filter = Some(t),
                Ok(Err(reason)) => cx.unsupported("detection_filter", reason),
                Err(e) => cx.invalid(e),
            },
            // --- TLS and SSH keywords with a value (the buffers are in `Buffer`) ---
            "tls.subject" | "tls.issuerdn" | "tls.fingerprint" | "ssh.protoversion"
            | "ssh.softwareversion" => {
                let (buf, exact) = match name {
                    "tls.subject" => (Buffer::TlsCertSubject, false),
                    "tls.issuerdn" => (Buffer::TlsCertIssuer, false),
                    "tls.fingerprint" => (Buffer::TlsCertFingerprint, true),
                    "ssh.protoversion" => (Buffer::SshProto, false),
                    _ => (Buffer::SshSoftware, false),
                };
                match legacy_value_op(name, val) {
                    Ok(op) => {
                        switch_buffer(
                            &mut current_buffer,
                            Slot::plain(buf),
                            &mut payload,
                            &mut chains,
                        );
                        let op = match op {
                            PayloadOp::Content(mut c) if exact => {
                                c.startswith = true;
                                c.endswith = true;
                                PayloadOp::Content(c)
                            }
                            op => op,
                        };
                        payload.push(op);
                        // Legacy keywords take no modifiers.
                        last_content = None;
                    }
                    Err(e) => cx.invalid(e),
                }
            }
            "tls.version" => {
                let v = val.trim();
                let version = match v {
                    "1.0" => Some(0x0301),
                    "1.1" => Some(0x0302),
                    "1.2" => Some(0x0303),
                    "1.3" => Some(0x0304),
                    _ => parse_int_auto(v).filter(|n| *n <= 0xffff),
                };
                match version {
                    Some(n) => app_ints.push((crate::app::AppInt::TlsVersion, UintCond::Eq(n))),
                    None => cx.invalid("expected 1.0, 1.1, 1.2, 1.3 or a hex version (0x0303)"),
                }
            }
            "ftp.mode" => match val.trim() {
                "active" => app_ints.push((crate::app::AppInt::FtpMode, UintCond::Eq(1))),
                "passive" => app_ints.push((crate::app::AppInt::FtpMode, UintCond::Eq(2))),
                _ => cx.invalid("expected active or passive"),
            },
            "ftp.dynamic_port" => match UintCond::parse(val, u64::from(u16::MAX)) {
                Some(c) => app_ints.push((crate::app::AppInt::FtpDynamicPort, c)),
                None => cx.invalid("expected [!]N, <N, >N or N-M with N 0..65535"),
            },
            "ftpbounce" => {
                if !val.trim().is_empty() {
                    cx.invalid("ftpbounce takes no value");
                }
                app_ints.push((crate::app::AppInt::FtpBounce, UintCond::Eq(1)));
            }
            "app-layer-event" => match verdict_applayer::events::AppEvent::from_name(val) {
                Some(e) => app_ints.push((crate::app::AppInt::Event(e), UintCond::Eq(1))),
                None if val.trim().is_empty() => {
                    cx.invalid("expected an event name, e.g. http.missing_host_header")
                }
                None => cx.unsupported(
                    format!("app-layer-event {}", val.trim()),
                    "this app-layer event is not raised by Verdict's parsers; the rule is skipped",
                ),
            },
            "ssl_version" => match parse_ssl_version(val) {
                Ok((set, negated)) => app_ints.push((
                    crate::app::AppInt::SslVersionIn(set),
                    UintCond::Eq(u64::from(!negated)),
                )),
                Err(e) => cx.invalid(e),
            },
            "ssl_state" => match parse_ssl_state(val) {
                Ok(Ok((set, negated))) => app_ints.push((
                    crate::app::AppInt::SslStateIn(set),
                    UintCond::Eq(u64::from(!negated)),
                )),
                Ok(Err(reason)) => cx.unsupported("ssl_state", reason),
                Err(e) => cx.invalid(e),
            },
            // Accepted and ignored: they do not change what matches.
            "tested" | "ephermeral" => {}
            // `prefilter` only selects Suricata's prefilter engine for a keyword; Verdict's
            // prefilter choice is its own, so the keyword changes nothing here.
            "prefilter" => {}
            other if is_sticky_buffer(other) => {
                foreign_buffer = true;
                last_content = None;
                cx.unsupported(other, "this app-layer buffer or keyword is not implemented yet (docs/rules-support.md lists the supported ones); the rule is skipped")
            }
            other => {
                // Dotted names are Suricata's sticky buffers (`email.received`, ...): the
                // payload keywords after an unknown one belong to it.
                if other.contains('.') {
                    foreign_buffer = true;
                    last_content = None;
                }
                cx.unsupported(other, "unknown keyword")
            }
        }
        // A keyword that inspects a transformed buffer closes its transform list.
        if current_buffer.xf > 0
            && matches!(
                name,
                "content"
                    | "pcre"
                    | "isdataat"
                    | "byte_test"
                    | "byte_jump"
                    | "byte_extract"
                    | "bsize"
                    | "absent"
                    | "base64_decode"
            )
        {
            sticky_fresh = false;
            transforms_pending = false;
        }
        problems.append(&mut cx.problems);
    }
    let _ = had_payload_op;
    switch_buffer(
        &mut current_buffer,
        Slot::plain(Buffer::Payload),
        &mut payload,
        &mut chains,
    );
    // The base64_data keywords belong to the rule's base64_decode.
    let b64_data = chains
        .iter()
        .position(|(s, _)| *s == BASE64_DATA)
        .map(|i| chains.remove(i).1);
    let mut header_chains: Vec<(Slot, Vec<PayloadOp>)> = chains
        .into_iter()
        .filter(|(_, ops)| !ops.is_empty())
        .collect();

    let decoders = payload
        .iter()
        .chain(header_chains.iter().flat_map(|(_, ops)| ops.iter()))
        .filter(|o| matches!(o, PayloadOp::Base64Decode(_)))
        .count();
    if decoders > 1 {
        problems.push(RuleProblem::Unsupported {
            keyword: "base64_decode".into(),
            reason: "more than one base64_decode in a rule is not supported".into(),
        });
    }
    if let Some(mut data) = b64_data {
        let decoder = payload
            .iter_mut()
            .chain(header_chains.iter_mut().flat_map(|(_, ops)| ops.iter_mut()))
            .find_map(|o| match o {
                PayloadOp::Base64Decode(d) => Some(d),
                _ => None,
            });
        match decoder {
            Some(d) => {
                for op in &data {
                    if let PayloadOp::Content(c) = op {
                        if let Err(e) = c.validate() {
                            problems.push(header_invalid("content", e));
                        }
                    }
                }
                crate::matchers::set_relative_next(&mut data);
                d.data = data;
            }
            None => problems.push(header_invalid(
                "base64_data",
                "base64_data needs a base64_decode before it".into(),
            )),
        }
    }
    for (slot, a) in &absents {
        let has_keywords = header_chains
            .iter()
            .any(|(b, ops)| b == slot && !ops.is_empty())
            || bsizes.iter().any(|(b, _)| b == slot);
        if *a == crate::matchers::Absent::Only && has_keywords {
            problems.push(header_invalid(
                "absent",
                "a buffer that must be `absent` cannot have keywords that inspect it; use `absent: or_else`".into(),
            ));
        }
    }
    if !have_sid {
        problems.push(header_invalid("sid", "every rule needs a `sid`".into()));
    }
    if threshold.is_some() && detection_filter.is_some() {
        problems.push(header_invalid(
            "threshold",
            "`threshold` and `detection_filter` cannot be used in the same rule".into(),
        ));
    }
    for op in payload
        .iter()
        .chain(header_chains.iter().flat_map(|(_, ops)| ops.iter()))
    {
        if let PayloadOp::Content(c) = op {
            if let Err(e) = c.validate() {
                problems.push(header_invalid("content", e));
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let Some(proto) = proto else {
        return Err(vec![header_invalid("protocol", "no protocol".into())]);
    };
    crate::matchers::set_relative_next(&mut payload);
    for (_, ops) in &mut header_chains {
        crate::matchers::set_relative_next(ops);
    }
    // The fast pattern may come from the payload or an app-layer buffer: the prefilter scans
    // the payload with the payload patterns and each app-layer buffer with its own.
    // Buffers transformed otherwise than by `dotprefix` hold bytes the packet may not: their
    // contents are not used as fast patterns.
    let reshaped = |b: &Slot| {
        b.xf > 0
            && transforms
                .get(b.xf - 1)
                .is_some_and(|ts| ts.iter().any(|t| !t.keeps_bytes()))
    };
    let mut prefilter = crate::matchers::choose_fast_pattern(
        payload.iter().map(|o| (Buffer::Payload, o)).chain(
            header_chains
                .iter()
                // A buffer that may be absent (`absent: or_else`) lets the rule match without
                // any of its contents: they cannot be the rule's fast pattern.
                .filter(|(b, _)| {
                    b.buf.is_app() && !reshaped(b) && !absents.iter().any(|(s, _)| s == b)
                })
                .flat_map(|(b, ops)| ops.iter().map(|o| (b.buf, o))),
        ),
    );
    // A `dotprefix` pattern's leading `.` may be the prepended one: the rest of the pattern
    // is what the untransformed buffer must contain.
    if !transforms.is_empty() {
        if let Some((bytes, _, _)) = &mut prefilter {
            if bytes.first() == Some(&b'.') {
                bytes.remove(0);
            }
        }
        if prefilter.as_ref().is_some_and(|(b, _, _)| b.is_empty()) {
            prefilter = None;
        }
    }
    let has_app = matches!(proto, Proto::App(_))
        || datasets.iter().any(|(b, _)| b.buf.is_app())
        || !app_protos.is_empty()
        || !app_ints.is_empty()
        || !bsizes.is_empty()
        || !absents.is_empty()
        || header_chains.iter().any(|(b, _)| b.buf.is_app());
    let sets =
        flowbits.iter().any(FlowbitCmd::is_set_like) || flowints.iter().any(|f| f.is_modify());
    let reads = flowbits.iter().any(FlowbitCmd::is_read) || flowints.iter().any(|f| !f.is_modify());
    let xsets = xbits.iter().any(|x| x.is_set_like());
    let xreads = xbits.iter().any(|x| !x.is_set_like());
    meta.inspects_payload =
        !payload.is_empty() || header_chains.iter().any(|(b, _)| b.buf.is_app());
    meta.stream = flow.as_ref().and_then(|f| f.stream());
    meta.ip_only = src_ports.is_all()
        && dst_ports.is_all()
        && payload.is_empty()
        && header_chains.is_empty()
        && !has_app
        && checks.is_empty()
        && stream_sizes.is_empty()
        && flow_ages.is_empty()
        && flow.is_none()
        && !reads;
    let negated =
        addr_has_negation(&p.src_addr, vars, 0) || addr_has_negation(&p.dst_addr, vars, 0);
    let once_per_direction = payload.is_empty()
        && header_chains.is_empty()
        && !has_app
        && checks.is_empty()
        && flow.is_none()
        && flowints.is_empty()
        && flowbits
            .iter()
            .all(|f| matches!(f, FlowbitCmd::Set(_) | FlowbitCmd::NoAlert))
        && !negated
        && datasets.is_empty()
        && stream_sizes.is_empty()
        && flow_ages.is_empty()
        && absents.is_empty()
        && !meta.bypass
        && !matches!(proto, Proto::TcpStream);
    let flowbits_class = match (sets, reads) {
        (true, false) => FlowbitsClass::Set,
        (true, true) => FlowbitsClass::SetRead,
        (false, true) => FlowbitsClass::Read,
        (false, false) => FlowbitsClass::None,
    };
    let xbits_class = match (xsets, xreads) {
        (true, false) => FlowbitsClass::Set,
        (true, true) => FlowbitsClass::SetRead,
        (false, true) => FlowbitsClass::Read,
        (false, false) => FlowbitsClass::None,
    };
    Ok(Rule {
        meta: Arc::new(meta),
        proto,
        src,
        src_ports,
        dst,
        dst_ports,
        bidir: p.direction == Direction::Both,
        checks,
        flow,
        flowbits,
        xbits,
        flowints,
        payload,
        header_chains,
        bsizes,
        datasets,
        transforms,
        absents,
        stream_sizes,
        flow_ages,
        app_ints,
        app_protos,
        extract_vars: extract_names.len(),
        threshold,
        detection_filter,
        prefilter,
        flowbits_class,
        xbits_class,
        once_per_direction,
        parts: Vec::new(),
    })
}

/// Does an address expression negate anything, variables expanded (Suricata's
/// `contains_negation`, which makes an otherwise IP-only rule a per-packet one)?
fn addr_has_negation(e: &crate::parse::AddrExpr, vars: &Vars, depth: u8) -> bool {
    use crate::parse::AddrExpr;
    match e {
        AddrExpr::Not(_) => true,
        AddrExpr::Group(g) => g.iter().any(|e| addr_has_negation(e, vars, depth)),
        AddrExpr::Var(name) => {
            let Some(text) = vars.address(name.trim_start_matches('$')) else {
                return false;
            };
            if text.contains('!') {
                return true;
            }
            // Variables naming other variables: follow them a few levels.
            depth < 8
                && text
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
                    .filter_map(|w| w.strip_prefix('$'))
                    .any(|v| addr_has_negation(&AddrExpr::Var(v.to_string()), vars, depth + 1))
        }
        AddrExpr::Any | AddrExpr::Cidr(..) | AddrExpr::Range(..) => false,
    }
}

/// The payload keyword a legacy TLS/SSH value keyword stands for: `tls.subject:"X"`,
/// `tls.issuerdn:"X"`, `tls.fingerprint:"X"` are a (negatable) content on their buffer,
/// `ssh.softwareversion:X` and `ssh.protoversion:X` a prefix match (Suricata compares the
/// keyword's length), `ssh.protoversion:2_compat` matches `2.x` and `1.99`.
fn legacy_value_op(name: &str, val: &str) -> Result<PayloadOp, String> {
    let v = val.trim();
    if v.is_empty() {
        return Err("this keyword needs a value".into());
    }
    if name == "ssh.protoversion" && v == "2_compat" {
        return match PcreOp::parse(r"/^(2[._]|1\.99)/") {
            Ok(Ok(op)) => Ok(PayloadOp::Pcre(Box::new(op))),
            _ => Err("internal: the 2_compat pattern did not compile".into()),
        };
    }
    let (negated, v) = match v.strip_prefix('!') {
        Some(r) => (true, r.trim()),
        None => (false, v),
    };
    let text = unquote(v);
    if text.is_empty() {
        return Err("expected a non-empty value".into());
    }
    let mut c = Content::new(text.as_bytes().to_vec(), negated);
    if name.starts_with("ssh.") {
        c.startswith = true;
    }
    Ok(PayloadOp::Content(Box::new(c)))
}

/// Parses `ssl_version:[!]V[,[!]V...]` with V in sslv2, sslv3, tls1.0, tls1.1, tls1.2, tls1.3:
/// the set of versions (bits of `app::ssl_version_bit`) and whether it is negated (any `!`:
/// the rule matches versions outside the set).
fn parse_ssl_version(val: &str) -> Result<(u8, bool), String> {
    let mut set = 0u8;
    let mut negated = false;
    for part in val.split(',') {
        let p = part.trim();
        let (neg, p) = match p.strip_prefix('!') {
            Some(r) => (true, r.trim()),
            None => (false, p),
        };
        negated |= neg;
        let bit = match p {
            "sslv2" => 0,
            "sslv3" => 1,
            "tls1.0" => 2,
            "tls1.1" => 3,
            "tls1.2" => 4,
            "tls1.3" => 5,
            _ => {
                return Err(format!(
                "unknown version `{p}` (expected sslv2, sslv3, tls1.0, tls1.1, tls1.2 or tls1.3)"
            ))
            }
        };
        set |= 1 << bit;
    }
    Ok((set, negated))
}

/// Parses `ssl_state:S[|S...]` or `ssl_state:!S` with S in client_hello, server_hello,
/// server_keyx: the handshake types (bits by type number) and the negation. `client_keyx`
/// and `unknown` are reported unsupported (the client's messages after its hello are not
/// tracked).
#[allow(clippy::type_complexity)]
fn parse_ssl_state(val: &str) -> Result<Result<(u32, bool), &'static str>, String> {
    use verdict_applayer::tls_server::msg;
    let mut set = 0u32;
    let mut negs = 0;
    let parts: Vec<&str> = val.split('|').map(str::trim).collect();
    for part in &parts {
        let (neg, p) = match part.strip_prefix('!') {
            Some(r) => (true, r.trim()),
            None => (false, *part),
        };
        negs += usize::from(neg);
        let t = match p {
            "client_hello" => msg::CLIENT_HELLO,
            "server_hello" => msg::SERVER_HELLO,
            "server_keyx" => msg::SERVER_KEY_EXCHANGE,
            "client_keyx" | "unknown" => {
                return Ok(Err(
                    "client_keyx and unknown are not tracked yet (only client_hello, server_hello, server_keyx)",
                ))
            }
            _ => {
                return Err(format!(
                    "unknown state `{p}` (expected client_hello, server_hello, client_keyx, server_keyx or unknown)"
                ))
            }
        };
        set |= 1 << t;
    }
    if negs != 0 && negs != parts.len() {
        return Ok(Err("mixing negated and plain states is not supported"));
    }
    Ok(Ok((set, negs != 0)))
}

/// Parses a content value: `[!]"text|41 42|text"`. Returns the bytes and the negation.
pub(crate) fn parse_content(v: &str) -> Result<(Vec<u8>, bool), String> {
    let v = v.trim();
    let (negated, v) = match v.strip_prefix('!') {
        Some(r) => (true, r.trim_start()),
        None => (false, v),
    };
    if !(v.len() >= 2 && v.starts_with('"') && v.ends_with('"')) {
        return Err("content must be a double-quoted string".into());
    }
    let inner = &v[1..v.len() - 1];
    let mut out = Vec::with_capacity(inner.len());
    let mut bytes = inner.bytes();
    let mut in_hex = false;
    let mut hex_nibble: Option<u8> = None;
    while let Some(b) = bytes.next() {
        if in_hex {
            match b {
                b'|' => {
                    if hex_nibble.is_some() {
                        return Err("odd number of hex digits in |...|".into());
                    }
                    in_hex = false;
                }
                b' ' | b'\t' => {}
                _ => {
                    let d = (b as char)
                        .to_digit(16)
                        .ok_or_else(|| format!("`{}` is not a hex digit inside |...|", b as char))?
                        as u8;
                    match hex_nibble.take() {
                        Some(h) => out.push(h << 4 | d),
                        None => hex_nibble = Some(d),
                    }
                }
            }
        } else {
            match b {
                b'|' => in_hex = true,
                b'\\' => match bytes.next() {
                    Some(n @ (b'\\' | b';' | b'"' | b':' | b'|')) => out.push(n),
                    Some(n) => {
                        return Err(format!(
                            "`\\{}` is not a valid escape (use \\; \\\" \\\\ \\: or |hex|)",
                            n as char
                        ))
                    }
                    None => return Err("content ends with a lone backslash".into()),
                },
                b'"' | b';' => {
                    return Err(format!(
                        "`{}` must be escaped or written as |hex|",
                        b as char
                    ))
                }
                _ => out.push(b),
            }
        }
    }
    if in_hex {
        return Err("unterminated |hex| block".into());
    }
    if out.is_empty() {
        return Err("content must not be empty".into());
    }
    Ok((out, negated))
}

fn parse_val(s: &str, names: &[String]) -> Result<Val, String> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Ok(Val::Const(n));
    }
    match names.iter().position(|n| n == s) {
        Some(i) => Ok(Val::Var(i)),
        None => Err(format!(
            "`{s}` is neither a number nor a byte_extract variable defined before"
        )),
    }
}

fn content_modifier(
    cx: &mut Ctx<'_>,
    c: &mut Content,
    name: &str,
    val: &str,
    names: &[String],
    relative_base: bool,
) {
    let num = |cx: &mut Ctx<'_>| match parse_val(val, names) {
        Ok(v) => Some(v),
        Err(e) => {
            cx.invalid(e);
            None
        }
    };
    match name {
        "nocase" => c.set_nocase(),
        "rawbytes" => {}
        "offset" => {
            if c.distance.is_some() || c.within.is_some() {
                cx.invalid("offset cannot be mixed with distance/within on the same content");
            }
            c.offset = num(cx);
        }
        "depth" => {
            if c.distance.is_some() || c.within.is_some() {
                cx.invalid("depth cannot be mixed with distance/within on the same content");
            }
            if let Some(Val::Const(d)) = num(cx) {
                if d <= 0 {
                    cx.invalid("depth must be positive");
                }
                c.depth = Some(Val::Const(d));
            } else if let Ok(v @ Val::Var(_)) = parse_val(val, names) {
                c.depth = Some(v);
            }
        }
        "distance" | "within" => {
            if c.offset.is_some() || c.depth.is_some() {
                cx.invalid(format!(
                    "{name} cannot be mixed with offset/depth on the same content"
                ));
            }
            let v = num(cx);
            if name == "distance" {
                c.distance = v;
            } else {
                if let Some(Val::Const(w)) = v {
                    if w < c.pattern.len() as i64 {
                        cx.invalid("within must be at least the content's length");
                    }
                }
                c.within = v;
            }
            // Relative to nothing: Suricata treats it as relative to the start of the buffer.
            let _ = relative_base;
        }
        "startswith" => c.startswith = true,
        "endswith" => c.endswith = true,
        "fast_pattern" => {
            c.fast_pattern = true;
            let v = val.trim();
            if !v.is_empty() && v != "only" {
                let parts: Vec<&str> = v.split(',').map(str::trim).collect();
                match (parts.first().and_then(|s| s.parse::<usize>().ok()), parts.get(1).and_then(|s| s.parse::<usize>().ok())) {
                    (Some(o), Some(l)) if l > 0 && o + l <= c.pattern.len() => c.fast_pattern_chop = Some((o, l)),
                    _ => cx.invalid("expected fast_pattern, fast_pattern:only or fast_pattern:offset,length within the content"),
                }
            }
        }
        _ => {}
    }
}

fn parse_isdataat(v: &str, names: &[String]) -> Result<IsDataAt, String> {
    let parts = split_commas(v);
    let first = parts.first().copied().unwrap_or("").trim();
    let (negated, n) = match first.strip_prefix('!') {
        Some(r) => (true, r),
        None => (false, first),
    };
    let at = parse_val(n, names)?;
    let mut relative = false;
    for p in &parts[1..] {
        match *p {
            "relative" => relative = true,
            "rawbytes" => {}
            other => {
                return Err(format!(
                    "unknown isdataat option `{other}` (expected relative, rawbytes)"
                ))
            }
        }
    }
    Ok(IsDataAt {
        at,
        relative,
        negated,
    })
}

/// The base after `string`: `dec`, `hex` or `oct`; Suricata defaults to decimal when the
/// next option is something else. Returns the base and whether the next part was consumed.
fn parse_base(s: Option<&&str>) -> (u32, bool) {
    match s.copied() {
        Some("dec") => (10, true),
        Some("hex") => (16, true),
        Some("oct") => (8, true),
        _ => (10, false),
    }
}

type Parsed<T> = Result<Result<T, String>, String>;

fn parse_byte_test(v: &str, names: &[String]) -> Parsed<ByteTest> {
    let parts = split_commas(v);
    if parts.len() < 4 {
        return Err("expected byte_test:bytes,[!]operator,value,offset[,options]".into());
    }
    let nbytes: u8 = parts[0]
        .parse()
        .map_err(|_| "bytes must be a number 1..10 (or up to 23 with string)")?;
    let mut op_s = parts[1].trim();
    let mut negated = false;
    if let Some(r) = op_s.strip_prefix('!') {
        negated = true;
        op_s = r.trim();
    }
    let op = match op_s {
        "<" => BtOp::Lt,
        ">" => BtOp::Gt,
        "=" | "" if !op_s.is_empty() || negated => BtOp::Eq,
        "<=" => BtOp::Le,
        ">=" => BtOp::Ge,
        "&" => BtOp::And,
        "^" => BtOp::Xor,
        _ => {
            return Err(format!(
                "unknown operator `{}` (expected < > = <= >= & ^, optionally with !)",
                parts[1]
            ))
        }
    };
    let value = match parse_int_auto(parts[2]) {
        Some(n) => Val::Const(n as i64),
        None => parse_val(parts[2], names)?,
    };
    let offset = parse_val(parts[3], names)?;
    let mut t = ByteTest {
        nbytes,
        op,
        negated,
        value,
        offset,
        relative: false,
        endian: Endian::Big,
        base: None,
        bitmask: None,
    };
    let mut i = 4;
    while i < parts.len() {
        match parts[i] {
            "relative" => t.relative = true,
            "big" => t.endian = Endian::Big,
            "little" => t.endian = Endian::Little,
            "string" => {
                let (base, consumed) = parse_base(parts.get(i + 1));
                t.base = Some(base);
                i += usize::from(consumed);
            }
            "dce" => return Ok(Err("byte_test/dce".into())),
            p if p.starts_with("bitmask") => {
                t.bitmask = Some(parse_bitmask(p)?);
            }
            other => return Err(format!("unknown byte_test option `{other}`")),
        }
        i += 1;
    }
    check_nbytes(nbytes, t.base.is_some())?;
    Ok(Ok(t))
}

fn parse_bitmask(p: &str) -> Result<u32, String> {
    let v = p.trim_start_matches("bitmask").trim();
    parse_int_auto(v)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n != 0)
        .ok_or_else(|| format!("bad bitmask `{v}` (expected a non-zero hex or decimal number)"))
}

fn check_nbytes(n: u8, string: bool) -> Result<(), String> {
    let max = if string { 23 } else { 8 };
    if n == 0 || n > max {
        return Err(format!("bytes must be 1..{max}"));
    }
    if !string && ![1, 2, 3, 4, 5, 6, 7, 8].contains(&n) {
        return Err("bytes must be 1..8 without `string`".into());
    }
    Ok(())
}

fn parse_byte_jump(v: &str, names: &[String]) -> Parsed<ByteJump> {
    let parts = split_commas(v);
    if parts.len() < 2 {
        return Err("expected byte_jump:bytes,offset[,options]".into());
    }
    // The byte count may come from a byte_extract variable.
    let nbytes_val = parse_val(parts[0], names)?;
    let nbytes: u8 = match nbytes_val {
        Val::Const(n) => {
            u8::try_from(n).map_err(|_| "bytes must be 0..8 (or up to 23 with string)")?
        }
        Val::Var(_) => 1,
    };
    let offset = parse_val(parts[1], names)?;
    let mut j = ByteJump {
        nbytes_var: match nbytes_val {
            Val::Var(i) => Some(i),
            Val::Const(_) => None,
        },
        nbytes,
        offset,
        relative: false,
        multiplier: 1,
        endian: Endian::Big,
        base: None,
        align: false,
        from_beginning: false,
        from_end: false,
        post_offset: 0,
        bitmask: None,
    };
    let mut i = 2;
    while i < parts.len() {
        let p = parts[i];
        match p {
            "relative" => j.relative = true,
            "big" => j.endian = Endian::Big,
            "little" => j.endian = Endian::Little,
            "align" => j.align = true,
            "from_beginning" => j.from_beginning = true,
            "from_end" => j.from_end = true,
            "string" => {
                let (base, consumed) = parse_base(parts.get(i + 1));
                j.base = Some(base);
                i += usize::from(consumed);
            }
            "dce" => return Ok(Err("byte_jump/dce".into())),
            _ if p.starts_with("multiplier") => {
                j.multiplier = p["multiplier".len()..]
                    .trim()
                    .parse()
                    .map_err(|_| format!("bad multiplier in `{p}`"))?
            }
            _ if p.starts_with("post_offset") => {
                j.post_offset = p["post_offset".len()..]
                    .trim()
                    .parse()
                    .map_err(|_| format!("bad post_offset in `{p}`"))?
            }
            _ if p.starts_with("bitmask") => j.bitmask = Some(parse_bitmask(p)?),
            other => return Err(format!("unknown byte_jump option `{other}`")),
        }
        i += 1;
    }
    if j.from_beginning && j.from_end {
        return Err("from_beginning and from_end cannot be combined".into());
    }
    if j.nbytes_var.is_some() {
        return Ok(Ok(j));
    }
    if nbytes == 0 && j.base.is_none() {
        // Suricata accepts 0 bytes: nothing is read, the jump is the post_offset alone.
        if j.from_beginning && j.from_end {
            return Err("from_beginning and from_end cannot be combined".into());
        }
        return Ok(Ok(j));
    }
    if j.from_beginning && j.from_end {
        return Err("from_beginning and from_end cannot be combined".into());
    }
    check_nbytes(nbytes, j.base.is_some())?;
    Ok(Ok(j))
}

fn parse_byte_extract(v: &str, names: &mut Vec<String>) -> Parsed<ByteExtract> {
    let parts = split_commas(v);
    if parts.len() < 3 {
        return Err("expected byte_extract:bytes,offset,name[,options]".into());
    }
    let nbytes: u8 = parts[0].parse().map_err(|_| "bytes must be a number")?;
    let offset: i64 = parts[1].parse().map_err(|_| "offset must be a number")?;
    let name = parts[2].to_string();
    if name.is_empty() || name.parse::<i64>().is_ok() {
        return Err("the variable name must not be a number".into());
    }
    let mut e = ByteExtract {
        nbytes,
        offset,
        var: 0,
        relative: false,
        multiplier: 1,
        endian: Endian::Big,
        base: None,
        align: 0,
        bitmask: None,
    };
    let mut i = 3;
    while i < parts.len() {
        let p = parts[i];
        match p {
            "relative" => e.relative = true,
            "big" => e.endian = Endian::Big,
            "little" => e.endian = Endian::Little,
            "string" => {
                let (base, consumed) = parse_base(parts.get(i + 1));
                e.base = Some(base);
                i += usize::from(consumed);
            }
            "dce" => return Ok(Err("byte_extract/dce".into())),
            _ if p.starts_with("multiplier") => {
                e.multiplier = p["multiplier".len()..]
                    .trim()
                    .parse()
                    .map_err(|_| format!("bad multiplier in `{p}`"))?
            }
            _ if p.starts_with("align") => {
                e.align = p["align".len()..]
                    .trim()
                    .parse()
                    .map_err(|_| format!("bad align in `{p}`"))?;
                if e.align != 2 && e.align != 4 {
                    return Err("align must be 2 or 4".into());
                }
            }
            _ if p.starts_with("bitmask") => e.bitmask = Some(parse_bitmask(p)?),
            other => return Err(format!("unknown byte_extract option `{other}`")),
        }
        i += 1;
    }
    check_nbytes(nbytes, e.base.is_some())?;
    e.var = match names.iter().position(|n| *n == name) {
        Some(i) => i,
        None => {
            names.push(name);
            names.len() - 1
        }
    };
    Ok(Ok(e))
}

/// The buffer of the first legacy content modifier (`http_uri`, `http_header`, ...) among the
/// options that follow a content, up to the next content or buffer keyword.
fn legacy_target(rest: &[RuleOption]) -> Option<Buffer> {
    for o in rest {
        let n = o.name.as_str();
        if let Some(b) = Buffer::from_modifier(n) {
            return Some(b);
        }
        if matches!(n, "content" | "uricontent" | "pcre") || Buffer::from_keyword(n).is_some() {
            return None;
        }
    }
    None
}

/// Moves the chain being built (`payload`, for `*current`) into `chains` and takes out the
/// chain of `to` (keywords after a repeated sticky buffer continue its chain).
fn switch_buffer(
    current: &mut Slot,
    to: Slot,
    payload: &mut Vec<PayloadOp>,
    chains: &mut Vec<(Slot, Vec<PayloadOp>)>,
) {
    let done = std::mem::take(payload);
    match chains.iter_mut().find(|(b, _)| *b == *current) {
        Some((_, ops)) => ops.extend(done),
        None => chains.push((*current, done)),
    }
    if let Some(i) = chains.iter().position(|(b, _)| *b == to) {
        *payload = std::mem::take(&mut chains[i].1);
    }
    *current = to;
    if to == Slot::plain(Buffer::Payload) {
        // The payload chain lives in `payload` from now on; drop its (emptied) slot.
        chains.retain(|(b, _)| *b != to);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_values() {
        assert_eq!(
            parse_content("\"a|41 42|b\"").unwrap(),
            (b"aABb".to_vec(), false)
        );
        assert_eq!(
            parse_content("!\"x\\;y\\\"z\\\\\"").unwrap(),
            (b"x;y\"z\\".to_vec(), true)
        );
        assert_eq!(parse_content("\"|0d0a|\"").unwrap().0, b"\r\n");
        assert!(parse_content("\"|4|\"").is_err());
        assert!(parse_content("\"|zz|\"").is_err());
        assert!(parse_content("\"abc").is_err());
        assert!(parse_content("\"a;b\"").is_err());
        assert!(parse_content("\"\"").is_err());
        assert!(parse_content("\"|41\"").is_err());
    }
}

/// Keywords that inspect the buffer selected before them (they belong to its part).
pub(crate) fn inspects_buffer(name: &str) -> bool {
    matches!(
        name,
        "content"
            | "nocase"
            | "offset"
            | "depth"
            | "distance"
            | "within"
            | "startswith"
            | "endswith"
            | "fast_pattern"
            | "rawbytes"
            | "pcre"
            | "isdataat"
            | "byte_test"
            | "byte_jump"
            | "byte_extract"
            | "byte_math"
            | "bsize"
            | "dataset"
            | "datarep"
            | "entropy"
            | "absent"
    ) || crate::matchers::Transform::is_keyword(name)
}
