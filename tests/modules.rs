//! The module graph has no cycles: within every module, its direct submodules (the crate's
//! top-level modules included) reference one another in one direction only. A reference is any
//! `crate::…`, `super::…` or `self::…` path in a file (in `use` trees, braces expanded, and
//! in code); a submodule's references to its own ancestors' items (`super::Report` from
//! `report/html.rs`) are how Rust modules share their parent's types and do not count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path: `["report", "html"]`; the crate root is `[]`.
type ModPath = Vec<String>;

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `src/report/html.rs` → `report::html`; `src/load/mod.rs` → `load`; `lib.rs` → root.
fn module_of(src: &Path, file: &Path) -> ModPath {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: ModPath = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![tree.to_string()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(|p| expand(&format!("{prefix}{}", p.trim())))
        .collect()
}

/// Every `crate::`/`super::`/`self::` path the file's code mentions (tests excluded).
fn references(text: &str) -> Vec<String> {
    let code: String = text
        .split("#[cfg(test)]")
        .next()
        .unwrap_or(text)
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let code = code.as_str();
    let mut out = Vec::new();
    let uses = regex::Regex::new(r"(?s)\buse\s+((?:crate|super|self)\b[^;]*);").unwrap();
    for c in uses.captures_iter(code) {
        out.extend(expand(&c[1].split_whitespace().collect::<String>()));
    }
    let inline =
        regex::Regex::new(r"\b(?:crate|super|self)(?:::(?:super|[A-Za-z_][A-Za-z0-9_]*))+")
            .unwrap();
    out.extend(inline.find_iter(code).map(|m| m.as_str().to_string()));
    out
}

/// The module a path points into, resolved against the modules that exist.
fn target(from: &ModPath, path: &str, modules: &BTreeSet<ModPath>) -> Option<ModPath> {
    let mut segs = path.split("::").map(str::trim).filter(|s| !s.is_empty());
    let mut base: ModPath = match segs.next()? {
        "crate" => Vec::new(),
        "self" => from.clone(),
        "super" => from[..from.len().saturating_sub(1)].to_vec(),
        _ => return None,
    };
    for s in segs {
        if s == "super" {
            base.pop();
            continue;
        }
        let mut next = base.clone();
        next.push(s.to_string());
        if modules.contains(&next) {
            base = next;
        } else {
            break;
        }
    }
    Some(base)
}

#[test]
fn the_module_graph_has_no_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    all.retain(|f| !f.ends_with("main.rs") && !f.components().any(|c| c.as_os_str() == "tests"));
    let modules: BTreeSet<ModPath> = all.iter().map(|f| module_of(&src, f)).collect();
    // Per parent module: edges between its direct children.
    let mut edges: BTreeMap<ModPath, BTreeSet<(String, String)>> = BTreeMap::new();
    // Why each edge exists: the first file and path seen making it.
    let mut why: BTreeMap<(ModPath, String, String), String> = BTreeMap::new();
    for file in &all {
        let from = module_of(&src, file);
        let text = std::fs::read_to_string(file).unwrap();
        for r in references(&text) {
            let Some(to) = target(&from, &r, &modules) else {
                continue;
            };
            let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            // Into an ancestor (or itself): a parent's items, not a dependency between siblings.
            if common == to.len() || common == from.len() {
                continue;
            }
            let (parent, a, b) = (
                from[..common].to_vec(),
                from[common].clone(),
                to[common].clone(),
            );
            why.entry((parent.clone(), a.clone(), b.clone()))
                .or_insert_with(|| {
                    format!("{} uses {r}", file.strip_prefix(&src).unwrap().display())
                });
            edges.entry(parent).or_default().insert((a, b));
        }
    }
    let mut cycles = Vec::new();
    for (parent, es) in &edges {
        if let Some(cycle) = find_cycle(es) {
            let at = if parent.is_empty() {
                "crate".to_string()
            } else {
                parent.join("::")
            };
            let evidence: Vec<String> = cycle
                .windows(2)
                .map(|w| why[&(parent.clone(), w[0].clone(), w[1].clone())].clone())
                .collect();
            cycles.push(format!(
                "in {at}: {} ({})",
                cycle.join(" → "),
                evidence.join("; ")
            ));
        }
    }
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

/// A cycle among `edges`, as the list of nodes walked, if there is one.
fn find_cycle(edges: &BTreeSet<(String, String)>) -> Option<Vec<String>> {
    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges {
        graph.entry(a).or_default().push(b);
    }
    fn visit<'a>(
        n: &'a str,
        graph: &BTreeMap<&'a str, Vec<&'a str>>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| *s == n) {
            let mut c: Vec<String> = stack[i..].iter().map(|s| s.to_string()).collect();
            c.push(n.to_string());
            return Some(c);
        }
        if !done.insert(n) {
            return None;
        }
        stack.push(n);
        for next in graph.get(n).into_iter().flatten() {
            if let Some(c) = visit(next, graph, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    for n in graph.keys() {
        if let Some(c) = visit(n, &graph, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn the_reference_parser_sees_grouped_and_inline_paths() {
    let refs = references(
        "use super::{chart::{self, Line}, Report};\nfn f() { crate::load::plan::parse_rate(\"1\"); }\n#[cfg(test)]\nmod tests { use crate::app::X; }",
    );
    assert_eq!(
        refs,
        [
            "super::chart::self",
            "super::chart::Line",
            "super::Report",
            "crate::load::plan::parse_rate"
        ]
    );
    let modules: BTreeSet<ModPath> = [
        vec!["report".to_string()],
        vec!["report".into(), "chart".into()],
    ]
    .into_iter()
    .collect();
    let from = vec!["report".to_string(), "html".to_string()];
    assert_eq!(
        target(&from, "super::chart::Line", &modules),
        Some(vec!["report".to_string(), "chart".to_string()])
    );
    let edges: BTreeSet<(String, String)> = [("a", "b"), ("b", "c"), ("c", "a")]
        .iter()
        .map(|(x, y)| (x.to_string(), y.to_string()))
        .collect();
    assert_eq!(find_cycle(&edges).unwrap(), ["a", "b", "c", "a"]);
}
