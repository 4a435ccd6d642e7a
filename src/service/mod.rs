//! The application service: [`Library`] owns the sync engine, the running
//! settings, what the last probe learned about Plex and the background
//! scheduler, and offers what the entry points need — status, starting a
//! sync, changing the settings, creating playlists, running in the
//! background. The HTTP API and the command line call it; neither reaches
//! past it to the engine, the config file or a Plex client. Blocking store
//! and file work runs off the async threads.

mod background;
pub mod events;
mod live;
mod playlists;
mod queries;
pub mod schedule;
mod settings;

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::locks::{MutexExt, RwLockExt};
use crate::model::SyncState;
use crate::store::ChangeStamp;
use crate::sync::{SyncEngine, SyncReport};

pub use crate::config::{Overrides, Secret, Settings, full_sweep_days, redact_url};
pub use crate::metrics::Metrics;
pub use crate::plex::{PlexError, Section, ServerInfo};
pub use crate::store::{Store, StoreError};
pub use crate::sync::{ProgressReport, SyncError, SyncMode, error_message};
pub use background::PlexProbe;
pub use events::{EventBus, LibraryChange, LibraryEvent, LiveState};
pub use playlists::{CreatedPlaylist, PlaylistError, PlaylistTracks};
pub use queries::QueryError;
pub use settings::{ServerChangeNotice, SettingsError};

/// Longest a status answer trusts an unchanged [`ChangeStamp`].
const STATE_REUSE: Duration = Duration::from_secs(1);

/// The current time as Unix seconds; tests set their own.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// A read of the sync state from the file, and what it was read under.
struct StateRead {
    stamp: ChangeStamp,
    syncs: (u64, bool),
    at: Instant,
}

/// The cached library and everything that keeps it current. Cheap to clone:
/// clones share one state.
#[derive(Clone)]
pub struct Library {
    engine: SyncEngine,
    settings: Arc<RwLock<Settings>>,
    /// What the periodic probe last learned about Plex.
    probe: Arc<RwLock<PlexProbe>>,
    /// The sync state as last read, so status answers rarely touch the disk.
    state: Arc<RwLock<SyncState>>,
    /// When `state` was last read from the file: the files' stamp, this
    /// process's sync activity and the time.
    state_read: Arc<Mutex<Option<StateRead>>>,
    /// Held by a settings change from its check to the swap.
    settings_write: Arc<tokio::sync::Mutex<()>>,
    clock: Clock,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    metrics: Metrics,
    /// Where changes, sync progress and reachability are announced.
    events: EventBus,
    /// Whether live updates run, and when the last change arrived.
    live: Arc<RwLock<LiveState>>,
    /// Tells the live session the settings changed: it ends, and the next
    /// one starts with the new settings (or not at all).
    live_restart: Arc<tokio::sync::Notify>,
}

/// What [`Library::status`] reports: the cache, the running sync, Plex.
#[derive(Debug, Clone)]
pub struct Status {
    /// Tracks served right now.
    pub track_count: i64,
    /// Unix time of the last good sync.
    pub synced_at: Option<i64>,
    pub age_s: Option<i64>,
    pub is_syncing: bool,
    /// A sync runs and there is nothing to show until it ends.
    pub blocking: bool,
    pub sync_progress: Option<ProgressReport>,
    /// The last sync's error, when it failed and none runs now.
    pub error: Option<String>,
    pub error_kind: Option<String>,
    /// False until Plex answered a probe, and when it is not configured.
    pub plex_connected: bool,
    pub plex_error: Option<String>,
    /// The configured server is not the one the cache came from.
    pub server_changed: bool,
    pub stale: bool,
    /// A Plex URL and token are set.
    pub configured: bool,
    /// The cache's server, except during a server change: then the new one.
    pub server: Option<ServerSummary>,
    /// Changes on Plex reach the cache as they happen (the notification
    /// stream is connected).
    pub live: bool,
    /// Unix seconds of the last change that reached the cache.
    pub last_change_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSummary {
    pub name: String,
    pub machine_identifier: String,
}

impl Library {
    /// A library over an open store. Reads the sync state once (blocking).
    pub fn new(store: Store, settings: Settings) -> Result<Self, StoreError> {
        let state = store.sync_state()?;
        let settings = Arc::new(RwLock::new(settings));
        Ok(Self {
            engine: SyncEngine::new(store, settings.clone()),
            settings,
            probe: Arc::default(),
            state: Arc::new(RwLock::new(state)),
            state_read: Arc::default(),
            settings_write: Arc::default(),
            clock: Arc::new(crate::clock::now_unix),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            metrics: Metrics::default(),
            events: EventBus::default(),
            live: Arc::default(),
            live_restart: Arc::default(),
        })
    }

