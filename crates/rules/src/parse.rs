//! The rule parser: text -> [`ParsedRule`]s with positions.
//!
//! Parsing is purely syntactic. A rule file is split into logical rules (comment lines and blank
//! lines skipped, a trailing `\` joins a line with the next), each logical rule is parsed into
//! its header (action, protocol, address and port expressions, direction) and its options
//! (`name` or `name:value`, separated by unescaped `;`). Keyword values are kept as written
//! (escapes included); they are interpreted by the compiler, which knows each keyword. Address
//! and port expressions are parsed into trees here, so a typo in a header is reported with its
//! column; variables are resolved later, against the caller's [`crate::Vars`].
//!
//! The parser never panics on any input (see the `rules_parse` fuzz target): every byte
//! position it slices at is a char boundary it found itself.

use std::net::IpAddr;
use std::sync::Arc;

use crate::error::{ParseError, Position};

/// What a rule does when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Stop inspecting the packet (and the flow), no alert.
    Pass,
    /// Drop the packet (and the rest of its flow) in IPS mode, and alert.
    Drop,
    /// Drop and send a TCP reset / ICMP unreachable to the source.
    Reject,
    /// Reject towards the source (same as `reject`).
    RejectSrc,
    /// Reject towards the destination.
    RejectDst,
    /// Reject towards both ends.
    RejectBoth,
    /// Alert only.
    Alert,
}

impl Action {
    /// The name as written in rules.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pass => "pass",
            Action::Drop => "drop",
            Action::Reject => "reject",
            Action::RejectSrc => "rejectsrc",
            Action::RejectDst => "rejectdst",
            Action::RejectBoth => "rejectboth",
            Action::Alert => "alert",
        }
    }

    /// The action named as in rules and suricata.yaml's `action-order` (`pass`, `drop`, ...).
    pub fn from_name(s: &str) -> Option<Action> {
        Self::parse(s.trim())
    }

    fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "pass" => Action::Pass,
            "drop" => Action::Drop,
            "reject" => Action::Reject,
            "rejectsrc" => Action::RejectSrc,
            "rejectdst" => Action::RejectDst,
            "rejectboth" => Action::RejectBoth,
            "alert" => Action::Alert,
            _ => return None,
        })
    }

    /// Suricata's default `action-order` rank: pass, drop, reject, alert.
    pub fn order_rank(self) -> u8 {
        match self {
            Action::Pass => 0,
            Action::Drop => 1,
            Action::Reject | Action::RejectSrc | Action::RejectDst | Action::RejectBoth => 2,
            Action::Alert => 3,
        }
    }

    /// True for the actions that drop the packet in IPS mode (drop and the reject family).
    pub fn drops(self) -> bool {
        !matches!(self, Action::Pass | Action::Alert)
    }
}

/// The direction operator between the source and destination halves of a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Direction {
    /// `->`: source to destination only.
    ToDst,
    /// `<>`: either way.
    Both,
    /// `=>`: Suricata 8's transactional direction: the rule's to-server keywords match the
    /// request and its to-client keywords the response of the same transaction. Parsed so
    /// the rule is reported as unsupported (not a syntax error); not matched yet.
    Transactional,
}

/// An address expression as written in a rule header or a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrExpr {
    /// `any`.
    Any,
    /// `$NAME`.
    Var(String),
    /// An address with a prefix length (`10.0.0.0/8`, `2001:db8::/32`, or a bare address).
    Cidr(IpAddr, u8),
    /// An inclusive range `a-b`.
    Range(IpAddr, IpAddr),
    /// `!expr`.
    Not(Box<AddrExpr>),
    /// `[a, b, ...]`.
    Group(Vec<AddrExpr>),
}

/// A port expression as written in a rule header or a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortExpr {
    /// `any`.
    Any,
    /// `$NAME`.
    Var(String),
    /// An inclusive range (`80` is `80:80`, `1024:` is `1024:65535`, `:1023` is `0:1023`).
    Range(u16, u16),
    /// `!expr`.
    Not(Box<PortExpr>),
    /// `[a, b, ...]`.
    Group(Vec<PortExpr>),
}

