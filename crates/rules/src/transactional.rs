//! Suricata 8's transactional rules (`=>`): one rule over both directions of an app-layer
//! transaction, e.g. a TLS ClientHello's JA3 and the ServerHello's JA3S of one session.
//!
//! The rule is split where its sticky buffers start: the *base* (header, meta keywords,
//! `flow`, `flowbits`, thresholds, ...) and one *part* per buffer with the keywords that
//! inspect it. Each part is compiled as a rule of its own (base + that buffer, either
//! direction), so every keyword keeps its usual meaning. The rule matches, once per
//! transaction, when every part has matched some message of that transaction -- the
//! request parts on the request, the response parts on the response -- whichever comes
//! first; its base must hold on the packet that completes it.

use crate::classification::Classifications;
use crate::error::RuleProblem;
use crate::matchers::Buffer;
use crate::parse::{Direction, ParsedRule, RuleOption};
use crate::rule::{compile_rule, inspects_buffer, Rule};
use crate::vars::Vars;

/// Splits a rule's options into the base and one option list per sticky buffer.
fn split(options: &[RuleOption]) -> (Vec<RuleOption>, Vec<Vec<RuleOption>>) {
    let mut base = Vec::new();
    let mut parts: Vec<Vec<RuleOption>> = Vec::new();
    for o in options {
        let name = o.name.as_str();
        if Buffer::from_keyword(name).is_some() {
            parts.push(vec![o.clone()]);
        } else if inspects_buffer(name) {
            match parts.last_mut() {
                Some(p) => p.push(o.clone()),
                // Payload keywords before any sticky buffer inspect the payload.
                None => parts.push(vec![o.clone()]),
            }
        } else {
            base.push(o.clone());
        }
    }
    (base, parts)
}

/// Compiles a `=>` rule: the base as the rule, each buffer part as one of its
/// [`Rule::parts`].
pub(crate) fn compile(
    p: &ParsedRule,
    vars: &Vars,
    classes: &Classifications,
) -> Result<Rule, Vec<RuleProblem>> {
    let (base, parts) = split(&p.options);
    if parts.len() < 2 {
        return Err(vec![RuleProblem::Invalid {
            keyword: "direction =>".into(),
            position: p.position.clone(),
            reason: "a transactional rule needs keywords on at least two buffers (a request \
                     buffer and a response buffer); use `->` otherwise"
                .into(),
        }]);
    }
    let with = |options: Vec<RuleOption>| ParsedRule {
        direction: Direction::Both,
        options,
        ..p.clone()
    };
    let mut rule = compile_rule(&with(base.clone()), vars, classes)?;
    for part in parts {
        // The part's options in their place among the base ones (meta keywords such as
        // `sid` usually come last).
        let mut opts: Vec<RuleOption> = p
            .options
            .iter()
            .filter(|o| base.contains(o) || part.contains(o))
            .cloned()
            .collect();
        opts.dedup();
        let sub = compile_rule(&with(opts), vars, classes)?;
        rule.parts.push(sub);
    }
    // Its parts are found in different messages: no single fast pattern covers the rule,
    // and it is an app-layer rule whatever its base looks like.
    rule.prefilter = None;
    rule.once_per_direction = false;
    let mut meta = (*rule.meta).clone();
    meta.text = p.text.clone();
    rule.meta = std::sync::Arc::new(meta);
    Ok(rule)
}
