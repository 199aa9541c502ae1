//! Graph API error objects, the only error shape a Cloud API client understands.
//!
//! Every synchronous failure of the simulated Graph API is a [`GraphError`]: a code, a title, a
//! specific `details` string, an optional subcode and an HTTP status. pywa raises on any status
//! ≥ 400 and then reads `error.code` and `error.message`, so whatever the status (401, 429, 5xx)
//! the body is always `{"error": {...}}` (reference §2.1). Meta's own table of HTTP statuses per
//! code was not available; the defaults here follow the reference (§2.3) and can be overridden
//! per code with [`StatusOverrides`], because third parties disagree (some report 429 for the
//! throughput and pair-rate codes).
//!
//! Asynchronous failures (a `failed` status webhook) use a different shape without `type` and
//! `fbtrace_id`: [`GraphError::webhook_error`].

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// Meta's documentation link that webhook error items carry in `href`.
pub const ERROR_CODES_HREF: &str =
    "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/";

/// HTTP status per Graph error code, overriding the defaults (`code → status`).
pub type StatusOverrides = BTreeMap<u32, u16>;

/// The Graph `error.type` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// Used for almost everything, including the WhatsApp 13xxxx codes.
    OAuth,
    /// Unknown node or unsupported operation on a node (code 100, subcode 33).
    GraphMethod,
}

impl ErrorType {
    fn as_str(self) -> &'static str {
        match self {
            ErrorType::OAuth => "OAuthException",
            ErrorType::GraphMethod => "GraphMethodException",
        }
    }
}

/// One Graph API error, before rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    /// Graph error code (`190`, `100`, `130429`, …).
    pub code: u32,
    /// The title: `message` is rendered as `"(#code) title"`.
    pub title: String,
    /// `error_data.details`: the specific reason clients are told to branch on.
    pub details: Option<String>,
    /// `error_subcode`, when the real API sends one.
    pub subcode: Option<u32>,
    /// `error.type`.
    pub kind: ErrorType,
    /// Default HTTP status (see [`GraphError::status_with`] for overrides).
    pub status: u16,
    /// When set, `message` is this text verbatim instead of `"(#code) title"` (Graph's own
    /// messages for codes 190 and 100/33 carry no `(#code)` prefix).
    pub raw_message: Option<String>,
}

impl GraphError {
    fn new(code: u32, title: &str, details: Option<String>, status: u16) -> Self {
        GraphError {
            code,
            title: title.to_string(),
            details,
            subcode: None,
            kind: ErrorType::OAuth,
            status,
            raw_message: None,
        }
    }

    /// 190: the token is missing, malformed or unknown. HTTP 401.
    pub fn invalid_token() -> Self {
        let mut e = GraphError::new(190, "Invalid OAuth access token", None, 401);
        e.raw_message = Some("Invalid OAuth access token - Cannot parse access token".into());
        e
    }

    /// 100/33: the node does not exist, or this token may not act on it. Graph gives the same
    /// answer in both cases, which is why one tenant cannot even learn another's ids exist.
    pub fn unsupported_request(method: &str, id: &str) -> Self {
        let mut e = GraphError::new(100, "Invalid parameter", None, 400);
        e.kind = ErrorType::GraphMethod;
        e.subcode = Some(33);
        e.raw_message = Some(format!(
            "Unsupported {} request. Object with ID '{id}' does not exist, cannot be loaded due \
             to missing permissions, or does not support this operation. Please read the Graph \
             API documentation at https://developers.facebook.com/docs/graph-api",
            method.to_ascii_lowercase()
        ));
        e
    }

    /// 100: a top-level Graph parameter is missing (`The parameter X is required.`).
    pub fn param_required(param: &str) -> Self {
        let mut e = GraphError::new(100, "Invalid parameter", None, 400);
        e.raw_message = Some(format!("(#100) The parameter {param} is required."));
        e
    }

    /// 100: a parameter has a bad value.
    pub fn invalid_parameter(details: impl Into<String>) -> Self {
        GraphError::new(100, "Invalid parameter", Some(details.into()), 400)
    }

    /// 131008: a required field inside the message object is missing.
    pub fn missing_required(details: impl Into<String>) -> Self {
        GraphError::new(
            131008,
            "Required parameter is missing",
            Some(details.into()),
            400,
        )
    }

    /// 131009: a value is not valid (e.g. mark-as-read with an unknown wamid).
    pub fn invalid_value(details: impl Into<String>) -> Self {
        GraphError::new(
            131009,
            "Parameter value is not valid",
            Some(details.into()),
            400,
        )
    }

    /// 131051: unknown message `type`.
    pub fn unsupported_type(kind: &str) -> Self {
        GraphError::new(
            131051,
            "Unsupported message type",
            Some(format!("Message type '{kind}' is not currently supported.")),
            400,
        )
    }

    /// 130429: the phone number's throughput has been reached.
    pub fn throughput() -> Self {
        GraphError::new(
            130429,
            "Rate limit hit",
            Some("Cloud API message throughput has been reached.".into()),
            400,
        )
    }

