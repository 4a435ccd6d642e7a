//! `plexcache demo`.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    common: super::CommonArgs,
}

impl DemoArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let _ = self.common;
        anyhow::bail!("not implemented yet")
    }
}
