//! Evolution's error responses: `{"status": N, "error": "<reason>", "response": {"message": M}}`.
//!
//! The real server throws exception objects whose `message` is the constructor arguments as an
//! array (`["x"]`), except 401 (the string `"Unauthorized"`) and errors without a status (500,
//! the JS error message as a string). Validation failures are an array of messages wrapped once
//! more (`[["instance requires property \"text\""]]`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// An Evolution API error response.
#[derive(Debug, Clone, PartialEq)]
pub struct EvoError {
    pub status: StatusCode,
    pub message: Value,
    /// The `error` field when it is not the status's reason: errors the server's own
    /// exceptions do not raise (body-parser's) have none, and the error middleware writes
    /// `'Internal Server Error'` whatever their status.
    pub error: Option<&'static str>,
}

impl EvoError {
    pub fn new(status: StatusCode, message: Value) -> Self {
        Self {
            status,
            message,
            error: None,
        }
    }

    /// body-parser's errors (400 unparsable JSON, 413 over the 136 MB limit), as
    /// `src/main.ts`'s error middleware answers them: the status, `error: 'Internal Server
    /// Error'` (they carry no `error`), and the parser's message as a string.
    pub fn body_parser(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            error: Some("Internal Server Error"),
            ..Self::new(status, json!(message.into()))
        }
    }

    /// 400 with one message: `["msg"]`.
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, json!([msg.into()]))
    }

    /// 400 from JSON-schema validation: `[["msg", …]]`.
    pub fn validation(msgs: Vec<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, json!([msgs]))
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, json!("Unauthorized"))
    }

    pub fn forbidden(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, json!([msg.into()]))
    }

    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, json!([msg.into()]))
    }

    /// 404 with several messages (`NotFoundException('a', 'b')`).
    pub fn not_found_many(msgs: &[&str]) -> Self {
        Self::new(StatusCode::NOT_FOUND, json!(msgs))
    }

    /// The instance guard's 404.
    pub fn no_instance(name: &str) -> Self {
        Self::not_found(format!("The \"{name}\" instance does not exist"))
    }

    /// Express's unmatched-route 404 (`Cannot POST /x`).
    pub fn no_route(method: &str, path: &str) -> Self {
        Self::not_found(format!("Cannot {method} {path}"))
    }

    /// An error without a status: 500 with the JS message as a plain string.
    pub fn internal(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, json!(msg.into()))
    }

    /// The response body.
    pub fn body(&self) -> Value {
        json!({
            "status": self.status.as_u16(),
            "error": self.error.or(self.status.canonical_reason()).unwrap_or("Error"),
            "response": {"message": self.message},
        })
    }
}

impl IntoResponse for EvoError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_match_the_real_server() {
        assert_eq!(
            EvoError::unauthorized().body(),
            json!({"status":401,"error":"Unauthorized","response":{"message":"Unauthorized"}})
        );
        assert_eq!(
            EvoError::no_instance("foo").body(),
            json!({"status":404,"error":"Not Found","response":{"message":["The \"foo\" instance does not exist"]}})
        );
        assert_eq!(
            EvoError::validation(vec!["instance requires property \"text\"".into()]).body(),
            json!({"status":400,"error":"Bad Request","response":{"message":[["instance requires property \"text\""]]}})
        );
        assert_eq!(
            EvoError::internal("Connection Closed").body(),
            json!({"status":500,"error":"Internal Server Error","response":{"message":"Connection Closed"}})
        );
        assert_eq!(
            EvoError::no_route("POST", "/x").body()["response"]["message"],
            json!(["Cannot POST /x"])
        );
    }
}
