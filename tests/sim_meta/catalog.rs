//! The account catalogue over HTTP: templates (lifecycle, webhooks, sends checked against the
//! store), flows, resumable uploads.

use super::*;

fn order_template() -> Value {
    json!({"name":"order_ready","language":"es","category":"MARKETING","components":[
        {"type":"HEADER","format":"TEXT","text":"Pedido"},
        {"type":"BODY","text":"Hola {{1}}, tu pedido {{2}} está listo.",
         "example":{"body_text":[["Ana","42"]]}},
        {"type":"FOOTER","text":"Clínica"}]})
}

/// upstream: Meta "Message templates" (create → PENDING, review → APPROVED/REJECTED,
/// `message_template_status_update`, `message_template_quality_update`); webhook shapes from
/// pywa 4.4.0 `tests/data/updates/template_status_update.json`, `template_quality_update.json`;
/// request shapes from pywa `create_template`, `get_templates`, `delete_template`,
/// `update_template`, `get_template`.
#[tokio::test]
async fn template_lifecycle_with_webhooks() {
    let mut app = App::start("vt").await;
    let sim = sim(config(&app.url)).await;
    let c = Client::new(&sim);
    let waba = MetaConfig::default().waba_id;
    let path = format!("/v25.0/{waba}/message_templates");
    // Meta's sample template is there from the start.
    let (s, v) = c.fetch(&format!("{path}?name=hello_world")).await;
    assert_eq!(s, 200);
    assert_eq!(v["data"][0]["language"], "en_US");
    assert_eq!(v["data"][0]["status"], "APPROVED");
    let (s, v) = c.call(&path, order_template()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["status"].clone(), v["category"].clone()),
        (json!("PENDING"), json!("MARKETING"))
    );
    let id = v["id"].as_str().unwrap().to_string();
    let (_, t) = c.fetch(&format!("/{id}")).await;
    assert_eq!(t["status"], "PENDING");
    let hook = app.next().await;
    assert_signed(&hook);
    let body = hook.json();
    assert_eq!(body["entry"][0]["id"], waba);
    assert_eq!(
        body["entry"][0]["changes"][0]["field"],
        "message_template_status_update"
    );
    let value = hook.value();
    assert_eq!(value["event"], "APPROVED");
    assert_eq!(value["message_template_name"], "order_ready");
    assert_eq!(value["message_template_language"], "es");
    assert_eq!(value["reason"], "NONE");
    assert_eq!(value["message_template_category"], "MARKETING");
    let (_, t) = c.fetch(&format!("/{id}?fields=status,category")).await;
    assert_eq!(
        t,
        json!({"status":"APPROVED","category":"MARKETING","id":id})
    );
    // Rejected: adjacent variables.
    let mut bad = order_template();
    bad["name"] = json!("glued");
    bad["components"][1]["text"] = json!("Hola {{1}}{{2}} listo");
    let (s, _) = c.call(&path, bad).await;
    assert_eq!(s, 200);
    let v = app.next().await.value();
    assert_eq!(
        (v["event"].clone(), v["reason"].clone()),
        (json!("REJECTED"), json!("INVALID_FORMAT"))
    );
    assert!(v["rejection_info"]["reason"].is_string());
    // Schema rejections.
    let (s, v) = c.call(&path, order_template()).await;
    assert_graph_error(s, &v, 400, 100);
    assert_eq!(
        v["error"]["error_subcode"], 2388024,
        "same name and language"
    );
    let mut no_cat = order_template();
    no_cat["name"] = json!("x");
    no_cat["category"] = json!("SPAM");
    let (s, v) = c.call(&path, no_cat).await;
    assert_graph_error(s, &v, 400, 100);
    // Filters, quality, pause, edit, delete.
    let (_, v) = c.fetch(&format!("{path}?status=REJECTED")).await;
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    let q = json!({"name":"order_ready","language":"es","quality":"YELLOW"});
    let (s, _, _) = c.post("/__harness/meta/templates", None, q).await;
    assert_eq!(s, 200);
    let v = app.next().await;
    assert_eq!(
        v.json()["entry"][0]["changes"][0]["field"],
        "message_template_quality_update"
    );
    assert_eq!(
        (
            v.value()["previous_quality_score"].clone(),
            v.value()["new_quality_score"].clone()
        ),
        (json!("GREEN"), json!("YELLOW"))
    );
    let (s, v) = c
        .call(&format!("/{id}"), json!({"category":"UTILITY"}))
        .await;
    assert_success(s, &v);
    let (_, t) = c.fetch(&format!("/{id}?fields=status,category")).await;
    assert_eq!(
        (t["status"].clone(), t["category"].clone()),
        (json!("PENDING"), json!("UTILITY"))
    );
    assert_eq!(app.next().await.value()["event"], "APPROVED");
    let (s, v) = c.call(&format!("/{id}"), json!({"category":"GIFTS"})).await;
    assert_graph_error(s, &v, 400, 100);
    let (s, v) = c.delete(&format!("{path}?name=glued"), None).await;
    assert_success(s, &v);
    let (s, v) = c.delete(&format!("{path}?name=glued"), None).await;
    assert_graph_error(s, &v, 400, 100);
    let (s, v) = c.delete(&path, None).await;
    assert_eq!(
        v["error"]["message"],
        "(#100) The parameter name is required."
    );
    assert_eq!(s, 400);
    sim.shutdown().await;
}

