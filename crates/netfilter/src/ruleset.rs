//! Firewall rulesets as `iptables-save` / `ip6tables-save` and `nft list ruleset` print them,
//! read into one model for the audit.
//!
//! # Design
//! The model keeps only what the audit needs: tables with chains, a chain's hook (built-in
//! iptables chains, nft base chains), and per rule its verdict ([`Action`]: queue, accept,
//! jump, ...), its match tokens and two facts computed once: whether it is a SYN-ACK accept
//! ("guard") and whether it can match a TCP SYN-ACK at all. The original text and line number
//! are kept for messages.
//!
//! The parsers are line-based and forgiving: a line they do not understand is kept as a rule
//! with [`Action::Other`] (or skipped when it is not a rule), never a panic. The format is
//! detected by [`parse_auto`]: `*table` / `-A` lines are iptables-save, `table ... {` is nft.

use std::fmt;

/// Which tool the ruleset came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dialect {
    /// `iptables-save` / `ip6tables-save` (either backend).
    Iptables,
    /// `nft list ruleset`.
    Nft,
}

/// IP family of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TableFamily {
    /// IPv4 (`iptables`, nft `ip`).
    Ip,
    /// IPv6 (`ip6tables`, nft `ip6`).
    Ip6,
    /// nft `inet` (both).
    Inet,
    /// Anything else (`bridge`, `arp`, `netdev`).
    Other,
}

/// A netfilter hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HookPoint {
    /// PREROUTING.
    Prerouting,
    /// INPUT.
    Input,
    /// FORWARD.
    Forward,
    /// OUTPUT.
    Output,
    /// POSTROUTING.
    Postrouting,
    /// Ingress/egress and other hooks.
    Other,
}

impl HookPoint {
    /// Whether locally generated SYN-ACKs pass this hook with their request socket attached.
    pub fn sees_local_synack(&self) -> bool {
        matches!(self, HookPoint::Output | HookPoint::Postrouting)
    }

    fn from_name(s: &str) -> Option<HookPoint> {
        Some(match s.to_ascii_lowercase().as_str() {
            "prerouting" => HookPoint::Prerouting,
            "input" => HookPoint::Input,
            "forward" => HookPoint::Forward,
            "output" => HookPoint::Output,
            "postrouting" => HookPoint::Postrouting,
            "ingress" | "egress" => HookPoint::Other,
            _ => return None,
        })
    }
}

impl fmt::Display for HookPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HookPoint::Prerouting => "PREROUTING",
            HookPoint::Input => "INPUT",
            HookPoint::Forward => "FORWARD",
            HookPoint::Output => "OUTPUT",
            HookPoint::Postrouting => "POSTROUTING",
            HookPoint::Other => "other",
        })
    }
}

/// What a rule does with a matching packet.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// NFQUEUE / nft `queue`.
    Queue {
        /// First queue number.
        first: u16,
        /// Last queue number (= first for one queue).
        last: u16,
        /// `--queue-bypass` / `bypass`: accept when nobody listens.
        bypass: bool,
    },
    /// ACCEPT.
    Accept,
    /// DROP / REJECT.
    Drop,
    /// RETURN.
    Return,
    /// Jump to a chain (returns).
    Jump {
        /// Target chain.
        chain: String,
    },
    /// Goto a chain (does not return).
    Goto {
        /// Target chain.
        chain: String,
    },
    /// Anything else (marks, logs, counters...).
    Other,
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rule {
    /// The rule as written (iptables: without `-A CHAIN`).
    pub text: String,
    /// 1-based line in the input.
    pub line: usize,
    /// The verdict.
    pub action: Action,
    /// Whether this is an ACCEPT of TCP SYN-ACKs (the guard); see [`Rule::guard_conditions`].
    pub is_synack_accept: bool,
    /// For a guard: its match tokens other than the SYN-ACK test itself (it covers a queue
    /// rule only if the queue rule has all of them).
    pub guard_conditions: Vec<String>,
    /// Whether the rule can match a TCP SYN-ACK at all (false for `-p udp`, `--syn`, ...).
    pub can_match_synack: bool,
    /// The match tokens (for the guard coverage test).
    pub tokens: Vec<String>,
}

