//! Kernel release strings (`uname -r`) and what they say about the upstream code inside.
//!
//! # Design
//! A release string is parsed into a [`KernelRelease`]: the upstream version numbers and a
//! [`Flavor`] that says *who built it* and therefore how much the numbers can be trusted:
//!
//! - [`Flavor::Upstream`]: `5.10.104`, `5.17.0`, `6.18.44-fc-v669`, `5.17.0-rc7`. The numbers
//!   are the upstream (stable) patch level; a local suffix (`-fc-v669`) is kept but does not
//!   change the upstream level.
//! - [`Flavor::Debian`] and [`Flavor::Ubuntu`]: `6.1.0-13-amd64`, `5.15.0-91-generic`. Their
//!   third number is always 0 and the number after the dash is an **ABI number**, which does
//!   not tell the upstream patch level. Only versions on a line newer than a fix can be
//!   decided from the string alone.
//! - [`Flavor::RedHat`]: `4.18.0-305.3.1.el8.x86_64`, `3.10.0-1160.el7`, `5.14.0-70.13.1.el9_0`.
//!   The upstream numbers are frozen at the release's base; fixes arrive as backports, so the
//!   **build numbers** (`305.3.1`) decide, per `elN` family.
//!
//! Parsing never panics; a string that is not a kernel release is an [`Error`].

use std::cmp::Ordering;
use std::fmt;

/// An upstream kernel version: `major.minor.patch`, optionally a mainline release candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Version {
    /// Major number (`5` in `5.10.104`).
    pub major: u32,
    /// Minor number (`10` in `5.10.104`).
    pub minor: u32,
    /// Patch (stable) number (`104` in `5.10.104`); 0 for a mainline release.
    pub patch: u32,
    /// `Some(n)` for a mainline release candidate `-rcN` (which comes *before* `major.minor.0`).
    pub rc: Option<u32>,
}

impl Version {
    /// A final (non-rc) version.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Version {
        Version {
            major,
            minor,
            patch,
            rc: None,
        }
    }

    /// A mainline release candidate `major.minor-rcN`.
    pub const fn rc(major: u32, minor: u32, rc: u32) -> Version {
        Version {
            major,
            minor,
            patch: 0,
            rc: Some(rc),
        }
    }

    /// The stable line this version belongs to, `(major, minor)`.
    pub fn line(&self) -> (u32, u32) {
        (self.major, self.minor)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.rc, other.rc) {
                (None, None) => Ordering::Equal,
                // An rc precedes the final release.
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(a), Some(b)) => a.cmp(&b),
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rc {
            Some(rc) => write!(f, "{}.{}-rc{}", self.major, self.minor, rc),
            None => write!(f, "{}.{}.{}", self.major, self.minor, self.patch),
        }
    }
}

/// Who built a kernel, and therefore what its version numbers mean.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Flavor {
    /// Upstream mainline or stable numbering; `local` is any suffix after the version
    /// (`-fc-v669`), empty when none.
    Upstream {
        /// The local version suffix, without the leading dash.
        local: String,
    },
    /// A Debian kernel (`6.1.0-13-amd64`, `6.1.0-0.deb11.13-amd64`).
    Debian {
        /// The ABI number (`13`); it does not tell the upstream patch level.
        abi: String,
        /// The flavour (`amd64`, `cloud-amd64`, ...).
        flavour: String,
    },
    /// An Ubuntu kernel (`5.15.0-91-generic`).
    Ubuntu {
        /// The ABI number (`91`); it does not tell the upstream patch level.
        abi: u32,
        /// The flavour (`generic`, `aws`, ...).
        flavour: String,
    },
    /// Another vendor's kernel with stable numbering plus its own backports (Oracle UEK,
    /// Amazon Linux, Fedora, SUSE): the numbers are a floor -- a version at or after a fix has
    /// it, one before it may still carry a backport.
    Vendor {
        /// The vendor (`Oracle UEK`, `Amazon Linux`, `Fedora`, `SUSE`).
        vendor: String,
        /// The suffix after the version.
        local: String,
    },
    /// Red Hat Enterprise Linux, CentOS, CentOS Stream, Rocky, Alma (`.elN`).
    RedHat {
        /// The `N` of `elN`.
        el: u32,
        /// The build numbers before `.elN` (`[305, 3, 1]`).
        build: Vec<u32>,
        /// The minor-release stream after `elN_` (`Some(4)` in `el8_4`), if present.
        stream: Option<u32>,
    },
}

