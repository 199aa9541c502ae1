//! The figures of the HTML report, after the verdict, the failures and the tables: latency
//! per step (a histogram for steps with samples to distribute, one bar per step for steps with
//! a single sample), end to end, and the load's time series; every chart with the thresholds
//! that judge what it shows.

use std::fmt::Write;

use super::chart::{self, Limit, Line};
use super::text::escape;
use super::{latency_cells, E2eReport, LoadReport, Report, SecondReport, StepKind, StepReport};
use crate::thresholds::format_ms;

/// Above this many histograms, the grid gets smaller cells.
const COMPACT_FROM: usize = 6;

/// The latency thresholds of `scope` (a step's name, or `None` for the scenario's) whose
/// metric is `prefix` + a latency (`p95`, `e2e p95`, …): lines to draw on a chart in ms.
pub fn limits(r: &Report, scope: Option<&str>, prefix: &str) -> Vec<Limit> {
    r.thresholds
        .iter()
        .filter(|t| t.step.as_deref() == scope)
        .filter(|t| {
            t.metric
                .strip_prefix(prefix)
                .is_some_and(|m| ["p50", "p90", "p95", "p99", "max", "mean"].contains(&m))
        })
        .filter_map(|t| {
            Some(Limit {
                label: t.expr.clone(),
                value: t.limit?,
            })
        })
        .collect()
}

fn samples(s: &StepReport) -> u64 {
    s.histogram.iter().map(|b| b.count).sum()
}

/// Latency per step: histograms in a grid (compact for many), one-sample steps as bars.
pub fn steps(h: &mut String, r: &Report) {
    let ran: Vec<&StepReport> = r.steps.iter().filter(|s| !s.skipped).collect();
    let (many, single): (Vec<&StepReport>, Vec<&StepReport>) =
        ran.into_iter().partition(|s| samples(s) > 1);
    if many.is_empty() && single.iter().all(|s| s.latency_ms.is_none()) {
        return;
    }
    h.push_str("<section><h2>Latency per step</h2>");
    if !single.is_empty() {
        one_sample_bars(h, &single);
    }
    let compact = if many.len() > COMPACT_FROM {
        " compact"
    } else {
        ""
    };
    let _ = write!(h, "<div class=\"charts{compact}\">");
    for s in many {
        let caption = if s.kind == StepKind::Await {
            format!("{} (end to end)", s.name)
        } else {
            s.name.clone()
        };
        let _ = write!(
            h,
            "<figure><figcaption>{}</figcaption>{}</figure>",
            escape(&caption),
            chart::histogram(
                &format!("{} latency", s.name),
                &s.histogram,
                s.latency_ms.as_ref(),
                &limits(r, Some(&s.name), "")
            )
        );
    }
    h.push_str("</div></section>");
}

/// Steps measured once: a bar each, to scale with the slowest (no histogram of one sample).
fn one_sample_bars(h: &mut String, steps: &[&StepReport]) {
    let top = steps
        .iter()
        .filter_map(|s| s.latency_ms.map(|l| l.max))
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    h.push_str(
        "<figure class=\"single\"><figcaption>one sample each</figcaption><ol class=\"bars\">",
    );
    for s in steps {
        let (width, value) = match s.latency_ms {
            Some(l) => (l.max / top * 100.0, format_ms(l.max)),
            None => (0.0, "no response".into()),
        };
        let failed = if s.passed { "" } else { " failed" };
        let unit = if s.kind == StepKind::Await {
            " (e2e)"
        } else {
            ""
        };
        let _ = write!(
            h,
            "<li class=\"bar-row{failed}\"><span class=\"name\">{}{unit}</span>\
             <span class=\"track\"><span class=\"fill\" style=\"width:{width:.1}%\"></span></span>\
             <span class=\"value\">{}</span></li>",
            escape(&s.name),
            escape(&value)
        );
    }
    h.push_str("</ol></figure>");
}

