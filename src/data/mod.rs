//! Data feeders: the scenario's `data:` files, opened and checked before the run, and the row
//! each iteration takes.
//!
//! A feeder's file is indexed once per process ([`table`]); the iterations of a run (the
//! workers of a load) share that index and take rows by a counter: `sequential` takes row
//! k mod n for its k-th iteration, `unique` row k until none is left, `random` any row. Shard
//! I of N (`harness load --shard`) counts with stride N from I−1, as `seq()` does, so the
//! shards of one load take disjoint rows without talking to each other.

pub mod table;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::Value;

use crate::scenario::parse::node::suggest;
use crate::scenario::references::{self, WithMessage};
use crate::scenario::{Diagnostic, Scenario, Selection, Span};
pub use table::{Table, TableError};

/// The feeders of a run, each with its own counter.
#[derive(Debug, Default)]
pub struct Feeds {
    feeds: Vec<Feed>,
}

#[derive(Debug)]
struct Feed {
    name: String,
    span: Span,
    select: Selection,
    table: Arc<Table>,
    next: AtomicU64,
    stride: u64,
    offset: u64,
}

/// An iteration could not take a row.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct PickError {
    /// The feeder's variable name and where it is written.
    pub name: String,
    pub span: Span,
    pub message: String,
}

impl Feeds {
    /// Opens the scenario's data files (relative to its folder) and checks that every
    /// `{{ name.column }}` it writes names a column of that feeder's file; every problem is
    /// a diagnostic at the scenario's `file:line:col`.
    pub fn open(scenario: &Scenario) -> Result<Feeds, Vec<Diagnostic>> {
        let folder = scenario.path.parent().unwrap_or(Path::new(""));
        let mut feeds = Vec::new();
        let mut found = Vec::new();
        for spec in &scenario.data {
            match Table::open(&folder.join(&spec.file)) {
                Ok(table) => feeds.push(Feed {
                    name: spec.name.clone(),
                    span: spec.span,
                    select: spec.select,
                    table: Arc::new(table),
                    next: AtomicU64::new(0),
                    stride: 1,
                    offset: 0,
                }),
                Err(e) => found.push(file_diagnostic(scenario, spec, &e)),
            }
        }
        let feeds = Feeds { feeds };
        found.extend(feeds.unknown_columns(scenario));
        if found.is_empty() {
            Ok(feeds)
        } else {
            found.sort_by_key(|d| d.span);
            Err(found)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.feeds.is_empty()
    }

    /// The same files with fresh counters that take every `stride`-th row from `offset`
    /// (shard I of N: stride N, offset I−1).
    pub fn sharded(&self, stride: u64, offset: u64) -> Feeds {
        let feeds = self.feeds.iter().map(|f| Feed {
            name: f.name.clone(),
            span: f.span,
            select: f.select,
            table: f.table.clone(),
            next: AtomicU64::new(0),
            stride: stride.max(1),
            offset,
        });
        Feeds {
            feeds: feeds.collect(),
        }
    }

    /// The next row of every feeder, as `(variable, row)`.
    pub fn pick(&self) -> Result<Vec<(String, Value)>, PickError> {
        self.feeds.iter().map(|f| f.take(false)).collect()
    }

    /// The row the next iteration would take, without taking it (to try the variables once
    /// before a load).
    pub fn peek(&self) -> Result<Vec<(String, Value)>, PickError> {
        self.feeds.iter().map(|f| f.take(true)).collect()
    }

    fn unknown_columns(&self, scenario: &Scenario) -> Vec<Diagnostic> {
        let mut found = Vec::new();
        for (number, line, start, expr) in references::expressions(&scenario.source) {
            for path in references::paths(expr).unwrap_or_default() {
                let Some((name, column)) = path.split_once('.') else {
                    continue;
                };
                let column = column.split('.').next().unwrap_or(column);
                let Some(feed) = self.feeds.iter().find(|f| f.name == name) else {
                    continue;
                };
                let columns: Vec<&str> = feed.table.columns.iter().map(String::as_str).collect();
                if columns.contains(&column) {
                    continue;
                }
                let file = feed.table.path.display();
                let hint = match suggest(column, &columns) {
                    Some(close) => format!("did you mean `{name}.{close}`?"),
                    None => format!("its columns: {}", columns.join(", ")),
                };
                let message = format!("`{file}` has no column `{column}` (in `{expr}`)");
                found.push(
                    references::at(&scenario.path, (line, number, start), expr)
                        .with_hint(hint)
                        .message(message),
                );
            }
        }
        found
    }
}

impl Feed {
    fn take(&self, peek: bool) -> Result<(String, Value), PickError> {
        let rows = self.table.rows();
        let k = if peek {
            self.next.load(Ordering::Relaxed)
        } else {
            self.next.fetch_add(1, Ordering::Relaxed)
        };
        let index = match self.select {
            Selection::Random => rand::random_range(0..rows),
            Selection::Sequential => (self.offset + k.wrapping_mul(self.stride)) % rows,
            Selection::Unique => {
                let index = k
                    .checked_mul(self.stride)
                    .and_then(|i| i.checked_add(self.offset))
                    .filter(|i| *i < rows);
                index.ok_or_else(|| self.error(self.exhausted(rows)))?
            }
        };
        let row = self
            .table
            .row(index)
            .map_err(|e| self.error(e.to_string()))?;
        Ok((self.name.clone(), row))
    }

