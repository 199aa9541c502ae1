//! Graph edges of a phone number that manage its account (thin handlers over [`account`]):
//! `register`, `deregister`, `request_code`, `verify_code`, `whatsapp_business_profile`
//! (GET/POST), `settings` (GET/POST), `conversational_automation` (POST; read through
//! `GET /{phone-number-id}?fields=conversational_automation`), `block_users`
//! (GET/POST/DELETE), `message_qrdls` (GET/POST, and GET/DELETE `message_qrdls/{code}`), and
//! `POST /{phone-number-id}` (two-step `pin`, `webhook_configuration` override). Each also
//! under an optional `/vNN.N` prefix. Request shapes: pywa `pywa/api.py`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, MethodRouter};
use axum::Router;
use base64::Engine;
use rand::Rng;
use serde_json::{json, Value};

use super::account::{self, Account};
use super::graph::GraphError;
use super::http::{node_of, respond, token_of};
use super::ids::normalize_phone;
use super::registration::verify_and_record;
use super::tenants::PhoneNumber;
use super::{Meta, Shared};

type Q = Query<HashMap<String, String>>;
type P = Path<HashMap<String, String>>;

/// The edges served here.
const EDGES: &[&str] = &[
    "register",
    "deregister",
    "request_code",
    "verify_code",
    "whatsapp_business_profile",
    "settings",
    "conversational_automation",
    "block_users",
    "message_qrdls",
];

/// Everything a Graph handler reads from a request.
pub(super) struct GraphCall {
    pub method: Method,
    /// Path parameters (`p1`, `p2`, …).
    pub path: HashMap<String, String>,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Largest body a Graph call reads (uploads have their own route and limit).
const CALL_BODY_LIMIT: usize = 16 << 20;

impl<S: Send + Sync> FromRequest<S> for GraphCall {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let Path(path) = P::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Query(query) = Q::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let body = axum::body::to_bytes(body, CALL_BODY_LIMIT)
            .await
            .map_err(|e| (StatusCode::PAYLOAD_TOO_LARGE, e.to_string()).into_response())?;
        Ok(GraphCall {
            method: parts.method,
            path,
            query,
            headers: parts.headers,
            body,
        })
    }
}

impl GraphCall {
    /// Query and body as one JSON object.
    pub fn params(&self) -> Value {
        body_params(&self.query, &self.body)
    }

    pub fn token(&self) -> Option<String> {
        token_of(&self.headers, &self.query)
    }
}

/// Routes `/{p1}/{edge}` and `/{p1}/{p2}/{edge}` (versioned) to `mr`.
pub(super) fn both(r: Router<Shared>, edge: &str, mr: MethodRouter<Shared>) -> Router<Shared> {
    r.route(&format!("/{{p1}}/{edge}"), mr.clone())
        .route(&format!("/{{p1}}/{{p2}}/{edge}"), mr)
}

pub(super) fn router(meta: Shared) -> Router {
    let mut r = Router::new();
    for &edge in EDGES {
        let handler = move |s: State<Shared>, call: GraphCall| phone_edge(s, call, edge);
        r = both(r, edge, any(handler));
    }
    r = both(r, "message_qrdls/{qr}", any(qr_one));
    r.route("/__harness/meta/qr/{code}", get(qr_image))
        .with_state(meta)
}

/// Query parameters and a JSON or form body as one JSON object (the body wins).
pub(super) fn body_params(q: &HashMap<String, String>, body: &[u8]) -> Value {
    let mut all: serde_json::Map<String, Value> =
        q.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(obj)) => all.extend(obj),
        _ => {
            let text = String::from_utf8_lossy(body);
            if let Ok(uri) = format!("/?{text}").parse::<Uri>() {
                if let Ok(Query(form)) = Query::<HashMap<String, String>>::try_from_uri(&uri) {
                    all.extend(form.into_iter().map(|(k, v)| (k, json!(v))));
                }
            }
        }
    }
    Value::Object(all)
}

fn success() -> Value {
    json!({"success": true})
}

async fn phone_edge(State(m): State<Shared>, call: GraphCall, edge: &'static str) -> Response {
    let p = call.params();
    let method = &call.method;
    let r = node_of(&call.path, &format!("/{edge}")).and_then(|id| {
        let number = m
            .tenants
            .authorize(call.token().as_deref(), method.as_str(), &id)?;
        phone_op(&m, method, edge, number, &p)
    });
    respond(&m, r)
}