/// One chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Chain {
    /// Its name.
    pub name: String,
    /// The hook for built-in / base chains, `None` for user chains.
    pub hook: Option<HookPoint>,
    /// Rules in order.
    pub rules: Vec<Rule>,
}

/// One table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Table {
    /// Its family.
    pub family: TableFamily,
    /// Its name (`filter`, `mangle`, nft table name).
    pub name: String,
    /// Chains.
    pub chains: Vec<Chain>,
}

impl Table {
    /// The chain with this name.
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }
}

/// A parsed ruleset.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ruleset {
    /// Where it came from (`iptables-nft-save`, a file name, ...).
    pub origin: String,
    /// The dialect.
    pub dialect: Dialect,
    /// Tables.
    pub tables: Vec<Table>,
}

/// Detects the format and parses. Returns `None` when the text is neither format.
pub fn parse_auto(text: &str, origin: &str) -> Option<Ruleset> {
    let mut ipt = false;
    let mut nft = false;
    for l in text.lines().map(str::trim) {
        if l.starts_with('*') || l.starts_with("-A ") || l.starts_with(":INPUT") {
            ipt = true;
        }
        if l.starts_with("table ") && l.ends_with('{') {
            nft = true;
        }
    }
    match (ipt, nft) {
        (true, false) => Some(parse_iptables_save(text, origin, TableFamily::Ip)),
        (false, true) => Some(parse_nft(text, origin)),
        (true, true) => {
            // Both: keep whichever found rules (a paste of both is split by the caller).
            let a = parse_iptables_save(text, origin, TableFamily::Ip);
            let b = parse_nft(text, origin);
            let count = |r: &Ruleset| r.tables.iter().map(|t| t.chains.len()).sum::<usize>();
            Some(if count(&a) >= count(&b) { a } else { b })
        }
        (false, false) => None,
    }
}

/// Splits a line into tokens, keeping double-quoted strings together (quotes removed).
pub fn tokenize(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_q = false;
    let mut had = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_q => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '"' => {
                in_q = !in_q;
                had = true;
            }
            c if c.is_whitespace() && !in_q => {
                if had || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    had = false;
                }
            }
            c => cur.push(c),
        }
    }
    if had || !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn iptables_builtin_hook(chain: &str) -> Option<HookPoint> {
    match chain {
        "PREROUTING" => Some(HookPoint::Prerouting),
        "INPUT" => Some(HookPoint::Input),
        "FORWARD" => Some(HookPoint::Forward),
        "OUTPUT" => Some(HookPoint::Output),
        "POSTROUTING" => Some(HookPoint::Postrouting),
        _ => None,
    }
}

fn flag_set(s: &str) -> Vec<String> {
    if s.eq_ignore_ascii_case("ALL") {
        return ["SYN", "ACK", "FIN", "RST", "URG", "PSH", "ECE", "CWR"]
            .iter()
            .map(|x| x.to_string())
            .collect();
    }
    if s.eq_ignore_ascii_case("NONE") {
        return vec![];
    }
    s.split(',')
        .map(|f| f.trim().to_ascii_uppercase())
        .collect()
}

