//! What the server does on its own: a cheap periodic probe of Plex (so no
//! request ever waits on Plex to learn whether it is up; the first one runs
//! before serving, briefly), background syncs when the cache is stale or the
//! server changed, checking the file at start and after a read saw damage
//! (a damaged file is rebuilt and synced at once), and starting syncs on
//! request.

use std::time::Duration;

use super::{AppState, write_lock};
use crate::clock::now_unix;
use crate::plex::{Section, ServerInfo};
use crate::store::StoreError;
use crate::sync::{SyncError, client_for, error_message};

/// How often Plex is probed.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(15);
/// How often staleness is checked.
const STALE_CHECK_INTERVAL: Duration = Duration::from_secs(60);
/// After a failed sync, automatic retries wait at least this long.
const RETRY_AFTER_FAILURE_S: i64 = 300;
/// How long serving waits for the first probe, so the first answers know
/// whether Plex is up and which server it is (after that: false until known).
const FIRST_PROBE_WAIT: Duration = Duration::from_millis(1500);

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

/// Probes Plex once (briefly), then starts the periodic probe, the
/// staleness timer and the start-up integrity check, and loads the filter
/// columns.
pub async fn start_background(state: &AppState) {
    let probed = tokio::time::timeout(FIRST_PROBE_WAIT, probe(state))
        .await
        .is_ok();
    warm_store(state);
    check_file(state);
    let probe_state = state.clone();
    state.tasks.spawn(async move {
        let interval = probe_interval();
        let mut wait_first = probed;
        loop {
            if wait_first {
                tokio::select! {
                    () = tokio::time::sleep(interval) => {},
                    () = probe_state.shutdown.cancelled() => return,
                }
            }
            wait_first = true;
            probe(&probe_state).await;
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
    if changed && let Some(server) = &found.server {
        switch_server(state, server).await;
    }
    *write_lock(&state.probe) = found;
}

/// The configured server is not the one the cache came from: drops the old
/// library before anyone learns of the new server (so status and queries
/// agree from then on) and syncs the new one.
async fn switch_server(state: &AppState, server: &ServerInfo) {
    let Ok(ticket) = state.engine.try_start() else {
        // A running sync switches itself; a refused one says why in status.
        return;
    };
    tracing::warn!("the configured Plex server is a different one; syncing its library");
    let engine = state.engine.clone();
    let server = server.clone();
    let forgotten =
        tokio::task::spawn_blocking(move || engine.switch_server(&server).map(|()| ticket)).await;
    state.refresh_state();
    if let Ok(Ok(ticket)) = forgotten {
        run_sync(state, ticket);
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
    run_sync(state, ticket);
    Ok(blocking)
}

fn run_sync(state: &AppState, ticket: crate::sync::SyncTicket) {
    let task_state = state.clone();
    let cancel = state.shutdown.child_token();
    state.tasks.spawn(async move {
        let _ = task_state.engine.run(ticket, cancel).await;
        task_state.refresh_state();
    });
}

/// A read failed in a way that may mean a damaged file: check it (in the
/// background) and rebuild it when it is damaged.
pub fn on_store_error(state: &AppState, error: &StoreError) {
    if error.may_be_damage() && !state.engine.progress().is_running() {
        check_file(state);
    }
}

/// Checks the file in the background; a damaged one is moved aside, the
/// status says so, and a sync rebuilds the library at once.
fn check_file(state: &AppState) {
    let task_state = state.clone();
    state.tasks.spawn(async move {
        let store = task_state.store().clone();
        let checked = tokio::task::spawn_blocking(move || store.rebuild_if_damaged()).await;
        match checked {
            Ok(Ok(Some(_notice))) => {
                task_state.refresh_state();
                if let Err(e) = spawn_sync(&task_state) {
                    tracing::warn!("cannot sync the rebuilt cache now: {}", error_message(&e));
                }
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::warn!("cannot check the cache file: {}", error_message(&e)),
            Err(_) => tracing::warn!("the cache check stopped unexpectedly"),
        }
    });
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
