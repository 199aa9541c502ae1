//! The integration routers `index.router.ts` mounts, answered as the 2.3.6 server answers them
//! with its `.env.example` configuration (every integration's `*_ENABLED=false`):
//! - chatbots (typebot, openai, dify, flowise, n8n, evoai) and chatwoot: guards, schema, then
//!   `400 ["<Name> is disabled"]` (`base-chatbot.controller.ts`, `chatwoot.controller.ts`);
//! - evolutionBot: always enabled upstream (`integrationEnabled = true`): bots, settings and
//!   ignored JIDs are stored per instance;
//! - event sinks (websocket, rabbitmq, nats, sqs, kafka): `EventController.set/get` return
//!   `undefined` when disabled: 201/200 with an empty body; pusher's `set` stores the row anyway
//!   (`pusher.controller.ts` does not check its status), its `find` is empty;
//! - s3: no media rows without S3: `400 ["Media not found"]` (`s3.service.ts`);
//! - channel webhooks `/webhook/evolution` and `/webhook/meta` (`evolution.router.ts`,
//!   `meta.router.ts`).

use std::sync::Arc;

use axum::response::IntoResponse;
use axum::Router;
use serde_json::{json, Map, Value};

use super::dispatch::{add_sync, Call, SyncHandler};
use super::errors::EvoError;
use super::reply::EvoResult;
use super::routes::routes;
use super::{rules, state, Sim};

/// Chatbot prefixes and the `integrationName` of their controllers.
const DISABLED_BOTS: &[(&str, &str)] = &[
    ("/typebot/", "Typebot"),
    ("/openai/", "Openai"),
    ("/dify/", "Dify"),
    ("/flowise/", "Flowise"),
    ("/n8n/", "N8n"),
    ("/evoai/", "Evoai"),
    ("/chatwoot/", "Chatwoot"),
];

/// Event sinks whose controller returns `undefined` when disabled.
const EVENT_SINKS: &[&str] = &["/websocket/", "/rabbitmq/", "/nats/", "/sqs/", "/kafka/"];

/// The routes of this module.
pub fn router(mut r: Router<Arc<Sim>>) -> Router<Arc<Sim>> {
    for route in routes() {
        let p = route.path;
        let handler: Option<SyncHandler> =
            if DISABLED_BOTS.iter().any(|(pre, _)| p.starts_with(pre)) {
                Some(disabled)
            } else if EVENT_SINKS.iter().any(|pre| p.starts_with(pre)) {
                Some(|_, call| Ok(call.reply_empty()))
            } else if p.starts_with("/evolutionBot/") {
                Some(evolution_bot)
            } else {
                None
            };
        if let Some(h) = handler {
            r = add_sync(r, route.method, p, h);
        }
    }
    r = add_sync(r, "POST", "/pusher/set/{instance}", pusher_set);
    r = add_sync(r, "GET", "/pusher/find/{instance}", |_, call| {
        Ok(call.reply_empty())
    });
    for path in ["/s3/getMedia/{instance}", "/s3/getMediaUrl/{instance}"] {
        r = add_sync(r, "POST", path, |_, _| {
            Err(EvoError::bad_request("Media not found"))
        });
    }
    r = add_sync(r, "POST", "/webhook/evolution", evolution_channel);
    r = add_sync(r, "GET", "/webhook/meta", meta_verify);
    add_sync(r, "POST", "/webhook/meta", |_, call| {
        Ok(call.reply(json!({"status": "success"})))
    })
}

fn disabled(_: &Sim, call: &Call) -> EvoResult {
    let name = DISABLED_BOTS
        .iter()
        .find(|(pre, _)| call.route.path.starts_with(pre))
        .map_or("Integration", |(_, n)| n);
    Err(EvoError::bad_request(format!("{name} is disabled")))
}

fn pusher_set(sim: &Sim, call: &Call) -> EvoResult {
    let mut pusher = call.body.get("pusher").cloned().unwrap_or(json!({}));
    let enabled = pusher.get("enabled").and_then(Value::as_bool) == Some(true);
    let events = match pusher.get("events").and_then(Value::as_array) {
        _ if !enabled => json!([]),
        Some(e) if !e.is_empty() => json!(e),
        _ => json!(rules::EVENT_KEYS),
    };
    pusher["events"] = events;
    let row = sim.with_instance(&call.instance, &call.headers, |inst| {
        let id = inst
            .store
            .get("pusher")
            .and_then(|r| r["id"].as_str().map(str::to_string))
            .unwrap_or_else(|| rules::row_id(&mut rand::rng()));
        let mut row = json!({"id": id, "enabled": enabled, "events": pusher["events"]});
        for k in ["appId", "key", "secret", "cluster", "useTLS"] {
            row[k] = pusher.get(k).cloned().unwrap_or(Value::Null);
        }
        row["createdAt"] = json!(state::now_iso());
        row["updatedAt"] = row["createdAt"].clone();
        row["instanceId"] = json!(inst.id);
        inst.store.insert("pusher", row.clone());
        Ok(row)
    })?;
    Ok(call.reply(row))
}

