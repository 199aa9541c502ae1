//! `harness.yaml`: the named targets (`staging`, `production`, …), read with the same
//! machinery and diagnostics as scenario files.

use std::path::Path;

use saphyr::{LoadableYamlNode, MarkedYaml};

use super::node::{Ctx, Entry};
use crate::scenario::diagnostic::Diagnostics;
use crate::scenario::model::ProviderKind;
use crate::scenario::targets::{
    Credentials, CustomerDevice, ProviderMode, TargetDependency, TargetSpec,
};

const FILE_KEYS: &[&str] = &["targets"];
const TARGET_KEYS: &[&str] = &[
    "app_url",
    "webhook_url",
    "provider",
    "mode",
    "provider_url",
    "api_key",
    "instance",
    "token",
    "app_secret",
    "verify_token",
    "phone_number_id",
    "public_url",
    "dependencies",
    "customer_device",
];
const DEVICE_KEYS: &[&str] = &[
    "simulated",
    "url",
    "instance",
    "api_key",
    "number",
    "business_number",
    "port",
    "public_url",
];
const DEPENDENCY_KEYS: &[&str] = &["mode", "url", "api_key", "port"];

/// Parses a targets file; every problem is reported.
pub fn parse_targets(path: &Path, text: &str) -> Result<Vec<TargetSpec>, Diagnostics> {
    let mut ctx = Ctx::new(path, text);
    let targets = match MarkedYaml::load_from_str(text) {
        Err(e) => {
            let span = super::yaml_error_span(&e, text);
            ctx.error_at(span, 1, format!("invalid YAML: {}", e.info()), None);
            None
        }
        Ok(docs) => match docs.first() {
            None => Some(Vec::new()),
            Some(doc) => ctx
                .fields(doc, "harness.yaml", FILE_KEYS)
                .and_then(|fields| match fields.get("targets") {
                    None => Some(Vec::new()),
                    Some(e) => ctx.entries(e.value, "`targets`").map(|entries| {
                        entries.iter().filter_map(|t| target(&mut ctx, t)).collect()
                    }),
                }),
        },
    };
    let diagnostics = ctx.finish();
    match targets {
        Some(t) if diagnostics.is_empty() => Ok(t),
        _ => Err(Diagnostics(diagnostics)),
    }
}

fn target(ctx: &mut Ctx, entry: &Entry) -> Option<TargetSpec> {
    let fields = ctx.fields(entry.value, &format!("target `{}`", entry.key), TARGET_KEYS)?;
    let mut text = |key: &str| fields.get(key).and_then(|e| ctx.text(e));
    let app_url = text("app_url");
    let webhook_url = text("webhook_url");
    let provider_url = text("provider_url");
    let credentials = Credentials {
        api_key: text("api_key"),
        instance: text("instance"),
        instance_token: None,
        token: text("token"),
        app_secret: text("app_secret"),
        verify_token: text("verify_token"),
        phone_number_id: text("phone_number_id"),
    };
    let public_url = match fields.get("public_url") {
        None => None,
        Some(e) => {
            let given = ctx.string(e)?;
            match crate::scenario::targets::public_url(&given) {
                Ok(url) => Some(url),
                Err(msg) => {
                    ctx.error(e.value_node(), msg, None);
                    None
                }
            }
        }
    };
    let provider = match fields.get("provider") {
        None => Some(ProviderKind::Evolution),
        Some(e) => super::provider(ctx, e),
    };
    let mode = mode(ctx, fields.get("mode"), provider_url.is_some());
    let dependencies = fields.get("dependencies").map(|e| dependencies(ctx, e));
    let device = fields
        .get("customer_device")
        .map(|e| customer_device(ctx, e));
    Some(TargetSpec {
        name: entry.key.clone(),
        app_url,
        webhook_url,
        provider: provider?,
        mode: mode?,
        provider_url,
        credentials,
        public_url,
        dependencies: super::node::optional(dependencies)?.unwrap_or_default(),
        customer_device: super::node::optional(device)?,
    })
}

/// `mode: real|simulated`; without it, real when a URL is given.
fn mode(ctx: &mut Ctx, entry: Option<&Entry>, has_url: bool) -> Option<ProviderMode> {
    let Some(e) = entry else {
        return Some(if has_url {
            ProviderMode::Real
        } else {
            ProviderMode::Simulated
        });
    };
    let text = ctx.string(e)?;
    let mode = ProviderMode::parse(&text);
    if mode.is_none() {
        let msg = format!("unknown mode `{text}`");
        ctx.error(
            e.value_node(),
            msg,
            Some("use `real` or `simulated`".into()),
        );
    }
    mode
}

