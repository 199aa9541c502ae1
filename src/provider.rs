//! The WhatsApp providers the harness knows: one enum for scenarios, targets, the CLI, the
//! simulators' bus and the reference app.

use serde::{Deserialize, Serialize};

/// A WhatsApp provider: the Evolution API v2 or Meta's WhatsApp Cloud API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Evolution API v2 (Baileys).
    Evolution,
    /// Meta WhatsApp Cloud API.
    Meta,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 2] = [ProviderKind::Evolution, ProviderKind::Meta];

    /// The name used in scenarios, targets, flags and reports.
    pub fn name(self) -> &'static str {
        match self {
            ProviderKind::Evolution => "evolution",
            ProviderKind::Meta => "meta",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == s)
    }
}

impl std::fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_every_form() {
        for p in ProviderKind::ALL {
            assert_eq!(ProviderKind::parse(p.name()), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), p.name());
            let value = <ProviderKind as clap::ValueEnum>::from_str(p.name(), false).unwrap();
            assert_eq!(value, p);
        }
        assert_eq!(ProviderKind::parse("twilio"), None);
    }
}
