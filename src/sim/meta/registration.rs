//! Webhook registration and the verification handshake, as Meta performs them.
//!
//! When an app registers its callback URL (`POST /{app-id}/subscriptions`, what pywa does by
//! itself when given `callback_url`, after fetching an app token from `/oauth/access_token`),
//! Meta first sends `GET <callback>?hub.mode=subscribe&hub.challenge=<n>&hub.verify_token=<t>`
//! and only accepts the URL when the app answers 200 with exactly the challenge; otherwise the
//! registration fails with error 2200. The simulator does the same, then sends the number's
//! webhooks there. [`verify_callback`] is also reachable on demand through
//! `POST /__harness/webhook/verify`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::Rng;
use serde::Serialize;
use serde_json::{json, Value};

use super::graph::GraphError;
use super::http::{graph_error, node_of, token_of};
use super::{Meta, Shared};

/// Handshake outcomes kept for `GET /__harness/webhook/verify`.
pub const VERIFICATIONS_KEPT: usize = 20;

/// What the app answered to the handshake.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Verification {
    pub url: String,
    pub challenge: String,
    /// HTTP status, if the app answered at all.
    pub status: Option<u16>,
    /// The body (first 1 KiB).
    pub body: String,
    /// Transport error, if any.
    pub error: Option<String>,
    /// 200 with exactly the challenge.
    pub ok: bool,
}

impl Verification {
    /// The reason in Graph's 2200 message.
    pub(super) fn failure_details(&self) -> String {
        match (self.status, &self.error) {
            (_, Some(e)) => format!("URL couldn't be validated. Callback verification failed: {e}"),
            (Some(200), None) => format!(
                "The URL couldn't be validated. Response does not match challenge, expected \
                 value=\"{}\", received=\"{}\"",
                self.challenge, self.body
            ),
            (Some(s), None) => format!("HTTP Status Code = {s}; HTTP Message = {}", self.body),
            (None, None) => "no response".into(),
        }
    }
}

/// Runs the GET verification handshake against `url`.
pub(super) async fn verify_callback(
    client: &reqwest::Client,
    url: &str,
    verify_token: &str,
) -> Verification {
    let challenge = rand::rng()
        .random_range(1_000_000_000u64..10_000_000_000)
        .to_string();
    let mut out = Verification {
        url: url.to_string(),
        challenge: challenge.clone(),
        status: None,
        body: String::new(),
        error: None,
        ok: false,
    };
    let query = [
        ("hub.mode", "subscribe"),
        ("hub.challenge", challenge.as_str()),
        ("hub.verify_token", verify_token),
    ];
    match client.get(url).query(&query).send().await {
        Ok(resp) => {
            out.status = Some(resp.status().as_u16());
            match resp.text().await {
                Ok(text) => out.body = text.chars().take(1024).collect(),
                Err(e) => out.error = Some(transport_error(e)),
            }
            out.ok = out.status == Some(200) && out.error.is_none() && out.body.trim() == challenge;
        }
        Err(e) => out.error = Some(transport_error(e)),
    }
    tracing::info!(url, ok = out.ok, status = ?out.status, "webhook verification handshake");
    out
}

/// A transport error without its URL: the URL carries `hub.verify_token`, which must not reach
/// logs or the control API.
fn transport_error(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        msg.push_str(": ");
        msg.push_str(&cause.to_string());
        source = cause.source();
    }
    msg
}

/// Runs the handshake and records its outcome.
pub(super) async fn verify_and_record(m: &Meta, url: &str, verify_token: &str) -> Verification {
    let out = verify_callback(&m.client, url, verify_token).await;
    let mut log = m.verifications();
    if log.len() >= VERIFICATIONS_KEPT {
        log.pop_front();
    }
    log.push_back(out.clone());
    out
}

/// The handshake against every configured webhook URL (`verify_on_start`).
pub(super) async fn verify_configured(m: Shared) {
    let mut urls: Vec<String> = m.config.webhook_url.iter().cloned().collect();
    for n in m.tenants.numbers() {
        if let Some(u) = &n.webhook_url {
            if !urls.contains(u) {
                urls.push(u.clone());
            }
        }
    }
    let token = m.registration().verify_token;
    for url in urls {
        let out = verify_and_record(&m, &url, &token).await;
        if !out.ok {
            tracing::warn!(url, details = %out.failure_details(), "webhook verification failed");
        }
    }
}

