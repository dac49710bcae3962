//! The known-bug database: nf_queue kernel bugs, the kernels they affect, how they crash and
//! how to avoid them.
//!
//! # Design
//! The database is a `const` table ([`KNOWN_BUGS`]) of plain data, checked by the compiler and
//! extended by adding one [`KnownBug`] literal. Every fact carries whether it is confirmed:
//! an unconfirmed fact is still used, but every answer built on it says so.
//!
//! [`assess`] answers, for one kernel release and one bug, [`Status::Affected`],
//! [`Status::Fixed`], [`Status::NotAffected`] or [`Status::Unknown`], always with the reason.
//! It never guesses:
//! - upstream/stable numbering is compared with the mainline fix and the first fixed release
//!   of the same stable line; a line the database does not list is affected only when the bug's
//!   list of stable lines is complete ([`KnownBug::stable_lines_complete`]);
//! - Debian and Ubuntu strings carry an ABI number, not the upstream patch level: only a base
//!   version at or after the mainline fix decides (fixed); otherwise the answer is unknown,
//!   with the command that tells;
//! - RHEL/CentOS `elN` kernels are compared by build numbers against the recorded first fixed
//!   build of their family; a family without a record is unknown.

use std::cmp::Ordering;

use crate::kernel::{cmp_build, Flavor, KernelRelease, Version};

/// One known nf_queue kernel bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownBug {
    /// Short id: the first 12 hex digits of the upstream fix commit.
    pub id: &'static str,
    /// The upstream fix commit: the full hash where recorded, else its 12-digit prefix.
    pub commit: &'static str,
    /// The fix commit's subject line.
    pub title: &'static str,
    /// A CVE id, when one exists.
    pub cve: Option<&'static str>,
    /// What goes wrong, in one paragraph.
    pub summary: &'static str,
    /// The commit that introduced the bug, when known.
    pub introduced_by: Option<&'static str>,
    /// The first upstream version with the bug (`None`: long-standing / not recorded).
    pub introduced_in: Option<Version>,
    /// Whether `introduced_in` is confirmed.
    pub introduced_confirmed: bool,
    /// The first fixed mainline version.
    pub mainline_fix: Version,
    /// Whether `mainline_fix` is confirmed.
    pub mainline_fix_confirmed: bool,
    /// First fixed release per stable line.
    pub stable_fixes: &'static [StableFix],
    /// Whether `stable_fixes` lists every stable line that got the fix, so that an unlisted
    /// line between `introduced_in` and `mainline_fix` is known to be affected.
    pub stable_lines_complete: bool,
    /// First fixed build per distribution kernel family.
    pub distro_fixes: &'static [DistroFix],
    /// Whether Verdict's SYN-ACK guard (accepting locally generated SYN-ACKs before queue
    /// rules in OUTPUT/POSTROUTING) prevents it.
    pub syn_ack_guard_prevents: bool,
    /// Crash signatures, for `verdict triage`.
    pub signatures: &'static [CrashSignature],
    /// How to avoid it on an affected kernel.
    pub mitigation: &'static str,
}

/// The first fixed release of one upstream stable line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StableFix {
    /// The first fixed release (its `major.minor` names the line).
    pub first_fixed: Version,
    /// Whether this is confirmed.
    pub confirmed: bool,
}

/// A distribution kernel family's first fixed build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DistroFix {
    /// RHEL / CentOS / CentOS Stream `elN`: builds at or after `first_fixed_build` are fixed.
    RedHat {
        /// The `N` of `elN`.
        el: u32,
        /// The first fixed build numbers (`[373]` for `4.18.0-373.el8`), `None` when the
        /// family has the fix but the first build is not recorded.
        first_fixed_build: Option<&'static [u32]>,
        /// Where the data comes from, and what is not confirmed.
        note: &'static str,
        /// Whether `first_fixed_build` is confirmed.
        confirmed: bool,
    },
}

