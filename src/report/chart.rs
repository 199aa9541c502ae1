//! SVG charts for the HTML report, written by hand.
//!
//! Why not plotters: its SVG backend still measures text through a font backend (fontconfig /
//! freetype system libraries, or bundled fonts behind features), and the charts needed here
//! are two simple shapes: a bar chart of a latency histogram and a line chart of a time
//! series. A hundred lines of SVG strings keep the build free of system libraries and the
//! output byte-for-byte reproducible (`harness report` must regenerate identical files).
//!
//! Every chart has a `viewBox` and no fixed width, so it scales with the page (desktop and
//! phone). Every interpolated label goes through [`escape`].

use std::fmt::Write;

use super::text::escape;
use super::Bucket;
use super::Latency;
use crate::thresholds::format_ms;

// Drawing units: about the pixel size of a chart in a three-column desktop grid, so 11–12
// unit text stays readable there and on a phone.
const W: f64 = 420.0;
const H: f64 = 210.0;
const LEFT: f64 = 40.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 34.0;
/// A histogram shows at least this many buckets, so one busy bucket is not one wide slab.
const MIN_BUCKETS: usize = 7;
/// A histogram widened to show a threshold stops at this many buckets.
const MAX_BUCKETS: usize = 24;

/// Colours of the series of a line chart, in order.
pub const PALETTE: [&str; 5] = ["#2563eb", "#d97706", "#dc2626", "#7c3aed", "#059669"];

/// A threshold drawn on a chart: its expression and its limit (ms on latency charts).
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    pub label: String,
    pub value: f64,
}

/// A bar chart of a latency histogram (`count` per bucket up to `le_ms`), with the p50, p95
/// and p99 of `summary` and the `limits` (thresholds) marked. Empty buckets before the first
/// and after the last sample are trimmed; a histogram without samples gives a chart saying so.
/// The x axis is logarithmic (each bucket twice the previous), with ticks at round values.
pub fn histogram(
    title: &str,
    buckets: &[Bucket],
    summary: Option<&Latency>,
    limits: &[Limit],
) -> String {
    let mut svg = open(title);
    let reach = limits.iter().map(|l| l.value).fold(0.0, f64::max);
    let shown = window(buckets, reach);
    if shown.is_empty() {
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle" class="muted">no samples</text></svg>"#,
            W / 2.0,
            H / 2.0
        );
        return svg;
    }
    let max = shown.iter().map(|b| b.count).max().unwrap_or(1).max(1) as f64;
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let slot = plot_w / shown.len() as f64;
    // Counts: whole-number grid steps.
    let y_max = ((nice_top(max) / 4.0).ceil() * 4.0).max(4.0);
    axes(&mut svg, y_max, "");
    for (i, b) in shown.iter().enumerate() {
        let h = b.count as f64 / y_max * plot_h;
        let x = LEFT + i as f64 * slot;
        let _ = write!(
            svg,
            r#"<rect class="bar" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}"><title>≤ {}: {}</title></rect>"#,
            x + slot * 0.1,
            TOP + plot_h - h,
            slot * 0.8,
            h,
            escape(&format_ms(b.le_ms)),
            b.count
        );
    }
    let axis = LogAxis::of(&shown, slot);
    for v in round_ticks(axis.lo(), axis.hi()) {
        let x = axis.x(v);
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" class="tick">{}</text>"#,
            TOP + plot_h,
            TOP + plot_h + 4.0,
            H - BOTTOM + 14.0,
            escape(&format_ms(v))
        );
    }
    let mut labels: Vec<(String, f64, &str)> = Vec::new();
    if let Some(s) = summary {
        labels.extend(percentiles(s).into_iter().map(|(n, v)| (n, v, "marker")));
    }
    labels.extend(limits.iter().map(|l| (l.label.clone(), l.value, "limit")));
    vertical_marks(&mut svg, &axis, &labels);
    let _ = write!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="axis-title">requests per latency range (log scale)</text></svg>"#,
        LEFT + plot_w / 2.0,
        H - 4.0
    );
    svg
}

/// A logarithmic x axis over histogram buckets: bucket `i` covers `(le[i-1], le[i]]` in slot `i`.
struct LogAxis<'a> {
    shown: &'a [Bucket],
    slot: f64,
}

