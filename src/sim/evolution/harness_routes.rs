//! The Evolution simulator's own control routes (the shared ones are in
//! [`crate::sim::control`]): `POST /__harness/inbound` (a customer writes; `messages.upsert`
//! goes to the app) and `POST /__harness/instances/{name}/pair` (the phone scans the QR).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::errors::EvoError;
use super::inbound::{inbound_event, InboundRequest};
use super::reply::{ok, S};
use super::state::ConnState;
use super::{EmitContext, Sim};

fn control_error(status: StatusCode, msg: String) -> Response {
    (status, Json(json!({"error": msg}))).into_response()
}

/// `POST /__harness/inbound`: a customer writes to an instance; `messages.upsert` goes out.
pub(super) async fn inbound(State(sim): S, body: Bytes) -> Response {
    let req: InboundRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, format!("invalid inbound: {e}")),
    };
    match deliver(&sim, &req) {
        Err((status, msg)) => control_error(status, msg),
        Ok(answer) => Json(answer).into_response(),
    }
}

/// Delivers a customer's message to an instance (`/__harness/inbound`, and messages of the
/// simulated WhatsApp network): the events go out; the answer names the message.
pub(super) fn deliver(sim: &Sim, req: &InboundRequest) -> Result<Value, (StatusCode, String)> {
    let from = crate::sim::bus::phone_digits(&req.from);
    if from.is_empty() {
        return Err((StatusCode::BAD_REQUEST, "`from` has no digits".into()));
    }
    let (ctx, events, id, jid) = {
        let mut instances = sim.instances();
        let name = match (&req.instance, instances.len()) {
            (Some(n), _) => n.clone(),
            (None, 1) => instances.keys().next().cloned().unwrap_or_default(),
            (None, _) => {
                return Err((
                    StatusCode::BAD_REQUEST,
                    "`instance` is required unless exactly one instance exists".into(),
                ))
            }
        };
        match instances.get_mut(&name) {
            None => Err((
                StatusCode::NOT_FOUND,
                format!("instance {name:?} does not exist"),
            )),
            Some(inst) if inst.state != ConnState::Open => Err((
                StatusCode::CONFLICT,
                format!(
                    "instance {name:?} is not connected (state {})",
                    inst.state.as_str()
                ),
            )),
            Some(inst)
                if req.group.as_ref().is_some_and(|g| {
                    inst.store.get("groups").and_then(|gs| gs.get(g)).is_none()
                }) =>
            {
                Err((
                    StatusCode::NOT_FOUND,
                    format!("group {:?} does not exist on instance {name:?}", req.group),
                ))
            }
            Some(inst) => {
                let base64 = inst.webhook.as_ref().is_some_and(|w| w.settings.base64);
                inbound_event(inst, &from, req, base64).map_err(|e| (StatusCode::BAD_REQUEST, e))
            }
        }
    }?;
    sim.emit(&ctx, events);
    Ok(json!({"message_id": id, "instance": ctx.instance, "remote_jid": jid}))
}

#[derive(Debug, Default, serde::Deserialize)]
struct PairRequest {
    number: Option<String>,
    name: Option<String>,
}

/// `POST /__harness/instances/{name}/pair`: the phone scans the QR; state becomes `open`.
pub(super) async fn pair(State(sim): S, Path(name): Path<String>, body: Bytes) -> Response {
    let req: PairRequest = match body.is_empty() {
        true => PairRequest::default(),
        false => match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => return control_error(StatusCode::BAD_REQUEST, format!("invalid pair: {e}")),
        },
    };
    let result = {
        let mut instances = sim.instances();
        instances.get_mut(&name).map(|inst| {
            let number = req
                .number
                .as_deref()
                .map(crate::sim::bus::phone_digits)
                .unwrap_or_else(|| format!("5511{:09}", rand::random_range(0..1_000_000_000u32)));
            let profile = req.name.clone().unwrap_or_else(|| inst.name.clone());
            let events = inst.pair(format!("{number}@s.whatsapp.net"), profile);
            (EmitContext::of(inst), events, inst.connection_state())
        })
    };
    match result {
        None => EvoError::no_instance(&name).into_response(),
        Some((ctx, events, state)) => {
            sim.emit(&ctx, events);
            ok(state)
        }
    }
}