    /// 131056: too many messages to the same user in a short period.
    pub fn pair_rate() -> Self {
        GraphError::new(
            131056,
            "(Business Account, Consumer Account) pair rate limit hit",
            Some(
                "Message failed to send because there were too many messages sent from this \
                 phone number to the same phone number in a short period of time."
                    .into(),
            ),
            400,
        )
    }

    /// 131047: more than 24 h since the user's last message (asynchronous, in a `failed` status).
    pub fn re_engagement() -> Self {
        GraphError::new(
            131047,
            "Re-engagement message",
            Some(
                "Message failed to send because more than 24 hours have passed since the \
                 customer last replied to this number."
                    .into(),
            ),
            400,
        )
    }

    /// 2200: the app's endpoint failed the subscription verification handshake.
    pub fn callback_verification_failed(details: impl Into<String>) -> Self {
        let details = details.into();
        let mut e = GraphError::new(2200, "Callback verification failed", None, 400);
        e.raw_message = Some(format!(
            "(#2200) Callback verification failed with the following errors: {details}"
        ));
        e
    }

    /// 2500: a path with components after the node that no edge matches.
    pub fn unknown_path(components: &str) -> Self {
        let mut e = GraphError::new(2500, "Unknown path components", None, 400);
        e.raw_message = Some(format!("Unknown path components: {components}"));
        e
    }

    /// 1: the app secret given to `/oauth/access_token` is wrong.
    pub fn bad_client_secret() -> Self {
        let mut e = GraphError::new(1, "Error validating client secret", None, 400);
        e.raw_message = Some("Error validating client secret.".into());
        e
    }

    /// The `WWW-Authenticate` header value Graph sends with errors.
    pub fn www_authenticate(&self) -> String {
        let kind = if self.code == 190 {
            "invalid_token"
        } else {
            "invalid_request"
        };
        format!(
            "OAuth \"Facebook Platform\" \"{kind}\" \"{}\"",
            self.message()
        )
    }

    /// 131053: the upload could not be processed.
    pub fn media_upload(details: impl Into<String>) -> Self {
        GraphError::new(131053, "Media upload error", Some(details.into()), 400)
    }

    /// A WhatsApp error with its code, title and details (HTTP 400 unless told).
    pub fn coded(code: u32, title: &str, details: impl Into<String>, status: u16) -> Self {
        GraphError::new(code, title, Some(details.into()), status)
    }

    /// A 132xxx template error (HTTP 400).
    pub fn template_error(code: u32, title: &str, details: impl Into<String>) -> Self {
        GraphError::coded(code, title, details, 400)
    }

    /// A `failed` status error by code, with Meta's titles and details for the codes of its
    /// error-code page (reference §2.3); other codes get a generic title.
    pub fn async_failure(code: u32) -> Self {
        let (title, details) = match code {
            131047 => return GraphError::re_engagement(),
            131026 => ("Message undeliverable", "Unable to deliver message. The recipient's phone number is not a WhatsApp number, or the recipient has not accepted the new Terms of Service or uses an old WhatsApp version."),
            131049 => ("This message was not delivered to maintain healthy ecosystem engagement.", "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."),
            131050 => ("Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.", "The recipient has stopped marketing messages from this business."),
            368 => ("Temporarily blocked for policies violations", "The WhatsApp Business Account is restricted from messaging users due to violations of WhatsApp Business Messaging policy."),
            131000 => ("Something went wrong", "An unknown error occurred."),
            _ => ("Message failed to send", "The message could not be delivered."),
        };
        GraphError::coded(code, title, details, 400)
    }

    /// 133010: the phone number is not registered (`POST /{id}/register` first).
    pub fn not_registered() -> Self {
        GraphError::coded(
            133010,
            "Account not registered",
            "Phone number is not registered on the Whatsapp Business Platform.",
            400,
        )
    }

    /// 100: an upload of a MIME type Meta does not accept (the message real uploads get).
    pub fn unsupported_mime(mime: &str) -> Self {
        let mut e = GraphError::invalid_parameter(format!("Received file of type '{mime}'."));
        e.raw_message = Some(format!(
            "(#100) Param file must be a file with one of the following types: {}. Received file of type '{mime}'.",
            super::media::SUPPORTED_MIME.join(", ")
        ));
        e
    }

