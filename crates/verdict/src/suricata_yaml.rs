//! Reading a Suricata `suricata.yaml` for the parts Verdict applies.
//!
//! Users arrive with a Suricata config; rather than asking them to translate it, Verdict reads
//! what applies to it -- `vars` (address and port groups), `stream.midstream`, flow timeouts,
//! the EVE `alert`/`drop` output settings -- and lists what it ignores, so nothing is silently
//! dropped. `--set key=value` overrides work as in Suricata (dotted paths into the tree).
//!
//! Parsing uses `yaml-rust2` (a maintained YAML parser); Suricata's `%YAML 1.1` header and
//! its `yes`/`no` booleans (strings in YAML 1.2) are handled here.

use std::path::Path;

use anyhow::{bail, Context};
use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlLoader};

/// Top-level sections Verdict reads (others are reported as ignored).
const SUPPORTED: &[&str] = &[
    "vars",
    "pcap-file",
    "stream",
    "flow-timeouts",
    "outputs",
    "flow",
    "action-order",
    "decoder",
    "defrag",
    "vlan",
    "packet-alert-max",
    "datasets",
    "exception-policy",
];

/// How EVE `drop` events are logged (Suricata's `outputs.eve-log.types.drop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DropLog {
    /// `flows: all` logs every dropped packet; `start` only the first per flow direction.
    pub all: bool,
    /// `alerts: yes` adds the alert that caused the drop.
    pub alerts: bool,
}

/// A loaded Suricata config (possibly empty), with `--set` overrides applied.
#[derive(Debug, Clone)]
pub struct SuricataConfig {
    root: Yaml,
}

impl Default for SuricataConfig {
    fn default() -> Self {
        SuricataConfig {
            root: Yaml::Hash(Hash::new()),
        }
    }
}

