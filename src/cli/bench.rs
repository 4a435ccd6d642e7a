//! `plexcache bench`: the benchmark (to come).

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {}

impl BenchArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        anyhow::bail!("not implemented yet")
    }
}
