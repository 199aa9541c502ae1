//! Phone-number account operations over HTTP: registration and two-step PIN, business profile,
//! settings, conversational automation, block users, QR codes, the WABA node and the
//! per-number webhook override (with a trailing slash, as pywa sends it).

use super::*;

/// upstream: Meta "Registration" / "Phone numbers" (request_code, verify_code), shapes as
/// pywa 4.4.0 `pywa/api.py` `register_phone_number`, `deregister_phone_number`,
/// `request_verification_code`, `verify_phone_number`; 133010 in reference §2.3.
#[tokio::test]
async fn registration_ladder_and_two_step_pin() {
    let app = App::start("vt").await;
    let sim = sim(sent_only(&app.url)).await;
    let c = Client::new(&sim);
    let send = format!("/v25.0/{PN}/messages");
    let (s, v) = c.call(&format!("/v25.0/{PN}/deregister"), json!({})).await;
    assert_eq!((s, v.clone()), (200, json!({"success": true})));
    let (s, v) = c.call(&send, text_to("16505551234", "hi")).await;
    assert_graph_error(s, &v, 400, 133010);
    let (_, n) = c.fetch(&format!("/{PN}?fields=status")).await;
    assert_eq!(n["status"], "DISCONNECTED");
    // PIN rules: 6 digits, messaging_product required.
    let reg = format!("/{PN}/register");
    let (s, v) = c
        .call(&reg, json!({"messaging_product":"whatsapp","pin":"12a"}))
        .await;
    assert_graph_error(s, &v, 400, 100);
    let (s, v) = c.call(&reg, json!({"pin":"123456"})).await;
    assert_graph_error(s, &v, 400, 100);
    let (s, v) = c
        .call(&reg, json!({"messaging_product":"whatsapp","pin":"123456"}))
        .await;
    assert_success(s, &v);
    let (_, n) = c.fetch(&format!("/{PN}")).await;
    assert_eq!(
        (n["status"].clone(), n["is_pin_enabled"].clone()),
        (json!("CONNECTED"), json!(true))
    );
    // The PIN set at registration is now the two-step PIN: another one is a mismatch.
    let (s, v) = c
        .call(&reg, json!({"messaging_product":"whatsapp","pin":"999999"}))
        .await;
    assert_graph_error(s, &v, 400, 133005);
    // Two-step: POST /{phone-number-id} {pin}.
    let (s, v) = c.call(&format!("/{PN}"), json!({"pin":"654321"})).await;
    assert_success(s, &v);
    let (s, v) = c.call(&format!("/{PN}"), json!({"pin":"65"})).await;
    assert_graph_error(s, &v, 400, 100);
    // Verification code: request, read what the SMS carried, verify.
    let request = |method: &str| format!("/{PN}/request_code?code_method={method}&language=en");
    let (s, v) = c.call(&request("SMS"), json!({})).await;
    assert_success(s, &v);
    let (s, v) = c.call(&request("FAX"), json!({})).await;
    assert_graph_error(s, &v, 400, 100);
    let (s, v) = c.call(&request("SMS"), json!({})).await;
    assert_eq!(s, 200, "{v}");
    let (_, code) = c
        .get(
            &format!("/__harness/meta/verification_code?phone_number_id={PN}"),
            None,
        )
        .await;
    let code = code["code"].as_str().unwrap().to_string();
    let (s, v) = c
        .call(&format!("/{PN}/verify_code?code=xx{code}"), json!({}))
        .await;
    assert_graph_error(s, &v, 400, 136025);
    let (s, v) = c
        .call(&format!("/{PN}/verify_code?code={code}"), json!({}))
        .await;
    assert_success(s, &v);
    let (s, _) = c.call(&send, text_to("16505551234", "hi")).await;
    assert_eq!(s, 200);
    sim.shutdown().await;
}

