//! Accept every packet of one queue, as fast as the crate allows: the "Verdict I/O" contender
//! of the benchmark against `shared/bench/peers/nfq_accept.c`.
//!
//! ```text
//! accept_all QUEUE_NUM [BATCH]
//! ```
//! - `BATCH` = 1 (default): one `recvmmsg` slot and one plain verdict per packet -- the same
//!   syscall pattern as the C peer with batch 1 (one receive, one send per packet).
//! - `BATCH` = N > 1: up to N packets per `recvmmsg`, and one batch verdict per burst (a burst
//!   is whatever was queued, at most N, so no packet waits for a full batch). After a short
//!   burst the socket yields the CPU once before sleeping
//!   ([`QueueSocket::set_yield_before_wait`]); `ACCEPT_ALL_NO_YIELD=1` turns that off.
//!
//! Like the C peer: 8 MiB receive buffer, queue length 8192, whole packets copied. On
//! SIGINT/SIGTERM it prints `packets=N enobufs=M` on stdout and exits 0.

use std::sync::atomic::{AtomicBool, Ordering};

use verdict_nfq::codec::Message;
use verdict_nfq::{
    BatchVerdictMsg, CopyMode, QueueConfig, QueueSocket, RecvBuffers, Verdict, VerdictMsg,
};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

fn install_signal_handlers() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is valid (empty mask, no flags); the handler only stores
        // to an atomic, which is async-signal-safe. No SA_RESTART, so a blocked receive
        // returns EINTR and the loop sees STOP.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(queue) = args.get(1).and_then(|q| q.parse::<u16>().ok()) else {
        eprintln!("usage: {} QUEUE_NUM [BATCH]", args[0]);
        std::process::exit(2);
    };
    let batch: usize = args.get(2).and_then(|b| b.parse().ok()).unwrap_or(1).max(1);
    install_signal_handlers();

    let run = || -> Result<(u64, u64), verdict_nfq::Error> {
        let mut sock = QueueSocket::open()?;
        sock.set_recv_buffer(8 << 20)?;
        sock.bind_queue(
            queue,
            &QueueConfig {
                copy: CopyMode::Packet { range: 0xffff },
                max_len: Some(8192),
                ..QueueConfig::default()
            },
        )?;
        let mut bufs = RecvBuffers::for_copy_range(batch, 0xffff);
        let mut out = Vec::with_capacity(64 * batch);
        let mut packets = 0u64;
        // ACCEPT_ALL_NO_YIELD=1: sleep as soon as the queue is empty (for comparisons).
        sock.set_yield_before_wait(std::env::var_os("ACCEPT_ALL_NO_YIELD").is_none());
        while !STOP.load(Ordering::Relaxed) {
            if sock.recv(&mut bufs)? == 0 {
                continue; // interrupted by a signal
            }
            out.clear();
            let mut last = None;
            for msg in bufs.messages() {
                if let Ok(Message::Packet(p)) = msg {
                    packets += 1;
                    if batch == 1 {
                        VerdictMsg::new(queue, p.id(), Verdict::Accept).emit(0, false, &mut out)?;
                    }
                    last = Some(p.id());
                }
            }
            if let (true, Some(id)) = (batch > 1, last) {
                BatchVerdictMsg::new(queue, id, Verdict::Accept).emit(0, false, &mut out);
            }
            if !out.is_empty() {
                sock.send(&out)?;
            }
        }
        let st = sock.stats();
        if st.recv_calls > 0 {
            eprintln!(
                "accept_all: {} receive calls, {:.1} packets per receive, {} sends, {} yields ({} found packets)",
                st.recv_calls,
                st.datagrams as f64 / st.recv_calls as f64,
                st.sends,
                st.yields,
                st.yield_bursts
            );
        }
        Ok((packets, st.enobufs))
    };
    match run() {
        Ok((packets, enobufs)) => println!("packets={packets} enobufs={enobufs}"),
        Err(e) => {
            eprintln!("accept_all: {e}");
            std::process::exit(1);
        }
    }
}
