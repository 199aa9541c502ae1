//! Tenants (business phone numbers) and who may act on them.
//!
//! Each phone-number-id may have its own access token and webhook URL. A number without its own
//! token accepts the simulator-wide token (a system-user token of the business); a number with
//! its own token accepts only that one, so tenant A's credentials never act on tenant B. The
//! real Graph API answers an unknown token with 401/190, and a valid token used on a node it may
//! not touch exactly like a node that does not exist (100/33, "does not exist, cannot be loaded
//! due to missing permissions…"), which is what [`Tenants::authorize`] returns.

use serde::{Deserialize, Serialize};

use super::graph::GraphError;
use super::payload::Business;

/// One business phone number served by the simulator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneNumber {
    /// The phone-number-id used in paths.
    pub id: String,
    /// Display number, digits only (`metadata.display_phone_number`).
    pub display_phone_number: String,
    /// The verified business name.
    #[serde(default = "default_verified_name")]
    pub verified_name: String,
    /// Its own access token; `None` accepts the simulator-wide token.
    #[serde(default)]
    pub token: Option<String>,
    /// Where its webhooks go; `None` uses the simulator-wide URL.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// Its WhatsApp Business Account; `None` uses the simulator-wide WABA id.
    #[serde(default)]
    pub waba_id: Option<String>,
}

fn default_verified_name() -> String {
    "Harness Test Business".into()
}

impl PhoneNumber {
    /// A number with the given id and display number, no own token or URL.
    pub fn new(id: impl Into<String>, display_phone_number: impl Into<String>) -> Self {
        PhoneNumber {
            id: id.into(),
            display_phone_number: display_phone_number.into(),
            verified_name: default_verified_name(),
            token: None,
            webhook_url: None,
            waba_id: None,
        }
    }

    /// Builder: its own token.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Builder: its own webhook URL.
    pub fn with_webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }
}

/// The immutable tenant table.
#[derive(Debug, Clone)]
pub struct Tenants {
    numbers: Vec<PhoneNumber>,
    global_token: String,
    waba_id: String,
}

impl Tenants {
    pub fn new(numbers: Vec<PhoneNumber>, global_token: String, waba_id: String) -> Self {
        Tenants {
            numbers,
            global_token,
            waba_id,
        }
    }

    /// All numbers, in configuration order.
    pub fn numbers(&self) -> &[PhoneNumber] {
        &self.numbers
    }

    /// The number with this id.
    pub fn get(&self, id: &str) -> Option<&PhoneNumber> {
        self.numbers.iter().find(|n| n.id == id)
    }

    /// The WABA of numbers that name none.
    pub fn default_waba(&self) -> &str {
        &self.waba_id
    }

    /// The WABA id of a number.
    pub fn waba_of<'a>(&'a self, number: &'a PhoneNumber) -> &'a str {
        number.waba_id.as_deref().unwrap_or(&self.waba_id)
    }

    /// The envelope identity of a number.
    pub fn business(&self, number: &PhoneNumber) -> Business {
        Business {
            waba_id: self.waba_of(number).to_string(),
            phone_number_id: number.id.clone(),
            display_phone_number: number.display_phone_number.clone(),
        }
    }

    /// Whether `token` is known at all (the global token or any number's own token).
    pub fn token_is_known(&self, token: &str) -> bool {
        !token.is_empty()
            && (token == self.global_token
                || self
                    .numbers
                    .iter()
                    .any(|n| n.token.as_deref() == Some(token)))
    }

    /// Whether `token` may act on `number`.
    pub fn may_act(&self, token: &str, number: &PhoneNumber) -> bool {
        match &number.token {
            Some(own) => own == token,
            None => token == self.global_token,
        }
    }

    /// Resolves the request's token and node: 190 for an unknown token, 100/33 for an unknown
    /// node or one this token may not act on.
    pub fn authorize(
        &self,
        token: Option<&str>,
        method: &str,
        id: &str,
    ) -> Result<&PhoneNumber, GraphError> {
        let token = token.unwrap_or_default();
        if !self.token_is_known(token) {
            return Err(GraphError::invalid_token());
        }
        match self.get(id) {
            Some(n) if self.may_act(token, n) => Ok(n),
            _ => Err(GraphError::unsupported_request(method, id)),
        }
    }

    /// Numbers a token may act on.
    pub fn visible_to<'a>(&'a self, token: &'a str) -> impl Iterator<Item = &'a PhoneNumber> {
        self.numbers.iter().filter(move |n| self.may_act(token, n))
    }
}

/// The token of a request: `Authorization: Bearer <t>` (or `OAuth <t>`), else the `access_token` query parameter.
pub fn request_token<'a>(
    authorization: Option<&'a str>,
    query_token: Option<&'a str>,
) -> Option<&'a str> {
    authorization
        .and_then(|h| {
            let (scheme, rest) = h.split_once(' ')?;
            // `OAuth <token>` is what Meta's resumable-upload page shows.
            let known =
                scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth");
            known.then(|| rest.trim())
        })
        .or(query_token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenants() -> Tenants {
        Tenants::new(
            vec![
                PhoneNumber::new("111", "15550000001"),
                PhoneNumber::new("222", "15550000002").with_token("tok-b"),
                PhoneNumber::new("333", "15550000003").with_token("tok-c"),
            ],
            "global".into(),
            "waba".into(),
        )
    }

    #[test]
    fn unknown_or_missing_token_is_190() {
        let t = tenants();
        assert_eq!(t.authorize(None, "POST", "111").unwrap_err().code, 190);
        assert_eq!(
            t.authorize(Some("nope"), "POST", "111").unwrap_err().code,
            190
        );
        assert_eq!(t.authorize(Some(""), "POST", "111").unwrap_err().code, 190);
    }

    #[test]
    fn tokens_act_only_on_their_own_numbers() {
        let t = tenants();
        assert_eq!(
            t.authorize(Some("global"), "POST", "111").unwrap().id,
            "111"
        );
        assert_eq!(t.authorize(Some("tok-b"), "POST", "222").unwrap().id, "222");
        for (tok, id) in [
            ("tok-b", "333"),
            ("tok-c", "222"),
            ("global", "222"),
            ("tok-b", "111"),
        ] {
            let e = t.authorize(Some(tok), "POST", id).unwrap_err();
            assert_eq!((e.code, e.subcode), (100, Some(33)), "{tok} on {id}");
        }
        // An unknown node gives the same answer as a forbidden one.
        let e = t.authorize(Some("global"), "POST", "999").unwrap_err();
        assert_eq!((e.code, e.subcode), (100, Some(33)));
        assert_eq!(t.visible_to("tok-c").count(), 1);
    }

    #[test]
    fn bearer_header_then_query() {
        assert_eq!(request_token(Some("Bearer abc"), Some("q")), Some("abc"));
        assert_eq!(request_token(Some("bearer  abc "), None), Some("abc"));
        assert_eq!(request_token(Some("Basic abc"), Some("q")), Some("q"));
        assert_eq!(request_token(None, None), None);
    }

    #[test]
    fn business_uses_own_or_global_waba() {
        let mut n = PhoneNumber::new("1", "155");
        let t = tenants();
        assert_eq!(t.business(&n).waba_id, "waba");
        n.waba_id = Some("w2".into());
        assert_eq!(t.business(&n).waba_id, "w2");
    }
}
