//! Coverage is measured: every row of `harness::sim::meta::operations::OPERATIONS` (the Cloud
//! API reference's endpoint operations) is sent to a running simulator, with real ids made
//! for it, and must not answer as an unknown path (Graph 2500 "Unknown path components", or
//! 100/33 "does not exist … or does not support this operation") nor 501; and each row must
//! name tests that exist in this directory.

use harness::sim::meta::operations::OPERATIONS;

use super::*;

const SOURCES: &[&str] = &[
    include_str!("account.rs"),
    include_str!("catalog.rs"),
    include_str!("messages.rs"),
    include_str!("platform.rs"),
];

/// Ids of real objects for the placeholders of a path.
struct Ids(Vec<(&'static str, String)>);

impl Ids {
    async fn make(c: &Client, sim: &SimHandle) -> Ids {
        let waba = MetaConfig::default().waba_id;
        let app = MetaConfig::default().app_id;
        let media = upload_png(sim).await;
        let (_, m) = c.get(&format!("/{media}"), Some(TOKEN)).await;
        let url = m["url"].as_str().unwrap().to_string();
        let tpl = json!({"name": format!("probe_{}", rand_suffix()), "language":"en_US",
            "category":"UTILITY","components":[{"type":"BODY","text":"Probe"}]});
        let (_, t, _) = c
            .post(&format!("/{waba}/message_templates"), Some(TOKEN), tpl)
            .await;
        let (_, f, _) = c
            .post(
                &format!("/{waba}/flows"),
                Some(TOKEN),
                json!({"name":"p","categories":["OTHER"]}),
            )
            .await;
        let (_, q, _) = c
            .post(
                &format!("/{PN}/message_qrdls"),
                Some(TOKEN),
                json!({"prefilled_message":"p"}),
            )
            .await;
        let up = format!("/{app}/uploads?file_name=a.png&file_length=4&file_type=image/png");
        let (_, u, _) = c.post(&up, Some(TOKEN), json!({})).await;
        let s = |v: &Value, k: &str| {
            v[k].as_str()
                .unwrap_or_else(|| panic!("{k} in {v}"))
                .to_string()
        };
        Ids(vec![
            ("{phone-number-id}", PN.to_string()),
            ("{waba-id}", waba),
            ("{app-id}", app),
            ("{media-id}", media),
            ("{media-url}", url),
            ("{template-id}", s(&t, "id")),
            ("{flow-id}", s(&f, "id")),
            ("{qr-code}", s(&q, "code")),
            ("{upload-session-id}", s(&u, "id")),
        ])
    }

    fn fill(&self, text: &str) -> String {
        self.0
            .iter()
            .fold(text.to_string(), |acc, (k, v)| acc.replace(k, v))
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        % 1_000_000_007
}

async fn upload_png(sim: &SimHandle) -> String {
    let body = "--B\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n--B\r\n\
        Content-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x7fPNG\r\n--B--\r\n";
    let r = reqwest::Client::new()
        .post(format!("{}/{PN}/media", sim.base_url))
        .bearer_auth(TOKEN)
        .header("content-type", "multipart/form-data; boundary=B")
        .body(body)
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn every_cloud_api_operation_is_served() {
    let (sim, c) = offline().await;
    let http = reqwest::Client::new();
    let mut unserved = Vec::new();
    for op in OPERATIONS {
        for t in op.tests {
            let exists = SOURCES
                .iter()
                .any(|s| s.contains(&format!("async fn {t}()")));
            assert!(
                exists,
                "{} {}: test {t} not found in tests/sim_meta",
                op.method, op.path
            );
        }
        let ids = Ids::make(&c, &sim).await;
        let path = ids.fill(op.path);
        let url = if path.starts_with("http") {
            path.clone()
        } else {
            format!("{}{path}", sim.base_url)
        };
        let mut req = http
            .request(op.method.parse().unwrap(), &url)
            .bearer_auth(TOKEN);
        if op.path == "/{phone-number-id}/media" {
            let media = upload_png(&sim).await;
            assert!(!media.is_empty());
            continue;
        }
        if op.path == "/{upload-session-id}" && op.method == "POST" {
            req = req.header("file_offset", "0").body(&b"abcd"[..]);
        } else if !op.example.is_empty() {
            let body: Value = serde_json::from_str(&ids.fill(op.example)).unwrap();
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        let code = v["error"]["code"].as_u64();
        let unknown =
            code == Some(2500) || (code == Some(100) && v["error"]["error_subcode"] == 33);
        if status == 501 || status == 404 && v["error"]["code"] != 132001 || unknown {
            unserved.push(format!(
                "{} {} ({}): {status} {v}",
                op.method, op.path, op.summary
            ));
        }
    }
    let served = OPERATIONS.len() - unserved.len();
    assert!(
        unserved.is_empty(),
        "{served}/{} served; unserved:\n{}",
        OPERATIONS.len(),
        unserved.join("\n")
    );
    sim.shutdown().await;
}
