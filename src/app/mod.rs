//! The bundled reference booking bot: the embedded default system under test, and a worked
//! example of what a WhatsApp app should do under the error scenarios (retry the provider with
//! backoff, keep bookings whose confirmation could not be sent, refuse bad webhooks clearly,
//! process duplicate deliveries once).
//!
//! [`conversation`] is the Spanish booking dialogue over a [`calendar`]; [`dialog`] gives it
//! the structure of a WhatsApp clinic bot (slots as a list menu, the confirmation with reply
//! buttons, taps read by id, voice notes, the nearest of the [`sites`] for a location);
//! [`webhook`] reads the providers' webhooks and [`signature`] checks Meta's; [`media`]
//! downloads customers' attachments and checks their hash; [`reply`] builds the providers'
//! send requests; [`outbox`] sends replies reliably (falling back to plain text); [`server`]
//! is the HTTP side, over the shared [`state`].
//!
//! The app's other dependencies, each optional ([`config::AppDependencies`]): [`flow`] runs
//! a message through the dialogue with them around it — an LLM ([`llm`]) for what the rules
//! ([`nlu`]) do not understand, the PMS ([`pms`]) that must accept a booking, a payment link
//! and the payment webhook ([`payments`], signature checked by [`payment_signature`]).
//! [`config::Mishandle`] makes it mishandle them on purpose.

pub mod calendar;
pub mod config;
pub mod conversation;
pub mod dialog;
pub mod flow;
pub mod llm;
pub mod media;
pub mod metrics;
pub mod nlu;
pub mod outbox;
pub mod payment_signature;
pub mod payments;
pub mod pms;
pub mod recent;
pub mod reply;
pub mod server;
pub mod signature;
pub mod sites;
pub mod state;
pub mod webhook;

pub use config::{
    AppConfig, AppDependencies, LlmEndpoint, Mishandle, PaymentsEndpoint, TenantConfig,
    MISHANDLE_ENV,
};
pub use server::{start, AppHandle};