/// A parsed `uname -r` string.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KernelRelease {
    /// The string as given (trimmed).
    pub raw: String,
    /// The upstream version numbers in the string. For distribution kernels these are the
    /// *base* version (Debian/Ubuntu/RHEL do not bump `patch`).
    pub version: Version,
    /// Who built it.
    pub flavor: Flavor,
}

/// A string that is not a kernel release.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a kernel release string ({reason}); expected something like `uname -r` prints, e.g. `5.10.104` or `4.18.0-305.3.1.el8.x86_64`")]
pub struct Error {
    /// The input (truncated to 80 characters).
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

const DEBIAN_FLAVOURS: &[&str] = &[
    "amd64",
    "arm64",
    "686",
    "686-pae",
    "armmp",
    "armmp-lpae",
    "cloud-amd64",
    "cloud-arm64",
    "rt-amd64",
    "rt-arm64",
    "rt-686-pae",
    "powerpc64le",
    "s390x",
    "marvell",
    "rpi",
    "loong64",
    "mips64r2el",
    "octeon",
    "4kc-malta",
    "5kc-malta",
];

const UBUNTU_FLAVOURS: &[&str] = &[
    "generic",
    "generic-64k",
    "generic-lpae",
    "lowlatency",
    "lowlatency-64k",
    "aws",
    "azure",
    "gcp",
    "gke",
    "gkeop",
    "kvm",
    "oracle",
    "raspi",
    "raspi-nolpae",
    "ibm",
    "nvidia",
    "nvidia-lowlatency",
    "intel-iotg",
    "realtime",
    "oem",
    "xilinx-zynqmp",
];

const ARCH_SUFFIXES: &[&str] = &[
    ".x86_64", ".aarch64", ".ppc64le", ".s390x", ".i686", ".noarch", ".armv7hl",
];

impl KernelRelease {
    /// Parses a release string as `uname -r` prints it.
    pub fn parse(input: &str) -> Result<KernelRelease, Error> {
        let raw = input.trim();
        let err = |reason| Error {
            input: raw.chars().take(80).collect(),
            reason,
        };
        if raw.is_empty() {
            return Err(err("it is empty"));
        }
        if raw.len() > 256 || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err("it contains spaces or is too long"));
        }
        // Split the leading `a.b[.c]` from the rest.
        let num_end = raw
            .char_indices()
            .find(|&(_, c)| !(c.is_ascii_digit() || c == '.'))
            .map(|(i, _)| i)
            .unwrap_or(raw.len());
        let (nums, rest) = raw.split_at(num_end);
        let nums = nums.trim_end_matches('.');
        let mut parts = nums.split('.');
        let major = parse_num(parts.next()).ok_or_else(|| err("no major version number"))?;
        let minor = parse_num(parts.next()).ok_or_else(|| err("no minor version number"))?;
        let patch = match parts.next() {
            None => 0,
            Some(p) => parse_num(Some(p)).ok_or_else(|| err("bad patch number"))?,
        };
        if parts.next().is_some() {
            return Err(err("more than three version numbers"));
        }
        if !(2..=9).contains(&major) {
            return Err(err("major version out of range"));
        }
        let mut version = Version::new(major, minor, patch);
        let rest = rest.strip_prefix(['-', '+', '_', '~']).unwrap_or(rest);

        // Release candidates: `5.17.0-rc7`, `5.17-rc7+`.
        if let Some(rc) = rest.strip_prefix("rc") {
            let digits: String = rc.chars().take_while(|c| c.is_ascii_digit()).collect();
            if let Ok(n) = digits.parse::<u32>() {
                version.rc = Some(n);
                let local = rc[digits.len()..]
                    .trim_start_matches(['-', '+'])
                    .to_string();
                return Ok(KernelRelease {
                    raw: raw.to_string(),
                    version,
                    flavor: Flavor::Upstream { local },
                });
            }
        }