/// How a bug shows up in a kernel log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashSignature {
    /// A name for the signature (`request-socket sock_put from nf_reinject`).
    pub name: &'static str,
    /// Frames that must all be present in the call trace, **in this order from the innermost
    /// frame outwards** (other frames may sit between them).
    pub frames_in_order: &'static [&'static str],
    /// If set, the report must be of this kind (`BUG: KASAN: slab-out-of-bounds` etc.),
    /// matched against the report's headline.
    pub headline_contains: Option<&'static str>,
    /// If non-empty, at least one of these functions must be the faulting function (the
    /// RIP / KASAN function) or appear in the trace.
    pub any_of: &'static [&'static str],
    /// What this shape means.
    pub explanation: &'static str,
}

/// The answer for one kernel and one bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The kernel has the bug.
    Affected,
    /// The kernel has the fix.
    Fixed,
    /// The kernel predates the bug.
    NotAffected,
    /// The release string does not tell; see the reason.
    Unknown,
}

impl Status {
    /// Lower-case name (`affected`, `fixed`, `not affected`, `unknown`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Affected => "affected",
            Status::Fixed => "fixed",
            Status::NotAffected => "not affected",
            Status::Unknown => "unknown",
        }
    }
}

/// [`assess`]'s answer with its reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Assessment {
    /// The bug's id.
    pub bug: &'static str,
    /// The verdict.
    pub status: Status,
    /// Why, in one sentence.
    pub reason: String,
    /// Whether the answer rests on data marked unconfirmed.
    pub unconfirmed_data: bool,
}

const SIG_SEED_REUSEPORT: CrashSignature = CrashSignature {
    name: "request socket freed as a full socket (reuseport lock on garbage)",
    frames_in_order: &[
        "sk_destruct",
        "nf_queue_entry_release_refs",
        "nf_reinject",
    ],
    headline_contains: None,
    any_of: &[
        "reuseport_detach_sock",
        "bpf_sk_reuseport_detach",
        "queued_write_lock_slowpath",
        "__pv_queued_spin_lock_slowpath",
        "native_queued_spin_lock_slowpath",
    ],
    explanation: "nf_reinject() released the queued packet's socket reference with sock_put(); the socket was a TCP request socket (TCP_NEW_SYN_RECV, a locally generated SYN-ACK), so sk_destruct() read sk_reuseport_cb far past its end and took a lock in a bogus reuseport group",
};

const SIG_KASAN_SK_FREE: CrashSignature = CrashSignature {
    name: "KASAN: out-of-bounds access in sk_free() from nf_queue",
    frames_in_order: &["sk_free", "nf_reinject"],
    headline_contains: Some("KASAN"),
    any_of: &["sk_free", "__sk_free", "sk_destruct", "__sk_destruct"],
    explanation: "KASAN caught sk_free() touching memory past the end of a TCP request socket (sk_wmem_alloc at offset 0x144 of a 0x148-byte tcp_request_sock, or beyond) while nf_queue released the socket it held for a queued SYN-ACK",
};

const SIG_RELEASE_REFS_SK_FREE: CrashSignature = CrashSignature {
    name: "request socket freed as a full socket (generic)",
    frames_in_order: &["sk_free", "nf_queue_entry_release_refs"],
    headline_contains: None,
    any_of: &[],
    explanation: "nf_queue_entry_release_refs() dropped the last reference of the queued packet's socket with sock_put() and sk_free() treated it as a full socket; for a locally generated SYN-ACK that socket is a request socket",
};

const SIG_UAF_QUEUE_ENTRY: CrashSignature = CrashSignature {
    name: "use-after-free of a queued packet's socket or device",
    frames_in_order: &["nf_queue_entry_get_refs", "__nf_queue"],
    headline_contains: Some("use-after-free"),
    any_of: &[],
    explanation: "__nf_queue() took references on the packet's socket or devices after they could already be freed",
};

const SIG_INSTANCE_DESTROY: CrashSignature = CrashSignature {
    name: "RCU warning or crash in instance_destroy_rcu",
    frames_in_order: &["instance_destroy_rcu"],
    headline_contains: None,
    any_of: &["nfqnl_flush", "nf_reinject", "instance_destroy_rcu"],
    explanation: "an nfnetlink_queue instance was destroyed from an RCU callback without rcu_read_lock() while packets were being reinjected",
};

