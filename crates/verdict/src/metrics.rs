//! Prometheus text metrics: rendering queue snapshots in the exposition format, and a tiny
//! HTTP listener that serves them at `/metrics`.
//!
//! Design: the renderer is a pure function of [`QueueSnapshot`]s (tested on its own); the
//! listener is one thread with a std `TcpListener` that answers one request per connection
//! and closes it. It is deliberately minimal: Prometheus scrapes a few times a minute, and a
//! full HTTP stack would be the biggest dependency of the daemon. The listener never blocks
//! the queue threads: it only reads their atomic counters.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::stats::{QueueSnapshot, LATENCY_BUCKETS_US};

/// Reads one counter out of a snapshot.
type Getter<T> = fn(&T) -> u64;

/// Renders queue snapshots in the Prometheus text exposition format (version 0.0.4).
pub fn render(
    queues: &[QueueSnapshot],
    rules_loaded: u64,
    reloads: u64,
    reload_errors: u64,
) -> String {
    let mut out = String::with_capacity(4096);
    let counters: [(&str, &str, Getter<QueueSnapshot>); 9] = [
        (
            "verdict_packets_received_total",
            "Packets received from the kernel.",
            |s| s.received,
        ),
        ("verdict_packets_accepted_total", "Packets accepted.", |s| {
            s.accepted
        }),
        (
            "verdict_packets_dropped_total",
            "Packets dropped by a rule.",
            |s| s.dropped,
        ),
        (
            "verdict_packets_undecodable_total",
            "Packets given the default verdict because they could not be decoded.",
            |s| s.undecodable,
        ),
        ("verdict_alerts_total", "Alerts raised.", |s| s.alerts),
        (
            "verdict_flows_bypassed_total",
            "Flows handed to the kernel's connmark bypass.",
            |s| s.bypassed_flows,
        ),
        (
            "verdict_enobufs_total",
            "Receive calls that failed with ENOBUFS (socket buffer overflow).",
            |s| s.enobufs,
        ),
        (
            "verdict_verdict_errors_total",
            "Verdict messages that could not be sent.",
            |s| s.verdict_errors,
        ),
        (
            "verdict_bursts_total",
            "Receive system calls that returned packets.",
            |s| s.bursts,
        ),
    ];
    for (name, help, get) in counters {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for s in queues {
            let _ = writeln!(out, "{name}{{queue=\"{}\"}} {}", s.queue, get(s));
        }
    }
    let kernel: [(&str, &str, &str, Getter<verdict_nfq::proc::QueueStatus>); 3] = [
        (
            "verdict_kernel_queue_overruns_total",
            "counter",
            "Packets the kernel dropped or bypassed because the queue was full.",
            |k| u64::from(k.queue_dropped),
        ),
        (
            "verdict_kernel_user_dropped_total",
            "counter",
            "Packets the kernel failed to deliver to Verdict's socket.",
            |k| u64::from(k.user_dropped),
        ),
        (
            "verdict_kernel_queue_length",
            "gauge",
            "Packets waiting in the kernel queue.",
            |k| u64::from(k.queue_total),
        ),
    ];
    for (name, kind, help, get) in kernel {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for s in queues {
            if let Some(k) = &s.kernel {
                let _ = writeln!(out, "{name}{{queue=\"{}\"}} {}", s.queue, get(k));
            }
        }
    }
    let name = "verdict_verdict_latency_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} Time from receiving a packet to sending its verdict.\n# TYPE {name} histogram"
    );
    for s in queues {
        let mut cumulative = 0;
        for (i, count) in s.latency_buckets.iter().enumerate() {
            cumulative += count;
            let le = match LATENCY_BUCKETS_US.get(i) {
                Some(us) => format!("{}", *us as f64 / 1e6),
                None => "+Inf".to_owned(),
            };
            let _ = writeln!(
                out,
                "{name}_bucket{{queue=\"{}\",le=\"{le}\"}} {cumulative}",
                s.queue
            );
        }
        let _ = writeln!(
            out,
            "{name}_sum{{queue=\"{}\"}} {}\n{name}_count{{queue=\"{}\"}} {}",
            s.queue,
            s.latency_sum_us as f64 / 1e6,
            s.queue,
            cumulative
        );
    }
    let _ = writeln!(
        out,
        "# HELP verdict_rules_loaded Rules in the active ruleset.\n# TYPE verdict_rules_loaded gauge\nverdict_rules_loaded {rules_loaded}"
    );
    let _ = writeln!(
        out,
        "# HELP verdict_rule_reloads_total Successful rule reloads (SIGHUP).\n# TYPE verdict_rule_reloads_total counter\nverdict_rule_reloads_total {reloads}"
    );
    let _ = writeln!(
        out,
        "# HELP verdict_rule_reload_errors_total Rule reloads refused because of errors.\n# TYPE verdict_rule_reload_errors_total counter\nverdict_rule_reload_errors_total {reload_errors}"
    );
    out
}

/// Produces the metrics text on each scrape.
pub type Source = Arc<dyn Fn() -> String + Send + Sync>;