/// Parses `iptables-save` output. `default_family` applies until a `# Generated by ip6tables-save`
/// header says otherwise.
pub fn parse_iptables_save(text: &str, origin: &str, default_family: TableFamily) -> Ruleset {
    let mut tables: Vec<Table> = Vec::new();
    let mut family = default_family;
    let mut cur: Option<usize> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let lineno = i + 1;
        if let Some(c) = line.strip_prefix('#') {
            let c = c.trim();
            if c.starts_with("Generated by ip6tables") {
                family = TableFamily::Ip6;
            } else if c.starts_with("Generated by iptables") {
                family = TableFamily::Ip;
            }
            continue;
        }
        if let Some(name) = line.strip_prefix('*') {
            tables.push(Table {
                family,
                name: name.trim().to_string(),
                chains: Vec::new(),
            });
            cur = Some(tables.len() - 1);
            continue;
        }
        if line == "COMMIT" {
            cur = None;
            continue;
        }
        let needs_table =
            line.starts_with(':') || line.starts_with("-A ") || line.starts_with("-I ");
        if needs_table && cur.is_none() {
            // A rule without a `*table` line (a hand-written fragment): assume filter.
            tables.push(Table {
                family,
                name: "filter".into(),
                chains: Vec::new(),
            });
            cur = Some(tables.len() - 1);
        }
        let Some(t) = cur.and_then(|c| tables.get_mut(c)) else {
            continue;
        };
        if let Some(decl) = line.strip_prefix(':') {
            let name = decl.split_whitespace().next().unwrap_or("").to_string();
            if !name.is_empty() && t.chain(&name).is_none() {
                t.chains.push(Chain {
                    hook: iptables_builtin_hook(&name),
                    name,
                    rules: Vec::new(),
                });
            }
            continue;
        }
        let toks = tokenize(line);
        if toks.len() < 2 || !(toks[0] == "-A" || toks[0] == "-I") {
            continue;
        }
        let chain_name = toks[1].clone();
        let mut spec: Vec<String> = toks[2..].to_vec();
        if toks[0] == "-I" && spec.first().is_some_and(|s| s.parse::<u32>().is_ok()) {
            spec.remove(0);
        }
        if family == TableFamily::Ip && spec.iter().any(|s| s == "ipv6-icmp" || s == "icmpv6") {
            t.family = TableFamily::Ip6;
        }
        let rule = iptables_rule(&spec, line, lineno);
        let idx = match t.chains.iter().position(|c| c.name == chain_name) {
            Some(i) => i,
            None => {
                t.chains.push(Chain {
                    hook: iptables_builtin_hook(&chain_name),
                    name: chain_name,
                    rules: Vec::new(),
                });
                t.chains.len() - 1
            }
        };
        let prepend = toks[0] == "-I";
        let c = &mut t.chains[idx];
        if prepend {
            c.rules.insert(0, rule);
        } else {
            c.rules.push(rule);
        }
    }
    Ruleset {
        origin: origin.to_string(),
        dialect: Dialect::Iptables,
        tables,
    }
}

fn iptables_rule(spec: &[String], line: &str, lineno: usize) -> Rule {
    let mut action = Action::Other;
    let mut match_tokens = Vec::new();
    let mut i = 0;
    let mut target_args: Vec<String> = Vec::new();
    let mut target: Option<(String, String)> = None;
    while i < spec.len() {
        let t = &spec[i];
        if (t == "-j" || t == "--jump" || t == "-g" || t == "--goto") && i + 1 < spec.len() {
            target = Some((t.clone(), spec[i + 1].clone()));
            target_args = spec[i + 2..].to_vec();
            break;
        }
        match_tokens.push(t.clone());
        i += 1;
    }
    if let Some((kind, name)) = target {
        let goto = kind == "-g" || kind == "--goto";
        action = match name.as_str() {
            "NFQUEUE" | "QUEUE" => {
                let mut first = 0u16;
                let mut last = 0u16;
                let mut bypass = false;
                let mut k = 0;
                while k < target_args.len() {
                    match target_args[k].as_str() {
                        "--queue-num" => {
                            if let Some(n) = target_args.get(k + 1).and_then(|v| v.parse().ok()) {
                                first = n;
                                last = n;
                            }
                            k += 1;
                        }
                        "--queue-balance" => {
                            if let Some((a, b)) =
                                target_args.get(k + 1).and_then(|v| v.split_once(':'))
                            {
                                if let (Ok(a), Ok(b)) = (a.parse(), b.parse()) {
                                    first = a;
                                    last = b;
                                }
                            }
                            k += 1;
                        }
                        "--queue-bypass" => bypass = true,
                        _ => {}
                    }
                    k += 1;
                }
                Action::Queue {
                    first,
                    last: last.max(first),
                    bypass,
                }
            }
            "ACCEPT" => Action::Accept,
            "DROP" | "REJECT" => Action::Drop,
            "RETURN" => Action::Return,
            n if goto => Action::Goto {
                chain: n.to_string(),
            },
            n if is_extension_target(n) => Action::Other,
            n => Action::Jump {
                chain: n.to_string(),
            },
        };
    }
    let text = line
        .split_once(' ')
        .and_then(|(_, r)| r.split_once(' '))
        .map(|(_, r)| r)
        .unwrap_or(line)
        .to_string();
    // Facts about SYN-ACKs.
    let (synack_cond, synack_excluded, rest) = iptables_synack_facts(&match_tokens);
    let not_tcp = protocol_excludes_tcp(&match_tokens);
    Rule {
        text,
        line: lineno,
        is_synack_accept: synack_cond && action == Action::Accept,
        guard_conditions: rest,
        can_match_synack: !not_tcp && !synack_excluded,
        action,
        tokens: match_tokens,
    }
}

