//! `verdict pcap`: offline inspection of a pcap/pcapng file, Suricata-style.
//!
//! `verdict pcap -r FILE -S RULES [-S MORE] -l LOGDIR [--simulate-ips] [-c suricata.yaml]
//! [-k none|all|auto] [--set key=value]` follows `suricata -r`: packets are fed to the same
//! [`Engine`] the live daemon uses, with the capture's timestamps as the clock, and events go
//! to `LOGDIR/eve.json` in Suricata's EVE format. With `--simulate-ips`, drop rules drop the
//! packet and the rest of its flow, and `drop` events say so.
//!
//! It exits non-zero only on a real failure: unreadable capture, unreadable rule files, no
//! usable rule, or an unwritable log directory.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use verdict_decode::LinkType;
use verdict_engine::{ChecksumMode, Engine, EngineConfig, Inspector, PacketMeta, RulesInspector};
use verdict_flow::FlowConfig;

use crate::eve::{self, EveWriter, EventContext, StatsCounters};
use crate::suricata_yaml::{DropLog, SuricataConfig};

/// Arguments of `verdict pcap`.
#[derive(Debug, clap::Args)]
pub struct PcapArgs {
    /// The capture to read (pcap or pcapng).
    #[arg(short = 'r', long = "pcap")]
    pub read: PathBuf,
    /// A rule file (repeat for more).
    #[arg(short = 'S', long = "rules", required = true)]
    pub rules: Vec<PathBuf>,
    /// Directory for eve.json.
    #[arg(short = 'l', long = "log-dir", default_value = ".")]
    pub log_dir: PathBuf,
    /// Act as an inline IPS: drop/reject rules drop the packet and the rest of its flow.
    #[arg(long)]
    pub simulate_ips: bool,
    /// A Suricata YAML config to read vars and supported settings from.
    #[arg(short = 'c', long = "config")]
    pub config: Option<PathBuf>,
    /// Checksum validation (Suricata's -k): `all` validates every TCP segment and keeps
    /// those with a bad checksum out of stream reassembly (packet rules still see them);
    /// `auto` does so until the first 1000 packets show checksum offloading (more than a
    /// tenth invalid); `none` validates nothing. Default: the config's
    /// `pcap-file.checksum-checks` (`yes`, `no`, `auto`), else `auto`;
    /// `stream.checksum-validation: no` turns validation off.
    #[arg(short = 'k', value_parser = ["none", "all", "auto"])]
    pub checksum: Option<String>,
    /// Override a config value, e.g. `--set vars.address-groups.HOME_NET=[10.0.0.0/8]`.
    #[arg(long = "set")]
    pub set: Vec<String>,
    /// Accepted for Suricata compatibility (Verdict's offline mode is single-threaded).
    #[arg(long = "runmode")]
    pub runmode: Option<String>,
    /// Most flows tracked at once.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_flows: usize,
    /// Directory for dataset `save`/`state` files given with a relative path (Suricata's
    /// `--data-dir`); default: the log directory.
    #[arg(long = "data-dir")]
    pub data_dir: Option<PathBuf>,
    /// Pretend IP reassembly hits its memory limit on packet N (Suricata's QA option): the
    /// fragment stays out of reassembly and `defrag.memcap-policy` applies to it.
    #[arg(long = "simulate-packet-defrag-memcap", value_name = "N")]
    pub simulate_defrag_memcap: Option<u64>,
}

