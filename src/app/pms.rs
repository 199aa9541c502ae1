//! Booking in the clinic's PMS (practice-management system): every booking the dialogue makes
//! is sent as `POST {pms_url}/bookings`, and confirmed to the customer only once the PMS
//! accepted it. The customer is named by a hash, never by phone number.

use std::time::Duration;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::calendar::Appointment;

/// How long the PMS has to accept a booking.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// The booking's reference, in the PMS and in payments: `<tenant>-<appointment id>`.
pub fn reference(tenant: &str, appointment: &Appointment) -> String {
    format!("{tenant}-{}", appointment.id)
}

/// The first 16 hex digits of SHA-256(`tenant:customer`): the same customer of the same
/// tenant always gets the same value, and the number cannot be read from it.
pub fn customer_hash(tenant: &str, customer: &str) -> String {
    let digest = Sha256::digest(format!("{tenant}:{customer}").as_bytes());
    hex::encode(&digest[..8])
}

/// The request body of `POST /bookings`.
pub fn booking_body(tenant: &str, appointment: &Appointment) -> Value {
    let slot = &appointment.slot;
    json!({
        "reference": reference(tenant, appointment),
        "tenant": tenant,
        "source": "whatsapp",
        "customer": customer_hash(tenant, &appointment.customer),
        "slot": {
            "date": slot.date.format("%Y-%m-%d").to_string(),
            "time": slot.time.format("%H:%M").to_string(),
            "doctor": slot.doctor().name,
            "specialty": slot.doctor().specialty,
        },
    })
}

/// Sends the booking; `Err` says why the PMS did not accept it (timeout, connection, status).
pub async fn book(http: &reqwest::Client, pms_url: &str, body: &Value) -> Result<(), String> {
    let sent = http
        .post(format!("{pms_url}/bookings"))
        .json(body)
        .timeout(TIMEOUT)
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("the PMS answered {}", r.status().as_u16())),
        Err(e) if e.is_timeout() => Err(format!("the PMS did not answer within {TIMEOUT:?}")),
        Err(e) => Err(format!("the PMS is unreachable: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::calendar::Slot;
    use chrono::{NaiveDate, NaiveTime};

    #[test]
    fn the_booking_names_the_slot_and_hashes_the_customer() {
        let a = Appointment {
            id: 7,
            customer: "5511999990000".into(),
            slot: Slot {
                date: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
                time: NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
                doctor: 1,
            },
        };
        let body = booking_body("clinica", &a);
        assert_eq!(body["reference"], "clinica-7");
        assert_eq!(body["source"], "whatsapp");
        assert_eq!(
            body["slot"],
            json!({"date": "2026-11-23", "time": "09:30", "doctor": "Dr. Luis Gómez", "specialty": "cardiología"})
        );
        let hash = body["customer"].as_str().unwrap();
        assert_eq!(hash.len(), 16);
        assert_eq!(hash, customer_hash("clinica", "5511999990000"));
        assert_ne!(hash, customer_hash("other", "5511999990000"));
        assert!(!body.to_string().contains("5511999990000"));
    }
}
