//! One data file as an index of where each row starts, read back one row at a time.
//!
//! Opening a file streams it once: every row is parsed (so a malformed row is an error before
//! the run, with its line), and only its byte offset is kept — 8 bytes a row, one index per
//! process shared by every worker. A row is read when an iteration takes it, with a positioned
//! read (`pread`) of its bytes: nothing of the file stays in the process's memory, so a
//! million-row file costs the index (8 MB) and not the file.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// The formats, by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.csv`: a header line of column names, then one record a row (RFC 4180 quoting).
    Csv,
    /// `.json`: an array of objects.
    Json,
    /// `.jsonl`, `.ndjson`: one object a line.
    JsonLines,
}

impl Format {
    pub fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            _ => None,
        }
    }
}

/// Why a data file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("cannot read data file `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("data file `{}` has no format this harness reads (its extension)", path.display())]
    Format { path: PathBuf },
    #[error("data file `{}`, line {line}: {message}", path.display())]
    Row {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("data file `{}` has no rows", path.display())]
    Empty { path: PathBuf },
}

/// An indexed data file.
#[derive(Debug)]
pub struct Table {
    pub path: PathBuf,
    format: Format,
    file: File,
    len: u64,
    /// CSV: the header; JSON: the keys of the first row.
    pub columns: Vec<String>,
    /// Where each row starts, in bytes; row i ends where row i + 1 starts (the last, at `len`).
    starts: Vec<u64>,
}