pub(super) fn router(meta: Shared) -> Router {
    Router::new()
        .route("/oauth/access_token", get(access_token))
        .route("/{p1}/oauth/access_token", get(access_token))
        .route("/{p1}/subscriptions", post(subscribe))
        .route("/{p1}/{p2}/subscriptions", post(subscribe))
        .route("/{p1}/subscribed_apps", any_of_three())
        .route("/{p1}/{p2}/subscribed_apps", any_of_three())
        .with_state(meta)
}

fn any_of_three() -> axum::routing::MethodRouter<Shared> {
    get(subscribed_apps)
        .post(subscribed_apps)
        .delete(subscribed_apps)
}

fn app_token(m: &Meta) -> String {
    format!("{}|{}", m.config.app_id, m.config.app_secret)
}

fn issue_token(m: &Meta, q: &HashMap<String, String>) -> Result<Value, GraphError> {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != m.config.app_id {
        let mut e = GraphError::invalid_parameter("Invalid application ID.");
        e.code = 101;
        e.raw_message = Some("Error validating application. Invalid application ID.".into());
        return Err(e);
    }
    if get("client_secret") != m.config.app_secret {
        return Err(GraphError::bad_client_secret());
    }
    Ok(json!({"access_token": app_token(m), "token_type": "bearer"}))
}

async fn access_token(
    State(m): State<Shared>,
    Path(p): Path<HashMap<String, String>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    // Versioned: `p1` must be a version; unversioned routes have no parameter.
    let version_ok = p.get("p1").is_none_or(|v| super::http::is_version(v));
    let result = if version_ok {
        issue_token(&m, &q)
    } else {
        Err(GraphError::unknown_path("/oauth/access_token"))
    };
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => graph_error(&m, &e),
    }
}

/// Query parameters merged with a form-encoded or JSON body (the body wins).
fn params(q: HashMap<String, String>, body: &Bytes) -> HashMap<String, String> {
    let mut all = q;
    if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) {
        for (k, v) in obj {
            let s = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            all.insert(k, s);
        }
    } else if let Ok(uri) = format!("/?{}", String::from_utf8_lossy(body)).parse::<Uri>() {
        if let Ok(Query(form)) = Query::<HashMap<String, String>>::try_from_uri(&uri) {
            all.extend(form);
        }
    }
    all
}

async fn register(
    m: &Meta,
    app_id: &str,
    p: &HashMap<String, String>,
    h: &HeaderMap,
) -> Result<Value, GraphError> {
    let token = token_of(h, p).unwrap_or_default();
    if token != app_token(m) && !m.tenants.token_is_known(&token) {
        return Err(GraphError::invalid_token());
    }
    if app_id != m.config.app_id {
        return Err(GraphError::unsupported_request("POST", app_id));
    }
    match p.get("object").map(String::as_str) {
        None => return Err(GraphError::param_required("object")),
        Some("whatsapp_business_account") => {}
        Some(other) => {
            return Err(GraphError::invalid_parameter(format!(
                "Param object must be one of {{whatsapp_business_account}} - got \"{other}\"."
            )))
        }
    }
    let Some(url) = p.get("callback_url").filter(|u| !u.is_empty()) else {
        return Err(GraphError::param_required("callback_url"));
    };
    let verify_token = handshake(m, url, p).await?;
    let mut reg = m.registration();
    reg.webhook_url = Some(url.clone());
    reg.verify_token = verify_token;
    m.set_registration(reg);
    Ok(json!({"success": true}))
}

/// The handshake a registration needs before Meta accepts `url`: `verify_token` is required, and
/// a failed handshake is error 2200. Returns the verify token.
async fn handshake(m: &Meta, url: &str, p: &HashMap<String, String>) -> Result<String, GraphError> {
    let Some(verify_token) = p.get("verify_token").filter(|t| !t.is_empty()) else {
        return Err(GraphError::param_required("verify_token"));
    };
    let outcome = verify_and_record(m, url, verify_token).await;
    if outcome.ok {
        Ok(verify_token.clone())
    } else {
        Err(GraphError::callback_verification_failed(
            outcome.failure_details(),
        ))
    }
}

