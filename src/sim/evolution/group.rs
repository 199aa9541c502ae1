//! The `group` router (`group.router.ts`, `whatsapp.baileys.service.ts` 2.3.6): groups with
//! participants, admins, invite codes, settings and ephemeral timers, kept per instance, with
//! the `groups.upsert`, `groups.update` and `group-participants.update` webhooks Baileys
//! reports. The router's input rules (`RouterBroker.groupValidate`, `inviteCodeValidate`,
//! `getParticipantsValidate`) run in [`prepare_input`] before the schema.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::Router;
use rand::Rng;
use serde_json::{json, Map, Value};

use super::dispatch::{add_sync, Call, SyncHandler};
use super::errors::EvoError;
use super::reply::EvoResult;
use super::rules::{self, jid_for};
use super::state::{self, Event, Instance};
use super::{EmitContext, Sim};

pub fn router(mut r: Router<Arc<Sim>>) -> Router<Arc<Sim>> {
    let routes: [(&str, &str, SyncHandler); 16] = [
        ("POST", "create", create),
        ("POST", "updateGroupSubject", |s, c| update(s, c, "subject")),
        ("POST", "updateGroupPicture", |s, c| update(s, c, "picture")),
        ("POST", "updateGroupDescription", |s, c| {
            update(s, c, "desc")
        }),
        ("GET", "findGroupInfos", find),
        ("GET", "fetchAllGroups", fetch_all),
        ("GET", "participants", participants),
        ("GET", "inviteCode", invite_code),
        ("GET", "inviteInfo", invite_info),
        ("GET", "acceptInviteCode", accept_invite),
        ("POST", "sendInvite", send_invite),
        ("POST", "revokeInviteCode", revoke),
        ("POST", "updateParticipant", update_participants),
        ("POST", "updateSetting", |s, c| update(s, c, "setting")),
        ("POST", "toggleEphemeral", |s, c| update(s, c, "ephemeral")),
        ("DELETE", "leaveGroup", leave),
    ];
    for (method, name, h) in routes {
        r = add_sync(r, method, &format!("/group/{name}/{{instance}}"), h);
    }
    r
}

fn groups(inst: &mut Instance) -> &mut Map<String, Value> {
    let g = inst.store.entry("groups").or_insert_with(|| json!({}));
    if !g.is_object() {
        *g = json!({});
    }
    g.as_object_mut()
        .unwrap_or_else(|| unreachable!("set to an object above"))
}

/// The group of `groupJid`, or Baileys' `item-not-found` wrapped as the route wraps it.
fn group_of<'a>(
    inst: &'a mut Instance,
    call: &Call,
    wrap: &str,
) -> Result<&'a mut Value, EvoError> {
    let jid = call.str("groupJid").unwrap_or_default().to_string();
    groups(inst).get_mut(&jid).ok_or_else(|| not_found(wrap))
}

fn not_found(wrap: &str) -> EvoError {
    let status = match wrap {
        "Error updating participants" | "Error updating setting" | "Unable to leave the group" => {
            StatusCode::BAD_REQUEST
        }
        w if w.starts_with("Error updating group") => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::NOT_FOUND,
    };
    EvoError::new(status, json!([wrap, "Error: item-not-found"]))
}

fn invite() -> String {
    let mut rng = rand::rng();
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..22)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// `createGroup`: participants not on WhatsApp are left out; `groups.upsert` goes out.
fn create(sim: &Sim, call: &Call) -> EvoResult {
    let members: Vec<String> = call.body["participants"]
        .as_array()
        .map(|p| p.iter().filter_map(Value::as_str).map(jid_for).collect())
        .unwrap_or_default();
    let members: Vec<String> = members
        .into_iter()
        .filter(|j| rules::number_exists(j, &sim.config.unregistered_numbers))
        .collect();
    let promote = call.body["promoteParticipants"] == true;
    let (ctx, meta) = sim.with_instance(&call.instance, &call.headers, |inst| {
        inst.check_can_send()?;
        let owner = inst.owner_jid.clone().unwrap_or_default();
        let id = format!(
            "120363{:012}@g.us",
            rand::rng().random_range(0..1_000_000_000_000u64)
        );
        let now = state::unix_secs();
        let mut parts = vec![json!({"id": owner, "admin": "superadmin"})];
        let admin = if promote { json!("admin") } else { Value::Null };
        parts.extend(members.iter().map(|m| json!({"id": m, "admin": admin})));
        let meta = json!({"id": id, "subject": call.body["subject"], "subjectOwner": owner,
            "subjectTime": now, "size": parts.len(), "creation": now, "owner": owner,
            "desc": call.body.get("description").cloned().unwrap_or(Value::Null),
            "descId": null, "restrict": false, "announce": false, "isCommunity": false,
            "isCommunityAnnounce": false, "participants": parts, "ephemeralDuration": 0,
            "inviteCode": invite()});
        groups(inst).insert(id, meta.clone());
        Ok((EmitContext::of(inst), meta))
    })?;
    let mut upsert = public(&meta, true);
    upsert["author"] = meta["owner"].clone();
    sim.emit(&ctx, vec![Event::now("groups.upsert", json!([upsert]))]);
    Ok(call.reply(public(&meta, true)))
}