/// One option of a rule: `name;` or `name:value;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleOption {
    /// The keyword, as written (Suricata keywords are lower case).
    pub name: String,
    /// The value, trimmed, with rule-level escapes (`\;` `\"` `\\`) still in place.
    pub value: Option<String>,
    /// Where the keyword starts.
    pub position: Position,
}

/// A syntactically valid rule, not yet checked against keyword semantics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRule {
    /// The action.
    pub action: Action,
    /// The protocol name as written (`tcp`, `ip`, `http`, ...), lower-cased.
    pub proto: String,
    /// Source addresses.
    pub src_addr: AddrExpr,
    /// Source ports.
    pub src_ports: PortExpr,
    /// `->` or `<>`.
    pub direction: Direction,
    /// Destination addresses.
    pub dst_addr: AddrExpr,
    /// Destination ports.
    pub dst_ports: PortExpr,
    /// The options in order.
    pub options: Vec<RuleOption>,
    /// Where the rule starts.
    pub position: Position,
    /// The rule text as one logical line (continuations joined).
    pub text: String,
}

impl ParsedRule {
    /// The `sid` option's value, if present and numeric.
    pub fn sid(&self) -> Option<u32> {
        option_sid(&self.options)
    }
}

fn option_sid(options: &[RuleOption]) -> Option<u32> {
    options
        .iter()
        .find(|o| o.name == "sid")
        .and_then(|o| o.value.as_deref())
        .and_then(|v| v.trim().parse().ok())
}

/// The result of parsing a rule file or string: the good rules and the syntax errors.
#[derive(Debug, Clone, Default)]
pub struct ParsedRules {
    /// Rules that parsed, in file order.
    pub rules: Vec<ParsedRule>,
    /// Rules that did not parse, one error each, in file order.
    pub errors: Vec<ParseError>,
}

/// Parses rule text (the contents of a `.rules` file). `origin` names the source in positions.
///
/// Lines whose first non-blank character is `#` are comments (this includes disabled rules,
/// `# alert ...`); a line ending in `\` continues on the next line. Never panics.
pub fn parse_str(text: &str, origin: &str) -> ParsedRules {
    let file: Arc<str> = Arc::from(origin);
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = ParsedRules::default();
    let mut logical = LogicalRule::default();
    for (idx, raw_line) in text.split('\n').enumerate() {
        let line_no = u32::try_from(idx + 1).unwrap_or(u32::MAX);
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        if logical.text.is_empty() {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
        }
        let trimmed_end = line.trim_end();
        let (content, continues) = match trimmed_end.strip_suffix('\\') {
            Some(c) => (c, true),
            None => (line, false),
        };
        logical.push(content, line_no);
        if !continues {
            finish(&mut logical, &file, &mut out);
        }
    }
    if !logical.text.is_empty() {
        finish(&mut logical, &file, &mut out);
    }
    out
}

fn finish(logical: &mut LogicalRule, file: &Arc<str>, out: &mut ParsedRules) {
    let l = std::mem::take(logical);
    if l.text.trim().is_empty() {
        return;
    }
    match parse_rule_logical(&l, file) {
        Ok(rule) => out.rules.push(rule),
        Err(e) => out.errors.push(e),
    }
}

/// Parses one rule given as a single string (no comments, continuations already joined).
pub fn parse_rule(text: &str, origin: &str) -> Result<ParsedRule, ParseError> {
    let mut l = LogicalRule::default();
    l.push(text, 1);
    parse_rule_logical(&l, &Arc::from(origin))
}

/// A logical rule: physical lines joined, with a map back to (line, column).
#[derive(Default)]
struct LogicalRule {
    text: String,
    /// (byte offset in `text` where the segment starts, line number, byte offset of the
    /// segment in its line).
    segments: Vec<(usize, u32)>,
    lines: Vec<String>,
}

