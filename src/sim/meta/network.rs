//! The Meta simulator on the simulated WhatsApp network ([`crate::sim::network`]): each phone
//! number owns its `display_phone_number`; a message another member sends to it arrives as
//! `/__harness/inbound` would deliver it (a signed `messages` webhook to the app).

use super::Meta;
use crate::sim::bus::phone_digits;
use crate::sim::inbound::InboundRequest;
use crate::sim::network::Member;

impl Member for Meta {
    fn owner_of(&self, number: &str) -> Option<String> {
        self.tenants
            .numbers()
            .iter()
            .find(|n| phone_digits(&n.display_phone_number) == number)
            .map(|n| n.id.clone())
    }

    fn number_of(&self, tenant: &str) -> Option<String> {
        self.tenants
            .get(tenant)
            .map(|n| phone_digits(&n.display_phone_number))
    }

    fn deliver(&self, tenant: &str, mut req: InboundRequest) -> Result<(), String> {
        req.phone_number_id = Some(tenant.to_string());
        super::control::deliver(self, req)
            .map(|_| ())
            .map_err(|(status, msg)| format!("{status}: {msg}"))
    }
}
