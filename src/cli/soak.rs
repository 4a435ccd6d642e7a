//! `plexcache soak`: the soak test (to come).

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct SoakArgs {}

impl SoakArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        anyhow::bail!("not implemented yet")
    }
}
