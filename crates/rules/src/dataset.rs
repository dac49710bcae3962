//! Datasets: the `dataset` and `datarep` keywords (Suricata's documented behaviour).
//!
//! A dataset is a named set of values (with a reputation number each, for `datarep`) that
//! rules look the current sticky buffer up in (after its transforms), and that `set` /
//! `unset` change at run time:
//! - `dataset:isset,NAME` matches when the buffer is in the set, `isnotset` when it is not;
//! - `dataset:set,NAME` adds the buffer and matches when it was not there yet; `unset`
//!   removes it and matches when it was there;
//! - `datarep:NAME,OP,VALUE` matches when the buffer is in the set with a reputation that
//!   compares (`>`, `<`, `>=`, `<=`, `==`) to VALUE.
//!
//! Options: `type string|md5|sha256|ipv4|ip`, `load FILE` (read when the rules are
//! compiled), `save FILE` (written by [`crate::RuleSet::save_datasets`]), `state FILE` (both),
//! `memcap SIZE` (values that would exceed it are not added), `hashsize N` (accepted). A set
//! is shared by every rule that names it, and by the threads sharing the compiled set, so
//! its values live behind a lock, as Suricata's hash table does.
//!
//! Files hold one value per line, with `,REP` after it for `datarep`: `string` values are
//! base64, `md5` and `sha256` hex, `ipv4` and `ip` addresses in text. `md5`, `sha256`,
//! `ipv4` and `ip` values are compared as raw bytes (16, 32, 4 and 16 bytes; an IPv4
//! address in an `ip` set is stored IPv4-mapped), so a buffer of another length never
//! matches them.
//!
//! Paths: a relative `load` is read from the directory of the rule file; a relative `save`
//! or `state` lives in the data directory ([`DatasetDirs`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Suricata's default dataset memcap (bytes of values kept).
pub const DEFAULT_MEMCAP: u64 = 16 << 20;

/// The type of a dataset's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetType {
    /// Any byte string (stored base64 in files).
    String,
    /// 16-byte MD5 digests (hex in files).
    Md5,
    /// 32-byte SHA-256 digests (hex in files).
    Sha256,
    /// IPv4 addresses (4 bytes).
    Ipv4,
    /// IPv6 or IPv4 addresses (16 bytes; IPv4 mapped).
    Ip,
}

impl DatasetType {
    /// Parses a type name as rules and suricata.yaml write it.
    pub fn parse(s: &str) -> Option<DatasetType> {
        Some(match s.trim() {
            "string" => DatasetType::String,
            "md5" => DatasetType::Md5,
            "sha256" => DatasetType::Sha256,
            "ipv4" => DatasetType::Ipv4,
            "ip" | "ipv6" => DatasetType::Ip,
            _ => return None,
        })
    }

    /// The type's name.
    pub fn name(self) -> &'static str {
        match self {
            DatasetType::String => "string",
            DatasetType::Md5 => "md5",
            DatasetType::Sha256 => "sha256",
            DatasetType::Ipv4 => "ipv4",
            DatasetType::Ip => "ip",
        }
    }

    /// The exact length of a value, for fixed-size types.
    fn value_len(self) -> Option<usize> {
        match self {
            DatasetType::String => None,
            DatasetType::Md5 => Some(16),
            DatasetType::Sha256 => Some(32),
            DatasetType::Ipv4 => Some(4),
            DatasetType::Ip => Some(16),
        }
    }

    /// Decodes one value as files write it.
    fn decode(self, text: &str) -> Option<Vec<u8>> {
        let text = text.trim();
        match self {
            DatasetType::String => base64_decode(text),
            DatasetType::Md5 | DatasetType::Sha256 => {
                let v = hex_decode(text)?;
                (Some(v.len()) == self.value_len()).then_some(v)
            }
            DatasetType::Ipv4 => match text.parse::<IpAddr>().ok()? {
                IpAddr::V4(a) => Some(a.octets().to_vec()),
                IpAddr::V6(_) => None,
            },
            DatasetType::Ip => Some(match text.parse::<IpAddr>().ok()? {
                IpAddr::V4(a) => a.to_ipv6_mapped().octets().to_vec(),
                IpAddr::V6(a) => a.octets().to_vec(),
            }),
        }
    }

    /// Encodes one value as files write it.
    fn encode(self, v: &[u8]) -> String {
        match self {
            DatasetType::String => base64_encode(v),
            DatasetType::Md5 | DatasetType::Sha256 => {
                v.iter().map(|b| format!("{b:02x}")).collect()
            }
            DatasetType::Ipv4 | DatasetType::Ip => match v.len() {
                4 => std::net::Ipv4Addr::new(v[0], v[1], v[2], v[3]).to_string(),
                16 => {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(v);
                    let a = std::net::Ipv6Addr::from(a);
                    match a.to_ipv4_mapped() {
                        Some(v4) => v4.to_string(),
                        None => a.to_string(),
                    }
                }
                _ => String::new(),
            },
        }
    }

    /// The lookup key of a buffer: IPv4 buffers of an `ip` set are mapped; other buffers
    /// are used as they are (and never match a fixed-size type of another length).
    fn key<'a>(self, buf: &'a [u8], scratch: &'a mut [u8; 16]) -> Option<&'a [u8]> {
        if self == DatasetType::Ip && buf.len() == 4 {
            *scratch = [
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, buf[0], buf[1], buf[2], buf[3],
            ];
            return Some(&scratch[..]);
        }
        match self.value_len() {
            Some(n) if n != buf.len() => None,
            _ => Some(buf),
        }
    }
}

