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

use crate::report::Results;

const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

/// Registers a font for text; returns whether one was found.
pub fn load_font() -> bool {
    let from_env = std::env::var_os("VERDICT_BENCH_FONT").map(std::path::PathBuf::from);
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
    let panels = [
        Panel {
            title: "Delivered packets/s, 64-byte UDP flood at saturation (higher is better)",
            unit: "packets/s",
            test: "udp64-sat",
            value: |m| m.pps,
            part: None,
        },
        Panel {
            title: "Contender CPU time per packet, same test; dark: user space (lower is better)",
            unit: "ns per packet",
            test: "udp64-sat",
            value: |m| m.cpu_ns_per_pkt,
            part: Some(|m| m.user_ns_per_pkt),
        },
        Panel {
            title: "TCP bulk transfer goodput (higher is better)",
            unit: "Mbit/s",
            test: "tcp",
            value: |m| m.mbps,
            part: None,
        },
        Panel {
            title: "p99 ping-pong round trip at half the saturating rate (lower is better)",
            unit: "microseconds",
            test: "latency",
            value: |m| m.p99_us,
            part: None,
        },
    ];
    let ids: Vec<(String, String)> = r
        .contenders
        .iter()
        .map(|c| (c.id.clone(), c.label.clone()))
        .collect();
    let n = ids.len().max(1);
    let height = 120 + panels.len() as u32 * (60 + 26 * n as u32);
    let root = BitMapBackend::new(path, (1200, height)).into_drawing_area();
    let e = |e: DrawingAreaErrorKind<_>| anyhow!("drawing the chart: {e:?}");
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
                        x.row.topology == crate::harness::Topology::Gateway
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
                        x.row.topology == crate::harness::Topology::Gateway
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
        let mut mesh = chart.configure_mesh();
        mesh.disable_y_mesh()
            .y_label_formatter(&fmt_y)
            .x_label_formatter(&fmt_x);
        if text {
            mesh.x_desc(panel.unit)
                .x_labels(8)
                .light_line_style(WHITE)
                .y_labels(n)
                .label_style(("sans-serif", 13));
        } else {
            mesh.x_labels(0).y_labels(0);
        }
        mesh.draw().map_err(e)?;
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