/// Every known bug; the first is the seed's.
pub const KNOWN_BUGS: &[KnownBug] = &[
    KnownBug {
        id: "747670fd9a2d",
        commit: "747670fd9a2d1b7774030dba65ca022ba442ce71",
        title: "netfilter: nf_queue: don't assume sk is full socket",
        cve: None,
        summary: "A locally generated SYN-ACK carries a TCP request socket (TCP_NEW_SYN_RECV), not a full socket. While the SYN-ACK sits in an NFQUEUE queued from OUTPUT or POSTROUTING, nf_queue holds a reference on it; if that is the last reference (the handshake completed and accept() ran, or all SYN-ACK retransmissions timed out), the verdict's sock_put() frees it as a full socket: sk_free()/sk_destruct() read and write past the end of the request socket, crashing the kernel (seen on CentOS 8 4.18.0-305.3.1.el8) or leaking the request socket.",
        introduced_by: Some("ca6fb0651883 (tcp: attach SYNACK messages to request sockets instead of listener)"),
        introduced_in: Some(Version::new(4, 4, 0)),
        introduced_confirmed: false,
        mainline_fix: Version::rc(5, 17, 7),
        mainline_fix_confirmed: true,
        stable_fixes: &[
            StableFix { first_fixed: Version::new(5, 16, 13), confirmed: true },
            StableFix { first_fixed: Version::new(5, 15, 27), confirmed: true },
            StableFix { first_fixed: Version::new(5, 10, 104), confirmed: true },
            StableFix { first_fixed: Version::new(5, 4, 183), confirmed: true },
            StableFix { first_fixed: Version::new(4, 19, 233), confirmed: true },
            StableFix { first_fixed: Version::new(4, 14, 270), confirmed: true },
            StableFix { first_fixed: Version::new(4, 9, 305), confirmed: true },
        ],
        stable_lines_complete: true,
        distro_fixes: &[
            DistroFix::RedHat {
                el: 8,
                first_fixed_build: Some(&[373]),
                note: "CentOS Stream 8 4.18.0-373.el8, per the seed's analysis; the first RHEL 8 minor with it is unconfirmed (probably 8.7, 4.18.0-425; 8.6 GA is 4.18.0-372.9.1); z-stream backports are not recorded",
                confirmed: true,
            },
            DistroFix::RedHat {
                el: 9,
                first_fixed_build: None,
                note: "CentOS Stream 9 has the backport (Red Hat bz 2060092); the first el9 build carrying it is not recorded",
                confirmed: false,
            },
        ],
        syn_ack_guard_prevents: true,
        signatures: &[SIG_SEED_REUSEPORT, SIG_KASAN_SK_FREE, SIG_RELEASE_REFS_SK_FREE],
        mitigation: "Do not queue locally generated SYN-ACKs: before every NFQUEUE rule in OUTPUT or POSTROUTING, in the same table and chain, accept them (`iptables -t <table> -I <CHAIN> -p tcp --tcp-flags SYN,ACK SYN,ACK -j ACCEPT`, the same with ip6tables; nft: `tcp flags & (syn | ack) == syn | ack accept` before the `queue` statement) -- Verdict's firewall installer does this itself. Or queue only from PREROUTING, INPUT or FORWARD. Upgrade to a fixed kernel. --queue-bypass, fail-open, --queue-cpu-fanout and faster verdicts do NOT help.",
    },
    KnownBug {
        id: "c3873070247d",
        commit: "c3873070247d",
        title: "netfilter: nf_queue: fix possible use-after-free",
        cve: None,
        summary: "__nf_queue() took references on the packet's socket and devices with a plain refcount increment although they could already be on their way to being freed, a possible use-after-free while packets are queued.",
        introduced_by: None,
        introduced_in: None,
        introduced_confirmed: false,
        mainline_fix: Version::rc(5, 17, 7),
        mainline_fix_confirmed: true,
        stable_fixes: &[
            StableFix { first_fixed: Version::new(5, 16, 13), confirmed: true },
            StableFix { first_fixed: Version::new(5, 15, 27), confirmed: true },
            StableFix { first_fixed: Version::new(5, 10, 104), confirmed: true },
            StableFix { first_fixed: Version::new(5, 4, 183), confirmed: true },
            StableFix { first_fixed: Version::new(4, 19, 233), confirmed: true },
            StableFix { first_fixed: Version::new(4, 14, 270), confirmed: true },
            StableFix { first_fixed: Version::new(4, 9, 305), confirmed: true },
        ],
        stable_lines_complete: true,
        distro_fixes: &[],
        syn_ack_guard_prevents: false,
        signatures: &[SIG_UAF_QUEUE_ENTRY],
        mitigation: "Upgrade the kernel. Queueing less traffic narrows the window; there is no rule-level workaround.",
    },
    KnownBug {
        id: "3b836da4081f",
        commit: "3b836da4081f",
        title: "netfilter: nf_queue: handle socket prefetch",
        cve: None,
        summary: "With BPF socket assignment (bpf_sk_assign / socket prefetch), a packet can reference a socket without holding a reference; nf_queue queued it and left RCU protection, so skb->sk could be freed while queued.",
        introduced_by: Some("cf7fbe660f2d (bpf: Add socket assign support)"),
        introduced_in: Some(Version::new(5, 7, 0)),
        introduced_confirmed: false,
        mainline_fix: Version::rc(5, 17, 7),
        mainline_fix_confirmed: true,
        stable_fixes: &[
            StableFix { first_fixed: Version::new(5, 16, 13), confirmed: true },
            StableFix { first_fixed: Version::new(5, 15, 27), confirmed: true },
            StableFix { first_fixed: Version::new(5, 10, 104), confirmed: true },
        ],
        stable_lines_complete: true,
        distro_fixes: &[],
        syn_ack_guard_prevents: false,
        signatures: &[],
        mitigation: "Upgrade the kernel, or do not combine BPF socket assignment (tc/XDP programs calling bpf_sk_assign) with NFQUEUE.",
    },
    KnownBug {
        id: "dc21c6cc3d69",
        commit: "dc21c6cc3d69",
        title: "netfilter: nfnetlink_queue: acquire rcu_read_lock() in instance_destroy_rcu()",
        cve: Some("CVE-2024-36286"),
        summary: "instance_destroy_rcu() flushed queued packets and reinjected them without holding rcu_read_lock(), which the reinject path needs: RCU warnings and possible use-after-free when a queue is unbound while packets are queued.",
        introduced_by: None,
        introduced_in: None,
        introduced_confirmed: false,
        mainline_fix: Version::new(6, 10, 0),
        mainline_fix_confirmed: false,
        stable_fixes: &[],
        stable_lines_complete: false,
        distro_fixes: &[],
        syn_ack_guard_prevents: false,
        signatures: &[SIG_INSTANCE_DESTROY],
        mitigation: "Upgrade the kernel. Avoid unbinding queues (stopping the daemon) while packets are queued: give every pending packet its verdict before closing the queue, as Verdict does on a graceful stop.",
    },
    KnownBug {
        id: "7d8dc1c7be8d",
        commit: "7d8dc1c7be8d",
        title: "netfilter: nf_queue: drop packets with cloned unconfirmed conntracks",
        cve: None,
        summary: "Bridged or multicast packets cloned while their conntrack entry is still unconfirmed could be queued, and reinjecting them raced with the other clone's confirmation, corrupting conntrack state.",
        introduced_by: None,
        introduced_in: None,
        introduced_confirmed: false,
        mainline_fix: Version::new(6, 11, 0),
        mainline_fix_confirmed: false,
        stable_fixes: &[],
        stable_lines_complete: false,
        distro_fixes: &[],
        syn_ack_guard_prevents: false,
        signatures: &[],
        mitigation: "Upgrade the kernel, or do not queue bridged/multicast traffic (e.g. br_netfilter with NFQUEUE) on an unfixed kernel.",
    },
];

