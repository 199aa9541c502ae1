//! `harness mock openai` (and the other dependency simulators): their configuration and
//! start-up banner, apart from the WhatsApp providers' in [`super::mock`].

use std::path::PathBuf;

use crate::sim::faults::FaultProfile;
use crate::sim::openai::{OpenaiConfig, Rules};

/// The LLM simulator's configuration from the command line.
pub fn openai_config(
    api_key: &str,
    rules: Option<&(PathBuf, Rules)>,
    faults: &FaultProfile,
) -> OpenaiConfig {
    OpenaiConfig {
        api_key: api_key.to_string(),
        rules: rules.map(|(_, r)| r.clone()).unwrap_or_default(),
        faults: faults.clone(),
        ..OpenaiConfig::default()
    }
}

/// What an app needs: the base URL (with `/v1`, as the SDKs want it) and the key.
pub fn openai_banner(api_key: &str, rules: Option<&(PathBuf, Rules)>, base_url: &str) -> String {
    let rules = match rules {
        Some((path, r)) => format!("{} ({} rules)", path.display(), r.rules.len()),
        None => format!(
            "(none: every reply is the fallback, {:?})",
            Rules::default().fallback.text
        ),
    };
    format!(
        "OpenAI-compatible LLM simulator on {base_url}/v1\n  api key: {}\n  rules: {rules}\n  for the app: OPENAI_BASE_URL={base_url}/v1 OPENAI_API_KEY={}\n",
        api_key, api_key
    )
}

/// What an app needs to call the payments simulator and check its notifications.
pub fn payments_banner(c: &crate::sim::payments::PaymentsConfig, base_url: &str) -> String {
    let hook = c.notification_url.as_deref().unwrap_or(
        "(none; give one with --webhook-url, a payment's notification_url or the inject's url)",
    );
    format!(
        "MercadoPago-style payments simulator on {base_url}\n  access token: {}\n  secret signature (x-signature key): {}\n  notifications: {hook}\n  inject: POST {base_url}/__harness/payments/notify {{\"status\":\"approved\",\"external_reference\":\"…\",\"amount\":…}}\n",
        c.access_token, c.webhook_secret
    )
}
