//! YAML text → [`Scenario`], with every error in the file reported at once.
//!
//! saphyr's [`MarkedYaml`] gives every node its position, so each diagnostic points at the
//! offending key or value. A YAML syntax error stops the parse (saphyr stops at the first
//! one); past that, every reader reports what is wrong and carries on with the next key, step
//! or check, so `harness validate` shows everything to fix in one go. The format itself is
//! specified in `docs/scenario-format.md`.
//!
//! Layout: [`node`] reads YAML nodes into plain values and holds the diagnostics, [`step`]
//! reads steps and their actions, [`check`] reads checks and captures; the tests that pin
//! positions and rendered output are in `tests.rs`.

use std::path::{Path, PathBuf};

use saphyr::{LoadableYamlNode, MarkedYaml};

use super::diagnostic::{Diagnostic, Diagnostics};
use super::model::{ProviderKind, Scenario, Span, Variable};
use node::{is_identifier, position, Ctx, Entry, Node};

mod check;
mod data;
mod deps;
mod e2e;
mod inject;
mod load;
pub(crate) mod node;
mod step;
mod targets;
mod watch;

pub use targets::parse_targets;
#[cfg(test)]
mod tests;

const SCENARIO_KEYS: &[&str] = &[
    "name",
    "description",
    "provider",
    "variables",
    "secrets",
    "steps",
    "thresholds",
    "load",
    "watch",
    "data",
    "dependencies",
];

/// Where a YAML syntax error is, inside the file: at the end of input the scanner's marker
/// can be one line past the last (found by the `scenario_parse` fuzz target); it then points
/// at the end of the last line.
pub(super) fn yaml_error_span(e: &saphyr::ScanError, text: &str) -> Span {
    let lines: Vec<&str> = super::diagnostic::yaml_lines(text).collect();
    let line = e.marker().line().max(1);
    match lines.get(line - 1) {
        Some(l) => Span {
            line,
            col: (e.marker().col() + 1).min(l.chars().count() + 1),
        },
        None => {
            let last = lines.len();
            let chars = lines[last - 1].chars().count();
            Span {
                line: last,
                col: chars + 1,
            }
        }
    }
}

/// Parses and validates a scenario; `path` is only used in diagnostics and kept in
/// [`Scenario::path`], `text` is kept in [`Scenario::source`].
pub fn parse(path: &Path, text: &str) -> Result<Scenario, Diagnostics> {
    let mut ctx = Ctx::new(path, text);
    let scenario = match MarkedYaml::load_from_str(text) {
        Err(e) => {
            let span = yaml_error_span(&e, text);
            let line = super::diagnostic::yaml_lines(text)
                .nth(span.line.saturating_sub(1))
                .unwrap_or("");
            let message = format!("invalid YAML: {}", e.info());
            ctx.error_at(span, 1, message, syntax_hint(e.info(), line));
            None
        }
        Ok(docs) => match docs.as_slice() {
            [] => {
                let hint = Some("a scenario needs at least `name` and `steps`".to_string());
                ctx.error_at(
                    Span { line: 1, col: 1 },
                    1,
                    "the file is empty".into(),
                    hint,
                );
                None
            }
            [doc, extra @ ..] => {
                if let Some(second) = extra.first() {
                    let message = "a scenario file holds one YAML document; found a second one";
                    let hint = Some("remove the `---` separator or split the file".to_string());
                    ctx.error(second, message, hint);
                }
                scenario(&mut ctx, doc, path, text)
            }
        },
    };
    let diagnostics = ctx.finish();
    match scenario {
        Some(scenario) if diagnostics.is_empty() => Ok(scenario),
        _ => Err(Diagnostics(diagnostics)),
    }
}

/// Reads and parses a scenario file.
pub fn parse_file(path: &Path) -> Result<Scenario, ParseFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ParseFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text).map_err(|diagnostics| ParseFileError::Invalid {
        path: path.to_path_buf(),
        text,
        diagnostics,
    })
}

/// Why [`parse_file`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ParseFileError {
    #[error("cannot read scenario file `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid scenario file `{}`:\n{diagnostics}", path.display())]
    Invalid {
        path: PathBuf,
        /// The file's text, to render the diagnostics against.
        text: String,
        diagnostics: Diagnostics,
    },
}

impl ParseFileError {
    /// For a terminal: the diagnostics with source lines and carets, or the read error.
    pub fn render(&self, color: bool) -> String {
        match self {
            ParseFileError::Read { path, .. } => {
                Diagnostic::new(path, Span::default(), self.to_string()).render("", color)
            }
            ParseFileError::Invalid {
                text, diagnostics, ..
            } => diagnostics.render(text, color),
        }
    }
}

