//! Pre-flight of a scenario's variables: every `${VAR}` and `{{ var }}` it uses can be
//! defined, before the first request is sent.
//!
//! The references are found in the source text itself, so each diagnostic points at the
//! `file:line:col` where the variable is written. A `{{ name }}` is defined when `name` is a
//! built-in function, a value of the target (`provider`, `app`, `target`), a `variables:`
//! entry, or the capture of a step that runs before the step using it (a step's captures are
//! taken after its request and checks). A `${VAR}` is
//! defined when the environment has it or the reference gives a default (`${VAR:-x}`).
//! Steps that do not run against the target's provider (`provider:`) are not checked, and
//! their captures define nothing. Only what can never be defined is an error: a value that
//! may be missing at run time (a capture whose JSONPath matches nothing) stays a step failure.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::parse::node::suggest;
use super::{Diagnostic, ProviderKind, Scenario, Span};

/// The functions of the templating environment (the runner's and minijinja's own).
pub const BUILTIN_FUNCTIONS: &[&str] = &[
    "uuid",
    "now",
    "timestamp",
    "phone",
    "seq",
    "range",
    "dict",
    "namespace",
    "debug",
];

/// `${NAME}` or `${NAME:-default}` (the runner's syntax).
static ENV_REF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}").expect("valid regex"));

/// `{{ expression }}`, on one line.
static EXPR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{\{.*?\}\}").expect("valid regex"));

/// What is defined before any step runs.
pub struct Known<'a> {
    /// The target's provider: steps for the other one are skipped.
    pub provider: ProviderKind,
    /// Top-level names the target defines (`provider`, `app`, `target`).
    pub target_vars: Vec<String>,
    /// Whether the environment has a variable.
    pub env: &'a dyn Fn(&str) -> bool,
}

/// Every reference of `scenario` that can never be defined, in source order.
pub fn undefined(scenario: &Scenario, known: &Known<'_>) -> Vec<Diagnostic> {
    let steps = StepLines::of(scenario, known.provider);
    let mut defined: BTreeSet<&str> = BUILTIN_FUNCTIONS.iter().copied().collect();
    defined.extend(known.target_vars.iter().map(String::as_str));
    defined.extend(scenario.variables.iter().map(|v| v.name.as_str()));
    defined.extend(scenario.data.iter().map(|d| d.name.as_str()));
    let mut found = Vec::new();
    for (i, line) in scenario.source.lines().enumerate() {
        let number = i + 1;
        let step = steps.at(number);
        if step.is_some_and(|s| s.skipped) {
            continue;
        }
        let code = without_comment(line);
        for caps in ENV_REF.captures_iter(code) {
            let name = &caps[1];
            if caps.get(2).is_none() && !(known.env)(name) {
                let whole = caps.get(0).expect("group 0");
                found.push(
                    diagnostic(&scenario.path, line, number, whole.start(), whole.as_str())
                        .message(format!("environment variable `{name}` is not set"))
                        .with_hint(format!(
                            "export it, or give a default with `${{{name}:-value}}`"
                        )),
                );
            }
        }
        for m in EXPR.find_iter(code) {
            let Some(names) = referenced(m.as_str()) else {
                continue; // a syntax error is the parser's business, or the runner's
            };
            for name in names {
                if defined.contains(name.as_str()) || steps.captured_by(&name, number) {
                    continue;
                }
                let hint = match steps.captured_later(&name, number) {
                    Some((s, _)) if step.is_some_and(|current| current.name == s) => format!(
                        "`{name}` is captured by this step, after its request and checks: use it in a later step"
                    ),
                    Some((s, at)) => format!(
                        "`{name}` is captured only later, by step `{s}` (line {at}): capture it before it is used"
                    ),
                    None => undefined_hint(&name, &defined, &steps),
                };
                found.push(
                    diagnostic(&scenario.path, line, number, m.start(), m.as_str())
                        .message(format!("undefined variable `{name}` in `{}`", m.as_str()))
                        .with_hint(hint),
                );
            }
        }
    }
    found.sort_by_key(|d| d.span);
    found
}

