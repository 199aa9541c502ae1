//! Provider simulators (Evolution API v2, Meta Cloud API) served with axum.
pub mod meta;