/// The metadata as `findGroup` answers it (participants optional, no invite code).
fn public(meta: &Value, with_participants: bool) -> Value {
    let mut out = meta.clone();
    if let Some(o) = out.as_object_mut() {
        o.remove("inviteCode");
        o.remove("ephemeralDuration");
        if !with_participants {
            o.remove("participants");
        }
    }
    out["pictureUrl"] = meta.get("pictureUrl").cloned().unwrap_or(Value::Null);
    out
}

/// Subject, picture, description, announce/locked settings and the ephemeral timer, with the
/// `groups.update` webhook.
fn update(sim: &Sim, call: &Call, what: &str) -> EvoResult {
    let wrap = match what {
        "subject" => "Error updating group subject",
        "picture" => "Error update group picture",
        "desc" => "Error updating group description",
        _ => "Error updating setting",
    };
    let (ctx, change, reply) = sim.with_instance(&call.instance, &call.headers, |inst| {
        let g = group_of(inst, call, wrap)?;
        let id = g["id"].clone();
        let (change, reply) = match what {
            "subject" => {
                g["subject"] = call.body["subject"].clone();
                (
                    json!({"id": id, "subject": g["subject"]}),
                    json!({"update": "success"}),
                )
            }
            "picture" => {
                g["pictureUrl"] = call.body["image"].clone();
                (json!({"id": id}), json!({"update": "success"}))
            }
            "desc" => {
                g["desc"] = call.body["description"].clone();
                (
                    json!({"id": id, "desc": g["desc"]}),
                    json!({"update": "success"}),
                )
            }
            "setting" => {
                let action = call.str("action").unwrap_or_default();
                let (key, val) = match action {
                    "announcement" => ("announce", true),
                    "not_announcement" => ("announce", false),
                    "locked" => ("restrict", true),
                    _ => ("restrict", false),
                };
                g[key] = json!(val);
                (json!({"id": id, key: val}), json!({"updateSetting": null}))
            }
            _ => {
                g["ephemeralDuration"] = call.body["expiration"].clone();
                (
                    json!({"id": id, "ephemeralDuration": g["ephemeralDuration"]}),
                    json!({"success": true}),
                )
            }
        };
        Ok((EmitContext::of(inst), change, reply))
    })?;
    sim.emit(&ctx, vec![Event::now("groups.update", json!([change]))]);
    Ok(call.reply(reply))
}

fn find(sim: &Sim, call: &Call) -> EvoResult {
    let g = sim.with_instance(&call.instance, &call.headers, |inst| {
        Ok(public(group_of(inst, call, "Error fetching group")?, true))
    })?;
    Ok(call.reply(g))
}

fn fetch_all(sim: &Sim, call: &Call) -> EvoResult {
    let with = call.str("getParticipants") == Some("true");
    let all = sim.with_instance(&call.instance, &call.headers, |inst| {
        Ok(groups(inst)
            .values()
            .map(|g| public(g, with))
            .collect::<Vec<_>>())
    })?;
    Ok(call.reply(Value::Array(all)))
}

/// `findParticipants`: each participant with the contact's name.
fn participants(sim: &Sim, call: &Call) -> EvoResult {
    let list = sim.with_instance(&call.instance, &call.headers, |inst| {
        let contacts = inst.contacts.clone();
        let g = group_of(inst, call, "No participants")?;
        let parts: Vec<Value> = g["participants"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|mut p| {
                let user = p["id"]
                    .as_str()
                    .unwrap_or_default()
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .to_string();
                p["name"] = contacts.get(&user).map_or(Value::Null, |n| json!(n));
                p["imgUrl"] = Value::Null;
                p
            })
            .collect();
        Ok(parts)
    })?;
    Ok(call.reply(json!({"participants": list})))
}

fn invite_code(sim: &Sim, call: &Call) -> EvoResult {
    let code = sim.with_instance(&call.instance, &call.headers, |inst| {
        Ok(group_of(inst, call, "No invite code")?["inviteCode"].clone())
    })?;
    let url = format!(
        "https://chat.whatsapp.com/{}",
        code.as_str().unwrap_or_default()
    );
    Ok(call.reply(json!({"inviteUrl": url, "inviteCode": code})))
}