/// The usual causes of a YAML syntax error in a scenario, recognised on the offending line.
fn syntax_hint(info: &str, line: &str) -> Option<String> {
    let trimmed = line.trim_start();
    if info.contains("tab") {
        Some("indent with spaces, not tabs".to_string())
    } else if trimmed.contains(": {{") || trimmed.starts_with("- {{") {
        Some(node::TEMPLATE_HINT.to_string())
    } else {
        None
    }
}

fn scenario(ctx: &mut Ctx, root: &Node, path: &Path, text: &str) -> Option<Scenario> {
    let fields = ctx.fields(root, "the scenario", SCENARIO_KEYS)?;
    let what = "the scenario";
    let name = ctx
        .required(&fields, "name", root, what)
        .and_then(|e| ctx.non_empty_string(e));
    let description = fields.get("description").map(|e| ctx.string(e));
    let provider = fields.get("provider").map(|e| provider(ctx, e));
    let variables = fields.get("variables").map(|e| variables(ctx, e));
    // Before the steps: they refer to the dependencies by name.
    let dependencies = fields
        .get("dependencies")
        .map(|e| deps::dependencies(ctx, e));
    let secrets = fields.get("secrets").map(|e| secrets(ctx, e));
    let steps = ctx
        .required(&fields, "steps", root, what)
        .and_then(|e| step::steps(ctx, e));
    let thresholds = fields
        .get("thresholds")
        .map(|e| step::scenario_thresholds(ctx, e));
    let load = fields.get("load").map(|e| load::load(ctx, e));
    let watch = fields.get("watch").map(|e| watch::watch(ctx, e));
    let data = fields.get("data").map(|e| data::data(ctx, e));
    Some(Scenario {
        name: name?,
        description: node::optional(description)?,
        provider: node::optional(provider)?,
        path: path.to_path_buf(),
        source: text.to_string(),
        variables: variables.unwrap_or(Some(Vec::new()))?,
        secrets: secrets.unwrap_or(Some(Vec::new()))?,
        steps: steps?,
        thresholds: thresholds.unwrap_or(Some(Vec::new()))?,
        load: node::optional(load)?,
        watch: node::optional(watch)?,
        data: data.unwrap_or(Some(Vec::new()))?,
        dependencies: dependencies.unwrap_or(Some(Vec::new()))?,
    })
}

/// `provider: evolution|meta`.
fn provider(ctx: &mut Ctx, entry: &Entry) -> Option<ProviderKind> {
    let name = ctx.string(entry)?;
    let kind = ProviderKind::parse(&name);
    if kind.is_none() {
        let hint = Some("use `evolution` or `meta`".to_string());
        ctx.error(
            entry.value_node(),
            format!("unknown provider `{name}`"),
            hint,
        );
    }
    kind
}

/// `secrets:` — names of environment variables, `variables:` and captures whose values are
/// secrets (masked in all output) even though their names do not say so.
fn secrets(ctx: &mut Ctx, entry: &Entry) -> Option<Vec<String>> {
    let hint = || Some("e.g. `secrets: [CRM_LOGIN, session]`".to_string());
    let saphyr::YamlData::Sequence(items) = &node::untag(entry.value).data else {
        let found = node::describe(entry.value);
        let message = format!("expected a list of names for `secrets`, found {found}");
        ctx.error(entry.value_node(), message, hint());
        return None;
    };
    let names: Vec<Option<String>> = items
        .iter()
        .map(|item| match &node::untag(item).data {
            saphyr::YamlData::Value(saphyr::Scalar::String(name)) if is_identifier(name) => {
                Some(name.to_string())
            }
            _ => {
                let message = "expected a variable name (letters, digits, `_`)";
                ctx.error(item, message, hint());
                None
            }
        })
        .collect();
    names.into_iter().collect()
}

/// `variables:` — name → template, in file order.
fn variables(ctx: &mut Ctx, entry: &Entry) -> Option<Vec<Variable>> {
    let mut variables = Vec::new();
    let mut complete = true;
    for e in ctx.entries(entry.value, "`variables`")? {
        if !is_identifier(&e.key) {
            let message = format!("invalid variable name `{}`", e.key);
            ctx.error(
                e.key_node,
                message,
                Some(check::IDENTIFIER_HINT.to_string()),
            );
            complete = false;
        }
        match ctx.text(&e) {
            Some(value) => variables.push(Variable {
                name: e.key,
                value,
                span: position(e.key_node).0,
            }),
            None => complete = false,
        }
    }
    complete.then_some(variables)
}
