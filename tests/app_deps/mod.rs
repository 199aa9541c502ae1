//! The reference app's dependencies (issue 18; contract in docs/dependencies.md, "The
//! reference app's dependencies"), end to end through WhatsApp with real simulators: the LLM
//! understands what the rules do not, a failing LLM still gets the customer a useful reply
//! quickly, a PMS timeout is never confirmed, a paid booking is confirmed once however often
//! the payment is notified. Each case also runs against the app's mishandling build
//! (`Mishandle`), and must then observe the failure — a test that cannot fail is a defect.

mod cli;
mod paid;
mod rig;

use std::time::Duration;

use harness::app::llm::FALLBACK_PREFIX;
use harness::app::Mishandle;
use serde_json::{json, Value};

use rig::{chest_pain_rules, weekday_ahead, Deps, Rig, TENANT};

const CUSTOMER: &str = "5511988887777";
/// What the customer writes that no keyword rule understands.
const CHEST_PAIN: &str = "me duele el pecho desde ayer, ¿me pueden ver?";
/// The issue's bound for a useful reply when the LLM fails.
const USEFUL_WITHIN: Duration = Duration::from_secs(5);

/// The first reply to a message only the LLM understands, within [`USEFUL_WITHIN`].
async fn first_reply(deps: Deps) -> (Rig, Option<(String, Duration)>) {
    let mut rig = Rig::start(deps).await;
    rig.say(CUSTOMER, CHEST_PAIN).await;
    let reply = rig.reply(CUSTOMER, USEFUL_WITHIN).await;
    (rig, reply)
}

#[tokio::test]
async fn the_llm_understands_what_the_rules_do_not_and_never_sees_the_phone() {
    let day = weekday_ahead();
    let deps = Deps {
        llm_rules: Some(chest_pain_rules(&day)),
        ..Deps::default()
    };
    let (rig, reply) = first_reply(deps).await;
    let (text, _) = reply.expect("a reply");
    assert!(
        text.contains("Horarios disponibles de cardiología"),
        "the LLM's booking reached the dialogue: {text}"
    );
    let calls = Rig::calls(&rig.llm);
    assert_eq!(calls.len(), 1, "{calls:?}");
    let call = &calls[0];
    assert_eq!(call["path"], "/v1/chat/completions");
    let body = &call["body"];
    let system = body["messages"][0]["content"].as_str().unwrap();
    assert!(
        system.contains(TENANT),
        "the prompt names the clinic: {system}"
    );
    assert_eq!(body["messages"][1]["content"], CHEST_PAIN);
    assert_eq!(body["tools"][0]["function"]["name"], "extract_booking");
    assert!(
        !call.to_string().contains(CUSTOMER),
        "the customer's number was sent to the LLM: {call}"
    );
    // What the rules understand never reaches the LLM.
    let mut rig = rig;
    rig.say(CUSTOMER, "1").await;
    let (confirm, _) = rig.reply(CUSTOMER, USEFUL_WITHIN).await.unwrap();
    assert!(confirm.contains("✅ Cita confirmada"), "{confirm}");
    assert_eq!(Rig::calls(&rig.llm).len(), 1);
}

/// "LLM down" (nothing listens) and "LLM slow" (every answer 30 s late): the first reply.
async fn llm_down_and_slow(mishandle: Mishandle) -> [Option<(String, Duration)>; 2] {
    let down = Deps {
        llm_down: true,
        mishandle,
        ..Deps::default()
    };
    let slow = Deps {
        llm_rules: Some(chest_pain_rules(&weekday_ahead())),
        llm_faults: Some(
            "rules: [{endpoint: /v1/chat/completions, latency: {kind: fixed, delay: 30s}}]".into(),
        ),
        mishandle,
        ..Deps::default()
    };
    let (down, slow) = tokio::join!(first_reply(down), first_reply(slow));
    [down.1, slow.1]
}

#[tokio::test]
async fn llm_down_or_slow_the_customer_gets_the_fallback_within_5_s() {
    for (case, reply) in ["down", "slow"]
        .iter()
        .zip(llm_down_and_slow(Mishandle::default()).await)
    {
        let (text, took) = reply.unwrap_or_else(|| panic!("LLM {case}: no reply within 5 s"));
        assert!(
            text.starts_with(FALLBACK_PREFIX) && text.contains("pedir una cita"),
            "LLM {case}: {text}"
        );
        assert!(took < Duration::from_secs(4), "LLM {case}: {took:?}");
    }
    let broken = Mishandle {
        llm_timeout: true,
        ..Mishandle::default()
    };
    for (case, reply) in ["down", "slow"].iter().zip(llm_down_and_slow(broken).await) {
        assert_eq!(
            reply, None,
            "mishandling build, LLM {case}: the harness must see no reply"
        );
    }
}

