//! Coverage of the Evolution API 2.3.6 surface: every route of the table in
//! `src/sim/evolution/routes.rs` (read from the upstream routers, `src/api/routes/*.router.ts`
//! and the integration routers `index.router.ts` mounts) is called on a running simulator; none
//! may answer 404 as an unknown route (`Cannot POST /x`) or 501.

use harness::sim::evolution::routes::{routes, Route};
use harness::sim::evolution::SeedInstance;
use serde_json::{json, Value};

use super::support::*;

fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| match seg {
            "{instance}" => "a".to_string(),
            "{*file}" => "index.js".to_string(),
            s if s.starts_with('{') => "c0000000000000000000000000".to_string(),
            s => s.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn unknown_route(status: u16, body: &Value) -> bool {
    status == 404
        && msg(body)
            .as_array()
            .and_then(|m| m.first())
            .and_then(Value::as_str)
            .is_some_and(|m| m.starts_with("Cannot "))
}

// upstream: evolution-api 2.3.6 src/api/routes/index.router.ts (mounts every router)
#[tokio::test]
async fn every_upstream_route_is_served() {
    let sim = start(config(vec![SeedInstance::open("a", "TA", None)])).await;
    let api = Api::new(&sim);
    let mut failures = Vec::new();
    let mut served = 0;
    // The instance goes last: logout and delete would leave nothing for the other routes.
    let (last, first): (Vec<&Route>, Vec<&Route>) = routes().iter().partition(|r| {
        r.path.starts_with("/instance/logout") || r.path.starts_with("/instance/delete")
    });
    for route in first.into_iter().chain(last) {
        let path = concrete(route.path);
        let body = matches!(route.method, "POST" | "PUT" | "DELETE").then(|| json!({}));
        let (status, b) = api.call(route.method, &path, Some(KEY), body).await;
        let missing = status == 501 || unknown_route(status, &b);
        let key = format!("{} {}", route.method, route.path);
        match missing {
            false => served += 1,
            true => failures.push(format!("{key} ({}) answered {status} {b}", route.upstream)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!((served, routes().len()), (182, 182));
    // An unknown route still answers like Express.
    let (s, b) = api
        .call(
            "POST",
            "/message/sendNothing/a",
            Some("TA"),
            Some(json!({})),
        )
        .await;
    assert!(unknown_route(s, &b), "{s} {b}");
}

/// docs/simulators.md shows the coverage table: every route of the table is in it.
#[test]
fn the_docs_list_every_route() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/simulators.md"))
        .expect("docs/simulators.md");
    let missing: Vec<String> = routes()
        .iter()
        .map(|r| format!("`{} {}`", r.method, r.path))
        .filter(|r| !docs.contains(r.as_str()))
        .collect();
    assert!(missing.is_empty(), "not in docs/simulators.md: {missing:?}");
    assert!(docs.contains(&format!(
        "**{} of {} served**",
        routes().len(),
        routes().len()
    )));
}
