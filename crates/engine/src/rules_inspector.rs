//! The Suricata-rules [`Inspector`]: runs a compiled [`RuleSet`] on each packet.

use std::sync::Arc;
use std::time::Duration;

use verdict_rules::{
    Action, DetectState, FlowVars, L4Input, Match, PacketExtra, PacketInput, RuleMeta, RuleSet,
};

use crate::{Alert, AlertInfo, Inspector, Outcome, RuleAction};

/// Runs a [`RuleSet`] (shared read-only, swapped whole with [`RulesInspector::set_rules`]).
///
/// Per flow it keeps the rules' [`FlowVars`] (flowbits); per thread a [`DetectState`]
/// (thresholds, scratch). Alert details are built once per rule set, so raising an alert
/// costs an `Arc` clone.
pub struct RulesInspector {
    rules: Arc<RuleSet>,
    infos: Vec<Arc<AlertInfo>>,
    /// Per rule index: its drop/pass applies to the whole flow.
    flow_scope: Vec<bool>,
    /// Per rule: its drop/pass covers the flow when it matched TCP payload ([`stream_scoped`]).
    stream_scope: Vec<bool>,
    state: DetectState,
    matches: Vec<Match>,
}

fn action_of(a: Action) -> RuleAction {
    match a {
        Action::Pass => RuleAction::Pass,
        Action::Drop => RuleAction::Drop,
        Action::Reject | Action::RejectSrc | Action::RejectDst | Action::RejectBoth => {
            RuleAction::Reject
        }
        Action::Alert => RuleAction::Alert,
    }
}

/// Alert details of a rule, as outputs need them.
pub fn alert_info(m: &RuleMeta) -> AlertInfo {
    AlertInfo {
        gid: m.gid,
        sid: m.sid,
        rev: m.rev,
        msg: m.msg.clone(),
        category: m.category.clone(),
        severity: m.priority,
        metadata: m
            .metadata
            .iter()
            .map(|kv| {
                let kv = kv.trim();
                match kv.split_once(char::is_whitespace) {
                    Some((k, v)) => (k.to_string(), v.trim().to_string()),
                    None => (kv.to_string(), String::new()),
                }
            })
            .collect(),
    }
}

/// Does the rule's drop/pass apply to its whole flow? Suricata applies the action of IP-only
/// rules ([`RuleMeta::ip_only`]: addresses and protocol only) and of app-layer rules to the
/// flow; other rules act on the matching packet only.
pub fn flow_scoped(m: &RuleMeta) -> bool {
    if matches!(m.action, Action::Alert) {
        // Only drop/pass/reject have a scope; skip the parse for the common case.
        return false;
    }
    if m.ip_only {
        return true;
    }
    // App-layer protocol in the header (`http`, `tls`, ...): the action covers the flow.
    let Ok(r) = verdict_rules::parse_rule(&m.text, "") else {
        return false;
    };
    let l3l4 = [
        "ip",
        "tcp",
        "udp",
        "icmp",
        "icmpv4",
        "icmpv6",
        "ipv4",
        "ipv6",
        "ip4",
        "ip6",
        "sctp",
        "pkthdr",
        "tcp-pkt",
        "tcp-stream",
    ];
    !l3l4.contains(&r.proto.as_str())
}

/// Does the rule's drop/pass apply to the flow when it matches a TCP packet's payload?
///
/// In IPS mode Suricata inspects TCP payload as stream data (`stream.inline`), and a drop or
/// pass that matched in the stream applies to the flow (`FlowApplySignatureActions`: "match is
/// in stream"). A payload match on a segment of an established session is such stream data
/// here too (the segment is the newest part of the reassembled stream), as is a match on the
/// reassembled window itself ([`verdict_rules::Match::stream`]): the packet and the rest of
/// its flow get a drop verdict, and a blocked request's retransmissions are dropped without
/// new alerts.
/// Only payload of an established TCP session counts as stream data. `flow:no_stream` rules
/// keep their packet scope; UDP/ICMP payload rules always do.
pub fn stream_scoped(m: &RuleMeta) -> bool {
    !matches!(m.action, Action::Alert) && m.inspects_payload && m.stream != Some(false)
}

