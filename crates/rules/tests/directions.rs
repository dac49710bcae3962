//! Rule header directions: `->`, `<>`, and Suricata 8's transactional `=>`, which is parsed
//! and reported as unsupported (never a syntax error that hides the rest of the file).

use verdict_rules::{parse_str, Direction, RuleProblem, RuleSet, Vars};

#[test]
fn transactional_direction_is_parsed_and_reported_unsupported() {
    let text = "\
alert tls any any => any any (ja3.hash; content:\"a\"; ja3s.hash; content:\"b\"; sid:1;)\n\
alert tls any any -> any any (ja3.hash; content:\"a\"; sid:2;)\n";
    let parsed = parse_str(text, "t.rules");
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    assert_eq!(parsed.rules[0].direction, Direction::Transactional);
    let (set, report) = RuleSet::compile(&parsed.rules, &Vars::suricata_defaults());
    assert_eq!(set.len(), 1);
    assert_eq!(report.unsupported.len(), 1);
    assert_eq!(report.unsupported[0].sid, Some(1));
    assert!(matches!(
        &report.unsupported[0].problems[0],
        RuleProblem::Unsupported { keyword, .. } if keyword == "direction =>"
    ));
}

#[test]
fn unknown_direction_is_a_syntax_error() {
    let parsed = parse_str("alert tcp any any <- any any (sid:1;)\n", "t.rules");
    assert_eq!(parsed.errors.len(), 1);
}