/// upstream: Meta "Business profiles", "Configure call settings" (`POST /{id}/settings`
/// `calling.status`), "Conversational components";
/// pywa `get_business_profile`/`update_business_profile`, `get_business_phone_number_settings`/
/// `update_business_phone_number_settings`, `update_conversational_automation`.
#[tokio::test]
async fn business_profile_settings_and_automation() {
    let (sim, c) = offline().await;
    let prof = format!("/v25.0/{PN}/whatsapp_business_profile");
    let body = json!({"messaging_product":"whatsapp","about":"Open 9-5","vertical":"HEALTH",
        "websites":["https://clinic.example"],"email":"a@clinic.example"});
    let (s, v) = c.call(&prof, body).await;
    assert_success(s, &v);
    let (s, v) = c.fetch(&format!("{prof}?fields=about,vertical")).await;
    assert_eq!(s, 200);
    assert_eq!(v["data"][0]["about"], "Open 9-5");
    assert_eq!(v["data"][0]["vertical"], "HEALTH");
    assert_eq!(v["data"][0]["messaging_product"], "whatsapp");
    assert!(v["data"][0].get("email").is_none(), "fields filter: {v}");
    for bad in [
        json!({"messaging_product":"whatsapp","about":"x".repeat(140)}),
        json!({"messaging_product":"whatsapp","vertical":"SPACESHIPS"}),
        json!({"about":"no product"}),
    ] {
        let (s, v) = c.call(&prof, bad).await;
        assert_graph_error(s, &v, 400, 100);
    }
    let settings = format!("/{PN}/settings");
    let (s, v) = c
        .call(&settings, json!({"calling":{"status":"ENABLED"}}))
        .await;
    assert_success(s, &v);
    let (_, v) = c.fetch(&settings).await;
    assert_eq!(v["calling"]["status"], "ENABLED");
    let (s, v) = c.call(&settings, json!({"teleport":{}})).await;
    assert_graph_error(s, &v, 400, 100);
    let (s, v) = c
        .call(&settings, json!({"calling":{"status":"MAYBE"}}))
        .await;
    assert_graph_error(s, &v, 400, 100);
    let auto = format!("/{PN}/conversational_automation");
    let cmds = json!([{"command_name":"book","command_description":"Book a visit"}]);
    let (s, v) = c
        .call(&auto, json!({"prompts":["Book a visit"],"commands":cmds}))
        .await;
    assert_success(s, &v);
    let (_, n) = c
        .fetch(&format!("/{PN}?fields=conversational_automation"))
        .await;
    assert_eq!(
        n["conversational_automation"]["prompts"],
        json!(["Book a visit"])
    );
    assert_eq!(n["conversational_automation"]["commands"], cmds);
    let (s, v) = c
        .call(&auto, json!({"prompts":["1","2","3","4","5"]}))
        .await;
    assert_graph_error(s, &v, 400, 100);
    sim.shutdown().await;
}

/// upstream: Meta "Block users" (only users who messaged in the last 24 h); pywa `block_users`,
/// `unblock_users`, `get_blocked_users` (response shapes in their docstrings).
#[tokio::test]
async fn block_users_only_recent_customers() {
    let app = App::start("vt").await;
    let sim = sim(sent_only(&app.url)).await;
    let c = Client::new(&sim);
    let path = format!("/{PN}/block_users");
    let users = |u: &str| json!({"messaging_product":"whatsapp","block_users":[{"user":u}]});
    let (s, v) = c.call(&path, users("16505550000")).await;
    assert_graph_error(s, &v, 400, 139100);
    let (s, v) = c.call(&path, json!({"messaging_product":"whatsapp"})).await;
    assert_graph_error(s, &v, 400, 100);
    c.inbound(json!({"from":"16505551234","text":"hi"})).await;
    let (s, v) = c.call(&path, users("+1 650 555 1234")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["block_users"]["added_users"][0],
        json!({"input":"+1 650 555 1234","wa_id":"16505551234"})
    );
    let (_, list) = c.fetch(&path).await;
    assert_eq!(
        list["data"],
        json!([{"messaging_product":"whatsapp","wa_id":"16505551234"}])
    );
    // Meta drops a blocked user's messages.
    let (s, _, _) = c
        .post(
            "/__harness/inbound",
            None,
            json!({"from":"16505551234","text":"hey"}),
        )
        .await;
    assert_eq!(s, 409);
    let (_, v) = c.delete(&path, Some(users("16505551234"))).await;
    assert_eq!(v["block_users"]["removed_users"][0]["wa_id"], "16505551234");
    let (_, list) = c.fetch(&path).await;
    assert_eq!(list["data"], json!([]));
    sim.shutdown().await;
}

