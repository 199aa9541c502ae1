//! Finding scenarios: a path, a name in `./scenarios`, or a scenario built into the binary
//! (so that `harness run smoke` works from any folder on a fresh machine).

use std::path::{Path, PathBuf};

/// A scenario shipped inside the binary.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    pub name: &'static str,
    pub path: &'static str,
    pub text: &'static str,
}

macro_rules! builtin {
    ($name:literal, $path:literal) => {
        Builtin {
            name: $name,
            path: $path,
            text: include_str!(concat!("../../", $path)),
        }
    };
}

/// The scenarios built into the binary (copies of those in `scenarios/`).
/// Largest scenario file read: hundreds of times the largest real scenario, small enough that
/// reading and parsing stays cheap.
pub const MAX_FILE_BYTES: u64 = 16_000_000;

pub const BUILTIN: &[Builtin] = &[
    builtin!("smoke", "scenarios/smoke.yaml"),
    builtin!("smoke-meta", "scenarios/smoke-meta.yaml"),
    builtin!("e2e-booking", "scenarios/e2e-booking.yaml"),
    builtin!("errors", "scenarios/errors.yaml"),
    builtin!("volume", "scenarios/volume.yaml"),
    builtin!("webhook-burst", "scenarios/webhook-burst.yaml"),
    builtin!("watch-000", "scenarios/watch-000.yaml"),
    builtin!("watch-003", "scenarios/watch-003.yaml"),
    builtin!("examples/rest-smoke", "scenarios/examples/rest-smoke.yaml"),
    builtin!(
        "examples/evolution-group",
        "scenarios/examples/evolution-group.yaml"
    ),
    builtin!(
        "examples/customer-device",
        "scenarios/examples/customer-device.yaml"
    ),
];

/// Where a scenario's text comes from.
#[derive(Debug, Clone)]
pub enum Source {
    File(PathBuf),
    Builtin(&'static Builtin),
}

impl Source {
    /// The path shown in diagnostics and reports.
    pub fn path(&self) -> PathBuf {
        match self {
            Source::File(p) => p.clone(),
            Source::Builtin(b) => PathBuf::from(b.path),
        }
    }

    /// The file's text; a file over [`MAX_FILE_BYTES`] is refused unread (an error naming
    /// its size), so a wrong path to a huge file costs nothing.
    pub fn read(&self) -> std::io::Result<String> {
        match self {
            Source::File(p) => {
                let size = std::fs::metadata(p)?.len();
                if size > MAX_FILE_BYTES {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "it is {:.1} MB, and a scenario file is at most {} MB (is it the right file?)",
                            size as f64 / 1e6,
                            MAX_FILE_BYTES / 1_000_000
                        ),
                    ));
                }
                std::fs::read_to_string(p)
            }
            Source::Builtin(b) => Ok(b.text.to_string()),
        }
    }
}

/// Resolves `name_or_path`: an existing file; else `<dir>/<name>.yaml` (or `.yml`); else a
/// built-in scenario of that name.
pub fn locate(name_or_path: &str, dir: &Path) -> Option<Source> {
    let as_path = Path::new(name_or_path);
    if as_path.is_file() {
        return Some(Source::File(as_path.to_path_buf()));
    }
    for ext in ["yaml", "yml"] {
        let candidate = dir.join(format!("{name_or_path}.{ext}"));
        if candidate.is_file() {
            return Some(Source::File(candidate));
        }
    }
    BUILTIN
        .iter()
        .find(|b| b.name == name_or_path)
        .map(Source::Builtin)
}

/// Every scenario under `dir` (recursively, `.yaml`/`.yml`), as (name, path), sorted; the
/// name is the path relative to `dir` without the extension.
pub fn scan(dir: &Path) -> Vec<(String, PathBuf)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) {
                let rel = path.strip_prefix(root).unwrap_or(&path).with_extension("");
                out.push((rel.to_string_lossy().replace('\\', "/"), path));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_resolve_by_name_when_no_file_shadows_them() {
        let empty = tempfile::tempdir().unwrap();
        let s = locate("smoke", empty.path()).unwrap();
        assert!(matches!(s, Source::Builtin(b) if b.name == "smoke"));
        assert!(locate("no-such-scenario", empty.path()).is_none());
    }

    #[test]
    fn files_in_the_folder_win_and_are_scanned_recursively() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("examples")).unwrap();
        std::fs::write(dir.path().join("smoke.yaml"), "name: mine").unwrap();
        std::fs::write(dir.path().join("examples/rest.yml"), "name: rest").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let s = locate("smoke", dir.path()).unwrap();
        assert!(matches!(s, Source::File(p) if p.ends_with("smoke.yaml")));
        let names: Vec<String> = scan(dir.path()).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["examples/rest", "smoke"]);
    }
}
