//! What every route of the simulated Graph API shares: reading the token and the node a route
//! names, and answering with a value or a Graph error (with its status and headers).

use std::collections::HashMap;
use std::time::Duration;

use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::graph::GraphError;
use super::ids;
use super::tenants::request_token;
use super::Meta;

/// A Graph error as an HTTP response (status after overrides, `WWW-Authenticate` header).
pub(super) fn graph_error(meta: &Meta, e: &GraphError) -> Response {
    let code = e.status_with(&meta.config.error_statuses);
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = (status, Json(e.body(&ids::fbtrace_id()))).into_response();
    if let Ok(v) = HeaderValue::from_str(&e.www_authenticate()) {
        resp.headers_mut().insert(WWW_AUTHENTICATE, v);
    }
    if let Some(wait) = e.retry_after_secs() {
        let usage = e.business_use_case_usage(&meta.config.waba_id, wait);
        let h = resp.headers_mut();
        h.insert(RETRY_AFTER, HeaderValue::from(wait));
        if let Ok(v) = HeaderValue::from_str(&usage) {
            h.insert("x-business-use-case-usage", v);
        }
    }
    resp
}

/// A Graph answer: the JSON value, or the error as Graph sends it.
pub(super) fn respond(meta: &Meta, result: Result<Value, GraphError>) -> Response {
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => graph_error(meta, &e),
    }
}

/// The request's access token (Bearer header, else `access_token` query parameter).
pub(super) fn token_of(headers: &HeaderMap, query: &HashMap<String, String>) -> Option<String> {
    let auth = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    request_token(auth, query.get("access_token").map(String::as_str)).map(str::to_string)
}

/// The node a route names: `p1` on unversioned routes; `p2` on versioned ones, after checking
/// that `p1` is a version (otherwise Graph reads `/{p1}` as the node and the rest as unknown
/// path components).
pub(super) fn node_of(p: &HashMap<String, String>, edge: &str) -> Result<String, GraphError> {
    match (p.get("p1"), p.get("p2")) {
        (Some(v), Some(node)) if is_version(v) => Ok(node.clone()),
        (Some(_), Some(node)) => Err(GraphError::unknown_path(&format!("/{node}{edge}"))),
        (Some(node), None) => Ok(node.clone()),
        _ => Err(GraphError::unsupported_request("GET", "")),
    }
}

/// Unix seconds now plus `delay`.
pub(super) fn unix_after(delay: Duration) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now + delay).as_secs()
}

/// Whether a path segment is a Graph version (`v25.0`, `v9`).
pub(super) fn is_version(seg: &str) -> bool {
    let Some(rest) = seg.strip_prefix('v') else {
        return false;
    };
    let mut parts = rest.splitn(2, '.');
    let major = parts.next().unwrap_or_default();
    let minor = parts.next().unwrap_or("0");
    !major.is_empty()
        && major.bytes().all(|b| b.is_ascii_digit())
        && !minor.is_empty()
        && minor.bytes().all(|b| b.is_ascii_digit())
}