impl LogAxis<'_> {
    fn of(shown: &[Bucket], slot: f64) -> LogAxis<'_> {
        LogAxis { shown, slot }
    }
    fn lower(&self, i: usize) -> f64 {
        if i == 0 {
            self.shown[0].le_ms / 2.0
        } else {
            self.shown[i - 1].le_ms
        }
    }
    fn lo(&self) -> f64 {
        self.lower(0)
    }
    fn hi(&self) -> f64 {
        self.shown.last().map_or(1.0, |b| b.le_ms)
    }
    /// Where `v` ms falls: inside its bucket, logarithmically; clamped to the axis.
    fn x(&self, v: f64) -> f64 {
        let n = self.shown.len();
        let i = self
            .shown
            .iter()
            .position(|b| v <= b.le_ms)
            .unwrap_or(n - 1);
        let (lo, hi) = (self.lower(i), self.shown[i].le_ms);
        let frac = if v <= lo || hi <= lo {
            0.0
        } else {
            ((v / lo).ln() / (hi / lo).ln()).clamp(0.0, 1.0)
        };
        LEFT + (i as f64 + frac) * self.slot
    }
}

/// Round values (1, 2, 5 × 10ⁿ ms) between `lo` and `hi`; only the powers of ten when that
/// gives too many.
fn round_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut all = Vec::new();
    let mut decade = 10f64.powf(lo.max(1e-3).log10().floor());
    while decade <= hi {
        for m in [1.0, 2.0, 5.0] {
            let v = m * decade;
            if v >= lo && v <= hi {
                all.push(v);
            }
        }
        decade *= 10.0;
    }
    if all.len() > 7 {
        all.retain(|v| (v.log10() - v.log10().round()).abs() < 1e-9);
    }
    all
}

/// p50, p95 and p99, equal values (as shown) sharing one label: `p95=p99`.
fn percentiles(s: &Latency) -> Vec<(String, f64)> {
    let mut groups: Vec<(String, f64)> = Vec::new();
    for (name, v) in [("p50", s.p50), ("p95", s.p95), ("p99", s.p99)] {
        match groups
            .iter_mut()
            .find(|(_, g)| format_ms(*g) == format_ms(v))
        {
            Some((names, _)) => {
                names.push('=');
                names.push_str(name);
            }
            None => groups.push((name.to_string(), v)),
        }
    }
    groups
}

/// Dashed vertical lines with their labels, each label on its own row (so none collides);
/// labels sit left of their line in the right half of the chart, so they are never cut off.
fn vertical_marks(svg: &mut String, axis: &LogAxis<'_>, marks: &[(String, f64, &str)]) {
    let plot_h = H - TOP - BOTTOM;
    for (row, (names, v, class)) in marks.iter().enumerate() {
        let x = axis.x(*v);
        let (anchor, dx) = if x > W / 2.0 {
            ("end", -4.0)
        } else {
            ("start", 4.0)
        };
        let shown = if *class == "limit" {
            names.clone()
        } else {
            format!("{names} {}", format_ms(*v))
        };
        let _ = write!(
            svg,
            r#"<line class="{class}" x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="{anchor}" class="{class}-label">{}</text>"#,
            TOP + plot_h,
            x + dx,
            TOP + 12.0 + row as f64 * 14.0,
            escape(&shown)
        );
    }
}

/// The buckets from the first to the last with samples, widened with empty neighbours (real
/// ones, or doublings past the last) to [`MIN_BUCKETS`], and on to `reach` ms (a threshold to
/// draw) within [`MAX_BUCKETS`]; empty when there is no sample.
fn window(buckets: &[Bucket], reach: f64) -> Vec<Bucket> {
    let (Some(first), Some(last)) = (
        buckets.iter().position(|b| b.count > 0),
        buckets.iter().rposition(|b| b.count > 0),
    ) else {
        return Vec::new();
    };
    let mut lo = first;
    let mut shown: Vec<Bucket> = buckets[first..=last].to_vec();
    while shown.len() < MIN_BUCKETS {
        // Alternate: one after, one before (while there are earlier buckets).
        let upper = shown.last().map_or(0.1, |b| b.le_ms);
        shown.push(Bucket {
            le_ms: upper * 2.0,
            count: 0,
        });
        if shown.len() < MIN_BUCKETS && lo > 0 {
            lo -= 1;
            shown.insert(0, buckets[lo].clone());
        }
    }
    while shown.last().is_some_and(|b| b.le_ms < reach) && shown.len() < MAX_BUCKETS {
        let upper = shown.last().map_or(0.1, |b| b.le_ms);
        shown.push(Bucket {
            le_ms: upper * 2.0,
            count: 0,
        });
    }
    shown
}