/// A `datarep` comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RepOp {
    Gt,
    Lt,
    Ge,
    Le,
    Eq,
}

/// What a rule does with a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DatasetCmd {
    /// `set`: add; matches when the value was new.
    Set,
    /// `isset`: matches when present.
    IsSet,
    /// `isnotset`: matches when absent.
    IsNotSet,
    /// `unset`: remove; matches when the value was there.
    Unset,
    /// `datarep`: matches when present with a reputation that compares to the value.
    Rep(RepOp, u16),
}

/// A dataset as a rule (or suricata.yaml) declares it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DatasetDecl {
    /// The set's name.
    pub name: String,
    /// Value type (needed when the set is not declared elsewhere).
    pub kind: Option<DatasetType>,
    /// File to read values from.
    pub load: Option<PathBuf>,
    /// File to write the values to ([`crate::RuleSet::save_datasets`]).
    pub save: Option<PathBuf>,
    /// Most bytes of values kept ([`DEFAULT_MEMCAP`] when not given).
    pub memcap: Option<u64>,
}

/// A `dataset`/`datarep` keyword of a rule, before its set is resolved.
#[derive(Debug, Clone)]
pub(crate) struct DatasetUse {
    pub cmd: DatasetCmd,
    pub decl: DatasetDecl,
    /// `load` as written (resolved against the rule file's directory).
    pub load: Option<String>,
    /// `save`/`state` as written (resolved against the data directory); `state` also loads.
    pub save: Option<String>,
    pub state: bool,
    /// The shared set, once the rule set is compiled.
    pub set: Option<Arc<Dataset>>,
}

/// Prefix of the errors that mean "not implemented" rather than "invalid".
pub(crate) const UNSUPPORTED: &str = "unsupported: ";

/// Splits `key value` option words (`type string`, `save f.lst`).
fn options<'a>(parts: impl Iterator<Item = &'a str>, u: &mut DatasetUse) -> Result<(), String> {
    for opt in parts {
        let opt = opt.trim();
        if opt.is_empty() {
            continue;
        }
        let (k, v) = opt
            .split_once(char::is_whitespace)
            .map(|(k, v)| (k.trim(), v.trim()))
            .unwrap_or((opt, ""));
        match k {
            "type" => {
                u.decl.kind = Some(DatasetType::parse(v).ok_or_else(|| {
                    format!("unknown dataset type `{v}` (string, md5, sha256, ipv4, ip)")
                })?)
            }
            "load" if !v.is_empty() => u.load = Some(v.to_string()),
            "save" if !v.is_empty() => u.save = Some(v.to_string()),
            "state" if !v.is_empty() => {
                u.save = Some(v.to_string());
                u.state = true;
            }
            "memcap" => {
                u.decl.memcap = Some(parse_size(v).ok_or_else(|| format!("bad memcap `{v}`"))?)
            }
            "hashsize" => {
                v.parse::<u64>()
                    .map_err(|_| format!("bad hashsize `{v}`"))?;
            }
            "format" if v == "csv" => {}
            // datajson (JSON files whose context goes into alerts) is not implemented.
            "format" | "context_key" | "value_key" | "array_key" | "remove_key" => {
                return Err(format!(
                    "{UNSUPPORTED}JSON datasets (`{k}`) are not implemented"
                ))
            }
            _ => return Err(format!("unknown dataset option `{opt}`")),
        }
    }
    Ok(())
}

