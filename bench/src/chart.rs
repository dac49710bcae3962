//! The PNG chart: three horizontal bar panels (packets/s, CPU per packet, p99 latency) of
//! the gateway 64-byte tests, one bar per contender, read at a glance.
//!
//! Text needs a TrueType font. Plotters' `ab_glyph` backend takes font bytes, so no
//! fontconfig is needed: the font is read at run time from `$VERDICT_BENCH_FONT` or the usual
//! DejaVu Sans locations (Debian's `fonts-dejavu-core`). Without a font the chart is still
//! drawn, bars only, and the caller is told so (the Markdown table carries the figures).

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use crate::harness::Topology;
use crate::report::Results;

const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

/// Registers a font for text; returns whether one was found. `VERDICT_BENCH_FONT=none`
/// draws without text (as on a machine without fonts).
pub fn load_font() -> bool {
    let from_env = std::env::var_os("VERDICT_BENCH_FONT").map(std::path::PathBuf::from);
    if from_env.as_deref() == Some(Path::new("none")) {
        return false;
    }
    let candidates = from_env
        .into_iter()
        .chain(FONT_PATHS.iter().map(std::path::PathBuf::from));
    for p in candidates {
        if let Ok(bytes) = std::fs::read(&p) {
            // The font lives as long as the process (plotters needs 'static bytes); it is
            // loaded once.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                return true;
            }
        }
    }
    false
}

struct Panel {
    topo: Topology,
    title: &'static str,
    unit: &'static str,
    test: &'static str,
    value: fn(&crate::harness::Metrics) -> Option<f64>,
    /// A part of the value drawn darker over the start of the bar (user-space CPU).
    part: Option<fn(&crate::harness::Metrics) -> Option<f64>>,
}

fn color(id: &str) -> RGBColor {
    match id {
        "no-queue" => RGBColor(150, 150, 150),
        "c-b1" => RGBColor(49, 99, 173),
        "c-b32" => RGBColor(107, 155, 222),
        "nfq-crate" => RGBColor(230, 140, 40),
        "verdict-io-b1" => RGBColor(120, 190, 120),
        "verdict-io-b32" => RGBColor(40, 150, 60),
        "verdict-norules" => RGBColor(20, 110, 80),
        "verdict-et1000" => RGBColor(15, 90, 110),
        _ => RGBColor(10, 60, 90),
    }
}

/// Draws the chart to `path` (PNG). `text`: whether a font was registered.
pub fn draw(r: &Results, path: &Path, text: bool) -> Result<()> {
    let root = BitMapBackend::new(path, size(r)).into_drawing_area();
    render(r, root, text)
}

/// Draws the chart into an RGB buffer of `size(r)` pixels (for tests).
#[cfg(test)]
fn draw_into(r: &Results, buf: &mut [u8], text: bool) -> Result<()> {
    let root = BitMapBackend::with_buffer(buf, size(r)).into_drawing_area();
    render(r, root, text)
}

/// The panels, gateway figures; with a one-CPU run, its packets/s first.
fn panels(r: &Results) -> Vec<Panel> {
    let mut all = vec![
        Panel {
            topo: Topology::Gateway,
            title: "Delivered packets/s, 64-byte UDP flood at saturation (higher is better)",
            unit: "packets/s",
            test: "udp64-sat",
            value: |m| m.pps,
            part: None,
        },
        Panel {
            topo: Topology::Gateway,
            title: "Contender CPU time per packet, same test; dark: user space (lower is better)",
            unit: "ns per packet",
            test: "udp64-sat",
            value: |m| m.cpu_ns_per_pkt,
            part: Some(|m| m.user_ns_per_pkt),
        },
        Panel {
            topo: Topology::Gateway,
            title: "TCP bulk transfer goodput (higher is better)",
            unit: "Mbit/s",
            test: "tcp",
            value: |m| m.mbps,
            part: None,
        },
        Panel {
            topo: Topology::Gateway,
            title: "p99 ping-pong round trip at half the saturating rate (lower is better)",
            unit: "microseconds",
            test: "latency",
            value: |m| m.p99_us,
            part: None,
        },
    ];
    if r.rows
        .iter()
        .any(|x| x.row.topology == Topology::GatewayOneCpu)
    {
        all.insert(
            0,
            Panel {
                topo: Topology::GatewayOneCpu,
                title: "Delivered packets/s, 64-byte flood, contender sharing the sender's CPU (higher is better)",
                unit: "packets/s",
                test: "udp64-sat",
                value: |m| m.pps,
                part: None,
            },
        );
    }
    all
}

