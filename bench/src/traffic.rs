//! The traffic programs, each run as its own process inside a namespace (`verdict-bench send`,
//! `sink`, `ping`, `tcp-send`), pinned to a CPU by the harness with `taskset`.
//!
//! Each prints one JSON object on stdout when it ends; the harness parses it. Separate
//! processes (rather than threads of the harness) so that pinning, namespaces and CPU
//! accounting are per program, and a stuck program is killed by its guard.
//!
//! Sizes are IP packet sizes: a "64-byte packet" is a 64-byte IPv4 datagram (20 bytes IP + 8
//! bytes UDP + 36 bytes payload).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// IPv4 + UDP header bytes.
pub const UDP_OVERHEAD: usize = 28;
/// Messages per `sendmmsg`/`recvmmsg` call.
const BATCH: usize = 64;
/// Pacing granularity of the rate-limited sender.
const TICK: Duration = Duration::from_micros(100);

/// What `verdict-bench send` reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendReport {
    /// Datagrams the kernel accepted from `sendmmsg`.
    pub sent: u64,
    /// Seconds from the first to the last send.
    pub secs: f64,
    /// `sendmmsg` calls that failed (ENOBUFS and the like), each retried.
    pub errors: u64,
}

/// Floods `dst` with UDP datagrams of IP size `size` at `rate` packets/s (0: as fast as
/// possible) for `duration`, with `sendmmsg`.
pub fn send(dst: SocketAddr, size: usize, rate: u64, duration: Duration) -> Result<SendReport> {
    if !(UDP_OVERHEAD + 1..=1472 + UDP_OVERHEAD).contains(&size) {
        bail!("packet size {size} out of range: use 29..=1500 (IP bytes)");
    }
    let sock = UdpSocket::bind("0.0.0.0:0").context("binding the sender socket")?;
    sock.connect(dst)
        .with_context(|| format!("connecting to {dst}"))?;
    set_buffer(&sock, libc::SO_SNDBUF, 4 << 20);
    let payload: Vec<u8> = b"verdict-bench payload "
        .iter()
        .copied()
        .cycle()
        .take(size - UDP_OVERHEAD)
        .collect();
    let mut iov: Vec<libc::iovec> = (0..BATCH)
        .map(|_| libc::iovec {
            iov_base: payload.as_ptr() as *mut libc::c_void,
            iov_len: payload.len(),
        })
        .collect();
    // SAFETY: mmsghdr is plain old data; all-zero is a valid value (no name, no control).
    let mut msgs: Vec<libc::mmsghdr> = (0..BATCH).map(|_| unsafe { std::mem::zeroed() }).collect();
    for (m, v) in msgs.iter_mut().zip(iov.iter_mut()) {
        m.msg_hdr.msg_iov = v;
        m.msg_hdr.msg_iovlen = 1;
    }
    let fd = sock.as_raw_fd();
    let start = Instant::now();
    let end = start + duration;
    let mut sent = 0u64;
    let mut errors = 0u64;
    let mut next = start;
    let per_tick = if rate == 0 {
        BATCH as f64
    } else {
        rate as f64 * TICK.as_secs_f64()
    };
    let mut credit = 0.0f64;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let n = if rate == 0 {
            BATCH
        } else {
            if now < next {
                let wait = next - now;
                if wait > Duration::from_micros(60) {
                    std::thread::sleep(wait - Duration::from_micros(50));
                }
                continue;
            }
            next += TICK;
            if next + TICK * 50 < now {
                // Fell far behind (descheduled): do not burst to catch up.
                next = now;
            }
            credit += per_tick;
            let n = (credit as usize).min(BATCH);
            if n == 0 {
                continue;
            }
            credit -= n as f64;
            n
        };
        // SAFETY: `msgs[..n]` are initialised mmsghdrs whose iovecs point into `payload`,
        // which outlives the call; the kernel only reads them (and writes msg_len).
        let rc = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), n as libc::c_uint, 0) };
        if rc < 0 {
            errors += 1;
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::ENOBUFS) | Some(libc::EAGAIN) | Some(libc::EINTR) => continue,
                // Port unreachable (an ICMP error) is reported on a connected socket: ignore.
                Some(libc::ECONNREFUSED) => continue,
                _ => return Err(e).context("sendmmsg"),
            }
        }
        sent += rc as u64;
    }
    Ok(SendReport {
        sent,
        secs: start.elapsed().as_secs_f64(),
        errors,
    })
}

fn set_buffer(sock: &impl AsRawFd, opt: libc::c_int, bytes: libc::c_int) {
    // SAFETY: setsockopt with a pointer to a live c_int and its size; failure is harmless
    // (the default size stays).
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            opt,
            (&bytes as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// The receiving end: drains UDP floods on `udp_port`, echoes datagrams on `echo_port`, and
/// counts TCP bytes on `tcp_port` (answering each connection's byte count at its EOF).
/// Runs until killed.
pub fn sink(udp_port: u16, echo_port: u16, tcp_port: u16) -> Result<()> {
    let flood = UdpSocket::bind(("0.0.0.0", udp_port)).context("binding the flood port")?;
    set_buffer(&flood, libc::SO_RCVBUF, 8 << 20);
    let echo = UdpSocket::bind(("0.0.0.0", echo_port)).context("binding the echo port")?;
    let tcp = TcpListener::bind(("0.0.0.0", tcp_port)).context("binding the TCP port")?;
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = echo.recv_from(&mut buf) {
            let _ = echo.send_to(&buf[..n], from);
        }
    });
    std::thread::spawn(move || {
        for conn in tcp.incoming().flatten() {
            std::thread::spawn(move || tcp_count(conn));
        }
    });
    // The ready line: the harness waits for it before sending.
    println!("ready");
    let _ = std::io::stdout().flush();
    drain(&flood)
}