impl Table {
    pub fn open(path: &Path) -> Result<Table, TableError> {
        let format = Format::of(path).ok_or_else(|| TableError::Format {
            path: path.to_path_buf(),
        })?;
        let io = |source| TableError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let reader = BufReader::with_capacity(1 << 16, file.try_clone().map_err(io)?);
        let (columns, starts) = match format {
            Format::Csv => index_csv(path, reader)?,
            Format::Json | Format::JsonLines => index_json(path, reader, format)?,
        };
        if starts.is_empty() {
            return Err(TableError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(Table {
            path: path.to_path_buf(),
            format,
            file,
            len,
            columns,
            starts,
        })
    }

    /// How many rows the file has.
    pub fn rows(&self) -> u64 {
        self.starts.len() as u64
    }

    /// Row `index` (0-based, below [`Table::rows`]) as an object: CSV values are strings, JSON values as written.
    pub fn row(&self, index: u64) -> Result<Value, TableError> {
        let i = usize::try_from(index).unwrap_or(usize::MAX);
        let start = self.starts[i];
        let end = self.starts.get(i + 1).copied().unwrap_or(self.len);
        let mut bytes = vec![0; usize::try_from(end - start).unwrap_or(0)];
        self.file
            .read_exact_at(&mut bytes, start)
            .map_err(|source| TableError::Io {
                path: self.path.clone(),
                source,
            })?;
        let bad = |message: String| TableError::Row {
            path: self.path.clone(),
            line: 0,
            message: format!("row {} changed since the run began: {message}", index + 1),
        };
        match self.format {
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .from_reader(bytes.as_slice());
                let mut record = csv::StringRecord::new();
                match reader.read_record(&mut record) {
                    Ok(true) => Ok(Value::Object(
                        self.columns
                            .iter()
                            .zip(record.iter())
                            .map(|(c, v)| (c.clone(), Value::String(v.to_string())))
                            .collect(),
                    )),
                    Ok(false) => Err(bad("it is empty".into())),
                    Err(e) => Err(bad(e.to_string())),
                }
            }
            Format::Json | Format::JsonLines => first_value(&bytes).map(Value::Object).map_err(bad),
        }
    }
}

/// The first JSON object at the start of `bytes` (what follows it is ignored).
fn first_value(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    let mut values = serde_json::Deserializer::from_slice(bytes).into_iter::<Map<String, Value>>();
    match values.next() {
        Some(v) => v.map_err(|e| e.to_string()),
        None => Err("it is empty".to_string()),
    }
}

fn index_csv(path: &Path, reader: BufReader<File>) -> Result<(Vec<String>, Vec<u64>), TableError> {
    let mut csv = csv::ReaderBuilder::new().from_reader(reader);
    let row_error = |e: csv::Error| TableError::Row {
        path: path.to_path_buf(),
        line: e.position().map_or(0, csv::Position::line),
        message: match e.kind() {
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => format!("{len} fields where the header has {expected_len}"),
            _ => e.to_string(),
        },
    };
    let columns: Vec<String> = csv
        .headers()
        .map_err(row_error)?
        .iter()
        .map(str::to_string)
        .collect();
    let mut record = csv::ByteRecord::new();
    let mut starts = Vec::new();
    while csv.read_byte_record(&mut record).map_err(row_error)? {
        starts.push(record.position().map_or(0, csv::Position::byte));
    }
    Ok((columns, starts))
}

/// JSON lines: each non-blank line an object. A JSON array: each element an object, found
/// by [`Elements`] without holding more than one element.
fn index_json(
    path: &Path,
    mut reader: BufReader<File>,
    format: Format,
) -> Result<(Vec<String>, Vec<u64>), TableError> {
    let (mut columns, mut starts) = (None, Vec::new());
    let mut check = |bytes: &[u8], line: u64, start: u64| -> Result<(), TableError> {
        let object: Map<String, Value> =
            serde_json::from_slice(bytes).map_err(|e| TableError::Row {
                path: path.to_path_buf(),
                line,
                message: format!("not a JSON object: {e}"),
            })?;
        columns.get_or_insert_with(|| object.keys().cloned().collect());
        starts.push(start);
        Ok(())
    };
    let io = |source| TableError::Io {
        path: path.to_path_buf(),
        source,
    };
    if format == Format::JsonLines {
        let (mut line, mut offset, mut buf) = (0u64, 0u64, Vec::new());
        loop {
            buf.clear();
            let n = reader.read_until(b'\n', &mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            line += 1;
            if !buf.trim_ascii().is_empty() {
                check(&buf, line, offset)?;
            }
            offset += n as u64;
        }
    } else {
        let mut elements = Elements::default();
        elements.scan(reader, &mut check).map_err(|e| match e {
            ScanError::Io(source) => io(source),
            ScanError::Table(t) => t,
            ScanError::Shape(line, message) => TableError::Row {
                path: path.to_path_buf(),
                line,
                message: message.to_string(),
            },
        })?;
    }
    Ok((columns.unwrap_or_default(), starts))
}

enum ScanError {
    Io(std::io::Error),
    Table(TableError),
    Shape(u64, &'static str),
}

/// A scanner of a JSON array's top-level elements: where each starts, and its bytes.
#[derive(Default)]
struct Elements {
    depth: u32,
    in_string: bool,
    escaped: bool,
    line: u64,
    /// The element being read, and its offset and line.
    current: Vec<u8>,
    start: u64,
    start_line: u64,
    opened: bool,
}

type Check<'a> = dyn FnMut(&[u8], u64, u64) -> Result<(), TableError> + 'a;

impl Elements {
    fn scan(&mut self, reader: BufReader<File>, check: &mut Check<'_>) -> Result<(), ScanError> {
        use std::io::Read;
        self.line = 1;
        for (offset, byte) in reader.bytes().enumerate() {
            let b = byte.map_err(ScanError::Io)?;
            self.byte(b, offset as u64, check)?;
        }
        if !self.opened || self.depth != 0 {
            return Err(ScanError::Shape(
                self.line,
                "expected one JSON array of objects",
            ));
        }
        Ok(())
    }

    fn byte(&mut self, b: u8, offset: u64, check: &mut Check<'_>) -> Result<(), ScanError> {
        if b == b'\n' {
            self.line += 1;
        }
        if self.depth >= 2 {
            self.current.push(b);
        }
        if self.in_string {
            match (self.escaped, b) {
                (false, b'\\') => self.escaped = true,
                (false, b'"') => self.in_string = false,
                _ => self.escaped = false,
            }
            return Ok(());
        }
        match b {
            b'"' if self.depth == 1 => {
                return Err(ScanError::Shape(
                    self.line,
                    "expected an object in the array",
                ))
            }
            b'"' => self.in_string = true,
            b'[' | b'{' if self.depth == 0 => {
                if b == b'{' || self.opened {
                    return Err(ScanError::Shape(
                        self.line,
                        "expected one JSON array of objects",
                    ));
                }
                self.opened = true;
                self.depth = 1;
            }
            b'[' | b'{' => {
                if self.depth == 1 {
                    self.current = vec![b];
                    (self.start, self.start_line) = (offset, self.line);
                }
                self.depth += 1;
            }
            b']' | b'}' => {
                self.depth = self.depth.saturating_sub(1);
                if self.depth == 1 {
                    let (line, start) = (self.start_line, self.start);
                    check(&self.current, line, start).map_err(ScanError::Table)?;
                }
            }
            b',' | b' ' | b'\t' | b'\r' | b'\n' => {}
            _ if self.depth == 1 => {
                return Err(ScanError::Shape(
                    self.line,
                    "expected an object in the array",
                ))
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn csv_json_and_json_lines_rows_are_read_back_by_index() {
        let dir = tempfile::tempdir().unwrap();
        let csv = "id,name\n1,\"Ana, \"\"A\"\"\"\n\n2,\"two\nlines\"\n3,c";
        let t = Table::open(&write(dir.path(), "a.csv", csv)).unwrap();
        assert_eq!(
            (t.rows(), t.columns.clone()),
            (3, vec!["id".into(), "name".into()])
        );
        assert_eq!(t.row(0).unwrap()["name"], "Ana, \"A\"");
        assert_eq!(t.row(1).unwrap()["name"], "two\nlines");
        assert_eq!(t.row(2).unwrap()["id"], "3");
        let json = "[ {\"id\": 1, \"t\": \"a]}\\\"\"},\n {\"id\": 2, \"n\": {\"x\": [1]}} ]";
        let t = Table::open(&write(dir.path(), "a.json", json)).unwrap();
        assert_eq!(t.rows(), 2);
        assert_eq!(t.row(0).unwrap()["t"], "a]}\"");
        assert_eq!(t.row(1).unwrap()["n"]["x"][0], 1);
        let t = Table::open(&write(dir.path(), "a.jsonl", "{\"a\":1}\n\n{\"a\":2}\n")).unwrap();
        assert_eq!((t.rows(), t.row(1).unwrap()["a"].clone()), (2, 2.into()));
    }

    #[test]
    fn bad_files_say_what_and_where() {
        let dir = tempfile::tempdir().unwrap();
        let e = Table::open(&write(dir.path(), "b.csv", "a,b\n1,2\n3\n")).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "data file `{}`, line 3: 1 fields where the header has 2",
                dir.path().join("b.csv").display()
            )
        );
        let e = Table::open(&write(dir.path(), "b.jsonl", "{\"a\":1}\n[2]\n")).unwrap_err();
        assert!(e.to_string().contains("line 2: not a JSON object"), "{e}");
        let e = Table::open(&write(dir.path(), "b.json", "{\"a\": 1}")).unwrap_err();
        assert!(
            e.to_string().contains("expected one JSON array of objects"),
            "{e}"
        );
        let e = Table::open(&write(dir.path(), "c.json", "[1, 2]")).unwrap_err();
        assert!(e.to_string().contains("line 1: expected an object"), "{e}");
        let e = Table::open(&write(dir.path(), "e.csv", "a,b\n")).unwrap_err();
        assert!(e.to_string().contains("has no rows"), "{e}");
        let e = Table::open(&dir.path().join("missing.csv")).unwrap_err();
        assert!(e.to_string().starts_with("cannot read data file"), "{e}");
        let e = Table::open(&write(dir.path(), "x.txt", "")).unwrap_err();
        assert!(matches!(e, TableError::Format { .. }), "{e}");
    }
}