fn is_extension_target(name: &str) -> bool {
    const T: &[&str] = &[
        "LOG",
        "NFLOG",
        "ULOG",
        "MARK",
        "CONNMARK",
        "CT",
        "NOTRACK",
        "TRACE",
        "SNAT",
        "DNAT",
        "MASQUERADE",
        "REDIRECT",
        "TPROXY",
        "TCPMSS",
        "TOS",
        "DSCP",
        "TTL",
        "HL",
        "CLASSIFY",
        "CHECKSUM",
        "SECMARK",
        "CONNSECMARK",
        "AUDIT",
        "SET",
        "NETMAP",
        "TEE",
        "IDLETIMER",
        "LED",
        "SYNPROXY",
        "HMARK",
        "CLUSTERIP",
        "ECN",
        "RATEEST",
        "NFQUEUE",
        "QUEUE",
        "ACCEPT",
        "DROP",
        "REJECT",
        "RETURN",
    ];
    T.contains(&name)
}

/// Returns (has an exact SYN-ACK condition, excludes SYN-ACKs, other match tokens).
fn iptables_synack_facts(toks: &[String]) -> (bool, bool, Vec<String>) {
    let mut cond = false;
    let mut excluded = false;
    let mut rest = Vec::new();
    let mut i = 0;
    let mut negate_next = false;
    while i < toks.len() {
        let t = toks[i].as_str();
        match t {
            "!" => {
                negate_next = true;
                i += 1;
                continue;
            }
            "--tcp-flags" if i + 2 < toks.len() => {
                let mask = flag_set(&toks[i + 1]);
                let comp = flag_set(&toks[i + 2]);
                let has = |v: &Vec<String>, f: &str| v.iter().any(|x| x == f);
                let synack_match = has(&mask, "SYN")
                    && has(&mask, "ACK")
                    && has(&comp, "SYN")
                    && has(&comp, "ACK")
                    && comp.iter().all(|f| {
                        f == "SYN" || f == "ACK" || !has(&mask, f) || f == "ECE" || f == "CWR"
                    })
                    && !["FIN", "RST"].iter().any(|f| has(&comp, f));
                // Any flags test with SYN and ACK in the mask whose expected value does not
                // have both set excludes SYN-ACKs.
                let rejects_synack = (has(&mask, "SYN") && !has(&comp, "SYN"))
                    || (has(&mask, "ACK") && !has(&comp, "ACK"));
                if negate_next {
                    if synack_match && mask.len() == 2 {
                        excluded = true;
                    }
                } else if synack_match {
                    cond = true;
                } else if rejects_synack {
                    excluded = true;
                    rest.extend_from_slice(&toks[i..i + 3]);
                } else {
                    rest.extend_from_slice(&toks[i..i + 3]);
                }
                negate_next = false;
                i += 3;
                continue;
            }
            "--syn" => {
                if !negate_next {
                    excluded = true;
                }
                negate_next = false;
                i += 1;
                continue;
            }
            "-m" if toks
                .get(i + 1)
                .is_some_and(|m| m == "tcp" || m == "comment") =>
            {
                if toks[i + 1] == "comment" {
                    // `-m comment --comment X` carries no condition.
                    i += 2;
                    if toks.get(i).is_some_and(|t| t == "--comment") {
                        i += 2;
                    }
                    continue;
                }
                i += 2;
                continue;
            }
            "-p" | "--protocol" if toks.get(i + 1).is_some_and(|p| p == "tcp" || p == "6") => {
                i += 2;
                negate_next = false;
                continue;
            }
            _ => {}
        }
        if negate_next {
            rest.push("!".into());
        }
        negate_next = false;
        rest.push(t.to_string());
        i += 1;
    }
    (cond, excluded, rest)
}

