//! A watch's durable history (`--db FILE`): one SQLite database per watch, a row per judged
//! run written as the run ends, so a watch killed mid-way (a crash, a SIGKILL, a reboot)
//! resumes with the same command: the earlier runs are replayed through the rules, the clock
//! and the `--for` budget go on from the original start.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};

use super::CommandError;
use crate::report::Report;
use crate::watch::RunRecord;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS watch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    scenario TEXT NOT NULL,
    started_unix_ms INTEGER NOT NULL,
    every_ms INTEGER NOT NULL,
    started INTEGER NOT NULL DEFAULT 0,
    missed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS report (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL,
    passed INTEGER NOT NULL,
    record TEXT NOT NULL
);
";

/// An open watch database.
pub(super) struct Store {
    conn: Connection,
    path: PathBuf,
}

/// What a database already held when the watch started.
pub(super) struct Resumed {
    pub wall_start: SystemTime,
    pub started: u64,
    pub missed: u64,
}

impl Store {
    /// Opens (or creates) the database; when it holds a watch of the same scenario, returns
    /// its start and counters, to resume it. Another scenario's watch is exit 2.
    pub fn open(
        path: &Path,
        scenario: &str,
        every: Duration,
    ) -> Result<(Store, Option<Resumed>), CommandError> {
        let invalid = |e: rusqlite::Error| {
            CommandError::Invalid(format!(
                "error: --db {}: not a watch database ({e})",
                path.display()
            ))
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                CommandError::Invalid(format!("error: --db {}: {e}", path.display()))
            })?;
        }
        let conn = Connection::open(path).map_err(invalid)?;
        // A watch appends one row a run and reads the table back only on resume: SQLite's
        // default page cache (2 MB) would grow with the database for the first half hour of a
        // `--every 1s` watch; 256 KiB fills in a minute and stays flat (docs/benchmarks.md).
        conn.execute_batch("PRAGMA cache_size = -256;")
            .map_err(invalid)?;
        conn.execute_batch(SCHEMA).map_err(invalid)?;
        let row = conn
            .query_row(
                "SELECT scenario, started_unix_ms, started, missed FROM watch WHERE id = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                },
            )
            .optional()
            .map_err(invalid)?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
        };
        let Some((held, start_ms, started, missed)) = row else {
            let now = unix_ms(SystemTime::now());
            store
                .conn
                .execute(
                    "INSERT INTO watch (id, scenario, started_unix_ms, every_ms) VALUES (1, ?1, ?2, ?3)",
                    params![scenario, now, every.as_millis() as i64],
                )
                .map_err(invalid)?;
            return Ok((store, None));
        };
        if held != scenario {
            return Err(CommandError::Invalid(format!(
                "error: --db {} holds a watch of `{held}`, not `{scenario}`: choose another file",
                path.display()
            )));
        }
        let resumed = Resumed {
            wall_start: UNIX_EPOCH + Duration::from_millis(start_ms.max(0) as u64),
            started: started.max(0) as u64,
            missed: missed.max(0) as u64,
        };
        Ok((store, Some(resumed)))
    }

    /// Every stored run, oldest first, handed to `each` one at a time (never all in memory).
    pub fn replay(&self, mut each: impl FnMut(RunRecord)) -> Result<u64, CommandError> {
        let fault = |e: rusqlite::Error| self.fault(e);
        let mut stmt = self
            .conn
            .prepare("SELECT record FROM runs ORDER BY seq")
            .map_err(fault)?;
        let mut rows = stmt.query([]).map_err(fault)?;
        let mut n = 0;
        while let Some(row) = rows.next().map_err(fault)? {
            let text: String = row.get(0).map_err(fault)?;
            let record: RunRecord = serde_json::from_str(&text).map_err(|e| {
                CommandError::Invalid(format!(
                    "error: --db {}: a stored run cannot be read ({e})",
                    self.path.display()
                ))
            })?;
            each(record);
            n += 1;
        }
        Ok(n)
    }

    /// Writes one judged run and the schedule's counters, in one transaction.
    pub fn append(&mut self, record: &RunRecord, started: u64, missed: u64) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO runs (at_ms, passed, record) VALUES (?1, ?2, ?3)",
            params![
                record.at_ms as i64,
                record.passed,
                serde_json::to_string(record)?
            ],
        )?;
        tx.execute(
            "UPDATE watch SET started = ?1, missed = ?2 WHERE id = 1",
            params![started as i64, missed as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Keeps `report` as the database's report (`harness report FILE.db` renders it).
    pub fn save_report(&self, report: &Report) -> anyhow::Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO report (id, json) VALUES (1, ?1)",
            params![serde_json::to_string(report)?],
        )?;
        Ok(())
    }

    fn fault(&self, e: rusqlite::Error) -> CommandError {
        CommandError::Harness(anyhow::anyhow!(
            "cannot read the watch database {}: {e}",
            self.path.display()
        ))
    }
}

/// The report a watch database holds: the watch's final report, or, for a watch that did
/// not end (killed), the one saved after its last run (`watch.ended` = `running`).
pub(super) fn read_report(path: &Path) -> Result<Report, CommandError> {
    let invalid = |why: String| {
        CommandError::Invalid(format!(
            "error: {}: not a watch database ({why})",
            path.display()
        ))
    };
    if !path.is_file() {
        return Err(invalid("no such file".into()));
    }
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| invalid(e.to_string()))?;
    let json: Option<String> = conn
        .query_row("SELECT json FROM report WHERE id = 1", [], |r| r.get(0))
        .optional()
        .map_err(|e| invalid(e.to_string()))?;
    let json = json.ok_or_else(|| invalid("no run was recorded".into()))?;
    serde_json::from_str(&json).map_err(|e| invalid(e.to_string()))
}

fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watch_resumes_with_its_runs_and_counters() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let every = Duration::from_secs(1);
        let (mut store, resumed) = Store::open(&path, "smoke", every).unwrap();
        assert!(resumed.is_none());
        for (i, passed) in [true, false, true].into_iter().enumerate() {
            let record = RunRecord {
                at_ms: i as u64 * 1000,
                passed,
                ..RunRecord::default()
            };
            store.append(&record, i as u64 + 1, 2).unwrap();
        }
        drop(store);
        let (store, resumed) = Store::open(&path, "smoke", every).unwrap();
        let resumed = resumed.unwrap();
        assert_eq!((resumed.started, resumed.missed), (3, 2));
        let mut seen = Vec::new();
        store.replay(|r| seen.push((r.at_ms, r.passed))).unwrap();
        assert_eq!(seen, [(0, true), (1000, false), (2000, true)]);
        let other = Store::open(&path, "volume", every).err().unwrap();
        assert!(
            other.to_string().contains("holds a watch of `smoke`"),
            "{other}"
        );
    }
}
