//! The bundled reference booking bot: the embedded default system under test, and a worked
//! example of what a WhatsApp app should do under the error scenarios (retry the provider with
//! backoff, keep bookings whose confirmation could not be sent, refuse bad webhooks clearly,
//! process duplicate deliveries once).
//!
//! [`conversation`] is the Spanish booking dialogue over a [`calendar`]; [`webhook`] reads the
//! providers' webhooks; [`outbox`] sends replies reliably; [`server`] is the HTTP side.

pub mod calendar;
pub mod conversation;
pub mod metrics;
pub mod nlu;
pub mod outbox;
pub mod server;
pub mod webhook;

pub use server::{start, AppConfig, AppHandle, TenantConfig};
