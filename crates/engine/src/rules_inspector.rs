//! The Suricata-rules [`Inspector`]: runs a compiled [`RuleSet`] on each packet.

use std::sync::Arc;
use std::time::Duration;

use verdict_rules::{Action, DetectState, FlowVars, Match, PacketInput, RuleMeta, RuleSet};

use crate::{Alert, AlertInfo, Inspector, Outcome, RuleAction};

/// Runs a [`RuleSet`] (shared read-only, swapped whole with [`RulesInspector::set_rules`]).
///
/// Per flow it keeps the rules' [`FlowVars`] (flowbits); per thread a [`DetectState`]
/// (thresholds, scratch). Alert details are built once per rule set, so raising an alert
/// costs an `Arc` clone.
pub struct RulesInspector {
    rules: Arc<RuleSet>,
    infos: Vec<Arc<AlertInfo>>,
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

impl RulesInspector {
    /// An inspector over a compiled rule set.
    pub fn new(rules: Arc<RuleSet>) -> Self {
        let infos = rules.metas().map(|m| Arc::new(alert_info(m))).collect();
        RulesInspector {
            rules,
            infos,
            state: DetectState::new(),
            matches: Vec::with_capacity(16),
        }
    }

    /// Swaps in a new rule set (whole). Threshold state is kept; flows keep their flowbits.
    pub fn set_rules(&mut self, rules: Arc<RuleSet>) {
        self.infos = rules.metas().map(|m| Arc::new(alert_info(m))).collect();
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
        flow: Option<&mut FlowVars>,
        alerts: &mut Vec<Alert>,
    ) -> Outcome {
        self.matches.clear();
        let now_ns = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
        self.rules
            .detect(now_ns, packet, flow, &mut self.state, &mut self.matches);
        let mut action = None;
        for m in &self.matches {
            let a = action_of(m.rule.action);
            action = match (action, a) {
                (_, RuleAction::Pass) => Some(RuleAction::Pass),
                (Some(RuleAction::Pass), _) => Some(RuleAction::Pass),
                (Some(RuleAction::Drop), _) => Some(RuleAction::Drop),
                (_, RuleAction::Drop) => Some(RuleAction::Drop),
                (Some(RuleAction::Reject), _) => Some(RuleAction::Reject),
                (_, x) => Some(x),
            };
            if m.alert {
                let info = match self.infos.get(m.index as usize) {
                    Some(i) => i.clone(),
                    None => Arc::new(alert_info(&m.rule)),
                };
                alerts.push(Alert { action: a, info });
            }
        }
        Outcome { action, mark: None }
    }
}
