//! Loads the Emerging Threats Open ruleset from the shared data directory: every rule must
//! parse (0 syntax errors) and none may be invalid; prints the support counts.
//!
//! The directory is `$VERDICT_SHARED/data/et-open` (default: `../shared` next to the repo,
//! i.e. `/work/shared`). Without it the test is skipped with a message, unless `CI` is set,
//! where it fails.

use std::path::PathBuf;

use verdict_rules::{RuleProblem, RuleSet};

fn et_dir() -> Option<PathBuf> {
    let shared = std::env::var_os("VERDICT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let dir = shared.join("data/et-open");
    if dir.is_dir() {
        Some(dir)
    } else if std::env::var_os("CI").is_some() {
        panic!(
            "{} is missing and CI is set: the ET Open ruleset is needed for this test",
            dir.display()
        );
    } else {
        eprintln!("skipping: {} not found (set VERDICT_SHARED)", dir.display());
        None
    }
}

#[test]
fn et_open_parses_and_loads() {
    let Some(dir) = et_dir() else { return };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rules"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .rules files in {}", dir.display());
    let mut b = RuleSet::builder();
    for f in &files {
        b.add_file(f).unwrap();
    }
    let (set, report) = b.build();
    for e in report.syntax_errors.iter().take(20) {
        eprintln!("syntax error: {e}");
    }
    for s in report.invalid.iter().take(20) {
        for p in &s.problems {
            if let RuleProblem::Invalid { .. } = p {
                eprintln!("invalid sid {:?}: {p}", s.sid);
            }
        }
    }
    let total = report.loaded.len()
        + report.unsupported.len()
        + report.invalid.len()
        + report.syntax_errors.len();
    eprintln!(
        "ET Open: {total} rules, {} loaded, {} unsupported, {} invalid, {} syntax errors",
        report.loaded.len(),
        report.unsupported.len(),
        report.invalid.len(),
        report.syntax_errors.len()
    );
    for (k, n) in report.missing_keywords().iter().take(25) {
        eprintln!("  {n:>6} {k}");
    }
    assert_eq!(
        report.syntax_errors.len(),
        0,
        "every ET Open rule must parse"
    );
    assert_eq!(
        report.invalid.len(),
        0,
        "no ET Open rule may be reported invalid"
    );
    assert!(
        total > 20_000,
        "expected the full ruleset, found {total} rules"
    );
    assert_eq!(set.len(), report.loaded.len());
    assert!(set.len() > 3000);
}