fn fields(p: &Value) -> Option<&str> {
    p.get("fields").and_then(Value::as_str)
}

fn phone_op(
    m: &Meta,
    method: &Method,
    edge: &str,
    n: &PhoneNumber,
    p: &Value,
) -> Result<Value, GraphError> {
    let id = n.id.as_str();
    let acc = |f: &dyn Fn(&mut Account) -> Result<(), GraphError>| {
        m.account(id, |a| f(a)).map(|()| success())
    };
    match (method.as_str(), edge) {
        ("POST", "register") => acc(&|a| a.register(p)),
        ("POST", "deregister") => acc(&|a| {
            a.deregister();
            Ok(())
        }),
        ("POST", "request_code") => {
            let code = format!("{:06}", rand::rng().random_range(0..1_000_000));
            tracing::info!(phone_number_id = id, code = %code, "verification code sent (simulated)");
            acc(&|a| a.request_code(p, code.clone()))
        }
        ("POST", "verify_code") => acc(&|a| a.verify_code(p)),
        ("GET", "whatsapp_business_profile") => {
            let v = m.account(id, |a| a.profile_json(fields(p)));
            Ok(json!({ "data": [v] }))
        }
        ("POST", "whatsapp_business_profile") => acc(&|a| a.update_profile(p)),
        ("GET", "settings") => Ok(m.account(id, |a| Value::Object(a.settings.clone()))),
        ("POST", "settings") => acc(&|a| a.update_settings(p)),
        ("POST", "conversational_automation") => acc(&|a| a.update_automation(p)),
        ("GET", "block_users") => Ok(blocked_list(m, id)),
        ("POST" | "DELETE", "block_users") => block(m, n, method == Method::POST, p),
        ("GET", "message_qrdls") => {
            let list: Vec<Value> = m.account(id, |a| {
                a.qr_codes
                    .values()
                    .map(|q| account::qr_json(q, None))
                    .collect()
            });
            Ok(json!({ "data": list }))
        }
        ("POST", "message_qrdls") => upsert_qr(m, id, p),
        _ => Err(GraphError::unsupported_request(method.as_str(), id)),
    }
}

fn blocked_list(m: &Meta, id: &str) -> Value {
    let data: Vec<Value> = m.account(id, |a| {
        a.blocked
            .iter()
            .map(|w| json!({"messaging_product": "whatsapp", "wa_id": w}))
            .collect()
    });
    json!({ "data": data })
}

/// `POST|DELETE /{id}/block_users {messaging_product, block_users: [{user}]}`. Meta only lets a
/// business block a user who messaged it in the last 24 hours; others come back as failed
/// (error 139100); the list holds at most 64k users (139101). Codes: pywa `pywa/errors.py`
/// `BulkBlockingFailed`, `BlockListLimitReached`.
fn block(m: &Meta, n: &PhoneNumber, add: bool, p: &Value) -> Result<Value, GraphError> {
    if p.get("messaging_product").is_none() {
        return Err(GraphError::param_required("messaging_product"));
    }
    let Some(users) = p.get("block_users").and_then(Value::as_array) else {
        return Err(GraphError::param_required("block_users"));
    };
    let st = m.states.get(&n.id);
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for u in users {
        let input = u["user"].as_str().unwrap_or_default().to_string();
        let wa_id = normalize_phone(&input);
        let recent = st.is_some_and(|s| s.messaged_within(&wa_id, 24 * 3600));
        if wa_id.is_empty() || (add && !recent) {
            failed.push(input);
        } else {
            done.push(json!({"input": input, "wa_id": wa_id}));
        }
    }
    if !failed.is_empty() {
        return Err(GraphError::coded(
            139100,
            "Failed to block/unblock users",
            format!(
                "Only users who messaged this business in the last 24 hours can be blocked: {}",
                failed.join(", ")
            ),
            400,
        ));
    }
    m.account(&n.id, |a| {
        let ids = done.iter().filter_map(|d| d["wa_id"].as_str());
        let fresh = ids.clone().filter(|w| !a.is_blocked(w)).count();
        if add && a.blocked.len() + fresh > account::MAX_BLOCKED {
            return Err(GraphError::coded(
                139101,
                "Blocklist limit reached",
                format!(
                    "A business can block at most {} users.",
                    account::MAX_BLOCKED
                ),
                400,
            ));
        }
        for w in ids {
            a.blocked.retain(|b| b != w);
            if add {
                a.blocked.push(w.to_string());
            }
        }
        Ok(())
    })?;
    let key = if add { "added_users" } else { "removed_users" };
    Ok(json!({"messaging_product": "whatsapp", "block_users": { key: done }}))
}