fn as_bool(y: &Yaml) -> Option<bool> {
    match y {
        Yaml::Boolean(b) => Some(*b),
        Yaml::Integer(i) => Some(*i != 0),
        Yaml::String(s) => match s.to_ascii_lowercase().as_str() {
            "yes" | "true" | "on" | "1" | "enable" | "enabled" => Some(true),
            "no" | "false" | "off" | "0" | "disable" | "disabled" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn scalar(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        // A list of addresses/ports written as a YAML sequence.
        Yaml::Array(a) => {
            let parts: Vec<String> = a.iter().filter_map(scalar).collect();
            Some(format!("[{}]", parts.join(",")))
        }
        _ => None,
    }
}

impl SuricataConfig {
    /// Parses YAML text.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        // yaml-rust2 speaks YAML 1.2; drop Suricata's `%YAML 1.1` directive line.
        let body: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("%YAML"))
            .collect::<Vec<_>>()
            .join("\n");
        let docs = YamlLoader::load_from_str(&body).context("suricata.yaml is not valid YAML")?;
        let root = match docs.into_iter().next() {
            None | Some(Yaml::Null) => Yaml::Hash(Hash::new()),
            Some(y @ Yaml::Hash(_)) => y,
            Some(_) => bail!("suricata.yaml: the top level must be a mapping"),
        };
        Ok(SuricataConfig { root })
    }

    /// Reads and parses a file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Applies a `--set key.path=value` override, creating maps along the path.
    pub fn set(&mut self, assignment: &str) -> anyhow::Result<()> {
        let Some((key, value)) = assignment.split_once('=') else {
            bail!("--set expects key=value, got {assignment:?}");
        };
        let parts: Vec<&str> = key.trim().split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            bail!("--set: empty path component in {key:?}");
        }
        let mut node = &mut self.root;
        for (i, part) in parts.iter().enumerate() {
            if !matches!(node, Yaml::Hash(_)) {
                *node = Yaml::Hash(Hash::new());
            }
            let Yaml::Hash(h) = node else {
                unreachable!("made a hash just above")
            };
            let k = Yaml::String((*part).to_string());
            if i + 1 == parts.len() {
                let v = Yaml::String(value.trim().to_string());
                // Replace in place (insert would move an existing key to the end).
                match h.get_mut(&k) {
                    Some(slot) => *slot = v,
                    None => {
                        h.insert(k, v);
                    }
                }
                return Ok(());
            }
            node = h.entry(k).or_insert(Yaml::Hash(Hash::new()));
        }
        Ok(())
    }

    /// The node at a dotted path.
    pub fn get(&self, path: &str) -> Option<&Yaml> {
        let mut node = &self.root;
        for part in path.split('.') {
            node = match node {
                Yaml::Hash(h) => h.get(&Yaml::String(part.to_string()))?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// A boolean setting (`yes`/`no`/`true`/`false`/...).
    pub fn bool(&self, path: &str) -> Option<bool> {
        self.get(path).and_then(as_bool)
    }

    /// A duration in seconds.
    pub fn seconds(&self, path: &str) -> Option<u64> {
        match self.get(path)? {
            Yaml::Integer(i) if *i >= 0 => Some(*i as u64),
            Yaml::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    fn groups(&self, path: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(Yaml::Hash(h)) = self.get(path) {
            for (k, v) in h {
                if let (Some(k), Some(v)) = (k.as_str(), scalar(v)) {
                    out.push((k.to_string(), v));
                }
            }
        }
        out
    }

    /// `vars.address-groups`, in file order.
    pub fn address_groups(&self) -> Vec<(String, String)> {
        self.groups("vars.address-groups")
    }

    /// `vars.port-groups`, in file order.
    pub fn port_groups(&self) -> Vec<(String, String)> {
        self.groups("vars.port-groups")
    }

    fn eve_types(&self) -> Option<&[Yaml]> {
        let Some(Yaml::Array(outputs)) = self.get("outputs") else {
            return None;
        };
        for o in outputs {
            if let Yaml::Hash(h) = o {
                if let Some(Yaml::Hash(eve)) = h.get(&Yaml::String("eve-log".into())) {
                    let enabled = eve
                        .get(&Yaml::String("enabled".into()))
                        .and_then(as_bool)
                        .unwrap_or(true);
                    if !enabled {
                        continue;
                    }
                    if let Some(Yaml::Array(types)) = eve.get(&Yaml::String("types".into())) {
                        return Some(types);
                    }
                }
            }
        }
        None
    }

    /// How to log `drop` events: `None` when the config has an EVE output without `drop`.
    /// Without any EVE output in the config, drops are logged (first per flow direction,
    /// with the alert), so `--simulate-ips` runs show what was blocked.
    pub fn drop_log(&self) -> Option<DropLog> {
        let default = DropLog {
            all: false,
            alerts: true,
        };
        let Some(types) = self.eve_types() else {
            return Some(default);
        };
        for t in types {
            match t {
                Yaml::String(s) if s == "drop" => {
                    return Some(DropLog {
                        all: false,
                        alerts: false,
                    })
                }
                Yaml::Hash(h) => {
                    if let Some(d) = h.get(&Yaml::String("drop".into())) {
                        let get = |k: &str| match d {
                            Yaml::Hash(dh) => dh.get(&Yaml::String(k.into())),
                            _ => None,
                        };
                        let all = get("flows")
                            .and_then(|v| v.as_str())
                            .is_some_and(|v| v == "all");
                        let alerts = get("alerts").and_then(as_bool).unwrap_or(false);
                        return Some(DropLog { all, alerts });
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// Whether EVE `alert` events are written (true without an EVE output in the config).
    pub fn alert_log(&self) -> bool {
        let Some(types) = self.eve_types() else {
            return true;
        };
        types.iter().any(|t| match t {
            Yaml::String(s) => s == "alert",
            Yaml::Hash(h) => h.contains_key(&Yaml::String("alert".into())),
            _ => false,
        })
    }

    /// `action-order`: the evaluation order of rule actions, as written (`pass`, `drop`, ...).
    pub fn action_order(&self) -> Option<Vec<String>> {
        match self.get("action-order")? {
            Yaml::Array(a) => Some(a.iter().filter_map(scalar).collect()),
            _ => None,
        }
    }

    /// Whether an option of the EVE `alert` type (`payload`, `payload-printable`, `packet`)
    /// is on.
    pub fn alert_option(&self, name: &str) -> bool {
        // Without an EVE output in the config, log payloads and packets like
        // suricata-verify's default configuration does.
        let Some(types) = self.eve_types() else {
            return matches!(name, "payload" | "payload-printable" | "packet");
        };
        types.iter().any(|t| match t {
            Yaml::Hash(h) => match h.get(&Yaml::String("alert".into())) {
                Some(Yaml::Hash(a)) => a
                    .get(&Yaml::String(name.into()))
                    .and_then(as_bool)
                    .unwrap_or(false),
                _ => false,
            },
            _ => false,
        })
    }

    /// The EVE `alert` type's app-layer settings: `metadata` (on unless `no`) and `xff`
    /// (`enabled`, `mode: extra-data|overwrite`, `deployment: reverse|forward`, `header`).
    pub fn alert_app_meta(&self) -> crate::eve_app::AppMetaOptions {
        use crate::eve_app::{AppMetaOptions, XffConfig, XffDeployment, XffMode};
        let mut o = AppMetaOptions::default();
        let Some(types) = self.eve_types() else {
            return o;
        };
        let alert = types.iter().find_map(|t| match t {
            Yaml::Hash(h) => match h.get(&Yaml::String("alert".into())) {
                Some(Yaml::Hash(a)) => Some(a),
                _ => None,
            },
            _ => None,
        });
        let Some(alert) = alert else {
            return o;
        };
        let key = |h: &'_ yaml_rust2::yaml::Hash, k: &str| h.get(&Yaml::String(k.into())).cloned();
        if let Some(m) = key(alert, "metadata") {
            // `metadata: no` turns it off; a map of sub-options (`app-layer: no`) also can.
            o.enabled = match &m {
                Yaml::Hash(mh) => key(mh, "app-layer")
                    .as_ref()
                    .and_then(as_bool)
                    .unwrap_or(true),
                other => as_bool(other).unwrap_or(true),
            };
        }
        if let Some(Yaml::Hash(x)) = key(alert, "xff") {
            if key(&x, "enabled")
                .as_ref()
                .and_then(as_bool)
                .unwrap_or(false)
            {
                let d = XffConfig::default();
                let text = |k: &str| key(&x, k).as_ref().and_then(scalar);
                o.xff = Some(XffConfig {
                    mode: match text("mode").as_deref() {
                        Some("overwrite") => XffMode::Overwrite,
                        _ => XffMode::ExtraData,
                    },
                    deployment: match text("deployment").as_deref() {
                        Some("forward") => XffDeployment::Forward,
                        _ => XffDeployment::Reverse,
                    },
                    header: text("header").unwrap_or(d.header),
                });
            }
        }
        o
    }

    /// Whether EVE `flow` events are written (true without an EVE output in the config).
    pub fn flow_log(&self) -> bool {
        let Some(types) = self.eve_types() else {
            return true;
        };
        types.iter().any(|t| match t {
            Yaml::String(s) => s == "flow",
            Yaml::Hash(h) => h.contains_key(&Yaml::String("flow".into())),
            _ => false,
        })
    }

    /// Top-level sections present in the config that Verdict does not apply.
    pub fn ignored_sections(&self) -> Vec<String> {
        let Yaml::Hash(h) = &self.root else {
            return Vec::new();
        };
        h.keys()
            .filter_map(|k| k.as_str())
            .filter(|k| !SUPPORTED.contains(k))
            .map(str::to_string)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "%YAML 1.1\n---\nvars:\n  address-groups:\n    HOME_NET: \"[10.0.0.0/8]\"\n    EXTERNAL_NET: \"!$HOME_NET\"\n  port-groups:\n    HTTP_PORTS: \"80\"\n    SSH_PORTS: [22, 2222]\nstream:\n  midstream: yes\noutputs:\n  - fast:\n      enabled: no\n  - eve-log:\n      enabled: yes\n      types:\n        - alert\n        - drop:\n            flows: all\n            alerts: yes\n        - flow\napp-layer:\n  protocols: {}\n";

    #[test]
    fn reads_vars_and_settings() {
        let c = SuricataConfig::parse(SAMPLE).unwrap();
        assert_eq!(
            c.address_groups(),
            vec![
                ("HOME_NET".into(), "[10.0.0.0/8]".into()),
                ("EXTERNAL_NET".into(), "!$HOME_NET".into())
            ]
        );
        assert_eq!(c.port_groups()[1], ("SSH_PORTS".into(), "[22,2222]".into()));
        assert_eq!(c.bool("stream.midstream"), Some(true));
        assert_eq!(
            c.drop_log(),
            Some(DropLog {
                all: true,
                alerts: true
            })
        );
        assert!(c.alert_log());
        assert!(c.flow_log());
        assert!(!c.alert_option("payload"));
        assert!(SuricataConfig::default().alert_option("packet"));
        let c2 = SuricataConfig::parse(
            "outputs:\n  - eve-log:\n      types:\n        - alert:\n            payload: yes\n            packet: no\n",
        )
        .unwrap();
        assert!(c2.alert_option("payload") && !c2.alert_option("packet"));
        assert_eq!(c.ignored_sections(), vec!["app-layer".to_string()]);
        assert_eq!(c.action_order(), None);
        let c = SuricataConfig::parse("action-order:\n  - drop\n  - pass\n").unwrap();
        assert_eq!(
            c.action_order(),
            Some(vec!["drop".to_string(), "pass".to_string()])
        );
    }

    #[test]
    fn set_overrides() {
        let mut c = SuricataConfig::parse(SAMPLE).unwrap();
        c.set("vars.address-groups.HOME_NET=[198.19.0.0/16]")
            .unwrap();
        c.set("stream.midstream=false").unwrap();
        c.set("flow-timeouts.udp.new=5").unwrap();
        assert_eq!(c.address_groups()[0].1, "[198.19.0.0/16]");
        assert_eq!(c.bool("stream.midstream"), Some(false));
        assert_eq!(c.seconds("flow-timeouts.udp.new"), Some(5));
        let mut e = SuricataConfig::default();
        e.set("a.b.c=1").unwrap();
        assert_eq!(e.seconds("a.b.c"), Some(1));
        assert!(e.set("novalue").is_err());
        assert!(e.set("a..b=1").is_err());
    }

    #[test]
    fn defaults_without_outputs_and_bad_input() {
        let c = SuricataConfig::default();
        assert_eq!(
            c.drop_log(),
            Some(DropLog {
                all: false,
                alerts: true
            })
        );
        assert!(c.alert_log());
        let c = SuricataConfig::parse("outputs:\n  - eve-log:\n      types:\n        - alert\n")
            .unwrap();
        assert_eq!(c.drop_log(), None);
        assert!(SuricataConfig::parse("- just\n- a list\n").is_err());
        assert!(SuricataConfig::parse("a: [unclosed\n").is_err());
        assert!(SuricataConfig::parse("")
            .unwrap()
            .address_groups()
            .is_empty());
    }
}
