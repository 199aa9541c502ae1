//! Graph edges and nodes of a WhatsApp Business Account (thin handlers over [`waba`],
//! [`templates`] and [`uploads`]): `GET|POST|DELETE /{waba-id}/message_templates`,
//! `GET|POST /{waba-id}/flows`, `POST /{flow-id}/publish`, `POST /{app-id}/uploads`, and the
//! node operations `GET /{waba-id}`, `GET|POST /{template-id}`, `GET|DELETE /{flow-id}`,
//! `GET|POST /upload:<session>` that `server`'s node routes hand over. Request shapes: pywa
//! `pywa/api.py` (`get_templates`, `create_template`, `delete_template`, `update_template`,
//! `create_flow`, `publish_flow`, `delete_flow`, `get_flow(s)`, `create_upload_session`,
//! `upload_file`, `get_upload_session`, `get_waba_info`).

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{any, post};
use axum::Router;
use serde_json::{json, Value};

use super::account_routes::{body_params, both, GraphCall};
use super::graph::GraphError;
use super::http::{node_of, respond};
use super::registration::waba_access;
use super::templates::{self, TemplateStatus};
use super::{events, ids, waba, Meta, Shared};

type Q = Query<HashMap<String, String>>;
type P = Path<HashMap<String, String>>;

pub(super) fn router(meta: Shared) -> Router {
    let r = Router::new();
    let r = both(r, "message_templates", any(message_templates));
    let r = both(r, "flows", any(flows));
    let r = both(r, "publish", post(publish));
    let r = both(r, "uploads", post(create_upload));
    r.with_state(meta)
}

fn str_map(p: &Value) -> HashMap<String, String> {
    p.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_string),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn message_templates(State(m): State<Shared>, call: GraphCall) -> Response {
    let p = call.params();
    let method = &call.method;
    let r = node_of(&call.path, "/message_templates").and_then(|waba| {
        waba_access(&m, method.as_str(), &waba, &call.headers, &call.query)?;
        match method.as_str() {
            "GET" => {
                let data = m.waba(&waba, |w| w.list(&str_map(&p)));
                Ok(json!({"data": data, "paging": {"cursors": {"before": "", "after": ""}}}))
            }
            "POST" => create_template(&m, &waba, &p),
            "DELETE" => {
                let name = p.get("name").and_then(Value::as_str);
                let hsm = p.get("hsm_id").and_then(Value::as_str);
                m.waba(&waba, |w| w.delete(name, hsm))
                    .map(|()| json!({"success": true}))
            }
            _ => Err(GraphError::unsupported_request(method.as_str(), &waba)),
        }
    });
    respond(&m, r)
}

/// Stores the template as PENDING and queues its review verdict webhook.
fn create_template(m: &Meta, waba: &str, p: &Value) -> Result<Value, GraphError> {
    let t = templates::parse_create(p)?;
    let delay = m.config.template_review_delay;
    let now = tokio::time::Instant::now();
    let decided = m.waba(waba, |w| w.create(t, ids::media_id(), now, delay))?;
    announce_review(m, waba, &decided, delay);
    Ok(json!({"id": decided.id, "status": "PENDING", "category": decided.category}))
}

fn announce_review(m: &Meta, waba: &str, decided: &templates::Template, delay: Duration) {
    let field = "message_template_status_update";
    events::waba_webhook(m, waba, field, decided.status_update(), delay);
}

/// Sets a template's status (and quality) as Meta's review or quality rating would, with the
/// webhooks Meta sends (`/__harness/meta/templates`).
pub(super) fn set_template_state(
    m: &Meta,
    name: &str,
    language: &str,
    status: Option<TemplateStatus>,
    quality: Option<&str>,
) -> Result<Value, String> {
    let mut out = None;
    for waba in m.waba_ids() {
        let changed = m.waba(&waba, |w| w.force(name, language, status, quality));
        if let Some((t, previous)) = changed {
            if status.is_some() {
                announce_review(m, &waba, &t, Duration::ZERO);
            }
            if quality.is_some() {
                let field = "message_template_quality_update";
                events::waba_webhook(m, &waba, field, t.quality_update(&previous), Duration::ZERO);
            }
            out = Some(t.describe(None));
        }
    }
    out.ok_or_else(|| format!("no template {name:?} in {language:?}"))
}

async fn flows(State(m): State<Shared>, call: GraphCall) -> Response {
    let p = call.params();
    let method = &call.method;
    let r = node_of(&call.path, "/flows").and_then(|waba| {
        waba_access(&m, method.as_str(), &waba, &call.headers, &call.query)?;
        match method.as_str() {
            "GET" => {
                let f = p.get("fields").and_then(Value::as_str);
                let data: Vec<Value> =
                    m.waba(&waba, |w| w.flows.values().map(|x| x.describe(f)).collect());
                Ok(json!({ "data": data }))
            }
            "POST" => {
                let flow = m.waba(&waba, |w| w.create_flow(&p, ids::media_id()))?;
                let errors = flow.describe(None)["validation_errors"].clone();
                Ok(json!({"id": flow.id, "success": true, "validation_errors": errors}))
            }
            _ => Err(GraphError::unsupported_request(method.as_str(), &waba)),
        }
    });
    respond(&m, r)
}