/// The bug with this id (a prefix of at least 7 hex digits of the fix commit, or the CVE).
pub fn find(id: &str) -> Option<&'static KnownBug> {
    let id = id.trim().to_ascii_lowercase();
    KNOWN_BUGS.iter().find(|b| {
        (id.len() >= 7 && b.commit.starts_with(&id))
            || b.cve.is_some_and(|c| c.eq_ignore_ascii_case(&id))
    })
}

/// Assesses every known bug for a kernel.
pub fn assess_all(kernel: &KernelRelease) -> Vec<Assessment> {
    KNOWN_BUGS.iter().map(|b| assess(b, kernel)).collect()
}

/// Assesses one bug for one kernel; see the module docs for the rules.
pub fn assess(bug: &KnownBug, kernel: &KernelRelease) -> Assessment {
    let (status, reason, unconfirmed) = decide(bug, kernel);
    Assessment {
        bug: bug.id,
        status,
        reason,
        unconfirmed_data: unconfirmed,
    }
}

fn decide(bug: &KnownBug, k: &KernelRelease) -> (Status, String, bool) {
    let v = k.version;
    match &k.flavor {
        Flavor::Upstream { .. } => decide_upstream(bug, v),
        Flavor::Debian { abi, .. } => decide_abi(bug, v, "Debian", &abi.to_string(), k),
        Flavor::Ubuntu { abi, .. } => decide_abi(bug, v, "Ubuntu", &abi.to_string(), k),
        Flavor::RedHat { el, build, .. } => decide_redhat(bug, k, *el, build),
        Flavor::Vendor { vendor, .. } => match decide_upstream(bug, v) {
            (s @ (Status::Fixed | Status::NotAffected), why, unconfirmed) => (s, why, unconfirmed),
            (_, why, unconfirmed) => (
                Status::Unknown,
                format!(
                    "{vendor} kernels carry backports under stable numbering: by the numbers alone, {why}; check the kernel package's changelog for \"{}\"",
                    bug.title
                ),
                unconfirmed,
            ),
        },
    }
}

