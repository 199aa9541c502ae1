//! Customer-device mode in `run` (and `watch`/`load`, which share `setup`): the pre-flight of
//! the steps a device cannot send, and the start of the harness's webhook listener once the
//! target (with the embedded default's simulated device, if any) is known.

use super::CommandError;
use crate::device::{self, ListenAt, Listener};
use crate::scenario::Scenario;
use crate::target::{Target, TargetOverrides, TargetSpec};

/// Before anything starts: every step a customer device cannot send, at `file:line:col`.
pub(super) fn check(
    scenario: &Scenario,
    spec: &TargetSpec,
    color: bool,
) -> Result<(), CommandError> {
    if spec.customer_device.is_none() {
        return Ok(());
    }
    let found = crate::runner::device_unsupported(scenario);
    if found.is_empty() {
        return Ok(());
    }
    let diagnostics = crate::scenario::Diagnostics(found);
    Err(CommandError::Invalid(
        diagnostics.render(&scenario.source, color),
    ))
}

/// Starts the listener of the target's customer device (none without one) and completes the
/// device in `target` (its number). `embedded`: whether this run serves the simulators (then
/// `--public-url` is theirs, not the listener's).
pub(super) async fn start(
    target: &mut Target,
    overrides: &TargetOverrides,
    embedded: bool,
) -> Result<Option<Listener>, CommandError> {
    let Some(declared) = target.spec.customer_device.clone() else {
        return Ok(None);
    };
    let Some(spec) = target.device.clone() else {
        return Err(CommandError::Invalid(format!(
            "error: target `{}`: `customer_device: {{ simulated: true }}` needs the embedded simulators (`mode: simulated` without `provider_url`); for a device of its own give its `url`, `instance` and `api_key`",
            target.spec.name
        )));
    };
    let bind = overrides
        .bind
        .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into());
    let at = ListenAt {
        addr: std::net::SocketAddr::new(bind, declared.port.unwrap_or(0)),
        public_url: declared.public_url.or_else(|| {
            (!embedded)
                .then(|| target.spec.public_url.clone())
                .flatten()
        }),
    };
    let listener = device::start(&spec, at)
        .await
        .map_err(|e| CommandError::Invalid(format!("error: target `{}`: {e}", target.spec.name)))?;
    if !listener.addr().ip().is_loopback() {
        super::out::eprintln(format_args!(
            "warning: the customer device's listener is on {}, beyond loopback: it takes only posts with this run's token, but over plain HTTP; across a network you do not trust, put it behind HTTPS (`customer_device.public_url`)",
            listener.addr()
        ));
    }
    let mut complete = spec;
    complete.number = Some(listener.device.number.clone());
    complete.business_number = Some(listener.device.business_number.clone());
    target.device = Some(complete);
    super::out::eprintln(format_args!(
        "customer device: instance `{}` plays the customer (one device, one customer: the scenario's `from:` and `await`'s `to:` are its number); its replies come to {}",
        listener.device.instance, listener.webhook_url
    ));
    Ok(Some(listener))
}