fn protocol_excludes_tcp(toks: &[String]) -> bool {
    let mut i = 0;
    while i + 1 < toks.len() {
        if toks[i] == "-p" || toks[i] == "--protocol" {
            let negated = i > 0 && toks[i - 1] == "!";
            let p = toks[i + 1].to_ascii_lowercase();
            let is_tcp = p == "tcp" || p == "6";
            let is_all = p == "all" || p == "0";
            if negated {
                return is_tcp;
            }
            return !is_tcp && !is_all;
        }
        i += 1;
    }
    false
}

/// Parses `nft list ruleset` text.
pub fn parse_nft(text: &str, origin: &str) -> Ruleset {
    let mut tables: Vec<Table> = Vec::new();
    // Block stack: what each open brace belongs to.
    #[derive(PartialEq)]
    enum Blk {
        Table,
        Chain,
        Other,
    }
    let mut stack: Vec<Blk> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let lineno = i + 1;
        let mut line = raw.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        // Drop `# handle N` and trailing comments outside quotes.
        if let Some(p) = find_unquoted(line, '#') {
            line = line[..p].trim();
        }
        let opens = count_unquoted(line, '{');
        let closes = count_unquoted(line, '}');
        let in_chain = stack.last() == Some(&Blk::Chain);
        if !in_chain && line.starts_with("table ") && line.ends_with('{') {
            let toks = tokenize(line.trim_end_matches('{'));
            let (family, name) = match toks.len() {
                2 => (TableFamily::Ip, toks[1].clone()),
                n if n >= 3 => (
                    match toks[1].as_str() {
                        "ip" => TableFamily::Ip,
                        "ip6" => TableFamily::Ip6,
                        "inet" => TableFamily::Inet,
                        _ => TableFamily::Other,
                    },
                    toks[2].clone(),
                ),
                _ => (TableFamily::Other, String::new()),
            };
            tables.push(Table {
                family,
                name,
                chains: Vec::new(),
            });
            stack.push(Blk::Table);
            continue;
        }
        if stack.last() == Some(&Blk::Table) && line.starts_with("chain ") && line.ends_with('{') {
            let name = tokenize(line.trim_end_matches('{'))
                .get(1)
                .cloned()
                .unwrap_or_default();
            if let Some(t) = tables.last_mut() {
                t.chains.push(Chain {
                    name,
                    hook: None,
                    rules: Vec::new(),
                });
            }
            stack.push(Blk::Chain);
            continue;
        }
        if in_chain && opens == 0 && closes == 0 {
            if let Some(chain) = tables.last_mut().and_then(|t| t.chains.last_mut()) {
                if line.starts_with("type ") {
                    let toks = tokenize(line);
                    if let Some(p) = toks.iter().position(|t| t == "hook") {
                        chain.hook = toks
                            .get(p + 1)
                            .map(|h| h.trim_end_matches(';'))
                            .and_then(HookPoint::from_name);
                    }
                } else if !line.starts_with("policy ") && !line.starts_with("comment ") {
                    chain.rules.push(nft_rule(line, lineno));
                }
            }
            continue;
        }
        if in_chain && opens == closes {
            // A rule with an inline set: `tcp dport { 80, 443 } queue num 0`.
            if let Some(chain) = tables.last_mut().and_then(|t| t.chains.last_mut()) {
                chain.rules.push(nft_rule(line, lineno));
            }
            continue;
        }
        for _ in 0..opens {
            stack.push(Blk::Other);
        }
        for _ in 0..closes {
            stack.pop();
        }
    }
    Ruleset {
        origin: origin.to_string(),
        dialect: Dialect::Nft,
        tables,
    }
}

fn find_unquoted(s: &str, ch: char) -> Option<usize> {
    let mut in_q = false;
    for (i, c) in s.char_indices() {
        if c == '"' {
            in_q = !in_q;
        } else if c == ch && !in_q {
            return Some(i);
        }
    }
    None
}

fn count_unquoted(s: &str, ch: char) -> usize {
    let mut in_q = false;
    let mut n = 0;
    for c in s.chars() {
        if c == '"' {
            in_q = !in_q;
        } else if c == ch && !in_q {
            n += 1;
        }
    }
    n
}

