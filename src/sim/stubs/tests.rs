//! A stubbed PMS over real sockets: matchers, templates, scenario states, route faults and the
//! journal.

use std::time::{Duration, Instant};

use super::*;

const PMS: &str = r#"
service: pms
routes:
  - name: availability
    method: GET
    path: /rooms/{room}/availability
    match: { query: { date: "2026-12-07" } }
    response: { json: { room: "{{ params.room }}", free: true } }
  - name: create booking
    method: POST
    path: /bookings
    match: { headers: { x-api-key: K }, jsonpath: { "$.guest.phone": "5511999990000" } }
    scenario: booking
    required_state: Started
    new_state: Booked
    response:
      status: 201
      headers: { location: "/bookings/{{ uuid }}" }
      json: { id: "{{ uuid }}", guest: "{{ request.body.guest.name }}", state_before: "{{ state }}" }
  - name: second booking is a conflict
    method: POST
    path: /bookings
    scenario: booking
    required_state: Booked
    response: { status: 409, json: { error: slot taken } }
  - name: slow
    path: /slow
    response: { body: late }
    faults: { latency: { kind: fixed, delay: 200ms } }
"#;

async fn pms() -> SimHandle {
    let file = StubsFile::parse(PMS, "pms.yaml").unwrap();
    start(
        file,
        FaultProfile::default(),
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
    )
    .await
    .unwrap()
}

/// Books with the API key the route wants.
async fn book(s: &SimHandle, booking: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/bookings", s.base_url))
        .header("x-api-key", "K")
        .json(booking)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn routes_match_template_and_walk_scenario_states() {
    let s = pms().await;
    let c = reqwest::Client::new();
    let a: Value = c
        .get(format!(
            "{}/rooms/12/availability?date=2026-12-07",
            s.base_url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(a, json!({"room": "12", "free": true}));
    let wrong_date = c
        .get(format!(
            "{}/rooms/12/availability?date=2026-12-08",
            s.base_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_date.status(), 404);
    let booking = json!({"guest": {"name": "Ana", "phone": "5511999990000"}});
    let no_key = c
        .post(format!("{}/bookings", s.base_url))
        .json(&booking)
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), 404, "the header matcher fails: no route");
    let first = book(&s, &booking).await;
    assert_eq!(first.status(), 201);
    let location = first.headers()["location"].to_str().unwrap().to_string();
    let body: Value = first.json().await.unwrap();
    assert_eq!(
        location,
        format!("/bookings/{}", body["id"].as_str().unwrap())
    );
    assert_eq!(
        (body["guest"].as_str(), body["state_before"].as_str()),
        (Some("Ana"), Some("Started"))
    );
    let second = book(&s, &booking).await;
    assert_eq!(second.status(), 409, "the scenario moved to Booked");
    let states: Value = c
        .get(format!("{}/__harness/scenarios", s.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(states["booking"], "Booked");
    c.post(format!("{}/__harness/reset", s.base_url))
        .send()
        .await
        .unwrap();
    let again = book(&s, &booking).await;
    assert_eq!(again.status(), 201, "reset puts scenarios back in Started");
    // The reset also cleared the journal: only the last call is in it.
    let calls = s.bus.query(&Default::default(), 100);
    assert!(calls.iter().all(|m| m.tenant == "pms" && m.kind == "call"));
    assert_eq!(
        calls
            .iter()
            .filter(|m| m.text.as_deref() == Some("POST /bookings"))
            .count(),
        1
    );
    s.shutdown().await;
}

#[tokio::test]
async fn route_faults_use_the_fault_profile_format() {
    let s = pms().await;
    let t0 = Instant::now();
    let r = reqwest::get(format!("{}/slow", s.base_url)).await.unwrap();
    assert_eq!(r.text().await.unwrap(), "late");
    assert!(t0.elapsed() >= Duration::from_millis(200));
    let faults: Value = reqwest::get(format!("{}/__harness/faults", s.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults["rules"][0]["endpoint"], "/slow");
    s.shutdown().await;
}
