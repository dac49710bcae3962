//! The compiled, immutable [`RuleSet`] and packet detection.
//!
//! Layout: rules are sorted once in Suricata's evaluation order (action order pass, drop,
//! reject, alert; then rules that set flowbits before rules that read them; then priority; then
//! file order) and referred to by their index in that order. For each transport class (TCP,
//! UDP, ICMP, other) rules are grouped by destination port when their port set is small
//! (at most [`PORT_GROUP_MAX`] ports, one direction), else put in the class's any-port group.
//! Each group holds an Aho-Corasick automaton over its rules' fast patterns (one case-sensitive,
//! one case-insensitive for `nocase` patterns) and the list of rules without a usable pattern,
//! which are checked on every packet of the group. A packet therefore costs one scan per
//! applicable group plus the full check of the rules the prefilter let through, whatever the
//! number of rules loaded.
//!
//! The set is `Send + Sync` and meant to be shared behind an `Arc` and swapped whole on reload.
//! Per-thread mutable state lives in [`DetectState`], per-flow state in [`FlowVars`].

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use crate::app::AppView;
use crate::classification::Classifications;
use crate::dataset::{Dataset, DatasetDecl, DatasetDirs, DatasetRegistry};
use crate::error::{ParseError, Position, RuleProblem, RulesError};
use crate::hostbits::{HostBits, HostBitsConfig};
use crate::input::{L4Input, PacketExtra, PacketInput, StreamInput};
use crate::matchers::{
    apply_transforms, inspect_buffer, inspect_payload, FlowbitCmd, FlowintCmd, IntOperand, Slot,
    Threshold, ThresholdKind, Track, UniqueOn,
};
use crate::parse::{parse_str, Action, ParsedRule, ParsedRules};
use crate::prefilter::{collect, Group, GroupBuilder, PrefilterStats};
use crate::requires::Requirements;
use crate::rule::{compile_rule, Proto, Rule, RuleMeta};
use crate::vars::Vars;

/// Rules whose destination port set has at most this many ports are grouped by port.
pub const PORT_GROUP_MAX: u32 = 64;

/// One rule that matched a packet.
#[derive(Debug, Clone)]
pub struct Match {
    /// The rule's metadata (action, gid, sid, rev, msg, category, priority, ...).
    pub rule: Arc<RuleMeta>,
    /// The rule's index in the set's evaluation order (stable for one `RuleSet`).
    pub index: u32,
    /// Whether to log an alert: false for `noalert` rules, `pass` rules (unless they carry
    /// the `alert` keyword) and matches a `threshold` of type `limit` (or `both` past its
    /// count) suppressed. The rule's action still applies to such matches. Matches that
    /// `threshold` types `threshold`/`both` (before the count) or `detection_filter` (up to
    /// the count) hold back are not reported at all: Suricata applies neither alert nor
    /// action to them.
    pub alert: bool,
    /// The app-layer transaction the match belongs to, for app-layer rules matched on a
    /// framed message ([`PacketExtra::app`]); such a rule matches once per transaction.
    pub tx_id: Option<u64>,
    /// The match was on the reassembled stream ([`PacketExtra::stream`]), not on the
    /// packet's own payload.
    pub stream: bool,
}

/// Per-flow rule state the engine stores with each flow: flowbits (flowints later).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowVars {
    bits: HashSet<Arc<str>>,
    /// `track by_flow` threshold trackers, by (gid, sid).
    thresholds: HashMap<(u32, u32), ThresholdEntry>,
    /// flowint variables.
    ints: HashMap<Arc<str>, u32>,
    /// (rule index, transaction) pairs that matched: app-layer rules match once per
    /// transaction. Bounded: the oldest transactions are forgotten first.
    txs: Vec<(u32, u64)>,
    /// IP-only rules were evaluated in this direction (bit 0 to server, bit 1 to client):
    /// Suricata evaluates them on the first packet of each direction of a flow only.
    iponly_done: u8,
    /// Transactional (`=>`) rules: the parts that matched so far, per (rule, transaction).
    /// Bounded like `txs`.
    tx_parts: Vec<(u32, u64, u64)>,
    /// What detection saw of the flow, for `flow.age` and `stream_size`.
    seen: FlowSeen,
}

/// The flow as detection saw it (every packet of a flow goes through detection): its first
/// and latest packet times and, for TCP, each direction's sequence space.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct FlowSeen {
    first_ns: Option<u64>,
    last_ns: u64,
    /// Client (to server) and server directions: (initial sequence number, next expected).
    tcp: [Option<(u32, u32)>; 2],
}

impl FlowSeen {
    fn update(&mut self, now_ns: u64, p: &PacketInput<'_>) {
        self.first_ns.get_or_insert(now_ns);
        self.last_ns = self.last_ns.max(now_ns);
        let L4Input::Tcp { flags, seq, .. } = p.l4 else {
            return;
        };
        // Flags 0: a pseudo packet (flow end), not a segment.
        if flags == 0 || flags & 0x04 != 0 {
            return;
        }
        let (syn, fin) = (flags & 0x02 != 0, flags & 0x01 != 0);
        let len = (p.payload.len() as u32)
            .wrapping_add(u32::from(syn))
            .wrapping_add(u32::from(fin));
        let end = seq.wrapping_add(len);
        let side = &mut self.tcp[usize::from(!p.flow.to_server)];
        match side {
            // The SYN carries the initial sequence number; a session picked up midstream
            // starts one before its first segment (as Suricata's midstream pickup).
            None => *side = Some((if syn { seq } else { seq.wrapping_sub(1) }, end)),
            Some((_, next)) => {
                if (end.wrapping_sub(*next) as i32) > 0 {
                    *next = end;
                }
            }
        }
    }

    /// Bytes registered by sequence numbers, client and server (0 for a side not seen).
    fn stream_sizes(&self) -> (u32, u32) {
        let size = |s: Option<(u32, u32)>| s.map_or(0, |(isn, next)| next.wrapping_sub(isn));
        (size(self.tcp[0]), size(self.tcp[1]))
    }

    /// The flow's age in seconds as Suricata counts it: the latest packet's whole seconds
    /// minus the first packet's.
    fn age_secs(&self) -> u64 {
        let first = self.first_ns.unwrap_or(self.last_ns);
        (self.last_ns / 1_000_000_000).saturating_sub(first / 1_000_000_000)
    }
}

/// Most (rule, transaction) pairs remembered per flow.
const TX_MEMORY: usize = 512;

impl FlowVars {
    /// A flow with no variables set.
    pub fn new() -> FlowVars {
        FlowVars::default()
    }

    /// True if the flowbit is set.
    pub fn is_set(&self, name: &str) -> bool {
        self.bits.contains(name)
    }

    /// Sets a flowbit (as `flowbits:set` does).
    pub fn set(&mut self, name: &str) {
        if !self.bits.contains(name) {
            self.bits.insert(Arc::from(name));
        }
    }

