//! Diagnostics: what is wrong in a scenario file, where, and how to fix it.
//!
//! A diagnostic points at `file:line:col`; [`Diagnostic::render`] prints it in the style of
//! rustc and Hurl — the message, the location, the offending line and a caret under the
//! offending token, with the hint ("did you mean `checks`?") beside the caret:
//!
//! ```text
//! error: unknown key `chekcs` in step
//!   --> scenarios/smoke.yaml:12:5
//!    |
//! 12 |     chekcs:
//!    |     ^^^^^^ did you mean `checks`?
//! ```
//!
//! The parser collects every diagnostic of a file into [`Diagnostics`] instead of stopping at
//! the first, so one `harness validate` shows everything to fix.

use std::fmt;
use std::path::PathBuf;

use super::model::Span;

/// One error in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: PathBuf,
    /// Where the offending token starts (1-based line and column). Line 0 means "no position"
    /// (the diagnostic is about the file as a whole).
    pub span: Span,
    /// Width of the offending token in characters, for the caret line; 0 when unknown, which
    /// draws a single `^`.
    pub len: usize,
    pub message: String,
    /// Shown beside the caret: "did you mean `checks`?", the allowed keys, an example.
    pub hint: Option<String>,
}

/// The lines of a YAML file as YAML counts them (and so the parser's line numbers): a line
/// ends at `\r\n`, `\n` or a lone `\r` (YAML 1.2 §5.4). `str::lines` keeps a lone `\r`
/// inside a line, which put diagnostics on the wrong line (found by the `scenario_parse` fuzz
/// target).
pub fn yaml_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let t = rest?;
        match t.find(['\r', '\n']) {
            Some(i) => {
                let skip = if t[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&t[i + skip..]);
                Some(&t[..i])
            }
            None => {
                rest = None;
                Some(t)
            }
        }
    })
}

impl Diagnostic {
    pub fn new(path: impl Into<PathBuf>, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            path: path.into(),
            span,
            len: 0,
            message: message.into(),
            hint: None,
        }
    }

    /// Underlines `len` characters from the span's column.
    pub fn with_len(mut self, len: usize) -> Self {
        self.len = len;
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The diagnostic with the offending line of `source` and a caret under the token; ANSI
    /// colours only when `color` is true. Ends with a newline.
    /// A line longer than [`MAX_SHOWN`] characters is cut around the column, with `…` where
    /// text was left out, and messages and hints are cut to [`MAX_MESSAGE`] characters: a
    /// one-line file of megabytes gives a diagnostic of a few hundred bytes.
    pub fn render(&self, source: &str, color: bool) -> String {
        let style = if color { Style::ANSI } else { Style::PLAIN };
        let (g, r) = (style.gutter, style.reset);
        let mut out = format!(
            "{}error{r}{}: {}{r}\n",
            style.error,
            style.bold,
            shorten(&self.message)
        );
        let number = self.span.line.to_string();
        let pad = " ".repeat(number.len());
        let line_text = match self.span.line {
            0 => {
                out.push_str(&format!("{pad}{g}-->{r} {}\n", self.path.display()));
                None
            }
            n => {
                let (path, col) = (self.path.display(), self.span.col);
                out.push_str(&format!("{pad}{g}-->{r} {path}:{n}:{col}\n"));
                yaml_lines(source).nth(n - 1)
            }
        };
        match (line_text, &self.hint) {
            (Some(line_text), _) => {
                let (line_text, col) = clip(line_text.trim_end_matches('\r'), self.span.col);
                out.push_str(&format!("{pad} {g}|{r}\n{g}{number} |{r} {line_text}\n"));
                out.push_str(&format!(
                    "{pad} {g}|{r} {}\n",
                    self.caret(&line_text, col, &style)
                ));
            }
            (None, Some(hint)) => {
                out.push_str(&format!("{pad} {g}={r} help: {}\n", shorten(hint)));
            }
            (None, None) => {}
        }
        out
    }

    /// The caret line's content: blanks up to the column `col` of `line_text`, `^` under the
    /// token, the hint.
    fn caret(&self, line_text: &str, col: usize, style: &Style) -> String {
        // Keep tabs so the caret lines up with the line above whatever the tab width.
        let col = col.max(1);
        let indent: String = line_text
            .chars()
            .chain(std::iter::repeat(' '))
            .take(col - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let available = line_text.chars().count().saturating_sub(col - 1);
        let carets = "^".repeat(self.len.min(available).max(1));
        let label = self
            .hint
            .as_ref()
            .map(|h| format!(" {}", shorten(h)))
            .unwrap_or_default();
        format!("{indent}{}{carets}{label}{}", style.error, style.reset)
    }
}

impl fmt::Display for Diagnostic {
    /// One line: `path:line:col: message (hint)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if self.span.line > 0 {
            write!(f, ":{}:{}", self.span.line, self.span.col)?;
        }
        write!(f, ": {}", shorten(&self.message))?;
        if let Some(hint) = &self.hint {
            write!(f, " ({})", shorten(hint))?;
        }
        Ok(())
    }
}

