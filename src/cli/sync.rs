//! `plexcache sync`: one sync now, with a progress bar on a terminal and
//! plain progress lines otherwise. The exit code says whether it worked.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tokio_util::sync::CancellationToken;

use crate::model::SyncKind;
use crate::store::Store;
use crate::sync::{Progress, SyncEngine, SyncError, SyncMode};

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// Read the whole library again, even when only the changes since the
    /// last sync could be fetched.
    #[arg(long)]
    full: bool,
    #[command(flatten)]
    common: super::CommonArgs,
}

impl SyncArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let full = self.full;
        let settings = self.common.settings()?;
        // Opening (it may migrate) and taking the sync lock are blocking work.
        let (engine, started) = tokio::task::spawn_blocking(move || {
            let (store, notice) = Store::open(&settings.database_path())?;
            if let Some(notice) = notice {
                eprintln!("warning: {notice}");
            }
            let engine = SyncEngine::new(store, Arc::new(RwLock::new(settings)));
            let started = engine.try_start();
            Ok::<_, anyhow::Error>((engine, started))
        })
        .await??;
        let ticket = match started {
            Ok(ticket) => ticket,
            Err(SyncError::AlreadyRunning) => {
                eprintln!(
                    "a sync of this cache is already running (another plexcache process, such as `plexcache serve`, is syncing it); `plexcache status` shows how it ends"
                );
                return Ok(ExitCode::FAILURE);
            }
            Err(e) => return Err(e.into()),
        };
        let cancel = CancellationToken::new();
        let on_signal = cancel.clone();
        tokio::spawn(async move {
            super::serve::shutdown_signal().await;
            on_signal.cancel();
        });
        let reporter = tokio::spawn(report_progress(engine.progress().clone()));
        let mode = if full { SyncMode::Full } else { SyncMode::Auto };
        let result = engine.run_mode(ticket, cancel, mode).await;
        reporter.abort();
        let _ = reporter.await;
        match result {
            Ok(report) if report.kind == SyncKind::Delta => {
                println!(
                    "refreshed {} tracks from {} in {:.1} s, fetching only the changes ({} added, {} changed, {} removed)",
                    report.committed.track_count,
                    report.server.name,
                    report.seconds,
                    report.committed.added,
                    report.changed,
                    report.committed.removed
                );
                Ok(ExitCode::SUCCESS)
            }
            Ok(report) => {
                println!(
                    "synced {} tracks from {} in {:.1} s ({} added, {} removed)",
                    report.committed.track_count,
                    report.server.name,
                    report.seconds,
                    report.committed.added,
                    report.committed.removed
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(error) => {
                let message = crate::sync::error_message(&error);
                if super::json_logs() {
                    tracing::error!(error = %message, "sync failed; the cache keeps its previous library");
                } else {
                    eprintln!("sync failed: {message}");
                    eprintln!("the cache keeps its previous library");
                }
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

/// Draws progress until aborted: a bar on a terminal, a line per phase and
/// every few seconds otherwise.
async fn report_progress(progress: Progress) {
    // With JSON logs, standard error carries only JSON: progress is logged.
    let json_logs = super::json_logs();
    let terminal = std::io::stderr().is_terminal() && !json_logs;
    let bar = terminal.then(|| {
        let bar = ProgressBar::new(0);
        let style =
            ProgressStyle::with_template("{prefix:>10} [{bar:30.yellow/white}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style.progress_chars("=> "));
        bar
    });
    let _clear = ClearOnDrop(bar.clone());
    let mut last_line = std::time::Instant::now();
    let mut last_phase = None;
    loop {
        if let Some(report) = progress.report() {
            let eta = report
                .eta_s
                .map(|s| format!("about {s:.0} s left"))
                .unwrap_or_default();
            let rate = report.rate.map(|r| format!("{r:.0}/s")).unwrap_or_default();
            match &bar {
                Some(bar) => {
                    bar.set_prefix(report.phase.label());
                    bar.set_length(report.total);
                    bar.set_position(report.current);
                    bar.set_message(format!("{rate} {eta}"));
                }
                None => {
                    if last_phase != Some(report.phase)
                        || last_line.elapsed() > Duration::from_secs(5)
                    {
                        if json_logs {
                            tracing::info!(
                                phase = report.phase.label(),
                                current = report.current,
                                total = report.total,
                                "sync progress"
                            );
                        } else {
                            eprintln!(
                                "{}: {}/{} {rate} {eta}",
                                report.phase.label(),
                                report.current,
                                report.total
                            );
                        }
                        last_phase = Some(report.phase);
                        last_line = std::time::Instant::now();
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(if terminal { 100 } else { 500 })).await;
    }
}

struct ClearOnDrop(Option<ProgressBar>);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
