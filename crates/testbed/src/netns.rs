//! [`Netns`]: one network namespace, owned, deleted on drop.

use std::ffi::OsStr;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::JoinHandle;

use crate::{Error, Result};

/// Where `ip netns` keeps the bind mounts that name namespaces.
const NETNS_DIR: &str = "/var/run/netns";

static NEXT_ID: AtomicU32 = AtomicU32::new(0);

/// A network namespace created for a test, deleted (with everything in it) on drop.
///
/// The name is `vt-<pid>-<n>`: unique among the tests of one process (counter) and among
/// concurrent test processes (pid). The loopback interface is up and IPv6 duplicate address
/// detection is off, so addresses are usable as soon as they are added.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates a fresh namespace with `lo` up.
    pub fn new() -> Result<Netns> {
        let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let name = format!("vt-{}-{}", std::process::id(), n);
        run_checked(Command::new("ip").args(["netns", "add", &name]))?;
        // From here on, Drop deletes it even if the set-up below fails.
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        ns.sh("echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad; \
             echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad")?;
        Ok(ns)
    }

    /// The namespace's name, as `ip netns` knows it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The path of the namespace's bind mount (`/var/run/netns/<name>`), usable with `setns`.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(NETNS_DIR).join(&self.name)
    }

    /// A [`Command`] that runs `program` inside this namespace (`ip netns exec <name> ...`).
    ///
    /// Add arguments and run it as you like; [`Netns::run`] is the checked shortcut.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).arg(program);
        cmd
    }

    /// Runs `argv` inside the namespace, waits, and returns its stdout; a non-zero exit is an
    /// [`Error::Failed`] carrying stderr.
    pub fn run(&self, argv: &[&str]) -> Result<String> {
        let (program, args) = argv.split_first().ok_or_else(|| Error::Io {
            what: "Netns::run needs a program".into(),
            source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
        })?;
        let out = run_checked(self.command(program).args(args))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs a shell script (`sh -c`) inside the namespace and returns its stdout.
    pub fn sh(&self, script: &str) -> Result<String> {
        self.run(&["sh", "-c", script])
    }

    /// Runs `ip -n <name> <args>` (no exec into the namespace needed) and returns its stdout.
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        let out = run_checked(Command::new("ip").args(["-n", &self.name]).args(args))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs `iptables -w <args>` inside the namespace (IPv4 rules).
    pub fn iptables(&self, args: &[&str]) -> Result<String> {
        self.firewall("iptables", args)
    }

    /// Runs `ip6tables -w <args>` inside the namespace (IPv6 rules).
    pub fn ip6tables(&self, args: &[&str]) -> Result<String> {
        self.firewall("ip6tables", args)
    }

    /// Runs the same rule with `iptables` and `ip6tables` (for tests done on both families).
    pub fn iptables_both(&self, args: &[&str]) -> Result<()> {
        self.iptables(args)?;
        self.ip6tables(args)?;
        Ok(())
    }

    /// Runs `nft <args>` inside the namespace.
    pub fn nft(&self, args: &[&str]) -> Result<String> {
        self.firewall("nft", args)
    }

    /// The packet counter of the rule tagged `-m comment --comment <comment>` in `table`
    /// (IPv6 rules when `ipv6`), read with `iptables-save -c`.
    ///
    /// Tag the rules a test checks with a comment; this is sturdier than parsing `-L` output.
    pub fn rule_packets(&self, ipv6: bool, table: &str, comment: &str) -> Result<u64> {
        let tool = if ipv6 {
            "ip6tables-save"
        } else {
            "iptables-save"
        };
        let dump = self.run(&[tool, "-c", "-t", table])?;
        let needle = format!("--comment {comment} ");
        let quoted = format!("--comment \"{comment}\" ");
        let line = dump
            .lines()
            .find(|l| {
                l.contains(&needle)
                    || l.contains(&quoted)
                    || l.ends_with(&needle[..needle.len() - 1])
            })
            .ok_or_else(|| Error::Io {
                what: format!("no rule with comment {comment:?} in {tool} -t {table}:\n{dump}"),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            })?;
        line.strip_prefix('[')
            .and_then(|rest| rest.split(':').next())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| Error::Io {
                what: format!("unexpected {tool} line: {line}"),
                source: std::io::Error::from(std::io::ErrorKind::InvalidData),
            })
    }

    fn firewall(&self, tool: &str, args: &[&str]) -> Result<String> {
        let mut argv = vec![tool];
        // `-w`: wait for the xtables lock instead of failing when parallel tests collide.
        if tool != "nft" {
            argv.push("-w");
        }
        argv.extend_from_slice(args);
        self.run(&argv)
    }

    /// Writes a sysctl of this namespace, e.g. `sysctl("net/ipv4/ip_forward", "1")`.
    ///
    /// `key` is the path below `/proc/sys`, with `/` or `.` as separator.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        self.run(&["sh", "-c", "echo \"$1\" > \"$2\"", "sh", value, &path])?;
        Ok(())
    }

    /// Turns IPv4 and IPv6 forwarding on in this namespace.
    pub fn enable_forwarding(&self) -> Result<()> {
        self.sh("echo 1 > /proc/sys/net/ipv4/ip_forward; \
             echo 1 > /proc/sys/net/ipv6/conf/all/forwarding")?;
        Ok(())
    }

    /// Reads a file as seen from inside the namespace (for example
    /// `/proc/net/netfilter/nfnetlink_queue`, whose content depends on the namespace).
    pub fn read_file(&self, path: &str) -> Result<String> {
        self.run(&["cat", path])
    }

    /// Adds an address (`198.18.0.1/24` or `2001:db8::1/64`) to `ifname`. IPv6 addresses get
    /// `nodad`, so they are usable immediately.
    pub fn add_addr(&self, ifname: &str, cidr: &str) -> Result<()> {
        if cidr.contains(':') {
            self.ip(&["-6", "addr", "add", cidr, "dev", ifname, "nodad"])?;
        } else {
            self.ip(&["addr", "add", cidr, "dev", ifname])?;
        }
        Ok(())
    }

    /// Sets `ifname` up.
    pub fn link_up(&self, ifname: &str) -> Result<()> {
        self.ip(&["link", "set", ifname, "up"])?;
        Ok(())
    }

    /// Sets the MTU of `ifname`.
    pub fn set_mtu(&self, ifname: &str, mtu: u32) -> Result<()> {
        self.ip(&["link", "set", ifname, "mtu", &mtu.to_string()])?;
        Ok(())
    }

    /// Adds a default route via `gateway` (an IPv4 or IPv6 address).
    pub fn default_route(&self, gateway: &str) -> Result<()> {
        if gateway.contains(':') {
            self.ip(&["-6", "route", "add", "default", "via", gateway])?;
        } else {
            self.ip(&["route", "add", "default", "via", gateway])?;
        }
        Ok(())
    }

    /// Starts `argv` in the background inside the namespace. The returned guard kills and reaps
    /// it when dropped. stdout and stderr are captured (see [`ChildGuard::finish`]).
    pub fn spawn(&self, argv: &[&str]) -> Result<ChildGuard> {
        let (program, args) = argv.split_first().ok_or_else(|| Error::Io {
            what: "Netns::spawn needs a program".into(),
            source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
        })?;
        let mut cmd = self.command(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd.spawn().map_err(|source| Error::Spawn {
            command: describe(&cmd),
            source,
        })?;
        Ok(ChildGuard {
            child: Some(child),
            command: describe(&cmd),
        })
    }

    /// Moves the **calling thread** into this namespace, for good.
    ///
    /// Only sockets opened afterwards belong to the namespace. Prefer [`Netns::run_in`] or
    /// [`Netns::spawn_thread`], which do this on a thread of their own; call this directly only
    /// on a thread you created for the purpose.
    pub fn enter_current_thread(&self) -> Result<()> {
        let file = File::open(self.path()).map_err(|source| self.enter_error(source))?;
        setns_net(&file).map_err(|source| self.enter_error(source))
    }

    /// Runs `f` on a new thread that entered this namespace, waits for it and returns its
    /// result. `f` may borrow from the caller. A panic in `f` is resumed on the caller.
    pub fn run_in<F, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let file = File::open(self.path()).map_err(|source| self.enter_error(source))?;
        std::thread::scope(|scope| {
            let handle = scope.spawn(move || setns_net(&file).map(|()| f()));
            match handle.join() {
                Ok(Ok(r)) => Ok(r),
                Ok(Err(source)) => Err(self.enter_error(source)),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// Spawns a `'static` thread that entered this namespace and runs `f`.
    ///
    /// Returns once the thread is inside the namespace (or failed to get there), so an error to
    /// enter is reported here and not hidden in the join.
    pub fn spawn_thread<F, R>(&self, f: F) -> Result<JoinHandle<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let file = File::open(self.path()).map_err(|source| self.enter_error(source))?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<()>>(1);
        let handle = std::thread::Builder::new()
            .name(format!("netns-{}", self.name))
            .spawn(move || {
                let entered = setns_net(&file);
                drop(file);
                let ok = entered.is_ok();
                let _ = tx.send(entered);
                if !ok {
                    // Never run `f` outside the namespace. The caller gets the error from the
                    // channel; end this thread by a quiet unwind (no panic hook, no message).
                    std::panic::resume_unwind(Box::new("setns failed"));
                }
                f()
            })
            .map_err(|source| Error::Io {
                what: "spawning a thread".into(),
                source,
            })?;
        match rx.recv() {
            Ok(Ok(())) => Ok(handle),
            Ok(Err(source)) => {
                let _ = handle.join();
                Err(self.enter_error(source))
            }
            Err(_) => {
                let _ = handle.join();
                Err(self.enter_error(std::io::Error::other("thread died before setns")))
            }
        }
    }

    fn enter_error(&self, source: std::io::Error) -> Error {
        Error::Enter {
            name: self.name.clone(),
            source,
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace destroys its interfaces (veth peers included), addresses,
        // routes and firewall rules. Errors cannot be returned from Drop; say them.
        match Command::new("ip")
            .args(["netns", "del", &self.name])
            .output()
        {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "testbed: `ip netns del {}` failed: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => eprintln!("testbed: `ip netns del {}`: {e}", self.name),
        }
    }
}

/// Creates a veth pair: `a_if` inside `a`, its peer `b_if` inside `b`, both set up.
///
/// The pair lives inside the namespaces only (never in the host's), and disappears when
/// either namespace is deleted.
pub fn veth_pair(a: &Netns, a_if: &str, b: &Netns, b_if: &str) -> Result<()> {
    a.ip(&[
        "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", &b.name,
    ])?;
    a.link_up(a_if)?;
    b.link_up(b_if)?;
    Ok(())
}

/// A background process started by [`Netns::spawn`]; killed and reaped on drop.
#[derive(Debug)]
pub struct ChildGuard {
    child: Option<Child>,
    command: String,
}

impl ChildGuard {
    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`), waits for the process to exit and returns its
    /// captured output (whatever its exit status).
    pub fn finish(mut self, signal: i32) -> Result<Output> {
        let Some(child) = self.child.take() else {
            return Err(Error::Io {
                what: format!("`{}` was already reaped", self.command),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        };
        send_signal(&child, signal);
        child.wait_with_output().map_err(|source| Error::Io {
            what: format!("waiting for `{}`", self.command),
            source,
        })
    }

    /// Whether the process has already exited (without reaping its output).
    pub fn has_exited(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => !matches!(c.try_wait(), Ok(None)),
            None => true,
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn send_signal(child: &Child, signal: i32) {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        return;
    };
    // SAFETY: kill(2) takes plain integers; the pid is our own child that has not been reaped
    // yet (we own the `Child`), so it cannot name an unrelated, recycled process.
    unsafe {
        libc::kill(pid, signal);
    }
}

fn setns_net(file: &File) -> std::io::Result<()> {
    // SAFETY: setns(2) gets a file descriptor that stays open (borrowed from `file`) for the
    // whole call and a constant namespace type; it only changes the calling thread's network
    // namespace and touches no memory of ours.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs a command to completion, turning a spawn failure or non-zero exit into an [`Error`].
pub(crate) fn run_checked(cmd: &mut Command) -> Result<Output> {
    let out = cmd.output().map_err(|source| Error::Spawn {
        command: describe(cmd),
        source,
    })?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(Error::Failed {
            command: describe(cmd),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}
