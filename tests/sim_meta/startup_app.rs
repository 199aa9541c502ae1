//! Issue 11's "done when": an app that, at start-up, lists its templates, checks its phone
//! number's registration and profile and sets its webhook, then sends a template with
//! parameters, runs against `harness mock meta` (started here through the same CLI parsing and
//! start-up as the command, on port 0) unchanged, over real sockets; a wrong parameter count
//! gets 132000 as from Meta.
//!
//! upstream: the calls are pywa 4.4.0 `pywa/api.py` `get_app_access_token`
//! (`GET /oauth/access_token`), `set_app_callback_url` (`POST /{app_id}/subscriptions`),
//! `get_templates`, `create_template`, `get_business_phone_number`, `get_business_profile`,
//! `send_message`; error 132000 from reference §2.3.

use clap::Parser;
use harness::cli::{Cli, Command};

use super::*;

const APP_ID: &str = "987654321098765";
const WABA: &str = "555000111222333";
const PHONE: &str = "106540352242922";

/// The app under test: its own ids and credentials, a Graph base URL, nothing else.
struct StartupApp {
    http: reqwest::Client,
    graph: String,
    token: String,
}

impl StartupApp {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(
                method.parse().unwrap(),
                format!("{}/v25.0{path}", self.graph),
            )
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    fn reminder(params: &[&str]) -> Value {
        let ps: Vec<Value> = params
            .iter()
            .map(|p| json!({"type":"text","text":p}))
            .collect();
        json!({"messaging_product":"whatsapp","to":"5215512345678","type":"template",
            "template":{"name":"appointment_reminder","language":{"code":"es_MX"},
                "components":[{"type":"body","parameters":ps}]}})
    }
}

#[tokio::test]
async fn an_app_starts_up_and_sends_a_template_against_harness_mock_meta() {
    let argv = [
        "harness",
        "mock",
        "meta",
        "--port",
        "0",
        "--token",
        "app-token",
        "--app-secret",
        SECRET,
        "--verify-token",
        "startup-vt",
        "--app-id",
        APP_ID,
        "--waba-id",
        WABA,
        "--phone-number-id",
        PHONE,
    ];
    let Command::Mock(args) = Cli::try_parse_from(argv).unwrap().command else {
        panic!("not mock")
    };
    let opts = args.into_options().unwrap();
    let (sim, banner) = harness::command::mock::start(&opts).await.unwrap();
    assert!(banner.contains(&format!("waba id: {WABA}")), "{banner}");
    let mut hooks = App::start("startup-vt").await;
    let app = StartupApp {
        http: reqwest::Client::new(),
        graph: sim.base_url.clone(),
        token: "app-token".into(),
    };

    // 1. Set the webhook, as pywa does with `callback_url`: app token, then subscriptions.
    let q = format!("/oauth/access_token?grant_type=client_credentials&client_id={APP_ID}&client_secret={SECRET}");
    let (s, tok) = app.call("GET", &q, None).await;
    assert_eq!(s, 200, "{tok}");
    let app_token = tok["access_token"].as_str().unwrap();
    let sub = format!("/{APP_ID}/subscriptions?object=whatsapp_business_account&callback_url={}&verify_token=startup-vt&fields=messages&access_token={app_token}", hooks.url);
    let (s, v) = app.call("POST", &sub, None).await;
    assert_eq!((s, v), (200, json!({"success": true})));

    // 2. List templates; create the missing one and wait for Meta's review verdict.
    let (s, list) = app
        .call(
            "GET",
            &format!("/{WABA}/message_templates?fields=name,status,language"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{list}");
    let names: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["hello_world"]);
    let create = json!({"name":"appointment_reminder","language":"es_MX","category":"UTILITY",
        "components":[{"type":"BODY","text":"Hola {{1}}, te esperamos el {{2}}.",
            "example":{"body_text":[["Ana","lunes 10:00"]]}}]});
    let (s, v) = app
        .call("POST", &format!("/{WABA}/message_templates"), Some(create))
        .await;
    assert_eq!((s, v["status"].clone()), (200, json!("PENDING")));
    let verdict = hooks.next().await;
    assert_signed(&verdict);
    assert_eq!(verdict.json()["entry"][0]["id"], WABA);
    assert_eq!(verdict.value()["event"], "APPROVED");

    // 3. Registration and profile of its number.
    let (s, n) = app
        .call(
            "GET",
            &format!("/{PHONE}?fields=status,code_verification_status"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        (n["status"].clone(), n["code_verification_status"].clone()),
        (json!("CONNECTED"), json!("VERIFIED"))
    );
    let (s, p) = app
        .call(
            "GET",
            &format!("/{PHONE}/whatsapp_business_profile?fields=about,vertical"),
            None,
        )
        .await;
    assert_eq!(
        (s, p["data"][0]["messaging_product"].clone()),
        (200, json!("whatsapp"))
    );

    // 4. The template send, and its status webhook at the registered URL.
    let (s, sent) = app
        .call(
            "POST",
            &format!("/{PHONE}/messages"),
            Some(StartupApp::reminder(&["Ana", "lunes 10:00"])),
        )
        .await;
    assert_eq!(s, 200, "{sent}");
    assert_eq!(sent["contacts"][0]["wa_id"], "5215512345678");
    let wamid = sent["messages"][0]["id"].as_str().unwrap().to_string();
    let status = hooks.next().await;
    assert_signed(&status);
    let st = &status.value()["statuses"][0];
    assert_eq!(
        (st["id"].as_str(), st["pricing"]["category"].as_str()),
        (Some(wamid.as_str()), Some("utility"))
    );

    // 5. A wrong parameter count: 132000, as from Meta.
    let (s, e) = app
        .call(
            "POST",
            &format!("/{PHONE}/messages"),
            Some(StartupApp::reminder(&["Ana"])),
        )
        .await;
    assert_graph_error(s, &e, 400, 132000);
    assert_eq!(
        e["error"]["error_data"]["details"],
        "body: number of localizable_params (1) does not match the expected number of params (2)"
    );
    sim.shutdown().await;
}
