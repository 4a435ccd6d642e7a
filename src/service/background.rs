//! What the library does on its own: a cheap periodic probe of Plex (so no
//! request ever waits on Plex to learn whether it is up; the first one runs
//! at start, briefly), background syncs when the cache is stale or the
//! server changed, checking the file at start and after a read saw damage
//! (a damaged file is rebuilt and synced at once). When each happens is
//! [`super::schedule`]'s to say.

use std::future::Future;
use std::time::Duration;

use super::schedule::{self, StaleCheck};
use super::{Library, unblock};
use crate::locks::RwLockExt;
use crate::plex::{Section, ServerInfo};
use crate::store::StoreError;
use crate::sync::{SyncError, SyncMode, client_for, error_message};

/// How long stopping waits for background work (a sync rolls back).
const STOP_GRACE: Duration = Duration::from_secs(10);

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

impl Library {
    /// Runs the background work until `shutdown` completes (or the library
    /// is stopped otherwise), then stops it: for an entry point that serves
    /// nothing itself.
    pub async fn run_background(&self, shutdown: impl Future<Output = ()>) {
        self.start_background().await;
        tokio::select! {
            () = shutdown => {},
            () = self.shutdown.cancelled() => {},
        }
        self.stop().await;
    }

    /// Probes Plex once (briefly), then starts the periodic probe, the
    /// staleness timer and the start-up integrity check, and loads the
    /// filter columns.
    pub async fn start_background(&self) {
        let answered = tokio::time::timeout(schedule::FIRST_PROBE_WAIT, self.probe_now())
            .await
            .is_ok();
        self.warm_store();
        self.check_file();
        let library = self.clone();
        self.tasks
            .spawn(async move { library.probe_loop(answered).await });
        let library = self.clone();
        self.tasks.spawn(async move { library.stale_loop().await });
        self.start_live();
    }

    /// Cancels the background work (a running sync too: the old library
    /// stays) and waits for it, within bounds.
    pub async fn stop(&self) {
        self.shutdown.cancel();
        self.tasks.close();
        if tokio::time::timeout(STOP_GRACE, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("background work did not stop within 10 s");
        }
    }

    async fn probe_loop(&self, start_up_probe_answered: bool) {
        let from_env = std::env::var(schedule::PROBE_INTERVAL_ENV).ok();
        let interval = schedule::probe_interval(from_env.as_deref());
        let mut first = true;
        loop {
            let wait = schedule::next_probe_wait(first, start_up_probe_answered, interval);
            first = false;
            tokio::select! {
                () = tokio::time::sleep(wait) => {},
                () = self.shutdown.cancelled() => return,
            }
            self.probe_now().await;
        }
    }

    async fn stale_loop(&self) {
        loop {
            self.sync_if_stale().await;
            tokio::select! {
                () = tokio::time::sleep(schedule::STALE_CHECK_INTERVAL) => {},
                () = self.shutdown.cancelled() => return,
            }
        }
    }

    /// Asks Plex who it is; notes a server change and syncs it.
    pub async fn probe_now(&self) {
        let settings = self.settings();
        let outcome = async {
            let client = client_for(&settings)?;
            let server = client.server_info().await?;
            let sections = client.sections().await?;
            Ok::<_, SyncError>((server, sections))
        }
        .await;
        self.refresh_state().await;
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
        let cached = self.sync_state().machine_identifier;
        if schedule::server_changed(found.server.as_ref(), cached.as_deref())
            && let Some(server) = &found.server
        {
            self.switch_server(server).await;
        }
        let was = std::mem::replace(&mut *self.probe.write_unpoisoned(), found.clone());
        if was.connected != found.connected {
            self.events.publish(super::LibraryEvent::Connection {
                plex_connected: found.connected.unwrap_or(false),
                live: self.live_state().live,
            });
        }
    }

    /// The configured server is not the one the cache came from: drops the
    /// old library before anyone learns of the new server (so status and
    /// queries agree from then on) and syncs the new one.
    async fn switch_server(&self, server: &ServerInfo) {
        let engine = self.engine.clone();
        let server = server.clone();
        let switched = unblock(move || {
            // A running sync switches itself; a refused one says why in status.
            let ticket = engine.try_start().ok()?;
            tracing::warn!("the configured Plex server is a different one; syncing its library");
            Some(engine.switch_server(&server).map(|()| ticket))
        })
        .await
        .flatten();
        let Some(switched) = switched else {
            return;
        };
        self.refresh_state().await;
        if let Ok(ticket) = switched {
            self.run_sync(ticket, SyncMode::Auto);
        }
    }

    /// Starts a background sync when the cache is stale (or empty) and no
    /// failure asks to wait; says what it decided.
    pub async fn sync_if_stale(&self) -> StaleCheck {
        let settings = self.settings();
        let decision = schedule::stale_check(
            settings.plex_configured(),
            self.is_syncing(),
            &self.sync_state(),
            settings.refresh_age,
            self.now(),
        );
        if decision == StaleCheck::Sync {
            tracing::info!("the cache is stale; syncing in the background");
            let _ = self.start_sync().await;
        }
        decision
    }

    /// A read failed in a way that may mean a damaged file: check it (in
    /// the background) and rebuild it when it is damaged.
    pub fn on_store_error(&self, error: &StoreError) {
        if error.may_be_damage() && !self.is_syncing() {
            self.check_file();
        }
    }

    /// Checks the file in the background; a damaged one is moved aside, the
    /// status says so, and a sync rebuilds the library at once.
    fn check_file(&self) {
        let library = self.clone();
        self.tasks.spawn(async move {
            let store = library.store().clone();
            let checked = tokio::task::spawn_blocking(move || store.rebuild_if_damaged()).await;
            match checked {
                Ok(Ok(Some(_notice))) => {
                    library.refresh_state().await;
                    if let Err(e) = library.start_sync().await {
                        tracing::warn!("cannot sync the rebuilt cache now: {}", error_message(&e));
                    }
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => tracing::warn!("cannot check the cache file: {}", error_message(&e)),
                Err(_) => tracing::warn!("the cache check stopped unexpectedly"),
            }
        });
    }

    /// Loads the in-memory filter columns of the library now rather than on
    /// the first query's time, and has every sync prepare them before it
    /// commits.
    fn warm_store(&self) {
        let store = self.store().clone();
        store.build_filter_columns_before_commit();
        self.tasks.spawn_blocking(move || {
            if let Err(e) = store.warm() {
                tracing::warn!(error = %e, "cannot load the filter columns ahead of the first query");
            }
        });
    }
}
