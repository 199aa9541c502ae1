//! The calls an app makes to a simulated dependency (LLM, payments, any HTTP API), journaled on
//! the simulator's [`Bus`] like the WhatsApp simulators' outbound messages.
//!
//! Why the same bus: `await: { call: … }` waits for the app's call exactly as `await: reply`
//! waits for its WhatsApp send (subscribe, then query the bounded journal; long-poll
//! `GET /__harness/outbound` from another process), so one mechanism times every hop and memory
//! stays flat. A call is an [`OutboundMessage`](super::bus::OutboundMessage) with
//! `kind: "call"`, `tenant` the dependency's name, `text` = `"METHOD /path"` and a `payload`
//! of `{method, path, query, headers, body}` ([`CallPayload`]). Sensitive headers
//! (`authorization`, keys, cookies) are never journaled.
//!
//! [`record_layer`] is the middleware that journals every request reaching a dependency
//! simulator (before auth and faults decide its fate, as the app made it either way).

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};

use super::bus::{Bus, NewOutbound, Simulator};
use super::faults::CONTROL_PREFIX;

/// Largest request body a dependency simulator reads (audio uploads included).
pub const MAX_BODY: usize = 26 * 1024 * 1024;
/// Bodies larger than this are journaled as their size only.
const MAX_JOURNALED_BODY: usize = 64 * 1024;

/// What a journaled call is labelled with.
#[derive(Debug, Clone)]
pub struct CallSource {
    pub provider: Simulator,
    /// The dependency's name (`openai`, `payments`, `pms`).
    pub service: String,
}

/// Wraps `router` so that every request but the control API's is journaled on `bus`.
pub fn record_layer(router: Router, bus: Bus, source: CallSource) -> Router {
    router.layer(axum::middleware::from_fn_with_state(
        (bus, source),
        record_middleware,
    ))
}

async fn record_middleware(
    State((bus, source)): State<(Bus, CallSource)>,
    req: Request,
    next: Next,
) -> Response {
    if req.uri().path().starts_with(CONTROL_PREFIX) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return axum::response::IntoResponse::into_response((
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large",
            ))
        }
    };
    let content_type = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let payload = json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query().unwrap_or(""),
        "headers": journaled_headers(&parts.headers),
        "body": journaled_body(content_type, &bytes),
    });
    bus.publish(NewOutbound {
        provider: source.provider,
        tenant: source.service.clone(),
        to: String::new(),
        message_id: String::new(),
        kind: "call".into(),
        text: Some(format!("{} {}", parts.method, parts.uri.path())),
        payload,
    });
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Request headers without the sensitive ones, lower-case names.
fn journaled_headers(headers: &axum::http::HeaderMap) -> Value {
    let mut out = serde_json::Map::new();
    for (name, value) in headers {
        if crate::redact::is_sensitive_name(name.as_str()) {
            continue;
        }
        if let Ok(v) = value.to_str() {
            out.insert(name.as_str().to_string(), Value::String(v.to_string()));
        }
    }
    Value::Object(out)
}

/// The body as JSON when it is JSON, as text when it is small text, else its size.
fn journaled_body(content_type: &str, bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    if bytes.len() > MAX_JOURNALED_BODY || content_type.starts_with("multipart/") {
        return json!({"content_type": content_type, "bytes": bytes.len()});
    }
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        return v;
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Value::String(text.to_string()),
        Err(_) => json!({"content_type": content_type, "bytes": bytes.len()}),
    }
}

/// The `payload` of a journaled call, read back.
#[derive(Debug, Clone, Copy)]
pub struct CallPayload<'a>(pub &'a Value);

impl CallPayload<'_> {
    pub fn method(&self) -> &str {
        self.0["method"].as_str().unwrap_or("")
    }
    pub fn path(&self) -> &str {
        self.0["path"].as_str().unwrap_or("")
    }
    pub fn body(&self) -> &Value {
        &self.0["body"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_call_is_journaled_without_secrets_and_the_handler_sees_the_body() {
        let bus = Bus::new(10);
        let router = Router::new().route(
            "/v1/x",
            axum::routing::post(|body: String| async move { body }),
        );
        let router = record_layer(
            router,
            bus.clone(),
            CallSource {
                provider: Simulator::Openai,
                service: "llm".into(),
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = super::super::serve(listener, router, bus.clone())
            .await
            .unwrap();
        let resp = reqwest::Client::new()
            .post(format!("{}/v1/x?a=1", sim.base_url))
            .bearer_auth("sk-SECRET")
            .header("content-type", "application/json")
            .body(r#"{"model":"m"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.text().await.unwrap(), r#"{"model":"m"}"#);
        let calls = bus.query(&Default::default(), 10);
        assert_eq!(calls.len(), 1);
        let c = &calls[0];
        assert_eq!((c.tenant.as_str(), c.kind.as_str()), ("llm", "call"));
        assert_eq!(c.text.as_deref(), Some("POST /v1/x"));
        let p = CallPayload(&c.payload);
        assert_eq!((p.method(), p.path()), ("POST", "/v1/x"));
        assert_eq!(p.body()["model"], "m");
        assert_eq!(c.payload["query"], "a=1");
        assert!(!c.payload.to_string().contains("SECRET"));
        sim.shutdown().await;
    }

    #[test]
    fn large_multipart_and_binary_bodies_are_journaled_as_their_size() {
        assert_eq!(journaled_body("", b""), Value::Null);
        assert_eq!(journaled_body("text/plain", b"hi"), json!("hi"));
        assert_eq!(
            journaled_body("multipart/form-data; boundary=x", b"--x")["bytes"],
            3
        );
        assert_eq!(journaled_body("audio/ogg", &[0xff, 0xfe])["bytes"], 2);
    }
}