    /// Clears a flowbit.
    pub fn unset(&mut self, name: &str) {
        self.bits.remove(name);
    }

    /// The value of a flowint variable, if set.
    pub fn flowint(&self, name: &str) -> Option<u32> {
        self.ints.get(name).copied()
    }

    /// The flowbits set, in no particular order.
    pub fn flowbits(&self) -> impl Iterator<Item = &str> {
        self.bits.iter().map(|s| &**s)
    }

    fn tx_matched(&self, rule: u32, tx: u64) -> bool {
        self.txs.contains(&(rule, tx))
    }

    /// Adds the parts `got` to those a transactional rule matched in a transaction; returns
    /// all matched so far.
    fn add_tx_parts(&mut self, rule: u32, tx: u64, got: u64) -> u64 {
        if let Some(e) = self.tx_parts.iter_mut().find(|e| e.0 == rule && e.1 == tx) {
            e.2 |= got;
            return e.2;
        }
        if got != 0 {
            if self.tx_parts.len() >= TX_MEMORY {
                self.tx_parts.drain(..TX_MEMORY / 2);
            }
            self.tx_parts.push((rule, tx, got));
        }
        got
    }

    fn mark_tx(&mut self, rule: u32, tx: u64) {
        if self.txs.len() >= TX_MEMORY {
            // Forget the oldest transaction's entries.
            if let Some(min) = self.txs.iter().map(|&(_, t)| t).min() {
                self.txs.retain(|&(_, t)| t != min);
            }
            if self.txs.len() >= TX_MEMORY {
                self.txs.drain(..TX_MEMORY / 2);
            }
        }
        self.txs.push((rule, tx));
    }
}

/// One threshold tracker: when its window started, how many matches it counted, and the
/// distinct ports seen (for `unique_on`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ThresholdEntry {
    start_ns: u64,
    count: u32,
    ports: Vec<u16>,
    /// Backoff: the match number of the next alert.
    next: u64,
}

/// What a threshold does with one match (Suricata's documented behaviour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// Alert, and apply the action.
    Alert,
    /// No alert, but the action (drop/reject/pass) still applies.
    ActionOnly,
    /// Neither alert nor action: the match is dropped (state-changing keywords still ran).
    Discard,
}

/// Counts one match in a tracker and says what to do with it. `fresh`: the tracker is new.
fn threshold_step(
    t: &Threshold,
    e: &mut ThresholdEntry,
    fresh: bool,
    now_ns: u64,
    p: &PacketInput<'_>,
) -> Gate {
    if t.kind == ThresholdKind::Backoff {
        // No time window: alert on match `count`, then every `multiplier` times further.
        if fresh {
            *e = ThresholdEntry {
                start_ns: now_ns,
                count: 0,
                ports: Vec::new(),
                next: u64::from(t.count),
            };
        }
        e.count = e.count.saturating_add(1);
        let n = u64::from(e.count);
        return if n == e.next {
            e.next = e.next.saturating_mul(u64::from(t.multiplier.max(2)));
            Gate::Alert
        } else if n == 1 {
            // Suricata applies no action to the first match when count > 1.
            Gate::Discard
        } else {
            Gate::ActionOnly
        };
    }
    let window = u64::from(t.seconds) * 1_000_000_000;
    if fresh || now_ns.saturating_sub(e.start_ns) >= window {
        *e = ThresholdEntry {
            start_ns: now_ns,
            count: 0,
            ports: Vec::new(),
            next: 0,
        };
    }
    match t.unique_on {
        Some(side) => {
            if let Some((sp, dp)) = p.l4.ports() {
                let port = if side == UniqueOn::SrcPort { sp } else { dp };
                if !e.ports.contains(&port) {
                    e.ports.push(port);
                }
            }
            e.count = u32::try_from(e.ports.len()).unwrap_or(u32::MAX);
        }
        None => e.count = e.count.saturating_add(1),
    }
    match t.kind {
        ThresholdKind::Limit => {
            if e.count <= t.count {
                Gate::Alert
            } else {
                Gate::ActionOnly
            }
        }
        ThresholdKind::Threshold => {
            if e.count >= t.count {
                e.count = 0;
                Gate::Alert
            } else {
                Gate::Discard
            }
        }
        ThresholdKind::Both => match e.count.cmp(&t.count) {
            std::cmp::Ordering::Equal => Gate::Alert,
            std::cmp::Ordering::Greater => Gate::ActionOnly,
            std::cmp::Ordering::Less => Gate::Discard,
        },
        ThresholdKind::Detection => {
            if e.count > t.count {
                Gate::Alert
            } else {
                Gate::Discard
            }
        }
        ThresholdKind::Backoff => Gate::Alert,
    }
}

/// Most threshold entries kept per thread before expired ones are swept.
const THRESHOLD_SWEEP_AT: usize = 65_536;

/// Per-thread mutable detection state: threshold counters, the bits `xbits`/`hostbits` keep
/// per host and IP pair ([`HostBits`]), and scratch space. Owned by the caller (one per worker
/// thread); reusable across rule set reloads. Hosts seen by different threads do not share
/// bits (see [`crate::hostbits`]).
#[derive(Debug, Default)]
pub struct DetectState {
    /// Bits per host and per IP pair.
    hostbits: HostBits,
    /// The current packet's time, whole seconds (for xbits expiry).
    now_secs: u64,
    thresholds: HashMap<(u32, u32, Option<IpAddr>, Option<IpAddr>), ThresholdEntry>,
    pub(crate) candidates: Vec<u32>,
    pub(crate) seen: Vec<u64>,
    vars: Vec<i64>,
    pub(crate) pattern_stamp: Vec<u32>,
    pub(crate) stamp: u32,
    /// Threshold entries swept away because they were expired.
    pub thresholds_expired: u64,
    /// Rules fully evaluated (prefilter candidates), summed over all packets: a measure of
    /// how well the prefilter works.
    pub candidates_checked: u64,
}

impl DetectState {
    /// Fresh state.
    pub fn new() -> DetectState {
        DetectState::default()
    }

    /// Fresh state whose `xbits`/`hostbits` store has these limits.
    pub fn with_host_bits(config: HostBitsConfig) -> DetectState {
        DetectState {
            hostbits: HostBits::new(config),
            ..DetectState::default()
        }
    }

    /// The bits `xbits`/`hostbits` keep per host and IP pair (read-only: sizes, eviction
    /// counters, lookups).
    pub fn host_bits(&self) -> &HostBits {
        &self.hostbits
    }

    fn apply_threshold(
        &mut self,
        now_ns: u64,
        meta: &RuleMeta,
        t: &Threshold,
        p: &PacketInput<'_>,
    ) -> Gate {
        if self.thresholds.len() >= THRESHOLD_SWEEP_AT {
            let before = self.thresholds.len();
            // Entries older than an hour cannot be inside any sane window; drop them.
            self.thresholds
                .retain(|_, e| now_ns.saturating_sub(e.start_ns) < 3_600_000_000_000);
            self.thresholds_expired += (before - self.thresholds.len()) as u64;
        }
        let (a, b) = t.key(p);
        let key = (meta.gid, meta.sid, a, b);
        let fresh = !self.thresholds.contains_key(&key);
        let e = self.thresholds.entry(key).or_default();
        threshold_step(t, e, fresh, now_ns, p)
    }
}

