//! Results: the JSON document, the ratios to the C peer and to the ceiling, the Markdown
//! tables and the check of the targets.
//!
//! Ratios are computed within one run only (the machine's absolute numbers wander between
//! runs; its ratios much less): `x / reference` for every figure, so > 1 is better for
//! packets/s and Mbit/s, < 1 is better for CPU per packet and latency.

use std::fmt::Write as _;

use serde::Serialize;

use crate::harness::{ContenderStatus, Metrics, Row, Settings, Topology};

/// The id of the C peer, batch 1: the first reference.
pub const C_REF: &str = "c-b1";
/// The id of the no-queue ceiling: the second reference.
pub const CEILING: &str = "no-queue";
/// Below this loss a contender delivered everything offered: at "saturation" the sender, not
/// the contender, was the limit.
pub const SENDER_BOUND_LOSS: f64 = 0.005;

/// Machine facts printed with the results.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Online CPUs.
    pub nproc: usize,
    /// Kernel release.
    pub kernel: String,
    /// CPU model name.
    pub cpu: String,
}

impl Machine {
    /// Reads this machine's facts.
    pub fn detect() -> Machine {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|s| s.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        Machine {
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_owned())
                .unwrap_or_else(|_| "unknown".into()),
            cpu,
        }
    }
}

/// Ratios of one row's figures to a reference row's.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Ratios {
    /// Delivered packets/s.
    pub pps: Option<f64>,
    /// TCP Mbit/s.
    pub mbps: Option<f64>,
    /// CPU ns per packet.
    pub cpu_ns_per_pkt: Option<f64>,
    /// p50 latency.
    pub p50: Option<f64>,
    /// p99 latency.
    pub p99: Option<f64>,
    /// p99.9 latency.
    pub p999: Option<f64>,
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 && a.is_finite() => Some(a / b),
        _ => None,
    }
}

impl Ratios {
    /// `m / reference`, figure by figure.
    pub fn of(m: &Metrics, reference: &Metrics) -> Ratios {
        Ratios {
            pps: ratio(m.pps, reference.pps),
            mbps: ratio(m.mbps, reference.mbps),
            cpu_ns_per_pkt: ratio(m.cpu_ns_per_pkt, reference.cpu_ns_per_pkt),
            p50: ratio(m.p50_us, reference.p50_us),
            p99: ratio(m.p99_us, reference.p99_us),
            p999: ratio(m.p999_us, reference.p999_us),
        }
    }
}

/// A row with its ratios.
#[derive(Debug, Clone, Serialize)]
pub struct RatedRow {
    /// The measurement.
    #[serde(flatten)]
    pub row: Row,
    /// Ratios to the C peer, batch 1 (same topology and test).
    pub vs_c_batch1: Ratios,
    /// Ratios to the no-queue ceiling (same topology and test).
    pub vs_ceiling: Ratios,
}

/// One target of the issue and whether this run meets it.
#[derive(Debug, Clone, Serialize)]
pub struct TargetCheck {
    /// The target, in words.
    pub target: String,
    /// The measured ratio or figure, in words.
    pub measured: String,
    /// Met, missed, or None when a figure is missing.
    pub met: Option<bool>,
}

/// The whole result document (`results.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// UTC date and time of the run.
    pub date: String,
    /// The command line.
    pub command: String,
    /// The machine.
    pub machine: Machine,
    /// Quick (smoke) run.
    pub quick: bool,
    /// Settings.
    pub settings: Settings,
    /// Every contender and whether it ran.
    pub contenders: Vec<ContenderStatus>,
    /// Every measurement, with ratios.
    pub rows: Vec<RatedRow>,
    /// The targets.
    pub targets: Vec<TargetCheck>,
}

