//! Every route of the Evolution API 2.3.6 server, as its routers declare them: the coverage
//! table, kept as data in `routes.tsv`. `index.router.ts` mounts the core routers (`src/api/routes/*.router.ts`) and the
//! integration routers (channel, event, chatbot, storage); the manager UI and `/metrics` come from
//! `index.router.ts` and `view.router.ts`. Each row names the upstream file, the request schema
//! the router validates with (`schemas.json`) and the status of a success. The coverage test
//! (`tests/sim_evolution/coverage.rs`) calls every row on a running simulator and fails if one
//! answers 404 as an unknown route or 501; docs/simulators.md shows the table.

use std::sync::OnceLock;

/// One upstream route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// axum syntax: `{instance}` is the server's `:instanceName`.
    pub path: &'static str,
    /// The upstream file declaring it (tag 2.3.6).
    pub upstream: &'static str,
    /// The schema its router validates the body with.
    pub schema: Option<&'static str>,
    /// Status of a success.
    pub status: u16,
}

/// The table, parsed once from `routes.tsv`.
pub fn routes() -> &'static [Route] {
    static ROUTES: OnceLock<Vec<Route>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(parse)
            .collect()
    })
}

const TABLE: &str = include_str!("routes.tsv");

fn parse(line: &'static str) -> Option<Route> {
    let mut cols = line.split('\t');
    let (method, path, upstream) = (cols.next()?, cols.next()?, cols.next()?);
    let schema = cols.next().filter(|s| *s != "-");
    let status = cols.next()?.trim().parse().ok()?;
    Some(Route {
        method,
        path,
        upstream,
        schema,
        status,
    })
}

/// The row of `method path` (path in axum syntax).
pub fn find(method: &str, path: &str) -> Option<&'static Route> {
    routes()
        .iter()
        .find(|r| r.method == method && r.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_every_upstream_route_once() {
        let routes = routes();
        assert_eq!(routes.len(), 182);
        assert_eq!(TABLE.lines().filter(|l| !l.starts_with('#')).count(), 182);
        for (i, a) in routes.iter().enumerate() {
            assert!(
                !routes[..i]
                    .iter()
                    .any(|b| b.method == a.method && b.path == a.path),
                "{} {} twice",
                a.method,
                a.path
            );
            if let Some(s) = a.schema {
                assert!(super::super::schema::schema(s).is_some(), "schema {s}");
            }
        }
    }
}