/// A rule that loaded.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadedRule {
    /// gid.
    pub gid: u32,
    /// sid.
    pub sid: u32,
    /// Where it was defined.
    pub position: Position,
}

/// A rule skipped because of what it uses (or invalid keyword values).
#[derive(Debug, Clone, serde::Serialize)]
pub struct SkippedRule {
    /// sid, when the rule has one.
    pub sid: Option<u32>,
    /// Where the rule starts.
    pub position: Position,
    /// Every problem found in the rule.
    pub problems: Vec<RuleProblem>,
}

impl SkippedRule {
    /// True if any problem makes the rule invalid (rather than only unsupported).
    pub fn is_invalid(&self) -> bool {
        self.problems
            .iter()
            .any(|p| matches!(p, RuleProblem::Invalid { .. }))
    }
}

/// What loading a rule set did: loaded rules, unsupported ones, invalid ones.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    /// Rules compiled into the set.
    pub loaded: Vec<LoadedRule>,
    /// Rules skipped only for unsupported keywords.
    pub unsupported: Vec<SkippedRule>,
    /// Rules with an invalid keyword value, an undefined variable, a duplicate sid...
    pub invalid: Vec<SkippedRule>,
    /// Rules that are not valid syntax.
    pub syntax_errors: Vec<ParseError>,
    /// Rules skipped because their `requires` is not met (a feature Verdict lacks, another
    /// Suricata version): as in Suricata, not an error.
    pub requirements_unmet: Vec<SkippedRule>,
    /// Datasets declared with [`RuleSetBuilder::declare_dataset`] that could not be set up
    /// (no type, unreadable or bad file).
    pub dataset_errors: Vec<String>,
}

impl Report {
    /// Counts of unsupported keywords over the unsupported rules, most common first.
    pub fn missing_keywords(&self) -> Vec<(String, usize)> {
        let mut m: HashMap<&str, usize> = HashMap::new();
        for r in &self.unsupported {
            let mut kws: Vec<&str> = r
                .problems
                .iter()
                .filter_map(|p| match p {
                    RuleProblem::Unsupported { keyword, .. } => Some(keyword.as_str()),
                    _ => None,
                })
                .collect();
            kws.sort_unstable();
            kws.dedup();
            for k in kws {
                *m.entry(k).or_default() += 1;
            }
        }
        let mut v: Vec<(String, usize)> = m.into_iter().map(|(k, n)| (k.to_string(), n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }
}

#[derive(Debug, Default)]
struct ClassGroups {
    any: Group,
    by_port: HashMap<u16, Group>,
}

/// Transport classes rules are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Tcp = 0,
    Udp = 1,
    Icmp = 2,
    Other = 3,
}

fn class_of(p: &PacketInput<'_>) -> Class {
    match p.l4 {
        L4Input::Tcp { .. } => Class::Tcp,
        L4Input::Udp { .. } => Class::Udp,
        L4Input::Icmp { .. } => Class::Icmp,
        L4Input::Other => match p.ip.proto {
            6 => Class::Tcp,
            17 => Class::Udp,
            1 | 58 => Class::Icmp,
            _ => Class::Other,
        },
    }
}

/// A compiled, immutable rule set.
pub struct RuleSet {
    rules: Vec<Rule>,
    classes: [ClassGroups; 4],
    patterns: u32,
    /// Some rule needs the app-layer view (protocol, sticky buffers): parse payloads.
    has_app: bool,
    /// Per rule: it is an app-layer rule (app protocol in the header, app buffers or
    /// integers): it matches framed messages, once per transaction.
    tx_bound: Vec<bool>,
    /// Per rule: it may match the reassembled stream (TCP payload rule, not `no_stream`,
    /// not `tcp-pkt`, not app-layer).
    stream_ok: Vec<bool>,
    /// Per rule: it matches only stream data (`tcp-stream`, `flow:only_stream`).
    stream_only: Vec<bool>,
    /// Longest fast pattern, for the prefilter scan across a segment boundary.
    max_pattern: usize,
    /// The datasets the rules use (shared, behind locks: `dataset:set` changes them).
    datasets: DatasetRegistry,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("rules", &self.rules.len())
            .finish()
    }
}

/// Collects rule sources, variables and classifications, then compiles a [`RuleSet`].
#[derive(Debug, Default)]
pub struct RuleSetBuilder {
    vars: Vars,
    classes: Classifications,
    parsed: ParsedRules,
    action_order: Option<Vec<Action>>,
    dataset_dirs: DatasetDirs,
    dataset_decls: Vec<DatasetDecl>,
}

/// Evaluation rank of each action, indexed by `Action as usize`.
type ActionRanks = [u8; 7];

fn default_ranks() -> ActionRanks {
    let mut r = [0u8; 7];
    for a in ALL_ACTIONS {
        r[a as usize] = a.order_rank();
    }
    r
}

const ALL_ACTIONS: [Action; 7] = [
    Action::Pass,
    Action::Drop,
    Action::Reject,
    Action::RejectSrc,
    Action::RejectDst,
    Action::RejectBoth,
    Action::Alert,
];

/// Ranks from an `action-order` list (suricata.yaml): listed actions in list order, the reject
/// variants with `reject`, unlisted actions after all listed ones in the default order.
fn ranks_from(order: &[Action]) -> ActionRanks {
    let mut r = [0u8; 7];
    for a in ALL_ACTIONS {
        let family = match a {
            Action::RejectSrc | Action::RejectDst | Action::RejectBoth => Action::Reject,
            other => other,
        };
        let pos = order
            .iter()
            .position(|&o| o == a)
            .or_else(|| order.iter().position(|&o| o == family));
        r[a as usize] = match pos {
            Some(p) => p as u8,
            None => 16 + a.order_rank(),
        };
    }
    r
}

impl RuleSetBuilder {
    /// Uses these variables instead of Suricata's defaults.
    pub fn vars(mut self, vars: Vars) -> Self {
        self.vars = vars;
        self
    }

    /// Uses this classification table instead of Suricata's default one.
    pub fn classifications(mut self, c: Classifications) -> Self {
        self.classes = c;
        self
    }

    /// Sets the evaluation order of actions, as suricata.yaml's `action-order` does
    /// (default: pass, drop, reject, alert). `reject` covers rejectsrc/rejectdst/rejectboth
    /// unless they are listed themselves; unlisted actions come after the listed ones.
    pub fn action_order(mut self, order: &[Action]) -> Self {
        self.action_order = Some(order.to_vec());
        self
    }

