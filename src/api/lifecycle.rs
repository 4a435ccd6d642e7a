//! What the server does on its own: a cheap periodic probe of Plex (so no
//! request ever waits on Plex to learn whether it is up), background syncs
//! when the cache is stale or the server changed, and starting syncs on
//! request.

use std::time::Duration;

use super::{AppState, write_lock};
use crate::plex::{Section, ServerInfo};
use crate::store::state::now_unix;
use crate::sync::{SyncError, client_for, error_message};

/// How often Plex is probed.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(15);
/// How often staleness is checked.
const STALE_CHECK_INTERVAL: Duration = Duration::from_secs(60);
/// After a failed sync, automatic retries wait at least this long.
const RETRY_AFTER_FAILURE_S: i64 = 300;

/// The last probe's findings.
#[derive(Debug, Clone, Default)]
pub struct PlexProbe {
    /// `None` before the first probe.
    pub connected: Option<bool>,
    pub error: Option<String>,
    pub error_kind: Option<String>,
    pub server: Option<ServerInfo>,
    pub sections: Vec<Section>,
}

/// Starts the probe and the staleness timer, and loads the filter columns.
pub fn start_background(state: &AppState) {
    warm_store(state);
    let probe_state = state.clone();
    state.tasks.spawn(async move {
        let interval = probe_interval();
        loop {
            probe(&probe_state).await;
            tokio::select! {
                () = tokio::time::sleep(interval) => {},
                () = probe_state.shutdown.cancelled() => return,
            }
        }
    });
    let stale_state = state.clone();
    state.tasks.spawn(async move {
        loop {
            refresh_if_stale(&stale_state);
            tokio::select! {
                () = tokio::time::sleep(STALE_CHECK_INTERVAL) => {},
                () = stale_state.shutdown.cancelled() => return,
            }
        }
    });
}

fn probe_interval() -> Duration {
    std::env::var("PLEXCACHE_PROBE_INTERVAL_SECS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.1)
        .map(Duration::from_secs_f64)
        .unwrap_or(PROBE_INTERVAL)
}

/// Asks Plex who it is; notes a server change and syncs it.
pub async fn probe(state: &AppState) {
    let settings = state.settings();
    let outcome = async {
        let client = client_for(&settings)?;
        let server = client.server_info().await?;
        let sections = client.sections().await?;
        Ok::<_, SyncError>((server, sections))
    }
    .await;
    state.refresh_state();
    let found = match outcome {
        Ok((server, sections)) => PlexProbe {
            connected: Some(true),
            error: None,
            error_kind: None,
            server: Some(server),
            sections: sections.into_iter().filter(Section::is_music).collect(),
        },
        Err(SyncError::NotConfigured) => PlexProbe::default(),
        Err(e) => PlexProbe {
            connected: Some(false),
            error: Some(error_message(&e)),
            error_kind: Some(e.kind().to_owned()),
            ..PlexProbe::default()
        },
    };
    let changed = found
        .server
        .as_ref()
        .zip(state.sync_state().machine_identifier)
        .is_some_and(|(server, cached)| server.machine_identifier != cached);
    *write_lock(&state.probe) = found;
    if changed && !state.engine.progress().is_running() {
        tracing::warn!("the configured Plex server is a different one; syncing its library");
        let _ = spawn_sync(state);
    }
}

/// Starts a background sync when the cache is stale (or empty).
pub fn refresh_if_stale(state: &AppState) {
    let settings = state.settings();
    if !settings.plex_configured() || state.engine.progress().is_running() {
        return;
    }
    let sync_state = state.sync_state();
    let now = now_unix();
    if sync_state
        .last_error_at
        .is_some_and(|at| now - at < RETRY_AFTER_FAILURE_S)
    {
        return;
    }
    let stale = sync_state
        .synced_at
        .is_none_or(|at| (now - at) as f64 >= settings.refresh_age.as_secs_f64());
    if stale {
        tracing::info!("the cache is stale; syncing in the background");
        let _ = spawn_sync(state);
    }
}

/// Starts a sync in the background. Returns whether it blocks the page
/// (nothing to show until it ends).
pub fn spawn_sync(state: &AppState) -> Result<bool, SyncError> {
    let ticket = state.engine.try_start()?;
    let blocking = state.engine.progress().is_blocking();
    let task_state = state.clone();
    let cancel = state.shutdown.child_token();
    state.tasks.spawn(async move {
        let _ = task_state.engine.run(ticket, cancel).await;
        task_state.refresh_state();
    });
    Ok(blocking)
}

/// Loads the in-memory filter columns of the library now rather than on the
/// first query's time, and has every sync prepare them before it commits.
fn warm_store(state: &AppState) {
    let store = state.store().clone();
    store.build_filter_columns_before_commit();
    state.tasks.spawn_blocking(move || {
        if let Err(e) = store.warm() {
            tracing::warn!(error = %e, "cannot load the filter columns ahead of the first query");
        }
    });
}