    fn exhausted(&self, rows: u64) -> String {
        let file = self.table.path.display();
        let own = rows.saturating_sub(self.offset).div_ceil(self.stride);
        let whose = if self.stride > 1 {
            format!("the {own} rows of `{file}` this shard takes")
        } else {
            format!("the {rows} rows of `{file}`")
        };
        format!("{whose} are all used (`select: unique` takes each row once): give a file with more rows, or run fewer iterations")
    }

    fn error(&self, message: String) -> PickError {
        PickError {
            name: self.name.clone(),
            span: self.span,
            message,
        }
    }
}

fn file_diagnostic(
    scenario: &Scenario,
    spec: &crate::scenario::DataSpec,
    error: &TableError,
) -> Diagnostic {
    let written = spec.file.display().to_string();
    let hint = match error {
        TableError::Io { .. } => "the path is relative to the scenario's folder".to_string(),
        TableError::Format { .. } => "use a `.csv`, `.json` or `.jsonl` file".to_string(),
        TableError::Row { .. } => "fix that row of the file".to_string(),
        TableError::Empty { .. } => "a feeder needs at least one row".to_string(),
    };
    Diagnostic::new(&scenario.path, spec.span, error.to_string())
        .with_len(written.chars().count())
        .with_hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(dir: &Path, data: &str, url: &str) -> Scenario {
        let yaml =
            format!("name: s\ndata: {data}\nsteps:\n  - name: a\n    http: {{ url: \"{url}\" }}\n");
        crate::scenario::parse(&dir.join("s.yaml"), &yaml).unwrap()
    }

    fn ids(feeds: &Feeds, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| match feeds.pick() {
                Ok(rows) => rows[0].1["id"].as_str().unwrap().to_string(),
                Err(e) => e.message,
            })
            .collect()
    }

    #[test]
    fn sequential_wraps_unique_runs_out_and_shards_are_disjoint() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.csv"), "id\n1\n2\n3\n4\n5\n").unwrap();
        let url = "http://x/{{ row.id }}";
        let seq = Feeds::open(&scenario(dir.path(), "{ file: c.csv }", url)).unwrap();
        assert_eq!(ids(&seq, 6), ["1", "2", "3", "4", "5", "1"]);
        let unique = Feeds::open(&scenario(
            dir.path(),
            "{ file: c.csv, select: unique }",
            url,
        ));
        let unique = unique.unwrap();
        assert_eq!(unique.peek().unwrap()[0].1["id"], "1");
        let (one, two) = (unique.sharded(2, 0), unique.sharded(2, 1));
        assert_eq!(ids(&one, 3), ["1", "3", "5"]);
        let two = ids(&two, 3);
        assert_eq!(two[..2], ["2", "4"]);
        assert!(
            two[2].starts_with("the 2 rows of `") && two[2].contains("this shard takes"),
            "{two:?}"
        );
        let random = Feeds::open(&scenario(
            dir.path(),
            "{ file: c.csv, select: random }",
            url,
        ));
        let drawn = ids(&random.unwrap(), 50);
        assert!(drawn
            .iter()
            .all(|id| ["1", "2", "3", "4", "5"].contains(&id.as_str())));
    }

    #[test]
    fn a_missing_file_or_column_is_a_diagnostic_in_the_scenario() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.csv"), "id,phone\n1,2\n").unwrap();
        let s = scenario(dir.path(), "{ file: nope.csv }", "http://x");
        let e = Feeds::open(&s).unwrap_err();
        assert_eq!(e[0].span, Span { line: 2, col: 15 });
        assert!(e[0].message.starts_with("cannot read data file"), "{e:?}");
        let s = scenario(
            dir.path(),
            "{ file: c.csv, name: c }",
            "http://x/{{ c.phnoe }}",
        );
        let e = Feeds::open(&s).unwrap_err();
        assert_eq!(e[0].span, Span { line: 5, col: 28 });
        assert!(e[0]
            .message
            .ends_with("has no column `phnoe` (in `{{ c.phnoe }}`)"));
        assert_eq!(e[0].hint.as_deref(), Some("did you mean `c.phone`?"));
    }
}
