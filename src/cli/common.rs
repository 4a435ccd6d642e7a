//! Options shared by the subcommands that read settings: the data directory
//! and the settings layer of flags and environment ([`Overrides`] declares
//! each setting once).

use std::path::PathBuf;

use crate::config::{Overrides, Settings, env};

#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// Directory holding the cache and config file.
    #[arg(long, env = env::DATA_DIR, default_value = "data", global = true)]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub settings: Overrides,
}

impl CommonArgs {
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let overrides = self.settings.clone().without_empty();
        Ok(Settings::load(&self.data_dir, overrides)?)
    }
}