/// Adds the ratios to the rows.
pub fn rate(rows: Vec<Row>) -> Vec<RatedRow> {
    let find = |rows: &[Row], topo: Topology, test: &str, id: &str| -> Option<Metrics> {
        rows.iter()
            .find(|r| r.topology == topo && r.test == test && r.contender == id)
            .map(|r| r.metrics.clone())
    };
    rows.iter()
        .map(|r| {
            let c = find(&rows, r.topology, &r.test, C_REF);
            let ceil = find(&rows, r.topology, &r.test, CEILING);
            RatedRow {
                row: r.clone(),
                vs_c_batch1: c.map(|c| Ratios::of(&r.metrics, &c)).unwrap_or_default(),
                vs_ceiling: ceil.map(|c| Ratios::of(&r.metrics, &c)).unwrap_or_default(),
            }
        })
        .collect()
}

fn metric<'a>(rows: &'a [RatedRow], test: &str, id: &str) -> Option<&'a Metrics> {
    metric_on(rows, Topology::Gateway, test, id)
}

fn metric_on<'a>(
    rows: &'a [RatedRow],
    topo: Topology,
    test: &str,
    id: &str,
) -> Option<&'a Metrics> {
    rows.iter()
        .find(|r| r.row.topology == topo && r.row.test == test && r.row.contender == id)
        .map(|r| &r.row.metrics)
}

/// Checks the targets on the gateway, 64-byte saturation test (the per-packet cost
/// dominates there; packets/s from the one-CPU run where two CPUs were sender-bound), on the
/// TCP transfer and on the latency test.
pub fn targets(rows: &[RatedRow]) -> Vec<TargetCheck> {
    let t = "udp64-sat";
    let cpu = |id: &str| metric(rows, t, id).and_then(|m| m.cpu_ns_per_pkt);
    let mut out = Vec::new();
    let io = "verdict-io-b32";
    let check = |target: &str, a: Option<f64>, b: Option<f64>, want: f64, higher: bool| {
        let r = ratio(a, b);
        TargetCheck {
            target: target.to_owned(),
            measured: r.map_or("n/a (a figure is missing)".into(), |r| format!("{r:.2}x")),
            met: r.map(|r| if higher { r >= want } else { r < want }),
        }
    };
    // A packets/s ratio only compares capacities when at least one side could not keep up
    // (it lost packets); when both delivered everything offered, the sender was the limit,
    // and the one-CPU run (contender and sender time-share a CPU) answers instead.
    let pps_check = |target: &str, a: &str, b: &str, want: f64| {
        let mut notes = Vec::new();
        for topo in [Topology::Gateway, Topology::GatewayOneCpu] {
            let m = |id: &str| metric_on(rows, topo, t, id);
            let mut c = check(
                target,
                m(a).and_then(|m| m.pps),
                m(b).and_then(|m| m.pps),
                want,
                true,
            );
            let loss = |id: &str| m(id).and_then(|m| m.loss);
            // On one CPU the sender slows down as the contender takes its share, so the
            // delivered rate is the capacity measure whatever the loss.
            let bound = topo == Topology::Gateway
                && matches!(
                    (loss(a), loss(b)),
                    (Some(la), Some(lb)) if la < SENDER_BOUND_LOSS && lb < SENDER_BOUND_LOSS
                );
            if c.met.is_some() && !bound {
                c.measured = format!("{} ({})", c.measured, topo.name());
                if !notes.is_empty() {
                    c.measured = format!("{}; {}", notes.join("; "), c.measured);
                }
                return c;
            }
            if c.met.is_some() {
                notes.push(format!(
                    "{} on {}, both delivered all that was offered (sender-bound)",
                    c.measured,
                    topo.name()
                ));
            }
        }
        TargetCheck {
            target: target.to_owned(),
            measured: if notes.is_empty() {
                "n/a (a figure is missing)".into()
            } else {
                format!("{}: not a capacity comparison", notes.join("; "))
            },
            met: None,
        }
    };
    out.push(pps_check(
        "Verdict I/O accept-all >= 1.5x the C per-packet loop (pkt/s, 64 B)",
        io,
        "c-b1",
        1.5,
    ));
    out.push(pps_check(
        "Verdict I/O accept-all >= the C batch-32 loop (pkt/s)",
        io,
        "c-b32",
        1.0,
    ));
    out.push(check(
        "Verdict I/O accept-all: lower CPU per packet than the C per-packet loop",
        cpu(io),
        cpu("c-b1"),
        1.0,
        false,
    ));
    out.push(check(
        "Verdict I/O accept-all: lower CPU per packet than the C batch-32 loop",
        cpu(io),
        cpu("c-b32"),
        1.0,
        false,
    ));
    // The same, for the user-space part only (the contender's own code, without the
    // kernel's receive/verdict/reinjection work that every contender pays alike).
    let user = |id: &str| metric(rows, t, id).and_then(|m| m.user_ns_per_pkt);
    out.push(check(
        "(user space only) Verdict I/O accept-all vs the C per-packet loop",
        user(io),
        user("c-b1"),
        1.0,
        false,
    ));
    out.push(check(
        "(user space only) Verdict I/O accept-all vs the C batch-32 loop",
        user(io),
        user("c-b32"),
        1.0,
        false,
    ));
    out.push(pps_check(
        "verdict run, all ET Open rules >= 0.5x Verdict's accept-all (I/O example, batch 32)",
        "verdict-etall",
        io,
        0.5,
    ));
    out.push(pps_check(
        "verdict run, all ET Open rules >= 0.5x verdict run with no rules",
        "verdict-etall",
        "verdict-norules",
        0.5,
    ));
    // TCP adapts its rate to the path, so its goodput compares capacities even where the
    // UDP sender is the limit.
    let mbps = |id: &str| metric(rows, "tcp", id).and_then(|m| m.mbps);
    for (target, a, b, want) in [
        (
            "Verdict I/O accept-all >= 1.5x the C per-packet loop (TCP Mbit/s)",
            io,
            "c-b1",
            1.5,
        ),
        (
            "Verdict I/O accept-all >= the C batch-32 loop (TCP Mbit/s)",
            io,
            "c-b32",
            1.0,
        ),
        (
            "verdict run, all ET Open rules >= 0.5x Verdict's accept-all (TCP Mbit/s)",
            "verdict-etall",
            io,
            0.5,
        ),
        (
            "verdict run, all ET Open rules >= 0.5x verdict run with no rules (TCP Mbit/s)",
            "verdict-etall",
            "verdict-norules",
            0.5,
        ),
    ] {
        out.push(check(target, mbps(a), mbps(b), want, true));
    }
    for id in ["verdict-norules", "verdict-et1000", "verdict-etall", io] {
        let p99 = metric(rows, "latency", id).and_then(|m| m.p99_us);
        out.push(TargetCheck {
            target: format!("{id}: p99 round trip < 1 ms at half its saturating rate"),
            measured: p99.map_or("n/a".into(), |p| format!("{p:.0} µs")),
            met: p99.map(|p| p < 1000.0),
        });
    }
    out
}