    /// Seconds to wait, for the throttling codes (4, 80007, 80008, 130429, 131056): the
    /// `Retry-After` header. Throughput refills within a second; the pair rate allows about one
    /// message per 6 s; the app and account quotas are counted per hour.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self.code {
            130429 => Some(1),
            131056 => Some(6),
            4 | 80007 | 80008 => Some(60),
            _ => None,
        }
    }

    /// Graph's `X-Business-Use-Case-Usage` header on a throttled call: per business id, the share
    /// of the quota used and when access comes back (shape from Graph's rate-limiting page; the
    /// exact values Meta puts there are unverified).
    pub fn business_use_case_usage(&self, waba_id: &str, wait_secs: u64) -> String {
        let minutes = wait_secs.div_ceil(60);
        json!({ waba_id: [{
            "type": "whatsapp_business_messaging",
            "call_count": 100,
            "total_cputime": 100,
            "total_time": 100,
            "estimated_time_to_regain_access": minutes,
        }]})
        .to_string()
    }

    /// The `message` field.
    pub fn message(&self) -> String {
        match &self.raw_message {
            Some(m) => m.clone(),
            None => format!("(#{}) {}", self.code, self.title),
        }
    }

    /// The HTTP status, after per-code overrides.
    pub fn status_with(&self, overrides: &StatusOverrides) -> u16 {
        overrides.get(&self.code).copied().unwrap_or(self.status)
    }

    /// The synchronous body: `{"error": {message, type, code, error_data?, error_subcode?,
    /// fbtrace_id}}`.
    pub fn body(&self, fbtrace_id: &str) -> Value {
        let mut err = json!({
            "message": self.message(),
            "type": self.kind.as_str(),
            "code": self.code,
        });
        if let Some(details) = &self.details {
            err["error_data"] = json!({"messaging_product": "whatsapp", "details": details});
        }
        if let Some(sub) = self.subcode {
            err["error_subcode"] = json!(sub);
        }
        err["fbtrace_id"] = json!(fbtrace_id);
        json!({ "error": err })
    }

    /// The asynchronous shape, as found in `statuses[].errors[]` of a webhook.
    pub fn webhook_error(&self) -> Value {
        let mut err = json!({"code": self.code, "title": self.title, "message": self.title});
        if let Some(details) = &self.details {
            err["error_data"] = json!({ "details": details });
        }
        err["href"] = json!(ERROR_CODES_HREF);
        err
    }
}

/// Graph's `fields` parameter: keeps only `fields` (comma-separated) plus `id`; all when `None`.
pub fn filter_fields(full: Value, fields: Option<&str>) -> Value {
    let Some(fields) = fields.filter(|f| !f.trim().is_empty()) else {
        return full;
    };
    let mut out = serde_json::Map::new();
    for f in fields.split(',').map(str::trim).chain(["id"]) {
        if let Some(v) = full.get(f) {
            out.insert(f.to_string(), v.clone());
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throughput_body_matches_reference_shape() {
        let body = GraphError::throughput().body("Az8or2yhqkZfEZ");
        assert_eq!(body["error"]["message"], "(#130429) Rate limit hit");
        assert_eq!(body["error"]["type"], "OAuthException");
        assert_eq!(body["error"]["code"], 130429);
        assert_eq!(body["error"]["error_data"]["messaging_product"], "whatsapp");
        assert_eq!(
            body["error"]["error_data"]["details"],
            "Cloud API message throughput has been reached."
        );
        assert_eq!(body["error"]["fbtrace_id"], "Az8or2yhqkZfEZ");
        assert!(body["error"].get("error_subcode").is_none());
    }

    #[test]
    fn token_error_is_401_with_graph_message() {
        let e = GraphError::invalid_token();
        assert_eq!(e.status_with(&StatusOverrides::new()), 401);
        let body = e.body("x");
        assert_eq!(body["error"]["code"], 190);
        assert_eq!(
            body["error"]["message"],
            "Invalid OAuth access token - Cannot parse access token"
        );
        assert!(body["error"].get("error_data").is_none());
    }

    #[test]
    fn unknown_node_is_graph_method_with_subcode_33() {
        let body = GraphError::unsupported_request("POST", "123").body("x");
        assert_eq!(body["error"]["type"], "GraphMethodException");
        assert_eq!(body["error"]["error_subcode"], 33);
        let msg = body["error"]["message"].as_str().unwrap();
        assert!(msg.starts_with("Unsupported post request. Object with ID '123' does not exist"));
    }

    #[test]
    fn overrides_change_the_status_only_for_their_code() {
        let mut o = StatusOverrides::new();
        o.insert(130429, 429);
        assert_eq!(GraphError::throughput().status_with(&o), 429);
        assert_eq!(GraphError::pair_rate().status_with(&o), 400);
    }

    #[test]
    fn webhook_error_has_no_type_nor_trace() {
        let v = GraphError::re_engagement().webhook_error();
        assert_eq!(v["code"], 131047);
        assert_eq!(v["title"], "Re-engagement message");
        assert_eq!(v["href"], ERROR_CODES_HREF);
        assert!(v.get("type").is_none() && v.get("fbtrace_id").is_none());
        assert!(v["error_data"]["details"]
            .as_str()
            .unwrap()
            .contains("24 hours"));
    }

    #[test]
    fn param_required_message() {
        let e = GraphError::param_required("messaging_product");
        assert_eq!(
            e.message(),
            "(#100) The parameter messaging_product is required."
        );
    }
}
