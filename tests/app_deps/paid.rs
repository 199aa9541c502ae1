//! A paid booking through every dependency: the LLM understands the customer, the PMS
//! accepts the booking, the confirmation carries the payment link, the signed payment
//! notification (and its duplicate) confirms once on WhatsApp.

use std::time::Duration;

use harness::app::Mishandle;
use serde_json::{json, Value};

use super::rig::{chest_pain_rules, weekday_ahead, Deps, Rig};
use super::{CHEST_PAIN, CUSTOMER, PMS, USEFUL_WITHIN};

const PAID: &str = "✅ Pago recibido: su cita de cardiología";

/// The booking's payment reference, from the app's preference call.
fn reference(rig: &Rig) -> String {
    let calls = Rig::calls(&rig.payments);
    let pref = calls
        .iter()
        .find(|c| c["path"] == "/checkout/preferences")
        .expect("the app created a preference");
    assert_eq!(pref["method"], "POST");
    let body = &pref["body"];
    assert_eq!(body["items"][0]["title"], "Consulta de cardiología");
    assert!(
        body["notification_url"]
            .as_str()
            .unwrap()
            .ends_with("/api/payments/webhook"),
        "{body}"
    );
    body["external_reference"].as_str().unwrap().to_string()
}

/// Books through the LLM and the PMS, pays (the notification sent twice); the payment
/// confirmations the customer got.
async fn paid_booking(meta: bool, mishandle: Mishandle) -> (Vec<String>, String) {
    let deps = Deps {
        meta,
        llm_rules: Some(chest_pain_rules(&weekday_ahead())),
        pms: Some((PMS.into(), None)),
        payments: true,
        mishandle,
        ..Deps::default()
    };
    let mut rig = Rig::start(deps).await;
    rig.say(CUSTOMER, CHEST_PAIN).await;
    let (slots, _) = rig.reply(CUSTOMER, USEFUL_WITHIN).await.expect("the slots");
    assert!(slots.contains("cardiología"), "{slots}");
    rig.say(CUSTOMER, "1").await;
    let (confirm, _) = rig
        .reply(CUSTOMER, USEFUL_WITHIN)
        .await
        .expect("a confirmation");
    assert!(confirm.contains("✅ Cita confirmada"), "{confirm}");
    let link = confirm
        .split("💳 Pague la consulta aquí: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no payment link: {confirm}"));
    assert!(link.starts_with("http"), "{link}");
    let reference = reference(&rig);
    let pms = Rig::calls(&rig.pms);
    assert_eq!(pms.len(), 1, "{pms:?}");
    assert_eq!(pms[0]["body"]["reference"], reference.as_str());

    let base = &rig.payments.as_ref().unwrap().base_url;
    let inject = json!({"status": "approved", "external_reference": reference, "amount": 80000, "duplicates": 1});
    let r = rig
        .http
        .post(format!("{base}/__harness/payments/notify"))
        .json(&inject)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(
        answer["deliveries"].as_array().unwrap().len(),
        2,
        "{answer}"
    );
    rig.say(CUSTOMER, "mis citas").await; // moves `since` past the confirmation
    let replies = rig.replies_after(CUSTOMER, Duration::from_secs(3)).await;
    assert!(
        replies.iter().any(|r| r.starts_with("Sus citas:")),
        "{replies:?}"
    );
    let paid = replies
        .into_iter()
        .filter(|r| r.starts_with(PAID))
        .collect();
    (paid, rig.metrics().await)
}

async fn paid_once_and_twice_when_mishandled(meta: bool) {
    let (confirmations, metrics) = paid_booking(meta, Mishandle::default()).await;
    assert_eq!(confirmations.len(), 1, "{confirmations:?}");
    for line in [
        "app_payments_total{result=\"confirmed\"} 1",
        "app_payments_total{result=\"duplicate\"} 1",
        "app_dependency_calls_total{dependency=\"llm\",result=\"understood\"} 1",
        "app_dependency_calls_total{dependency=\"pms\",result=\"accepted\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} not in\n{metrics}");
    }
    assert!(
        confirmations[0].contains("está confirmada"),
        "{confirmations:?}"
    );
    let broken = Mishandle {
        duplicate_payment: true,
        ..Mishandle::default()
    };
    let (confirmations, _) = paid_booking(meta, broken).await;
    assert_eq!(
        confirmations.len(),
        2,
        "the mishandling build confirms the duplicate too: {confirmations:?}"
    );
}

#[tokio::test]
async fn a_paid_booking_is_confirmed_once_however_often_it_is_notified_evolution() {
    paid_once_and_twice_when_mishandled(false).await;
}

#[tokio::test]
async fn a_paid_booking_is_confirmed_once_however_often_it_is_notified_meta() {
    paid_once_and_twice_when_mishandled(true).await;
}

#[tokio::test]
async fn a_forged_or_unsigned_payment_notification_is_refused() {
    let rig = Rig::start(Deps {
        payments: true,
        ..Deps::default()
    })
    .await;
    let url = format!(
        "{}/api/payments/webhook?data.id=123&type=payment",
        rig.app.base_url
    );
    let body = json!({"type": "payment", "action": "payment.updated", "data": {"id": "123"}});
    let unsigned = rig.http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);
    let forged = rig
        .http
        .post(&url)
        .header("x-request-id", "r-1")
        .header("x-signature", format!("ts=1,v1={}", "ab".repeat(32)))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let answer: Value = forged.json().await.unwrap();
    assert_eq!(answer["error"]["code"], "INVALID_SIGNATURE");
    let calls = Rig::calls(&rig.payments);
    assert!(
        calls.is_empty(),
        "nothing is fetched for a refused notification: {calls:?}"
    );
}
