//! The group router and a group conversation, with the webhooks checked.
//! upstream: evolution-api 2.3.6 src/api/routes/group.router.ts, src/api/abstract/abstract.router.ts
//! (groupValidate, inviteCodeValidate, getParticipantsValidate), whatsapp.baileys.service.ts
//! (createGroup, updateGParticipant, findParticipants, inviteCode, groups.upsert and
//! group-participants.update handlers)

use harness::sim::evolution::SeedInstance;
use serde_json::json;

use super::support::*;

const ANA: &str = "5511988887777";
const BETO: &str = "5511977776666";
const GONE: &str = "5511900000000";

// issue 11 done-when: create group, add participant, send to the group, receive a group message
// via inject, read the participants, with the webhooks checked.
#[tokio::test]
async fn a_group_conversation_with_its_webhooks() {
    let hook = Receiver::start().await;
    let mut cfg = config(vec![SeedInstance::open("a", "TA", Some(&hook.url))]);
    cfg.unregistered_numbers = vec![GONE.into()];
    let sim = start(cfg).await;
    let api = Api::new(&sim);
    let create = json!({"subject": "Turnos", "participants": [ANA, GONE], "description": "Citas"});
    let (s, g) = api
        .call("POST", "/group/create/a", Some("TA"), Some(create))
        .await;
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_str().unwrap().to_string();
    assert!(gid.starts_with("120363") && gid.ends_with("@g.us"), "{gid}");
    assert_eq!(
        g["participants"].as_array().map(Vec::len),
        Some(2),
        "owner + Ana; GONE is not on WhatsApp"
    );
    let up = hook.wait_event("groups.upsert").await;
    assert_eq!(up.body["data"][0]["subject"], "Turnos");

    let add = json!({"groupJid": gid, "action": "add", "participants": [BETO]});
    let (s, b) = api
        .call("POST", "/group/updateParticipant/a", Some("TA"), Some(add))
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["updateParticipants"][0]["status"], "200");
    let pu = hook.wait_event("group-participants.update").await;
    assert_eq!(pu.body["data"]["action"], "add");
    assert_eq!(
        pu.body["data"]["participants"][0],
        format!("{BETO}@s.whatsapp.net")
    );

    let text = json!({"number": gid, "text": "Mañana no hay turnos"});
    let (s, sent) = api
        .call("POST", "/message/sendText/a", Some("TA"), Some(text))
        .await;
    assert_eq!(s, 201, "{sent}");
    assert_eq!(sent["key"]["remoteJid"], gid.as_str());
    hook.wait(|h| {
        h.body["event"] == "send.message" && h.body["data"]["key"]["remoteJid"] == gid.as_str()
    })
    .await;

    // upstream: sendMessageWithTyping reads the DTO's `mentionsEveryOne` (the schema's
    // `everyOne` is validated but not read): every participant's JID mentioned
    let all = json!({"number": gid, "text": "Aviso", "mentionsEveryOne": true});
    let (s, sent) = api
        .call("POST", "/message/sendText/a", Some("TA"), Some(all))
        .await;
    assert_eq!(s, 201, "{sent}");
    assert_eq!(
        sent["contextInfo"]["mentionedJid"].as_array().map(Vec::len),
        Some(3)
    );
    assert!(sent["contextInfo"]
        .get("ephemeralSettingTimestamp")
        .is_none());

    let inbound =
        json!({"from": BETO, "name": "Beto", "text": "Gracias", "instance": "a", "group": gid});
    let (s, b) = api
        .call("POST", "/__harness/inbound", None, Some(inbound))
        .await;
    assert_eq!(s, 200, "{b}");
    let got = hook.wait(|h| h.body["event"] == "messages.upsert").await;
    assert_eq!(got.body["data"]["key"]["remoteJid"], gid.as_str());
    assert_eq!(
        got.body["data"]["key"]["participant"],
        format!("{BETO}@s.whatsapp.net")
    );

    let path = format!("/group/participants/a?groupJid={gid}");
    let (s, p) = api.call("GET", &path, Some("TA"), None).await;
    assert_eq!(s, 200);
    let ids: Vec<&str> = p["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 3);
    let beto = p["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == format!("{BETO}@s.whatsapp.net"))
        .unwrap();
    assert_eq!(beto["name"], "Beto");
}

#[tokio::test]
async fn group_inputs_invites_and_settings() {
    let sim = start(config(vec![SeedInstance::open("a", "TA", None)])).await;
    let api = Api::new(&sim);
    let (s, b) = api
        .call("GET", "/group/participants/a", Some("TA"), None)
        .await;
    assert_eq!(
        (s, msg(&b)),
        (
            400,
            &json!([
                "The group id needs to be informed in the query",
                "ex: \"groupJid=120362@g.us\""
            ])
        )
    );
    let (s, b) = api
        .call("GET", "/group/fetchAllGroups/a", Some("TA"), None)
        .await;
    assert_eq!(
        (s, msg(&b)),
        (
            400,
            &json!(["The getParticipants needs to be informed in the query"])
        )
    );
    let (s, b) = api
        .call(
            "GET",
            "/group/findGroupInfos/a?groupJid=120363000000000000",
            Some("TA"),
            None,
        )
        .await;
    assert_eq!(
        (s, msg(&b)),
        (
            404,
            &json!(["Error fetching group", "Error: item-not-found"])
        )
    );
    let (s, b) = api
        .call(
            "POST",
            "/group/create/a",
            Some("TA"),
            Some(json!({"subject": "x"})),
        )
        .await;
    assert_eq!(
        (s, msg(&b)),
        (
            400,
            &json!([["instance requires property \"participants\""]])
        )
    );
    let (_, g) = api
        .call(
            "POST",
            "/group/create/a",
            Some("TA"),
            Some(json!({"subject": "G", "participants": [ANA]})),
        )
        .await;
    let gid = g["id"].as_str().unwrap().to_string();
    // `groupJid` without `@g.us` gets it added.
    let bare = gid.trim_end_matches("@g.us");
    let (s, c) = api
        .call(
            "GET",
            &format!("/group/inviteCode/a?groupJid={bare}"),
            Some("TA"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{c}");
    let code = c["inviteCode"].as_str().unwrap().to_string();
    assert_eq!(c["inviteUrl"], format!("https://chat.whatsapp.com/{code}"));
    let (s, info) = api
        .call(
            "GET",
            &format!("/group/inviteInfo/a?inviteCode={code}"),
            Some("TA"),
            None,
        )
        .await;
    assert_eq!((s, info["id"].clone()), (200, json!(gid)));
    let (s, r) = api
        .call(
            "POST",
            "/group/revokeInviteCode/a",
            Some("TA"),
            Some(json!({"groupJid": gid})),
        )
        .await;
    assert_eq!((s, r["revoked"].clone()), (201, json!(true)));
    assert_ne!(r["inviteCode"], code.as_str());
    let set = json!({"groupJid": gid, "action": "announcement"});
    let (s, _) = api
        .call("POST", "/group/updateSetting/a", Some("TA"), Some(set))
        .await;
    assert_eq!(s, 201);
    let eph = json!({"groupJid": gid, "expiration": 604800});
    let (s, b) = api
        .call("POST", "/group/toggleEphemeral/a", Some("TA"), Some(eph))
        .await;
    assert_eq!((s, b), (201, json!({"success": true})));
    let (_, all) = api
        .call(
            "GET",
            "/group/fetchAllGroups/a?getParticipants=false",
            Some("TA"),
            None,
        )
        .await;
    assert_eq!(all[0]["announce"], true);
    assert!(all[0].get("participants").is_none());
    let (s, b) = api
        .call(
            "DELETE",
            &format!("/group/leaveGroup/a?groupJid={gid}"),
            Some("TA"),
            None,
        )
        .await;
    assert_eq!((s, b), (200, json!({"groupJid": gid, "leave": true})));
}
