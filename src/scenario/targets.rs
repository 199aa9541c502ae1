//! The model of `harness.yaml`'s targets (the file is read by `parse::parse_targets`, with the
//! scenario files' machinery); `crate::target` resolves them against the environment and flags.

use super::ProviderKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderMode {
    Real,
    Simulated,
}

impl ProviderMode {
    pub const ALL: [ProviderMode; 2] = [ProviderMode::Real, ProviderMode::Simulated];

    /// The name in `harness.yaml` (`mode:`) and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderMode::Real => "real",
            ProviderMode::Simulated => "simulated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// Provider credentials, as templates (typically `${ENV_VAR}`), rendered at resolution.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Credentials {
    /// Evolution global `apikey`.
    pub api_key: Option<String>,
    /// Evolution instance name the scenarios use by default.
    pub instance: Option<String>,
    /// Evolution: that instance's own token, when `instance` was given as `NAME:TOKEN`
    /// (e.g. `HARNESS_EVOLUTION_INSTANCE=clinica:tok`); a simulator started here gives the
    /// instance this token.
    pub instance_token: Option<String>,
    /// Meta: access token, app secret (webhook signatures), verify token, phone-number-id.
    pub token: Option<String>,
    pub app_secret: Option<String>,
    pub verify_token: Option<String>,
    pub phone_number_id: Option<String>,
}

/// A target as declared (in `harness.yaml` or by flags), before rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSpec {
    pub name: String,
    pub app_url: Option<String>,
    /// Where the provider delivers webhooks; default: the reference app's path under `app_url`.
    pub webhook_url: Option<String>,
    pub provider: ProviderKind,
    pub mode: ProviderMode,
    pub provider_url: Option<String>,
    pub credentials: Credentials,
    /// `public_url`: the embedded simulator's URL as the app reaches it (an app in Docker,
    /// a pod, another host); media URLs and links handed to the app start with it.
    pub public_url: Option<String>,
    /// `dependencies:` — per name, whether the scenario's dependency of that name is
    /// simulated here or real (and where).
    pub dependencies: Vec<TargetDependency>,
    /// `customer_device:` — an Evolution instance that plays the customer (docs/targets.md).
    pub customer_device: Option<CustomerDevice>,
}

/// A target's customer device, as declared (templates, rendered at resolution).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerDevice {
    /// `simulated: true`: a simulated Evolution instance on the simulated WhatsApp network,
    /// started with the embedded simulators (the other fields are then not given).
    pub simulated: bool,
    /// The device's Evolution API URL, instance and `apikey` (a secret).
    pub url: Option<String>,
    pub instance: Option<String>,
    pub api_key: Option<String>,
    /// The device's number; default: the instance's `ownerJid` (`fetchInstances`).
    pub number: Option<String>,
    /// The app's business number, where the device writes; default with the embedded
    /// simulators: the target's instance's or phone number's.
    pub business_number: Option<String>,
    /// The harness's webhook listener: port (default: any free one) and the URL the device's
    /// server reaches it at (default: its bind address, or `--public-url` when nothing else
    /// of the harness is reached from outside).
    pub port: Option<u16>,
    pub public_url: Option<String>,
}

/// A target's word on one dependency of the scenarios it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetDependency {
    pub name: String,
    pub mode: ProviderMode,
    /// Real: its base URL (a template). Simulated: a simulator already running there
    /// (`harness mock openai --port …`), so nothing is started.
    pub url: Option<String>,
    /// The key the app uses with a real or already-running dependency (a template, a secret).
    pub api_key: Option<String>,
    /// Simulated and started here: the port (0 or absent: a free one).
    pub port: Option<u16>,
}

/// A `--public-url` (or `public_url:` of harness.yaml) checked: an absolute `http` or `https`
/// URL without query or fragment; returned without a trailing slash.
pub fn public_url(text: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(text.trim()).map_err(|e| {
        format!("`{text}` is not a URL ({e}): give the address the app reaches the harness at, e.g. http://host.docker.internal:8080")
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!(
            "`{text}`: a public URL is http:// or https:// with a host"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("`{text}`: a public URL has no query or fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_public_url_is_an_http_url_without_query_and_loses_its_trailing_slash() {
        let ok = super::public_url("http://host.docker.internal:8080/").unwrap();
        assert_eq!(ok, "http://host.docker.internal:8080");
        assert_eq!(
            super::public_url("https://sim.example.com/evo").unwrap(),
            "https://sim.example.com/evo"
        );
        for bad in ["ftp://host", "host:8080", "http://h/?a=1", "http://h/#x"] {
            assert!(super::public_url(bad).is_err(), "{bad}");
        }
    }
}