/// `POST /webhook/evolution`: an EVOLUTION-channel instance is found by `numberId`; nothing
/// found answers 200 with no body (the controller returns `undefined`).
fn evolution_channel(sim: &Sim, call: &Call) -> EvoResult {
    let Some(number) = call.str("numberId") else {
        return Ok(call.reply_empty());
    };
    let known = sim
        .instances()
        .values()
        .any(|i| i.number.as_deref() == Some(number));
    match known {
        true => Ok(call.reply(json!({"status": "success"}))),
        false => Ok(call.reply_empty()),
    }
}

/// `GET /webhook/meta`: the challenge when `hub.verify_token` is `WA_BUSINESS_TOKEN_WEBHOOK`
/// (`.env.example`: `evolution`), else the server's text.
fn meta_verify(_: &Sim, call: &Call) -> EvoResult {
    let body = match call.query.get("hub.verify_token").map(String::as_str) {
        Some("evolution") => call.query.get("hub.challenge").cloned().unwrap_or_default(),
        _ => "Error, wrong validation token".to_string(),
    };
    Ok((
        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response())
}

/// The evolutionBot routes (`base-chatbot.controller.ts`), stored per instance.
fn evolution_bot(sim: &Sim, call: &Call) -> EvoResult {
    let action = call.route.path.split('/').nth(2).unwrap_or_default();
    let out = sim.with_instance(&call.instance, &call.headers, |inst| {
        let bots = inst
            .store
            .entry("evolutionBot")
            .or_insert_with(|| json!([]));
        let list = bots.as_array_mut().map(std::mem::take).unwrap_or_default();
        let (list, out) = bot_action(action, call, list, &inst.id)?;
        inst.store.insert("evolutionBot", Value::Array(list));
        Ok(out)
    });
    let settings_key = "evolutionBotSettings";
    match action {
        "settings" | "fetchSettings" | "ignoreJid" => {
            sim.with_instance(&call.instance, &call.headers, |inst| {
                let cur = inst.store.entry(settings_key).or_insert_with(|| json!({}));
                Ok(call.reply(bot_settings(action, call, cur)))
            })
        }
        _ => out.map(|v| match v {
            Value::Null => call.reply_empty(),
            v => call.reply(v),
        }),
    }
}

fn bot_action(
    action: &str,
    call: &Call,
    mut list: Vec<Value>,
    instance_id: &str,
) -> Result<(Vec<Value>, Value), EvoError> {
    let id = call.id();
    let pos = list.iter().position(|b| b["id"] == json!(id));
    let out = match action {
        "create" | "update" => {
            let body = as_map(&call.body);
            if body.get("triggerType") == Some(&json!("keyword"))
                && (body.get("triggerOperator").is_none() || body.get("triggerValue").is_none())
            {
                return Err(EvoError::internal(
                    "Trigger operator and value are required",
                ));
            }
            let now = state::now_iso();
            let mut bot = match (action, pos) {
                ("update", Some(i)) => list[i].clone(),
                ("update", None) => return Err(EvoError::internal("Bot not found")),
                _ => json!({"id": rules::row_id(&mut rand::rng()), "createdAt": now,
                            "instanceId": instance_id}),
            };
            for (k, v) in body {
                bot[k.as_str()] = v.clone();
            }
            bot["updatedAt"] = json!(now);
            match pos.filter(|_| action == "update") {
                Some(i) => list[i] = bot.clone(),
                None => list.push(bot.clone()),
            }
            bot
        }
        "find" => Value::Array(list.clone()),
        "fetch" => pos.map(|i| list[i].clone()).unwrap_or(Value::Null),
        "delete" => match pos {
            Some(i) => {
                list.remove(i);
                json!({"bot": {"id": id}})
            }
            None => return Err(EvoError::internal("Bot not found")),
        },
        "changeStatus" => json!({"bot": {"remoteJid": call.body["remoteJid"],
                                         "status": call.body["status"]}}),
        // No customer has talked to a bot in the simulation: no sessions.
        "fetchSessions" => json!([]),
        _ => Value::Null,
    };
    Ok((list, out))
}

fn bot_settings(action: &str, call: &Call, cur: &mut Value) -> Value {
    match action {
        "settings" => {
            for (k, v) in as_map(&call.body) {
                cur[k.as_str()] = v.clone();
            }
            cur.clone()
        }
        "ignoreJid" => {
            let jid = call.body["remoteJid"].clone();
            let mut jids = cur["ignoreJids"].as_array().cloned().unwrap_or_default();
            match call.str("action") {
                Some("add") if !jids.contains(&jid) => jids.push(jid),
                Some("remove") => jids.retain(|j| *j != jid),
                _ => {}
            }
            cur["ignoreJids"] = json!(jids);
            json!({"ignoreJids": jids})
        }
        _ => cur.clone(),
    }
}

fn as_map(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}
