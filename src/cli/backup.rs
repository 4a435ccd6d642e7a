//! `plexcache backup FILE`: a consistent copy of the cache, safe to take
//! while `serve` runs or a sync is under way (SQLite's online backup).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::store::backup::backup;

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    #[command(flatten)]
    common: super::CommonArgs,
    /// Where to write the copy (a single SQLite file).
    file: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    force: bool,
}

impl BackupArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let settings = self.common.settings()?;
        if self.file.exists() && !self.force {
            anyhow::bail!(
                "{} exists already: choose another file or add --force",
                self.file.display()
            );
        }
        let source = settings.database_path();
        let dest = self.file.clone();
        let report = tokio::task::spawn_blocking(move || backup(&source, &dest))
            .await
            .context("the backup stopped unexpectedly")?
            .with_context(|| format!("cannot back up the cache to {}", self.file.display()))?;
        println!(
            "backed up {} tracks to {} ({:.1} MB); restore by stopping plexcache and copying it to {}",
            report.track_count,
            report.path.display(),
            report.bytes as f64 / 1_000_000.0,
            settings.database_path().display()
        );
        Ok(ExitCode::SUCCESS)
    }
}
