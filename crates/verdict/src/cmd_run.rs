//! `verdict run`: the inline daemon.
//!
//! Start-up order matters, and is chosen so that no step leaves the host worse off if the
//! next one fails:
//! 1. read and check the configuration and compile the rules (nothing touched yet: a bad file
//!    is reported with its line and the daemon does not start half-configured);
//! 2. open `eve.json`, install the signal handlers, bind the metrics address;
//! 3. bind every queue *before* installing the firewall rules, so a packet queued by a new
//!    rule always has a reader (fail-closed would otherwise drop it);
//! 4. install the firewall rules (replacing leftovers of a crashed run);
//! 5. drop capabilities, start the metrics listener and one thread per queue.
//!
//! Stopping (SIGTERM/SIGINT) runs the same steps backwards: remove the firewall rules first
//! (nothing new is queued), let every queue thread judge what is still queued (drain), write
//! the last stats, flush `eve.json`, exit 0. Every early exit drops the installed rules
//! through their guard. A `kill -9` leaves the rules; with fail-open they carry
//! `--queue-bypass`, so traffic flows, and the next start replaces them.

use std::fs::{File, OpenOptions};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use verdict_netfilter::exec::Exec;
use verdict_netfilter::firewall::{self as fw, Firewall, GuardContext, QueuePlan};

use crate::config::{self, Config, GuardMode, Protocol, Topology};
use crate::ctmark::CtMarker;
use crate::eve::{EveTimestamp, EveWriter};
use crate::live;
use crate::metrics::MetricsServer;
use crate::runtime::{self, LoopOptions, RuleSlot, Shared, Verdict};
use crate::signals::Signals;
use crate::stats::{self, QueueCounters};
use crate::{caps, ruleload};

/// Arguments of `verdict run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Configuration file (TOML; `verdict config example` prints one). Without it: queue 0,
    /// fail-open, host topology, the embedded default ruleset.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory for eve.json (overrides `[outputs] log_dir`).
    #[arg(short = 'l', long = "log-dir", value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// Rule file to load instead of the configured ones (repeatable, like Suricata's `-S`).
    #[arg(short = 'S', long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Check the configuration and the rules, print a summary, and exit without touching the
    /// firewall.
    #[arg(long)]
    pub check: bool,
}

/// The longest an EVE event waits in the write buffer under steady traffic.
const EVE_FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// The shared EVE writer: alerts and drops from every queue thread, stats from the main thread.
pub type SharedEve = Arc<Mutex<EveWriter<BufWriter<File>>>>;

/// Runs `verdict run`.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(dir) = &args.log_dir {
        cfg.outputs.log_dir = dir.clone();
    }
    if !args.rules.is_empty() {
        cfg.rules.files = args.rules.clone();
        cfg.rules.include_default = false;
    }
    let loaded = ruleload::load(&cfg).map_err(anyhow::Error::msg)?;
    for s in &loaded.skipped {
        tracing::warn!("{s}");
    }
    let plan = queue_plan(&cfg)?;
    if args.check {
        // The firewall plan too (selector, and the kernel guard for the running kernel).
        plan.render(&GuardContext::detect(false))
            .context("the firewall rules could not be planned")?;
        println!(
            "configuration ok: queues {}, topology {:?}, {}, {} rule(s) loaded, {} skipped",
            cfg.queues,
            cfg.topology,
            if cfg.fail_open {
                "fail-open"
            } else {
                "fail-closed"
            },
            loaded.loaded,
            loaded.skipped.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        bail!(
            "`verdict run` must run as root (it binds NFQUEUE and installs firewall rules); \
             use sudo, or `verdict run --check` to only check the configuration"
        );
    }
    // On SIGHUP the rules section of the config file is re-read, unless `-S` replaced it.
    let reread = args.config.clone().filter(|_| args.rules.is_empty());
    let daemon = Daemon::start(cfg, reread, plan, loaded, Exec::host())?;
    daemon.wait()?;
    Ok(ExitCode::SUCCESS)
}

