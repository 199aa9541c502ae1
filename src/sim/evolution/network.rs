//! The Evolution simulator on the simulated WhatsApp network ([`crate::sim::network`]): each
//! connected instance owns its account's number (`ownerJid`); a message another member sends
//! to it arrives as `/__harness/inbound` would deliver it (`messages.upsert` to its webhook).

use super::state::ConnState;
use super::Sim;
use crate::sim::bus::phone_digits;
use crate::sim::inbound::InboundRequest;
use crate::sim::network::Member;

impl Member for Sim {
    fn owner_of(&self, number: &str) -> Option<String> {
        self.instances()
            .values()
            .find(|i| {
                i.state == ConnState::Open
                    && i.owner_jid
                        .as_deref()
                        .is_some_and(|j| phone_digits(j) == number)
            })
            .map(|i| i.name.clone())
    }

    fn number_of(&self, tenant: &str) -> Option<String> {
        self.instances()
            .get(tenant)
            .and_then(|i| i.owner_jid.as_deref().map(phone_digits))
    }

    fn deliver(&self, tenant: &str, mut req: InboundRequest) -> Result<(), String> {
        req.instance = Some(tenant.to_string());
        super::harness_routes::deliver(self, &req)
            .map(|_| ())
            .map_err(|(status, msg)| format!("{status}: {msg}"))
    }
}