/// upstream: reference §2.3 (132000, 132001 HTTP 404, 132012, 132015, 132016) and Meta's
/// template-message page (components `body`/`header` with `parameters`); pricing category from
/// the template ([M-wh-status] `pricing.category`).
#[tokio::test]
async fn template_sends_checked_against_the_store() {
    let mut app = App::start("vt").await;
    let sim = sim(sent_only(&app.url)).await;
    let c = Client::new(&sim);
    let waba = MetaConfig::default().waba_id;
    let (s, _) = c
        .call(&format!("/{waba}/message_templates"), order_template())
        .await;
    assert_eq!(s, 200);
    assert_eq!(app.next().await.value()["event"], "APPROVED");
    let send = |params: Value, lang: &str| {
        json!({"messaging_product":"whatsapp","to":"16505551234","type":"template",
            "template":{"name":"order_ready","language":{"code":lang},
                "components":[{"type":"body","parameters":params}]}})
    };
    let p = |t: &str| json!({"type":"text","text":t});
    let path = format!("/{PN}/messages");
    let (s, v) = c.call(&path, send(json!([p("Ana"), p("42")]), "es")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["messages"][0]["message_status"], "accepted");
    let st = app.statuses(1).await;
    assert_eq!(st[0]["pricing"]["category"], "marketing");
    let (s, v) = c.call(&path, send(json!([p("Ana")]), "es")).await;
    assert_graph_error(s, &v, 400, 132000);
    assert_eq!(
        v["error"]["message"],
        "(#132000) Number of parameters does not match the expected number of params"
    );
    let (s, v) = c
        .call(&path, send(json!([p("Ana"), p("42")]), "en_US"))
        .await;
    assert_graph_error(s, &v, 404, 132001);
    let img = json!({"type":"image","image":{"link":"https://x/a.png"}});
    let (s, v) = c.call(&path, send(json!([p("Ana"), img]), "es")).await;
    assert_graph_error(s, &v, 400, 132012);
    for (status, code) in [("PAUSED", 132015), ("DISABLED", 132016)] {
        let body = json!({"name":"order_ready","language":"es","status":status});
        c.post("/__harness/meta/templates", None, body).await;
        let (s, v) = c.call(&path, send(json!([p("Ana"), p("42")]), "es")).await;
        assert_graph_error(s, &v, 400, code);
    }
    sim.shutdown().await;
}