fn new_qr_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    (0..14)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

fn upsert_qr(m: &Meta, id: &str, p: &Value) -> Result<Value, GraphError> {
    let qr = m.account(id, |a| a.upsert_qr(p, new_qr_code()))?;
    let image = p
        .get("generate_qr_image")
        .is_some()
        .then(|| format!("{}/__harness/meta/qr/{}", m.base_url, qr.code));
    Ok(account::qr_json(&qr, image))
}

/// `GET|DELETE /{id}/message_qrdls/{code}`.
async fn qr_one(State(m): State<Shared>, call: GraphCall) -> Response {
    let code = call.path.get("qr").cloned().unwrap_or_default();
    let method = &call.method;
    let r = node_of(&call.path, "/message_qrdls").and_then(|id| {
        let n = m
            .tenants
            .authorize(call.token().as_deref(), method.as_str(), &id)?;
        let missing = || GraphError::unsupported_request(method.as_str(), &code);
        match method.as_str() {
            "GET" => m
                .account(&n.id, |a| {
                    a.qr_codes.get(&code).map(|c| account::qr_json(c, None))
                })
                .map(|v| json!({ "data": [v] }))
                .ok_or_else(missing),
            "DELETE" => m
                .account(&n.id, |a| a.qr_codes.remove(&code))
                .map(|_| success())
                .ok_or_else(missing),
            _ => Err(missing()),
        }
    });
    respond(&m, r)
}

/// The PNG behind `qr_image_url` (a QR of the deep link).
async fn qr_image(State(m): State<Shared>, Path(code): Path<String>) -> Response {
    let known = m.stores.any_account(|a| a.qr_codes.contains_key(&code));
    if !known {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    }
    let link = format!("https://wa.me/message/{code}");
    let png = crate::sim::evolution::qr::png_data_url(&link)
        .ok()
        .and_then(|url| {
            let b64 = url.strip_prefix("data:image/png;base64,")?.to_string();
            base64::engine::general_purpose::STANDARD.decode(b64).ok()
        });
    match png {
        Some(bytes) => ([(axum::http::header::CONTENT_TYPE, "image/png")], bytes).into_response(),
        None => (StatusCode::INTERNAL_SERVER_ERROR, "cannot render").into_response(),
    }
}

/// `POST /{phone-number-id}` (also with a trailing slash): the two-step verification `pin`, or
/// `webhook_configuration {override_callback_uri, verify_token}` (an empty URI removes the
/// override; a new one is verified with the handshake first).
pub(super) async fn post_phone(m: &Meta, n: &PhoneNumber, p: &Value) -> Result<Value, GraphError> {
    if let Some(cfg) = p.get("webhook_configuration") {
        let uri = cfg["override_callback_uri"].as_str().unwrap_or_default();
        if uri.is_empty() {
            m.account(&n.id, |a| a.webhook_override = None);
            return Ok(success());
        }
        let Some(token) = cfg["verify_token"].as_str().filter(|t| !t.is_empty()) else {
            return Err(GraphError::param_required("verify_token"));
        };
        let outcome = verify_and_record(m, uri, token).await;
        if !outcome.ok {
            return Err(GraphError::callback_verification_failed(
                outcome.failure_details(),
            ));
        }
        m.account(&n.id, |a| a.webhook_override = Some(uri.to_string()));
        return Ok(success());
    }
    if p.get("pin").is_some() {
        let pin = p["pin"]
            .as_str()
            .map(str::to_string)
            .or_else(|| p["pin"].as_u64().map(|n| n.to_string()));
        m.account(&n.id, |a| a.set_pin(pin.as_deref()))?;
        return Ok(success());
    }
    Err(GraphError::invalid_parameter(
        "Nothing to update: give pin or webhook_configuration.",
    ))
}
