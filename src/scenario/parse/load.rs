//! `load:` — the load shape `harness load` uses when the command line gives none.

use super::node::{optional, Ctx, Entry};
use crate::scenario::load_shape::{parse_arrival_rate as parse_rate, parse_stages};
use crate::scenario::model::LoadSpec;

const LOAD_KEYS: &[&str] = &[
    "rps",
    "duration",
    "stages",
    "max_in_flight",
    "users",
    "think_time",
    "poisson",
];

pub(super) fn load(ctx: &mut Ctx, entry: &Entry) -> Option<LoadSpec> {
    let fields = ctx.fields(entry.value, "`load`", LOAD_KEYS)?;
    let rps = fields.get("rps").map(|e| rate(ctx, e));
    let duration = fields.get("duration").map(|e| ctx.duration(e));
    let stages = fields.get("stages").map(|e| stages(ctx, e));
    let max_in_flight = fields.get("max_in_flight").map(|e| count(ctx, e));
    let users = fields.get("users").map(|e| count(ctx, e));
    let think_time = fields.get("think_time").map(|e| ctx.duration(e));
    let poisson = fields.get("poisson").map(|e| boolean(ctx, e));
    let open = fields.get("rps").or(fields.get("stages"));
    if let (Some(u), Some(o)) = (fields.get("users"), open) {
        let message = format!("`users` (closed model) does not go with `{}`", o.key);
        let hint = Some(
            "use `rps`/`stages` for an arrival rate, or `users` for N concurrent users".to_string(),
        );
        ctx.error(u.key_node, message, hint);
    }
    if let (Some(_), Some(s)) = (fields.get("rps"), fields.get("stages")) {
        let hint = Some("`stages` sets the rate of each stage: drop `rps`".to_string());
        ctx.error(s.key_node, "`stages` does not go with `rps`", hint);
    }
    if let (Some(_), Some(d)) = (fields.get("stages"), fields.get("duration")) {
        let hint = Some("the stages' durations add up to the run's: drop `duration`".to_string());
        ctx.error(d.key_node, "`duration` does not go with `stages`", hint);
    }
    Some(LoadSpec {
        rps: optional(rps)?,
        duration: optional(duration)?,
        stages: optional(stages)?.unwrap_or_default(),
        max_in_flight: optional(max_in_flight)?,
        users: optional(users)?,
        think_time: optional(think_time)?,
        poisson: optional(poisson)?.unwrap_or(false),
    })
}

/// `rps: 100` or `rps: 250/min`.
fn rate(ctx: &mut Ctx, entry: &Entry) -> Option<f64> {
    let text = match super::node::number(entry.value) {
        Some(n) => n.to_string(),
        None => ctx.scalar_text(entry.value).unwrap_or_default(),
    };
    parse_rate(&text)
        .map_err(|e| {
            let hint = Some("e.g. `rps: 100` or `rps: 250/min`".to_string());
            ctx.error(entry.value_node(), e, hint);
        })
        .ok()
}

/// `stages: "30s:10, 1m:100, 30s:0"` (as `--stages`).
fn stages(ctx: &mut Ctx, entry: &Entry) -> Option<Vec<(std::time::Duration, f64)>> {
    let text = ctx.string(entry)?;
    parse_stages(&text)
        .map_err(|e| {
            let hint =
                Some("e.g. `stages: \"30s:10, 1m:100, 30s:0\"` (DURATION:RPS, ramped)".to_string());
            ctx.error(entry.value_node(), e.to_string(), hint);
        })
        .ok()
}

/// A positive whole number.
fn count(ctx: &mut Ctx, entry: &Entry) -> Option<usize> {
    match super::node::number(entry.value) {
        Some(n) if n >= 1.0 && n.fract() == 0.0 => Some(n as usize),
        _ => {
            let message = format!("`{}` must be a whole number ≥ 1", entry.key);
            ctx.error(entry.value_node(), message, None);
            None
        }
    }
}

fn boolean(ctx: &mut Ctx, entry: &Entry) -> Option<bool> {
    ctx.boolean(entry)
}