impl LogicalRule {
    fn push(&mut self, s: &str, line: u32) {
        self.segments.push((self.text.len(), line));
        self.lines.push(s.to_string());
        self.text.push_str(s);
    }

    fn position(&self, file: &Arc<str>, offset: usize) -> Position {
        let mut seg = 0;
        for (i, (start, _)) in self.segments.iter().enumerate() {
            if *start <= offset {
                seg = i;
            }
        }
        let (start, line) = self.segments.get(seg).copied().unwrap_or((0, 1));
        let in_line = offset.saturating_sub(start);
        let line_text = self.lines.get(seg).map(String::as_str).unwrap_or("");
        let col = line_text
            .get(..in_line.min(line_text.len()))
            .map(|p| p.chars().count())
            .unwrap_or(in_line);
        Position {
            file: file.clone(),
            line,
            col: u32::try_from(col + 1).unwrap_or(u32::MAX),
        }
    }
}

struct Cursor<'a> {
    l: &'a LogicalRule,
    s: &'a str,
    pos: usize,
    file: &'a Arc<str>,
}

impl<'a> Cursor<'a> {
    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
    }

    fn peek(&self) -> Option<char> {
        self.s.get(self.pos..).and_then(|r| r.chars().next())
    }

    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    fn err(&self, at: usize, expected: &str) -> ParseError {
        let found = match self.s.get(at..) {
            Some(r) if !r.trim().is_empty() => {
                let t: String = r.chars().take(24).collect();
                format!("`{t}`")
            }
            _ => "end of rule".to_string(),
        };
        ParseError {
            position: self.l.position(self.file, at),
            expected: expected.to_string(),
            found,
            sid: None,
        }
    }

    /// A header token: up to whitespace, except that brackets group (`[1.1.1.1, 2.2.2.2]`).
    fn header_token(&mut self) -> (usize, &'a str) {
        self.skip_ws();
        let start = self.pos;
        let mut depth = 0i32;
        while let Some(c) = self.peek() {
            if c == '[' {
                depth += 1;
            } else if c == ']' {
                depth -= 1;
            } else if depth <= 0 && (c.is_whitespace() || c == '(') {
                break;
            }
            self.pos += c.len_utf8();
        }
        (start, self.s.get(start..self.pos).unwrap_or(""))
    }
}

fn parse_rule_logical(l: &LogicalRule, file: &Arc<str>) -> Result<ParsedRule, ParseError> {
    let mut c = Cursor {
        l,
        s: &l.text,
        pos: 0,
        file,
    };
    let result = parse_rule_inner(&mut c);
    result.map_err(|mut e| {
        // Best effort: attach the sid so reports can name the rule.
        if let Some(i) = l.text.find("sid:") {
            let digits: String = l.text[i + 4..]
                .trim_start()
                .chars()
                .take_while(|ch| ch.is_ascii_digit())
                .collect();
            e.sid = digits.parse().ok();
        }
        e
    })
}