fn new_use(cmd: DatasetCmd, name: &str) -> Result<DatasetUse, String> {
    let name = name.trim();
    if name.is_empty() || name.len() > 63 {
        return Err("expected a dataset name (1 to 63 characters)".into());
    }
    Ok(DatasetUse {
        cmd,
        decl: DatasetDecl {
            name: name.to_string(),
            ..Default::default()
        },
        load: None,
        save: None,
        state: false,
        set: None,
    })
}

/// Parses `dataset:<set|isset|isnotset|unset>,<name>[, type T, load F, save F, state F,
/// memcap M, hashsize H]`.
pub(crate) fn parse_dataset(val: &str) -> Result<DatasetUse, String> {
    let mut parts = val.split(',');
    let cmd = match parts.next().unwrap_or("").trim() {
        "set" => DatasetCmd::Set,
        "isset" => DatasetCmd::IsSet,
        "isnotset" => DatasetCmd::IsNotSet,
        "unset" => DatasetCmd::Unset,
        other => {
            return Err(format!(
                "unknown dataset command `{other}` (set, isset, isnotset, unset)"
            ))
        }
    };
    let mut u = new_use(cmd, parts.next().unwrap_or(""))?;
    options(parts, &mut u)?;
    Ok(u)
}

/// Parses `datarep:<name>,<op>,<value>[, type T, load F, memcap M, hashsize H]`.
pub(crate) fn parse_datarep(val: &str) -> Result<DatasetUse, String> {
    let mut parts = val.split(',');
    let name = parts.next().unwrap_or("");
    let op = match parts.next().unwrap_or("").trim() {
        ">" => RepOp::Gt,
        "<" => RepOp::Lt,
        ">=" => RepOp::Ge,
        "<=" => RepOp::Le,
        "==" => RepOp::Eq,
        other => {
            return Err(format!(
                "unknown datarep operator `{other}` (>, <, >=, <=, ==)"
            ))
        }
    };
    let v = parts.next().unwrap_or("").trim();
    let v: u16 = v
        .parse()
        .map_err(|_| format!("expected a reputation value 0-65535, found `{v}`"))?;
    let mut u = new_use(DatasetCmd::Rep(op, v), name)?;
    options(parts, &mut u)?;
    Ok(u)
}

/// Where dataset files are looked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatasetDirs {
    /// The data directory for relative `save`/`state` files (Suricata's `--data-dir`);
    /// `None`: the current directory.
    pub data_dir: Option<PathBuf>,
}

/// Values of one dataset and the bytes they take.
#[derive(Debug, Default)]
struct Values {
    map: HashMap<Vec<u8>, u16>,
    bytes: u64,
}

/// One named dataset, shared by the rules naming it.
#[derive(Debug)]
pub struct Dataset {
    name: String,
    kind: DatasetType,
    save: Mutex<Option<PathBuf>>,
    memcap: u64,
    values: Mutex<Values>,
}

impl Dataset {
    /// A new, empty set.
    fn new(decl: &DatasetDecl, kind: DatasetType) -> Dataset {
        Dataset {
            name: decl.name.clone(),
            kind,
            save: Mutex::new(decl.save.clone()),
            memcap: decl.memcap.unwrap_or(DEFAULT_MEMCAP),
            values: Mutex::new(Values::default()),
        }
    }