/// Runs `verdict pcap`.
pub fn run(args: PcapArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = match &args.config {
        Some(p) => SuricataConfig::load(p)?,
        None => SuricataConfig::default(),
    };
    for s in &args.set {
        cfg.set(s)?;
    }
    let ignored = cfg.ignored_sections();
    if !ignored.is_empty() {
        eprintln!(
            "verdict: note: config sections not used by verdict pcap: {}",
            ignored.join(", ")
        );
    }
    let checksum = checksum_mode(args.checksum.as_deref(), &cfg);

    let inspector = load_rules(&args, &cfg)?;
    let rules = inspector.rules().clone();
    let engine_cfg = EngineConfig {
        ips: args.simulate_ips,
        drop_invalid: false,
        flow: flow_config(&cfg, args.max_flows),
        flow_events: cfg.flow_log(),
        tunnels: verdict_engine::TunnelConfig {
            ipip: cfg.bool("decoder.ipv4.ipip.enabled").unwrap_or(true),
            ipip_track_parent_flow: cfg
                .bool("decoder.ipv4.ipip.track-parent-flow")
                .unwrap_or(false),
            others: true,
        },
        vlan_tracking: cfg.bool("vlan.use-for-tracking").unwrap_or(true),
        stream: Some(verdict_engine::StreamConfig {
            depth: size(&cfg, "stream.reassembly.depth")
                .unwrap_or(verdict_engine::StreamConfig::default().depth),
            ..Default::default()
        }),
        app: app_config(&cfg),
        stream_end_inspection: true,
        packet_alert_max: packet_alert_max(&cfg),
        defrag_memcap_policy: exception_policy(&cfg, "defrag.memcap-policy", args.simulate_ips)?,
        defrag: Some(verdict_flow::DefragConfig {
            timeout: cfg.seconds("defrag.timeout").map_or(
                verdict_flow::DefragConfig::default().timeout,
                Duration::from_secs,
            ),
            max_trackers: cfg
                .seconds("defrag.trackers")
                .map_or(verdict_flow::DefragConfig::default().max_trackers, |n| {
                    n as usize
                }),
            ..Default::default()
        }),
        checksum,
    };
    let engine = Engine::new(inspector, engine_cfg);

    std::fs::create_dir_all(&args.log_dir)
        .with_context(|| format!("cannot create log directory {}", args.log_dir.display()))?;
    let eve_path = args.log_dir.join("eve.json");
    let file =
        File::create(&eve_path).with_context(|| format!("cannot create {}", eve_path.display()))?;
    let writer = EveWriter::new(BufWriter::new(file));
    let outputs = Outputs {
        alerts: cfg.alert_log(),
        drops: cfg.drop_log(),
        flows: cfg.flow_log(),
        payload: eve::PayloadOptions {
            payload: cfg.alert_option("payload"),
            payload_printable: cfg.alert_option("payload-printable"),
            packet: cfg.alert_option("packet"),
        },
        app_meta: cfg.alert_app_meta(),
    };
    let sim = Simulation {
        defrag_memcap_at: args.simulate_defrag_memcap,
    };
    let summary = inspect_capture(&args.read, engine, writer, outputs, sim)?;
    // Datasets with a save/state file are written at the end, as Suricata does on exit.
    for p in rules.save_datasets().context("cannot save a dataset")? {
        eprintln!("verdict: dataset saved to {}", p.display());
    }
    eprintln!(
        "verdict: {} packets ({} undecodable), {} alerts, {} dropped, {} flows; {} events in {}",
        summary.packets,
        summary.invalid,
        summary.alerts,
        summary.dropped,
        summary.flows,
        summary.events,
        eve_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The checksum validation mode: `-k` when given, else `pcap-file.checksum-checks`
/// (`yes`/`no`/`auto`), else `auto`, as Suricata reads them; `stream.checksum-validation: no`
/// turns validation off whatever the mode (the stream engine then checks nothing).
fn checksum_mode(k: Option<&str>, cfg: &SuricataConfig) -> ChecksumMode {
    if cfg.bool("stream.checksum-validation") == Some(false) {
        return ChecksumMode::Off;
    }
    let from_cfg = || match cfg.get("pcap-file.checksum-checks") {
        Some(y) if y.as_str() == Some("auto") => ChecksumMode::Auto,
        Some(_) => match cfg.bool("pcap-file.checksum-checks") {
            Some(true) => ChecksumMode::On,
            Some(false) => ChecksumMode::Off,
            None => ChecksumMode::Auto,
        },
        None => ChecksumMode::Auto,
    };
    match k {
        Some("all") => ChecksumMode::On,
        Some("none") => ChecksumMode::Off,
        Some(_) => ChecksumMode::Auto,
        None => from_cfg(),
    }
}

/// A byte size setting as Suricata writes them: `1048576`, `1mb`, `64kb`, `2gb`.
fn size(cfg: &SuricataConfig, path: &str) -> Option<u64> {
    match cfg.get(path)? {
        yaml_rust2::Yaml::Integer(i) => u64::try_from(*i).ok(),
        yaml_rust2::Yaml::String(s) => parse_size_text(s),
        _ => None,
    }
}

/// An exception policy from suricata.yaml: the setting at `path`, else the master switch
/// `exception-policy`, else `auto` (drop-flow in IPS mode, ignore otherwise). Drop and
/// reject policies are ignored outside IPS mode, as Suricata does.
fn exception_policy(
    cfg: &SuricataConfig,
    path: &str,
    ips: bool,
) -> anyhow::Result<verdict_engine::ExceptionPolicy> {
    use verdict_engine::ExceptionPolicy as P;
    let name = cfg
        .get(path)
        .or_else(|| cfg.get("exception-policy"))
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "auto".to_string());
    let p = P::parse(&name, ips).with_context(|| {
        format!(
            "{path}: unknown exception policy {name:?} (auto, drop-packet, drop-flow, \
             pass-packet, pass-flow, bypass, reject, ignore)"
        )
    })?;
    if !ips && matches!(p, P::DropPacket | P::DropFlow | P::Reject) {
        eprintln!("verdict: note: {path}: {name} needs IPS mode (--simulate-ips); ignored");
        return Ok(P::Ignore);
    }
    Ok(p)
}

/// `packet-alert-max` as Suricata reads it: 1 to 255 alerts per packet; anything else (0,
/// negative, too large, not a number) falls back to the default of 15 with a warning.
fn packet_alert_max(cfg: &SuricataConfig) -> u16 {
    let default = verdict_engine::PACKET_ALERT_MAX_DEFAULT;
    let Some(v) = cfg.get("packet-alert-max") else {
        return default;
    };
    let n = match v {
        yaml_rust2::Yaml::Integer(i) => Some(*i),
        yaml_rust2::Yaml::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match n {
        Some(n @ 1..=255) => n as u16,
        _ => {
            eprintln!(
                "verdict: warning: invalid packet-alert-max (1 to 255 expected); using the \
                 default of {default}"
            );
            default
        }
    }
}

/// App-layer limits from suricata.yaml (libhtp's default-config body limits).
fn app_config(cfg: &SuricataConfig) -> verdict_engine::AppConfig {
    let mut a = verdict_engine::AppConfig::default();
    let base = "app-layer.protocols.http.libhtp.default-config";
    // 0 means "no limit" to Suricata; memory stays bounded here at 16 MiB a message.
    let limit = |n: u64| match n {
        0 => 16 << 20,
        n => usize::try_from(n).unwrap_or(usize::MAX).min(16 << 20),
    };
    if let Some(n) = size(cfg, &format!("{base}.request-body-limit")) {
        a.request_body_limit = limit(n);
    }
    if let Some(n) = size(cfg, &format!("{base}.response-body-limit")) {
        a.response_body_limit = limit(n);
    }
    if let Some(n) = size(cfg, &format!("{base}.response-body-decompress-layer-limit")) {
        a.decode.decompress_layer_limit = usize::try_from(n).unwrap_or(usize::MAX);
    }
    a
}

fn flow_config(cfg: &SuricataConfig, max_flows: usize) -> FlowConfig {
    let mut f = FlowConfig {
        max_flows,
        ..FlowConfig::default()
    };
    f.midstream = cfg.bool("stream.midstream").unwrap_or(false);
    let t = &mut f.timeouts;
    let set = |slot: &mut Duration, path: &str| {
        if let Some(s) = cfg.seconds(path) {
            *slot = Duration::from_secs(s);
        }
    };
    set(&mut t.tcp_new, "flow-timeouts.tcp.new");
    set(&mut t.tcp_established, "flow-timeouts.tcp.established");
    set(&mut t.tcp_closed, "flow-timeouts.tcp.closed");
    set(&mut t.udp_new, "flow-timeouts.udp.new");
    set(&mut t.udp_established, "flow-timeouts.udp.established");
    set(&mut t.other_new, "flow-timeouts.default.new");
    set(
        &mut t.other_established,
        "flow-timeouts.default.established",
    );
    f
}

/// Loads and compiles the rule files with the config's vars.
fn load_rules(args: &PcapArgs, cfg: &SuricataConfig) -> anyhow::Result<RulesInspector> {
    let mut vars = verdict_rules::Vars::suricata_defaults();
    for (k, v) in cfg.address_groups() {
        vars.set_address(&k, &v);
    }
    for (k, v) in cfg.port_groups() {
        vars.set_port(&k, &v);
    }
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| args.log_dir.clone());
    let mut builder =
        verdict_rules::RuleSet::builder()
            .vars(vars)
            .dataset_dirs(verdict_rules::DatasetDirs {
                data_dir: Some(data_dir.clone()),
            });
    for d in dataset_decls(cfg, args.config.as_deref(), &data_dir)? {
        builder.declare_dataset(d);
    }
    if let Some(order) = cfg.action_order() {
        builder = builder.action_order(&parse_action_order(&order)?);
    }
    for path in &args.rules {
        builder.add_file(path)?;
    }
    let (set, report) = builder.build();
    for e in &report.syntax_errors {
        eprintln!("verdict: rules: syntax error: {e}");
    }
    for e in &report.dataset_errors {
        eprintln!("verdict: datasets: {e}");
    }
    for r in report.invalid.iter().chain(&report.unsupported) {
        let problems: Vec<String> = r.problems.iter().map(|p| p.to_string()).collect();
        eprintln!(
            "verdict: rules: skipped sid {} ({}): {}",
            r.sid.map_or("?".to_string(), |s| s.to_string()),
            r.position,
            problems.join("; ")
        );
    }
    eprintln!(
        "verdict: rules: {} loaded, {} unsupported, {} invalid, {} syntax errors",
        report.loaded.len(),
        report.unsupported.len(),
        report.invalid.len(),
        report.syntax_errors.len()
    );
    if set.is_empty() {
        bail!(
            "no usable rules in {} file(s); see the messages above",
            args.rules.len()
        );
    }
    Ok(RulesInspector::new(Arc::new(set)))
}

/// The datasets declared in suricata.yaml's `datasets:` section (`defaults` gives the memcap
/// of those without their own). A relative `load` is read next to the config file, a
/// relative `state` lives in the data directory (and is loaded from there when it exists).
fn dataset_decls(
    cfg: &SuricataConfig,
    config_path: Option<&Path>,
    data_dir: &Path,
) -> anyhow::Result<Vec<verdict_rules::DatasetDecl>> {
    use yaml_rust2::Yaml;
    let Some(Yaml::Hash(sets)) = cfg.get("datasets") else {
        return Ok(Vec::new());
    };
    let config_dir = config_path
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let text = |h: &yaml_rust2::yaml::Hash, k: &str| -> Option<String> {
        match h.get(&Yaml::String(k.into()))? {
            Yaml::String(s) => Some(s.clone()),
            Yaml::Integer(i) => Some(i.to_string()),
            _ => None,
        }
    };
    let default_memcap = match sets.get(&Yaml::String("defaults".into())) {
        Some(Yaml::Hash(d)) => text(d, "memcap").and_then(|m| parse_size_text(&m)),
        _ => None,
    };
    let mut out = Vec::new();
    for (name, body) in sets {
        let (Some(name), Yaml::Hash(h)) = (name.as_str(), body) else {
            continue;
        };
        if name == "defaults" {
            continue;
        }
        let kind = match text(h, "type") {
            Some(t) => Some(
                verdict_rules::DatasetType::parse(&t)
                    .with_context(|| format!("datasets.{name}.type: unknown type {t:?}"))?,
            ),
            None => None,
        };
        let mut decl = verdict_rules::DatasetDecl {
            name: name.to_string(),
            kind,
            memcap: text(h, "memcap")
                .and_then(|m| parse_size_text(&m))
                .or(default_memcap),
            ..Default::default()
        };
        if let Some(l) = text(h, "load") {
            let p = Path::new(&l);
            decl.load = Some(if p.is_absolute() {
                p.to_path_buf()
            } else {
                config_dir.join(p)
            });
        }
        if let Some(st) = text(h, "state") {
            let p = Path::new(&st);
            let path = if p.is_absolute() {
                p.to_path_buf()
            } else {
                data_dir.join(p)
            };
            if decl.load.is_none() && path.exists() {
                decl.load = Some(path.clone());
            }
            decl.save = Some(path);
        }
        out.push(decl);
    }
    Ok(out)
}

/// A byte size in text (`10mb`, `4096`).
fn parse_size_text(t: &str) -> Option<u64> {
    let t = t.trim().to_ascii_lowercase();
    let digits = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = match t[digits.len()..].trim() {
        "" | "b" => 1,
        "kb" | "k" | "kib" => 1 << 10,
        "mb" | "m" | "mib" => 1 << 20,
        "gb" | "g" | "gib" => 1 << 30,
        _ => return None,
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(unit)
}

/// Maps suricata.yaml's `action-order` names to rule actions.
fn parse_action_order(names: &[String]) -> anyhow::Result<Vec<verdict_rules::Action>> {
    use verdict_rules::Action;
    names
        .iter()
        .map(|n| {
            Ok(match n.trim() {
                "pass" => Action::Pass,
                "drop" => Action::Drop,
                "reject" => Action::Reject,
                "rejectsrc" => Action::RejectSrc,
                "rejectdst" => Action::RejectDst,
                "rejectboth" => Action::RejectBoth,
                "alert" => Action::Alert,
                other => bail!(
                    "action-order: unknown action {other:?} (expected pass, drop, reject, alert)"
                ),
            })
        })
        .collect()
}

/// Which events to write.
#[derive(Debug, Clone)]
pub struct Outputs {
    /// Alert events.
    pub alerts: bool,
    /// Drop events, and how.
    pub drops: Option<DropLog>,
    /// Flow events (one per ended flow).
    pub flows: bool,
    /// Payload fields in alerts.
    pub payload: eve::PayloadOptions,
    /// App-layer metadata in alerts (`http`, `dns`, `tls`, `ssh`; `xff`).
    pub app_meta: crate::eve_app::AppMetaOptions,
}

/// Failures to simulate while reading a capture (Suricata's QA `--simulate-*` options).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Simulation {
    /// The packet number (1-based, as `pcap_cnt`) on which IP reassembly hits its memory
    /// limit.
    pub defrag_memcap_at: Option<u64>,
}

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Packets read.
    pub packets: u64,
    /// Packets that could not be decoded.
    pub invalid: u64,
    /// Alerts.
    pub alerts: u64,
    /// Packets dropped (IPS).
    pub dropped: u64,
    /// Flows seen.
    pub flows: u64,
    /// EVE events written.
    pub events: u64,
}