fn nft_rule(line: &str, lineno: usize) -> Rule {
    let toks = tokenize(line);
    // Drop counters: `counter packets 0 bytes 0`.
    let mut clean = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if toks[i] == "counter" {
            i += 1;
            while i + 1 < toks.len() && (toks[i] == "packets" || toks[i] == "bytes") {
                i += 2;
            }
            continue;
        }
        clean.push(toks[i].clone());
        i += 1;
    }
    let action = nft_action(&clean);
    // Match tokens: everything before the verdict statement.
    let stmt_start = clean
        .iter()
        .position(|t| {
            matches!(
                t.as_str(),
                "queue" | "accept" | "drop" | "reject" | "return" | "jump" | "goto"
            )
        })
        .unwrap_or(clean.len());
    let matches: Vec<String> = clean[..stmt_start].to_vec();
    let joined: String = matches.join(" ");
    let compact: String = joined
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '(' && *c != ')')
        .collect();
    // `tcp flags syn,ack / syn,ack`, `tcp flags & (syn | ack) == syn | ack`,
    // `tcp flags & (syn|ack) == (syn|ack)`, `tcp flags syn,ack / syn,ack,fin,rst`.
    let mut cond = false;
    let mut excluded = false;
    let mut guard_rest: Vec<String> = Vec::new();
    if let Some(p) = compact.find("tcpflags") {
        let expr = &compact[p + "tcpflags".len()..];
        let (val, mask) = if let Some(r) = expr.strip_prefix('&') {
            // & MASK == VAL  or  & MASK != VAL
            match r.split_once("==") {
                Some((m, v)) => (Some(v.to_string()), Some(m.to_string())),
                None => match r.split_once("!=") {
                    Some((m, v)) => {
                        let vs = flagset_nft(v);
                        let ms = flagset_nft(m);
                        if ms.contains(&"syn".to_string())
                            && ms.contains(&"ack".to_string())
                            && vs == vec!["ack".to_string(), "syn".to_string()]
                        {
                            excluded = true;
                        }
                        (None, None)
                    }
                    None => (None, None),
                },
            }
        } else if let Some((v, m)) = expr.split_once('/') {
            (Some(v.to_string()), Some(m.to_string()))
        } else {
            (None, None)
        };
        if let (Some(v), Some(m)) = (val, mask) {
            let vs = flagset_nft(&v);
            let ms = flagset_nft(&m);
            let has = |s: &Vec<String>, f: &str| s.iter().any(|x| x == f);
            if has(&ms, "syn") && has(&ms, "ack") && has(&vs, "syn") && has(&vs, "ack") {
                cond = !has(&vs, "fin") && !has(&vs, "rst");
            } else if (has(&ms, "syn") && !has(&vs, "syn")) || (has(&ms, "ack") && !has(&vs, "ack"))
            {
                excluded = true;
            }
        }
        // The guard's other conditions: the text around the flags test.
        let before = joined.split("tcp flags").next().unwrap_or("");
        guard_rest = tokenize(before)
            .into_iter()
            .filter(|t| t != "meta" && t != "l4proto" && t != "tcp" && t != "ip" && t != "protocol")
            .collect();
    }
    if joined.contains("tcp flags syn") && !joined.contains('/') && !joined.contains('&') {
        // `tcp flags syn` (== exactly SYN in recent nft) excludes SYN-ACK.
        if let Some(rest) = joined.split("tcp flags").nth(1) {
            if rest.trim() == "syn" || rest.trim() == "== syn" {
                excluded = true;
            }
        }
    }
    let not_tcp = nft_not_tcp(&matches);
    Rule {
        text: line.to_string(),
        line: lineno,
        is_synack_accept: cond && action == Action::Accept,
        guard_conditions: guard_rest,
        can_match_synack: !not_tcp && !excluded,
        action,
        tokens: matches,
    }
}

fn flagset_nft(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .split([',', '|'])
        .map(|x| x.trim().to_ascii_lowercase())
        .filter(|x| !x.is_empty())
        .collect();
    v.sort();
    v.dedup();
    v
}