/// Longest source line a diagnostic shows, in characters.
pub const MAX_SHOWN: usize = 160;
/// Characters shown before the column when a line is cut.
const BEFORE_COLUMN: usize = 60;
/// Longest message or hint, in characters (they may quote a token of any length).
pub const MAX_MESSAGE: usize = 300;

/// `line` cut to at most [`MAX_SHOWN`] characters around the 1-based column `col`, with `…`
/// where text was left out; returns it and the column's place in it.
fn clip(line: &str, col: usize) -> (std::borrow::Cow<'_, str>, usize) {
    let byte_at = |n: usize| line.char_indices().nth(n).map_or(line.len(), |(i, _)| i);
    if byte_at(MAX_SHOWN) == line.len() {
        return (line.into(), col);
    }
    let start = col.saturating_sub(1).saturating_sub(BEFORE_COLUMN);
    let from = byte_at(start);
    let rest = &line[from..];
    let to = rest
        .char_indices()
        .nth(MAX_SHOWN)
        .map_or(rest.len(), |(i, _)| i);
    let (head, tail) = (
        if start > 0 { "…" } else { "" },
        if to < rest.len() { "…" } else { "" },
    );
    let shown = format!("{head}{}{tail}", &rest[..to]);
    (shown.into(), col - start + head.chars().count())
}

/// `text` cut to [`MAX_MESSAGE`] characters, with `…` when cut.
fn shorten(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(MAX_MESSAGE) {
        None => text.into(),
        Some((i, _)) => format!("{}…", &text[..i]).into(),
    }
}

/// Every diagnostic found in one file, in source order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// All diagnostics rendered (see [`Diagnostic::render`]), separated by blank lines.
    pub fn render(&self, source: &str, color: bool) -> String {
        self.0
            .iter()
            .map(|d| d.render(source, color))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }
}

