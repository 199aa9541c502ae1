//! `data:` — files of rows fed to the iterations: one feeder (a mapping) or several (a list).
//! Whether each file exists and has the columns the scenario uses is checked later, when the
//! files are opened (`crate::data::open`); here only the shape of the section.

use std::path::PathBuf;

use super::node::{is_identifier, position, untag, Ctx, Entry, Node};
use crate::scenario::model::{DataSpec, Selection};

const DATA_KEYS: &[&str] = &["file", "select", "name"];

pub(super) fn data(ctx: &mut Ctx, entry: &Entry) -> Option<Vec<DataSpec>> {
    let specs: Vec<Option<DataSpec>> = match &untag(entry.value).data {
        saphyr::YamlData::Sequence(items) => items.iter().map(|n| feeder(ctx, n)).collect(),
        _ => vec![feeder(ctx, entry.value)],
    };
    let specs: Vec<DataSpec> = specs.into_iter().collect::<Option<_>>()?;
    let mut seen: Vec<&str> = Vec::new();
    for spec in &specs {
        if seen.contains(&spec.name.as_str()) {
            let message = format!("two `data` feeders are named `{}`", spec.name);
            let hint = "give each feeder its own `name:` (the variable its rows are in)";
            ctx.error_at(spec.span, 1, message, Some(hint.to_string()));
            return None;
        }
        seen.push(&spec.name);
    }
    Some(specs)
}

fn feeder(ctx: &mut Ctx, node: &Node) -> Option<DataSpec> {
    let fields = ctx.fields(node, "`data`", DATA_KEYS)?;
    let file = ctx.required(&fields, "file", node, "`data`");
    let file = file.and_then(|e| ctx.non_empty_string(e).map(|f| (f, position(e.value).0)));
    let select = match fields.get("select") {
        None => Some(Selection::Sequential),
        Some(e) => ctx.string(e).and_then(|name| {
            let parsed = Selection::parse(&name);
            if parsed.is_none() {
                let message = format!("unknown selection `{name}`");
                let hint = "use `sequential`, `random` or `unique`".to_string();
                ctx.error(e.value_node(), message, Some(hint));
            }
            parsed
        }),
    };
    let name = match fields.get("name") {
        None => Some("row".to_string()),
        Some(e) => ctx.string(e).and_then(|name| {
            let valid = is_identifier(&name);
            if !valid {
                let message = format!("invalid variable name `{name}` for the rows");
                let hint = super::check::IDENTIFIER_HINT.to_string();
                ctx.error(e.value_node(), message, Some(hint));
            }
            valid.then_some(name)
        }),
    };
    let (file, span) = file?;
    Some(DataSpec {
        name: name?,
        file: PathBuf::from(file),
        select: select?,
        span,
    })
}

#[cfg(test)]
mod tests {
    use crate::scenario::{parse, Selection};
    use std::path::Path;

    const STEPS: &str = "steps:\n  - name: a\n    http: { url: \"http://x/{{ row.id }}\" }\n";

    #[test]
    fn one_feeder_or_a_list_with_defaults() {
        let one = format!("name: s\ndata: {{ file: c.csv, select: unique }}\n{STEPS}");
        let s = parse(Path::new("s.yaml"), &one).unwrap();
        assert_eq!(s.data.len(), 1);
        assert_eq!(s.data[0].name, "row");
        assert_eq!(s.data[0].select, Selection::Unique);
        assert_eq!((s.data[0].span.line, s.data[0].span.col), (2, 15));
        let list =
            format!("name: s\ndata:\n  - file: a.csv\n  - {{ file: b.jsonl, name: t }}\n{STEPS}");
        let s = parse(Path::new("s.yaml"), &list).unwrap();
        assert_eq!(s.data[0].select, Selection::Sequential);
        assert_eq!(s.data[1].name, "t");
    }

    #[test]
    fn bad_feeders_are_reported_where_written() {
        let yaml = format!("name: s\ndata: {{ select: often, name: 1x }}\n{STEPS}");
        let e = parse(Path::new("s.yaml"), &yaml).unwrap_err().to_string();
        assert!(e.contains("missing required key `file`"), "{e}");
        assert!(e.contains("s.yaml:2:17: unknown selection `often`"), "{e}");
        assert!(e.contains("invalid variable name `1x`"), "{e}");
        let twice = format!("name: s\ndata: [{{ file: a.csv }}, {{ file: b.csv }}]\n{STEPS}");
        let e = parse(Path::new("s.yaml"), &twice).unwrap_err().to_string();
        assert!(e.contains("two `data` feeders are named `row`"), "{e}");
    }
}
