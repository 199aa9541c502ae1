//! The small core routers (settings, proxy, label, template, business, call), the `baileys`
//! channel router and the index routes `/metrics`, `/manager`, `/assets/*`, each as the 2.3.6
//! server answers a Baileys instance (`settings.service.ts`, `proxy.controller.ts`,
//! `template.service.ts`, `whatsapp.baileys.service.ts`, `index.router.ts`, `view.router.ts`).

use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use serde_json::{json, Value};

use super::dispatch::{add_sync, Call};
use super::errors::EvoError;
use super::reply::EvoResult;
use super::rules::{self, jid_for};
use super::{state, Sim};

/// The routes of this module.
pub fn router(mut r: Router<Arc<Sim>>) -> Router<Arc<Sim>> {
    r = add_sync(r, "POST", "/settings/set/{instance}", settings_set);
    r = add_sync(r, "GET", "/settings/find/{instance}", settings_find);
    r = add_sync(r, "POST", "/proxy/set/{instance}", proxy_set);
    r = add_sync(r, "GET", "/proxy/find/{instance}", proxy_find);
    r = add_sync(r, "GET", "/label/findLabels/{instance}", find_labels);
    r = add_sync(r, "POST", "/label/handleLabel/{instance}", handle_label);
    r = add_sync(r, "POST", "/template/create/{instance}", template_create);
    // `requestTemplate` answers Meta's error object, whose `.data` is undefined: 200, no body.
    r = add_sync(r, "GET", "/template/find/{instance}", |_, c| {
        Ok(c.reply_empty())
    });
    r = add_sync(r, "POST", "/business/getCatalog/{instance}", business);
    r = add_sync(r, "POST", "/business/getCollections/{instance}", business);
    r = add_sync(r, "POST", "/call/offer/{instance}", offer_call);
    r = super::baileys::router(r);
    r = add_sync(r, "GET", "/metrics", metrics);
    r = add_sync(r, "GET", "/manager", |_, _| {
        Ok((
            [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
            MANAGER_HTML,
        )
            .into_response())
    });
    // The simulator ships no manager build: every asset is the server's missing-file answer.
    add_sync(r, "GET", "/assets/{*file}", |_, c| {
        let file = c.params.get("file").map(String::as_str).unwrap_or_default();
        let status = match file.contains("..") || file.contains('\\') {
            true => (StatusCode::FORBIDDEN, "Forbidden"),
            false => (StatusCode::NOT_FOUND, "File not found"),
        };
        Ok(status.into_response())
    })
}

const MANAGER_HTML: &str = "<!doctype html><html><head><title>Evolution Manager</title></head>\
<body><p>Evolution API manager (harness simulator: the manager UI is not bundled).</p></body></html>";

/// The settings keys `setSettings` stores.
const SETTINGS_KEYS: &[&str] = &[
    "rejectCall",
    "msgCall",
    "groupsIgnore",
    "alwaysOnline",
    "readMessages",
    "readStatus",
    "syncFullHistory",
    "wavoipToken",
];

fn settings_set(sim: &Sim, call: &Call) -> EvoResult {
    sim.with_instance(&call.instance, &call.headers, |inst| {
        let mut row = json!({});
        for k in SETTINGS_KEYS {
            row[*k] = call.body.get(*k).cloned().unwrap_or(Value::Null);
        }
        inst.settings = row;
        Ok(())
    })?;
    Ok(call.reply(json!({"settings": {"instanceName": call.instance, "settings": call.body}})))
}

fn settings_find(sim: &Sim, call: &Call) -> EvoResult {
    let row = sim.with_instance(&call.instance, &call.headers, |inst| {
        Ok(inst.settings.clone())
    })?;
    Ok(call.reply(row))
}

/// `proxy/set`: a disabled proxy is stored blank; an enabled one is tested through
/// `icanhazip.com`, which the simulator cannot reach: `400 ["Invalid proxy"]`, as the server
/// answers a proxy that does not work.
fn proxy_set(sim: &Sim, call: &Call) -> EvoResult {
    let mut data = call.body.clone();
    let enabled = data.get("enabled").and_then(Value::as_bool) == Some(true);
    if !enabled {
        for k in ["host", "port", "protocol", "username", "password"] {
            data[k] = json!("");
        }
    }
    if data
        .get("host")
        .and_then(Value::as_str)
        .is_some_and(|h| !h.is_empty())
    {
        return Err(EvoError::bad_request("Invalid proxy"));
    }
    sim.with_instance(&call.instance, &call.headers, |inst| {
        let mut row = json!({"id": rules::row_id(&mut rand::rng()), "enabled": enabled});
        for k in ["host", "port", "protocol", "username", "password"] {
            row[k] = data.get(k).cloned().unwrap_or(json!(""));
        }
        row["createdAt"] = json!(state::now_iso());
        row["updatedAt"] = row["createdAt"].clone();
        row["instanceId"] = json!(inst.id);
        inst.store.insert("proxy", row);
        Ok(())
    })?;
    Ok(call.reply(json!({"proxy": {"instanceName": call.instance, "proxy": data}})))
}

/// `proxy/find`: the row, or `null` (the service swallows `Proxy not found`).
fn proxy_find(sim: &Sim, call: &Call) -> EvoResult {
    let row = sim.with_instance(&call.instance, &call.headers, |inst| {
        Ok(inst.store.get("proxy").cloned().unwrap_or(Value::Null))
    })?;
    Ok(call.reply(row))
}

/// The labels WhatsApp Business creates on a new account (`labels.edit` at connection).
fn default_labels() -> Value {
    let names = [
        ("1", "New customer", "1"),
        ("2", "New order", "2"),
        ("3", "Pending payment", "3"),
        ("4", "Paid", "4"),
        ("5", "Order complete", "5"),
    ];
    Value::Array(
        names
            .iter()
            .enumerate()
            .map(|(i, (id, name, pre))| json!({"color": i, "name": name, "id": id, "predefinedId": pre}))
            .collect(),
    )
}

fn find_labels(sim: &Sim, call: &Call) -> EvoResult {
    let labels = sim.with_instance(&call.instance, &call.headers, |inst| {
        Ok(inst
            .store
            .entry("labels")
            .or_insert_with(default_labels)
            .clone())
    })?;
    Ok(call.reply(labels))
}

/// `handleLabel` (`whatsapp.baileys.service.ts`): the number must be on WhatsApp; the chat's
/// labels are kept and a `labels.association` webhook is sent.
fn handle_label(sim: &Sim, call: &Call) -> EvoResult {
    let number = call.str("number").unwrap_or_default();
    let jid = jid_for(number);
    if !rules::number_exists(&jid, &sim.config.unregistered_numbers) {
        return Err(EvoError::not_found("Number is not on WhatsApp"));
    }
    let label_id = call.body["labelId"].clone();
    let add = call.str("action") == Some("add");
    let ctx = sim.with_instance(&call.instance, &call.headers, |inst| {
        let chats = inst.store.entry("chatLabels").or_insert_with(|| json!({}));
        let mut ids = chats[&jid].as_array().cloned().unwrap_or_default();
        ids.retain(|l| *l != label_id);
        if add {
            ids.push(label_id.clone());
        }
        chats[&jid] = json!(ids);
        Ok(super::EmitContext::of(inst))
    })?;
    let data = json!({"association": {"type": if add {"add"} else {"remove"}, "chatId": jid,
                                      "labelId": label_id}});
    sim.emit(&ctx, vec![state::Event::now("labels.association", data)]);
    let mut out = json!({"numberJid": jid, "labelId": call.body["labelId"]});
    out[if add { "add" } else { "remove" }] = json!(true);
    Ok(call.reply(out))
}

/// `template/create` on a Baileys instance posts to Meta with the instance token and no
/// business id; Meta refuses the token and the server throws its message (500).
fn template_create(_: &Sim, _: &Call) -> EvoResult {
    Err(EvoError::internal(
        "Invalid OAuth access token - Cannot parse access token",
    ))
}

/// `getCatalog`/`getCollections`: a number not on WhatsApp is a 400 with the lookup row; a
/// simulated customer is not a business, so Baileys' catalog query fails and the server answers
/// its fallback `{wuid, name: null, isBusiness: false}`.
fn business(sim: &Sim, call: &Call) -> EvoResult {
    let jid = match call.str("number") {
        Some(n) => jid_for(n),
        None => sim.with_instance(&call.instance, &call.headers, |inst| {
            Ok(inst.owner_jid.clone().unwrap_or_default())
        })?,
    };
    if !rules::number_exists(&jid, &sim.config.unregistered_numbers) {
        let number = rules::jid_user(&jid).to_string();
        return Err(EvoError::new(
            StatusCode::BAD_REQUEST,
            json!([{"exists": false, "jid": jid, "number": number}]),
        ));
    }
    Ok(call.reply(json!({"wuid": jid, "name": null, "isBusiness": false})))
}

/// `call/offer`: 2.3.6 does not place the call; it answers this literal object.
fn offer_call(_: &Sim, call: &Call) -> EvoResult {
    let jid = jid_for(call.str("number").unwrap_or_default());
    Ok(call.reply(
        json!({"id": "123", "jid": jid, "isVideo": call.body.get("isVideo"),
                         "callDuration": call.body["callDuration"]}),
    ))
}

/// `GET /metrics` with `METRICS_ENABLED=true` and no IP list or basic auth: the server's
/// Prometheus text over the simulator's instances.
fn metrics(sim: &Sim, _: &Call) -> EvoResult {
    let instances = sim.instances();
    let mut lines = vec![
        "# HELP evolution_environment_info Environment information".to_string(),
        "# TYPE evolution_environment_info gauge".to_string(),
        format!(
            "evolution_environment_info{{version=\"{}\",clientName=\"{}\",serverUrl=\"{}\"}} 1",
            sim.config.version, sim.config.client_name, sim.server_url
        ),
        "# HELP evolution_instances_total Total number of instances".to_string(),
        "# TYPE evolution_instances_total gauge".to_string(),
        format!("evolution_instances_total {}", instances.len()),
        "# HELP evolution_instance_up 1 if instance state is open, else 0".to_string(),
        "# TYPE evolution_instance_up gauge".to_string(),
        "# HELP evolution_instance_state Instance state as a labelled metric".to_string(),
        "# TYPE evolution_instance_state gauge".to_string(),
    ];
    let mut names: Vec<&String> = instances.keys().collect();
    names.sort();
    for name in names {
        let inst = &instances[name];
        let st = inst.state.as_str();
        let up = u8::from(st == "open");
        let integ = &inst.integration;
        lines.push(format!(
            "evolution_instance_up{{instance=\"{name}\",integration=\"{integ}\"}} {up}"
        ));
        lines.push(format!(
            "evolution_instance_state{{instance=\"{name}\",integration=\"{integ}\",state=\"{st}\"}} 1"
        ));
    }
    let body = lines.join("\n") + "\n";
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-cache, no-store, must-revalidate"),
        ],
        body,
    )
        .into_response())
}
