//! The payments simulator's bounded memory: payments, preferences, idempotency keys.

use std::collections::{HashMap, VecDeque};
use std::time::SystemTime;

use serde_json::{json, Value};

/// Payments and preferences, the newest `capacity` of each.
#[derive(Debug)]
pub struct Store {
    capacity: usize,
    payments: HashMap<u64, Value>,
    payment_order: VecDeque<u64>,
    preferences: HashMap<String, Value>,
    preference_order: VecDeque<String>,
    idempotency: HashMap<String, u64>,
    next_payment: u64,
    next_notification: u64,
}

fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// MercadoPago's `status_detail` for a status.
pub fn status_detail(status: &str) -> &'static str {
    match status {
        "approved" => "accredited",
        "pending" => "pending_waiting_payment",
        "in_process" => "pending_contingency",
        "rejected" => "cc_rejected_other_reason",
        "cancelled" => "by_collector",
        "refunded" => "refunded",
        "charged_back" => "settled",
        _ => "",
    }
}

impl Store {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            payments: HashMap::new(),
            payment_order: VecDeque::new(),
            preferences: HashMap::new(),
            preference_order: VecDeque::new(),
            idempotency: HashMap::new(),
            next_payment: 1_300_000_001,
            next_notification: 120_000_000_001,
        }
    }

    pub fn next_notification(&mut self) -> u64 {
        self.next_notification += 1;
        self.next_notification
    }

    pub fn new_preference(&mut self, req: &Value, collector: u64, base_url: &str) -> Value {
        let id = format!("{collector}-{}", uuid::Uuid::new_v4());
        let pref = json!({
            "id": id, "collector_id": collector, "client_id": "harness",
            "items": req["items"], "payer": req["payer"], "back_urls": req["back_urls"],
            "auto_return": req["auto_return"].as_str().unwrap_or(""),
            "external_reference": req["external_reference"].as_str().unwrap_or(""),
            "notification_url": req["notification_url"], "metadata": req["metadata"],
            "operation_type": "regular_payment", "date_created": now(),
            "init_point": format!("{base_url}/checkout/v1/redirect?pref_id={id}"),
            "sandbox_init_point": format!("{base_url}/checkout/v1/redirect?pref_id={id}&sandbox=true"),
        });
        if self.preference_order.len() == self.capacity {
            if let Some(old) = self.preference_order.pop_front() {
                self.preferences.remove(&old);
            }
        }
        self.preference_order.push_back(id.clone());
        self.preferences.insert(id, pref.clone());
        pref
    }

    pub fn preference(&self, id: &str) -> Option<Value> {
        self.preferences.get(id).cloned()
    }

    /// A new payment, or the one created before with the same idempotency key (`false`).
    pub fn new_payment(
        &mut self,
        req: &Value,
        amount: f64,
        status: &str,
        collector: u64,
        idempotency: Option<String>,
    ) -> (Value, bool) {
        if let Some(id) = idempotency.as_ref().and_then(|k| self.idempotency.get(k)) {
            if let Some(p) = self.payments.get(id) {
                return (p.clone(), false);
            }
        }
        self.next_payment += 1;
        let id = self.next_payment;
        let at = now();
        let approved = (status == "approved").then(|| at.clone());
        let payment = json!({
            "id": id, "date_created": at, "date_approved": approved, "date_last_updated": at,
            "operation_type": "regular_payment",
            "payment_method_id": req["payment_method_id"].as_str().unwrap_or("visa"),
            "payment_type_id": "credit_card", "status": status,
            "status_detail": status_detail(status), "currency_id": "ARS",
            "description": req["description"], "collector_id": collector,
            "payer": req["payer"], "metadata": req["metadata"],
            "external_reference": req["external_reference"],
            "transaction_amount": amount, "transaction_amount_refunded": 0,
            "installments": req["installments"].as_u64().unwrap_or(1),
            "transaction_details": {"net_received_amount": amount, "total_paid_amount": amount,
                "installment_amount": amount},
            "captured": true, "live_mode": false, "notification_url": req["notification_url"],
        });
        if self.payment_order.len() == self.capacity {
            if let Some(old) = self.payment_order.pop_front() {
                self.payments.remove(&old);
                self.idempotency.retain(|_, v| *v != old);
            }
        }
        self.payment_order.push_back(id);
        self.payments.insert(id, payment.clone());
        if let Some(k) = idempotency {
            self.idempotency.insert(k, id);
        }
        (payment, true)
    }

    pub fn payment(&self, id: u64) -> Option<Value> {
        self.payments.get(&id).cloned()
    }

    /// Changes a known payment's status; the payment as it now is.
    pub fn set_status(&mut self, id: u64, status: &str) -> Option<Value> {
        let p = self.payments.get_mut(&id)?;
        let at = now();
        p["status"] = json!(status);
        p["status_detail"] = json!(status_detail(status));
        p["date_last_updated"] = json!(at);
        if status == "approved" {
            p["date_approved"] = json!(at);
        }
        Some(p.clone())
    }

    #[cfg(test)]
    fn len(&self) -> (usize, usize) {
        (self.payments.len(), self.preferences.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_bounded_and_idempotency_keys_return_the_same_payment() {
        let mut s = Store::new(3);
        let (a, created) = s.new_payment(&json!({}), 10.0, "approved", 1, Some("k".into()));
        assert!(created);
        let (again, created) = s.new_payment(&json!({}), 10.0, "approved", 1, Some("k".into()));
        assert!(!created);
        assert_eq!(a["id"], again["id"]);
        for _ in 0..10 {
            s.new_payment(&json!({}), 1.0, "pending", 1, None);
            s.new_preference(&json!({"items": [{}]}), 1, "http://x");
        }
        assert_eq!(s.len(), (3, 3));
        assert!(
            s.payment(a["id"].as_u64().unwrap()).is_none(),
            "the oldest is forgotten"
        );
    }

    #[test]
    fn status_changes_update_detail_and_dates() {
        let mut s = Store::new(10);
        let (p, _) = s.new_payment(
            &json!({"external_reference": "B-1"}),
            5.0,
            "pending",
            1,
            None,
        );
        assert_eq!(p["status_detail"], "pending_waiting_payment");
        assert!(p["date_approved"].is_null());
        let p = s.set_status(p["id"].as_u64().unwrap(), "approved").unwrap();
        assert_eq!(
            (p["status"].as_str(), p["status_detail"].as_str()),
            (Some("approved"), Some("accredited"))
        );
        assert!(p["date_approved"].is_string());
        assert!(s.set_status(1, "approved").is_none());
    }
}