fn decide_upstream(bug: &KnownBug, v: Version) -> (Status, String, bool) {
    let mf = bug.mainline_fix;
    // A version on a line at or after the mainline fix's line: compare as a mainline version.
    if v.line() > mf.line() || (v.line() == mf.line() && v >= mf) {
        return (
            Status::Fixed,
            format!("{v} is at or after the mainline fix ({mf})"),
            !bug.mainline_fix_confirmed,
        );
    }
    if v.line() == mf.line() {
        // An rc before the fixing rc.
        return (
            Status::Affected,
            format!("{v} is a release candidate before the mainline fix ({mf})"),
            false,
        );
    }
    if let Some(intro) = bug.introduced_in {
        if v.line() < intro.line() {
            let why = format!(
                "{v} predates {}.{} where the bug was introduced{}",
                intro.major,
                intro.minor,
                if bug.introduced_confirmed {
                    ""
                } else {
                    " (unconfirmed)"
                }
            );
            return if bug.introduced_confirmed {
                (Status::NotAffected, why, false)
            } else {
                (Status::Unknown, why, true)
            };
        }
    }
    match bug
        .stable_fixes
        .iter()
        .find(|f| f.first_fixed.line() == v.line())
    {
        Some(f) if v >= f.first_fixed => (
            Status::Fixed,
            format!(
                "{v} is at or after {}, the first fixed release of the {}.{}.y line",
                f.first_fixed,
                v.major,
                v.minor
            ),
            !f.confirmed,
        ),
        Some(f) => (
            Status::Affected,
            format!(
                "{v} is before {}, the first fixed release of the {}.{}.y line",
                f.first_fixed, v.major, v.minor
            ),
            !f.confirmed,
        ),
        None if bug.stable_lines_complete => (
            Status::Affected,
            format!(
                "{v} is before the mainline fix ({mf}) and no {}.{}.y stable release carries the fix",
                v.major, v.minor
            ),
            false,
        ),
        None => (
            Status::Unknown,
            format!(
                "{v} is before the mainline fix ({mf}) and the database does not record whether the {}.{}.y line got the fix",
                v.major, v.minor
            ),
            true,
        ),
    }
}