/// upstream: Meta "QR codes" (`message_qrdls`; prefilled_message ≤ 140, PNG|SVG); pywa
/// `create_qr_code`, `get_qr_code(s)`, `update_qr_code`, `delete_qr_code`.
#[tokio::test]
async fn qr_codes_crud_with_image() {
    let (sim, c) = offline().await;
    let path = format!("/v25.0/{PN}/message_qrdls");
    let (s, v) = c
        .call(
            &path,
            json!({"prefilled_message":"Book","generate_qr_image":"PNG"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let code = v["code"].as_str().unwrap().to_string();
    assert_eq!(v["deep_link_url"], format!("https://wa.me/message/{code}"));
    let img = reqwest::get(v["qr_image_url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(img.headers()["content-type"], "image/png");
    let png = img.bytes().await.unwrap();
    let decoded = image_link(&png);
    assert_eq!(decoded, format!("https://wa.me/message/{code}"));
    let (s, v) = c
        .call(&path, json!({"prefilled_message":"x".repeat(141)}))
        .await;
    assert_graph_error(s, &v, 400, 100);
    let (s, v) = c
        .call(&path, json!({"code":code,"prefilled_message":"Cancel"}))
        .await;
    assert_eq!((s, v["prefilled_message"].clone()), (200, json!("Cancel")));
    let (_, v) = c.fetch(&format!("{path}/{code}")).await;
    assert_eq!(v["data"][0]["prefilled_message"], "Cancel");
    let (_, v) = c.fetch(&path).await;
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    let (s, v) = c.delete(&format!("{path}/{code}"), None).await;
    assert_success(s, &v);
    let (s, v) = c.fetch(&format!("{path}/{code}")).await;
    assert_graph_error(s, &v, 400, 100);
    sim.shutdown().await;
}

fn image_link(png: &[u8]) -> String {
    let img = image::load_from_memory(png).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    grids[0].decode().unwrap().1
}

/// upstream: pywa `get_waba_info` (`GET /{waba_id}`), `set_phone_alternate_callback_url`
/// (`POST /{phone_id}/` with `webhook_configuration`, trailing slash included) and
/// `delete_phone_alternate_callback_url` (empty `override_callback_uri`).
#[tokio::test]
async fn waba_node_and_phone_webhook_override() {
    let mut own = App::start("own-vt").await;
    let sim = sim(sent_only("http://127.0.0.1:9/unreachable")).await;
    let c = Client::new(&sim);
    let waba = MetaConfig::default().waba_id;
    let (s, v) = c
        .fetch(&format!("/v25.0/{waba}?fields=name,currency"))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["id"].clone(), v["currency"].clone()),
        (json!(waba), json!("USD"))
    );
    assert!(v.get("timezone_id").is_none());
    let (s, v) = c.get(&format!("/{waba}"), Some("nope")).await;
    assert_graph_error(s, &v, 401, 190);
    let cfg = |uri: &str, vt: &str| json!({"webhook_configuration":{"override_callback_uri":uri,"verify_token":vt}});
    let (s, v) = c
        .call(&format!("/v25.0/{PN}/"), cfg(&own.url, "wrong"))
        .await;
    assert_graph_error(s, &v, 400, 2200);
    let (s, v) = c
        .call(&format!("/v25.0/{PN}/"), cfg(&own.url, "own-vt"))
        .await;
    assert_success(s, &v);
    c.inbound(json!({"from":"16505551234","text":"via override"}))
        .await;
    assert_eq!(
        own.next().await.value()["messages"][0]["text"]["body"],
        "via override"
    );
    let (s, _) = c.call(&format!("/{PN}/"), cfg("", "")).await;
    assert_eq!(s, 200);
    let (s, _, _) = c
        .post(
            "/__harness/inbound",
            None,
            json!({"from":"16505551234","text":"x"}),
        )
        .await;
    assert_eq!(s, 200);
    sim.shutdown().await;
}
