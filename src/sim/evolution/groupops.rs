//! Participant changes of a group as WhatsApp answers them per participant
//! (`groupParticipantsUpdate`: `[{status, jid}]`, "200" done, "404" not on WhatsApp, "409"
//! already a member, "403" not a member).

use serde_json::{json, Value};

use super::rules;

/// Applies `action` (add, remove, promote, demote) to `jids`; the new list and per-jid results.
pub fn apply(
    mut parts: Vec<Value>,
    jids: &[String],
    action: &str,
    unregistered: &[String],
) -> (Vec<Value>, Vec<Value>) {
    let mut results = Vec::new();
    for jid in jids {
        let pos = parts.iter().position(|p| p["id"] == jid.as_str());
        let status = match (action, pos) {
            (_, _) if !rules::number_exists(jid, unregistered) => "404",
            ("add", Some(_)) => "409",
            ("add", None) => {
                parts.push(json!({"id": jid, "admin": null}));
                "200"
            }
            (_, None) => "403",
            ("remove", Some(i)) => {
                parts.remove(i);
                "200"
            }
            ("promote", Some(i)) => {
                parts[i]["admin"] = json!("admin");
                "200"
            }
            (_, Some(i)) => {
                parts[i]["admin"] = Value::Null;
                "200"
            }
        };
        results.push(json!({"status": status, "jid": jid}));
    }
    (parts, results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_remove_promote() {
        let a = "5511988887777@s.whatsapp.net".to_string();
        let (parts, r) = apply(Vec::new(), std::slice::from_ref(&a), "add", &[]);
        assert_eq!((parts.len(), r[0]["status"].clone()), (1, json!("200")));
        let (parts, r) = apply(parts, std::slice::from_ref(&a), "add", &[]);
        assert_eq!(r[0]["status"], "409");
        let (parts, _) = apply(parts, std::slice::from_ref(&a), "promote", &[]);
        assert_eq!(parts[0]["admin"], "admin");
        let (parts, _) = apply(parts, std::slice::from_ref(&a), "remove", &[]);
        assert!(parts.is_empty());
        let (_, r) = apply(Vec::new(), &["1@s.whatsapp.net".into()], "add", &[]);
        assert_eq!(r[0]["status"], "404");
    }
}
