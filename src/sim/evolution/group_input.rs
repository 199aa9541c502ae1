//! The group router's input rules, applied by the dispatcher before a group route's schema:
//! `groupJid` from the body or the query (with `@g.us` added), `inviteCode` and
//! `getParticipants` from the query, merged into the body (upstream `group.router.ts`).

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::errors::EvoError;

fn bad(msgs: &[&str]) -> EvoError {
    EvoError::new(StatusCode::BAD_REQUEST, json!(msgs))
}

/// The router's input rules: `groupJid` from the body or the query (with `@g.us` added),
/// `inviteCode` and `getParticipants` from the query, merged into the body.
pub fn prepare_input(
    path: &str,
    body: &mut Value,
    query: &std::collections::HashMap<String, String>,
) -> Result<(), EvoError> {
    let action = path.split('/').nth(2).unwrap_or_default();
    if !body.is_object() {
        *body = json!({});
    }
    match action {
        "create" | "sendInvite" => Ok(()),
        "inviteInfo" | "acceptInviteCode" => {
            let Some(code) = query.get("inviteCode") else {
                return Err(bad(&[
                    "The group invite code id needs to be informed in the query",
                    "ex: \"inviteCode=F1EX5QZxO181L3TMVP31gY\" (Obtained from group join link)",
                ]));
            };
            body["inviteCode"] = json!(code);
            Ok(())
        }
        "fetchAllGroups" => {
            let Some(p) = query.get("getParticipants") else {
                return Err(bad(&[
                    "The getParticipants needs to be informed in the query",
                ]));
            };
            body["getParticipants"] = json!(p);
            Ok(())
        }
        _ => {
            let jid = body["groupJid"]
                .as_str()
                .map(str::to_string)
                .or_else(|| query.get("groupJid").cloned());
            let Some(mut jid) = jid.filter(|j| !j.is_empty()) else {
                return Err(bad(&[
                    "The group id needs to be informed in the query",
                    "ex: \"groupJid=120362@g.us\"",
                ]));
            };
            if !jid.ends_with("@g.us") {
                jid.push_str("@g.us");
            }
            body["groupJid"] = json!(jid);
            Ok(())
        }
    }
}