/// Turns the configuration into the firewall installer's plan.
pub fn queue_plan(cfg: &Config) -> anyhow::Result<QueuePlan> {
    let queues = fw::Queues::range(cfg.queues.first, cfg.queues.last)?;
    let topology = match cfg.topology {
        Topology::Host => fw::Topology::Host,
        Topology::Gateway => fw::Topology::Gateway,
        Topology::Custom => fw::Topology::Custom,
    };
    let protocols = cfg
        .capture
        .protocols
        .iter()
        .map(|p| match p {
            Protocol::Tcp => fw::Protocol::Tcp,
            Protocol::Udp => fw::Protocol::Udp,
            Protocol::Icmp => fw::Protocol::Icmp,
            Protocol::Sctp => fw::Protocol::Sctp,
        })
        .collect();
    let guard = match cfg.kernel_guard.mode {
        GuardMode::Auto => fw::GuardMode::Auto,
        GuardMode::On => fw::GuardMode::On,
        GuardMode::Off => fw::GuardMode::Off {
            acknowledged: cfg.kernel_guard.acknowledge.as_deref() == Some(config::KernelGuard::ACK),
        },
    };
    let flow_bypass = cfg.flow_bypass.enabled.then_some(fw::FlowBypass {
        mark: cfg.flow_bypass.mark_bit.0,
        mask: cfg.flow_bypass.mark_bit.0,
    });
    Ok(QueuePlan {
        queues,
        topology,
        selector: fw::Selector {
            protocols,
            ports: cfg.capture_ports(),
            interfaces: cfg.capture.interfaces.clone(),
            hooks: cfg.capture.hooks.clone(),
        },
        fail_open: cfg.fail_open,
        cpu_fanout: false,
        guard,
        flow_bypass,
        families: fw::Families {
            ipv4: cfg.capture.ipv4,
            ipv6: cfg.capture.ipv6,
        },
        table: fw::IptTable::Filter,
    })
}

/// Opens (appending) `eve.json` in `dir`, creating the directory.
pub fn open_eve(dir: &Path) -> anyhow::Result<SharedEve> {
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "cannot create the log directory {} (choose a writable one with --log-dir or \
                 [outputs] log_dir)",
            dir.display()
        )
    })?;
    let path = dir.join("eve.json");
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| {
            format!(
                "cannot open {} for writing (choose a writable directory with --log-dir or \
                 [outputs] log_dir)",
                path.display()
            )
        })?;
    Ok(Arc::new(Mutex::new(EveWriter::new(BufWriter::new(file)))))
}

/// Time since the Unix epoch (the EVE and engine clock in live mode).
pub fn wall_clock() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// A running daemon: queue threads, firewall rules, metrics, signal flags.
pub struct Daemon {
    cfg: Config,
    config_path: Option<PathBuf>,
    /// The config file as it was at start (before command-line overrides), to tell which
    /// settings a reload cannot apply.
    file_at_start: Option<Config>,
    signals: Signals,
    shared: Arc<Shared<verdict_rules::RuleSet>>,
    threads: Vec<(u16, std::thread::JoinHandle<std::io::Result<()>>)>,
    counters: Vec<(u16, Arc<QueueCounters>)>,
    firewall: Option<fw::InstalledRules>,
    eve: Option<SharedEve>,
    metrics: Option<MetricsServer>,
    rule_count: Arc<AtomicU64>,
    reloads: Arc<AtomicU64>,
    reload_errors: Arc<AtomicU64>,
    started: Instant,
}