fn nft_not_tcp(m: &[String]) -> bool {
    let first_proto = m.iter().find_map(|t| match t.as_str() {
        "udp" | "udplite" | "sctp" | "icmp" | "icmpv6" | "dccp" | "esp" | "ah" => Some(false),
        "tcp" => Some(true),
        _ => None,
    });
    if let Some(false) = first_proto {
        return true;
    }
    // `meta l4proto udp`, `ip protocol udp`.
    for w in m.windows(2) {
        if (w[0] == "l4proto" || w[0] == "protocol" || w[0] == "nexthdr")
            && !w[1].contains("tcp")
            && !w[1].starts_with('{')
            && w[1] != "!="
            && w[1] != "6"
        {
            return true;
        }
    }
    false
}

fn nft_action(t: &[String]) -> Action {
    let Some(p) = t.iter().position(|x| {
        matches!(
            x.as_str(),
            "queue" | "accept" | "drop" | "reject" | "return" | "jump" | "goto"
        )
    }) else {
        return Action::Other;
    };
    match t[p].as_str() {
        "accept" => Action::Accept,
        "drop" | "reject" => Action::Drop,
        "return" => Action::Return,
        "jump" => Action::Jump {
            chain: t.get(p + 1).cloned().unwrap_or_default(),
        },
        "goto" => Action::Goto {
            chain: t.get(p + 1).cloned().unwrap_or_default(),
        },
        _ => {
            // queue [num N | num A-B | to N | to A-B] [flags x,y | bypass,fanout]
            let args = &t[p + 1..];
            let mut first = 0u16;
            let mut last = 0u16;
            let mut bypass = false;
            let mut k = 0;
            while k < args.len() {
                match args[k].as_str() {
                    "num" | "to" => {
                        if let Some(v) = args.get(k + 1) {
                            let (a, b) = v.split_once('-').unwrap_or((v, v));
                            if let (Ok(a), Ok(b)) = (a.parse(), b.parse()) {
                                first = a;
                                last = b;
                            }
                        }
                        k += 1;
                    }
                    other => {
                        if other.split(',').any(|f| f == "bypass") {
                            bypass = true;
                        }
                    }
                }
                k += 1;
            }
            Action::Queue {
                first,
                last: last.max(first),
                bypass,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IPT: &str = "# Generated by iptables-save v1.8.9 on Wed\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:INSPECT - [0:0]\n-A INPUT -j NFQUEUE --queue-num 3 --queue-bypass\n-A OUTPUT -p tcp -m tcp --tcp-flags SYN,ACK SYN,ACK -j ACCEPT\n-A OUTPUT -p tcp -m tcp --sport 80 -j NFQUEUE --queue-balance 0:3\n-A OUTPUT -m comment --comment \"to inspect\" -j INSPECT\n-A OUTPUT -p udp -j NFQUEUE\n-A INSPECT -p tcp ! --syn -j NFQUEUE --queue-num 1\nCOMMIT\n";

    #[test]
    fn iptables_save() {
        let r = parse_auto(IPT, "t").unwrap();
        assert_eq!(r.dialect, Dialect::Iptables);
        let t = &r.tables[0];
        assert_eq!(t.name, "filter");
        let out = t.chain("OUTPUT").unwrap();
        assert_eq!(out.hook, Some(HookPoint::Output));
        assert!(out.rules[0].is_synack_accept);
        assert!(out.rules[0].guard_conditions.is_empty());
        assert_eq!(
            out.rules[1].action,
            Action::Queue {
                first: 0,
                last: 3,
                bypass: false
            }
        );
        assert!(out.rules[1].can_match_synack);
        assert_eq!(
            out.rules[2].action,
            Action::Jump {
                chain: "INSPECT".into()
            }
        );
        assert!(!out.rules[3].can_match_synack, "udp");
        let insp = t.chain("INSPECT").unwrap();
        assert_eq!(insp.hook, None);
        assert!(insp.rules[0].can_match_synack, "! --syn matches SYN-ACK");
        assert_eq!(
            t.chain("INPUT").unwrap().rules[0].action,
            Action::Queue {
                first: 3,
                last: 3,
                bypass: true
            }
        );
    }

    #[test]
    fn iptables_synack_variants() {
        let rule = |s: &str| iptables_rule(&tokenize(s), s, 1);
        assert!(rule("-p tcp --tcp-flags ACK,SYN ACK,SYN -j ACCEPT").is_synack_accept);
        assert!(rule("-p tcp --tcp-flags SYN,ACK,FIN,RST SYN,ACK -j ACCEPT").is_synack_accept);
        assert!(!rule("-p tcp --tcp-flags SYN,ACK SYN -j ACCEPT").is_synack_accept);
        let g = rule("-p tcp -m tcp --sport 23456 --tcp-flags SYN,ACK SYN,ACK -j ACCEPT");
        assert!(g.is_synack_accept);
        assert_eq!(g.guard_conditions, vec!["--sport", "23456"]);
        assert!(!rule("-p tcp --syn -j NFQUEUE").can_match_synack);
        assert!(!rule("-p tcp ! --tcp-flags SYN,ACK SYN,ACK -j NFQUEUE").can_match_synack);
        assert!(rule("-p tcp --tcp-flags SYN,ACK SYN,ACK -j NFQUEUE").can_match_synack);
        assert!(!rule("-p icmp -j NFQUEUE").can_match_synack);
        assert!(rule("! -p udp -j NFQUEUE").can_match_synack);
        assert!(rule("-j NFQUEUE").can_match_synack);
        // Conntrack state limits are deliberately not trusted: a SYN-ACK whose conntrack entry
        // was flushed or expired can be NEW or INVALID, so only flags/protocol exclude it.
        assert!(rule("-m conntrack --ctstate NEW -j NFQUEUE").can_match_synack);
        assert!(nft_rule("ct state new queue num 0", 1).can_match_synack);
    }

    const NFT: &str = r#"table inet fw {
	set ports {
		type inet_service
		elements = { 80, 443 }
	}

	chain out {
		type filter hook output priority filter; policy accept;
		tcp flags syn,ack / syn,ack accept
		tcp dport { 80, 443 } counter packets 3 bytes 180 queue num 0-3 bypass,fanout
		jump sub # handle 7
	}

	chain sub {
		meta l4proto udp queue to 5
		tcp flags & (syn | ack) == syn | ack accept
		queue flags bypass to 2
	}
}
table ip filter {
	chain OUTPUT {
		type filter hook output priority filter; policy accept;
		counter packets 0 bytes 0 queue num 0
	}
}
"#;

    #[test]
    fn nft_ruleset() {
        let r = parse_auto(NFT, "t").unwrap();
        assert_eq!(r.dialect, Dialect::Nft);
        assert_eq!(r.tables.len(), 2);
        let t = &r.tables[0];
        assert_eq!(t.family, TableFamily::Inet);
        assert_eq!(t.chains.len(), 2, "{:?}", t.chains);
        let out = t.chain("out").unwrap();
        assert_eq!(out.hook, Some(HookPoint::Output));
        assert!(out.rules[0].is_synack_accept);
        assert_eq!(
            out.rules[1].action,
            Action::Queue {
                first: 0,
                last: 3,
                bypass: true
            }
        );
        assert_eq!(
            out.rules[2].action,
            Action::Jump {
                chain: "sub".into()
            }
        );
        let sub = t.chain("sub").unwrap();
        assert!(!sub.rules[0].can_match_synack);
        assert_eq!(
            sub.rules[0].action,
            Action::Queue {
                first: 5,
                last: 5,
                bypass: false
            }
        );
        assert!(sub.rules[1].is_synack_accept);
        assert_eq!(
            sub.rules[2].action,
            Action::Queue {
                first: 2,
                last: 2,
                bypass: true
            }
        );
        let f = &r.tables[1];
        assert_eq!(f.family, TableFamily::Ip);
        assert_eq!(
            f.chains[0].rules[0].action,
            Action::Queue {
                first: 0,
                last: 0,
                bypass: false
            }
        );
    }

    #[test]
    fn garbage_is_not_a_ruleset() {
        assert!(parse_auto("hello\nworld", "x").is_none());
        // Fragments without headers still parse.
        let r = parse_auto("-A OUTPUT -j NFQUEUE", "x").unwrap();
        assert_eq!(r.tables[0].chains[0].hook, Some(HookPoint::Output));
        // Unbalanced braces do not panic.
        let _ = parse_nft("table ip x {\n chain y {\n }}}}\n queue\n{{{", "x");
        let _ = parse_iptables_save("-A\n-A X -j\n*\n:\n-I OUTPUT 1", "x", TableFamily::Ip);
    }
}