fn parse_rule_inner(c: &mut Cursor<'_>) -> Result<ParsedRule, ParseError> {
    c.skip_ws();
    let rule_start = c.pos;
    let (at, action_s) = c.header_token();
    let action = Action::parse(action_s).ok_or_else(|| {
        c.err(
            at,
            "an action (alert, drop, pass, reject, rejectsrc, rejectdst, rejectboth)",
        )
    })?;
    let (at, proto) = c.header_token();
    if proto.is_empty()
        || !proto
            .chars()
            // `:` for Suricata 8 rule hooks (`http1:request_line`).
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.' | ':'))
    {
        return Err(c.err(at, "a protocol name (ip, tcp, udp, icmp, http, ...)"));
    }
    let proto = proto.to_ascii_lowercase();
    let (at, s) = c.header_token();
    let src_addr = parse_addr(s).map_err(|off| {
        c.err(
            at + off,
            "an address (any, $VAR, CIDR, range, [group], !negation)",
        )
    })?;
    let (at, s) = c.header_token();
    let src_ports = parse_ports(s)
        .map_err(|off| c.err(at + off, "a port (any, $VAR, N, N:M, [group], !negation)"))?;
    let (at, s) = c.header_token();
    let direction = match s {
        "->" => Direction::ToDst,
        "<>" => Direction::Both,
        "=>" => Direction::Transactional,
        _ => return Err(c.err(at, "`->`, `<>` or `=>`")),
    };
    let (at, s) = c.header_token();
    let dst_addr = parse_addr(s).map_err(|off| {
        c.err(
            at + off,
            "an address (any, $VAR, CIDR, range, [group], !negation)",
        )
    })?;
    let (at, s) = c.header_token();
    let dst_ports = parse_ports(s)
        .map_err(|off| c.err(at + off, "a port (any, $VAR, N, N:M, [group], !negation)"))?;
    c.skip_ws();
    if c.peek() != Some('(') {
        return Err(c.err(c.pos, "`(` starting the rule options"));
    }
    c.pos += 1;
    let options = parse_options(c)?;
    c.skip_ws();
    if c.pos < c.s.len() {
        return Err(c.err(c.pos, "end of rule after `)`"));
    }
    Ok(ParsedRule {
        action,
        proto,
        src_addr,
        src_ports,
        direction,
        dst_addr,
        dst_ports,
        options,
        position: c.l.position(c.file, rule_start),
        text: c.s.trim().to_string(),
    })
}

fn parse_options(c: &mut Cursor<'_>) -> Result<Vec<RuleOption>, ParseError> {
    let mut options = Vec::new();
    loop {
        c.skip_ws();
        match c.peek() {
            None => return Err(c.err(c.pos, "an option or `)` closing the options")),
            Some(')') => {
                c.pos += 1;
                return Ok(options);
            }
            _ => {}
        }
        let name_start = c.pos;
        while let Some(ch) = c.peek() {
            if ch.is_ascii_alphanumeric() || ch == '_' || ch == '.' || ch == '-' {
                c.pos += 1;
            } else {
                break;
            }
        }
        if c.pos == name_start {
            return Err(c.err(c.pos, "a keyword name"));
        }
        let name = c.s[name_start..c.pos].to_string();
        let position = c.l.position(c.file, name_start);
        c.skip_ws();
        let value = match c.peek() {
            Some(';') => {
                c.pos += 1;
                None
            }
            Some(':') => {
                c.pos += 1;
                let vstart = c.pos;
                let rest = c.rest();
                let mut end = None;
                let mut escaped = false;
                for (i, ch) in rest.char_indices() {
                    if escaped {
                        escaped = false;
                        continue;
                    }
                    match ch {
                        '\\' => escaped = true,
                        ';' => {
                            end = Some(i);
                            break;
                        }
                        _ => {}
                    }
                }
                let Some(end) = end else {
                    return Err(c.err(vstart, &format!("`;` ending the value of `{name}`")));
                };
                let v = rest[..end].trim().to_string();
                c.pos = vstart + end + 1;
                Some(v)
            }
            _ => return Err(c.err(c.pos, &format!("`:` or `;` after `{name}`"))),
        };
        options.push(RuleOption {
            name,
            value,
            position,
        });
    }
}

/// Parses an address expression; on error returns the byte offset of the problem within `s`.
pub fn parse_addr(s: &str) -> Result<AddrExpr, usize> {
    let mut p = ExprParser { s, pos: 0 };
    let e = p.addr()?;
    p.ws();
    if p.pos != s.len() {
        return Err(p.pos);
    }
    Ok(e)
}

/// Parses a port expression; on error returns the byte offset of the problem within `s`.
pub fn parse_ports(s: &str) -> Result<PortExpr, usize> {
    let mut p = ExprParser { s, pos: 0 };
    let e = p.port()?;
    p.ws();
    if p.pos != s.len() {
        return Err(p.pos);
    }
    Ok(e)
}