/// Reads `path` and feeds every packet to `engine`, writing events to `writer`.
pub fn inspect_capture<I: Inspector, W: std::io::Write>(
    path: &Path,
    mut engine: Engine<I>,
    mut writer: EveWriter<W>,
    outputs: Outputs,
    sim: Simulation,
) -> anyhow::Result<RunSummary> {
    let ips = engine.config().ips;
    let mut pcap_cnt = 0u64;
    let mut last_expire = Duration::ZERO;
    let mut last_ts = Duration::ZERO;
    let mut bad_link: Option<u32> = None;
    for_each_packet(path, |ts, linktype, data| {
        pcap_cnt += 1;
        last_ts = ts;
        let link = match LinkType::from_pcap(linktype) {
            Ok(l) => l,
            Err(e) => {
                if bad_link != Some(linktype) {
                    eprintln!("verdict: warning: packet {pcap_cnt}: {e}");
                    bad_link = Some(linktype);
                }
                return Ok(());
            }
        };
        if ts.saturating_sub(last_expire) >= Duration::from_secs(1) {
            engine.expire(ts);
            last_expire = ts;
            write_ended(&mut engine, &mut writer, &outputs, ips)?;
        }
        if sim.defrag_memcap_at == Some(pcap_cnt) {
            engine.simulate_defrag_memcap();
        }
        let d = engine.inspect(ts, data, PacketMeta { link });
        let Some(p) = d.packet else { return Ok(()) };
        let ctx = EventContext {
            ts,
            pcap_cnt: Some(pcap_cnt),
            in_iface: None,
            ips,
        };
        // Suricata adds the packet's final verdict to its events in IPS mode.
        let verdict = ips.then(|| eve::EveVerdict::of(d.verdict.is_drop(), d.flow_passed));
        if outputs.alerts {
            for a in d.alerts {
                let mut ev = eve::alert_event(&ctx, &p, a);
                ev.add_app_meta(a, &outputs.app_meta);
                ev.verdict = verdict;
                ev.add_payload(data, &p, false, &outputs.payload);
                if a.stream && !d.stream_payload.is_empty() {
                    ev.add_stream_payload(d.stream_payload, &outputs.payload);
                }
                if outputs.payload.packet {
                    ev.packet_info = Some(eve::PacketInfo { linktype });
                }
                writer.write_event(&ev)?;
            }
        }
        if let Some(dl) = outputs.drops {
            if d.drop_reason.is_some() && (dl.all || d.first_drop_in_direction) {
                if let Some(mut ev) = eve::drop_event(&ctx, &d, &p, dl.alerts) {
                    ev.verdict = verdict;
                    writer.write_event(&ev)?;
                }
            }
        }
        for inner in d.inner {
            if outputs.alerts {
                for a in d.alerts_of(inner) {
                    let mut ev = eve::inner_alert_event(&ctx, inner, a);
                    ev.add_app_meta(a, &outputs.app_meta);
                    ev.verdict = verdict;
                    let defrag = inner.pkt_src == verdict_engine::PKT_SRC_DEFRAG;
                    if defrag {
                        ev.add_payload(d.reassembled, &inner.packet, false, &outputs.payload);
                    } else {
                        ev.add_payload(data, &inner.packet, true, &outputs.payload);
                    }
                    if outputs.payload.packet {
                        ev.packet_info = Some(eve::PacketInfo::raw_ip(&inner.packet));
                        if defrag {
                            // Suricata rebuilds a datagram behind the link header of the
                            // capture (its first fragment's), keeping the capture's link
                            // type; the completing fragment's header stands in for it.
                            let mut bytes = data.get(..p.ip_offset).unwrap_or(&[]).to_vec();
                            bytes.extend_from_slice(d.reassembled);
                            ev.packet = Some(eve::base64(&bytes));
                            ev.packet_info = Some(eve::PacketInfo { linktype });
                        }
                    }
                    writer.write_event(&ev)?;
                }
            }
            if let Some(dl) = outputs.drops {
                if inner.drop_reason.is_some() && (dl.all || inner.first_drop_in_direction) {
                    if let Some(mut ev) = eve::inner_drop_event(&ctx, &d, inner, dl.alerts) {
                        ev.verdict = verdict;
                        writer.write_event(&ev)?;
                    }
                }
            }
        }
        if outputs.flows {
            write_ended(&mut engine, &mut writer, &outputs, ips)?;
        }
        Ok(())
    })?;
    let mut st = engine.stats();
    let fs = engine.flow_stats();
    engine.drain();
    write_ended(&mut engine, &mut writer, &outputs, ips)?;
    // Alerts raised on the streams of the flows that ended with the capture count too.
    let end = engine.stats();
    st.alerts = end.alerts;
    st.alert_queue_overflow = end.alert_queue_overflow;
    st.alerts_suppressed = end.alerts_suppressed;
    let counters = StatsCounters {
        uptime: 0,
        decoder: eve::DecoderStats {
            pkts: st.packets,
            bytes: st.bytes,
            invalid: st.invalid,
        },
        flow: eve::FlowStatsOut {
            active: fs.active as u64,
            total: fs.created,
            expired: fs.expired,
            evicted: fs.evicted,
        },
        detect: eve::DetectStats {
            alert: st.alerts,
            alert_queue_overflow: st.alert_queue_overflow,
            alerts_suppressed: st.alerts_suppressed,
        },
        ips: eve::IpsStats {
            accepted: st.packets.saturating_sub(st.dropped),
            blocked: st.dropped,
            drop_reason: eve::DropReasonOut {
                rules: st.drop_reasons.rules,
                flow_drop: st.drop_reasons.flow_drop,
                decode_error: st.drop_reasons.decode_error,
                defrag_memcap: st.drop_reasons.defrag_memcap,
            },
        },
        tcp: eve::TcpStats {
            reassembly_gap: st.stream.gaps,
            segment_memcap_drop: st.stream.memcap_drops,
            overlap_diff_data: st.stream.overlaps_different,
            invalid_checksum: st.invalid_checksum,
        },
    };
    writer.write_event(&eve::stats_event(last_ts, counters))?;
    writer.flush().context("cannot write eve.json")?;
    Ok(RunSummary {
        events: writer.events(),
        packets: pcap_cnt,
        invalid: st.invalid,
        alerts: st.alerts,
        dropped: st.dropped,
        flows: fs.created,
    })
}

