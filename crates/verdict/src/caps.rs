//! Dropping Linux capabilities once the daemon is set up.
//!
//! After the queues are bound, the log files opened and the firewall rules installed, the
//! daemon needs only:
//! - `CAP_NET_ADMIN`: to remove its firewall rules on exit (iptables/nft talk netlink) and to
//!   rebind a queue;
//! - `CAP_NET_RAW`: iptables-legacy opens a raw socket to read and write its tables.
//!
//! Everything else (`CAP_SYS_ADMIN`, `CAP_DAC_OVERRIDE`, `CAP_SYS_MODULE`, ...) is removed from
//! the bounding set (so the `iptables` children started at exit cannot regain it) and from the
//! effective, permitted and inheritable sets. The process stays uid 0 so it can still read its
//! root-owned rule files on SIGHUP; the systemd unit (`dist/verdict.service`) applies the same
//! bounding set from the outside.

/// `CAP_NET_ADMIN`.
pub const CAP_NET_ADMIN: u32 = 12;
/// `CAP_NET_RAW`.
pub const CAP_NET_RAW: u32 = 13;
/// The capabilities kept after setup.
pub const KEPT: [u32; 2] = [CAP_NET_ADMIN, CAP_NET_RAW];

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// What [`drop_to_kept`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// Capabilities removed from the bounding set.
    pub bounding_dropped: u32,
    /// The permitted set afterwards (bit mask over capabilities 0..64).
    pub permitted: u64,
}

/// Keeps only [`KEPT`] (those of them the process has); drops every other capability from the
/// bounding, effective, permitted and inheritable sets of the calling process.
///
/// Capabilities are per thread on Linux: call this from the main thread after every other
/// thread that must keep full privileges has finished setup; threads spawned afterwards
/// inherit the reduced sets, threads spawned before keep theirs (Verdict's queue threads need
/// no capability to receive and give verdicts on an already bound socket).
pub fn drop_to_kept() -> std::io::Result<Dropped> {
    let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(40)
        .min(63);
    let mut bounding_dropped = 0;
    for cap in 0..=last {
        if KEPT.contains(&cap) {
            continue;
        }
        // SAFETY: prctl with PR_CAPBSET_READ/PR_CAPBSET_DROP takes plain integer arguments and
        // touches no memory of ours.
        let present = unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) };
        if present == 1 {
            // SAFETY: as above.
            let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
            if r != 0 {
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::EPERM) {
                    // No CAP_SETPCAP (not root): the bounding set cannot be changed, and a
                    // process without capabilities cannot gain them through it anyway.
                    break;
                }
                return Err(e);
            }
            bounding_dropped += 1;
        }
    }
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget writes two `CapData` structs (version 3 layout) into `data`, which is an
    // array of exactly two `#[repr(C)]` structs; the header is a valid `#[repr(C)]` struct.
    let r = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let keep: u64 = KEPT.iter().fold(0, |m, &c| m | (1u64 << c));
    let permitted = (u64::from(data[0].permitted) | (u64::from(data[1].permitted) << 32)) & keep;
    for (i, d) in data.iter_mut().enumerate() {
        let part = (permitted >> (32 * i)) as u32;
        d.permitted = part;
        d.effective = part;
        d.inheritable = 0;
    }
    // SAFETY: capset reads the header and two `CapData` structs, both valid `#[repr(C)]`
    // values owned by this frame.
    let r = unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(Dropped {
        bounding_dropped,
        permitted,
    })
}

/// The permitted set of the calling thread (bit mask), from `/proc/thread-self/status`.
#[cfg(test)]
pub fn current_permitted() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/thread-self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("CapPrm:"))?;
    u64::from_str_radix(line.trim_start_matches("CapPrm:").trim(), 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_all_but_kept_in_a_child_thread() {
        // Capabilities are per thread: run in a scratch thread so the test process keeps its own.
        std::thread::spawn(|| {
            let before = current_permitted().expect("readable status");
            let d = drop_to_kept().expect("capset to a subset is always allowed");
            let after = current_permitted().unwrap();
            let keep: u64 = KEPT.iter().fold(0, |m, &c| m | (1u64 << c));
            assert_eq!(after, before & keep);
            assert_eq!(d.permitted, after);
        })
        .join()
        .unwrap();
    }
}
