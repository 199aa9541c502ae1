//! The account and catalogue state behind the management endpoints: one [`Account`] per phone
//! number and one [`Waba`] per WhatsApp Business Account, each behind its own mutex in a map
//! fixed at start (the tenant table is immutable), so numbers never contend with each other and
//! the send path takes only its own number's and account's locks, never across an `.await`.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

use super::account::Account;
use super::tenants::Tenants;
use super::waba::Waba;
use super::{ids, templates};

pub(super) struct Stores {
    accounts: HashMap<String, Mutex<Account>>,
    wabas: HashMap<String, Mutex<Waba>>,
    waba_ids: Vec<String>,
    /// Templates approved at start (creation bodies), besides `hello_world`.
    seed: Vec<Value>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Each critical section leaves the state consistent at every step.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Stores {
    /// One account per number; one catalogue per WABA (the default one and every number's).
    pub fn new(tenants: &Tenants, seed: Vec<Value>) -> Self {
        let numbers = tenants.numbers();
        let accounts = numbers
            .iter()
            .map(|n| (n.id.clone(), Mutex::new(Account::default())))
            .collect();
        let mut waba_ids = vec![tenants.default_waba().to_string()];
        for n in numbers {
            let w = tenants.waba_of(n).to_string();
            if !waba_ids.contains(&w) {
                waba_ids.push(w);
            }
        }
        let wabas = waba_ids
            .iter()
            .map(|w| (w.clone(), Mutex::new(seeded(&seed))))
            .collect();
        Stores {
            accounts,
            wabas,
            waba_ids,
            seed,
        }
    }

    /// Runs `f` on a number's account (a throwaway default for an unknown id).
    pub fn account<R>(&self, id: &str, f: impl FnOnce(&mut Account) -> R) -> R {
        match self.accounts.get(id) {
            Some(m) => f(&mut lock(m)),
            None => f(&mut Account::default()),
        }
    }

    /// Whether any number's account satisfies `pred`.
    pub fn any_account(&self, pred: impl Fn(&Account) -> bool) -> bool {
        self.accounts.values().any(|m| pred(&lock(m)))
    }

    /// Runs `f` on a WABA's catalogue with due review verdicts applied (an empty throwaway
    /// catalogue for an unknown id).
    pub fn waba<R>(&self, id: &str, f: impl FnOnce(&mut Waba) -> R) -> R {
        match self.wabas.get(id) {
            Some(m) => {
                let mut w = lock(m);
                w.refresh(tokio::time::Instant::now());
                f(&mut w)
            }
            None => f(&mut Waba::default()),
        }
    }

    pub fn waba_ids(&self) -> &[String] {
        &self.waba_ids
    }

    /// Back to the start: default accounts, seeded catalogues.
    pub fn reset(&self) {
        for m in self.accounts.values() {
            *lock(m) = Account::default();
        }
        for m in self.wabas.values() {
            *lock(m) = seeded(&self.seed);
        }
    }
}

/// `hello_world` plus the configured templates, approved.
fn seeded(seed: &[Value]) -> Waba {
    let now = tokio::time::Instant::now();
    let mut w = Waba::seeded(ids::media_id());
    for body in seed {
        let created = templates::parse_create(body)
            .and_then(|t| w.create(t, ids::media_id(), now, Duration::ZERO));
        if let Err(e) = created {
            tracing::warn!(error = %e.message(), "configured template skipped");
        }
    }
    w.refresh(now);
    w
}

#[cfg(test)]
mod tests {
    use super::super::tenants::PhoneNumber;
    use super::*;
    use serde_json::json;

    #[test]
    fn seeded_per_waba_and_reset() {
        let seed = vec![json!({"name":"t","language":"es","category":"UTILITY",
            "components":[{"type":"BODY","text":"Hi"}]})];
        let tenants = Tenants::new(
            vec![PhoneNumber::new("1", "15550000001")],
            "t".into(),
            "w".into(),
        );
        let s = Stores::new(&tenants, seed);
        assert!(s.waba("w", |w| w.for_send("t", "es").is_ok()));
        assert!(s.waba("w", |w| w.for_send("hello_world", "en_US").is_ok()));
        s.account("1", |a| a.deregister());
        assert!(!s.account("1", |a| a.registered));
        s.reset();
        assert!(s.account("1", |a| a.registered));
        assert!(s.waba("nope", |w| w.templates.is_empty()));
    }
}
