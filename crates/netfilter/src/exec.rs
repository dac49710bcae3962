//! Running the firewall tools (`iptables-*-restore`, `nft`, ...), optionally inside a named
//! network namespace.
//!
//! All process spawning of this crate goes through [`Exec`], so tests can point the whole
//! crate at a namespace (`Exec::in_netns("vt-123-0")` runs `ip netns exec vt-123-0 <tool>`), and
//! a missing binary becomes [`Error::MissingBinary`] with the package to install.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::Error;

/// Where and how to run the firewall tools.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exec {
    netns: Option<String>,
}

/// What a finished tool printed.
#[derive(Debug, Clone)]
pub struct ToolOutput {
    /// Whether it exited with status 0.
    pub success: bool,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr (trimmed).
    pub stderr: String,
}

impl Exec {
    /// Runs tools in the caller's own network namespace.
    pub fn host() -> Exec {
        Exec { netns: None }
    }

    /// Runs tools inside the named network namespace (`ip netns exec NAME ...`).
    pub fn in_netns(name: impl Into<String>) -> Exec {
        Exec {
            netns: Some(name.into()),
        }
    }

    /// The namespace name, if any.
    pub fn netns(&self) -> Option<&str> {
        self.netns.as_deref()
    }

    /// Runs `program args...`, feeding `stdin` if given, and returns what it printed, whatever
    /// its exit status. Only a failure to start it at all is an error.
    pub fn output(
        &self,
        program: &str,
        args: &[&str],
        stdin: Option<&str>,
    ) -> Result<ToolOutput, Error> {
        let (binary, applet) = resolve(program);
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, binary.as_str()]);
                c
            }
            None => Command::new(&binary),
        };
        cmd.args(applet.iter())
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| spawn_error(program, e))?;
        if let Some(input) = stdin {
            if let Some(mut pipe) = child.stdin.take() {
                // A tool that exits early closes its stdin; its stderr then tells why.
                let _ = pipe.write_all(input.as_bytes());
            }
        }
        let out = child.wait_with_output().map_err(|e| Error::Io {
            what: format!("waiting for `{program}`"),
            source: e,
        })?;
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        // `ip netns exec` reports a missing program as exit 255 with "No such file".
        if self.netns.is_some()
            && !out.status.success()
            && stderr.contains("exec of")
            && stderr.contains("No such file")
        {
            return Err(missing(program));
        }
        Ok(ToolOutput {
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr,
        })
    }

    /// Like [`Exec::output`], but a non-zero exit is [`Error::CommandFailed`].
    pub fn run(&self, program: &str, args: &[&str], stdin: Option<&str>) -> Result<String, Error> {
        let out = self.output(program, args, stdin)?;
        if out.success {
            Ok(out.stdout)
        } else {
            Err(Error::CommandFailed {
                command: format!("{program} {}", args.join(" ")),
                stderr: out.stderr,
            })
        }
    }

    /// Whether `program` can be started (looked up on `PATH`, in the caller's namespace:
    /// binaries are the same in every network namespace).
    pub fn has(&self, program: &str) -> bool {
        let (binary, _) = resolve(program);
        find_in_path(&binary).is_some()
    }

    /// Reads a file as seen from the namespace (`/proc/net/...` differs per namespace).
    pub fn read_file(&self, path: &str) -> Result<String, Error> {
        match &self.netns {
            None => std::fs::read_to_string(path).map_err(|e| Error::Io {
                what: format!("reading {path}"),
                source: e,
            }),
            Some(_) => self.run("cat", &[path], None),
        }
    }
}

/// The binary to run for `program` (a full path when found), and an applet argument.
/// Minimal systems (busybox initramfs, containers) often ship only `xtables-nft-multi` /
/// `xtables-legacy-multi` without the `iptables-nft-save`-style links; the multi binary takes
/// the tool's name as its first argument.
fn resolve(program: &str) -> (String, Option<String>) {
    if let Some(p) = find_in_path(program) {
        return (p, None);
    }
    let multi = if program.starts_with("iptables-nft") || program.starts_with("ip6tables-nft") {
        "xtables-nft-multi"
    } else if program.starts_with("iptables-legacy") || program.starts_with("ip6tables-legacy") {
        "xtables-legacy-multi"
    } else {
        return (program.to_string(), None);
    };
    match find_in_path(multi) {
        // The multi binaries know the plain names (`iptables-save`, `ip6tables-restore`).
        Some(p) => (p, Some(program.replace("-nft", "").replace("-legacy", ""))),
        None => (program.to_string(), None),
    }
}

/// Looks `program` up on `PATH`, then in `/usr/sbin` and `/sbin` (firewall tools live there
/// and a non-root `PATH` often lacks them).
fn find_in_path(program: &str) -> Option<String> {
    if program.contains('/') {
        return std::path::Path::new(program)
            .exists()
            .then(|| program.to_string());
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
}

fn spawn_error(program: &str, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        missing(program)
    } else {
        Error::Io {
            what: format!("starting `{program}`"),
            source: e,
        }
    }
}

fn missing(program: &str) -> Error {
    let package = if program.starts_with("nft") {
        "nftables"
    } else if program.contains("tables") {
        "iptables"
    } else if program == "ip" {
        "iproute2"
    } else {
        "the package that provides it"
    };
    Error::MissingBinary {
        program: program.to_string(),
        package,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_binary_fallback() {
        // A tool link that does not exist resolves to the multi binary with an applet name.
        let (bin, applet) = resolve("iptables-nft-nosuchtool");
        if find_in_path("xtables-nft-multi").is_some() {
            assert!(bin.ends_with("xtables-nft-multi"), "{bin}");
            assert_eq!(applet.as_deref(), Some("iptables-nosuchtool"));
        } else {
            assert_eq!(applet, None);
        }
        let (bin, applet) = resolve("no-such-program-xyz");
        assert_eq!((bin.as_str(), applet), ("no-such-program-xyz", None));
        assert!(!Exec::host().has("no-such-program-xyz"));
        let e = Exec::host()
            .output("no-such-program-xyz", &[], None)
            .unwrap_err();
        assert!(matches!(e, Error::MissingBinary { .. }), "{e}");
    }
}
