//! `plexcache emulate`: the Plex server emulator as a command.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct EmulateArgs {}

impl EmulateArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        anyhow::bail!("not implemented yet")
    }
}