/// "did you mean …?" or where a variable can come from.
fn undefined_hint(name: &str, defined: &BTreeSet<&str>, steps: &StepLines<'_>) -> String {
    let mut candidates: Vec<&str> = defined.iter().copied().collect();
    candidates.extend(steps.all_captures());
    match suggest(name, &candidates) {
        Some(close) => format!("did you mean `{close}`?"),
        None => "define it under `variables:`, or capture it in an earlier step".to_string(),
    }
}

/// Every `{{ expression }}` written in `source`, comments aside: its line number, the line,
/// the expression's byte offset in the line, and the expression.
pub fn expressions(source: &str) -> impl Iterator<Item = (usize, &str, usize, &str)> {
    source.lines().enumerate().flat_map(|(i, line)| {
        EXPR.find_iter(without_comment(line))
            .map(move |m| (i + 1, line, m.start(), m.as_str()))
    })
}

/// The dotted paths an expression reads (`row.phone`, `app`); `None` if it does not parse.
pub fn paths(expr: &str) -> Option<Vec<String>> {
    let env = minijinja::Environment::new();
    let template = env.template_from_str(expr).ok()?;
    let mut names: Vec<String> = template.undeclared_variables(true).into_iter().collect();
    names.sort();
    Some(names)
}

/// A diagnostic without its message yet, underlining `token` at byte `start` of `line`
/// (line `number`); set the message with [`WithMessage::message`].
pub fn at(path: &Path, (line, number, start): (&str, usize, usize), token: &str) -> Diagnostic {
    diagnostic(path, line, number, start, token)
}

/// A diagnostic at byte offset `start` of `line` (line `number`), underlining `token`.
fn diagnostic(path: &Path, line: &str, number: usize, start: usize, token: &str) -> Diagnostic {
    let col = line[..start].chars().count() + 1;
    Diagnostic::new(path, Span { line: number, col }, String::new()).with_len(token.chars().count())
}

/// Sets a diagnostic's message.
pub trait WithMessage {
    fn message(self, message: String) -> Self;
}

impl WithMessage for Diagnostic {
    fn message(mut self, message: String) -> Self {
        self.message = message;
        self
    }
}

/// The top-level variables a `{{ expression }}` reads; `None` if it does not parse.
fn referenced(expr: &str) -> Option<Vec<String>> {
    let env = minijinja::Environment::new();
    let template = env.template_from_str(expr).ok()?;
    let mut names: Vec<String> = template.undeclared_variables(false).into_iter().collect();
    names.sort();
    Some(names)
}

/// `line` without its YAML comment (a `#` at the start or after a blank, outside quotes).
fn without_comment(line: &str) -> &str {
    let (mut single, mut double, mut escaped) = (false, false, false);
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '\\' if double && !escaped => {
                escaped = true;
                previous = c;
                continue;
            }
            '"' if !single && !escaped => double = !double,
            '\'' if !double => single = !single,
            '#' if !single && !double && previous.is_whitespace() => return &line[..i],
            _ => {}
        }
        escaped = false;
        previous = c;
    }
    line
}

/// The steps by source line: which step a line belongs to, what each captures.
struct StepLines<'a> {
    /// (first line, name, skipped, captured variables), in source order.
    steps: Vec<StepInfo<'a>>,
}

#[derive(Clone, Copy)]
struct StepInfo<'a> {
    line: usize,
    name: &'a str,
    skipped: bool,
    captures: &'a [super::Capture],
}

impl<'a> StepLines<'a> {
    fn of(scenario: &'a Scenario, provider: ProviderKind) -> Self {
        let mut steps: Vec<StepInfo<'a>> = scenario
            .steps
            .iter()
            .map(|s| StepInfo {
                line: s.span.line,
                name: &s.name,
                skipped: s.provider.is_some_and(|p| p != provider),
                captures: &s.captures,
            })
            .collect();
        steps.sort_by_key(|s| s.line);
        StepLines { steps }
    }