pub fn e2e_section(h: &mut String, r: &Report, e: &E2eReport) {
    let [p50, p95, p99, max] = latency_cells(e.latency_ms);
    let _ = write!(
        h,
        "<section><h2>End to end</h2><p>{} awaited replies, {} failed{} · p50 {} · p95 {} · p99 {} · max {}</p>",
        e.count,
        e.failures,
        escape(&super::missing_replies(r)),
        p50,
        p95,
        p99,
        max,
    );
    if e.histogram.iter().map(|b| b.count).sum::<u64>() > 1 {
        let _ = write!(
            h,
            "<div class=\"charts\"><figure><figcaption>inbound message → reply</figcaption>{}</figure></div>",
            chart::histogram(
                "end-to-end latency",
                &e.histogram,
                e.latency_ms.as_ref(),
                &limits(r, None, "e2e ")
            )
        );
    }
    h.push_str("</section>");
}

/// The load's figures and per-second charts.
pub fn load_section(h: &mut String, r: &Report, l: &LoadReport) {
    let target = l
        .target_rps
        .map_or_else(|| "—".to_string(), |v| format!("{v:.1}"));
    let _ = write!(
        h,
        "<section><h2>Load</h2><dl class=\"meta\"><dt>Target rate</dt><dd>{target} iterations/s</dd>\
         <dt>Achieved rate</dt><dd>{:.1} iterations/s</dd><dt>Iterations</dt><dd>{} started, {} completed, {} failed</dd>\
         <dt>Dropped</dt><dd>{}</dd><dt>Peak in flight</dt><dd>{}</dd></dl>",
        l.achieved_rps, l.iterations, l.completed, l.failed, l.dropped, l.peak_in_flight
    );
    if !l.time_series.is_empty() {
        load_charts(h, r, &l.time_series);
    }
    h.push_str("</section>");
}

fn load_charts(h: &mut String, r: &Report, series: &[SecondReport]) {
    let x: Vec<f64> = series.iter().map(|p| p.t_s as f64).collect();
    let col = |f: &dyn Fn(&SecondReport) -> f64| -> Vec<f64> { series.iter().map(f).collect() };
    let opt = |v: Option<f64>| v.unwrap_or(f64::NAN);
    let requests = col(&|p| p.requests as f64);
    let iterations = col(&|p| p.iterations as f64);
    let p50 = col(&|p| opt(p.p50_ms));
    let p95 = col(&|p| opt(p.p95_ms));
    let p99 = col(&|p| opt(p.p99_ms));
    let service = col(&|p| opt(p.service_p95_ms));
    let errors = col(&|p| p.failed_started as f64);
    let in_flight = col(&|p| p.in_flight as f64);
    let dropped = col(&|p| p.dropped as f64);
    let line = |name, values| Line { name, values };
    let latency_limits = limits(r, None, "");
    let figures: [(&str, &str, Vec<Line<'_>>, &[Limit]); 5] = [
        (
            "throughput: completed per second",
            "",
            vec![
                line("requests/s", &requests),
                line("iterations/s", &iterations),
            ],
            &[],
        ),
        (
            "iteration latency by start time",
            "ms",
            vec![line("p50", &p50), line("p95", &p95), line("p99", &p99)],
            &latency_limits,
        ),
        (
            "p95 from the intended start vs service time",
            "ms",
            vec![line("intended start", &p95), line("service", &service)],
            &latency_limits,
        ),
        (
            "failed iterations by start time",
            "",
            vec![line("failed/s", &errors)],
            &[],
        ),
        (
            "in flight and dropped",
            "",
            vec![line("in flight", &in_flight), line("dropped/s", &dropped)],
            &[],
        ),
    ];
    h.push_str("<div class=\"charts\">");
    for (title, unit, lines, limits) in figures {
        let _ = write!(
            h,
            "<figure><figcaption>{title}</figcaption>{}</figure>",
            chart::lines(title, unit, &x, &lines, limits)
        );
    }
    h.push_str("</div>");
}
