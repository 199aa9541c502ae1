//! `harness mock openai` (and the other dependency simulators): their configuration and
//! start-up banner, apart from the WhatsApp providers' in [`super::mock`].

use std::path::PathBuf;

use crate::sim::faults::FaultProfile;
use crate::sim::openai::{OpenaiConfig, Rules};
use crate::sim::stubs::StubsFile;

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

/// Reads `--stubs FILE`: required for `http`, refused for the others (it would be ignored).
pub fn read_stubs(
    http: bool,
    path: Option<&std::path::Path>,
) -> anyhow::Result<Option<(PathBuf, StubsFile)>> {
    match (http, path) {
        (true, Some(p)) => Ok(Some((p.to_path_buf(), StubsFile::load(p)?))),
        (true, None) => anyhow::bail!(
            "harness mock http needs --stubs FILE (routes in YAML; see docs/dependencies.md)"
        ),
        (false, Some(_)) => anyhow::bail!("--stubs is for `harness mock http` only"),
        (false, None) => Ok(None),
    }
}

/// The stubbed dependency's URL and routes.
pub fn stubs_banner(stubs: Option<&(PathBuf, StubsFile)>, base_url: &str) -> String {
    let Some((path, file)) = stubs else {
        return String::new();
    };
    let mut s = format!(
        "HTTP dependency `{}` on {base_url} ({}, {} routes)\n",
        file.service,
        path.display(),
        file.routes.len()
    );
    for (i, r) in file.routes.iter().enumerate() {
        let method = r.method.as_deref().unwrap_or("*");
        s.push_str(&format!("  {method} {}  ({})\n", r.path, r.label(i)));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_dependency_files_parse() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("mocks/dependencies");
        let stubs = StubsFile::load(&root.join("pms.yaml")).unwrap();
        assert_eq!((stubs.service.as_str(), stubs.routes.len()), ("pms", 3));
        let banner = stubs_banner(Some(&(root.join("pms.yaml"), stubs)), "http://h");
        assert!(
            banner.contains("GET /bookings/{id}  (read booking)"),
            "{banner}"
        );
        let rules = Rules::load(&root.join("llm-clinic.yaml")).unwrap();
        assert_eq!(rules.rules.len(), 3);
    }

    #[test]
    fn stubs_are_required_for_http_only() {
        let p = std::path::Path::new("x.yaml");
        assert!(read_stubs(true, None)
            .unwrap_err()
            .to_string()
            .contains("needs --stubs"));
        assert!(read_stubs(false, Some(p)).is_err());
        assert!(read_stubs(false, None).unwrap().is_none());
        let err = read_stubs(true, Some(p)).unwrap_err();
        assert!(format!("{err:#}").contains("x.yaml"), "{err:#}");
    }
}
