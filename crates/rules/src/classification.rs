//! Classification types (`classtype`): name -> description and default priority.
//!
//! Built in is Suricata's stock `classification.config`; callers may add or replace entries
//! (e.g. from their own `classification.config`, see [`Classifications::parse_config`]).

use std::collections::HashMap;

/// One classification: its description (EVE's `alert.category`) and priority (`severity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// Human description, e.g. "A Network Trojan was detected".
    pub description: String,
    /// Priority, 1 (highest) and up.
    pub priority: u8,
}

/// The classification table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classifications {
    map: HashMap<String, Classification>,
}

const DEFAULTS: &[(&str, &str, u8)] = &[
    ("not-suspicious", "Not Suspicious Traffic", 3),
    ("unknown", "Unknown Traffic", 3),
    ("bad-unknown", "Potentially Bad Traffic", 2),
    ("attempted-recon", "Attempted Information Leak", 2),
    ("successful-recon-limited", "Information Leak", 2),
    (
        "successful-recon-largescale",
        "Large Scale Information Leak",
        2,
    ),
    ("attempted-dos", "Attempted Denial of Service", 2),
    ("successful-dos", "Denial of Service", 2),
    ("attempted-user", "Attempted User Privilege Gain", 1),
    ("unsuccessful-user", "Unsuccessful User Privilege Gain", 1),
    ("successful-user", "Successful User Privilege Gain", 1),
    (
        "attempted-admin",
        "Attempted Administrator Privilege Gain",
        1,
    ),
    (
        "successful-admin",
        "Successful Administrator Privilege Gain",
        1,
    ),
    ("rpc-portmap-decode", "Decode of an RPC Query", 2),
    ("shellcode-detect", "Executable code was detected", 1),
    ("string-detect", "A suspicious string was detected", 3),
    (
        "suspicious-filename-detect",
        "A suspicious filename was detected",
        2,
    ),
    (
        "suspicious-login",
        "An attempted login using a suspicious username was detected",
        2,
    ),
    ("system-call-detect", "A system call was detected", 2),
    ("tcp-connection", "A TCP connection was detected", 4),
    ("trojan-activity", "A Network Trojan was detected", 1),
    (
        "unusual-client-port-connection",
        "A client was using an unusual port",
        2,
    ),
    ("network-scan", "Detection of a Network Scan", 3),
    (
        "denial-of-service",
        "Detection of a Denial of Service Attack",
        2,
    ),
    (
        "non-standard-protocol",
        "Detection of a non-standard protocol or event",
        2,
    ),
    (
        "protocol-command-decode",
        "Generic Protocol Command Decode",
        3,
    ),
    (
        "web-application-activity",
        "access to a potentially vulnerable web application",
        2,
    ),
    ("web-application-attack", "Web Application Attack", 1),
    ("misc-activity", "Misc activity", 3),
    ("misc-attack", "Misc Attack", 2),
    ("icmp-event", "Generic ICMP event", 3),
    (
        "inappropriate-content",
        "Inappropriate Content was Detected",
        1,
    ),
    (
        "policy-violation",
        "Potential Corporate Privacy Violation",
        1,
    ),
    (
        "default-login-attempt",
        "Attempt to login by a default username and password",
        2,
    ),
    (
        "targeted-activity",
        "Targeted Malicious Activity was Detected",
        1,
    ),
    ("exploit-kit", "Exploit Kit Activity Detected", 1),
    (
        "external-ip-check",
        "Device Retrieving External IP Address Detected",
        2,
    ),
    ("domain-c2", "Domain Observed Used for C2 Detected", 1),
    ("pup-activity", "Possibly Unwanted Program Detected", 2),
    (
        "credential-theft",
        "Successful Credential Theft Detected",
        1,
    ),
    (
        "social-engineering",
        "Possible Social Engineering Attempted",
        2,
    ),
    ("coin-mining", "Crypto Currency Mining Activity Detected", 2),
    (
        "command-and-control",
        "Malware Command and Control Activity Detected",
        1,
    ),
];

impl Default for Classifications {
    fn default() -> Self {
        Self::suricata_defaults()
    }
}

impl Classifications {
    /// Suricata's stock classification.config.
    pub fn suricata_defaults() -> Classifications {
        let map = DEFAULTS
            .iter()
            .map(|&(n, d, p)| {
                (
                    n.to_string(),
                    Classification {
                        description: d.to_string(),
                        priority: p,
                    },
                )
            })
            .collect();
        Classifications { map }
    }

    /// Adds or replaces one classification.
    pub fn insert(&mut self, name: &str, description: &str, priority: u8) {
        self.map.insert(
            name.trim().to_string(),
            Classification {
                description: description.trim().to_string(),
                priority,
            },
        );
    }

    /// Looks a classtype up.
    pub fn get(&self, name: &str) -> Option<&Classification> {
        self.map.get(name)
    }

    /// Adds the entries of a `classification.config` text
    /// (`config classification: name,description,priority`). Returns the lines it could not
    /// read (1-based line numbers).
    pub fn parse_config(&mut self, text: &str) -> Vec<u32> {
        let mut bad = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let Some(rest) = l.strip_prefix("config classification:") else {
                bad.push(u32::try_from(i + 1).unwrap_or(u32::MAX));
                continue;
            };
            let parts: Vec<&str> = rest.splitn(3, ',').map(str::trim).collect();
            match (
                parts.first(),
                parts.get(1),
                parts.get(2).and_then(|p| p.parse::<u8>().ok()),
            ) {
                (Some(n), Some(d), Some(p)) if !n.is_empty() => self.insert(n, d, p),
                _ => bad.push(u32::try_from(i + 1).unwrap_or(u32::MAX)),
            }
        }
        bad
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_config() {
        let mut c = Classifications::default();
        assert_eq!(c.get("trojan-activity").unwrap().priority, 1);
        assert_eq!(c.get("misc-activity").unwrap().description, "Misc activity");
        let bad = c.parse_config("# x\nconfig classification: my-class,My Class,4\nnonsense\n");
        assert_eq!(bad, vec![3]);
        assert_eq!(c.get("my-class").unwrap().priority, 4);
    }
}
