//! `harness mock evolution|meta`.

use clap::Args;

#[derive(Debug, Args)]
pub struct MockArgs {}