/// Writes the alerts raised on the remaining stream data of flows that ended (Suricata's
/// `stream (flow timeout)` pseudo packets), then the flow events of the flows that ended.
fn write_ended<I: Inspector, W: std::io::Write>(
    engine: &mut Engine<I>,
    writer: &mut EveWriter<W>,
    outputs: &Outputs,
    ips: bool,
) -> anyhow::Result<()> {
    let mut err = None;
    engine.take_stream_end_alerts(|a| {
        if err.is_some() || !outputs.alerts {
            return;
        }
        let ctx = EventContext {
            ts: a.ts,
            pcap_cnt: None,
            in_iface: None,
            ips,
        };
        let mut ev = eve::alert_event(&ctx, &a.packet, &a.alert);
        ev.header.pkt_src = verdict_engine::PKT_SRC_STREAM_END;
        ev.add_app_meta(&a.alert, &outputs.app_meta);
        if a.alert.stream {
            ev.add_stream_payload(&a.payload, &outputs.payload);
        }
        err = writer.write_event(&ev).err();
    });
    if let Some(e) = err {
        return Err(e).context("cannot write eve.json");
    }
    engine.take_ended_flows(|f| {
        if err.is_none() {
            err = writer.write_event(&eve::flow_event(f)).err();
        }
    });
    match err {
        Some(e) => Err(e).context("cannot write eve.json"),
        None => Ok(()),
    }
}