fn f(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".into(), |v| format!("{v:.digits$}"))
}

fn x(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.2}x"))
}

fn thousands(v: Option<f64>) -> String {
    let Some(v) = v else { return "–".into() };
    let s = format!("{:.0}", v);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The Markdown report: one table per topology and test, then the contenders and targets.
pub fn markdown(r: &Results) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Run {} on {} CPUs ({}), kernel {}; {} s per test{}; sender/sink on CPU {}, contender on CPU {}{}.\n",
        r.date,
        r.machine.nproc,
        r.machine.cpu,
        r.machine.kernel,
        r.settings.secs,
        if r.quick { " (quick run)" } else { "" },
        r.settings.sender_cpu,
        r.settings.contender_cpu,
        if r.settings.realtime {
            " (real-time priority, `chrt -f 1`)"
        } else {
            ""
        }
    );
    let mut seen: Vec<(Topology, String)> = Vec::new();
    for row in &r.rows {
        let key = (row.row.topology, row.row.test.clone());
        if !seen.contains(&key) {
            seen.push(key);
        }
    }
    let label = |id: &str| {
        r.contenders
            .iter()
            .find(|c| c.id == id)
            .map_or(id.to_owned(), |c| c.label.clone())
    };
    for (topo, test) in &seen {
        let _ = writeln!(md, "### {} -- {}\n", topo.name(), describe_test(test));
        let rows: Vec<&RatedRow> = r
            .rows
            .iter()
            .filter(|x| x.row.topology == *topo && &x.row.test == test)
            .collect();
        if test == "tcp" {
            let _ = writeln!(md, "| contender | Mbit/s | CPU ns/pkt | Mbit/s vs C b1 | Mbit/s vs ceiling | CPU vs C b1 |");
            let _ = writeln!(md, "| --- | ---: | ---: | ---: | ---: | ---: |");
            for x_ in rows {
                let m = &x_.row.metrics;
                if let Some(e) = &m.error {
                    let _ = writeln!(
                        md,
                        "| {} | error: {} | | | | |",
                        label(&x_.row.contender),
                        one_line(e)
                    );
                    continue;
                }
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} | {} |",
                    label(&x_.row.contender),
                    f(m.mbps, 0),
                    f(m.cpu_ns_per_pkt, 0),
                    x(x_.vs_c_batch1.mbps),
                    x(x_.vs_ceiling.mbps),
                    x(x_.vs_c_batch1.cpu_ns_per_pkt),
                );
            }
        } else if test == "latency" {
            let _ = writeln!(md, "| contender | flood pkt/s | RTT p50 µs | p99 µs | p99.9 µs | pings lost | p99 vs C b1 | p99 vs ceiling |");
            let _ = writeln!(
                md,
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
            );
            for x_ in rows {
                let m = &x_.row.metrics;
                if let Some(e) = &m.error {
                    let _ = writeln!(
                        md,
                        "| {} | error: {} | | | | | | |",
                        label(&x_.row.contender),
                        one_line(e)
                    );
                    continue;
                }
                let lost = m.pings.map_or("–".into(), |(s, l)| format!("{l}/{s}"));
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} | {} | {} | {} |",
                    label(&x_.row.contender),
                    thousands(m.offered_pps),
                    f(m.p50_us, 0),
                    f(m.p99_us, 0),
                    f(m.p999_us, 0),
                    lost,
                    x(x_.vs_c_batch1.p99),
                    x(x_.vs_ceiling.p99),
                );
            }
        } else {
            let _ = writeln!(md, "| contender | offered pkt/s | delivered pkt/s | loss | CPU ns/pkt (user) | pkt/s vs C b1 | pkt/s vs ceiling | CPU vs C b1 |");
            let _ = writeln!(
                md,
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
            );
            for x_ in rows {
                let m = &x_.row.metrics;
                if let Some(e) = &m.error {
                    let _ = writeln!(
                        md,
                        "| {} | error: {} | | | | | | |",
                        label(&x_.row.contender),
                        one_line(e)
                    );
                    continue;
                }
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} | {} | {} | {} |",
                    label(&x_.row.contender),
                    thousands(m.offered_pps),
                    thousands(m.pps),
                    m.loss.map_or("–".into(), |l| format!("{:.1}%", l * 100.0)),
                    cpu_cell(m),
                    x(x_.vs_c_batch1.pps),
                    x(x_.vs_ceiling.pps),
                    x(x_.vs_c_batch1.cpu_ns_per_pkt),
                );
            }
        }
        md.push('\n');
    }
    let _ = writeln!(md, "### Contenders\n");
    let _ = writeln!(md, "| id | contender | status | notes |");
    let _ = writeln!(md, "| --- | --- | --- | --- |");
    for c in &r.contenders {
        let note = match (&c.reason, &c.note) {
            (Some(r), _) => one_line(r),
            (None, Some(n)) => n.clone(),
            (None, None) => String::new(),
        };
        let _ = writeln!(md, "| {} | {} | {} | {} |", c.id, c.label, c.status, note);
    }
    let _ = writeln!(md, "\n### Targets (issue 6)\n");
    let _ = writeln!(md, "| target | measured | met |");
    let _ = writeln!(md, "| --- | ---: | --- |");
    for t in &r.targets {
        let met = match t.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "n/a",
        };
        let _ = writeln!(md, "| {} | {} | {} |", t.target, t.measured, met);
    }
    md
}