impl RulesInspector {
    /// An inspector over a compiled rule set.
    pub fn new(rules: Arc<RuleSet>) -> Self {
        let infos = rules.metas().map(|m| Arc::new(alert_info(m))).collect();
        let flow_scope = rules.metas().map(|m| flow_scoped(m)).collect();
        let stream_scope = rules.metas().map(|m| stream_scoped(m)).collect();
        RulesInspector {
            rules,
            infos,
            flow_scope,
            stream_scope,
            state: DetectState::new(),
            matches: Vec::with_capacity(16),
        }
    }

    /// Swaps in a new rule set (whole). Threshold state is kept; flows keep their flowbits.
    pub fn set_rules(&mut self, rules: Arc<RuleSet>) {
        self.infos = rules.metas().map(|m| Arc::new(alert_info(m))).collect();
        self.flow_scope = rules.metas().map(|m| flow_scoped(m)).collect();
        self.stream_scope = rules.metas().map(|m| stream_scoped(m)).collect();
        self.rules = rules;
    }

    /// The rule set in use.
    pub fn rules(&self) -> &Arc<RuleSet> {
        &self.rules
    }
}

impl Inspector for RulesInspector {
    type FlowState = FlowVars;

    fn inspect(
        &mut self,
        now: Duration,
        packet: &PacketInput<'_>,
        flow_vars: Option<&mut FlowVars>,
        alerts: &mut Vec<Alert>,
    ) -> Outcome {
        self.inspect_ext(now, packet, &PacketExtra::default(), flow_vars, alerts)
    }

    fn inspect_ext(
        &mut self,
        now: Duration,
        packet: &PacketInput<'_>,
        extra: &PacketExtra<'_>,
        flow_vars: Option<&mut FlowVars>,
        alerts: &mut Vec<Alert>,
    ) -> Outcome {
        self.matches.clear();
        let now_ns = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
        self.rules.detect_ext(
            now_ns,
            packet,
            extra,
            flow_vars,
            &mut self.state,
            &mut self.matches,
        );
        let mut action: Option<RuleAction> = None;
        let mut cause: Option<Alert> = None;
        let mut flow = false;
        let mut suppressed = 0u32;
        // `bypass` is a post-match keyword: any match of such a rule bypasses the flow.
        let bypass = self.matches.iter().any(|m| m.rule.bypass);
        for m in &self.matches {
            let a = action_of(m.rule.action);
            let info = || match self.infos.get(m.index as usize) {
                Some(i) => i.clone(),
                None => Arc::new(alert_info(&m.rule)),
            };
            // The first pass/drop/reject match decides (matches come in action order).
            if cause.is_none() && a != RuleAction::Alert {
                action = Some(a);
                let idx = m.index as usize;
                // Stream data: payload of an established TCP session (Suricata does not
                // reassemble segments outside one, e.g. data on a SYN).
                let tcp_payload = matches!(packet.l4, L4Input::Tcp { .. })
                    && packet.flow.established
                    && !packet.payload.is_empty();
                // A match on reassembled stream data or on an app-layer message covers the
                // flow: the packet that completed it and the rest of the flow are dropped.
                flow = self.flow_scope.get(idx).copied().unwrap_or(false)
                    || m.stream
                    || m.tx_id.is_some()
                    || (tcp_payload && self.stream_scope.get(idx).copied().unwrap_or(false));
                cause = Some(Alert {
                    action: a,
                    info: info(),
                    stream: m.stream,
                    tx_id: m.tx_id,
                    app: None,
                });
            }
            if m.alert {
                alerts.push(Alert {
                    action: a,
                    info: info(),
                    stream: m.stream,
                    tx_id: m.tx_id,
                    app: None,
                });
            } else {
                // `noalert`, a threshold's suppression, or a pass rule (which Suricata marks
                // `noalert` unless it has the `alert` keyword).
                suppressed += 1;
            }
        }
        if action.is_none() && !self.matches.is_empty() {
            action = Some(RuleAction::Alert);
        }
        Outcome {
            action,
            flow,
            mark: None,
            cause,
            bypass,
            suppressed,
        }
    }
}