/// `dependencies: { llm: { mode: real, url: …, api_key: … }, pms: { port: 8092 } }`.
fn dependencies(ctx: &mut Ctx, entry: &Entry) -> Option<Vec<TargetDependency>> {
    let mut out = Vec::new();
    let mut complete = true;
    for e in ctx.entries(entry.value, "`dependencies`")? {
        let what = format!("dependency `{}`", e.key);
        let Some(fields) = ctx.fields(e.value, &what, DEPENDENCY_KEYS) else {
            complete = false;
            continue;
        };
        let url = fields.get("url").and_then(|f| ctx.text(f));
        let api_key = fields.get("api_key").and_then(|f| ctx.text(f));
        let port = fields.get("port").and_then(|f| ctx.number(f));
        let Some(mode) = mode(ctx, fields.get("mode"), url.is_some()) else {
            complete = false;
            continue;
        };
        if mode == ProviderMode::Real && url.is_none() {
            let hint = Some("give its `url:` (the app calls it there)".to_string());
            ctx.error(
                e.key_node,
                format!("real dependency `{}` needs a `url`", e.key),
                hint,
            );
            complete = false;
        }
        out.push(TargetDependency {
            name: e.key.clone(),
            mode,
            url,
            api_key,
            port: port.map(|p| p.clamp(0.0, 65535.0) as u16),
        });
    }
    complete.then_some(out)
}

/// `customer_device: { simulated: true }` or `{ url, instance, api_key, business_number, … }`.
fn customer_device(ctx: &mut Ctx, entry: &Entry) -> Option<CustomerDevice> {
    let fields = ctx.fields(entry.value, "`customer_device`", DEVICE_KEYS)?;
    let mut text = |key: &str| fields.get(key).and_then(|e| ctx.text(e));
    let mut d = CustomerDevice {
        url: text("url"),
        instance: text("instance"),
        api_key: text("api_key"),
        number: text("number"),
        business_number: text("business_number"),
        ..CustomerDevice::default()
    };
    if let Some(e) = fields.get("public_url") {
        match crate::scenario::targets::public_url(&ctx.string(e)?) {
            Ok(url) => d.public_url = Some(url),
            Err(msg) => ctx.error(e.value_node(), msg, None),
        }
    }
    d.port = fields
        .get("port")
        .and_then(|f| ctx.number(f))
        .map(|p| p.clamp(0.0, 65535.0) as u16);
    if let Some(e) = fields.get("simulated") {
        d.simulated = ctx.boolean(e)?;
    }
    let missing: Vec<&str> = [("url", &d.url), ("instance", &d.instance)]
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| *k)
        .collect();
    if !d.simulated && !missing.is_empty() {
        let hint = "give the device's Evolution API `url:`, `instance:` and `api_key:`, or `simulated: true` for a simulated device".to_string();
        ctx.error(
            entry.key_node,
            format!("`customer_device` needs {}", missing.join(" and ")),
            Some(hint),
        );
        return None;
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_targets_with_defaults() {
        let text = "targets:\n  staging:\n    app_url: https://staging.example\n    provider: meta\n    provider_url: https://graph.example\n    token: ${META_TOKEN}\n  local:\n    app_url: http://127.0.0.1:8080\n";
        let t = parse_targets(Path::new("harness.yaml"), text).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(
            (t[0].name.as_str(), t[0].provider, t[0].mode),
            ("staging", ProviderKind::Meta, ProviderMode::Real)
        );
        assert_eq!(t[0].credentials.token.as_deref(), Some("${META_TOKEN}"));
        assert_eq!(
            (t[1].provider, t[1].mode),
            (ProviderKind::Evolution, ProviderMode::Simulated)
        );
    }

    #[test]
    fn reads_a_customer_device_and_says_what_it_lacks() {
        let text = "targets:\n  s:\n    customer_device:\n      url: https://evo.example\n      instance: phone\n      api_key: ${K}\n      business_number: \"+57 601 555 0100\"\n      port: 8099\n      public_url: https://h.example:8099/\n  o:\n    customer_device: { simulated: true }\n";
        let t = parse_targets(Path::new("harness.yaml"), text).unwrap();
        let d = t[0].customer_device.as_ref().unwrap();
        assert_eq!(
            (d.instance.as_deref(), d.api_key.as_deref(), d.port),
            (Some("phone"), Some("${K}"), Some(8099))
        );
        assert_eq!(d.public_url.as_deref(), Some("https://h.example:8099"));
        assert!(t[1].customer_device.as_ref().unwrap().simulated);
        let text = "targets:\n  s:\n    customer_device: { instance: phone }\n";
        let rendered = parse_targets(Path::new("harness.yaml"), text)
            .unwrap_err()
            .render(text, false);
        assert!(
            rendered.contains("`customer_device` needs url"),
            "{rendered}"
        );
        assert!(rendered.contains("harness.yaml:3:5"), "{rendered}");
    }

    #[test]
    fn reports_every_error_with_position() {
        let text = "targets:\n  staging:\n    provder: meta\n    mode: fake\n";
        let d = parse_targets(Path::new("harness.yaml"), text).unwrap_err();
        let rendered = d.render(text, false);
        assert_eq!(d.len(), 2, "{rendered}");
        assert!(rendered.contains("harness.yaml:3:5"), "{rendered}");
        assert!(rendered.contains("did you mean `provider`"), "{rendered}");
        assert!(rendered.contains("unknown mode `fake`"), "{rendered}");
    }
}
