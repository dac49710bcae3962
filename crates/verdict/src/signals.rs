//! Signals of the daemon: SIGHUP asks for a rule reload, SIGTERM and SIGINT for a graceful stop.
//!
//! Design: the handlers (installed through `signal-hook`, which keeps them async-signal-safe)
//! only set atomic flags; the queue threads and the main loop poll the flags between bursts
//! (the receive timeout bounds how long that takes). A second SIGTERM/SIGINT while a graceful
//! stop is under way exits at once with status 1: the firewall rules carry `--queue-bypass`
//! when fail-open is configured, and the next start removes any leftover rules.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// Flags set by signal handlers.
#[derive(Debug, Clone, Default)]
pub struct Signals {
    stop: Arc<AtomicBool>,
    reload: Arc<AtomicBool>,
}

impl Signals {
    /// Flags not connected to any signal (for tests and the in-process demo).
    pub fn new() -> Self {
        Self::default()
    }

    /// Installs the handlers for SIGHUP, SIGTERM and SIGINT.
    pub fn install() -> std::io::Result<Self> {
        let s = Self::new();
        for sig in [SIGTERM, SIGINT] {
            // Registered first, so it sees the flag before this signal sets it: the second
            // signal of a kind exits immediately.
            signal_hook::flag::register_conditional_shutdown(sig, 1, Arc::clone(&s.stop))?;
            signal_hook::flag::register(sig, Arc::clone(&s.stop))?;
        }
        signal_hook::flag::register(SIGHUP, Arc::clone(&s.reload))?;
        Ok(s)
    }

    /// Installs SIGINT/SIGTERM handlers that only set the stop flag, however often they come
    /// (for `verdict demo`, which must always reach its cleanup).
    pub fn install_interrupt_only() -> std::io::Result<Self> {
        let s = Self::new();
        for sig in [SIGTERM, SIGINT] {
            signal_hook::flag::register(sig, Arc::clone(&s.stop))?;
        }
        Ok(s)
    }

    /// Whether a stop was requested.
    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Requests a stop (as SIGTERM would).
    #[cfg(test)]
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Takes a pending reload request (returns true once per SIGHUP burst).
    pub fn take_reload(&self) -> bool {
        self.reload.swap(false, Ordering::Relaxed)
    }

    /// Requests a reload (as SIGHUP would).
    #[cfg(test)]
    pub fn request_reload(&self) {
        self.reload.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags() {
        let s = Signals::new();
        assert!(!s.stop_requested());
        assert!(!s.take_reload());
        s.request_reload();
        assert!(s.take_reload());
        assert!(!s.take_reload());
        let other = s.clone();
        other.request_stop();
        assert!(s.stop_requested());
    }
}