/// One line of a line chart.
pub struct Line<'a> {
    pub name: &'a str,
    pub values: &'a [f64],
}

/// A line chart over `x` (seconds since the start), one polyline per series, y from 0, with
/// the `limits` (thresholds) as horizontal lines.
pub fn lines(title: &str, unit: &str, x: &[f64], series: &[Line<'_>], limits: &[Limit]) -> String {
    let mut svg = open(title);
    let x_max = x.iter().copied().fold(0.0, f64::max).max(1.0);
    let y_max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .chain(limits.iter().map(|l| l.value))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    // Counts get whole-number grid steps; latencies any round step.
    let y_max = if unit.is_empty() {
        ((nice_top(y_max) / 4.0).ceil() * 4.0).max(4.0)
    } else {
        nice_top(y_max)
    };
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    axes(&mut svg, y_max, unit);
    for i in 0..=4 {
        let t = x_max * f64::from(i) / 4.0;
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="tick">{}s</text>"#,
            LEFT + plot_w * f64::from(i) / 4.0,
            H - BOTTOM + 14.0,
            trim(t)
        );
    }
    // Legend entries side by side, each as wide as its name.
    let mut legend_x = LEFT + 8.0;
    for (k, s) in series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let points: Vec<String> = x
            .iter()
            .zip(s.values)
            .filter(|(_, v)| v.is_finite())
            .map(|(t, v)| {
                format!(
                    "{:.1},{:.1}",
                    LEFT + t / x_max * plot_w,
                    TOP + plot_h - v / y_max * plot_h
                )
            })
            .collect();
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            points.join(" ")
        );
        // A line needs two points: a one-second run still shows its one.
        if let [only] = points.as_slice() {
            if let Some((cx, cy)) = only.split_once(',') {
                let _ = write!(svg, r#"<circle cx="{cx}" cy="{cy}" r="3" fill="{color}"/>"#);
            }
        }
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{:.1}" width="10" height="10" fill="{color}"/><text x="{:.1}" y="{:.1}" class="legend">{}</text>"#,
            legend_x,
            H - 14.0,
            legend_x + 14.0,
            H - 5.0,
            escape(s.name)
        );
        legend_x += 30.0 + 6.5 * s.name.chars().count() as f64;
    }
    for (row, l) in limits.iter().enumerate() {
        let y = TOP + plot_h - l.value / y_max * plot_h;
        let _ = write!(
            svg,
            r#"<line class="limit" x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="end" class="limit-label">{}</text>"#,
            W - RIGHT,
            W - RIGHT - 2.0,
            y - 3.0 - row as f64 * 13.0,
            escape(&l.label)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn open(title: &str) -> String {
    format!(
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{0}"><title>{0}</title>"#,
        escape(title)
    )
}

/// Frame, horizontal grid lines and y labels from 0 to `y_max`.
fn axes(svg: &mut String, y_max: f64, unit: &str) {
    let plot_h = H - TOP - BOTTOM;
    for i in 0..=4 {
        let v = y_max * f64::from(i) / 4.0;
        let y = TOP + plot_h - plot_h * f64::from(i) / 4.0;
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="end" class="tick">{}</text>"#,
            W - RIGHT,
            LEFT - 4.0,
            y + 4.0,
            escape(&if unit == "ms" && v > 0.0 {
                format_ms(v)
            } else if unit == "ms" {
                "0".to_string()
            } else {
                trim(v) + unit
            }),
        );
    }
}

/// The top of a y axis with 4 grid intervals of a round size (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10ⁿ) holding
/// `max`; 1 for an empty series.
fn nice_top(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let raw = max / 4.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    step * 4.0
}

/// A short number for axis labels: integers as such, else up to 3 significant digits.
fn trim(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 || v >= 100.0 {
        format!("{}", v.round())
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(le_ms: f64, count: u64) -> Bucket {
        Bucket { le_ms, count }
    }

    #[test]
    fn histogram_trims_empty_buckets_and_draws_one_bar_each() {
        let svg = histogram(
            "x",
            &[b(0.1, 0), b(0.2, 3), b(0.4, 0), b(0.8, 5), b(1.6, 0)],
            None,
            &[],
        );
        // Three buckets from the first to the last sample, widened to MIN_BUCKETS.
        assert_eq!(svg.matches("<rect class=\"bar\"").count(), MIN_BUCKETS);
        assert_eq!(svg.matches("<title>≤").count(), MIN_BUCKETS);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn histogram_marks_percentiles_and_says_when_empty() {
        let s = Latency {
            min: 0.15,
            p50: 0.15,
            p90: 0.7,
            p95: 0.7,
            p99: 0.7,
            max: 0.7,
            mean: 0.4,
        };
        let svg = histogram("x", &[b(0.2, 1), b(0.8, 1)], Some(&s), &[]);
        assert!(svg.contains("p95=p99 700µs"), "{svg}");
        assert!(svg.contains("p50 150µs"), "{svg}");
        assert!(histogram("x", &[b(0.2, 0)], None, &[]).contains("no samples"));
    }

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(nice_top(190.0), 200.0);
        assert_eq!(nice_top(6.0), 6.0);
        assert_eq!(nice_top(1516.0), 1600.0);
        assert_eq!(nice_top(0.0), 1.0);
    }

    #[test]
    fn line_chart_has_a_polyline_per_series_and_escapes_titles() {
        let svg = lines(
            "<b>",
            "",
            &[0.0, 1.0, 2.0],
            &[
                Line {
                    name: "rps",
                    values: &[1.0, 2.0, 3.0],
                },
                Line {
                    name: "p95",
                    values: &[5.0, 4.0, 3.0],
                },
            ],
            &[],
        );
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 0);
        let one = lines(
            "x",
            "",
            &[1.0],
            &[Line {
                name: "rps",
                values: &[5.0],
            }],
            &[],
        );
        assert_eq!(one.matches("<circle").count(), 1);
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
    }

    #[test]
    fn histogram_ticks_sit_at_round_values_not_at_bucket_bounds() {
        // HDR buckets end just below each doubling: 0.799ms, 1.599ms, …
        let buckets = [
            b(0.199, 0),
            b(0.399, 2),
            b(0.799, 5),
            b(1.599, 1),
            b(3.199, 0),
        ];
        let svg = histogram("x", &buckets, None, &[]);
        let ticks: Vec<&str> = svg
            .split(r#"class="tick">"#)
            .skip(1)
            .map(|t| t.split('<').next().unwrap())
            .filter(|t| t.ends_with('s'))
            .collect();
        assert!(
            ticks.contains(&"500µs") && ticks.contains(&"1ms"),
            "{ticks:?}"
        );
        assert!(
            !svg.contains(">799µs<") && !svg.contains(">798µs<"),
            "{svg}"
        );
        assert_eq!(round_ticks(0.1, 1000.0), [0.1, 1.0, 10.0, 100.0, 1000.0]);
        assert_eq!(round_ticks(0.3, 3.0), [0.5, 1.0, 2.0]);
    }

    #[test]
    fn thresholds_are_drawn_and_widen_the_histogram_to_reach_them() {
        let limit = Limit {
            label: "p95 < 50ms".into(),
            value: 50.0,
        };
        let svg = histogram("x", &[b(0.799, 3)], None, std::slice::from_ref(&limit));
        assert!(svg.contains(r#"class="limit""#) && svg.contains(">p95 &lt; 50ms<"));
        // The axis reaches past 50ms: the limit is not pinned to the right edge.
        let x: f64 = svg
            .split(r#"<line class="limit" x1=""#)
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .parse()
            .unwrap();
        assert!(x < W - RIGHT - 1.0, "{x}");
        let line = lines(
            "t",
            "ms",
            &[0.0, 1.0],
            &[Line {
                name: "p95",
                values: &[10.0, 20.0],
            }],
            &[limit],
        );
        assert!(line.contains(r#"class="limit""#) && line.contains("p95 &lt; 50ms"));
    }

    #[test]
    fn percentile_labels_each_get_their_own_row() {
        let s = Latency {
            min: 1.0,
            p50: 1.0,
            p90: 1.1,
            p95: 1.1,
            p99: 1.2,
            max: 1.2,
            mean: 1.0,
        };
        let svg = histogram("x", &[b(0.799, 1), b(1.599, 9)], Some(&s), &[]);
        let ys: Vec<&str> = svg
            .split("<text ")
            .filter(|t| t.contains(r#"class="marker-label""#))
            .filter_map(|t| t.split("y=\"").nth(1)?.split('"').next())
            .collect();
        let distinct: std::collections::BTreeSet<&&str> = ys.iter().collect();
        assert_eq!((ys.len(), distinct.len()), (3, 3), "{svg}");
    }
}
