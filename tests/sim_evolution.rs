//! The Evolution API v2 simulator over real HTTP: every endpoint's status codes, shapes and
//! error bodies; QR PNGs decoded; webhooks received by a real receiver; faults; tenant
//! isolation; the journal bound.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use base64::Engine;
use harness::sim::evolution::{self, EvolutionConfig, SeedInstance};
use harness::sim::webhook::RetryPolicy;
use harness::sim::SimHandle;
use serde_json::{json, Value};
use tokio::net::TcpListener;

const KEY: &str = "GLOBAL-KEY";

/// One webhook POST as received.
#[derive(Debug, Clone)]
struct Hit {
    path: String,
    headers: HeaderMap,
    body: Value,
}

/// A webhook receiver on port 0 that fails the first `fail_first` requests with 500.
#[derive(Clone)]
struct Receiver {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

#[derive(Clone)]
struct RecvState {
    hits: Arc<Mutex<Vec<Hit>>>,
    fail_first: Arc<Mutex<usize>>,
    fail_status: StatusCode,
}

async fn receive(
    State(s): State<RecvState>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    {
        let mut left = s.fail_first.lock().unwrap();
        if *left > 0 {
            *left -= 1;
            return s.fail_status;
        }
    }
    let body = serde_json::from_str(&body).unwrap_or(Value::String(body));
    s.hits.lock().unwrap().push(Hit {
        path: uri.path().to_string(),
        headers,
        body,
    });
    StatusCode::OK
}

impl Receiver {
    async fn start() -> Self {
        Self::failing(0, StatusCode::INTERNAL_SERVER_ERROR).await
    }

    async fn failing(fail_first: usize, fail_status: StatusCode) -> Self {
        let hits = Arc::new(Mutex::new(Vec::new()));
        let state = RecvState {
            hits: hits.clone(),
            fail_first: Arc::new(Mutex::new(fail_first)),
            fail_status,
        };
        let app = axum::Router::new()
            .fallback(axum::routing::post(receive))
            .with_state(state);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, hits }
    }