    /// The same library reading the time from `clock` (Unix seconds).
    pub fn with_clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    pub fn store(&self) -> &Store {
        self.engine.store()
    }

    pub fn settings(&self) -> Settings {
        self.settings.read_unpoisoned().clone()
    }

    /// What the last probe learned about Plex.
    pub fn probe(&self) -> PlexProbe {
        self.probe.read_unpoisoned().clone()
    }

    /// The sync state as last read.
    pub fn sync_state(&self) -> SyncState {
        self.state.read_unpoisoned().clone()
    }

    /// Whether this process runs a sync now.
    pub fn is_syncing(&self) -> bool {
        self.engine.progress().is_running()
    }

    /// Cancelled when the library stops: its background work ends.
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// The background work of this library (syncs, probes, checks).
    pub fn tasks(&self) -> &TaskTracker {
        &self.tasks
    }

    /// Re-reads the sync state after something changed it.
    pub async fn refresh_state(&self) {
        let store = self.store().clone();
        match unblock(move || store.sync_state()).await {
            Some(Ok(fresh)) => *self.state.write_unpoisoned() = fresh,
            Some(Err(e)) => tracing::warn!("cannot read the sync state: {}", error_message(&e)),
            None => {}
        }
    }

    /// The sync state as the cache file has it now, as seen by queries: read
    /// again only when the files changed (another process may have synced)
    /// or the last read is older than [`STATE_REUSE`], so status stays cheap
    /// under load. The last known state if it cannot be read.
    pub async fn current_sync_state(&self) -> SyncState {
        // The stamp is two `stat` calls on the cache files (microseconds,
        // answered from the inode cache), cheap enough for an async thread;
        // a hop to the blocking pool for it halved status throughput. Only
        // the SQLite read goes to the pool.
        let now = StateRead {
            stamp: self.store().change_stamp(),
            syncs: self.engine.progress().activity(),
            at: Instant::now(),
        };
        if self.may_reuse_state(&now) {
            return self.sync_state();
        }
        match self.blocking(|store| store.sync_state()).await {
            Ok(Ok(fresh)) => {
                *self.state.write_unpoisoned() = fresh.clone();
                *self.state_read.lock_unpoisoned() = Some(now);
                fresh
            }
            _ => self.sync_state(),
        }
    }

    /// Whether the state read last still holds: the files are unchanged, no
    /// sync of this process ran since, and it is recent. While this process
    /// syncs, never: its own commits must show at once, whatever the stamp.
    fn may_reuse_state(&self, now: &StateRead) -> bool {
        !now.syncs.1
            && self
                .state_read
                .lock_unpoisoned()
                .as_ref()
                .is_some_and(|seen| {
                    seen.stamp == now.stamp
                        && seen.syncs == now.syncs
                        && seen.at.elapsed() < STATE_REUSE
                })
    }

    /// Runs a blocking store call off the async threads. A failure that may
    /// mean a damaged file has the file checked.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<Result<T, StoreError>, tokio::task::JoinError> {
        let store = self.store().clone();
        let result = tokio::task::spawn_blocking(move || f(&store)).await?;
        if let Err(e) = &result {
            self.on_store_error(e);
        }
        Ok(result)
    }

    /// The cache's state, the running sync's progress and Plex's
    /// reachability. Never waits on Plex. The sync state is read afresh
    /// (one small row), so status shows the library queries are answered
    /// from, whoever committed it (another process's sync included).
    pub async fn status(&self) -> Status {
        let settings = self.settings();
        // Progress first: a sync ending between the two reads then shows as
        // still running rather than as done with the old state.
        let progress = self.engine.progress().clone();
        let is_syncing = progress.is_running();
        let sync_progress = progress.report();
        let blocking = progress.is_blocking();
        let sync_state = self.current_sync_state().await;
        let probe = self.probe();
        let now = self.now();
        let probe_changed = schedule::server_changed(
            probe.server.as_ref(),
            sync_state.machine_identifier.as_deref(),
        );
        let server_changed = (is_syncing && progress.server_changed()) || probe_changed;
        let failed = sync_state.last_error.is_some() && !is_syncing;
        let live = self.live_state();
        Status {
            track_count: sync_state.track_count,
            synced_at: sync_state.synced_at,
            age_s: schedule::age_s(sync_state.synced_at, now),
            is_syncing,
            blocking,
            sync_progress,
            error: sync_state.last_error.clone().filter(|_| failed),
            error_kind: sync_state.last_error_kind.clone().filter(|_| failed),
            plex_connected: probe.connected.unwrap_or(false),
            plex_error: probe.error.clone(),
            server_changed,
            stale: schedule::is_stale(sync_state.synced_at, now, settings.refresh_age),
            configured: settings.plex_configured(),
            live: live.live,
            // Another process's commits show through the file's record.
            last_change_at: live
                .last_change_at
                .max(sync_state.last_change_at)
                .or(sync_state.synced_at),
            server: shown_server(server_changed, probe.server, sync_state),
        }
    }

