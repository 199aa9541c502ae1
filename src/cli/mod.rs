//! Command-line interface: clap derive structs only. Each command's `into_options()` (or
//! equivalent) resolves them into plain option types; nothing past this module sees clap.

use clap::{Parser, Subcommand};

pub mod mock;

/// Test and load-validation harness for WhatsApp business apps.
#[derive(Debug, Parser)]
#[command(name = "harness", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a provider simulator (Evolution API v2 or Meta Cloud API) until Ctrl-C.
    Mock(mock::MockArgs),
}