    /// Waits (up to 5 s) for a hit matching `pred`.
    async fn wait(&self, pred: impl Fn(&Hit) -> bool) -> Hit {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(h) = self.hits.lock().unwrap().iter().find(|h| pred(h)) {
                return h.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no matching webhook; got {:?}",
                self.events()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn wait_event(&self, event: &str) -> Hit {
        self.wait(|h| h.body["event"] == event).await
    }

    fn events(&self) -> Vec<String> {
        let hits = self.hits.lock().unwrap();
        hits.iter()
            .map(|h| h.body["event"].as_str().unwrap_or("?").to_string())
            .collect()
    }
}

fn config(instances: Vec<SeedInstance>) -> EvolutionConfig {
    EvolutionConfig {
        api_key: KEY.into(),
        instances,
        ack_delivered_after: Duration::from_millis(20),
        ack_read_after: Duration::from_millis(40),
        webhook_retry: RetryPolicy {
            base_delay: Duration::from_millis(10),
            no_retry_statuses: vec![400, 401, 403, 404, 422],
            ..RetryPolicy::default()
        },
        ..EvolutionConfig::default()
    }
}

async fn start(config: EvolutionConfig) -> SimHandle {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    evolution::start(config, listener).await.unwrap()
}

/// A small client: method, path, apikey, body → (status, JSON).
struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    fn new(sim: &SimHandle) -> Self {
        Self {
            base: sim.base_url.clone(),
            http: reqwest::Client::new(),
        }
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(k) = key {
            req = req.header("apikey", k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

fn msg(body: &Value) -> &Value {
    &body["response"]["message"]
}

fn decode_qr(data_url: &str) -> String {
    let b64 = data_url
        .strip_prefix("data:image/png;base64,")
        .expect("PNG data URL");
    let png = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
        .unwrap()
        .to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    grids[0].decode().unwrap().1
}

#[tokio::test]
async fn info_verify_creds_and_unknown_routes() {
    let sim = start(config(vec![])).await;
    let api = Api::new(&sim);
    let (s, b) = api.call("GET", "/", None, None).await;
    assert_eq!(s, 200);
    assert_eq!(b["message"], "Welcome to the Evolution API, it is working!");
    assert_eq!(b["version"], "2.3.6");
    assert_eq!(b["clientName"], "evolution");
    assert_eq!(
        api.call("POST", "/verify-creds", Some(KEY), None).await.0,
        200
    );
    assert_eq!(
        api.call("POST", "/verify-creds", Some("x"), None).await.0,
        401
    );
    let (s, b) = api
        .call("POST", "/chat/checkIsWhatsappNumber/foo", Some(KEY), None)
        .await;
    assert_eq!(s, 404);
    assert_eq!(
        b,
        json!({"status":404,"error":"Not Found","response":{"message":["Cannot POST /chat/checkIsWhatsappNumber/foo"]}})
    );
    let (s, b) = api
        .call("GET", "/message/sendText/foo", Some(KEY), None)
        .await;
    assert_eq!(s, 404);
    assert_eq!(msg(&b), &json!(["Cannot GET /message/sendText/foo"]));
    sim.shutdown().await;
}

#[tokio::test]
async fn create_follows_the_guard_order_and_validates() {
    let sim = start(config(vec![])).await;
    let api = Api::new(&sim);
    let body = json!({"instanceName": "foo", "integration": "WHATSAPP-BAILEYS"});
    let (s, b) = api
        .call("POST", "/instance/create", None, Some(body.clone()))
        .await;
    assert_eq!(s, 401);
    assert_eq!(
        b,
        json!({"status":401,"error":"Unauthorized","response":{"message":"Unauthorized"}})
    );
    let (s, b) = api
        .call("POST", "/instance/create", Some(KEY), Some(body.clone()))
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["instance"]["instanceName"], "foo");
    assert_eq!(b["instance"]["status"], "close");
    assert_eq!(b["instance"]["integration"], "WHATSAPP-BAILEYS");
    let hash = b["hash"].as_str().unwrap();
    assert_eq!(hash.len(), 36);
    assert_eq!(hash, hash.to_uppercase());
    assert_eq!(b["webhook"], json!({}));
    assert_eq!(b["settings"]["rejectCall"], false);
    assert!(b.get("qrcode").is_none());
    // Name taken → 403 even without a key.
    let (s, b) = api.call("POST", "/instance/create", None, Some(body)).await;
    assert_eq!(s, 403);
    assert_eq!(msg(&b), &json!(["This name \"foo\" is already in use."]));
    // An instance token cannot create.
    let other = json!({"instanceName": "bar", "integration": "WHATSAPP-BAILEYS"});
    assert_eq!(
        api.call("POST", "/instance/create", Some(hash), Some(other))
            .await
            .0,
        401
    );
    let (s, b) = api
        .call(
            "POST",
            "/instance/create",
            Some(KEY),
            Some(json!({"instanceName": "bar"})),
        )
        .await;
    assert_eq!((s, msg(&b)), (400, &json!(["Invalid integration"])));
    let (s, b) = api
        .call(
            "POST",
            "/instance/create",
            Some(KEY),
            Some(json!({"integration": "EVOLUTION"})),
        )
        .await;
    assert_eq!(
        (s, msg(&b)),
        (403, &json!(["This name \"undefined\" is already in use."]))
    );
    let business = json!({"instanceName": "biz", "integration": "WHATSAPP-BUSINESS"});
    let (s, b) = api
        .call("POST", "/instance/create", Some(KEY), Some(business))
        .await;
    assert_eq!((s, msg(&b)), (400, &json!(["token is required"])));
    let (s, b) = api
        .call(
            "POST",
            "/instance/create",
            Some(KEY),
            Some(json!({"instanceName": "ev", "integration": "EVOLUTION", "token": "TEV"})),
        )
        .await;
    assert_eq!(
        (s, &b["instance"]["status"], &b["hash"]),
        (201, &json!("open"), &json!("TEV"))
    );
    // Invalid JSON → 400 from the body parser.
    let resp = api
        .http
        .post(format!("{}/instance/create", api.base))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    sim.shutdown().await;
}

#[tokio::test]
async fn qr_pairing_lifecycle_with_webhooks() {
    let hook = Receiver::start().await;
    let mut cfg = config(vec![]);
    cfg.qr_refresh = Duration::from_millis(150);
    let sim = start(cfg).await;
    let api = Api::new(&sim);
    let create = json!({"instanceName": "clinic", "integration": "WHATSAPP-BAILEYS", "qrcode": true,
                        "webhook": {"url": hook.url, "byEvents": false, "events": []}});
    let (s, b) = api
        .call("POST", "/instance/create", Some(KEY), Some(create))
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["instance"]["status"], "connecting");
    assert_eq!(b["webhook"]["webhookUrl"], hook.url.as_str());
    let first_code = b["qrcode"]["code"].as_str().unwrap().to_string();
    assert_eq!(b["qrcode"]["count"], 1);
    assert_eq!(
        decode_qr(b["qrcode"]["base64"].as_str().unwrap()),
        first_code
    );
    let token = b["hash"].as_str().unwrap().to_string();

    let (s, b) = api
        .call(
            "GET",
            "/instance/connectionState/clinic",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (s, b),
        (
            200,
            json!({"instance": {"instanceName": "clinic", "state": "connecting"}})
        )
    );
    // The QR refreshes: a new code, a higher count, a qrcode.updated webhook.
    let refreshed = hook
        .wait(|h| {
            h.body["event"] == "qrcode.updated"
                && h.body["data"]["qrcode"]["code"] != first_code.as_str()
        })
        .await;
    let (s, b) = api
        .call("GET", "/instance/connect/clinic", Some(&token), None)
        .await;
    assert_eq!(s, 200);
    assert!(b["count"].as_u64().unwrap() >= 2, "{b}");
    assert_ne!(b["code"], first_code.as_str());
    assert_eq!(
        decode_qr(b["base64"].as_str().unwrap()),
        b["code"].as_str().unwrap()
    );
    assert!(refreshed.body["data"]["qrcode"].get("count").is_none());
    assert_eq!(refreshed.body["instance"], "clinic");

    let (s, b) = api
        .call(
            "POST",
            "/__harness/instances/clinic/pair",
            None,
            Some(json!({"number": "5511911112222", "name": "Clinica"})),
        )
        .await;
    assert_eq!((s, &b["instance"]["state"]), (200, &json!("open")));
    let open = hook
        .wait(|h| h.body["event"] == "connection.update" && h.body["data"]["state"] == "open")
        .await;
    assert_eq!(open.body["data"]["wuid"], "5511911112222@s.whatsapp.net");
    assert_eq!(open.body["sender"], "5511911112222@s.whatsapp.net");
    let (_, b) = api
        .call("GET", "/instance/connect/clinic", Some(&token), None)
        .await;
    assert_eq!(
        b,
        json!({"instance": {"instanceName": "clinic", "state": "open"}})
    );

    let (s, b) = api
        .call("DELETE", "/instance/logout/clinic", Some(&token), None)
        .await;
    assert_eq!(
        (s, b),
        (
            200,
            json!({"status":"SUCCESS","error":false,"response":{"message":"Instance logged out"}})
        )
    );
    hook.wait(|h| h.body["event"] == "connection.update" && h.body["data"]["state"] == "close")
        .await;
    hook.wait_event("logout.instance").await;
    let (s, b) = api
        .call("DELETE", "/instance/logout/clinic", Some(&token), None)
        .await;
    assert_eq!(
        (s, msg(&b)),
        (400, &json!(["The \"clinic\" instance is not connected"]))
    );
    let (s, b) = api
        .call(
            "GET",
            "/instance/connect/clinic?number=5511911112222",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["pairingCode"].as_str().unwrap().len(), 8);

    let (s, b) = api
        .call("DELETE", "/instance/delete/clinic", Some(&token), None)
        .await;
    assert_eq!((s, &msg(&b)), (200, &&json!("Instance deleted")));
    hook.wait_event("remove.instance").await;
    let (s, b) = api
        .call("GET", "/instance/connectionState/clinic", Some(KEY), None)
        .await;
    assert_eq!(
        (s, msg(&b)),
        (404, &json!(["The \"clinic\" instance does not exist"]))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn send_text_publishes_answers_201_and_acks_by_webhook() {
    let hook = Receiver::start().await;
    let sim = start(config(vec![SeedInstance::open("a", "TA", Some(&hook.url))])).await;
    let api = Api::new(&sim);
    let mut feed = sim.bus.subscribe();
    let body = json!({"number": "+55 11 98888-7777", "text": "Olá"});
    let (s, b) = api
        .call("POST", "/message/sendText/a", Some("TA"), Some(body))
        .await;
    assert_eq!(s, 201, "{b}");
    let id = b["key"]["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 22);
    assert!(id.starts_with("3EB0"));
    assert_eq!(b["key"]["remoteJid"], "5511988887777@s.whatsapp.net");
    assert_eq!(b["key"]["fromMe"], true);
    assert_eq!(b["status"], "PENDING");
    assert_eq!(b["message"], json!({"conversation": "Olá"}));
    assert_eq!(b["messageType"], "conversation");
    assert_eq!(b["pushName"], "Você");
    assert_eq!(b["source"], "web");
    assert!(b["messageTimestamp"].is_u64());

    let published = feed.recv().await.unwrap();
    assert_eq!(
        (published.tenant.as_str(), published.to.as_str()),
        ("a", "5511988887777")
    );
    assert_eq!(published.message_id, id);
    assert_eq!(published.text.as_deref(), Some("Olá"));

    let (s, list) = api
        .call("GET", "/__harness/outbound?to=5511988887777", None, None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["provider"], "evolution");
    assert_eq!(list[0]["kind"], "text");
    assert!(list[0]["at"].as_str().unwrap().ends_with('Z'));

    let sent = hook.wait_event("send.message").await;
    assert_eq!(sent.body["data"]["key"]["id"], id.as_str());
    assert_eq!(sent.path, "/hook");
    for key in [
        "event",
        "instance",
        "data",
        "destination",
        "date_time",
        "sender",
        "server_url",
        "apikey",
    ] {
        assert!(
            sent.body.get(key).is_some(),
            "envelope lacks {key}: {}",
            sent.body
        );
    }
    assert_eq!(sent.body["apikey"], "TA");
    assert_eq!(sent.body["server_url"], sim.base_url.as_str());
    assert_eq!(sent.headers["user-agent"], "axios/1.7.9");
    let delivered = hook
        .wait(|h| h.body["data"]["status"] == "DELIVERY_ACK")
        .await;
    assert_eq!(delivered.body["event"], "messages.update");
    assert_eq!(delivered.body["data"]["keyId"], id.as_str());
    hook.wait(|h| h.body["data"]["status"] == "READ").await;

    let (s, b) = api
        .call(
            "POST",
            "/message/sendText/a",
            Some("TA"),
            Some(json!({"number": "1"})),
        )
        .await;
    assert_eq!(
        (s, msg(&b)),
        (400, &json!([["instance requires property \"text\""]]))
    );
    let (s, b) = api
        .call(
            "POST",
            "/message/sendText/a",
            Some("TA"),
            Some(json!({"number": "123", "text": "x"})),
        )
        .await;
    assert_eq!(
        (s, msg(&b)),
        (
            400,
            &json!([{"jid": "123@s.whatsapp.net", "exists": false, "number": "123"}])
        )
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn send_media_and_sending_while_closed() {
    let sim = start(config(vec![SeedInstance::open("a", "TA", None)])).await;
    let api = Api::new(&sim);
    let body = json!({"number": "5511988887777", "mediatype": "image", "media": "https://example.com/a.png", "caption": "menu"});
    let (s, b) = api
        .call("POST", "/message/sendMedia/a", Some("TA"), Some(body))
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["messageType"], "imageMessage");
    assert_eq!(b["message"]["imageMessage"]["caption"], "menu");
    assert_eq!(b["status"], "PENDING");
    let out = sim.bus.query(&Default::default(), 10);
    assert_eq!(
        (out[0].kind.as_str(), out[0].text.as_deref()),
        ("media", Some("menu"))
    );
    let bad = json!({"number": "5511988887777", "mediatype": "image", "media": "%%%"});
    let (s, b) = api
        .call("POST", "/message/sendMedia/a", Some("TA"), Some(bad))
        .await;
    assert_eq!(
        (s, msg(&b)),
        (400, &json!(["Owned media must be a url or base64"]))
    );

    api.call("DELETE", "/instance/logout/a", Some("TA"), None)
        .await;
    let text = json!({"number": "5511988887777", "text": "hi"});
    let (s, b) = api
        .call("POST", "/message/sendText/a", Some("TA"), Some(text))
        .await;
    assert_eq!((s, msg(&b)), (500, &json!("Connection Closed")));
    sim.shutdown().await;
}

#[tokio::test]
async fn webhook_set_find_by_events_and_inbound() {
    let hook = Receiver::start().await;
    let sim = start(config(vec![SeedInstance::open("a", "TA", None)])).await;
    let api = Api::new(&sim);
    let (s, b) = api.call("GET", "/webhook/find/a", Some("TA"), None).await;
    assert_eq!((s, b), (200, Value::Null));
    let set = json!({"webhook": {"enabled": true, "url": hook.url, "byEvents": true,
                                 "headers": {"authorization": "Bearer app"},
                                 "events": ["MESSAGES_UPSERT"]}});
    let (s, row) = api
        .call("POST", "/webhook/set/a", Some("TA"), Some(set))
        .await;
    assert_eq!(s, 201, "{row}");
    assert_eq!(row["events"], json!(["MESSAGES_UPSERT"]));
    assert_eq!(row["webhookByEvents"], true);
    assert!(row["id"].as_str().unwrap().starts_with('c'));
    let (_, found) = api.call("GET", "/webhook/find/a", Some("TA"), None).await;
    assert_eq!(found, row);
    let (s, b) = api
        .call(
            "POST",
            "/webhook/set/a",
            Some("TA"),
            Some(json!({"webhook": {"enabled": true}})),
        )
        .await;
    assert_eq!(
        (s, msg(&b)),
        (400, &json!([["webhook requires property \"url\""]]))
    );

    let (s, b) = api
        .call(
            "POST",
            "/__harness/inbound",
            None,
            Some(json!({"from": "+55 11 97777-6666", "name": "Ana", "text": "Necesito una cita"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let id = b["message_id"].as_str().unwrap().to_string();
    let up = hook.wait_event("messages.upsert").await;
    assert_eq!(up.path, "/hook/messages-upsert");
    assert_eq!(up.headers["authorization"], "Bearer app");
    assert_eq!(up.body["destination"], hook.url.as_str());
    let data = &up.body["data"];
    assert_eq!(
        data["key"],
        json!({"remoteJid": "5511977776666@s.whatsapp.net", "fromMe": false, "id": id})
    );
    assert_eq!(data["pushName"], "Ana");
    assert_eq!(data["message"]["conversation"], "Necesito una cita");
    assert_eq!(data["messageType"], "conversation");
    assert_eq!(data["status"], "DELIVERY_ACK");
    // Events not subscribed are not sent.
    api.call(
        "POST",
        "/message/sendText/a",
        Some("TA"),
        Some(json!({"number": "5511977776666", "text": "ok"})),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(hook.events(), vec!["messages.upsert"]);
    // The contact's name is known now.
    let (s, b) = api
        .call(
            "POST",
            "/chat/whatsappNumbers/a",
            Some("TA"),
            Some(json!({"numbers": ["5511977776666", "12"]})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        b,
        json!([{"jid": "5511977776666@s.whatsapp.net", "exists": true, "number": "5511977776666", "name": "Ana"},
               {"jid": "12@s.whatsapp.net", "exists": false, "number": "12"}])
    );
    let (s, b) = api
        .call(
            "POST",
            "/chat/whatsappNumbers/a",
            Some("TA"),
            Some(json!({"numbers": "x"})),
        )
        .await;
    assert_eq!(
        (s, &b["message"]),
        (400, &json!([["numbers is not of a type(s) array"]]))
    );
    assert!(b.get("response").is_none());
    let (s, _) = api
        .call(
            "POST",
            "/__harness/inbound",
            None,
            Some(json!({"from": "1", "text": "x", "instance": "zz"})),
        )
        .await;
    assert_eq!(s, 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn tenants_are_isolated() {
    let sim = start(config(vec![
        SeedInstance::open("a", "TA", None),
        SeedInstance::open("b", "TB", None),
    ]))
    .await;
    let api = Api::new(&sim);
    let text = json!({"number": "5511988887777", "text": "x"});
    let (s, b) = api
        .call(
            "POST",
            "/message/sendText/b",
            Some("TA"),
            Some(text.clone()),
        )
        .await;
    assert_eq!((s, msg(&b)), (401, &json!("Unauthorized")));
    assert!(sim.bus.query(&Default::default(), 10).is_empty());
    assert_eq!(
        api.call("GET", "/instance/connectionState/b", Some("TA"), None)
            .await
            .0,
        401
    );
    assert_eq!(
        api.call("DELETE", "/instance/delete/b", Some("TA"), None)
            .await
            .0,
        401
    );
    // Unknown instance: 404 before auth.
    assert_eq!(
        api.call("POST", "/message/sendText/zz", None, Some(text.clone()))
            .await
            .0,
        404
    );
    let (s, rows) = api
        .call("GET", "/instance/fetchInstances", Some("TA"), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["name"], "a");
    assert_eq!(rows[0]["connectionStatus"], "open");
    let (_, rows) = api
        .call("GET", "/instance/fetchInstances", Some(KEY), None)
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 2);
    let (_, rows) = api
        .call(
            "GET",
            "/instance/fetchInstances?instanceName=b",
            Some(KEY),
            None,
        )
        .await;
    assert_eq!(rows[0]["name"], "b");
    let (s, b) = api
        .call(
            "GET",
            "/instance/fetchInstances?instanceName=zz",
            Some(KEY),
            None,
        )
        .await;
    assert_eq!((s, msg(&b)), (404, &json!(["Instance \"zz\" not found"])));
    assert_eq!(
        api.call("GET", "/instance/fetchInstances", Some("nope"), None)
            .await
            .0,
        401
    );
    // Each tenant's sends are attributed to it.
    api.call(
        "POST",
        "/message/sendText/a",
        Some("TA"),
        Some(text.clone()),
    )
    .await;
    api.call("POST", "/message/sendText/b", Some("TB"), Some(text))
        .await;
    let (_, only_b) = api
        .call("GET", "/__harness/outbound?tenant=b", None, None)
        .await;
    assert_eq!(only_b.as_array().unwrap().len(), 1);
    assert_eq!(only_b[0]["tenant"], "b");
    // A route the server has but the simulator does not: 501, after the guards.
    assert_eq!(
        api.call("POST", "/message/sendPoll/a", Some("TB"), None)
            .await
            .0,
        401
    );
    assert_eq!(
        api.call("POST", "/message/sendPoll/a", Some("TA"), None)
            .await
            .0,
        501
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn failed_webhooks_are_retried_with_backoff() {
    let flaky = Receiver::failing(2, StatusCode::INTERNAL_SERVER_ERROR).await;
    let sim = start(config(vec![SeedInstance::open(
        "a",
        "TA",
        Some(&flaky.url),
    )]))
    .await;
    let api = Api::new(&sim);
    api.call(
        "POST",
        "/__harness/inbound",
        None,
        Some(json!({"from": "5511977776666", "text": "hi"})),
    )
    .await;
    flaky.wait_event("messages.upsert").await;
    let (_, log) = api.call("GET", "/__harness/webhooks", None, None).await;
    let d = log
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["event"] == "messages.upsert")
        .unwrap();
    assert_eq!(
        (
            d["attempts"].clone(),
            d["outcome"].clone(),
            d["last_status"].clone()
        ),
        (json!(3), json!("delivered"), json!(200))
    );

    // 404 is final: no retry.
    let gone = Receiver::failing(100, StatusCode::NOT_FOUND).await;
    let sim2 = start(config(vec![SeedInstance::open("a", "TA", Some(&gone.url))])).await;
    let api2 = Api::new(&sim2);
    api2.call(
        "POST",
        "/__harness/inbound",
        None,
        Some(json!({"from": "5511977776666", "text": "hi"})),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, log) = api2.call("GET", "/__harness/webhooks", None, None).await;
        if log[0]["outcome"] == "failed" {
            assert_eq!(
                (log[0]["attempts"].clone(), log[0]["last_status"].clone()),
                (json!(1), json!(404))
            );
            break;
        }
        assert!(Instant::now() < deadline, "{log}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sim.shutdown().await;
    sim2.shutdown().await;
}

#[tokio::test]
async fn faults_per_endpoint_and_tenant() {
    let sim = start(config(vec![
        SeedInstance::open("a", "TA", None),
        SeedInstance::open("b", "TB", None),
    ]))
    .await;
    let api = Api::new(&sim);
    let text = json!({"number": "5511988887777", "text": "x"});
    let profile = json!({"rules": [
        {"endpoint": "/message/sendText/{instance}", "tenant": "a",
         "error": {"rate": 1.0, "status": 500, "body": {"status": 500, "error": "Internal Server Error", "response": {"message": "Connection Closed"}}}},
        {"endpoint": "/instance/connectionState/*", "tenant": "b", "latency": {"kind": "fixed", "delay": "200ms"}},
        {"endpoint": "/chat/*", "reset_rate": 1.0},
        {"endpoint": "/webhook/find/{instance}", "downtime": [{"start": 0, "duration": "1h"}]}
    ]});
    let (s, echoed) = api
        .call("POST", "/__harness/faults", None, Some(profile))
        .await;
    assert_eq!(s, 200, "{echoed}");
    assert_eq!(
        api.call("GET", "/__harness/faults", None, None).await.1,
        echoed
    );

    let (s, b) = api
        .call(
            "POST",
            "/message/sendText/a",
            Some("TA"),
            Some(text.clone()),
        )
        .await;
    assert_eq!((s, msg(&b)), (500, &json!("Connection Closed")));
    assert_eq!(
        api.call(
            "POST",
            "/message/sendText/b",
            Some("TB"),
            Some(text.clone())
        )
        .await
        .0,
        201
    );
    let t0 = Instant::now();
    assert_eq!(
        api.call("GET", "/instance/connectionState/b", Some("TB"), None)
            .await
            .0,
        200
    );
    assert!(
        t0.elapsed() >= Duration::from_millis(200),
        "latency not applied"
    );
    let err = api
        .http
        .post(format!("{}/chat/whatsappNumbers/a", api.base))
        .header("apikey", "TA")
        .json(&json!({"numbers": []}))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_request() || err.is_connect(), "{err:?}");
    assert_eq!(
        api.call("GET", "/webhook/find/a", Some("TA"), None).await.0,
        503
    );

    let bad = api
        .call(
            "POST",
            "/__harness/faults",
            None,
            Some(json!({"rules": [{"latncy": 1}]})),
        )
        .await;
    assert_eq!(bad.0, 400);
    let (s, cleared) = api.call("DELETE", "/__harness/faults", None, None).await;
    assert_eq!((s, cleared), (200, json!({"rules": []})));
    assert_eq!(
        api.call("POST", "/message/sendText/a", Some("TA"), Some(text))
            .await
            .0,
        201
    );
    assert_eq!(
        api.call("GET", "/webhook/find/a", Some("TA"), None).await.0,
        200
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn journal_is_bounded_and_outbound_long_polls() {
    let mut cfg = config(vec![SeedInstance::open("a", "TA", None)]);
    cfg.journal_capacity = 5;
    let sim = start(cfg).await;
    let api = Api::new(&sim);
    for i in 0..20 {
        let text = json!({"number": format!("55119888{i:05}"), "text": format!("m{i}")});
        assert_eq!(
            api.call("POST", "/message/sendText/a", Some("TA"), Some(text))
                .await
                .0,
            201
        );
    }
    let (_, all) = api.call("GET", "/__harness/outbound", None, None).await;
    let texts: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec!["m15", "m16", "m17", "m18", "m19"]);
    let (_, health) = api.call("GET", "/__harness/health", None, None).await;
    assert_eq!(
        health["journal"],
        json!({"len": 5, "capacity": 5, "dropped": 15})
    );
    assert_eq!(health["provider"], "evolution");

    // Long-poll: waits for a message sent later.
    let last_seq = all[4]["seq"].as_u64().unwrap();
    let poll = {
        let url = format!(
            "{}/__harness/outbound?to=5511900000123&since={last_seq}&wait_ms=5000",
            sim.base_url
        );
        tokio::spawn(async move {
            reqwest::get(url)
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let text = json!({"number": "5511900000123", "text": "late"});
    api.call("POST", "/message/sendText/a", Some("TA"), Some(text))
        .await;
    let got = poll.await.unwrap();
    assert_eq!(got.as_array().unwrap().len(), 1);
    assert_eq!(got[0]["text"], "late");
    let (_, none) = api
        .call("GET", "/__harness/outbound?to=999&wait_ms=50", None, None)
        .await;
    assert_eq!(none, json!([]));
    sim.shutdown().await;
}

#[tokio::test]
async fn reset_restores_the_configured_instances() {
    let sim = start(config(vec![SeedInstance::open("a", "TA", None)])).await;
    let api = Api::new(&sim);
    let create = json!({"instanceName": "tmp", "integration": "WHATSAPP-BAILEYS"});
    assert_eq!(
        api.call("POST", "/instance/create", Some(KEY), Some(create))
            .await
            .0,
        201
    );
    api.call("DELETE", "/instance/logout/a", Some("TA"), None)
        .await;
    api.call(
        "POST",
        "/message/sendText/a",
        Some("TA"),
        Some(json!({"number": "5511988887777", "text": "x"})),
    )
    .await;
    let (s, b) = api.call("POST", "/__harness/reset", None, None).await;
    assert_eq!((s, b), (200, json!({"status": "reset"})));
    let (_, rows) = api
        .call("GET", "/instance/fetchInstances", Some(KEY), None)
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["connectionStatus"], "open");
    assert_eq!(
        api.call("GET", "/__harness/outbound", None, None).await.1,
        json!([])
    );
    // Set presence answers 201 with the presence.
    let (s, b) = api
        .call(
            "POST",
            "/instance/setPresence/a",
            Some("TA"),
            Some(json!({"presence": "available"})),
        )
        .await;
    assert_eq!((s, b), (201, json!({"presence": "available"})));
    sim.shutdown().await;
}