        let flavor = if let Some(f) = parse_redhat(rest) {
            f
        } else if let Some(f) = parse_debian_ubuntu(rest, patch) {
            f
        } else if let Some(vendor) = vendor_of(rest) {
            Flavor::Vendor {
                vendor: vendor.to_string(),
                local: rest.to_string(),
            }
        } else {
            Flavor::Upstream {
                local: rest.to_string(),
            }
        };
        Ok(KernelRelease {
            raw: raw.to_string(),
            version,
            flavor,
        })
    }

    /// The running kernel's release, read from `/proc/sys/kernel/osrelease`.
    pub fn running() -> std::io::Result<KernelRelease> {
        let s = std::fs::read_to_string("/proc/sys/kernel/osrelease")?;
        KernelRelease::parse(&s)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
    }

    /// A short human name of the flavour (`upstream`, `Debian`, `RHEL/CentOS el8`, ...).
    pub fn family(&self) -> String {
        match &self.flavor {
            Flavor::Upstream { .. } => "upstream/stable".to_string(),
            Flavor::Debian { .. } => "Debian".to_string(),
            Flavor::Ubuntu { .. } => "Ubuntu".to_string(),
            Flavor::RedHat { el, .. } => format!("RHEL/CentOS el{el}"),
            Flavor::Vendor { vendor, .. } => vendor.clone(),
        }
    }
}

impl fmt::Display for KernelRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Recognises vendor kernels that carry backports under stable numbering.
fn vendor_of(rest: &str) -> Option<&'static str> {
    let r = rest.to_ascii_lowercase();
    if r.contains("uek") {
        return Some("Oracle UEK");
    }
    if r.contains(".amzn") {
        return Some("Amazon Linux");
    }
    let fedora = r.split('.').any(|p| {
        p.strip_prefix("fc")
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    });
    if fedora {
        return Some("Fedora");
    }
    let suse_flavour = ["default", "azure", "rt", "64kb"]
        .iter()
        .any(|f| r.ends_with(&format!("-{f}")));
    if suse_flavour && r.chars().next().is_some_and(|c| c.is_ascii_digit()) && r.contains('.') {
        return Some("SUSE");
    }
    None
}

fn parse_num(s: Option<&str>) -> Option<u32> {
    let s = s?;
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    s.parse().ok()
}

/// `305.3.1.el8.x86_64`, `373.el8`, `1160.el7.x86_64`, `70.13.1.el9_0.x86_64`.
fn parse_redhat(rest: &str) -> Option<Flavor> {
    let mut s = rest;
    for a in ARCH_SUFFIXES {
        if let Some(t) = s.strip_suffix(a) {
            s = t;
            break;
        }
    }
    let idx = s.find(".el")?;
    let (build_s, tail) = (&s[..idx], &s[idx + 3..]);
    let digits: String = tail.chars().take_while(|c| c.is_ascii_digit()).collect();
    let el: u32 = digits.parse().ok()?;
    let after = &tail[digits.len()..];
    // Oracle UEK (`el8uek`) and other derived kernels are different code bases.
    let stream = if after.is_empty() {
        None
    } else if let Some(st) = after.strip_prefix('_') {
        let d: String = st.chars().take_while(|c| c.is_ascii_digit()).collect();
        if d.len() != st.len() {
            return None;
        }
        Some(d.parse().ok()?)
    } else {
        return None;
    };
    let build: Option<Vec<u32>> = build_s.split('.').map(|p| parse_num(Some(p))).collect();
    let build = build?;
    if build.is_empty() {
        return None;
    }
    Some(Flavor::RedHat { el, build, stream })
}

/// `13-amd64` (Debian), `0.deb11.13-amd64` (Debian backports), `91-generic` (Ubuntu).
fn parse_debian_ubuntu(rest: &str, patch: u32) -> Option<Flavor> {
    if patch != 0 {
        return None;
    }
    let (abi, flavour) = rest.split_once('-')?;
    if abi.is_empty() {
        return None;
    }
    if DEBIAN_FLAVOURS.contains(&flavour) {
        let abi_ok = abi
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()));
        if abi_ok {
            return Some(Flavor::Debian {
                abi: abi.to_string(),
                flavour: flavour.to_string(),
            });
        }
    }
    if UBUNTU_FLAVOURS.contains(&flavour) {
        if let Ok(n) = abi.parse::<u32>() {
            return Some(Flavor::Ubuntu {
                abi: n,
                flavour: flavour.to_string(),
            });
        }
    }
    None
}