impl Daemon {
    /// Binds the queues, installs the firewall rules (through `exec`), starts the threads.
    /// `config_path` is the file whose `[rules]` a reload re-reads (None: reload the same
    /// rule files).
    pub fn start(
        cfg: Config,
        config_path: Option<PathBuf>,
        plan: QueuePlan,
        loaded: ruleload::Loaded,
        exec: Exec,
    ) -> anyhow::Result<Daemon> {
        let signals = Signals::install().context("cannot install signal handlers")?;
        let eve = if cfg.outputs.eve {
            Some(open_eve(&cfg.outputs.log_dir)?)
        } else {
            None
        };
        let rule_count = Arc::new(AtomicU64::new(loaded.loaded as u64));
        let shared = Arc::new(Shared {
            drain: AtomicBool::new(false),
            rules: RuleSlot::new(Arc::new(loaded.rules)),
        });

        // Metrics: bind before touching the kernel (an address in use fails the start with
        // nothing to undo) and while privileged (a port below 1024); served only after the
        // capability drop, so the listener thread never holds more than the rest.
        let metrics_listener = match cfg.outputs.metrics_address {
            Some(addr) => Some(MetricsServer::bind(addr).with_context(|| {
                format!(
                    "cannot listen for metrics on {addr} (set another [outputs] \
                             metrics_address, or stop what listens there)"
                )
            })?),
            None => None,
        };

        // 3. Bind every queue before any rule sends packets to it.
        let mut sockets = Vec::new();
        let mut connmark_ok = plan.flow_bypass.is_some();
        for q in cfg.queues.iter() {
            let (sock, ct) = live::NfqQueue::bind(q, &cfg, connmark_ok)
                .with_context(|| format!("cannot bind NFQUEUE {q}"))?;
            connmark_ok &= ct;
            sockets.push((q, sock));
        }

        // Flow bypass: marks in the verdicts if the kernel takes them, else through ctnetlink.
        let mut plan = plan;
        let mut ct_markers: Vec<Option<CtMarker>> = sockets.iter().map(|_| None).collect();
        if let (Some(b), false) = (plan.flow_bypass, connmark_ok) {
            let opened: std::io::Result<Vec<CtMarker>> =
                sockets.iter().map(|_| CtMarker::open(b.mark)).collect();
            match opened {
                Ok(m) => {
                    tracing::info!(
                        "flow bypass through ctnetlink (this kernel's verdicts cannot carry \
                         conntrack marks: no CONFIG_NETFILTER_NETLINK_GLUE_CT)"
                    );
                    ct_markers = m.into_iter().map(Some).collect();
                }
                Err(e) => {
                    tracing::warn!(
                        "flow bypass is off: verdicts cannot carry conntrack marks on this \
                         kernel and ctnetlink is unavailable ({e}); every packet is inspected"
                    );
                    plan.flow_bypass = None;
                }
            }
        }

        // 4. The firewall rules (a leftover set of a crashed run is replaced).
        let firewall = if cfg.topology == Topology::Custom {
            tracing::info!(
                "topology custom: no firewall rules installed; send traffic to queue(s) {} yourself",
                cfg.queues
            );
            None
        } else {
            let ctx = GuardContext::detect(false);
            let installed = Firewall::with_exec(cfg.firewall_backend, exec)
                .install(&plan, &ctx)
                .context("cannot install Verdict's firewall rules")?;
            for note in &installed.report().notes {
                tracing::info!("firewall: {note}");
            }
            tracing::info!(
                backend = installed.report().backend.name(),
                "firewall rules installed ({})",
                if cfg.fail_open {
                    "fail-open: --queue-bypass"
                } else {
                    "fail-closed"
                }
            );
            Some(installed)
        };

        let counters: Vec<(u16, Arc<QueueCounters>)> = cfg
            .queues
            .iter()
            .map(|q| (q, Arc::new(QueueCounters::default())))
            .collect();
        let reloads = Arc::new(AtomicU64::new(0));
        let reload_errors = Arc::new(AtomicU64::new(0));

        // Capabilities: everything set up needs no more than NET_ADMIN (+ NET_RAW for
        // iptables-legacy) from here on. Threads spawned below inherit the reduced sets.
        match caps::drop_to_kept() {
            Ok(d) => tracing::debug!(
                "capabilities dropped ({} from the bounding set); kept {:#x}",
                d.bounding_dropped,
                d.permitted
            ),
            Err(e) => tracing::warn!("could not drop capabilities: {e}"),
        }

        let metrics = match metrics_listener {
            Some(listener) => {
                let c = counters.clone();
                let (rc, rl, re) = (
                    Arc::clone(&rule_count),
                    Arc::clone(&reloads),
                    Arc::clone(&reload_errors),
                );
                let source: crate::metrics::Source = Arc::new(move || {
                    crate::metrics::render(
                        &snapshots(&c),
                        rc.load(Ordering::Relaxed),
                        rl.load(Ordering::Relaxed),
                        re.load(Ordering::Relaxed),
                    )
                });
                let m = MetricsServer::serve(listener, source)
                    .context("cannot start the metrics listener")?;
                tracing::info!("metrics at http://{}/metrics", m.local_addr());
                Some(m)
            }
            None => None,
        };

        let opts = LoopOptions {
            batch_size: cfg.batch_size,
            max_latency: cfg.max_verdict_latency(),
            undecodable: match cfg.undecodable {
                config::DefaultVerdict::Accept => Verdict::Accept,
                config::DefaultVerdict::Drop => Verdict::Drop,
            },
            bypass_mark: plan.flow_bypass.filter(|_| connmark_ok).map(|b| b.mark),
            poll_interval: Duration::from_millis(100),
            expire_interval: Duration::from_secs(1),
        };
        let mut threads = Vec::new();
        for (((q, sock), (_, c)), ct) in sockets.into_iter().zip(&counters).zip(ct_markers) {
            let inspector = live::EngineInspector::new(
                shared.rules.current(),
                eve.clone(),
                plan.flow_bypass.is_some().then_some(cfg.flow_bypass.bytes),
                ct,
            )
            .with_packet_alert_max(cfg.packet_alert_max)
            .with_payload(crate::eve::PayloadOptions {
                payload: cfg.outputs.payload,
                payload_printable: cfg.outputs.payload_printable,
                packet: cfg.outputs.packet,
            })
            .with_app_meta(crate::eve_app::AppMetaOptions {
                enabled: cfg.outputs.alert_metadata,
                xff: cfg.outputs.xff.clone(),
            });
            let h = runtime::spawn_queue(
                q,
                sock,
                inspector,
                Arc::clone(&shared),
                Arc::clone(c),
                opts.clone(),
            )
            .context("cannot start a queue thread")?;
            threads.push((q, h));
        }
        tracing::info!(
            "verdict running: queue(s) {}, topology {:?}, {}, {} rule(s)",
            cfg.queues,
            cfg.topology,
            if cfg.fail_open {
                "fail-open"
            } else {
                "fail-closed"
            },
            rule_count.load(Ordering::Relaxed)
        );
        let file_at_start = config_path.as_ref().and_then(|p| Config::load(p).ok());
        Ok(Daemon {
            file_at_start,
            cfg,
            config_path,
            signals,
            shared,
            threads,
            counters,
            firewall,
            eve,
            metrics,
            rule_count,
            reloads,
            reload_errors,
            started: Instant::now(),
        })
    }