/// Every LLM call is refused with 429 and `retry-after: {retry_after}`: the first reply, and
/// how many calls the app made by then.
async fn rate_limited(
    retry_after: u32,
    mishandle: Mishandle,
) -> (Option<(String, Duration)>, usize) {
    let fault = format!(
        r#"rules: [{{endpoint: /v1/*, error: {{rate: 1, status: 429, body: {{error: {{message: "Rate limit reached", type: requests, param: null, code: rate_limit_exceeded}}}}, headers: {{retry-after: "{retry_after}"}}}}}}]"#
    );
    let deps = Deps {
        llm_rules: Some(chest_pain_rules(&weekday_ahead())),
        llm_faults: Some(fault),
        mishandle,
        ..Deps::default()
    };
    let (rig, reply) = first_reply(deps).await;
    (reply, Rig::calls(&rig.llm).len())
}

#[tokio::test]
async fn llm_rate_limited_the_fallback_comes_at_once_without_retrying_past_the_deadline() {
    let (reply, calls) = rate_limited(3, Mishandle::default()).await;
    let (text, took) = reply.expect("a reply within 5 s");
    assert!(text.starts_with(FALLBACK_PREFIX), "{text}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(calls, 1, "retry-after 3 s does not fit in the 2 s deadline");
    // A short retry-after is honoured once, within the deadline.
    let (reply, calls) = rate_limited(1, Mishandle::default()).await;
    let (text, took) = reply.expect("a reply within 5 s");
    assert!(text.starts_with(FALLBACK_PREFIX), "{text}");
    let window = Duration::from_secs(1)..Duration::from_secs(3);
    assert!(window.contains(&took), "{took:?}");
    assert_eq!(calls, 2, "one retry after retry-after: 1");
    let broken = Mishandle {
        llm_rate_limit: true,
        ..Mishandle::default()
    };
    let (reply, calls) = rate_limited(3, broken).await;
    assert_eq!(reply, None, "mishandling build: no reply while it retries");
    assert!(calls >= 2, "the mishandling build retried: {calls} calls");
}

const PMS: &str = r#"
service: pms
routes:
  - name: create booking
    method: POST
    path: /bookings
    match: { jsonpath: { "$.source": whatsapp } }
    response: { status: 201, json: { id: "BK-1", status: confirmed } }
"#;

/// Books slot 1 of a cardiology day through the rules; the replies to the pick (after
/// waiting 5 s) and the app's PMS calls.
async fn book_with_slow_pms(mishandle: Mishandle) -> (Vec<String>, Vec<Value>, Rig) {
    let slow = "rules: [{endpoint: /bookings, latency: {kind: fixed, delay: 30s}}]";
    let deps = Deps {
        pms: Some((PMS.into(), Some(slow.into()))),
        mishandle,
        ..Deps::default()
    };
    let mut rig = Rig::start(deps).await;
    rig.say(CUSTOMER, "Necesito una cita con cardiología para el lunes")
        .await;
    rig.reply(CUSTOMER, USEFUL_WITHIN).await.expect("the slots");
    rig.say(CUSTOMER, "1").await;
    let replies = rig.replies_after(CUSTOMER, USEFUL_WITHIN).await;
    let calls = Rig::calls(&rig.pms);
    (replies, calls, rig)
}

/// The app's appointments (admin API).
async fn appointments(rig: &Rig) -> Value {
    let login: Value = rig
        .http
        .post(format!("{}/api/auth/login", rig.app.base_url))
        .json(&json!({"username": "admin", "password": "admin"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    let r = rig
        .http
        .get(format!("{}/api/appointments", rig.app.base_url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    r.json().await.unwrap()
}

#[tokio::test]
async fn pms_timeout_the_booking_is_not_claimed_and_the_slot_is_released() {
    let (replies, calls, rig) = book_with_slow_pms(Mishandle::default()).await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(
        replies[0].starts_with("⚠️ No pudimos confirmar su cita de cardiología"),
        "{}",
        replies[0]
    );
    assert!(replies[0].contains("NO quedó reservada"), "{}", replies[0]);
    assert_eq!(calls.len(), 1, "{calls:?}");
    let body = &calls[0]["body"];
    assert_eq!(body["tenant"], TENANT);
    assert_eq!(body["slot"]["specialty"], "cardiología");
    assert_eq!(body["customer"].as_str().unwrap().len(), 16);
    assert!(!calls[0].to_string().contains(CUSTOMER), "{}", calls[0]);
    assert_eq!(appointments(&rig).await["count"], 0);
    let metrics = rig.metrics().await;
    let failed = "app_dependency_calls_total{dependency=\"pms\",result=\"failed\"} 1";
    assert!(metrics.contains(failed), "{metrics}");
    assert!(metrics.contains("app_bookings_total 0"), "{metrics}");

    let broken = Mishandle {
        pms_timeout: true,
        ..Mishandle::default()
    };
    let (replies, _, _) = book_with_slow_pms(broken).await;
    assert!(
        replies.iter().any(|r| r.contains("✅ Cita confirmada")),
        "the mishandling build claims the booking: {replies:?}"
    );
}