    /// Where relative dataset `save`/`state` files live (Suricata's data directory).
    pub fn dataset_dirs(mut self, dirs: DatasetDirs) -> Self {
        self.dataset_dirs = dirs;
        self
    }

    /// Declares a dataset before the rules name it (suricata.yaml's `datasets:` section):
    /// its type, and the files it is loaded from and saved to (paths as given).
    pub fn declare_dataset(&mut self, decl: DatasetDecl) -> &mut Self {
        self.dataset_decls.push(decl);
        self
    }

    /// Adds rules from text; `origin` names them in positions.
    pub fn add_str(&mut self, text: &str, origin: &str) -> &mut Self {
        let p = parse_str(text, origin);
        self.add_parsed(p)
    }

    /// Adds rules from a file.
    pub fn add_file(&mut self, path: &Path) -> Result<&mut Self, RulesError> {
        let p = crate::parse_file(path)?;
        Ok(self.add_parsed(p))
    }

    /// Adds already parsed rules.
    pub fn add_parsed(&mut self, p: ParsedRules) -> &mut Self {
        self.parsed.rules.extend(p.rules);
        self.parsed.errors.extend(p.errors);
        self
    }

    /// Compiles everything added so far.
    pub fn build(&self) -> (RuleSet, Report) {
        let ranks = self
            .action_order
            .as_deref()
            .map(ranks_from)
            .unwrap_or_else(default_ranks);
        let mut datasets = DatasetRegistry::default();
        let mut report = Report::default();
        for d in &self.dataset_decls {
            if let Err(e) = datasets.resolve(d) {
                report.dataset_errors.push(e);
            }
        }
        let (set, mut report) = RuleSet::compile_inner(
            &self.parsed.rules,
            &self.vars,
            &self.classes,
            ranks,
            Some((&mut datasets, &self.dataset_dirs)),
            report,
        );
        report.syntax_errors = self.parsed.errors.clone();
        (RuleSet { datasets, ..set }, report)
    }
}

impl RuleSet {
    /// A builder starting from Suricata's default variables and classifications.
    pub fn builder() -> RuleSetBuilder {
        RuleSetBuilder::default()
    }

    /// Compiles parsed rules with the default classification table.
    pub fn compile(rules: &[ParsedRule], vars: &Vars) -> (RuleSet, Report) {
        Self::compile_with(rules, vars, &Classifications::default())
    }

    /// Compiles parsed rules. Rules that cannot be loaded are listed in the report; the set
    /// holds the others. A later rule with the same gid:sid as a loaded one is invalid.
    pub fn compile_with(
        rules: &[ParsedRule],
        vars: &Vars,
        classes: &Classifications,
    ) -> (RuleSet, Report) {
        let mut datasets = DatasetRegistry::default();
        let (set, report) = Self::compile_inner(
            rules,
            vars,
            classes,
            default_ranks(),
            Some((&mut datasets, &DatasetDirs::default())),
            Report::default(),
        );
        (RuleSet { datasets, ..set }, report)
    }

    fn compile_inner(
        rules: &[ParsedRule],
        vars: &Vars,
        classes: &Classifications,
        ranks: ActionRanks,
        mut datasets: Option<(&mut DatasetRegistry, &DatasetDirs)>,
        mut report: Report,
    ) -> (RuleSet, Report) {
        let mut compiled = Vec::new();
        let mut ids: HashSet<(u32, u32)> = HashSet::new();
        for p in rules {
            // `requires` first: a rule whose requirements are not met is skipped, silently
            // (it may use keywords of a version Verdict does not follow).
            let mut reqs = p.options.iter().filter(|o| o.name == "requires");
            let first_req = reqs.clone().next();
            if let Some(first) = first_req {
                let values = reqs.by_ref().map(|o| o.value.as_deref().unwrap_or(""));
                match crate::requires::check(values, crate::rule::keyword_known) {
                    Ok(Requirements::Met) => {}
                    Ok(Requirements::Unmet(reason)) => {
                        report.requirements_unmet.push(SkippedRule {
                            sid: p.sid(),
                            position: p.position.clone(),
                            problems: vec![RuleProblem::Unsupported {
                                keyword: "requires".into(),
                                reason,
                            }],
                        });
                        continue;
                    }
                    Err(reason) => {
                        report.invalid.push(SkippedRule {
                            sid: p.sid(),
                            position: p.position.clone(),
                            problems: vec![RuleProblem::Invalid {
                                keyword: "requires".into(),
                                position: first.position.clone(),
                                reason,
                            }],
                        });
                        continue;
                    }
                }
            }
            let compiled_rule = compile_rule(p, vars, classes).and_then(|mut r| {
                // Datasets: the shared set each keyword names (created and loaded once).
                if let Some((reg, dirs)) = datasets.as_mut() {
                    for (_, u) in r.datasets.iter_mut() {
                        match reg.resolve_use(u, &p.position.file, dirs) {
                            Ok(set) => u.set = Some(set),
                            Err(reason) => {
                                return Err(vec![RuleProblem::Invalid {
                                    keyword: "dataset".into(),
                                    position: p.position.clone(),
                                    reason,
                                }])
                            }
                        }
                    }
                }
                Ok(r)
            });
            match compiled_rule {
                Ok(r) => {
                    if !ids.insert((r.meta.gid, r.meta.sid)) {
                        report.invalid.push(SkippedRule {
                            sid: Some(r.meta.sid),
                            position: p.position.clone(),
                            problems: vec![RuleProblem::Invalid {
                                keyword: "sid".into(),
                                position: p.position.clone(),
                                reason: format!(
                                    "duplicate signature {}:{} (the first one is kept)",
                                    r.meta.gid, r.meta.sid
                                ),
                            }],
                        });
                        continue;
                    }
                    report.loaded.push(LoadedRule {
                        gid: r.meta.gid,
                        sid: r.meta.sid,
                        position: p.position.clone(),
                    });
                    compiled.push(r);
                }
                Err(problems) => {
                    let s = SkippedRule {
                        sid: p.sid(),
                        position: p.position.clone(),
                        problems,
                    };
                    if s.is_invalid() {
                        report.invalid.push(s);
                    } else {
                        report.unsupported.push(s);
                    }
                }
            }
        }
        // Suricata's default ordering: action, flowbits class, xbits/hostbits class, priority;
        // stable on file order.
        compiled.sort_by_key(|r| {
            (
                ranks[r.meta.action as usize],
                r.flowbits_class,
                r.xbits_class,
                r.meta.priority,
            )
        });
        let set = RuleSet::index(compiled);
        (set, report)
    }