/// Calls `f(timestamp, linktype, bytes)` for every packet of a pcap or pcapng file.
pub fn for_each_packet(
    path: &Path,
    mut f: impl FnMut(Duration, u32, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut file =
        File::open(path).with_context(|| format!("cannot open capture {}", path.display()))?;
    let mut magic = [0u8; 4];
    file.read_exact(&mut magic)
        .with_context(|| format!("{} is too short to be a capture", path.display()))?;
    let file =
        File::open(path).with_context(|| format!("cannot open capture {}", path.display()))?;
    let rd = BufReader::with_capacity(1 << 16, file);
    if magic == [0x0a, 0x0d, 0x0d, 0x0a] {
        let mut r = pcap_file::pcapng::PcapNgReader::new(rd)
            .with_context(|| format!("{}: not a valid pcapng file", path.display()))?;
        // pcap-file 2.0 reports raw pcapng timestamps as nanoseconds whatever the interface's
        // if_tsresol; convert with the resolution ourselves (default: microseconds).
        let mut last_ts = Duration::ZERO;
        // (linktype, if_tsresol) per interface of the current section.
        let mut ifaces: Vec<(u32, u8)> = Vec::new();
        while let Some(block) = r.next_block() {
            let block =
                block.with_context(|| format!("{}: corrupt pcapng block", path.display()))?;
            use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
            use pcap_file::pcapng::Block;
            match block {
                Block::SectionHeader(_) => ifaces.clear(),
                Block::InterfaceDescription(idb) => {
                    let resol = idb
                        .options
                        .iter()
                        .find_map(|o| match o {
                            InterfaceDescriptionOption::IfTsResol(r) => Some(*r),
                            _ => None,
                        })
                        .unwrap_or(6);
                    ifaces.push((u32::from(idb.linktype), resol));
                }
                Block::EnhancedPacket(epb) => {
                    let Some(&(linktype, resol)) = ifaces.get(epb.interface_id as usize) else {
                        bail!(
                            "{}: packet on undeclared interface {}",
                            path.display(),
                            epb.interface_id
                        );
                    };
                    let raw = epb.timestamp.as_nanos() as u64;
                    let ts = ts_from_units(raw, resol);
                    last_ts = ts;
                    f(ts, linktype, &epb.data)?;
                }
                Block::SimplePacket(spb) => {
                    let Some(&(linktype, _)) = ifaces.first() else {
                        bail!("{}: simple packet before any interface", path.display());
                    };
                    f(last_ts, linktype, &spb.data)?;
                }
                _ => {}
            }
        }
    } else {
        let mut r = pcap_file::pcap::PcapReader::new(rd)
            .with_context(|| format!("{}: not a pcap or pcapng file", path.display()))?;
        let linktype = u32::from(r.header().datalink);
        while let Some(pkt) = r.next_packet() {
            let pkt = pkt.with_context(|| format!("{}: corrupt packet record", path.display()))?;
            f(pkt.timestamp, linktype, &pkt.data)?;
        }
    }
    Ok(())
}

/// Converts a pcapng timestamp in `if_tsresol` units to a duration.
fn ts_from_units(raw: u64, resol: u8) -> Duration {
    if resol & 0x80 == 0 {
        let exp = (resol & 0x7f) as u32;
        match 10u64.checked_pow(exp) {
            Some(per_sec) if per_sec > 0 => {
                let secs = raw / per_sec;
                let frac = raw % per_sec;
                let nanos = if exp <= 9 {
                    frac * 10u64.pow(9 - exp)
                } else {
                    frac / 10u64.pow(exp - 9)
                };
                Duration::new(secs, nanos as u32)
            }
            _ => Duration::ZERO,
        }
    } else {
        let exp = (resol & 0x7f) as u32;
        if exp >= 64 {
            return Duration::ZERO;
        }
        let secs = raw >> exp;
        let frac = raw & ((1u64 << exp) - 1);
        let nanos = ((frac as u128 * 1_000_000_000) >> exp) as u32;
        Duration::new(secs, nanos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
    use pcap_file::pcapng::blocks::interface_description::{
        InterfaceDescriptionBlock, InterfaceDescriptionOption,
    };
    use pcap_file::DataLink;

    fn udp(src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
        let total = 28 + payload.len();
        let mut v = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
        v.extend_from_slice(&[
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            1,
            0,
            0,
            64,
            17,
            0,
            0,
        ]);
        v.extend_from_slice(&src);
        v.extend_from_slice(&dst);
        v.extend_from_slice(&[0x13, 0x88, 0, 53]);
        v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(payload);
        v
    }

    fn engine(ips: bool) -> Engine<RulesInspector> {
        let text =
            "drop udp any any -> any 53 (msg:\"bad dns\"; content:\"evil\"; sid:9; rev:2;)\n\
                    alert udp any any -> any any (msg:\"any udp\"; dsize:>0; sid:10;)";
        let parsed = verdict_rules::parse_str(text, "t.rules");
        let (set, _) = verdict_rules::RuleSet::compile(
            &parsed.rules,
            &verdict_rules::Vars::suricata_defaults(),
        );
        Engine::new(
            RulesInspector::new(Arc::new(set)),
            EngineConfig {
                ips,
                flow_events: true,
                ..Default::default()
            },
        )
    }

    fn events(path: &Path, ips: bool, drops: Option<DropLog>) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        let w = EveWriter::new(&mut out);
        inspect_capture(
            path,
            engine(ips),
            w,
            Outputs {
                alerts: true,
                drops,
                flows: true,
                payload: eve::PayloadOptions::default(),
                app_meta: crate::eve_app::AppMetaOptions::default(),
            },
            Simulation::default(),
        )
        .unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn pcapng_end_to_end_ips() {
        let dir = std::env::temp_dir().join(format!("verdict-pcap-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.pcapng");
        {
            let f = File::create(&path).unwrap();
            let mut w = pcap_file::pcapng::PcapNgWriter::new(f).unwrap();
            let idb = InterfaceDescriptionBlock {
                linktype: DataLink::ETHERNET,
                snaplen: 65535,
                options: vec![InterfaceDescriptionOption::IfTsResol(9)],
            };
            w.write_pcapng_block(idb).unwrap();
            for (i, payload) in [&b"hello"[..], b"an evil query", b"after"]
                .iter()
                .enumerate()
            {
                let data = udp([198, 18, 0, 1], [198, 18, 0, 2], payload);
                let epb = EnhancedPacketBlock {
                    interface_id: 0,
                    timestamp: Duration::from_secs(1_704_110_400 + i as u64),
                    original_len: data.len() as u32,
                    data: data.into(),
                    options: vec![],
                };
                w.write_pcapng_block(epb).unwrap();
            }
        }
        let ev = events(
            &path,
            true,
            Some(DropLog {
                all: false,
                alerts: true,
            }),
        );
        let kinds: Vec<(&str, u64)> = ev
            .iter()
            .map(|e| {
                (
                    e["event_type"].as_str().unwrap(),
                    e["pcap_cnt"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        // sid 10 alerts on every packet (dsize keeps it from being IP-only, which would alert
        // once per direction); sid 9 drops packet 2 (content rule: packet scope).
        assert_eq!(
            kinds,
            vec![
                ("alert", 1),
                ("alert", 2),
                ("alert", 2),
                ("drop", 2),
                ("alert", 3),
                ("flow", 0),
                ("stats", 0)
            ]
        );
        assert_eq!(ev[1]["alert"]["signature_id"], 9);
        assert_eq!(ev[1]["alert"]["action"], "blocked");
        assert_eq!(ev[1]["alert"]["rev"], 2);
        assert_eq!(ev[2]["alert"]["action"], "allowed");
        assert_eq!(ev[3]["drop"]["reason"], "rules");
        assert_eq!(ev[3]["alert"]["signature_id"], 9);
        assert_eq!(ev[0]["timestamp"], "2024-01-01T12:00:00.000000+0000");
        assert_eq!(ev[0]["proto"], "UDP");
        assert_eq!(ev[0]["dest_port"], 53);
        assert_eq!(ev[5]["flow"]["pkts_toserver"], 3);
        assert_eq!(ev[5]["flow"]["reason"], "shutdown");
        assert_eq!(ev[5]["flow"]["alerted"], true);
        assert_eq!(ev[6]["stats"]["ips"]["blocked"], 1);
        // IDS mode: the drop rule only alerts.
        let ev = events(
            &path,
            false,
            Some(DropLog {
                all: true,
                alerts: true,
            }),
        );
        assert!(ev.iter().all(|e| e["event_type"] != "drop"));
        assert_eq!(ev[1]["alert"]["action"], "allowed");
        // Classic pcap too.
        let p2 = dir.join("t.pcap");
        {
            let f = File::create(&p2).unwrap();
            let mut w = pcap_file::pcap::PcapWriter::new(f).unwrap();
            let data = udp([198, 18, 0, 1], [198, 18, 0, 2], b"evil");
            w.write_packet(&pcap_file::pcap::PcapPacket::new(
                Duration::from_secs(5),
                data.len() as u32,
                &data,
            ))
            .unwrap();
        }
        let ev = events(&p2, true, None);
        assert_eq!(
            ev.len(),
            4,
            "two alerts, a flow and stats, no drop events when not configured"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn checksum_mode_from_flag_and_config() {
        let cfg = |text: &str| SuricataConfig::parse(text).unwrap();
        let none = SuricataConfig::default();
        assert_eq!(checksum_mode(None, &none), ChecksumMode::Auto);
        assert_eq!(checksum_mode(Some("all"), &none), ChecksumMode::On);
        assert_eq!(checksum_mode(Some("none"), &none), ChecksumMode::Off);
        assert_eq!(checksum_mode(Some("auto"), &none), ChecksumMode::Auto);
        let yes = cfg("pcap-file:\n  checksum-checks: yes\n");
        assert_eq!(checksum_mode(None, &yes), ChecksumMode::On);
        // The flag wins over the config.
        assert_eq!(checksum_mode(Some("none"), &yes), ChecksumMode::Off);
        let no = cfg("pcap-file:\n  checksum-checks: no\n");
        assert_eq!(checksum_mode(None, &no), ChecksumMode::Off);
        let auto = cfg("pcap-file:\n  checksum-checks: auto\n");
        assert_eq!(checksum_mode(None, &auto), ChecksumMode::Auto);
        // No stream validation: nothing is validated, whatever -k says.
        let off = cfg("stream:\n  checksum-validation: no\n");
        assert_eq!(checksum_mode(Some("all"), &off), ChecksumMode::Off);
    }

    #[test]
    fn unreadable_capture_is_an_error() {
        let r = for_each_packet(Path::new("/nonexistent/x.pcap"), |_, _, _| Ok(()));
        assert!(r.is_err());
        let dir = std::env::temp_dir().join(format!("verdict-pcap-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("bad.pcap");
        std::fs::write(&p, b"this is not a capture file").unwrap();
        assert!(for_each_packet(&p, |_, _, _| Ok(())).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn pcapng_resolutions() {
        assert_eq!(ts_from_units(1_500_000, 6), Duration::from_millis(1500));
        assert_eq!(ts_from_units(1_500_000_000, 9), Duration::from_millis(1500));
        assert_eq!(
            ts_from_units(3 << 10 | 512, 0x80 | 10),
            Duration::from_millis(3500)
        );
        assert_eq!(ts_from_units(5, 0), Duration::from_secs(5));
        assert_eq!(ts_from_units(5, 0x7f), Duration::ZERO);
    }
}