    /// The step whose text holds `line` (the last one starting at or before it).
    fn at(&self, line: usize) -> Option<StepInfo<'a>> {
        self.steps.iter().rev().find(|s| s.line <= line).copied()
    }

    /// Whether a step that runs before `line`'s step captures `name`.
    fn captured_by(&self, name: &str, line: usize) -> bool {
        let current = self.at(line).map_or(0, |s| s.line);
        self.steps
            .iter()
            .filter(|s| !s.skipped && s.line < current)
            .any(|s| s.captures.iter().any(|c| c.variable == name))
    }

    /// A running step, `line`'s own or a later one, that captures `name`: its name and line.
    fn captured_later(&self, name: &str, line: usize) -> Option<(&'a str, usize)> {
        let current = self.at(line).map_or(0, |s| s.line);
        self.steps
            .iter()
            .filter(|s| !s.skipped && s.line >= current)
            .find(|s| s.captures.iter().any(|c| c.variable == name))
            .map(|s| (s.name, s.line))
    }

    fn all_captures(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.steps
            .iter()
            .filter(|s| !s.skipped)
            .flat_map(|s| s.captures.iter().map(|c| c.variable.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(yaml: &str, env: &[&str]) -> Vec<String> {
        check_for(ProviderKind::Evolution, "s.yaml", yaml, env)
    }

    fn check_for(provider: ProviderKind, path: &str, yaml: &str, env: &[&str]) -> Vec<String> {
        let scenario = crate::scenario::parse(Path::new(path), yaml).unwrap();
        let env_has = |n: &str| env.contains(&n);
        let known = Known {
            provider,
            target_vars: vec!["provider".into(), "app".into(), "target".into()],
            env: &env_has,
        };
        undefined(&scenario, &known)
            .iter()
            .map(|d| d.to_string())
            .collect()
    }

    const STEPS: &str = "name: s\nvariables:\n  who: \"{{ phone() }}\"\nsteps:\n  - name: one\n    http: { url: \"{{ app.url }}/${HOME_URL:-x}/{{ who }}\" }\n    capture: { id: { jsonpath: $.id } }\n  - name: two\n    http: { url: \"{{ app.url }}/{{ id }}\" }\n";

    #[test]
    fn every_shipped_scenario_passes_on_both_providers() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<(String, String)> = crate::scenario::catalog::BUILTIN
            .iter()
            .map(|b| (b.path.to_string(), b.text.to_string()))
            .collect();
        let example = root.join("scenarios/examples/rest-smoke.yaml");
        files.push((
            "rest-smoke.yaml".into(),
            std::fs::read_to_string(example).unwrap(),
        ));
        for (path, text) in &files {
            for provider in ProviderKind::ALL {
                let found = check_for(provider, path, text, &[]);
                assert!(found.is_empty(), "{path} ({}): {found:?}", provider.name());
            }
        }
    }

    #[test]
    fn variables_captures_builtins_target_and_defaults_are_defined() {
        assert!(check(STEPS, &[]).is_empty(), "{:?}", check(STEPS, &[]));
    }

    #[test]
    fn unset_env_and_unknown_names_are_reported_where_written() {
        let yaml =
            STEPS.replace("{{ id }}", "{{ nosuch }}/${UNSET_X}") + "    # {{ in_comment }}\n";
        let found = check(&yaml, &[]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("s.yaml:9:33: undefined variable `nosuch`"),
            "{found:?}"
        );
        assert!(found[1].starts_with("s.yaml:9:46: environment variable `UNSET_X` is not set"));
        assert!(check(&yaml.replace("nosuch", "who"), &["UNSET_X"]).is_empty());
    }

    #[test]
    fn a_capture_used_before_its_step_is_named() {
        let yaml = STEPS.replace("/{{ who }}", "/{{ id }}");
        let found = check(&yaml, &[]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("captured by this step"), "{found:?}");
        let yaml =
            STEPS.replace("/{{ who }}", "/{{ later }}") + "    capture: { later: { header: x } }\n";
        let found = check(&yaml, &[]);
        assert!(
            found[0].contains("captured only later, by step `two` (line 8)"),
            "{found:?}"
        );
    }

    #[test]
    fn a_typo_gets_a_suggestion_and_skipped_steps_are_not_checked() {
        let found = check(&STEPS.replace("{{ who }}", "{{ wh0 }}"), &[]);
        assert!(found[0].contains("did you mean `who`?"), "{found:?}");
        let meta_only = STEPS.replace("  - name: two\n", "  - name: two\n    provider: meta\n");
        let meta_only = meta_only.replace("{{ id }}", "{{ nosuch }}");
        assert!(check(&meta_only, &[]).is_empty());
    }
}
