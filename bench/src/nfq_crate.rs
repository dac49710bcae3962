//! Contender 3: the accept-all loop a Rust user writes today with the crates.io `nfq` crate,
//! as its documentation shows it (one `recv`, one verdict per packet), with the same queue
//! length as the C peer. Runs until killed; the harness reads its CPU time from `/proc`.

use anyhow::{Context, Result};

/// Binds `queue` and accepts every packet, forever.
pub fn accept_loop(queue: u16) -> Result<()> {
    let mut q = nfq::Queue::open().context("opening the nfq crate's netlink socket")?;
    q.bind(queue)
        .with_context(|| format!("binding queue {queue} with the nfq crate"))?;
    q.set_queue_max_len(queue, 8192)
        .context("setting the queue length")?;
    println!("ready");
    loop {
        let mut msg = match q.recv() {
            Ok(m) => m,
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("nfq recv"),
        };
        msg.set_verdict(nfq::Verdict::Accept);
        q.verdict(msg).context("nfq verdict")?;
    }
}