    /// Serves until SIGTERM/SIGINT (or a queue thread fails), then stops gracefully.
    pub fn wait(mut self) -> anyhow::Result<()> {
        let mut next_stats = self
            .cfg
            .outputs
            .stats_interval()
            .map(|i| Instant::now() + i);
        let mut failure = None;
        let mut next_flush = Instant::now() + EVE_FLUSH_INTERVAL;
        while !self.signals.stop_requested() {
            std::thread::sleep(Duration::from_millis(50));
            if Instant::now() >= next_flush {
                // Queue threads flush when idle; under steady traffic this bounds how long an
                // alert waits in the buffer.
                next_flush += EVE_FLUSH_INTERVAL;
                if let Some(eve) = &self.eve {
                    let mut w = eve.lock().unwrap_or_else(|p| p.into_inner());
                    if let Err(e) = w.flush() {
                        tracing::warn!("cannot flush eve.json: {e}");
                    }
                }
            }
            if self.signals.take_reload() {
                self.reload();
            }
            if let (Some(at), Some(i)) = (next_stats, self.cfg.outputs.stats_interval()) {
                if Instant::now() >= at {
                    self.write_stats();
                    next_stats = Some(at + i);
                }
            }
            if let Some((q, _)) = self.threads.iter().find(|(_, h)| h.is_finished()) {
                failure = Some(*q);
                break;
            }
        }
        tracing::info!("stopping: removing the firewall rules, then judging what is queued");
        let removed = match self.firewall.take() {
            Some(f) => f.remove().map_err(|e| {
                tracing::error!(
                    "could not remove the firewall rules: {e}; run `verdict firewall remove`"
                );
                e
            }),
            None => Ok(()),
        };
        // The kernel's counters disappear with the queues: read them before the last drain.
        let last_kernel = stats::read_proc_queues();
        self.shared.drain.store(true, Ordering::Release);
        let mut thread_errors = Vec::new();
        for (q, h) in self.threads.drain(..) {
            match h.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => thread_errors.push(format!("queue {q}: {e}")),
                Err(_) => thread_errors.push(format!("queue {q}: thread panicked")),
            }
        }
        self.write_stats_from(&snapshots_with(&self.counters, &last_kernel));
        if let Some(eve) = &self.eve {
            let mut w = eve.lock().unwrap_or_else(|p| p.into_inner());
            w.flush().context("cannot flush eve.json")?;
        }
        // Datasets with a save/state file are written on exit, as Suricata does.
        match self.shared.rules.current().save_datasets() {
            Ok(files) => {
                for f in files {
                    tracing::info!("dataset saved to {}", f.display());
                }
            }
            Err(e) => tracing::error!("cannot save a dataset: {e}"),
        }
        drop(self.metrics.take());
        let total: u64 = snapshots(&self.counters).iter().map(|s| s.received).sum();
        tracing::info!("stopped after {total} packet(s)");
        removed.context("firewall rules not removed; run `verdict firewall remove`")?;
        if let Some(q) = failure {
            bail!(
                "queue {q} stopped unexpectedly ({}); Verdict stopped too",
                thread_errors.join("; ")
            );
        }
        if !thread_errors.is_empty() {
            bail!("{}", thread_errors.join("; "));
        }
        Ok(())
    }

    /// Recompiles the rules; swaps them in whole only if they load without errors.
    fn reload(&self) {
        let mut cfg = self.cfg.clone();
        // Rule files are re-read; other settings need a restart.
        if let Some(path) = &self.config_path {
            match Config::load(path) {
                Ok(new) => {
                    let changed = self
                        .file_at_start
                        .as_ref()
                        .map(|old| crate::config::changed_settings(old, &new))
                        .unwrap_or_default();
                    if !changed.is_empty() {
                        tracing::warn!(
                            "{}: {} changed; a reload applies only [rules], restart Verdict \
                             for the rest",
                            path.display(),
                            changed.join(", ")
                        );
                    }
                    cfg.rules = new.rules;
                }
                Err(e) => {
                    self.reload_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::error!("reload refused, keeping the current rules: {e}");
                    return;
                }
            }
        }
        match ruleload::load(&cfg) {
            Ok(l) => {
                for s in &l.skipped {
                    tracing::warn!("{s}");
                }
                self.rule_count.store(l.loaded as u64, Ordering::Relaxed);
                self.shared.rules.publish(Arc::new(l.rules));
                self.reloads.fetch_add(1, Ordering::Relaxed);
                tracing::info!("rules reloaded: {} rule(s)", l.loaded);
            }
            Err(e) => {
                self.reload_errors.fetch_add(1, Ordering::Relaxed);
                tracing::error!("reload refused, keeping the current rules:\n{e}");
            }
        }
    }

    fn write_stats(&self) {
        self.write_stats_from(&snapshots(&self.counters));
    }

    fn write_stats_from(&self, snaps: &[stats::QueueSnapshot]) {
        let Some(eve) = &self.eve else { return };
        let sum = |f: fn(&stats::QueueSnapshot) -> u64| snaps.iter().map(f).sum::<u64>();
        #[derive(serde::Serialize)]
        struct StatsEvent {
            timestamp: EveTimestamp,
            event_type: &'static str,
            stats: serde_json::Value,
        }
        let event = StatsEvent {
            timestamp: EveTimestamp(wall_clock()),
            event_type: "stats",
            stats: serde_json::json!({
                "uptime": self.started.elapsed().as_secs(),
                "ips": {
                    "accepted": sum(|s| s.accepted),
                    "blocked": sum(|s| s.dropped),
                },
                "detect": { "alert": sum(|s| s.alerts) },
                "decoder": { "pkts": sum(|s| s.received), "invalid": sum(|s| s.undecodable) },
                "nfq": snaps.iter().map(stats::QueueSnapshot::to_eve).collect::<Vec<_>>(),
            }),
        };
        let mut w = eve.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = w.write_event(&event).and_then(|_| w.flush()) {
            tracing::warn!("cannot write stats to eve.json: {e}");
        }
    }
}

