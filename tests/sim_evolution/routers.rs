//! The integration and small core routers answer as the 2.3.6 server with `.env.example`.

use harness::sim::evolution::SeedInstance;
use serde_json::{json, Value};

use super::support::*;

async fn one() -> (harness::sim::SimHandle, Api) {
    let sim = start(config(vec![SeedInstance::open("a", "TA", None)])).await;
    let api = Api::new(&sim);
    (sim, api)
}

// upstream: evolution-api 2.3.6 src/api/integrations/chatbot/base-chatbot.controller.ts
// (`${integrationName} is disabled`) and chatwoot/controllers/chatwoot.controller.ts
#[tokio::test]
async fn disabled_chatbots_answer_400_after_their_schema() {
    let (_sim, api) = one().await;
    let (s, b) = api.call("GET", "/typebot/find/a", Some("TA"), None).await;
    assert_eq!((s, msg(&b).clone()), (400, json!(["Typebot is disabled"])));
    let (s, b) = api
        .call("POST", "/chatwoot/set/a", Some("TA"), Some(json!({})))
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        msg(&b)[0][0],
        "instance requires property \"enabled\"",
        "{b}"
    );
    let (s, b) = api
        .call("DELETE", "/openai/creds/x/a", Some("TA"), None)
        .await;
    assert_eq!((s, msg(&b).clone()), (400, json!(["Openai is disabled"])));
    // The guards come first.
    let (s, _) = api.call("GET", "/dify/find/a", Some("bad"), None).await;
    assert_eq!(s, 401);
}

// upstream: evolution-api 2.3.6 src/api/integrations/event/event.controller.ts (set/get return
// undefined when disabled), pusher/pusher.controller.ts (set stores regardless)
#[tokio::test]
async fn event_sinks_answer_empty_and_pusher_stores() {
    let (_sim, api) = one().await;
    let body = json!({"websocket": {"enabled": true, "events": []}});
    let (s, b) = api
        .call("POST", "/websocket/set/a", Some("TA"), Some(body))
        .await;
    assert_eq!((s, b), (201, Value::String(String::new())));
    let bad = json!({"rabbitmq": {"enabled": "yes"}});
    let (s, b) = api
        .call("POST", "/rabbitmq/set/a", Some("TA"), Some(bad))
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        msg(&b)[0][0],
        "rabbitmq.enabled is not of a type(s) boolean"
    );
    let pusher = json!({"pusher": {"enabled": true, "appId": "1", "key": "k", "secret": "s",
                                   "cluster": "eu", "useTLS": true, "events": []}});
    let (s, b) = api
        .call("POST", "/pusher/set/a", Some("TA"), Some(pusher))
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["cluster"], "eu");
    assert_eq!(b["events"].as_array().map(Vec::len), Some(31));
}

// upstream: evolution-api 2.3.6 src/api/integrations/chatbot/evolutionBot (integrationEnabled = true)
#[tokio::test]
async fn evolution_bots_are_stored() {
    let (_sim, api) = one().await;
    let bot = json!({"enabled": true, "apiUrl": "http://127.0.0.1:9/bot", "triggerType": "all"});
    let (s, b) = api
        .call("POST", "/evolutionBot/create/a", Some("TA"), Some(bot))
        .await;
    assert_eq!(s, 201, "{b}");
    let id = b["id"].as_str().unwrap().to_string();
    let (_, list) = api
        .call("GET", "/evolutionBot/find/a", Some("TA"), None)
        .await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let path = format!("/evolutionBot/fetch/{id}/a");
    let (s, one) = api.call("GET", &path, Some("TA"), None).await;
    assert_eq!(
        (s, one["apiUrl"].clone()),
        (200, json!("http://127.0.0.1:9/bot"))
    );
    let path = format!("/evolutionBot/delete/{id}/a");
    let (s, b) = api.call("DELETE", &path, Some("TA"), None).await;
    assert_eq!((s, b), (200, json!({"bot": {"id": id}})));
}

// upstream: evolution-api 2.3.6 src/api/services/settings.service.ts, proxy.controller.ts,
// whatsapp.baileys.service.ts (offerCall, fetchCatalog), s3/services/s3.service.ts
#[tokio::test]
async fn small_core_routers() {
    let (_sim, api) = one().await;
    let set = json!({"rejectCall": true, "groupsIgnore": false, "alwaysOnline": false,
                     "readMessages": true, "readStatus": false, "syncFullHistory": false});
    let (s, b) = api
        .call("POST", "/settings/set/a", Some("TA"), Some(set))
        .await;
    assert_eq!(
        (s, b["settings"]["instanceName"].clone()),
        (201, json!("a"))
    );
    let (_, b) = api.call("GET", "/settings/find/a", Some("TA"), None).await;
    assert_eq!(
        (b["rejectCall"].clone(), b["readMessages"].clone()),
        (json!(true), json!(true))
    );
    let (s, b) = api
        .call("POST", "/settings/set/a", Some("TA"), Some(json!({})))
        .await;
    assert_eq!(s, 400);
    assert_eq!(msg(&b)[0][0], "instance requires property \"rejectCall\"");
    let (s, b) = api.call("GET", "/proxy/find/a", Some("TA"), None).await;
    assert_eq!((s, b), (200, Value::Null));
    let call = json!({"number": "5511988887777", "callDuration": 5});
    let (s, b) = api
        .call("POST", "/call/offer/a", Some("TA"), Some(call))
        .await;
    assert_eq!(s, 201);
    assert_eq!(b["id"], "123");
    assert_eq!(b["jid"], "5511988887777@s.whatsapp.net");
    let cat = json!({"number": "5511988887777"});
    let (s, b) = api
        .call("POST", "/business/getCatalog/a", Some("TA"), Some(cat))
        .await;
    assert_eq!((s, b["isBusiness"].clone()), (200, json!(false)));
    let (s, b) = api
        .call("POST", "/s3/getMedia/a", Some("TA"), Some(json!({})))
        .await;
    assert_eq!((s, msg(&b).clone()), (400, json!(["Media not found"])));
    let (s, b) = api.call("GET", "/metrics", None, None).await;
    assert_eq!(s, 200);
    assert!(b
        .as_str()
        .unwrap()
        .contains("evolution_instance_up{instance=\"a\""));
}