struct ExprParser<'a> {
    s: &'a str,
    pos: usize,
}

impl ExprParser<'_> {
    fn ws(&mut self) {
        while self
            .s
            .as_bytes()
            .get(self.pos)
            .is_some_and(|b| b.is_ascii_whitespace())
        {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    /// An atom: up to `,` `]` or whitespace.
    fn atom(&mut self) -> &str {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if b == b',' || b == b']' || b == b'[' || b.is_ascii_whitespace() {
                break;
            }
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    fn group<T>(&mut self, elem: fn(&mut Self) -> Result<T, usize>) -> Result<Vec<T>, usize> {
        // at '['
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.ws();
            items.push(elem(self)?);
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(items);
                }
                _ => return Err(self.pos),
            }
        }
    }

    fn addr(&mut self) -> Result<AddrExpr, usize> {
        self.ws();
        match self.peek() {
            Some(b'!') => {
                self.pos += 1;
                Ok(AddrExpr::Not(Box::new(self.addr()?)))
            }
            Some(b'[') => Ok(AddrExpr::Group(self.group(Self::addr)?)),
            Some(_) => {
                let start = self.pos;
                let a = self.atom();
                parse_addr_atom(a).ok_or(start)
            }
            None => Err(self.pos),
        }
    }

    fn port(&mut self) -> Result<PortExpr, usize> {
        self.ws();
        match self.peek() {
            Some(b'!') => {
                self.pos += 1;
                Ok(PortExpr::Not(Box::new(self.port()?)))
            }
            Some(b'[') => Ok(PortExpr::Group(self.group(Self::port)?)),
            Some(_) => {
                let start = self.pos;
                let a = self.atom();
                parse_port_atom(a).ok_or(start)
            }
            None => Err(self.pos),
        }
    }
}

fn is_var_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn parse_addr_atom(a: &str) -> Option<AddrExpr> {
    if a.eq_ignore_ascii_case("any") {
        return Some(AddrExpr::Any);
    }
    if let Some(name) = a.strip_prefix('$') {
        return is_var_name(name).then(|| AddrExpr::Var(name.to_string()));
    }
    if let Some((ip, prefix)) = a.split_once('/') {
        let ip: IpAddr = ip.parse().ok()?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        // Suricata also accepts a dotted netmask: 10.0.0.0/255.0.0.0.
        let bits: u8 = match prefix.parse::<u8>() {
            Ok(b) => b,
            Err(_) => match (ip, prefix.parse::<IpAddr>().ok()?) {
                (IpAddr::V4(_), IpAddr::V4(m)) => {
                    let m = u32::from(m);
                    if m.leading_ones() + m.trailing_zeros() != 32 {
                        return None;
                    }
                    m.leading_ones() as u8
                }
                _ => return None,
            },
        };
        return (bits <= max).then_some(AddrExpr::Cidr(ip, bits));
    }
    if let Ok(ip) = a.parse::<IpAddr>() {
        let bits = if ip.is_ipv4() { 32 } else { 128 };
        return Some(AddrExpr::Cidr(ip, bits));
    }
    // A range a-b (IPv6 addresses contain no '-').
    if let Some((lo, hi)) = a.split_once('-') {
        let lo: IpAddr = lo.parse().ok()?;
        let hi: IpAddr = hi.parse().ok()?;
        if lo.is_ipv4() != hi.is_ipv4() || lo > hi {
            return None;
        }
        return Some(AddrExpr::Range(lo, hi));
    }
    None
}

fn parse_port_atom(a: &str) -> Option<PortExpr> {
    if a.eq_ignore_ascii_case("any") {
        return Some(PortExpr::Any);
    }
    if let Some(name) = a.strip_prefix('$') {
        return is_var_name(name).then(|| PortExpr::Var(name.to_string()));
    }
    if let Some((lo, hi)) = a.split_once(':') {
        let lo: u16 = if lo.is_empty() { 0 } else { lo.parse().ok()? };
        let hi: u16 = if hi.is_empty() {
            u16::MAX
        } else {
            hi.parse().ok()?
        };
        return (lo <= hi).then_some(PortExpr::Range(lo, hi));
    }
    let p: u16 = a.parse().ok()?;
    Some(PortExpr::Range(p, p))
}