/// Snapshots of every queue, with the kernel's counters.
fn snapshots(counters: &[(u16, Arc<QueueCounters>)]) -> Vec<stats::QueueSnapshot> {
    snapshots_with(counters, &stats::read_proc_queues())
}

/// Snapshots of every queue, with kernel counters read earlier.
fn snapshots_with(
    counters: &[(u16, Arc<QueueCounters>)],
    kernel: &[verdict_nfq::proc::QueueStatus],
) -> Vec<stats::QueueSnapshot> {
    counters
        .iter()
        .map(|(q, c)| {
            let mut s = c.snapshot(*q);
            s.kernel = kernel.iter().find(|k| k.queue == *q).copied();
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use verdict_netfilter::firewall::{Family, Hook};
    use verdict_netfilter::kernel::KernelRelease;

    fn rules(cfg: &Config) -> Vec<(Hook, String)> {
        let ctx = GuardContext::for_kernel(&KernelRelease::parse("6.1.0").unwrap(), false);
        queue_plan(cfg)
            .unwrap()
            .render(&ctx)
            .unwrap()
            .iptables_rules(Family::V4)
    }

    #[test]
    fn default_config_queues_input_and_output_fail_open() {
        let plan = queue_plan(&Config::default()).unwrap();
        assert_eq!(plan.topology, fw::Topology::Host);
        assert!(plan.fail_open);
        assert_eq!(
            plan.flow_bypass,
            Some(fw::FlowBypass {
                mark: 0x4000_0000,
                mask: 0x4000_0000
            })
        );
        let r = rules(&Config::default());
        assert!(r.iter().any(|(h, _)| *h == Hook::Input));
        assert!(r.iter().any(|(h, _)| *h == Hook::Output));
        assert!(
            r.iter()
                .filter(|(_, l)| l.contains("NFQUEUE"))
                .all(|(_, l)| l.contains("--queue-num 0") && l.contains("--queue-bypass")),
            "{r:?}"
        );
    }

    #[test]
    fn gateway_range_ports_and_fail_closed() {
        let cfg = Config::parse(
            "queues = \"0-3\"\ntopology = \"gateway\"\nfail_open = false\n\
             [capture]\nprotocols = [\"tcp\"]\nports = [80, \"8000-8001\"]\n\
             [flow_bypass]\nenabled = false\n",
            Path::new("t.toml"),
        )
        .unwrap();
        let plan = queue_plan(&cfg).unwrap();
        assert_eq!(plan.selector.ports, vec![80, 8000, 8001]);
        assert_eq!(plan.flow_bypass, None);
        let r = rules(&cfg);
        assert!(r.iter().all(|(h, _)| *h == Hook::Forward), "{r:?}");
        let queue: Vec<&String> = r
            .iter()
            .map(|(_, l)| l)
            .filter(|l| l.contains("NFQUEUE"))
            .collect();
        assert!(!queue.is_empty());
        for l in queue {
            assert!(l.contains("--queue-balance 0:3"), "{l}");
            assert!(!l.contains("--queue-bypass"), "{l}");
        }
    }

    #[test]
    fn custom_topology_installs_nothing() {
        let cfg = Config::parse("topology = \"custom\"", Path::new("t.toml")).unwrap();
        assert!(rules(&cfg).is_empty());
    }

    #[test]
    fn guard_off_carries_the_acknowledgement() {
        let text = format!(
            "[kernel_guard]\nmode = \"off\"\nacknowledge = \"{}\"",
            config::KernelGuard::ACK
        );
        let cfg = Config::parse(&text, Path::new("t.toml")).unwrap();
        assert_eq!(
            queue_plan(&cfg).unwrap().guard,
            fw::GuardMode::Off { acknowledged: true }
        );
    }
}