    /// The set's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value type.
    pub fn kind(&self) -> DatasetType {
        self.kind
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// True when the set holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Values> {
        // A panic while holding the lock cannot leave the map half-updated (single
        // insert/remove calls), so a poisoned lock's data is still good.
        self.values.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a value (with a reputation); false when it was there or does not fit the
    /// memcap.
    fn insert(&self, v: &[u8], rep: u16) -> bool {
        let mut g = self.lock();
        if g.map.contains_key(v) {
            return false;
        }
        let cost = v.len() as u64 + 16;
        if g.bytes + cost > self.memcap {
            return false;
        }
        g.bytes += cost;
        g.map.insert(v.to_vec(), rep);
        true
    }

    /// Reads a file of values into the set.
    fn load(&self, path: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read dataset file {}: {e}", path.display()))?;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (value, rep) = match line.rsplit_once(',') {
                Some((v, r)) if r.trim().parse::<u16>().is_ok() => {
                    (v, r.trim().parse::<u16>().unwrap_or(0))
                }
                _ => (line, 0),
            };
            let Some(bytes) = self.kind.decode(value) else {
                return Err(format!(
                    "{}:{}: not a {} value: `{value}`",
                    path.display(),
                    i + 1,
                    self.kind.name()
                ));
            };
            self.insert(&bytes, rep);
        }
        Ok(())
    }

    /// Runs a rule's command on a buffer.
    pub(crate) fn check(&self, cmd: DatasetCmd, buf: &[u8]) -> bool {
        let mut scratch = [0u8; 16];
        let Some(key) = self.kind.key(buf, &mut scratch) else {
            return matches!(cmd, DatasetCmd::IsNotSet);
        };
        match cmd {
            DatasetCmd::IsSet => self.lock().map.contains_key(key),
            DatasetCmd::IsNotSet => !self.lock().map.contains_key(key),
            DatasetCmd::Set => self.insert(key, 0),
            DatasetCmd::Unset => {
                let mut g = self.lock();
                match g.map.remove(key) {
                    Some(_) => {
                        g.bytes = g.bytes.saturating_sub(key.len() as u64 + 16);
                        true
                    }
                    None => false,
                }
            }
            DatasetCmd::Rep(op, v) => self.lock().map.get(key).is_some_and(|&r| match op {
                RepOp::Gt => r > v,
                RepOp::Lt => r < v,
                RepOp::Ge => r >= v,
                RepOp::Le => r <= v,
                RepOp::Eq => r == v,
            }),
        }
    }

    /// Writes the set to its `save`/`state` file, if it has one (values sorted, one a
    /// line). Returns the path written.
    pub fn save(&self) -> std::io::Result<Option<PathBuf>> {
        let Some(path) = self.save.lock().unwrap_or_else(|e| e.into_inner()).clone() else {
            return Ok(None);
        };
        let g = self.lock();
        let mut lines: Vec<String> = g.map.keys().map(|k| self.kind.encode(k)).collect();
        lines.sort_unstable();
        let mut text = lines.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        std::fs::write(&path, text)?;
        Ok(Some(path))
    }
}

/// The datasets of one compiled rule set, by name.
#[derive(Debug, Default)]
pub(crate) struct DatasetRegistry {
    sets: Vec<Arc<Dataset>>,
}

impl DatasetRegistry {
    pub(crate) fn sets(&self) -> &[Arc<Dataset>] {
        &self.sets
    }

    /// The set named in `decl`, created (and loaded) the first time. A set named again
    /// must have the same type; `save` and `memcap` given later are kept when the first
    /// declaration had none.
    pub(crate) fn resolve(&mut self, decl: &DatasetDecl) -> Result<Arc<Dataset>, String> {
        if let Some(s) = self.sets.iter().find(|s| s.name == decl.name) {
            if let Some(k) = decl.kind {
                if k != s.kind {
                    return Err(format!(
                        "dataset `{}` is already defined with type {}",
                        decl.name,
                        s.kind.name()
                    ));
                }
            }
            if let Some(p) = &decl.load {
                s.load(p)?;
            }
            return Ok(s.clone());
        }
        let Some(kind) = decl.kind else {
            return Err(format!(
                "dataset `{}` needs a type (`type string|md5|sha256|ipv4|ip`)",
                decl.name
            ));
        };
        let s = Dataset::new(decl, kind);
        if let Some(p) = &decl.load {
            s.load(p)?;
        }
        let s = Arc::new(s);
        self.sets.push(s.clone());
        Ok(s)
    }