fn size(r: &Results) -> (u32, u32) {
    let n = r.contenders.len().max(1) as u32;
    (1200, 120 + panels(r).len() as u32 * (60 + 26 * n))
}

fn render<DB: DrawingBackend>(
    r: &Results,
    root: DrawingArea<DB, plotters::coord::Shift>,
    text: bool,
) -> Result<()> {
    let panels = panels(r);
    let ids: Vec<(String, String)> = r
        .contenders
        .iter()
        .map(|c| (c.id.clone(), c.label.clone()))
        .collect();
    let n = ids.len().max(1);
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing the chart: {e:?}");
    root.fill(&WHITE).map_err(e)?;
    let (head, body) = root.split_vertically(60);
    if text {
        head.draw_text(
            &format!(
                "Verdict benchmark, gateway topology -- {} -- {} CPUs, kernel {}",
                r.date, r.machine.nproc, r.machine.kernel
            ),
            &("sans-serif", 22).into_font().color(&BLACK),
            (20, 18),
        )
        .map_err(e)?;
    }
    for (area, panel) in body
        .split_evenly((panels.len(), 1))
        .iter()
        .zip(panels.iter())
    {
        let values: Vec<Option<f64>> = ids
            .iter()
            .map(|(id, _)| {
                r.rows
                    .iter()
                    .find(|x| {
                        x.row.topology == panel.topo
                            && x.row.test == panel.test
                            && &x.row.contender == id
                    })
                    .and_then(|x| (panel.value)(&x.row.metrics))
            })
            .collect();
        let parts: Vec<Option<f64>> = ids
            .iter()
            .map(|(id, _)| {
                let part = panel.part?;
                r.rows
                    .iter()
                    .find(|x| {
                        x.row.topology == panel.topo
                            && x.row.test == panel.test
                            && &x.row.contender == id
                    })
                    .and_then(|x| part(&x.row.metrics))
            })
            .collect();
        let max = values.iter().flatten().copied().fold(0.0f64, f64::max);
        let max = if max > 0.0 { max * 1.2 } else { 1.0 };
        let mut b = ChartBuilder::on(area);
        b.margin(10);
        if text {
            b.caption(panel.title, ("sans-serif", 17))
                .x_label_area_size(32)
                .y_label_area_size(330);
        } else {
            b.x_label_area_size(5).y_label_area_size(5);
        }
        let mut chart = b
            .build_cartesian_2d(0.0..max, (0..n as i32).into_segmented())
            .map_err(e)?;
        let labels: Vec<String> = ids
            .iter()
            .zip(&values)
            .map(|((_, label), v)| match v {
                Some(_) => label.clone(),
                None => format!("{label} (no figure)"),
            })
            .collect();
        let fmt_y = |v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(i) if (*i as usize) < n => labels[n - 1 - *i as usize].clone(),
            _ => String::new(),
        };
        let fmt_x = |v: &f64| human(*v);
        if text {
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_label_formatter(&fmt_y)
                .x_label_formatter(&fmt_x)
                .x_desc(panel.unit)
                .x_labels(8)
                .light_line_style(WHITE)
                .y_labels(n)
                .label_style(("sans-serif", 13))
                .draw()
                .map_err(e)?;
        } else {
            // No font: no axes or labels at all (plotters measures label text even for
            // an empty axis), only a base line and the bars.
            chart
                .draw_series(std::iter::once(PathElement::new(
                    [
                        (0.0, SegmentValue::Exact(0)),
                        (0.0, SegmentValue::Exact(n as i32)),
                    ],
                    BLACK,
                )))
                .map_err(e)?;
        }
        chart
            .draw_series(values.iter().enumerate().filter_map(|(i, v)| {
                let v = (*v)?;
                let c = color(&ids[i].0);
                let row = (n - 1 - i) as i32;
                let mut bar = Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(row)),
                        (v, SegmentValue::Exact(row + 1)),
                    ],
                    c.filled(),
                );
                bar.set_margin(4, 4, 0, 0);
                Some(bar)
            }))
            .map_err(e)?;
        chart
            .draw_series(parts.iter().enumerate().filter_map(|(i, v)| {
                let v = (*v)?;
                let RGBColor(r, g, b) = color(&ids[i].0);
                let dark = RGBColor(r / 2, g / 2, b / 2);
                let row = (n - 1 - i) as i32;
                let mut bar = Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(row)),
                        (v, SegmentValue::Exact(row + 1)),
                    ],
                    dark.filled(),
                );
                bar.set_margin(4, 4, 0, 0);
                Some(bar)
            }))
            .map_err(e)?;
        if text {
            chart
                .draw_series(values.iter().enumerate().filter_map(|(i, v)| {
                    let v = (*v)?;
                    // Text hangs from its anchor: anchor at the top edge of the bar's row.
                    let row = (n - 1 - i) as i32;
                    Some(Text::new(
                        format!("  {}", human(v)),
                        (v, SegmentValue::Exact(row + 1)),
                        ("sans-serif", 13).into_font().color(&BLACK),
                    ))
                }))
                .map_err(e)?;
        }
    }
    root.present().map_err(e)?;
    Ok(())
}

