//! `plexcache status`: the cache's state and recent syncs, as text or JSON.

use std::process::ExitCode;

use serde::Serialize;

use crate::api::tracks::HistoryEntry;
use crate::clock::{now_unix, rfc3339};
use crate::config::Settings;
use crate::service::schedule;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    common: super::CommonArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// How many past syncs to show.
    #[arg(long, default_value_t = 5)]
    history: u32,
}

#[derive(Serialize)]
struct StatusOutput {
    track_count: i64,
    synced_at: Option<String>,
    age_s: Option<i64>,
    stale: bool,
    server_name: Option<String>,
    machine_identifier: Option<String>,
    last_error: Option<String>,
    last_error_kind: Option<String>,
    database: String,
    history: Vec<HistoryEntry>,
}

impl StatusArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let settings = self.common.settings()?;
        let history = self.history;
        let output = tokio::task::spawn_blocking(move || read_status(&settings, history)).await??;
        if self.json {
            println!("{}", serde_json::to_string_pretty(&output)?);
        } else {
            print_text(&output);
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// Reads the cache's state and history (blocking).
fn read_status(settings: &Settings, history: u32) -> anyhow::Result<StatusOutput> {
    // Read-only: never waits on (or disturbs) a sync another process runs.
    let store = Store::open_read_only(&settings.database_path())?;
    let state = store.sync_state()?;
    let now = now_unix();
    Ok(StatusOutput {
        track_count: state.track_count,
        synced_at: state.synced_at.and_then(rfc3339),
        age_s: schedule::age_s(state.synced_at, now),
        // The same staleness as the server's status and its background sync.
        stale: schedule::is_stale(state.synced_at, now, settings.refresh_age),
        server_name: state.server_name,
        machine_identifier: state.machine_identifier,
        last_error: state.last_error,
        last_error_kind: state.last_error_kind,
        database: settings.database_path().display().to_string(),
        history: store
            .history(history)?
            .into_iter()
            .map(HistoryEntry::from)
            .collect(),
    })
}

fn print_text(s: &StatusOutput) {
    println!("tracks:      {}", s.track_count);
    match (&s.synced_at, s.age_s) {
        (Some(at), Some(age)) => println!(
            "last sync:   {at} ({} ago{})",
            human_age(age),
            if s.stale { ", stale" } else { "" }
        ),
        _ => println!("last sync:   never"),
    }
    if let Some(name) = &s.server_name {
        println!(
            "server:      {name} ({})",
            s.machine_identifier.as_deref().unwrap_or("?")
        );
    }
    if let Some(error) = &s.last_error {
        println!("last error:  {error}");
    }
    println!("database:    {}", s.database);
    if !s.history.is_empty() {
        println!("recent syncs:");
        for h in &s.history {
            let when = rfc3339(h.started_at).unwrap_or_default();
            let took = h
                .finished_at
                .map(|f| format!("{} s", f - h.started_at))
                .unwrap_or_default();
            let tracks = h
                .track_count
                .map(|n| format!("{n} tracks"))
                .unwrap_or_default();
            let error = h.error.as_deref().unwrap_or("");
            println!(
                "  {when}  {:<11} {tracks:>14} {took:>6}  {error}",
                h.outcome
            );
        }
    }
}

/// "3 minutes", "2 hours", "5 days".
pub fn human_age(seconds: i64) -> String {
    let (n, unit) = match seconds {
        s if s < 60 => (s, "second"),
        s if s < 3600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3600, "hour"),
        s => (s / 86_400, "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}
