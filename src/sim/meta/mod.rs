//! Meta WhatsApp Cloud API simulator.

pub mod graph;
pub mod ids;
pub mod limits;
pub mod payload;
pub mod state;
pub mod tenants;
pub mod validate;
pub mod wire;
