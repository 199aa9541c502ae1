//! The Evolution API v2 simulator over real HTTP: every endpoint's status codes, shapes and
//! error bodies; QR PNGs decoded; webhooks received by a real receiver; faults; tenant
//! isolation; the journal bound.

mod chat;
mod control;
mod coverage;
mod groups;
mod inbound;
mod instances;
mod messages;
mod mismatches;
mod routers;
mod sends;
mod support;