/// Compares two RHEL build-number lists component by component (`305.3.1` < `373`).
pub fn cmp_build(a: &[u32], b: &[u32]) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        match x.cmp(&y) {
            Ordering::Equal => continue,
            o => return o,
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_upstream_and_stable() {
        let k = KernelRelease::parse("5.10.104").unwrap();
        assert_eq!(k.version, Version::new(5, 10, 104));
        assert_eq!(
            k.flavor,
            Flavor::Upstream {
                local: String::new()
            }
        );
        let k = KernelRelease::parse("6.18.44-fc-v669\n").unwrap();
        assert_eq!(k.version, Version::new(6, 18, 44));
        assert_eq!(
            k.flavor,
            Flavor::Upstream {
                local: "fc-v669".into()
            }
        );
        let k = KernelRelease::parse("5.17.0-rc7").unwrap();
        assert_eq!(k.version, Version::rc(5, 17, 7));
        assert!(Version::rc(5, 17, 7) < Version::new(5, 17, 0));
        assert!(Version::rc(5, 17, 6) < Version::rc(5, 17, 7));
        let k = KernelRelease::parse("5.4").unwrap();
        assert_eq!(k.version, Version::new(5, 4, 0));
    }

    #[test]
    fn parses_distributions() {
        let k = KernelRelease::parse("4.18.0-305.3.1.el8.x86_64").unwrap();
        assert_eq!(
            k.flavor,
            Flavor::RedHat {
                el: 8,
                build: vec![305, 3, 1],
                stream: None
            }
        );
        let k = KernelRelease::parse("5.14.0-70.13.1.el9_0.x86_64").unwrap();
        assert_eq!(
            k.flavor,
            Flavor::RedHat {
                el: 9,
                build: vec![70, 13, 1],
                stream: Some(0)
            }
        );
        let k = KernelRelease::parse("6.1.0-13-amd64").unwrap();
        assert!(matches!(k.flavor, Flavor::Debian { ref abi, .. } if abi == "13"));
        let k = KernelRelease::parse("6.1.0-0.deb11.13-amd64").unwrap();
        assert!(matches!(k.flavor, Flavor::Debian { .. }));
        let k = KernelRelease::parse("5.15.0-91-generic").unwrap();
        assert!(matches!(k.flavor, Flavor::Ubuntu { abi: 91, .. }));
        // Oracle UEK is not RHEL's code base.
        let k = KernelRelease::parse("5.4.17-2136.307.3.1.el8uek.x86_64").unwrap();
        assert!(matches!(k.flavor, Flavor::Vendor { ref vendor, .. } if vendor == "Oracle UEK"));
        let k = KernelRelease::parse("4.14.336-257.562.amzn2.x86_64").unwrap();
        assert!(matches!(k.flavor, Flavor::Vendor { ref vendor, .. } if vendor == "Amazon Linux"));
        let k = KernelRelease::parse("6.5.6-300.fc39.x86_64").unwrap();
        assert!(matches!(k.flavor, Flavor::Vendor { ref vendor, .. } if vendor == "Fedora"));
        let k = KernelRelease::parse("5.14.21-150400.24.46-default").unwrap();
        assert!(matches!(k.flavor, Flavor::Vendor { ref vendor, .. } if vendor == "SUSE"));
        // A local build suffix is not a vendor (this CI machine).
        let k = KernelRelease::parse("6.18.44-fc-v669").unwrap();
        assert!(matches!(k.flavor, Flavor::Upstream { .. }));
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "", "linux", "5", "5.x", "99.1.1", "5.10.1.2", "5.10 .1", "1.2.3",
        ] {
            assert!(KernelRelease::parse(s).is_err(), "{s:?} should not parse");
        }
    }

    #[test]
    fn build_order() {
        assert_eq!(cmp_build(&[305, 3, 1], &[373]), Ordering::Less);
        assert_eq!(cmp_build(&[373], &[373]), Ordering::Equal);
        assert_eq!(cmp_build(&[373, 0, 1], &[373]), Ordering::Greater);
    }
}