    /// Starts a sync in the background. Returns whether it blocks the page
    /// (nothing to show until it ends).
    pub async fn start_sync(&self) -> Result<bool, SyncError> {
        self.start_sync_mode(SyncMode::Auto).await
    }

    /// Starts a sync of `mode` in the background (see [`Library::start_sync`]).
    pub async fn start_sync_mode(&self, mode: SyncMode) -> Result<bool, SyncError> {
        let engine = self.engine.clone();
        let ticket = unblock(move || engine.try_start())
            .await
            .ok_or(SyncError::Cancelled)??;
        let blocking = self.engine.progress().is_blocking();
        self.run_sync(ticket, mode);
        Ok(blocking)
    }

    fn run_sync(&self, ticket: crate::sync::SyncTicket, mode: SyncMode) {
        let library = self.clone();
        // Announced before this returns, so the caller's next look sees it.
        self.events.publish(LibraryEvent::SyncProgress);
        self.tasks.spawn(async move {
            let _ = library.run_ticket(ticket, mode).await;
        });
    }

    /// Runs a sync now and waits for it (a refresh when only changes are
    /// needed); `AlreadyRunning` when one runs.
    pub async fn sync_now(&self, mode: SyncMode) -> Result<SyncReport, SyncError> {
        let engine = self.engine.clone();
        let ticket = unblock(move || engine.try_start())
            .await
            .ok_or(SyncError::Cancelled)??;
        self.events.publish(LibraryEvent::SyncProgress);
        self.run_ticket(ticket, mode).await
    }

    /// Runs the sync `ticket` allows (its start is announced already),
    /// announcing its end and changes.
    async fn run_ticket(
        &self,
        ticket: crate::sync::SyncTicket,
        mode: SyncMode,
    ) -> Result<SyncReport, SyncError> {
        let cancel = self.shutdown.child_token();
        let started = Instant::now();
        let result = self.engine.run_mode(ticket, cancel, mode).await;
        let outcome = match &result {
            Ok(_) => "success",
            Err(error) => error.kind(),
        };
        self.metrics.sync_ended(outcome, started.elapsed());
        self.refresh_state().await;
        if let Ok(report) = &result {
            self.note_change(LibraryChange {
                added: report.committed.added.max(0) as u64,
                changed: report.changed,
                removed: report.committed.removed.max(0) as u64,
                at: self.now(),
            });
        }
        self.events.publish(LibraryEvent::SyncProgress);
        result
    }

    /// Where the library announces changes, sync progress and Plex's
    /// reachability.
    pub fn events(&self) -> &EventBus {
        &self.events
    }

    /// Whether live updates run, and when the last change arrived.
    pub fn live_state(&self) -> LiveState {
        *self.live.read_unpoisoned()
    }

    /// Records a committed change and announces it.
    pub fn note_change(&self, change: LibraryChange) {
        if change.is_empty() {
            return;
        }
        self.live.write_unpoisoned().last_change_at = Some(change.at);
        self.events.publish(LibraryEvent::Changed(change));
    }

    /// Records whether live updates run, announcing a change of it.
    pub fn set_live(&self, live: bool) {
        let was = std::mem::replace(&mut self.live.write_unpoisoned().live, live);
        if was != live {
            self.events.publish(LibraryEvent::Connection {
                plex_connected: self.probe().connected.unwrap_or(false),
                live,
            });
        }
    }

    /// The server's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The metrics as OpenMetrics text, gauges read now.
    pub fn metrics_text(&self) -> String {
        let tracks = self.sync_state().track_count;
        let reachable = self.probe().connected;
        self.metrics.render(tracks, reachable)
    }
}

/// The cache's server, except during a server change: then the new one.
fn shown_server(
    changed: bool,
    probed: Option<ServerInfo>,
    cached: SyncState,
) -> Option<ServerSummary> {
    match probed {
        Some(new) if changed => Some(ServerSummary {
            name: new.name,
            machine_identifier: new.machine_identifier,
        }),
        _ => cached
            .machine_identifier
            .zip(cached.server_name)
            .map(|(machine_identifier, name)| ServerSummary {
                name,
                machine_identifier,
            }),
    }
}

/// Runs blocking work (SQLite, files) on the blocking pool. A panic there
/// carries on here; `None` when the runtime is shutting down.
async fn unblock<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(value) => Some(value),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => None,
    }
}