    /// Resolves a rule's keyword: paths against the rule file's directory (`load`) and the
    /// data directory (`save`, `state`), then the shared set.
    pub(crate) fn resolve_use(
        &mut self,
        u: &DatasetUse,
        rule_file: &str,
        dirs: &DatasetDirs,
    ) -> Result<Arc<Dataset>, String> {
        let mut decl = u.decl.clone();
        if let Some(l) = &u.load {
            let p = Path::new(l);
            decl.load = Some(if p.is_absolute() {
                p.to_path_buf()
            } else {
                Path::new(rule_file)
                    .parent()
                    .map_or_else(|| p.to_path_buf(), |d| d.join(p))
            });
        }
        if let Some(s) = &u.save {
            let p = Path::new(s);
            let path = match &dirs.data_dir {
                Some(d) if !p.is_absolute() => d.join(p),
                _ => p.to_path_buf(),
            };
            if u.state && path.exists() && decl.load.is_none() {
                decl.load = Some(path.clone());
            }
            decl.save = Some(path);
        }
        let set = self.resolve(&decl)?;
        if let Some(p) = decl.save {
            // Named first without a file: this one is its file.
            let mut save = set.save.lock().unwrap_or_else(|e| e.into_inner());
            if save.is_none() {
                *save = Some(p);
            }
        }
        Ok(set)
    }
}