    fn index(rules: Vec<Rule>) -> RuleSet {
        let mut builders: [(GroupBuilder, HashMap<u16, GroupBuilder>); 4] = Default::default();
        for (i, r) in rules.iter().enumerate() {
            let idx = i as u32;
            let classes: &[Class] = match r.proto {
                Proto::Any | Proto::V4 | Proto::V6 => {
                    &[Class::Tcp, Class::Udp, Class::Icmp, Class::Other]
                }
                Proto::Tcp | Proto::TcpStream => &[Class::Tcp],
                Proto::Udp => &[Class::Udp],
                Proto::IcmpAny | Proto::Icmp4 | Proto::Icmp6 => &[Class::Icmp],
                Proto::Number(6) => &[Class::Tcp],
                Proto::Number(17) => &[Class::Udp],
                Proto::Number(1 | 58) => &[Class::Icmp],
                Proto::Number(_) => &[Class::Other],
                Proto::App(verdict_applayer::AppProto::Dns) => &[Class::Tcp, Class::Udp],
                Proto::App(_) => &[Class::Tcp],
            };
            for &c in classes {
                let (any, by_port) = &mut builders[c as usize];
                let portable = matches!(c, Class::Tcp | Class::Udp)
                    && !r.bidir
                    && r.dst_ports.len() <= PORT_GROUP_MAX
                    && matches!(
                        r.proto,
                        Proto::Tcp | Proto::TcpStream | Proto::Udp | Proto::App(_)
                    );
                if portable {
                    for port in r.dst_ports.iter() {
                        by_port.entry(port).or_default().add(idx, r);
                    }
                } else {
                    any.add(idx, r);
                }
            }
        }
        let mut patterns = 0u32;
        let classes = builders.map(|(any, by_port)| ClassGroups {
            any: any.build(&mut patterns, &rules),
            by_port: by_port
                .into_iter()
                .map(|(p, g)| (p, g.build(&mut patterns, &rules)))
                .collect(),
        });
        let has_app = rules.iter().any(|r| {
            matches!(r.proto, Proto::App(_))
                || !r.parts.is_empty()
                || r.datasets.iter().any(|(b, _)| b.buf.is_app())
                || !r.app_protos.is_empty()
                || !r.app_ints.is_empty()
                || !r.bsizes.is_empty()
                || !r.absents.is_empty()
                || r.header_chains.iter().any(|(b, _)| b.buf.is_app())
        });
        let tx_bound: Vec<bool> = rules.iter().map(is_tx_bound).collect();
        let stream_ok = rules
            .iter()
            .zip(&tx_bound)
            .map(|(r, &tx)| !tx && stream_capable(r))
            .collect();
        let stream_only = rules
            .iter()
            .map(|r| r.proto == Proto::TcpStream || r.meta.stream == Some(true))
            .collect();
        let max_pattern = rules
            .iter()
            .filter_map(|r| match &r.prefilter {
                Some((p, _, crate::matchers::Buffer::Payload)) => Some(p.len()),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        RuleSet {
            rules,
            classes,
            patterns,
            has_app,
            tx_bound,
            stream_ok,
            stream_only,
            max_pattern,
            datasets: DatasetRegistry::default(),
        }
    }

    /// The datasets the rules use (`dataset`, `datarep`, and those declared with
    /// [`RuleSetBuilder::declare_dataset`]).
    pub fn datasets(&self) -> &[Arc<Dataset>] {
        self.datasets.sets()
    }

    /// Writes every dataset that has a `save`/`state` file (at the end of a run, as
    /// Suricata does on exit). Returns the files written, or the first error.
    pub fn save_datasets(&self) -> std::io::Result<Vec<std::path::PathBuf>> {
        let mut out = Vec::new();
        for s in self.datasets.sets() {
            if let Some(p) = s.save()? {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// The number of rules in the set.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True if the set has no rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The metadata of the rule at `index` (as in [`Match::index`]).
    pub fn meta(&self, index: u32) -> Option<&Arc<RuleMeta>> {
        self.rules.get(index as usize).map(|r| &r.meta)
    }

    /// The prefilter groups and the size of their automata, any-port groups first, then
    /// port groups by port: what a packet is scanned with, and what it costs in memory.
    pub fn prefilter_stats(&self) -> Vec<PrefilterStats> {
        let mut out = Vec::new();
        for (class, cg) in ["tcp", "udp", "icmp", "other"]
            .into_iter()
            .zip(&self.classes)
        {
            cg.any.stats(class, None, &mut out);
            let mut ports: Vec<_> = cg.by_port.iter().collect();
            ports.sort_unstable_by_key(|(p, _)| **p);
            for (p, g) in ports {
                g.stats(class, Some(*p), &mut out);
            }
        }
        out
    }

    /// Every rule's metadata, in evaluation order.
    pub fn metas(&self) -> impl Iterator<Item = &Arc<RuleMeta>> {
        self.rules.iter().map(|r| &r.meta)
    }

    /// Runs detection on one packet and appends the matches to `out`, in evaluation order.
    ///
    /// - `now_ns`: the packet's time (nanoseconds, any fixed epoch), for thresholds.
    /// - `flow_vars`: the packet's flow variables; `None` when the packet has no flow (then
    ///   every flowbit check, `isnotset` included, fails and flowbit changes are not kept).
    /// - `state`: this thread's detection state.
    ///
    /// Flowbits changed by a matching rule are visible to the rules evaluated after it on
    /// the same packet and to every rule on later packets of the flow.
    ///
    /// **`pass`**: when a `pass` rule matches, its [`Match`] (with `alert == false`) is the
    /// last one appended: Suricata stops inspecting the packet there. The caller must then
    /// accept the packet and, as Suricata does for a flow, skip detection for the rest of
    /// the flow (mark the flow passed). Matches appended before it (rules ordered earlier,
    /// which with the default action order are only other pass rules) stand.
    pub fn detect(
        &self,
        now_ns: u64,
        pkt: &PacketInput<'_>,
        flow_vars: Option<&mut FlowVars>,
        state: &mut DetectState,
        out: &mut Vec<Match>,
    ) {
        self.detect_ext(now_ns, pkt, &PacketExtra::default(), flow_vars, state, out)
    }

    /// [`RuleSet::detect`] with the optional [`PacketExtra`] facts (transport header bytes,
    /// decoder and stream events) for the keywords that need them (`tcp.hdr`, `udp.hdr`,
    /// `icmpv4.hdr`, `icmpv6.hdr`, `decode-event`, `stream-event`).
    pub fn detect_ext(
        &self,
        now_ns: u64,
        pkt: &PacketInput<'_>,
        extra: &PacketExtra<'_>,
        mut flow_vars: Option<&mut FlowVars>,
        state: &mut DetectState,
        out: &mut Vec<Match>,
    ) {
        if let Some(fv) = flow_vars.as_deref_mut() {
            fv.seen.update(now_ns, pkt);
        }
        state.now_secs = now_ns / 1_000_000_000;
        let class = class_of(pkt);
        let cg = &self.classes[class as usize];
        let words = self.rules.len().div_ceil(64);
        if state.seen.len() != words {
            state.seen = vec![0; words];
        } else {
            state.seen.iter_mut().for_each(|w| *w = 0);
        }
        state.candidates.clear();
        if state.pattern_stamp.len() != self.patterns as usize {
            state.pattern_stamp = vec![0; self.patterns as usize];
            state.stamp = 0;
        }
        state.stamp = state.stamp.wrapping_add(1);
        if state.stamp == 0 {
            state.pattern_stamp.iter_mut().for_each(|s| *s = 0);
            state.stamp = 1;
        }
        // The app layer: framed messages of the flow when the engine reassembles it, else
        // the packet's own payload.
        let msgs: &[verdict_applayer::flow::AppMessage<'_>] = extra.app.map_or(&[], |a| a.messages);
        let app = match extra.app {
            Some(a) => AppView::flow_only(a.proto),
            None if self.has_app => AppView::parse(pkt),
            None => AppView::none(),
        };
        let decode = extra.app.map(|a| a.decode).unwrap_or_default();
        let views: Vec<AppView<'_>> = if self.has_app {
            msgs.iter().map(|m| AppView::message(m, decode)).collect()
        } else {
            Vec::new()
        };
        let dport = pkt.l4.ports().map(|(_, d)| d);
        let port_group = dport.and_then(|d| cg.by_port.get(&d));
        for g in std::iter::once(&cg.any).chain(port_group) {
            collect(g, pkt, &app, state);
        }
        // Candidates found beyond the packet's own payload (in reassembled messages or
        // stream data): their fast pattern may lie across segments, so they are worth a look
        // at the stream even when the packet's new data is just its payload.
        let from_packet = state.candidates.len();
        for g in std::iter::once(&cg.any).chain(port_group) {
            // Each message is scanned whole (its raw buffers are slices of it).
            for (m, v) in msgs.iter().zip(&views) {
                let mp = PacketInput {
                    payload: m.bytes,
                    ..pkt.clone()
                };
                collect(g, &mp, v, state);
            }
        }
        // The reassembled stream: scan what the packet scan could not see (patterns across
        // the segment boundary, data released from the out-of-order queue).
        let stream = extra
            .stream
            .filter(|s| s.window.len() > s.new_from && class == Class::Tcp);
        if let Some(s) = stream {
            let back = self.max_pattern.saturating_sub(1);
            let from = s.new_from.saturating_sub(back);
            let to = if s.payload_only {
                s.new_from.saturating_add(back).min(s.window.len())
            } else {
                s.window.len()
            };
            if !(s.payload_only && s.new_from == 0) {
                if let Some(hay) = s.window.get(from..to) {
                    let sp = PacketInput {
                        payload: hay,
                        ..pkt.clone()
                    };
                    let none = AppView::none();
                    for g in std::iter::once(&cg.any).chain(port_group) {
                        collect(g, &sp, &none, state);
                    }
                }
            }
        }
        let mut stream_found: Vec<u32> = Vec::new();
        if stream.is_some() {
            stream_found.extend_from_slice(state.candidates.get(from_packet..).unwrap_or(&[]));
            stream_found.sort_unstable();
        }
        state.candidates.sort_unstable();
        state.candidates_checked += state.candidates.len() as u64;
        let candidates = std::mem::take(&mut state.candidates);
        // IP-only rules: evaluated on the first packet of each flow direction only (every
        // packet without a flow), as Suricata's IP-only engine does.
        let dir_bit = if pkt.flow.to_server { 1u8 } else { 2u8 };
        let iponly_skip = flow_vars
            .as_deref()
            .is_some_and(|fv| fv.iponly_done & dir_bit != 0);
        if let Some(fv) = flow_vars.as_deref_mut() {
            fv.iponly_done |= dir_bit;
        }
        for &idx in &candidates {
            let Some(rule) = self.rules.get(idx as usize) else {
                continue;
            };
            if iponly_skip && rule.once_per_direction {
                continue;
            }
            let mut tx_id = None;
            let mut on_stream = false;
            let tx_rule = extra.app.is_some() && self.tx_bound.get(idx as usize) == Some(&true);
            if tx_rule && !rule.parts.is_empty() {
                // Transactional rule: each part may match a different message of the
                // transaction (request, response); the rule matches once all have.
                let Some(fv) = flow_vars.as_deref_mut() else {
                    continue;
                };
                let full = if rule.parts.len() >= 64 {
                    u64::MAX
                } else {
                    (1u64 << rule.parts.len()) - 1
                };
                let mut hit = None;
                for (m, v) in msgs.iter().zip(&views) {
                    let key = m.tx_id << 1;
                    if fv.tx_matched(idx, key) {
                        continue;
                    }
                    let mut got = 0u64;
                    for (i, part) in rule.parts.iter().enumerate().take(64) {
                        if self.rule_matches(part, pkt, extra, v, Some(&*fv), state) {
                            got |= 1 << i;
                        }
                    }
                    let all = fv.add_tx_parts(idx, m.tx_id, got);
                    if all == full && self.rule_matches(rule, pkt, extra, v, Some(&*fv), state) {
                        fv.mark_tx(idx, key);
                        hit = Some(m.tx_id);
                        break;
                    }
                }
                let Some(tx) = hit else {
                    continue;
                };
                tx_id = Some(tx);
            } else if !rule.parts.is_empty() {
                // Transactional rules need framed messages with transaction ids (TCP
                // streams); without them no part can be tied to a transaction.
                continue;
            } else if tx_rule {
                // App-layer rule: the first message of this packet it matches, once per
                // transaction and direction (Suricata keeps a tx's detection state per
                // direction: a buffer seen both ways, `ssh.software`, alerts once each way).
                let fv = flow_vars.as_deref();
                let dir_key = |tx: u64| tx << 1 | u64::from(!pkt.flow.to_server);
                let hit = msgs.iter().zip(&views).find(|(m, v)| {
                    !fv.is_some_and(|fv| fv.tx_matched(idx, dir_key(m.tx_id)))
                        && self.rule_matches(rule, pkt, extra, v, fv, state)
                });
                let Some((m, _)) = hit else {
                    continue;
                };
                tx_id = Some(m.tx_id);
                if let Some(fv) = flow_vars.as_deref_mut() {
                    fv.mark_tx(idx, dir_key(m.tx_id));
                }
            } else if !self.rule_matches(rule, pkt, extra, &app, flow_vars.as_deref(), state) {
                // The stream is looked at when the packet's new data is not just its payload
                // (released out-of-order data), when the rule's fast pattern was only found
                // by the stream scan, or when the rule only matches streams.
                let Some(s) = stream.filter(|s| {
                    self.stream_ok.get(idx as usize) == Some(&true)
                        && (!s.payload_only
                            || stream_found.binary_search(&idx).is_ok()
                            || self.stream_only.get(idx as usize) == Some(&true))
                }) else {
                    continue;
                };
                if !self.stream_matches(rule, pkt, extra, &app, s, flow_vars.as_deref(), state) {
                    continue;
                }
                on_stream = true;
            }
            if let Some(fv) = flow_vars.as_deref_mut() {
                apply_flowbits(rule, fv);
            }
            for x in &rule.xbits {
                x.apply(&mut state.hostbits, pkt.ip.src, pkt.ip.dst, state.now_secs);
            }
            let mut alert =
                !rule.meta.noalert && (rule.meta.action != Action::Pass || rule.meta.alert_on_pass);
            if let Some(t) = rule.threshold.as_ref().or(rule.detection_filter.as_ref()) {
                let gate = if t.track == Track::Flow {
                    match flow_vars.as_deref_mut() {
                        Some(fv) => {
                            let key = (rule.meta.gid, rule.meta.sid);
                            let fresh = !fv.thresholds.contains_key(&key);
                            let e = fv.thresholds.entry(key).or_default();
                            threshold_step(t, e, fresh, now_ns, pkt)
                        }
                        // No flow to track by: nothing to limit.
                        None => Gate::Alert,
                    }
                } else {
                    state.apply_threshold(now_ns, &rule.meta, t, pkt)
                };
                match gate {
                    Gate::Alert => {}
                    Gate::ActionOnly => alert = false,
                    Gate::Discard => continue,
                }
            }
            out.push(Match {
                rule: rule.meta.clone(),
                index: idx,
                alert,
                tx_id,
                stream: on_stream,
            });
            if rule.meta.action == Action::Pass {
                break;
            }
        }
        state.candidates = candidates;
    }

    /// Raw stream inspection: the rule matches the stream window (as a packet whose payload
    /// is the window, `from_stream` set), and did not already match the part of the window
    /// inspected before this packet (so each stream match is reported once).
    #[allow(clippy::too_many_arguments)]
    fn stream_matches(
        &self,
        r: &Rule,
        p: &PacketInput<'_>,
        x: &PacketExtra<'_>,
        app: &AppView<'_>,
        s: StreamInput<'_>,
        fv: Option<&FlowVars>,
        state: &mut DetectState,
    ) -> bool {
        let mut sp = PacketInput {
            payload: s.window,
            ..p.clone()
        };
        sp.flow.from_stream = true;
        if !self.rule_matches(r, &sp, x, app, fv, state) {
            return false;
        }
        let (a, b) = s.inspected;
        if a < b {
            sp.payload = s.window.get(a..b).unwrap_or(&[]);
            if self.rule_matches(r, &sp, x, app, fv, state) {
                return false;
            }
        }
        if s.new_from == 0 {
            return true;
        }
        sp.payload = s.window.get(..s.new_from).unwrap_or(&[]);
        !self.rule_matches(r, &sp, x, app, fv, state)
    }

    fn rule_matches(
        &self,
        r: &Rule,
        p: &PacketInput<'_>,
        x: &PacketExtra<'_>,
        app: &AppView<'_>,
        fv: Option<&FlowVars>,
        state: &mut DetectState,
    ) -> bool {
        if !proto_matches(r.proto, p) {
            return false;
        }
        if let Proto::App(a) = r.proto {
            if app.proto() != Some(a) {
                return false;
            }
        }
        if !r
            .app_protos
            .iter()
            .all(|&(a, neg)| (app.proto() == Some(a)) != neg)
        {
            return false;
        }
        if !r.app_ints.iter().all(|(k, c)| {
            app.int_from(*k, p.flow.to_server, Some(p.ip.src))
                .is_some_and(|v| c.matches(v))
        }) {
            return false;
        }
        if !header_matches(r, p) {
            return false;
        }
        if !r.checks.iter().all(|c| c.matches(p, x)) {
            return false;
        }
        if let Some(f) = &r.flow {
            if !f.matches(p) {
                return false;
            }
        }
        if !r.stream_sizes.is_empty() {
            // TCP packets of a flow only, as in Suricata.
            let Some(fv) = fv.filter(|_| matches!(p.l4, L4Input::Tcp { .. })) else {
                return false;
            };
            let (client, server) = fv.seen.stream_sizes();
            if !r.stream_sizes.iter().all(|s| s.matches(client, server)) {
                return false;
            }
        }
        if !r.flow_ages.is_empty() {
            let Some(fv) = fv else {
                return false;
            };
            let age = fv.seen.age_secs();
            if !r.flow_ages.iter().all(|c| c.matches(age)) {
                return false;
            }
        }
        for cmd in &r.flowints {
            let ok = match cmd {
                FlowintCmd::Modify { .. } => true,
                FlowintCmd::IsSet { name, set } => {
                    fv.is_some_and(|fv| fv.ints.contains_key(name) == *set)
                }
                FlowintCmd::Compare { name, op, value } => fv.is_some_and(|fv| {
                    let (Some(&a), Some(b)) = (fv.ints.get(name), operand(fv, value)) else {
                        return false;
                    };
                    match *op {
                        "==" => a == b,
                        "!=" => a != b,
                        "<" => a < b,
                        "<=" => a <= b,
                        ">" => a > b,
                        _ => a >= b,
                    }
                }),
            };
            if !ok {
                return false;
            }
        }
        for cmd in &r.flowbits {
            let ok = match cmd {
                FlowbitCmd::IsSet(names) => fv.is_some_and(|fv| names.iter().any(|n| fv.is_set(n))),
                // Like Suricata, every flowbit check fails on a packet without a flow.
                FlowbitCmd::IsNotSet(names) => {
                    fv.is_some_and(|fv| names.iter().any(|n| !fv.is_set(n)))
                }
                _ => true,
            };
            if !ok {
                return false;
            }
        }
        if !r
            .xbits
            .iter()
            .all(|x| x.check(&state.hostbits, p.ip.src, p.ip.dst, state.now_secs))
        {
            return false;
        }
        if !r.payload.is_empty() {
            state.vars.clear();
            state.vars.resize(r.extract_vars, 0);
            if !inspect_payload(&r.payload, p.payload, &mut state.vars) {
                return false;
            }
        }
        if r.payload.is_empty() {
            state.vars.clear();
            state.vars.resize(r.extract_vars, 0);
        }
        // Buffers with an `absent`, `bsize` or dataset but no other keyword, each once.
        let mut lone: Vec<Slot> = Vec::new();
        for slot in r
            .absents
            .iter()
            .map(|(s, _)| *s)
            .chain(r.bsizes.iter().map(|(s, _)| *s))
            .chain(r.datasets.iter().map(|(s, _)| *s))
        {
            if !lone.contains(&slot) && !r.header_chains.iter().any(|(s, _)| *s == slot) {
                lone.push(slot);
            }
        }
        for slot in lone {
            if !slot_matches(r, slot, &[], p, x, app, &mut state.vars) {
                return false;
            }
        }
        for (slot, ops) in &r.header_chains {
            if !slot_matches(r, *slot, ops, p, x, app, &mut state.vars) {
                return false;
            }
        }
        true
    }
}

/// Matches buffer `slot` (transformed as the rule says) against `ops`, its `bsize` and
/// `absent` conditions.
#[allow(clippy::too_many_arguments)]
fn slot_matches(
    r: &Rule,
    slot: Slot,
    ops: &[crate::matchers::PayloadOp],
    p: &PacketInput<'_>,
    x: &PacketExtra<'_>,
    app: &AppView<'_>,
    vars: &mut [i64],
) -> bool {
    use crate::matchers::Absent;
    let absent = r.absents.iter().find(|(s, _)| *s == slot).map(|(_, a)| *a);
    let ts = transforms_of(r, slot);
    let (mut t1, mut t2) = (Vec::new(), Vec::new());
    let mut check = |bytes: &[u8], app_buf: bool| {
        if absent == Some(Absent::Only) {
            return false;
        }
        let Some(bytes) = apply_transforms(ts, bytes, vars, &mut t1, &mut t2) else {
            return absent == Some(Absent::ErrorOr);
        };
        r.bsizes
            .iter()
            .filter(|(b, _)| *b == slot)
            .all(|(_, c)| c.matches(bytes.len() as u64))
            && if app_buf {
                inspect_buffer(ops, bytes, vars)
            } else {
                inspect_payload(ops, bytes, vars)
            }
            && datasets_match(r, slot, bytes)
    };
    let missing_ok = matches!(absent, Some(Absent::Only | Absent::OrElse));
    if slot.buf == crate::matchers::Buffer::SctpChunkData {
        // Each DATA chunk on its own (a multi-buffer).
        if slot.buf.bytes(p, x).is_none() {
            return missing_ok;
        }
        return crate::input::sctp_data(x.l4_header).any(|d| check(d, false));
    }
    if slot.buf.is_app() {
        if !app.any(slot.buf, |_| true) {
            return missing_ok;
        }
        app.any(slot.buf, |bytes| check(bytes, true))
    } else {
        match slot.buf.bytes(p, x) {
            Some(bytes) => check(bytes, false),
            None => missing_ok,
        }
    }
}

/// The transforms a rule applies to buffer `slot` (empty when none).
fn transforms_of(r: &Rule, slot: Slot) -> &[crate::matchers::Transform] {
    match slot.xf {
        0 => &[],
        i => r.transforms.get(i - 1).map_or(&[], Vec::as_slice),
    }
}

/// The rule's `dataset`/`datarep` keywords on buffer `slot` all hold for `bytes` (in rule
/// order; `set`/`unset` change their set as they are evaluated).
fn datasets_match(r: &Rule, slot: Slot, bytes: &[u8]) -> bool {
    r.datasets
        .iter()
        .filter(|(s, _)| *s == slot)
        .all(|(_, u)| u.set.as_ref().is_some_and(|s| s.check(u.cmd, bytes)))
}

/// An app-layer rule: matched against framed messages, once per transaction.
fn is_tx_bound(r: &Rule) -> bool {
    matches!(r.proto, Proto::App(_))
        || !r.parts.is_empty()
        || r.datasets.iter().any(|(b, _)| b.buf.is_app())
        || !r.app_ints.is_empty()
        || !r.bsizes.is_empty()
        || !r.absents.is_empty()
        || r.header_chains.iter().any(|(b, _)| b.buf.is_app())
}

/// A rule that can match TCP stream data: payload keywords, a protocol that covers TCP,
/// not `flow:no_stream`, not `tcp-pkt`.
fn stream_capable(r: &Rule) -> bool {
    if r.payload.is_empty() || r.meta.stream == Some(false) {
        return false;
    }
    let tcp = matches!(
        r.proto,
        Proto::Any | Proto::V4 | Proto::V6 | Proto::Tcp | Proto::TcpStream | Proto::Number(6)
    );
    // `tcp-pkt` compiles to the same protocol as `tcp`: tell them apart by the header.
    tcp && !(r.proto == Proto::Tcp
        && crate::parse::parse_rule(&r.meta.text, "").is_ok_and(|p| p.proto == "tcp-pkt"))
}

fn proto_matches(proto: Proto, p: &PacketInput<'_>) -> bool {
    match proto {
        Proto::Any => true,
        Proto::V4 => p.ip.src.is_ipv4(),
        Proto::V6 => p.ip.src.is_ipv6(),
        Proto::Tcp => p.ip.proto == 6,
        Proto::TcpStream => p.ip.proto == 6 && p.flow.from_stream,
        Proto::Udp => p.ip.proto == 17,
        Proto::IcmpAny => p.ip.proto == 1 || p.ip.proto == 58,
        Proto::Icmp4 => p.ip.proto == 1,
        Proto::Icmp6 => p.ip.proto == 58,
        Proto::Number(n) => p.ip.proto == n,
        Proto::App(verdict_applayer::AppProto::Dns) => matches!(p.ip.proto, 6 | 17),
        Proto::App(_) => p.ip.proto == 6,
    }
}

fn header_matches(r: &Rule, p: &PacketInput<'_>) -> bool {
    let ports = p.l4.ports();
    // Like Suricata, ports are only checked on protocols that have them: a rule's ports do
    // not constrain ICMP or GRE packets. A TCP/UDP packet whose ports could not be decoded
    // only matches rules whose ports are `any`. (SCTP ports are not in `PacketInput`: not
    // checked.)
    let any_ports = !matches!(p.ip.proto, 6 | 17) || (r.src_ports.is_all() && r.dst_ports.is_all());
    let fwd = r.src.contains(p.ip.src)
        && r.dst.contains(p.ip.dst)
        && ports.map_or(any_ports, |(s, d)| {
            r.src_ports.contains(s) && r.dst_ports.contains(d)
        });
    if fwd {
        return true;
    }
    r.bidir
        && r.src.contains(p.ip.dst)
        && r.dst.contains(p.ip.src)
        && ports.map_or(any_ports, |(s, d)| {
            r.src_ports.contains(d) && r.dst_ports.contains(s)
        })
}

fn operand(fv: &FlowVars, v: &IntOperand) -> Option<u32> {
    match v {
        IntOperand::Const(n) => Some(*n),
        IntOperand::Var(n) => fv.ints.get(n).copied(),
    }
}

fn apply_flowbits(r: &Rule, fv: &mut FlowVars) {
    for cmd in &r.flowints {
        if let FlowintCmd::Modify { name, op, value } = cmd {
            let Some(v) = operand(fv, value) else {
                continue;
            };
            let cur = fv.ints.get(name).copied();
            let new = match op {
                '+' => cur.unwrap_or(0).saturating_add(v),
                '-' => cur.unwrap_or(0).saturating_sub(v),
                _ => v,
            };
            fv.ints.insert(name.clone(), new);
        }
    }
    for cmd in &r.flowbits {
        match cmd {
            FlowbitCmd::Set(names) => names.iter().for_each(|n| fv.set(n)),
            FlowbitCmd::Unset(names) => names.iter().for_each(|n| fv.unset(n)),
            FlowbitCmd::Toggle(names) => {
                for n in names {
                    if fv.is_set(n) {
                        fv.unset(n)
                    } else {
                        fv.set(n)
                    }
                }
            }
            _ => {}
        }
    }
}
