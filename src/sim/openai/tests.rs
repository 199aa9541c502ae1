//! The LLM simulator over real sockets. Shapes: openai-python `src/openai/types/chat/`,
//! `types/responses/response.py`, `types/create_embedding_response.py`.

use super::*;
use crate::sim::bus::OutboundFilter;

const RULES: &str = r#"
rules:
  - name: book
    match: { last_user: "(?i)turno.*(?P<day>lunes|martes)", tool: extract_booking }
    reply: { tool_call: { name: extract_booking, arguments: { day: "{{ day }}" } } }
  - name: greet
    match: { last_user: "(?i)hola" }
    reply: { text: "Hola, ¿en qué te ayudo?" }
  - name: down
    match: { last_user: "caete" }
    reply: { error: { status: 503, message: "overloaded", retry_after: 2 } }
transcriptions:
  - match: { audio_contains: "TURNO" }
    text: quiero un turno
rate_limit: { requests: 3, window: 30s }
"#;

async fn sim(rules: &str) -> SimHandle {
    let config = OpenaiConfig {
        api_key: "sk-test".into(),
        rules: Rules::parse(rules).unwrap(),
        ..OpenaiConfig::default()
    };
    start(config, TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap()
}

async fn post(sim: &SimHandle, path: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{path}", sim.base_url))
        .bearer_auth("sk-test")
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn call(sim: &SimHandle, path: &str, body: Value) -> Value {
    post(sim, path, body).await.json().await.unwrap()
}

#[tokio::test]
async fn bearer_auth_answers_openai_error_bodies() {
    let s = sim("").await;
    let c = reqwest::Client::new();
    let url = format!("{}/v1/models", s.base_url);
    let none = c.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    let body: Value = none.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("You didn't provide an API key"));
    assert!(body["error"].as_object().unwrap().contains_key("param"));
    let wrong: Value = c
        .get(&url)
        .bearer_auth("sk-wrongkey")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(wrong["error"]["code"], "invalid_api_key");
    assert!(!wrong.to_string().contains("wrongkey"), "the key is masked");
    let ok: Value = c
        .get(&url)
        .bearer_auth("sk-test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ok["object"], "list");
    let missing = post(&s, "/v1/nope", json!({})).await;
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["message"], "Invalid URL (POST /v1/nope)");
    s.shutdown().await;
}

#[tokio::test]
async fn completions_tool_calls_errors_and_the_journal() {
    let s = sim(RULES).await;
    let r: Value = call(
        &s,
        "/v1/chat/completions",
        json!({"model": "gpt-4",
        "messages": [{"role": "user", "content": "hola"}]}),
    )
    .await;
    assert_eq!(r["object"], "chat.completion");
    assert_eq!(
        r["choices"][0]["message"]["content"],
        "Hola, ¿en qué te ayudo?"
    );
    assert_eq!(r["choices"][0]["finish_reason"], "stop");
    assert!(r["usage"]["total_tokens"].as_u64().unwrap() > 0);
    let r: Value = post(&s, "/v1/chat/completions", json!({"model": "gpt-4",
        "messages": [{"role": "user", "content": "un turno el lunes"}],
        "tools": [{"type": "function", "function": {"name": "extract_booking", "parameters": {}}}]}))
        .await.json().await.unwrap();
    let tool = &r["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(tool["function"]["name"], "extract_booking");
    assert_eq!(tool["function"]["arguments"], r#"{"day":"lunes"}"#);
    assert_eq!(r["choices"][0]["finish_reason"], "tool_calls");
    let down = post(
        &s,
        "/v1/chat/completions",
        json!({"model": "gpt-4",
        "messages": [{"role": "user", "content": "caete"}]}),
    )
    .await;
    assert_eq!(down.status(), 503);
    assert_eq!(down.headers()["retry-after"], "2");
    let missing = post(&s, "/v1/chat/completions", json!({"model": "gpt-4"})).await;
    assert_eq!(missing.status(), 400);
    let calls = s.bus.query(&OutboundFilter::default(), 100);
    assert_eq!(calls.len(), 4);
    assert_eq!(
        calls[1].payload["body"]["messages"][0]["content"],
        "un turno el lunes"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn json_response_format_falls_back_to_the_schema_skeleton() {
    let s = sim("").await;
    let r: Value = call(
        &s,
        "/v1/chat/completions",
        json!({"model": "gpt-4",
        "messages": [{"role": "user", "content": "???"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema":
            {"type": "object", "properties": {"intent": {"enum": ["book", "other"]}}}}}}),
    )
    .await;
    let content = r["choices"][0]["message"]["content"].as_str().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(content).unwrap(),
        json!({"intent": "book"})
    );
    let r: Value = call(
        &s,
        "/v1/responses",
        json!({"model": "gpt-4", "input": "hola"}),
    )
    .await;
    assert_eq!(r["object"], "response");
    assert_eq!(
        r["output"][0]["content"][0]["text"],
        "(harness) no rule matched: hola"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_and_ratelimit_headers() {
    let s = sim(RULES).await;
    let body = json!({"model": "gpt-4", "messages": [{"role": "user", "content": "hola"}]});
    for left in ["2", "1", "0"] {
        let ok = post(&s, "/v1/chat/completions", body.clone()).await;
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.headers()["x-ratelimit-remaining-requests"], left);
        assert_eq!(ok.headers()["x-ratelimit-limit-requests"], "3");
    }
    let limited = post(&s, "/v1/chat/completions", body).await;
    assert_eq!(limited.status(), 429);
    let after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&after), "{after}");
    let e: Value = limited.json().await.unwrap();
    assert_eq!(e["error"]["code"], "rate_limit_exceeded");
    assert_eq!(e["error"]["type"], "requests");
    s.shutdown().await;
}

#[tokio::test]
async fn streams_end_with_done_and_a_truncation_fault_cuts_them() {
    let s = sim(RULES).await;
    let body = json!({"model": "gpt-4", "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "hola"}]});
    let resp = post(&s, "/v1/chat/completions", body.clone()).await;
    assert_eq!(
        resp.headers()["content-type"],
        "text/event-stream; charset=utf-8"
    );
    let text = resp.text().await.unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    assert!(text.contains("\"total_tokens\""));
    let faults = FaultProfile::parse(
        "rules:\n  - endpoint: /v1/chat/completions\n    first_token_delay: {kind: fixed, delay: 300ms}\n    truncate_stream: {rate: 1, after_chunks: 2}\n",
    )
    .unwrap();
    let c = reqwest::Client::new();
    c.post(format!("{}/__harness/faults", s.base_url))
        .json(&faults)
        .send()
        .await
        .unwrap();
    let t0 = std::time::Instant::now();
    let resp = post(&s, "/v1/chat/completions", body).await;
    let cut = resp.text().await;
    assert!(t0.elapsed() >= std::time::Duration::from_millis(300));
    assert!(
        cut.is_err(),
        "a truncated stream is a transport error: {cut:?}"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn embeddings_in_floats_and_base64_and_a_transcription() {
    let s = sim(RULES).await;
    let f: Value = call(
        &s,
        "/v1/embeddings",
        json!({"model": "text-embedding-3-small",
        "input": ["a", "b"], "dimensions": 8}),
    )
    .await;
    assert_eq!(f["data"][1]["index"], 1);
    let floats: Vec<f32> = serde_json::from_value(f["data"][0]["embedding"].clone()).unwrap();
    let b: Value = call(
        &s,
        "/v1/embeddings",
        json!({"model": "text-embedding-3-small",
        "input": "a", "dimensions": 8, "encoding_format": "base64"}),
    )
    .await;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b["data"][0]["embedding"].as_str().unwrap())
        .unwrap();
    let decoded: Vec<f32> = bytes
        .chunks(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(decoded, floats);
    let multipart = "--XB\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n--XB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"voice.ogg\"\r\nContent-Type: audio/ogg\r\n\r\nOggS-TURNO-\r\n--XB--\r\n";
    let t: Value = reqwest::Client::new()
        .post(format!("{}/v1/audio/transcriptions", s.base_url))
        .bearer_auth("sk-test")
        .header("content-type", "multipart/form-data; boundary=XB")
        .body(multipart)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(t["text"], "quiero un turno");
    s.shutdown().await;
}

use base64::Engine;