/// The app token (`app_id|app_secret`) or any known user token, else 190.
pub(super) fn app_or_user_token(
    m: &Meta,
    h: &HeaderMap,
    q: &HashMap<String, String>,
) -> Result<(), GraphError> {
    let token = token_of(h, q).unwrap_or_default();
    if token == app_token(m) || m.tenants.token_is_known(&token) {
        Ok(())
    } else {
        Err(GraphError::invalid_token())
    }
}

/// The token, if it may act on at least one number of `waba`; else 190 or 100/33.
pub(super) fn waba_access(
    m: &Meta,
    method: &str,
    waba: &str,
    h: &HeaderMap,
    p: &HashMap<String, String>,
) -> Result<(), GraphError> {
    let token = token_of(h, p).unwrap_or_default();
    if !m.tenants.token_is_known(&token) {
        return Err(GraphError::invalid_token());
    }
    let mut numbers = m.tenants.visible_to(&token);
    if numbers.any(|n| m.tenants.waba_of(n) == waba) {
        Ok(())
    } else {
        Err(GraphError::unsupported_request(method, waba))
    }
}

/// `POST /{waba-id}/subscribed_apps [{override_callback_uri, verify_token}]`: subscribe the app
/// to the account, optionally overriding the callback URL of its numbers (after the handshake).
async fn subscribe_waba(
    m: &Meta,
    waba: &str,
    p: &HashMap<String, String>,
    h: &HeaderMap,
) -> Result<Value, GraphError> {
    waba_access(m, "POST", waba, h, p)?;
    let Some(url) = p.get("override_callback_uri").filter(|u| !u.is_empty()) else {
        return Ok(json!({"success": true}));
    };
    handshake(m, url, p).await?;
    let mut reg = m.registration();
    reg.waba_overrides.insert(waba.to_string(), url.clone());
    m.set_registration(reg);
    Ok(json!({"success": true}))
}

/// `GET /{waba-id}/subscribed_apps` lists the app (with its override); `DELETE` removes the
/// override.
fn read_or_unsubscribe(m: &Meta, method: &Method, waba: &str) -> Value {
    if method == Method::DELETE {
        let mut reg = m.registration();
        reg.waba_overrides.remove(waba);
        m.set_registration(reg);
        return json!({"success": true});
    }
    let mut app = json!({"whatsapp_business_api_data": {"id": m.config.app_id, "name": "harness"}});
    if let Some(u) = m.registration().waba_overrides.get(waba) {
        app["override_callback_uri"] = json!(u);
    }
    json!({ "data": [app] })
}

async fn subscribed_apps(
    State(m): State<Shared>,
    method: Method,
    Path(path): Path<HashMap<String, String>>,
    Query(q): Query<HashMap<String, String>>,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    let p = params(q, &body);
    let result = match node_of(&path, "/subscribed_apps") {
        Err(e) => Err(e),
        Ok(waba) if method == Method::POST => subscribe_waba(&m, &waba, &p, &h).await,
        Ok(waba) => waba_access(&m, method.as_str(), &waba, &h, &p)
            .map(|()| read_or_unsubscribe(&m, &method, &waba)),
    };
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => graph_error(&m, &e),
    }
}

async fn subscribe(
    State(m): State<Shared>,
    Path(p): Path<HashMap<String, String>>,
    Query(q): Query<HashMap<String, String>>,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    let result = match node_of(&p, "/subscriptions") {
        Ok(app_id) => register(&m, &app_id, &params(q, &body), &h).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => graph_error(&m, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_merge_query_form_and_json() {
        let q: HashMap<String, String> = [("object".to_string(), "x".to_string())].into();
        let p = params(
            q.clone(),
            &Bytes::from("callback_url=http%3A%2F%2Fa%2Fb&fields=messages"),
        );
        assert_eq!(p["callback_url"], "http://a/b");
        assert_eq!(p["object"], "x");
        let p = params(q, &Bytes::from(r#"{"verify_token":"t","n":1}"#));
        assert_eq!(p["verify_token"], "t");
        assert_eq!(p["n"], "1");
    }

    #[test]
    fn failure_details_read_like_graph() {
        let mut v = Verification {
            url: "u".into(),
            challenge: "123".into(),
            status: Some(403),
            body: "Forbidden".into(),
            error: None,
            ok: false,
        };
        assert_eq!(
            v.failure_details(),
            "HTTP Status Code = 403; HTTP Message = Forbidden"
        );
        v.status = Some(200);
        v.body = "nope".into();
        assert!(v.failure_details().contains("expected value=\"123\""));
    }
}
