//! Abusive clients against the simulators and the reference app, over real sockets: malformed,
//! truncated and oversized requests get the provider's 4xx; idle, slow (slowloris), vanishing
//! clients and a flood of badly signed webhooks do not stop a well-behaved client, whose p99
//! stays under [`P99_BOUND`] while the abuse goes on.
//!
//! upstream: evolution-api 2.3.6 src/main.ts (express `json({ limit: '136mb' })`, then the
//! error middleware answering `{status, error: err.error || 'Internal Server Error',
//! response: {message: err.message}}` with `err.status` — body-parser's 400 and 413); Node's
//! HTTP server refuses request heads over 16 KiB with 431 (`--max-http-header-size`).

use std::time::{Duration, Instant};

use harness::embedded::{AppSide, Embedded};
use harness::provider::ProviderKind;
use harness::redact::Redactor;
use harness::target::Credentials;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The well-behaved client's p99 under abuse. Generous: CI machines are shared; an unbounded
/// server (one blocked by the abusers) misses it by orders of magnitude.
const P99_BOUND: Duration = Duration::from_millis(500);

const KEY: &str = "ABUSE-KEY";

async fn embedded(provider: ProviderKind) -> Embedded {
    Embedded::start(
        provider,
        None,
        AppSide::Bundled,
        &Credentials {
            api_key: Some(KEY.into()),
            ..Credentials::default()
        },
        &Redactor::new(),
    )
    .await
    .unwrap()
}