fn tcp_count(mut conn: TcpStream) {
    let mut buf = vec![0u8; 256 << 10];
    let mut total = 0u64;
    loop {
        match conn.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
    }
    let _ = conn.write_all(&total.to_be_bytes());
}

fn drain(sock: &UdpSocket) -> Result<()> {
    let mut bufs = vec![[0u8; 2048]; BATCH];
    let mut iov: Vec<libc::iovec> = bufs
        .iter_mut()
        .map(|b| libc::iovec {
            iov_base: b.as_mut_ptr().cast(),
            iov_len: b.len(),
        })
        .collect();
    // SAFETY: mmsghdr is plain old data; all-zero is valid.
    let mut msgs: Vec<libc::mmsghdr> = (0..BATCH).map(|_| unsafe { std::mem::zeroed() }).collect();
    for (m, v) in msgs.iter_mut().zip(iov.iter_mut()) {
        m.msg_hdr.msg_iov = v;
        m.msg_hdr.msg_iovlen = 1;
    }
    loop {
        // SAFETY: every mmsghdr points at one iovec over a live 2 KiB buffer of `bufs`; the
        // kernel writes at most iov_len bytes into each.
        let rc = unsafe {
            libc::recvmmsg(
                sock.as_raw_fd(),
                msgs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if rc < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e).context("recvmmsg on the flood port");
        }
    }
}

/// What `verdict-bench ping` reports.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PingReport {
    /// Requests sent.
    pub sent: u64,
    /// Requests without a reply within the timeout.
    pub lost: u64,
    /// Round-trip times in microseconds, percentiles 50, 99, 99.9 (None without replies).
    pub p50_us: Option<f64>,
    /// 99th percentile.
    pub p99_us: Option<f64>,
    /// 99.9th percentile.
    pub p999_us: Option<f64>,
}

/// Request/response ping-pong against the echo port: one 64-byte request at a time, the next
/// `gap` after the reply (or after a 200 ms timeout, counted as lost).
pub fn ping(dst: SocketAddr, duration: Duration, gap: Duration) -> Result<PingReport> {
    let sock = UdpSocket::bind("0.0.0.0:0").context("binding the ping socket")?;
    sock.connect(dst)
        .with_context(|| format!("connecting to {dst}"))?;
    sock.set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut rtts = Vec::new();
    let mut rep = PingReport::default();
    let end = Instant::now() + duration;
    let mut seq = 0u64;
    let mut req = [0u8; 64 - UDP_OVERHEAD];
    let mut buf = [0u8; 256];
    while Instant::now() < end {
        seq += 1;
        req[..8].copy_from_slice(&seq.to_be_bytes());
        let t0 = Instant::now();
        if sock.send(&req).is_err() {
            rep.sent += 1;
            rep.lost += 1;
            std::thread::sleep(gap);
            continue;
        }
        rep.sent += 1;
        loop {
            match sock.recv(&mut buf) {
                Ok(n) if n >= 8 && buf[..8] == seq.to_be_bytes() => {
                    rtts.push(t0.elapsed().as_secs_f64() * 1e6);
                    break;
                }
                // A late reply to an earlier request: keep waiting for ours.
                Ok(_) if t0.elapsed() < Duration::from_millis(200) => continue,
                _ => {
                    rep.lost += 1;
                    break;
                }
            }
        }
        std::thread::sleep(gap);
    }
    rtts.sort_by(f64::total_cmp);
    rep.p50_us = percentile(&rtts, 0.50);
    rep.p99_us = percentile(&rtts, 0.99);
    rep.p999_us = percentile(&rtts, 0.999);
    Ok(rep)
}

/// The `q` quantile of sorted samples (nearest rank), None when empty.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// What `verdict-bench tcp-send` reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TcpReport {
    /// Bytes the receiver counted.
    pub bytes: u64,
    /// Seconds from connect to the receiver's count.
    pub secs: f64,
}

/// One TCP bulk transfer for `duration`; the receiver's own byte count is the result.
pub fn tcp_send(dst: SocketAddr, duration: Duration) -> Result<TcpReport> {
    let start = Instant::now();
    let mut conn = TcpStream::connect_timeout(&dst, Duration::from_secs(3))
        .with_context(|| format!("connecting to {dst}"))?;
    let buf = vec![0x5au8; 64 << 10];
    conn.set_write_timeout(Some(Duration::from_secs(5)))?;
    while start.elapsed() < duration {
        conn.write_all(&buf).context("TCP bulk write")?;
    }
    conn.shutdown(std::net::Shutdown::Write)?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut count = [0u8; 8];
    conn.read_exact(&mut count)
        .context("reading the receiver's byte count")?;
    Ok(TcpReport {
        bytes: u64::from_be_bytes(count),
        secs: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentile_nearest_rank() {
        let v: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(500.0));
        assert_eq!(percentile(&v, 0.99), Some(990.0));
        assert_eq!(percentile(&v, 0.999), Some(999.0));
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[7.0], 0.999), Some(7.0));
    }
}
