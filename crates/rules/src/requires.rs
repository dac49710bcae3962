//! Suricata's `requires` keyword: a rule may require features, keywords or a Suricata
//! version. A rule whose requirements are not met is skipped without being an error (it is
//! listed in [`crate::Report::requirements_unmet`]); a malformed `requires` makes the rule
//! invalid.
//!
//! As in Suricata, requirements are checked before any other keyword, so a rule may use
//! keywords of a newer version behind `requires: version >= N`. Requirement names Verdict
//! does not know are allowed (for future compatibility) and are never met.

/// The Suricata version whose rule language Verdict follows for `requires: version`.
pub const SURICATA_COMPAT_VERSION: (u32, u32, u32) = (9, 0, 0);

/// The Suricata features (`requires: feature NAME`) Verdict provides: none of the optional
/// ones (geoip, lua, ja4, file store, ...) yet.
const FEATURES: &[&str] = &[];

/// The outcome of checking one rule's `requires` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Requirements {
    /// Every requirement is met (or the rule has none).
    Met,
    /// A requirement is not met: the reason, for the report.
    Unmet(String),
}

/// Checks `requires` values (all of a rule's, in order). `keyword_known` says whether Verdict
/// implements a keyword (for `requires: keyword NAME`). `Err`: a malformed value.
pub(crate) fn check<'a>(
    values: impl Iterator<Item = &'a str>,
    keyword_known: impl Fn(&str) -> bool,
) -> Result<Requirements, String> {
    let mut version_seen = false;
    let mut unmet: Option<String> = None;
    for value in values {
        for part in value.split(',').map(str::trim) {
            if part.is_empty() {
                return Err(
                    "empty requirement: expected `feature NAME`, `version EXPR` or `keyword NAME`"
                        .into(),
                );
            }
            let (kind, expr) = part
                .split_once(char::is_whitespace)
                .map(|(k, e)| (k, e.trim()))
                .filter(|(_, e)| !e.is_empty())
                .ok_or_else(|| {
                    format!(
                        "`{part}`: expected `<requirement> <expression>`, e.g. `version >= 7.0.3`"
                    )
                })?;
            let met = match kind {
                "feature" => FEATURES.contains(&expr),
                "keyword" => keyword_known(expr),
                "version" => {
                    if version_seen {
                        return Err("`version` may only be given once".into());
                    }
                    version_seen = true;
                    version_matches(expr, SURICATA_COMPAT_VERSION)?
                }
                // Unknown requirement kinds are allowed and not met.
                _ => false,
            };
            if !met && unmet.is_none() {
                unmet = Some(format!("requirement `{part}` is not met"));
            }
        }
    }
    Ok(unmet.map_or(Requirements::Met, Requirements::Unmet))
}

/// `>= 7.0.3 < 8 | >= 8.0.3`: alternatives separated by `|`, each a conjunction of
/// `OP VERSION` terms (missing minor/patch parts are 0).
fn version_matches(expr: &str, have: (u32, u32, u32)) -> Result<bool, String> {
    let mut any = false;
    for alt in expr.split('|') {
        let mut tokens = alt.split_whitespace().peekable();
        if tokens.peek().is_none() {
            return Err(format!("empty version alternative in `{expr}`"));
        }
        let mut all = true;
        while let Some(tok) = tokens.next() {
            // The operator may be written against the version (`>=7.0`).
            let split = tok.find(|c: char| c.is_ascii_digit()).unwrap_or(tok.len());
            let (op, mut ver) = tok.split_at(split);
            if ver.is_empty() {
                ver = tokens
                    .next()
                    .ok_or_else(|| format!("`{op}` needs a version in `{expr}`"))?;
            }
            let want = parse_version(ver)?;
            let ok = match op {
                ">=" => have >= want,
                ">" => have > want,
                "<=" => have <= want,
                "<" => have < want,
                "=" | "==" => have == want,
                _ => {
                    return Err(format!(
                        "unknown version operator `{op}` in `{expr}` (expected >=, >, <=, <, =)"
                    ))
                }
            };
            all &= ok;
        }
        any |= all;
    }
    Ok(any)
}

fn parse_version(v: &str) -> Result<(u32, u32, u32), String> {
    let mut parts = v.split('.');
    let mut next = |required: bool| -> Result<u32, String> {
        match parts.next() {
            Some(p) => p
                .parse()
                .map_err(|_| format!("bad version `{v}`: expected MAJOR[.MINOR[.PATCH]]")),
            None if required => Err(format!("bad version `{v}`")),
            None => Ok(0),
        }
    };
    let r = (next(true)?, next(false)?, next(false)?);
    if parts.next().is_some() {
        return Err(format!("bad version `{v}`: at most three parts"));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(v: &str) -> Result<Requirements, String> {
        check(std::iter::once(v), |k| k == "content")
    }

    #[test]
    fn versions() {
        let have = (9, 0, 0);
        assert!(version_matches(">= 7.0.3", have).unwrap());
        assert!(version_matches(">= 9", have).unwrap());
        assert!(!version_matches("< 9", have).unwrap());
        assert!(!version_matches(">= 7.0.4 < 8", have).unwrap());
        assert!(version_matches(">= 7.0.4 < 8 | >= 8.0.3", have).unwrap());
        assert!(version_matches(">=8.0", have).unwrap());
        assert!(version_matches("= 9.0.0", have).unwrap());
        assert!(!version_matches("> 9.0.0", have).unwrap());
        for bad in ["", ">= x", "~ 7", ">=", ">= 7.0.0.1", ">= 7 |", "7"] {
            assert!(version_matches(bad, have).is_err(), "{bad}");
        }
    }

    #[test]
    fn requirements() {
        assert_eq!(run("version >= 7.0.3").unwrap(), Requirements::Met);
        assert!(matches!(
            run("feature ja4").unwrap(),
            Requirements::Unmet(_)
        ));
        assert!(matches!(
            run("version >= 7, feature geoip").unwrap(),
            Requirements::Unmet(_)
        ));
        assert_eq!(run("keyword content").unwrap(), Requirements::Met);
        assert!(matches!(
            run("keyword foobar").unwrap(),
            Requirements::Unmet(_)
        ));
        // Unknown requirement kinds: allowed, not met.
        assert!(matches!(
            run("flavour vanilla").unwrap(),
            Requirements::Unmet(_)
        ));
        assert!(matches!(
            run("version < 8").unwrap(),
            Requirements::Unmet(_)
        ));
        // Malformed: invalid.
        for bad in [
            "",
            "feature",
            "version >= 7, version < 9",
            "version ?? 7",
            "a,,b",
        ] {
            assert!(run(bad).is_err(), "{bad}");
        }
        // `version` twice over two `requires` options is an error too.
        assert!(check(["version >= 7", "version < 10"].into_iter(), |_| true).is_err());
    }
}
