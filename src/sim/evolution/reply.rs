//! What every handler of the Evolution simulator shares: the state extractor and result type,
//! reading the body and the `apikey`, the instance guard, and the success answers.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::errors::EvoError;
use super::rules;
use super::state::Instance;
use super::Sim;

pub(super) type S = State<Arc<Sim>>;
pub(super) type EvoResult = Result<Response, EvoError>;

pub(super) fn apikey(headers: &HeaderMap) -> Option<&str> {
    headers.get("apikey").and_then(|v| v.to_str().ok())
}

/// The body as JSON (`{}` when empty), or Express body-parser's 400.
pub(super) fn json_body(body: &Bytes) -> Result<Value, EvoError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    // upstream: src/main.ts `json()` — body-parser decodes the bytes as UTF-8 with
    // replacement characters, then `JSON.parse`; a syntax error is its 400.
    serde_json::from_str(&String::from_utf8_lossy(body))
        .map_err(|e| EvoError::body_parser(StatusCode::BAD_REQUEST, e.to_string()))
}

impl Sim {
    /// Guards (instance exists → apikey) then `f` on the instance, under the lock.
    pub(super) fn with_instance<R>(
        &self,
        name: &str,
        headers: &HeaderMap,
        f: impl FnOnce(&mut Instance) -> Result<R, EvoError>,
    ) -> Result<R, EvoError> {
        let mut instances = self.instances();
        let inst = instances
            .get_mut(name)
            .ok_or_else(|| EvoError::no_instance(name))?;
        rules::authorize(apikey(headers), &self.config.api_key, Some(&inst.token))?;
        f(inst)
    }
}

pub(super) fn created(body: Value) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

pub(super) fn ok(body: Value) -> Response {
    Json(body).into_response()
}