fn cpu_cell(m: &Metrics) -> String {
    match (m.cpu_ns_per_pkt, m.user_ns_per_pkt) {
        (Some(c), Some(u)) => format!("{c:.0} ({u:.0})"),
        (c, _) => f(c, 0),
    }
}

fn one_line(s: &str) -> String {
    let s: String = s.replace(['\n', '|'], " ");
    if s.chars().count() > 160 {
        s.chars().take(157).collect::<String>() + "..."
    } else {
        s
    }
}

/// Words for a test id.
pub fn describe_test(id: &str) -> String {
    match id {
        "tcp" => "TCP bulk transfer".into(),
        "latency" => {
            "UDP ping-pong round trip under a 64-byte flood at half the contender's saturating rate"
                .into()
        }
        _ => {
            if let Some(n) = id.strip_prefix("udp").and_then(|r| r.strip_suffix("-sat")) {
                format!("UDP flood, {n}-byte packets, saturation")
            } else if let Some(n) = id
                .strip_prefix("udp")
                .and_then(|r| r.strip_suffix("-fixed"))
            {
                format!("UDP flood, {n}-byte packets, fixed offered rate")
            } else {
                id.to_owned()
            }
        }
    }
}

/// Now, as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc(secs)
}

/// Formats seconds since the epoch as an RFC 3339 UTC time (civil-from-days).
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_795_000_000), "2026-11-18T11:06:40Z");
    }

    fn row(id: &str, pps: f64, cpu: f64) -> Row {
        Row {
            topology: Topology::Gateway,
            test: "udp64-sat".into(),
            contender: id.into(),
            metrics: Metrics {
                pps: Some(pps),
                cpu_ns_per_pkt: Some(cpu),
                ..Metrics::default()
            },
        }
    }

    #[test]
    fn ratios_against_c_and_ceiling() {
        let rated = rate(vec![
            row("no-queue", 1000.0, 0.0),
            row("c-b1", 100.0, 2000.0),
            row("c-b32", 150.0, 1000.0),
            row("verdict-io-b32", 200.0, 500.0),
        ]);
        let io = rated
            .iter()
            .find(|r| r.row.contender == "verdict-io-b32")
            .unwrap();
        assert_eq!(io.vs_c_batch1.pps, Some(2.0));
        assert_eq!(io.vs_ceiling.pps, Some(0.2));
        assert_eq!(io.vs_c_batch1.cpu_ns_per_pkt, Some(0.25));
        // The ceiling has no CPU figure to divide by.
        assert_eq!(io.vs_ceiling.cpu_ns_per_pkt, None);
        let t = targets(&rated);
        assert_eq!(t[0].met, Some(true)); // 2.0x >= 1.5x
        assert_eq!(t[1].met, Some(true)); // 200 >= 150
        assert_eq!(t[2].met, Some(true));
        assert_eq!(t[6].met, None); // no ET run
    }

    #[test]
    fn sender_bound_pps_targets_are_not_judged() {
        let mut rows = vec![
            row("c-b1", 100.0, 2000.0),
            row("verdict-io-b32", 101.0, 1900.0),
        ];
        for r in &mut rows {
            r.metrics.loss = Some(0.0);
        }
        let t = targets(&rate(rows.clone()));
        assert_eq!(t[0].met, None);
        assert!(t[0].measured.contains("sender-bound"), "{}", t[0].measured);
        // CPU per packet is still compared.
        assert_eq!(t[2].met, Some(true));
        // The one-CPU run answers when two CPUs were sender-bound.
        let mut one = rows.clone();
        for r in &mut one {
            r.topology = Topology::GatewayOneCpu;
            r.metrics.loss = Some(0.2);
        }
        one[1].metrics.pps = Some(200.0);
        let mut both = rows.clone();
        both.extend(one);
        let t = targets(&rate(both));
        assert_eq!(t[0].met, Some(true), "{}", t[0].measured);
        assert!(t[0].measured.contains("gateway-1cpu"), "{}", t[0].measured);
        // One side lost packets: the ratio is a capacity comparison again.
        rows[0].metrics.loss = Some(0.3);
        assert_eq!(targets(&rate(rows))[0].met, Some(false));
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(Some(1234567.4)), "1,234,567");
        assert_eq!(thousands(Some(999.0)), "999");
        assert_eq!(thousands(None), "–");
    }
}