/// The metrics listener thread; stops when dropped.
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Binds `addr` and serves `source()` at `GET /metrics` ([`MetricsServer::bind`] then
    /// [`MetricsServer::serve`]).
    #[cfg(test)]
    pub fn start(addr: SocketAddr, source: Source) -> std::io::Result<Self> {
        Self::serve(Self::bind(addr)?, source)
    }

    /// Binds the listening socket (may need privileges: do it before dropping them).
    pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(listener)
    }

    /// Serves `source()` on an already bound listener from a thread named `verdict-metrics`.
    pub fn serve(listener: TcpListener, source: Source) -> std::io::Result<Self> {
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("verdict-metrics".into())
            .spawn(move || {
                while !stop2.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            if let Err(e) = serve(stream, &source) {
                                tracing::debug!("metrics request failed: {e}");
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        Err(e) => {
                            tracing::warn!("metrics listener: accept failed: {e}");
                            std::thread::sleep(Duration::from_millis(200));
                        }
                    }
                }
            })?;
        Ok(MetricsServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How long a client has to send its request head (and to take the answer).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// Answers one HTTP request on `stream`.
fn serve(mut stream: TcpStream, source: &Source) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;
    // Read until the end of the request head (or 8 KiB, or the peer stops sending), within
    // one deadline for the whole head: a client trickling bytes cannot hold the listener.
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    let mut buf = [0u8; 8192];
    let mut len = 0;
    while len < buf.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "request head not complete in time",
            ));
        }
        stream.set_read_timeout(Some(left))?;
        let n = stream.read(&mut buf[len..])?;
        if n == 0 {
            break;
        }
        len += n;
        if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let head = String::from_utf8_lossy(&buf[..len]);
    let mut parts = head.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, ctype, body) = match (method, path) {
        ("GET", "/metrics") => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            source(),
        ),
        ("GET", "/") => (
            "200 OK",
            "text/plain; charset=utf-8",
            "Verdict metrics are at /metrics\n".to_owned(),
        ),
        ("GET", _) => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "not found\n".to_owned(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "only GET\n".to_owned(),
        ),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::QueueCounters;
    use std::sync::atomic::Ordering::Relaxed;

    fn snap() -> QueueSnapshot {
        let c = QueueCounters::default();
        c.received.fetch_add(7, Relaxed);
        c.dropped.fetch_add(2, Relaxed);
        c.record_latency(Duration::from_micros(30), 4);
        c.record_latency(Duration::from_micros(20_000), 1);
        let mut s = c.snapshot(1);
        s.kernel = verdict_nfq::proc::parse_queue_status("1 9 3 2 65535 11 4 50 1")
            .first()
            .copied();
        s
    }

    #[test]
    fn renders_counters_and_histogram() {
        let text = render(&[snap()], 12, 1, 0);
        assert!(text.contains("verdict_packets_received_total{queue=\"1\"} 7\n"));
        assert!(text.contains("verdict_packets_dropped_total{queue=\"1\"} 2\n"));
        assert!(text.contains("verdict_kernel_queue_overruns_total{queue=\"1\"} 11\n"));
        assert!(text.contains("verdict_kernel_queue_length{queue=\"1\"} 3\n"));
        assert!(text
            .contains("verdict_verdict_latency_seconds_bucket{queue=\"1\",le=\"0.000025\"} 0\n"));
        assert!(
            text.contains("verdict_verdict_latency_seconds_bucket{queue=\"1\",le=\"0.00005\"} 4\n")
        );
        assert!(
            text.contains("verdict_verdict_latency_seconds_bucket{queue=\"1\",le=\"+Inf\"} 5\n")
        );
        assert!(text.contains("verdict_verdict_latency_seconds_count{queue=\"1\"} 5\n"));
        assert!(text.contains("verdict_rules_loaded 12\n"));
        // Every sample line belongs to a declared metric family.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            let family = name
                .trim_end_matches("_bucket")
                .trim_end_matches("_sum")
                .trim_end_matches("_count");
            assert!(text.contains(&format!("# TYPE {family} ")), "{line}");
        }
    }

    #[test]
    fn serves_over_http() {
        let server = MetricsServer::start(
            "127.0.0.1:0".parse().unwrap(),
            Arc::new(|| render(&[snap()], 3, 0, 0)),
        )
        .unwrap();
        let get = |path: &str| {
            let mut s = TcpStream::connect(server.local_addr()).unwrap();
            write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out
        };
        let r = get("/metrics");
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(r.contains("verdict_packets_received_total{queue=\"1\"} 7"));
        assert!(get("/nope").starts_with("HTTP/1.1 404"));
    }

    #[test]
    fn a_trickling_client_does_not_hold_the_listener() {
        let server = MetricsServer::start(
            "127.0.0.1:0".parse().unwrap(),
            Arc::new(|| render(&[snap()], 3, 0, 0)),
        )
        .unwrap();
        // One byte of a request head every 200 ms, never its end (each read within the old
        // per-read timeout, so only a deadline for the whole head cuts it).
        let addr = server.local_addr();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let slow = std::thread::spawn(move || {
            let mut s = TcpStream::connect(addr).unwrap();
            while !stop2.load(Relaxed) && s.write_all(b"G").is_ok() {
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        std::thread::sleep(Duration::from_millis(100));
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(4 * REQUEST_TIMEOUT)).unwrap();
        write!(s, "GET /metrics HTTP/1.1\r\n\r\n").unwrap();
        let mut out = String::new();
        let read = s.read_to_string(&mut out);
        stop.store(true, Relaxed);
        slow.join().unwrap();
        read.unwrap();
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    }
}