fn by_code(inst: &mut Instance, code: &str) -> Option<Value> {
    groups(inst)
        .values()
        .find(|g| g["inviteCode"] == code)
        .cloned()
}

fn invite_info(sim: &Sim, call: &Call) -> EvoResult {
    let code = call.str("inviteCode").unwrap_or_default().to_string();
    let g = sim.with_instance(&call.instance, &call.headers, |inst| {
        Ok(by_code(inst, &code))
    })?;
    match g {
        Some(g) => Ok(call.reply(public(&g, true))),
        None => Err(EvoError::not_found_many(&["No invite info", &code])),
    }
}

fn accept_invite(sim: &Sim, call: &Call) -> EvoResult {
    let code = call.str("inviteCode").unwrap_or_default().to_string();
    let g = sim.with_instance(&call.instance, &call.headers, |inst| {
        Ok(by_code(inst, &code))
    })?;
    match g {
        Some(g) => Ok(call.reply(json!({"accepted": true, "groupJid": g["id"]}))),
        None => Err(EvoError::not_found_many(&[
            "Accept invite error",
            "Error: item-not-found",
        ])),
    }
}

fn send_invite(sim: &Sim, call: &Call) -> EvoResult {
    let code = sim.with_instance(&call.instance, &call.headers, |inst| {
        Ok(group_of(inst, call, "No send invite")
            .ok()
            .map(|g| g["inviteCode"].clone()))
    })?;
    let Some(code) = code else {
        return Err(EvoError::not_found("No send invite"));
    };
    let url = format!(
        "https://chat.whatsapp.com/{}",
        code.as_str().unwrap_or_default()
    );
    Ok(call.reply(json!({"send": true, "inviteUrl": url})))
}

fn revoke(sim: &Sim, call: &Call) -> EvoResult {
    let code = sim.with_instance(&call.instance, &call.headers, |inst| {
        let g = group_of(inst, call, "Revoke error")?;
        g["inviteCode"] = json!(invite());
        Ok(g["inviteCode"].clone())
    })?;
    Ok(call.reply(json!({"revoked": true, "inviteCode": code})))
}

/// `updateParticipant` (add, remove, promote, demote) with `group-participants.update`.
fn update_participants(sim: &Sim, call: &Call) -> EvoResult {
    let action = call.str("action").unwrap_or_default().to_string();
    let jids: Vec<String> = call.body["participants"]
        .as_array()
        .map(|p| p.iter().filter_map(Value::as_str).map(jid_for).collect())
        .unwrap_or_default();
    let unregistered = sim.config.unregistered_numbers.clone();
    let (ctx, result, event) =
        sim.with_instance(&call.instance, &call.headers, |inst| {
            let contacts = inst.contacts.clone();
            let author = inst.owner_jid.clone();
            let g = group_of(inst, call, "Error updating participants")?;
            let parts = g["participants"]
                .as_array_mut()
                .map(std::mem::take)
                .unwrap_or_default();
            let (parts, result) = super::groupops::apply(parts, &jids, &action, &unregistered);
            g["size"] = json!(parts.len());
            g["participants"] = Value::Array(parts);
            let changed: Vec<String> = result
                .iter()
                .filter(|r| r["status"] == "200")
                .filter_map(|r| r["jid"].as_str().map(str::to_string))
                .collect();
            let data: Vec<Value> = changed.iter().map(|j| {
            let user = j.split('@').next().unwrap_or_default();
            json!({"jid": j, "phoneNumber": user, "name": contacts.get(user), "imgUrl": null})
        }).collect();
            let event = json!({"id": g["id"], "author": author, "participants": changed,
                           "action": action, "participantsData": data});
            Ok((EmitContext::of(inst), result, event))
        })?;
    if event["participants"]
        .as_array()
        .is_some_and(|p| !p.is_empty())
    {
        sim.emit(&ctx, vec![Event::now("group-participants.update", event)]);
    }
    Ok(call.reply(json!({"updateParticipants": result})))
}

fn leave(sim: &Sim, call: &Call) -> EvoResult {
    let jid = sim.with_instance(&call.instance, &call.headers, |inst| {
        let jid = group_of(inst, call, "Unable to leave the group")?["id"].clone();
        groups(inst).remove(jid.as_str().unwrap_or_default());
        Ok(jid)
    })?;
    Ok(call.reply(json!({"groupJid": jid, "leave": true})))
}