fn addr_of(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

/// Writes `request` as is and reads the answer until the server closes or 5 s pass: (status,
/// body).
async fn raw(addr: &str, request: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (status, body.to_string())
}

fn post(path: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// The body of a response that may be chunked: the JSON object in it.
fn json_in(body: &str) -> Value {
    let start = body.find('{').unwrap_or(0);
    let end = body.rfind('}').map_or(body.len(), |e| e + 1);
    serde_json::from_str(&body[start..end]).unwrap_or(Value::Null)
}

#[tokio::test]
async fn evolution_answers_malformed_oversized_and_invalid_utf8_bodies_as_the_server_does() {
    let e = embedded(ProviderKind::Evolution).await;
    let addr = addr_of(&e.sim.base_url);
    let auth = format!("apikey: {KEY}\r\nContent-Type: application/json\r\n");
    let path = "/message/sendText/clinica-centro";

    for truncated in [&b"{\"number\": \"5511999999999\", \"te"[..], b"{", b"nope"] {
        let (status, body) = raw(&addr, &post(path, &auth, truncated)).await;
        let v = json_in(&body);
        assert_eq!(status, 400, "{body}");
        assert_eq!(v["status"], 400, "{body}");
        assert_eq!(v["error"], "Internal Server Error", "{body}");
        assert!(v["response"]["message"].is_string(), "{body}");
    }

    // A Content-Length over express's 136 MB limit: 413 before the body is read.
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}Content-Length: {}\r\n\r\n{{",
        137 * 1024 * 1024
    );
    let (status, body) = raw(&addr, head.as_bytes()).await;
    let v = json_in(&body);
    assert_eq!(status, 413, "{body}");
    assert_eq!(
        v["response"]["message"], "request entity too large",
        "{body}"
    );
    assert_eq!(v["error"], "Internal Server Error", "{body}");

    // Invalid UTF-8 inside a string: body-parser decodes it with replacement characters, so
    // the send goes through.
    let mut text = b"{\"number\": \"5511999999999\", \"text\": \"caf".to_vec();
    text.extend_from_slice(&[0xC3, 0x28, 0xFF]);
    text.extend_from_slice(b"\"}");
    let (status, body) = raw(&addr, &post(path, &auth, &text)).await;
    assert_eq!(status, 201, "{body}");
    assert!(json_in(&body).to_string().contains('\u{FFFD}'), "{body}");

    // A request head over Node's 16 KiB: 431.
    let big = format!("X-Padding: {}\r\n", "a".repeat(64 * 1024));
    let (status, _) = raw(&addr, &post(path, &format!("{auth}{big}"), b"{}")).await;
    assert_eq!(status, 431);
    e.shutdown().await;
}

#[tokio::test]
async fn meta_answers_malformed_and_oversized_bodies_with_graph_errors() {
    let e = embedded(ProviderKind::Meta).await;
    let addr = addr_of(&e.sim.base_url);
    let token = e.credentials().token.clone().unwrap();
    let auth = format!("Authorization: Bearer {token}\r\nContent-Type: application/json\r\n");
    let path = "/v21.0/106540352242922/messages";
    for truncated in [
        &b"{\"messaging_product\": \"whatsapp\", \"to"[..],
        b"{",
        b"\xff\xfe",
    ] {
        let (status, body) = raw(&addr, &post(path, &auth, truncated)).await;
        let v = json_in(&body);
        assert_eq!(status, 400, "{body}");
        assert!(v["error"]["code"].is_u64(), "{body}");
        assert!(v["error"]["fbtrace_id"].is_string(), "{body}");
    }
    let big = format!("X-Padding: {}\r\n", "a".repeat(64 * 1024));
    let (status, _) = raw(&addr, &post(path, &format!("{auth}{big}"), b"{}")).await;
    assert_eq!(status, 431);
    e.shutdown().await;
}

/// p99 of `n` sequential GETs of `path` on a fresh keep-alive client.
async fn p99_of_gets(url: &str, n: usize) -> Duration {
    let client = reqwest::Client::new();
    let mut took = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = client.get(url).send().await.unwrap();
        assert!(r.status().is_success() || r.status().is_client_error());
        let _ = r.bytes().await.unwrap();
        took.push(t.elapsed());
    }
    took.sort();
    took[(n * 99).div_ceil(100) - 1]
}

#[tokio::test]
async fn a_well_behaved_client_stays_fast_while_others_hold_stall_and_vanish() {
    let e = embedded(ProviderKind::Evolution).await;
    let addr = addr_of(&e.sim.base_url);
    let mut abusers = tokio::task::JoinSet::new();
    // 2,000 idle connections (the 10,000 of the soak script need a raised fd limit).
    let mut idle = Vec::new();
    for _ in 0..2000 {
        idle.push(TcpStream::connect(&addr).await.unwrap());
    }
    // 50 slowloris clients: a request head one byte at a time, every 200 ms.
    for _ in 0..50 {
        let addr = addr.clone();
        abusers.spawn(async move {
            let mut s = TcpStream::connect(&addr).await.unwrap();
            for b in b"GET / HTTP/1.1\r\nHost: x\r\n" {
                if s.write_all(&[*b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
    }
    // 500 clients that send a request and vanish before the answer, or mid-body.
    for i in 0..500 {
        let addr = addr.clone();
        abusers.spawn(async move {
            let mut s = TcpStream::connect(&addr).await.unwrap();
            let req = match i % 2 {
                0 => b"GET /instance/fetchInstances HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
                _ => b"POST /message/sendText/x HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n{\"a".to_vec(),
            };
            let _ = s.write_all(&req).await;
            drop(s);
        });
    }
    let p99 = p99_of_gets(&format!("{}/", e.sim.base_url), 300).await;
    eprintln!("well-behaved p99 during idle, slowloris and vanishing clients: {p99:?}");
    assert!(
        p99 < P99_BOUND,
        "p99 {p99:?} under abuse (bound {P99_BOUND:?})"
    );
    while abusers.join_next().await.is_some() {}
    drop(idle);
    // Still serving, still answering as itself.
    let v: Value = reqwest::get(format!("{}/", e.sim.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], 200, "{v}");
    e.shutdown().await;
}

#[tokio::test]
async fn the_reference_app_refuses_a_flood_of_badly_signed_webhooks_and_keeps_answering() {
    let e = embedded(ProviderKind::Meta).await;
    let app = e.app.as_ref().unwrap().base_url.clone();
    let hook = format!(
        "{app}{}",
        harness::embedded::webhook_path(ProviderKind::Meta)
    );
    let body = r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"messages":[{"from":"5511999999999","id":"wamid.X","timestamp":"1","type":"text","text":{"body":"hola"}}]}}]}]}"#;
    let client = reqwest::Client::new();
    let mut flood = tokio::task::JoinSet::new();
    for i in 0..400 {
        let (client, hook) = (client.clone(), hook.clone());
        flood.spawn(async move {
            client
                .post(&hook)
                .header("content-type", "application/json")
                .header("x-hub-signature-256", format!("sha256={:064x}", i))
                .body(body)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        });
    }
    let p99 = p99_of_gets(&format!("{app}/health/live"), 200).await;
    eprintln!("well-behaved p99 during a flood of badly signed webhooks: {p99:?}");
    let mut statuses = Vec::new();
    while let Some(s) = flood.join_next().await {
        statuses.push(s.unwrap());
    }
    // The reference app refuses a webhook whose X-Hub-Signature-256 does not verify with 403.
    assert!(statuses.iter().all(|s| *s == 403), "{statuses:?}");
    assert!(p99 < P99_BOUND, "p99 {p99:?} under a webhook flood");
    // Nothing of the flood reached the conversation: the simulator journaled no reply.
    let out: Value = reqwest::get(format!("{}/__harness/outbound", e.sim.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(out.as_array().map(Vec::len), Some(0), "{out}");
    e.shutdown().await;
}
