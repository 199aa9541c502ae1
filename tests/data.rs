//! `data:` feeders end to end: `harness load --shard I/4` over one CSV with `select: unique`,
//! each row seen once by the server across the four processes; a missing file or column is
//! exit 2 at the scenario's `file:line:col`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::support::{assert_exit, bin, read_report, run_in, text};

const ROWS: usize = 2000;

/// A server recording the path of every request (`/row/<id>/<phone>`).
async fn recording_server() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let s = s.clone();
        async move {
            s.lock().unwrap().push(uri.path().to_string());
            r#"{"ok":true}"#
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

fn scenario(column: &str) -> String {
    format!(
        "name: fed\ndata: {{ file: customers.csv, select: unique }}\nsteps:\n  - name: customer\n    http: {{ url: \"${{SINK}}/row/{{{{ row.id }}}}/{{{{ row.{column} }}}}\" }}\n    checks: {{ status: 200 }}\n"
    )
}

fn customers(dir: &std::path::Path) {
    let mut csv = String::from("id,phone,name\n");
    for i in 0..ROWS {
        csv.push_str(&format!(
            "{i},5511{:09},\"Customer {i}, Jr\"\n",
            900_000_000 + i
        ));
    }
    std::fs::write(dir.join("customers.csv"), csv).unwrap();
}

#[test]
fn four_shards_take_disjoint_unique_rows() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, seen) = rt.block_on(recording_server());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    customers(d);
    std::fs::write(d.join("fed.yaml"), scenario("phone")).unwrap();
    let shards: Vec<_> = (1..=4)
        .map(|i| {
            let (shard, json) = (format!("{i}/4"), format!("s{i}.json"));
            let args = [
                "load", "fed.yaml", "--rps", "300", "-z", "2s", "--shard", &shard, "--json", &json,
                "-q",
            ];
            bin()
                .current_dir(d)
                .env("SINK", &url)
                .args(args)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut s in shards {
        assert!(s.wait().unwrap().success());
    }
    let mut iterations = 0;
    for i in 1..=4 {
        let report = read_report(&d.join(format!("s{i}.json")));
        assert_eq!(report["passed"], true, "shard {i}");
        iterations += report["load"]["iterations"].as_u64().unwrap();
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len() as u64, iterations);
    assert_eq!(iterations, 600);
    let mut times: BTreeMap<&str, usize> = BTreeMap::new();
    for path in seen.iter() {
        *times.entry(path.as_str()).or_default() += 1;
        let parts: Vec<&str> = path.split('/').collect();
        let id: usize = parts[2].parse().unwrap();
        assert_eq!(parts[3], format!("5511{:09}", 900_000_000 + id), "{path}");
    }
    let twice: Vec<_> = times.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "rows taken twice: {twice:?}");
    // Each shard took the first 150 of its own rows (i ≡ shard − 1 mod 4): rows 0..600.
    let ids: Vec<usize> = times
        .keys()
        .map(|p| p.split('/').nth(2).unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids.iter().max(), Some(&599));
}

#[test]
fn a_missing_column_or_file_is_exit_2_where_it_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    customers(d);
    std::fs::write(d.join("fed.yaml"), scenario("phnoe")).unwrap();
    let out = run_in(d, &["validate", "fed.yaml"], &[]);
    assert_exit(&out, 2);
    let err = text(&out.stderr);
    assert!(err.contains("has no column `phnoe`"), "{err}");
    assert!(err.contains("fed.yaml:5:"), "{err}");
    assert!(err.contains("did you mean `row.phone`?"), "{err}");
    let out = run_in(d, &["run", "fed.yaml"], &[("SINK", "http://127.0.0.1:9")]);
    assert_exit(&out, 2);
    std::fs::remove_file(d.join("customers.csv")).unwrap();
    std::fs::write(d.join("fed.yaml"), scenario("phone")).unwrap();
    let out = run_in(d, &["load", "fed.yaml", "--rps", "1", "-z", "1s"], &[]);
    assert_exit(&out, 2);
    let err = text(&out.stderr);
    assert!(err.contains("fed.yaml:2:15"), "{err}");
    assert!(err.contains("cannot read data file"), "{err}");
}