impl fmt::Display for Diagnostics {
    /// One line per diagnostic.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// ANSI escape sequences, or nothing.
struct Style {
    error: &'static str,
    bold: &'static str,
    gutter: &'static str,
    reset: &'static str,
}

impl Style {
    const ANSI: Style = Style {
        error: "\x1b[1;31m",
        bold: "\x1b[1m",
        gutter: "\x1b[1;34m",
        reset: "\x1b[0m",
    };
    const PLAIN: Style = Style {
        error: "",
        bold: "",
        gutter: "",
        reset: "",
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "name: smoke\nsteps:\n  - name: one\n    chekcs:\n\tx: \"tab\"\n";

    fn at(line: usize, col: usize) -> Span {
        Span { line, col }
    }

    #[test]
    fn renders_line_caret_and_hint() {
        let d = Diagnostic::new(
            "scenarios/smoke.yaml",
            at(4, 5),
            "unknown key `chekcs` in step",
        )
        .with_len(6)
        .with_hint("did you mean `checks`?");
        assert_eq!(
            d.render(SOURCE, false),
            "error: unknown key `chekcs` in step\n \
             --> scenarios/smoke.yaml:4:5\n  \
             |\n\
             4 |     chekcs:\n  \
             |     ^^^^^^ did you mean `checks`?\n"
        );
    }

    /// The column (in characters) where `pat` starts in `s`.
    fn column_of(s: &str, pat: &str) -> Option<usize> {
        s.find(pat).map(|b| s[..b].chars().count())
    }

    #[test]
    fn a_long_line_is_cut_around_the_column_with_the_caret_under_the_token() {
        let line = format!("{}BAD{}", "a".repeat(10_000), "z".repeat(10_000));
        let d = Diagnostic::new("f.yaml", at(1, 10_001), "bad `BAD`").with_len(3);
        let out = d.render(&line, false);
        let lines: Vec<&str> = out.lines().collect();
        assert!(out.len() < 600, "{out}");
        assert_eq!(lines[1], " --> f.yaml:1:10001");
        let (shown, caret) = (lines[3], lines[4]);
        assert!(
            shown.starts_with("1 | …a") && shown.ends_with("z…"),
            "{shown}"
        );
        assert_eq!(
            column_of(shown, "BAD"),
            column_of(caret, "^^^"),
            "\n{shown}\n{caret}"
        );
        assert_eq!(caret.matches('^').count(), 3);
        // A column near the start: cut at the end only.
        let near = Diagnostic::new("f.yaml", at(1, 2), "x").render(&line, false);
        let shown = near.lines().nth(3).unwrap();
        assert!(
            shown.starts_with("1 | aaa") && shown.ends_with("a…"),
            "{shown}"
        );
        let long = Diagnostic::new("f.yaml", at(0, 0), "k".repeat(5000)).render("", false);
        assert!(long.len() < 400 && long.contains("k…"), "{long}");
    }

    #[test]
    fn gutter_widens_with_the_line_number() {
        let source = format!("{}    chekcs:\n", "x: 1\n".repeat(11));
        let d = Diagnostic::new(
            "scenarios/smoke.yaml",
            at(12, 5),
            "unknown key `chekcs` in step",
        )
        .with_len(6)
        .with_hint("did you mean `checks`?");
        assert_eq!(
            d.render(&source, false),
            "error: unknown key `chekcs` in step
  --> scenarios/smoke.yaml:12:5
   |
12 |     chekcs:
   |     ^^^^^^ did you mean `checks`?
"
        );
    }

    #[test]
    fn unknown_width_draws_one_caret_and_width_stops_at_line_end() {
        let d = Diagnostic::new("a.yaml", at(1, 7), "bad");
        assert!(d
            .render(SOURCE, false)
            .ends_with("1 | name: smoke\n  |       ^\n"));
        let d = d.with_len(50);
        assert!(d.render(SOURCE, false).ends_with("  |       ^^^^^\n"));
    }

    #[test]
    fn tabs_are_kept_so_the_caret_lines_up() {
        let d = Diagnostic::new("a.yaml", at(5, 2), "tab").with_len(1);
        assert!(d
            .render(SOURCE, false)
            .ends_with("5 | \tx: \"tab\"\n  | \t^\n"));
    }

    #[test]
    fn no_position_or_line_past_the_end_prints_location_and_help_only() {
        let d = Diagnostic::new("a.yaml", at(0, 0), "the file is empty").with_hint("add `name`");
        assert_eq!(
            d.render("", false),
            "error: the file is empty\n --> a.yaml\n  = help: add `name`\n"
        );
        let d = Diagnostic::new("a.yaml", at(9, 1), "end");
        assert_eq!(d.render(SOURCE, false), "error: end\n --> a.yaml:9:1\n");
    }

    #[test]
    fn colour_only_when_asked() {
        let d = Diagnostic::new("a.yaml", at(1, 1), "bad").with_len(4);
        assert!(!d.render(SOURCE, false).contains('\x1b'));
        let coloured = d.render(SOURCE, true);
        assert!(coloured.starts_with("\x1b[1;31merror\x1b[0m\x1b[1m: bad\x1b[0m\n"));
        assert!(coloured.contains("\x1b[1;31m^^^^\x1b[0m"));
    }

    #[test]
    fn display_is_one_line_per_diagnostic() {
        let all = Diagnostics(vec![
            Diagnostic::new("a.yaml", at(2, 3), "first").with_hint("fix it"),
            Diagnostic::new("a.yaml", at(0, 0), "second"),
        ]);
        assert_eq!(
            all.to_string(),
            "a.yaml:2:3: first (fix it)\na.yaml: second"
        );
        assert_eq!(all.len(), 2);
        let rendered = all.render(SOURCE, false);
        assert!(rendered.contains("^ fix it\n\nerror: second\n"));
    }
}