/// 1234567 -> "1.23M", 45600 -> "45.6k", 812 -> "812".
fn human(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::human;

    #[test]
    fn human_numbers() {
        assert_eq!(human(1_234_567.0), "1.23M");
        assert_eq!(human(45_600.0), "46k");
        assert_eq!(human(1_500.0), "1.5k");
        assert_eq!(human(812.4), "812");
    }
}

#[cfg(test)]
mod draw_tests {
    use super::draw;
    use crate::harness::{ContenderStatus, Metrics, Row, Settings, Topology};
    use crate::report::{rate, Machine, Results};

    fn results() -> Results {
        let ids = ["no-queue", "c-b1"];
        let rows = ids
            .iter()
            .enumerate()
            .map(|(i, id)| Row {
                topology: Topology::Gateway,
                test: "udp64-sat".into(),
                contender: (*id).into(),
                metrics: Metrics {
                    pps: Some(1000.0 * (i + 1) as f64),
                    ..Metrics::default()
                },
            })
            .collect();
        Results {
            date: "2026-01-01T00:00:00Z".into(),
            command: "test".into(),
            machine: Machine {
                nproc: 2,
                kernel: "k".into(),
                cpu: "c".into(),
            },
            quick: true,
            settings: Settings {
                secs: 1.0,
                fixed_rate: 1,
                sender_cpu: 0,
                contender_cpu: 1,
                realtime: false,
                gateway_tests: vec![],
                host_tests: vec![],
                one_cpu_tests: vec![],
            },
            contenders: ids
                .iter()
                .map(|id| ContenderStatus {
                    id: (*id).into(),
                    label: (*id).into(),
                    status: "ok".into(),
                    reason: None,
                    note: None,
                })
                .collect(),
            rows: rate(rows),
            targets: vec![],
        }
    }

    /// Without a font the chart still has its bars (coloured pixels); with one, text too.
    #[test]
    fn bars_without_text() {
        let r = results();
        let (w, h) = super::size(&r);
        let mut buf = vec![0u8; (w * h * 3) as usize];
        super::draw_into(&r, &mut buf, false).unwrap();
        let coloured = buf
            .chunks(3)
            .filter(|p| {
                let (r, g, b) = (i32::from(p[0]), i32::from(p[1]), i32::from(p[2]));
                (r - g).abs() > 40 || (g - b).abs() > 40
            })
            .count();
        assert!(coloured > 1000, "only {coloured} coloured pixels");
        let path = std::env::temp_dir().join(format!("vb-chart-{}.png", std::process::id()));
        draw(&r, &path, false).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(bytes.starts_with(b"\x89PNG"));
    }
}