/// upstream: Graph "Resumable Upload API" as pywa calls it (`create_upload_session`:
/// `POST /{app_id}/uploads?file_name&file_length&file_type`; `upload_file`: `POST
/// /{session}` with a `file_offset` header and, as Meta's page shows, `Authorization: OAuth`; `get_upload_session`: `GET /{session}`).
#[tokio::test]
async fn resumable_upload_session() {
    let (sim, c) = offline().await;
    let app = MetaConfig::default().app_id;
    let (s, v) = c
        .call(
            &format!("/v25.0/{app}/uploads?file_name=a.png&file_length=6&file_type=image/png"),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("upload:"));
    let (s, v) = c
        .call(
            &format!("/{app}/uploads?file_length=6&file_type=text/html"),
            json!({}),
        )
        .await;
    assert_graph_error(s, &v, 400, 100);
    let http = reqwest::Client::new();
    let chunk = |offset: &str, data: &'static [u8]| {
        http.post(format!("{}/v25.0/{id}", sim.base_url))
            .header("authorization", format!("OAuth {TOKEN}"))
            .header("file_offset", offset)
            .body(data)
            .send()
    };
    let v: Value = chunk("0", b"abc").await.unwrap().json().await.unwrap();
    assert!(v["h"].as_str().unwrap().starts_with("4::"), "{v}");
    let (_, v) = c.fetch(&format!("/{id}")).await;
    assert_eq!(v, json!({"id": id, "file_offset": 3}));
    let r = chunk("0", b"def").await.unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = chunk("3", b"def").await.unwrap().json().await.unwrap();
    assert!(v["h"].is_string());
    let (_, v) = c.fetch(&format!("/{id}")).await;
    assert_eq!(v["file_offset"], 6);
    sim.shutdown().await;
}

/// upstream: Meta "Flows API"; codes from pywa `pywa/errors.py` (139002 publishing, 139004
/// deleting); pywa `create_flow` (`{name, categories, flow_json?, publish?}` →
/// `{id, success, validation_errors}`), `get_flow(s)`, `publish_flow`, `delete_flow`.
#[tokio::test]
async fn flows_draft_publish_delete() {
    let (sim, c) = offline().await;
    let waba = MetaConfig::default().waba_id;
    let path = format!("/v25.0/{waba}/flows");
    let (s, v) = c
        .call(&path, json!({"name":"survey","categories":["SURVEY"]}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["success"], true);
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(v["validation_errors"][0]["error"], "MISSING_FLOW_JSON");
    let (s, v) = c
        .call(&path, json!({"name":"x","categories":["PARTY"]}))
        .await;
    assert_graph_error(s, &v, 400, 100);
    let (s, v) = c.call(&format!("/{id}/publish"), json!({})).await;
    assert_graph_error(s, &v, 400, 139002);
    let flow_json = r#"{"version":"7.1","screens":[{"id":"A","layout":{"type":"SingleColumnLayout","children":[]}}]}"#;
    let (s, v) = c
        .call(
            &path,
            json!({"name":"book","categories":["APPOINTMENT_BOOKING"],"flow_json":flow_json}),
        )
        .await;
    assert_eq!(s, 200);
    let ok = v["id"].as_str().unwrap().to_string();
    let (s, v) = c.call(&format!("/v25.0/{ok}/publish"), json!({})).await;
    assert_success(s, &v);
    let (_, f) = c.fetch(&format!("/{ok}?fields=status,json_version")).await;
    assert_eq!(
        f,
        json!({"status":"PUBLISHED","json_version":"7.1","id":ok})
    );
    let (_, list) = c.fetch(&path).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    let (s, v) = c.delete(&format!("/{ok}"), None).await;
    assert_graph_error(s, &v, 400, 139004);
    let (s, v) = c.delete(&format!("/{id}"), None).await;
    assert_success(s, &v);
    sim.shutdown().await;
}