/// The WABA holding a template or flow id, if this token may act on it.
fn owner_waba(
    m: &Meta,
    id: &str,
    h: &HeaderMap,
    q: &HashMap<String, String>,
    method: &str,
) -> Option<String> {
    m.waba_ids().into_iter().find(|w| {
        m.waba(w, |x| {
            x.flows.contains_key(id) || x.templates.iter().any(|s| s.template.id == id)
        }) && waba_access(m, method, w, h, q).is_ok()
    })
}

async fn publish(State(m): State<Shared>, Path(path): P, Query(q): Q, h: HeaderMap) -> Response {
    let r = node_of(&path, "/publish").and_then(|id| {
        let waba = owner_waba(&m, &id, &h, &q, "POST")
            .ok_or_else(|| GraphError::unsupported_request("POST", &id))?;
        m.waba(&waba, |w| match w.flows.get_mut(&id) {
            Some(f) => waba::publish(f).map(|()| json!({"success": true})),
            None => Err(GraphError::unsupported_request("POST", &id)),
        })
    });
    respond(&m, r)
}

async fn create_upload(
    State(m): State<Shared>,
    Path(path): P,
    Query(q): Q,
    h: HeaderMap,
) -> Response {
    let r = node_of(&path, "/uploads").and_then(|app| {
        super::registration::app_or_user_token(&m, &h, &q)?;
        if app != m.config.app_id {
            return Err(GraphError::unsupported_request("POST", &app));
        }
        m.uploads().create(&q, m.config.limits.media_max_file_bytes)
    });
    respond(&m, r)
}

/// `GET /{node}` for nodes other than phone numbers and media; `None`: not one of these.
pub(super) fn get_node(
    m: &Meta,
    node: &str,
    h: &HeaderMap,
    q: &HashMap<String, String>,
) -> Option<Result<Value, GraphError>> {
    let fields = q.get("fields").map(String::as_str);
    if node.starts_with("upload:") {
        return Some(
            m.uploads()
                .status(node)
                .ok_or_else(|| GraphError::unsupported_request("GET", node)),
        );
    }
    if m.waba_ids().iter().any(|w| w == node) {
        return Some(waba_access(m, "GET", node, h, q).map(|()| describe_waba(node, fields)));
    }
    let waba = owner_waba(m, node, h, q, "GET")?;
    Some(Ok(m.waba(&waba, |w| match w.flows.get(node) {
        Some(f) => f.describe(fields),
        None => w
            .by_id_mut(node)
            .map(|t| t.describe(fields))
            .unwrap_or(Value::Null),
    })))
}

fn describe_waba(waba: &str, fields: Option<&str>) -> Value {
    let full = json!({
        "id": waba,
        "name": "Harness Test Business",
        "timezone_id": "1",
        "message_template_namespace": format!("{:016x}", namespace_of(waba)),
        "currency": "USD",
        "account_review_status": "APPROVED",
        "business_verification_status": "verified",
        "country": "US",
        "ownership_type": "SELF",
    });
    super::graph::filter_fields(full, fields)
}

/// A stable 64-bit value derived from an id (the template namespace).
fn namespace_of(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// `POST /{node}` for template ids (edit), flow ids (metadata) and upload sessions.
pub(super) fn post_node(
    m: &Meta,
    node: &str,
    h: &HeaderMap,
    q: &HashMap<String, String>,
    body: &[u8],
) -> Option<Result<Value, GraphError>> {
    if node.starts_with("upload:") {
        if let Err(e) = super::registration::app_or_user_token(m, h, q) {
            return Some(Err(e));
        }
        let offset = h.get("file_offset").and_then(|v| v.to_str().ok());
        return Some(m.uploads().upload(node, offset, body));
    }
    let waba = owner_waba(m, node, h, q, "POST")?;
    let p = body_params(q, body);
    let delay = m.config.template_review_delay;
    let now = tokio::time::Instant::now();
    let edited = m.waba(&waba, |w| {
        if let Some(f) = w.flows.get_mut(node) {
            if let Some(n) = p.get("name").and_then(Value::as_str) {
                f.name = n.to_string();
            }
            return Ok(None);
        }
        w.edit(node, &p, now, delay).map(Some)
    });
    Some(edited.map(|t| {
        if let Some(t) = t {
            announce_review(m, &waba, &t, delay);
        }
        json!({"success": true})
    }))
}

/// `DELETE /{flow-id}`: only drafts.
pub(super) fn delete_node(
    m: &Meta,
    node: &str,
    h: &HeaderMap,
    q: &HashMap<String, String>,
) -> Option<Result<Value, GraphError>> {
    let waba = owner_waba(m, node, h, q, "DELETE")?;
    Some(
        m.waba(&waba, |w| match w.flows.get(node).map(|f| f.status) {
            Some("DRAFT") => {
                w.flows.remove(node);
                Ok(json!({"success": true}))
            }
            // pywa `pywa/errors.py` `FlowDeletingError`.
            Some(s) => Err(GraphError::coded(
                139004,
                "Flow deleting error",
                format!(
                    "Can't delete a {s} Flow: only drafts can be deleted (deprecate it instead)."
                ),
                400,
            )),
            None => Err(GraphError::unsupported_request("DELETE", node)),
        }),
    )
}