fn decide_abi(
    bug: &KnownBug,
    v: Version,
    distro: &str,
    abi: &str,
    k: &KernelRelease,
) -> (Status, String, bool) {
    let mf = bug.mainline_fix;
    if v.line() > mf.line() || (v.line() == mf.line() && mf.rc.is_some()) {
        return (
            Status::Fixed,
            format!(
                "{distro}'s {}.{} line is based on upstream {}.{}, which is after the mainline fix ({mf})",
                v.major, v.minor, v.major, v.minor
            ),
            false,
        );
    }
    if let Some(intro) = bug.introduced_in {
        if v.line() < intro.line() && bug.introduced_confirmed {
            return (
                Status::NotAffected,
                format!("{v} predates the bug ({intro})"),
                false,
            );
        }
    }
    (
        Status::Unknown,
        format!(
            "{distro} ABI number {abi} of `{}` does not tell the upstream patch level of its {}.{} base; check the package changelog for \"{}\" (e.g. `apt changelog linux-image-{}` or /usr/share/doc/linux-image-*/changelog.Debian.gz)",
            k.raw, v.major, v.minor, bug.title, k.raw
        ),
        false,
    )
}

fn decide_redhat(
    bug: &KnownBug,
    k: &KernelRelease,
    el: u32,
    build: &[u32],
) -> (Status, String, bool) {
    let v = k.version;
    // RHEL bases older than the mainline fix get fixes only as backports.
    if v.line() > bug.mainline_fix.line() {
        return (
            Status::Fixed,
            format!(
                "the el{el} base {}.{} is after the mainline fix ({})",
                v.major, v.minor, bug.mainline_fix
            ),
            false,
        );
    }
    let record = bug.distro_fixes.iter().find_map(|d| match d {
        DistroFix::RedHat {
            el: e,
            first_fixed_build,
            note,
            confirmed,
        } if *e == el => Some((*first_fixed_build, *note, *confirmed)),
        _ => None,
    });
    let build_s = build
        .iter()
        .map(|b| b.to_string())
        .collect::<Vec<_>>()
        .join(".");
    match record {
        Some((Some(first), note, confirmed)) => {
            let first_s = first
                .iter()
                .map(|b| b.to_string())
                .collect::<Vec<_>>()
                .join(".");
            match cmp_build(build, first) {
                Ordering::Less => (
                    Status::Affected,
                    format!(
                        "el{el} build {build_s} is before {first_s}, the first el{el} build with the fix ({note})"
                    ),
                    !confirmed,
                ),
                _ => (
                    Status::Fixed,
                    format!(
                        "el{el} build {build_s} is at or after {first_s}, the first el{el} build with the fix ({note})"
                    ),
                    !confirmed,
                ),
            }
        }
        Some((None, note, _)) => (
            Status::Unknown,
            format!("el{el}: {note}; check `rpm -q --changelog kernel | grep -F \"{}\"`", bug.title),
            true,
        ),
        None => (
            Status::Unknown,
            format!(
                "the database has no record of {} for el{el} kernels; check `rpm -q --changelog kernel | grep -F \"{}\"`",
                bug.id, bug.title
            ),
            false,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(release: &str, id: &str) -> Status {
        let k = KernelRelease::parse(release).unwrap();
        assess(find(id).unwrap(), &k).status
    }

    /// The table of real release strings: (release, expected status for 747670fd9a2d).
    const TABLE: &[(&str, Status)] = &[
        // The seed's kernel and the Stream 8 fix.
        ("4.18.0-305.3.1.el8.x86_64", Status::Affected),
        ("4.18.0-305.3.1.el8_4.x86_64", Status::Affected),
        ("4.18.0-348.el8.x86_64", Status::Affected),
        ("4.18.0-372.9.1.el8.x86_64", Status::Affected),
        ("4.18.0-373.el8.x86_64", Status::Fixed),
        ("4.18.0-425.3.1.el8.x86_64", Status::Fixed),
        ("4.18.0-553.el8_10.x86_64", Status::Fixed),
        // el7: no data; el9: fix present but first build not recorded.
        ("3.10.0-1160.el7.x86_64", Status::Unknown),
        ("5.14.0-70.13.1.el9_0.x86_64", Status::Unknown),
        ("5.14.0-362.8.1.el9_3.x86_64", Status::Unknown),
        // Upstream stable lines.
        ("5.10.103", Status::Affected),
        ("5.10.104", Status::Fixed),
        ("5.10.200", Status::Fixed),
        ("5.15.26", Status::Affected),
        ("5.15.27", Status::Fixed),
        ("5.16.12", Status::Affected),
        ("5.16.13", Status::Fixed),
        ("5.4.182", Status::Affected),
        ("5.4.183", Status::Fixed),
        ("4.19.232", Status::Affected),
        ("4.19.233", Status::Fixed),
        ("4.14.270", Status::Fixed),
        ("4.9.304", Status::Affected),
        ("4.9.305", Status::Fixed),
        ("5.11.22", Status::Affected),
        ("5.17.0", Status::Fixed),
        ("5.17.0-rc6", Status::Affected),
        ("5.17.0-rc7", Status::Fixed),
        ("6.1.192", Status::Fixed),
        ("6.18.44-fc-v669", Status::Fixed),
        ("5.10.103-custom+", Status::Affected),
        ("4.1.52", Status::Unknown),
        // Debian and Ubuntu: decided only when the base is after the mainline fix.
        ("6.1.0-13-amd64", Status::Fixed),
        ("6.1.0-0.deb11.13-amd64", Status::Fixed),
        ("5.10.0-21-amd64", Status::Unknown),
        ("4.19.0-18-amd64", Status::Unknown),
        ("5.15.0-91-generic", Status::Unknown),
        ("5.4.0-150-generic", Status::Unknown),
        ("6.8.0-45-generic", Status::Fixed),
        // Other vendors: numbers are a floor.
        ("5.4.17-2136.307.3.1.el8uek.x86_64", Status::Unknown),
        ("5.15.0-200.131.27.el9uek.x86_64", Status::Unknown),
        ("4.14.336-257.562.amzn2.x86_64", Status::Fixed),
        ("4.14.262-200.489.amzn2.x86_64", Status::Unknown),
        ("6.5.6-300.fc39.x86_64", Status::Fixed),
        ("5.14.21-150400.24.46-default", Status::Unknown),
        ("5.19.0-50-generic", Status::Fixed),
    ];

    #[test]
    fn release_table_for_747670fd9a2d() {
        for (release, want) in TABLE {
            assert_eq!(status(release, "747670fd9a2d"), *want, "{release}");
        }
    }

    #[test]
    fn this_machine_is_decided() {
        let k = KernelRelease::running().unwrap();
        let a = assess(&KNOWN_BUGS[0], &k);
        assert_ne!(a.status, Status::Affected, "{k}: {}", a.reason);
    }

    #[test]
    fn other_bugs() {
        assert_eq!(status("5.10.103", "c3873070247d"), Status::Affected);
        assert_eq!(status("5.10.104", "3b836da4081f"), Status::Fixed);
        assert_eq!(status("5.4.100", "3b836da4081f"), Status::Unknown);
        assert_eq!(status("6.9.1", "CVE-2024-36286"), Status::Unknown);
        assert_eq!(status("6.10.0", "dc21c6cc3d69"), Status::Fixed);
    }

    #[test]
    fn reasons_mention_the_data() {
        let k = KernelRelease::parse("4.18.0-305.3.1.el8.x86_64").unwrap();
        let a = assess(&KNOWN_BUGS[0], &k);
        assert!(a.reason.contains("373"), "{}", a.reason);
        let k = KernelRelease::parse("5.15.0-91-generic").unwrap();
        let a = assess(&KNOWN_BUGS[0], &k);
        assert!(a.reason.contains("ABI number 91"), "{}", a.reason);
    }

    #[test]
    fn database_is_consistent() {
        for b in KNOWN_BUGS {
            assert!(b.commit.starts_with(b.id), "{}", b.id);
            assert_eq!(b.id.len(), 12);
            for f in b.stable_fixes {
                assert!(f.first_fixed.line() < b.mainline_fix.line(), "{}", b.id);
            }
        }
    }
}
