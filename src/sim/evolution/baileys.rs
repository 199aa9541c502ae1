//! The `baileys` channel router (`baileys.router.ts`, `baileys.controller.ts`): thin calls into
//! the Baileys socket of an instance, answered from the simulated session.

use std::sync::Arc;

use axum::Router;
use rand::Rng;
use serde_json::{json, Value};

use super::dispatch::{add_sync, Call, SyncHandler};
use super::errors::EvoError;
use super::reply::EvoResult;
use super::rules::{self, jid_user};
use super::Sim;

pub fn router(mut r: Router<Arc<Sim>>) -> Router<Arc<Sim>> {
    let routes: [(&str, SyncHandler); 9] = [
        ("onWhatsapp", on_whatsapp),
        ("profilePictureUrl", profile_picture_url),
        // No new session is fetched: the simulated sessions always exist.
        ("assertSessions", |_, c| Ok(c.reply(json!(false)))),
        ("createParticipantNodes", participant_nodes),
        ("getUSyncDevices", usync_devices),
        ("generateMessageTag", |_, c| {
            Ok(c.reply(json!(message_tag())))
        }),
        // `sendNode` resolves to `undefined`.
        ("sendNode", |_, c| Ok(c.reply_empty())),
        ("signalRepositoryDecryptMessage", decrypt),
        ("getAuthState", auth_state),
    ];
    for (name, h) in routes {
        r = add_sync(r, "POST", &format!("/baileys/{name}/{{instance}}"), h);
    }
    r
}

fn jids(call: &Call) -> Vec<String> {
    match call.body.get("jids") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// Baileys `onWhatsApp(jid)`: one row per registered number, none for the others.
fn on_whatsapp(sim: &Sim, call: &Call) -> EvoResult {
    let Some(jid) = call.str("jid") else {
        return Err(EvoError::internal(
            "Cannot read properties of undefined (reading 'includes')",
        ));
    };
    let jid = rules::jid_for(jid);
    let rows = match rules::number_exists(&jid, &sim.config.unregistered_numbers) {
        true => json!([{"exists": true, "jid": jid}]),
        false => json!([]),
    };
    Ok(call.reply(rows))
}

fn profile_picture_url(_: &Sim, call: &Call) -> EvoResult {
    let jid = call.str("jid").unwrap_or_default();
    let user = jid_user(jid);
    Ok(call.reply(json!(format!(
        "https://pps.whatsapp.net/v/t61.24694-24/{user}_n.jpg?ccb=11-4&oh=01_Q5Aa&oe=6800B2C1&_nc_cat=1"
    ))))
}

fn participant_nodes(_: &Sim, call: &Call) -> EvoResult {
    let mut rng = rand::rng();
    let nodes: Vec<Value> = jids(call)
        .iter()
        .map(|jid| {
            let cipher: Vec<u8> = (0..48).map(|_| rng.random()).collect();
            use base64::Engine;
            let b64 = base64::engine::general_purpose::STANDARD.encode(cipher);
            json!({"tag": "to", "attrs": {"jid": jid},
                   "content": [{"tag": "enc", "attrs": {"v": "2", "type": "msg"}, "content": b64}]})
        })
        .collect();
    Ok(call.reply(json!({"nodes": nodes, "shouldIncludeDeviceIdentity": false})))
}

/// One primary device (device 0) per user.
fn usync_devices(_: &Sim, call: &Call) -> EvoResult {
    let devices: Vec<Value> = jids(call)
        .iter()
        .map(|j| json!({"user": jid_user(j), "device": 0}))
        .collect();
    Ok(call.reply(Value::Array(devices)))
}

/// Baileys' tag: `<u16>.<u16>-<counter>`.
fn message_tag() -> String {
    let mut rng = rand::rng();
    format!(
        "{}.{}-{}",
        rng.random::<u16>(),
        rng.random::<u16>(),
        rng.random_range(1..100)
    )
}

/// No Signal session exists with a simulated peer: libsignal throws, the server rethrows (500).
fn decrypt(_: &Sim, call: &Call) -> EvoResult {
    let jid = call.str("jid").unwrap_or_default();
    Err(EvoError::internal(format!(
        "No session record for {}.0",
        jid_user(jid)
    )))
}

fn auth_state(sim: &Sim, call: &Call) -> EvoResult {
    let me = sim.with_instance(&call.instance, &call.headers, |inst| {
        Ok(inst.owner_jid.as_ref().map(|jid| {
            let user = jid_user(jid);
            json!({"id": format!("{user}:1@s.whatsapp.net"), "name": inst.profile_name})
        }))
    })?;
    Ok(call.reply(json!({"me": me})))
}