/// A byte size as Suricata writes them: `1048576`, `10kb`, `64mb`, `1gb`.
fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim().to_ascii_lowercase();
    let digits = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = match t[digits.len()..].trim() {
        "" | "b" => 1,
        "kb" | "k" | "kib" => 1 << 10,
        "mb" | "m" | "mib" => 1 << 20,
        "gb" | "g" | "gib" => 1 << 30,
        _ => return None,
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(unit)
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(v: &[u8]) -> String {
    let mut out = String::with_capacity(v.len().div_ceil(3) * 4);
    for c in v.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(c.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(c.get(2).copied().unwrap_or(0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = B64.iter().position(|&b| b == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keywords() {
        let u = parse_dataset("set,ua-seen, type string, save after.csv").unwrap();
        assert_eq!(u.cmd, DatasetCmd::Set);
        assert_eq!(u.decl.name, "ua-seen");
        assert_eq!(u.decl.kind, Some(DatasetType::String));
        assert_eq!(u.save.as_deref(), Some("after.csv"));
        let u = parse_dataset("isset,x,type md5,state x.lst,memcap 10mb,hashsize 1024").unwrap();
        assert!(u.state && u.decl.memcap == Some(10 << 20));
        let r = parse_datarep("rep,>=,10, type sha256, load r.lst").unwrap();
        assert_eq!(r.cmd, DatasetCmd::Rep(RepOp::Ge, 10));
        assert!(parse_dataset("maybe,x").is_err());
        assert!(parse_dataset("set,").is_err());
        assert!(parse_dataset("set,x,type blob").is_err());
        assert!(parse_datarep("x,!=,1").is_err());
        assert!(parse_datarep("x,>,70000").is_err());
    }

    #[test]
    fn set_isset_unset_semantics() {
        let mut reg = DatasetRegistry::default();
        let d = DatasetDecl {
            name: "s".into(),
            kind: Some(DatasetType::String),
            ..Default::default()
        };
        let s = reg.resolve(&d).unwrap();
        assert!(s.check(DatasetCmd::IsNotSet, b"a"));
        assert!(s.check(DatasetCmd::Set, b"a"), "new value: set matches");
        assert!(
            !s.check(DatasetCmd::Set, b"a"),
            "known value: set does not match"
        );
        assert!(s.check(DatasetCmd::IsSet, b"a"));
        assert!(s.check(DatasetCmd::Unset, b"a"));
        assert!(!s.check(DatasetCmd::Unset, b"a"));
        assert!(!s.check(DatasetCmd::IsSet, b"a"));
        // Same name, same set; another type is refused; no type for a new set is refused.
        assert!(Arc::ptr_eq(
            &s,
            &reg.resolve(&DatasetDecl {
                name: "s".into(),
                ..Default::default()
            })
            .unwrap()
        ));
        let md5 = DatasetDecl {
            name: "s".into(),
            kind: Some(DatasetType::Md5),
            ..Default::default()
        };
        assert!(reg.resolve(&md5).is_err());
        assert!(reg
            .resolve(&DatasetDecl {
                name: "t".into(),
                ..Default::default()
            })
            .is_err());
    }

    #[test]
    fn memcap_bounds_the_set() {
        let d = DatasetDecl {
            name: "m".into(),
            kind: Some(DatasetType::String),
            memcap: Some(40),
            ..Default::default()
        };
        let s = Dataset::new(&d, DatasetType::String);
        assert!(s.check(DatasetCmd::Set, b"0123456789"));
        assert!(
            !s.check(DatasetCmd::Set, b"abcdefghij"),
            "over the memcap: not added"
        );
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn files_round_trip_and_reputation() {
        let dir = std::env::temp_dir().join(format!("verdict-dataset-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("rep.lst");
        std::fs::write(&f, "dGVzdA==,5\n# comment\n\nZXZpbA==,100\n").unwrap();
        let mut reg = DatasetRegistry::default();
        let u = parse_datarep("rep,>,50, type string, load rep.lst").unwrap();
        let rule_file = dir.join("t.rules");
        let s = reg
            .resolve_use(&u, &rule_file.to_string_lossy(), &DatasetDirs::default())
            .unwrap();
        assert!(s.check(DatasetCmd::Rep(RepOp::Gt, 50), b"evil"));
        assert!(!s.check(DatasetCmd::Rep(RepOp::Gt, 50), b"test"));
        assert!(s.check(DatasetCmd::Rep(RepOp::Eq, 5), b"test"));
        assert!(!s.check(DatasetCmd::Rep(RepOp::Eq, 5), b"unknown"));
        // save into the data dir, base64 per line, sorted.
        let u = parse_dataset("set,seen, type string, save out.lst").unwrap();
        let dirs = DatasetDirs {
            data_dir: Some(dir.clone()),
        };
        let s = reg.resolve_use(&u, "x.rules", &dirs).unwrap();
        s.check(DatasetCmd::Set, b"test");
        s.check(DatasetCmd::Set, b"a");
        assert_eq!(s.save().unwrap(), Some(dir.join("out.lst")));
        assert_eq!(
            std::fs::read_to_string(dir.join("out.lst")).unwrap(),
            "YQ==\ndGVzdA==\n"
        );
        // state: loads what was saved.
        let mut reg2 = DatasetRegistry::default();
        let u = parse_dataset("isset,seen, type string, state out.lst").unwrap();
        let s = reg2.resolve_use(&u, "x.rules", &dirs).unwrap();
        assert!(s.check(DatasetCmd::IsSet, b"test"));
        // A missing load file is an error; a bad value too.
        let u = parse_dataset("isset,n, type md5, load nope.lst").unwrap();
        assert!(reg2
            .resolve_use(&u, &rule_file.to_string_lossy(), &dirs)
            .is_err());
        std::fs::write(dir.join("bad.lst"), "zz\n").unwrap();
        let u = parse_dataset("isset,b, type md5, load bad.lst").unwrap();
        assert!(reg2
            .resolve_use(&u, &rule_file.to_string_lossy(), &dirs)
            .is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn typed_values() {
        let md5 = DatasetType::Md5
            .decode("fae0e5d973c96ae1888b99538efa0363")
            .unwrap();
        assert_eq!(md5.len(), 16);
        assert_eq!(
            DatasetType::Md5.encode(&md5),
            "fae0e5d973c96ae1888b99538efa0363"
        );
        assert!(DatasetType::Md5.decode("abcd").is_none());
        let d = DatasetDecl {
            name: "ip".into(),
            kind: Some(DatasetType::Ip),
            ..Default::default()
        };
        let s = Dataset::new(&d, DatasetType::Ip);
        s.insert(&DatasetType::Ip.decode("10.0.0.1").unwrap(), 0);
        assert!(
            s.check(DatasetCmd::IsSet, &[10, 0, 0, 1]),
            "IPv4 buffers are mapped"
        );
        assert!(!s.check(DatasetCmd::IsSet, b"short"));
        assert_eq!(
            DatasetType::Ip.encode(&DatasetType::Ip.decode("10.0.0.1").unwrap()),
            "10.0.0.1"
        );
        for v in [&b""[..], b"f", b"fo", b"foo", b"foob", b"\xff\x00\x7f"] {
            assert_eq!(base64_decode(&base64_encode(v)).unwrap(), v);
        }
    }
}