/// Splits a keyword value at top-level commas, honouring double quotes and backslash escapes.
pub(crate) fn split_commas(v: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_q = false;
    let mut esc = false;
    for (i, ch) in v.char_indices() {
        if esc {
            esc = false;
            continue;
        }
        match ch {
            '\\' => esc = true,
            '"' => in_q = !in_q,
            ',' if !in_q => {
                out.push(v[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(v[start..].trim());
    out
}

/// Removes the rule-level escapes `\;` `\"` `\\` `\:` (and any other `\x` -> `x`).
pub(crate) fn unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Strips one pair of surrounding double quotes, if present.
pub(crate) fn unquote(v: &str) -> &str {
    let v = v.trim();
    match v.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        // A closing quote that is escaped (`\"` after an odd number of backslashes) is
        // part of the text, not the end of it.
        Some(inner) if (inner.len() - inner.trim_end_matches('\\').len()) % 2 == 0 => inner,
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_rule_with_positions() {
        let text = "# comment\n\nalert tcp $HOME_NET any -> !$EXTERNAL_NET [80,443,8000:8080] (msg:\"a\\;b\"; content:\"x\"; nocase; sid:7; rev:2;)\n";
        let r = parse_str(text, "t.rules");
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        let rule = &r.rules[0];
        assert_eq!(rule.action, Action::Alert);
        assert_eq!(rule.proto, "tcp");
        assert_eq!(rule.src_addr, AddrExpr::Var("HOME_NET".into()));
        assert_eq!(
            rule.dst_addr,
            AddrExpr::Not(Box::new(AddrExpr::Var("EXTERNAL_NET".into())))
        );
        assert_eq!(
            rule.dst_ports,
            PortExpr::Group(vec![
                PortExpr::Range(80, 80),
                PortExpr::Range(443, 443),
                PortExpr::Range(8000, 8080)
            ])
        );
        assert_eq!(rule.position.line, 3);
        assert_eq!(rule.position.col, 1);
        assert_eq!(rule.options.len(), 5);
        assert_eq!(rule.options[0].value.as_deref(), Some("\"a\\;b\""));
        assert_eq!(rule.options[2].name, "nocase");
        assert_eq!(rule.options[2].value, None);
        assert_eq!(rule.sid(), Some(7));
        let col = text.lines().nth(2).unwrap().find("nocase").unwrap() as u32 + 1;
        assert_eq!(rule.options[2].position.col, col);
    }

    #[test]
    fn multi_line_rules_keep_line_numbers() {
        let text = "alert udp any any -> any 53 (msg:\"x\"; \\\n   content:\"abc\"; \\\n  sid:1;)\nalert ip any any -> any any (sid:2;)";
        let r = parse_str(text, "m.rules");
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(r.rules.len(), 2);
        assert_eq!(r.rules[0].options[1].position.line, 2);
        assert_eq!(r.rules[0].options[1].position.col, 4);
        assert_eq!(r.rules[0].options[2].position.line, 3);
        assert_eq!(r.rules[1].position.line, 4);
    }

    #[test]
    fn syntax_errors_say_where_and_what() {
        let r = parse_str("alert tcp any any <- any any (sid:1;)", "e.rules");
        let e = &r.errors[0];
        assert_eq!(e.position.line, 1);
        assert_eq!(e.position.col, 19);
        assert!(e.expected.contains("->"));
        assert_eq!(e.sid, Some(1));

        let r = parse_str("\n  alrt tcp any any -> any any (sid:1;)", "e.rules");
        assert_eq!(
            (r.errors[0].position.line, r.errors[0].position.col),
            (2, 3)
        );

        let r = parse_str("alert tcp 1.2.3.300 any -> any any (sid:1;)", "e.rules");
        assert_eq!(r.errors[0].position.col, 11);

        let r = parse_str(
            "alert tcp [1.2.3.4,5.6.7.8 any -> any any (sid:1;)",
            "e.rules",
        );
        assert_eq!(r.errors.len(), 1);

        let r = parse_str("alert tcp any any -> any any (msg:\"x\"; sid:1)", "e.rules");
        assert!(r.errors[0].expected.contains("`;`"), "{}", r.errors[0]);

        let r = parse_str("alert tcp any any -> any any (sid:1;) junk", "e.rules");
        assert!(r.errors[0].expected.contains("end of rule"));

        let r = parse_str("alert tcp any any -> any any", "e.rules");
        assert_eq!(r.errors[0].found, "end of rule");
    }

    #[test]
    fn byte_order_mark_and_crlf() {
        let r = parse_str("\u{feff}alert ip any any -> any any (sid:1;)\r\n\r\nalert ip any any -> any any (sid:2;)\r\n", "b");
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(r.rules.len(), 2);
        assert_eq!(r.rules[1].position.line, 3);
    }

    #[test]
    fn disabled_rules_are_comments() {
        let r = parse_str("# alert tcp any any -> any any (sid:1;)\n   #x\n", "d");
        assert!(r.rules.is_empty() && r.errors.is_empty());
    }

    #[test]
    fn addresses_and_ports() {
        assert_eq!(
            parse_addr("[10.0.0.0/8,![10.1.0.0/16, 10.2.0.1]]").unwrap(),
            AddrExpr::Group(vec![
                AddrExpr::Cidr("10.0.0.0".parse().unwrap(), 8),
                AddrExpr::Not(Box::new(AddrExpr::Group(vec![
                    AddrExpr::Cidr("10.1.0.0".parse().unwrap(), 16),
                    AddrExpr::Cidr("10.2.0.1".parse().unwrap(), 32),
                ])))
            ])
        );
        assert_eq!(
            parse_addr("2001:db8::/32").unwrap(),
            AddrExpr::Cidr("2001:db8::".parse().unwrap(), 32)
        );
        assert_eq!(
            parse_addr("1.1.1.1-1.1.1.9").unwrap(),
            AddrExpr::Range("1.1.1.1".parse().unwrap(), "1.1.1.9".parse().unwrap())
        );
        assert_eq!(
            parse_addr("10.0.0.0/255.0.0.0").unwrap(),
            AddrExpr::Cidr("10.0.0.0".parse().unwrap(), 8)
        );
        assert!(parse_addr("10.0.0.0/33").is_err());
        assert_eq!(parse_ports("1024:").unwrap(), PortExpr::Range(1024, 65535));
        assert_eq!(parse_ports(":1023").unwrap(), PortExpr::Range(0, 1023));
        assert_eq!(
            parse_ports("!80").unwrap(),
            PortExpr::Not(Box::new(PortExpr::Range(80, 80)))
        );
        assert_eq!(parse_ports("[1,2").unwrap_err(), 4);
        assert!(parse_ports("70000").is_err());
    }

    #[test]
    fn commas_and_escapes() {
        assert_eq!(
            split_commas("a, \"b,c\", d\\,e"),
            vec!["a", "\"b,c\"", "d\\,e"]
        );
        assert_eq!(unescape(r#"a\;b\"c\\d"#), r#"a;b"c\d"#);
        assert_eq!(unquote("\"abc\""), "abc");
        assert_eq!(unquote(r#""a\\""#), r#"a\\"#);
        assert_eq!(unquote(r#""a\""#), r#""a\""#);
    }

    #[test]
    fn never_panics_on_odd_input() {
        for s in [
            "",
            "(",
            ")",
            "alert",
            "alert é é é é é (",
            "alert tcp any any -> any any (é:é;)",
            "\\",
            "alert tcp any any -> any any (a:\\",
            "alert tcp [[[[ any",
        ] {
            let _ = parse_str(s, "x");
        }
    }
}
