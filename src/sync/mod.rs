//! The sync engine: copies the configured Plex music sections into the store
//! as named phases — connect, artists, albums, tracks, save — with bounded
//! concurrent page fetches feeding one write transaction. One sync at a time;
//! a failed, cancelled or killed sync leaves the previous library untouched.

mod background;
pub mod delta;
mod derive;
pub mod live;
mod plan;
pub mod progress;
mod writer;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use futures::{StreamExt, TryStreamExt, stream};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::clock::{now_millis, now_unix};
use crate::config::Settings;
use crate::locks::{MutexExt, RwLockExt};
use crate::model::{Outcome, SyncKind};
use crate::plex::{
    ClientOptions, ListKind, ListingOrder, Parent, PlexClient, PlexError, Section, ServerInfo,
};
use crate::store::patch::PatchFinish;
use crate::store::state::{HistoryStart, SyncOutcome};
use crate::store::write::{Committed, ParentKind};
use crate::store::{Store, StoreError, SyncLock};

pub use crate::errors::error_message;
pub use plan::{PageWalk, PassCheck, PassFigures, PassKeys, check_pass};
pub use progress::{Phase, Progress, ProgressReport};
use writer::{Batch, WriterHandle};

/// Metadata requests ask for this many albums or artists at once.
const METADATA_BATCH: usize = 100;
/// Passes over the tracks before giving up on a library that keeps changing.
const MAX_PASSES: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("a sync is already running")]
    AlreadyRunning,
    #[error("Plex is not configured: set a Plex URL and token")]
    NotConfigured,
    #[error(transparent)]
    Plex(#[from] PlexError),
    #[error("cannot write the cache")]
    Store(#[from] StoreError),
    #[error("the sync was cancelled")]
    Cancelled,
    #[error("the library kept changing during {0} passes; try again later")]
    Unstable(u32),
    #[error("cannot start the sync's {what} thread")]
    Thread {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

impl SyncError {
    pub fn kind(&self) -> &'static str {
        match self {
            SyncError::AlreadyRunning => "sync_running",
            SyncError::NotConfigured => "not_configured",
            SyncError::Plex(e) => e.kind(),
            SyncError::Store(e) => e.kind(),
            SyncError::Cancelled => "cancelled",
            SyncError::Unstable(_) => "unstable",
            SyncError::Thread { .. } => "internal",
        }
    }

    /// A sentence about the person's situation (status, history, toasts).
    pub fn user_message(&self) -> String {
        error_message(self)
    }

    /// The technical cause, for logs and a "Why?" popover.
    pub fn technical_detail(&self) -> String {
        match self {
            SyncError::Plex(e) => e.technical_detail(),
            SyncError::Store(e) => error_message(e),
            e => e.to_string(),
        }
    }
}

/// What a successful sync did.
#[derive(Debug, Clone)]
pub struct SyncReport {
    pub server: ServerInfo,
    pub committed: Committed,
    /// Tracks updated in place (a delta refresh counts them; a full sync
    /// replaces everything and counts none).
    pub changed: u64,
    /// A full sync, or a delta refresh.
    pub kind: SyncKind,
    pub passes: u32,
    pub seconds: f64,
}

/// How a sync reads the library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncMode {
    /// Only what changed when the cache allows it (a full sync of this
    /// server and sections, with cursors) and no full sweep is due; else
    /// everything.
    #[default]
    Auto,
    /// Everything, whatever the cache holds.
    Full,
}

/// Runs syncs against the current settings. Cheap to clone.
#[derive(Clone)]
pub struct SyncEngine {
    store: Store,
    settings: Arc<RwLock<Settings>>,
    progress: Progress,
    /// The listing order each server (by machine identifier) accepted, so
    /// refused orders are tried, and logged, once per process.
    orders: Arc<Mutex<HashMap<String, ListingOrder>>>,
    /// Held while a sync or a live update changes the library, so the two
    /// never overlap.
    writing: Arc<tokio::sync::Mutex<()>>,
    /// Set when a server was found ignoring delta filters.
    deltas_ignored: Arc<std::sync::atomic::AtomicBool>,
}

/// Proof that this caller holds the one sync slot (in this process, and the
/// cache's sync lock across processes); ends it when dropped.
pub struct SyncTicket {
    progress: Progress,
    _lock: SyncLock,
}

impl Drop for SyncTicket {
    fn drop(&mut self) {
        self.progress.end();
    }
}

impl SyncEngine {
    pub fn new(store: Store, settings: Arc<RwLock<Settings>>) -> Self {
        Self {
            store,
            settings,
            progress: Progress::default(),
            orders: Arc::default(),
            writing: Arc::default(),
            deltas_ignored: Arc::default(),
        }
    }

    /// Held by whatever changes the library (a sync, a live update).
    pub fn write_slot(&self) -> &Arc<tokio::sync::Mutex<()>> {
        &self.writing
    }

    /// Whether a server was found ignoring delta filters (refreshes of it
    /// are full syncs).
    pub fn deltas_ignored(&self) -> bool {
        self.deltas_ignored
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The listing order that worked for a server, once a sync talked to it.
    pub fn listing_order(&self, machine_identifier: &str) -> Option<ListingOrder> {
        self.orders
            .lock_unpoisoned()
            .get(machine_identifier)
            .copied()
    }

    fn remember_order(&self, machine_identifier: &str, order: ListingOrder) {
        self.orders
            .lock_unpoisoned()
            .insert(machine_identifier.to_owned(), order);
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn settings(&self) -> Settings {
        self.settings.read_unpoisoned().clone()
    }

    /// Takes the sync slot, or says a sync already runs (another process
    /// syncing the same cache counts as running too). Reads the cache and
    /// takes its lock file: call it off the async threads.
    pub fn try_start(&self) -> Result<SyncTicket, SyncError> {
        if !self.settings().plex_configured() {
            return Err(SyncError::NotConfigured);
        }
        if let Some(reason) = self.store.read_only_reason() {
            return Err(SyncError::Store(StoreError::Unwritable {
                kind: reason.kind,
                reason: reason.message.clone(),
            }));
        }
        let previous = self.store.sync_state().map(|s| s.track_count).unwrap_or(0);
        if !self
            .progress
            .try_begin(previous == 0, previous.max(0) as u64)
        {
            return Err(SyncError::AlreadyRunning);
        }
        match self.store.try_lock_sync() {
            Ok(Some(lock)) => Ok(SyncTicket {
                progress: self.progress.clone(),
                _lock: lock,
            }),
            Ok(None) => {
                self.progress.end();
                Err(SyncError::AlreadyRunning)
            }
            Err(e) => {
                self.progress.end();
                Err(e.into())
            }
        }
    }

    /// Runs a full sync to the end, recording its outcome in the history
    /// and, on failure, as the last error.
    pub async fn run(
        &self,
        ticket: SyncTicket,
        cancel: CancellationToken,
    ) -> Result<SyncReport, SyncError> {
        self.run_mode(ticket, cancel, SyncMode::Full).await
    }

    /// Runs a sync in `mode` to the end, recording its outcome (and kind)
    /// in the history and, on failure, as the last error.
    pub async fn run_mode(
        &self,
        ticket: SyncTicket,
        cancel: CancellationToken,
        mode: SyncMode,
    ) -> Result<SyncReport, SyncError> {
        let mut history = self
            .unblock(|engine| {
                Ok(engine.store.start_history().unwrap_or_else(|(start, e)| {
                    tracing::warn!("cannot record the sync's start: {}", error_message(&e));
                    start
                }))
            })
            .await?;
        let started = std::time::Instant::now();
        let engine = self.clone();
        let result = background::run_in_background(cancel.child_token(), move || async move {
            let _writing = engine.writing.clone().lock_owned().await;
            engine.sync(started, mode).await
        })
        .await;
        if let Ok(report) = &result {
            history.kind = report.kind;
        }
        // The writer thread may still be rolling back; it finishes on its own.
        // The ticket goes only once the outcome is recorded, even if this
        // future is dropped meanwhile.
        self.unblock(move |engine| {
            engine.record(history, &result);
            drop(ticket);
            Ok(result)
        })
        .await?
    }

    /// Runs store work on the blocking pool, off the async threads. A panic
    /// there carries on here.
    async fn unblock<T: Send + 'static>(
        &self,
        work: impl FnOnce(&SyncEngine) -> Result<T, SyncError> + Send + 'static,
    ) -> Result<T, SyncError> {
        let engine = self.clone();
        match tokio::task::spawn_blocking(move || work(&engine)).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(SyncError::Cancelled),
        }
    }

    /// Writes how the sync ended to the history and, for a failure, as the
    /// last error (a cancelled sync is no error: the history says so).
    fn record(&self, history: HistoryStart, result: &Result<SyncReport, SyncError>) {
        let outcome = match result {
            Ok(report) => {
                self.store.clear_unsaved_error();
                tracing::info!(
                    kind = report.kind.name(),
                    tracks = report.committed.track_count,
                    added = report.committed.added,
                    changed = report.changed,
                    removed = report.committed.removed,
                    passes = report.passes,
                    seconds = format!("{:.2}", report.seconds),
                    server = %report.server.name,
                    "sync finished"
                );
                SyncOutcome {
                    outcome: Outcome::Success,
                    track_count: Some(report.committed.track_count),
                    added: Some(report.committed.added),
                    removed: Some(report.committed.removed),
                    error: None,
                    server_name: Some(&report.server.name),
                    machine_identifier: Some(&report.server.machine_identifier),
                }
            }
            Err(error) => {
                let message = error.user_message();
                let cancelled = matches!(error, SyncError::Cancelled);
                if cancelled {
                    tracing::info!("sync cancelled; the cache keeps its previous library");
                } else {
                    tracing::error!(
                        kind = error.kind(),
                        detail = %error.technical_detail(),
                        "sync failed: {message}"
                    );
                    if let Err(e) = self.store.record_error(error.kind(), &message) {
                        tracing::error!("cannot record the sync error: {}", error_message(&e));
                    }
                }
                let outcome = if cancelled {
                    Outcome::Cancelled
                } else {
                    Outcome::Failed
                };
                return self.finish_history(
                    history,
                    &SyncOutcome {
                        outcome,
                        track_count: None,
                        added: None,
                        removed: None,
                        error: Some(&message),
                        server_name: None,
                        machine_identifier: None,
                    },
                );
            }
        };
        self.finish_history(history, &outcome);
    }

    fn finish_history(&self, history: HistoryStart, outcome: &SyncOutcome<'_>) {
        if let Err(e) = self.store.finish_history(history, outcome) {
            tracing::warn!(
                "cannot record the sync in the history: {}",
                error_message(&e)
            );
        }
    }

    async fn sync(
        &self,
        started: std::time::Instant,
        mode: SyncMode,
    ) -> Result<SyncReport, SyncError> {
        let settings = self.settings();
        let started_at_ms = now_millis();
        self.progress.set_phase(Phase::Connecting);
        // The integrity check reads the whole file, so it runs while Plex
        // answers. A damaged file is rebuilt before anything is written,
        // even when Plex cannot be reached.
        let store = self.store.clone();
        let check = tokio::task::spawn_blocking(move || store.check_integrity());
        let mut plan = self.plan(&settings, mode).await;
        if self.settle_integrity(check).await? {
            // What the plan read came from the damaged file.
            plan = self.plan(&settings, SyncMode::Full).await;
        }
        let Plan {
            client,
            server,
            sections,
            changes,
        } = plan?;
        let found = server.clone();
        self.unblock(move |engine| engine.forget_old_server(&found))
            .await?;
        if let Some(changes) = changes {
            return self.apply_delta(changes, server, &sections, started).await;
        }

        tracing::debug!(ms = started.elapsed().as_millis() as u64, "connected");
        let WriterHandle { sender, done } =
            self.unblock(|engine| writer::spawn(&engine.store)).await?;
        let fetch = Fetcher {
            client: &client,
            sender: &sender,
            progress: &self.progress,
            page_size: settings.page_size as u64,
            concurrency: settings.concurrency,
        };
        let outcome = async {
            fetch.parents(&sections, ListKind::Artists).await?;
            fetch.parents(&sections, ListKind::Albums).await?;
            tracing::debug!(
                ms = started.elapsed().as_millis() as u64,
                "artists and albums read"
            );
            let passes = fetch.tracks_until_stable(&sections).await?;
            tracing::debug!(ms = started.elapsed().as_millis() as u64, "tracks read");
            self.progress.set_phase(Phase::Saving);
            let (reply, answer) = oneshot::channel();
            send(
                &sender,
                Batch::Finish {
                    machine_identifier: server.machine_identifier.clone(),
                    server_name: server.name.clone(),
                    started_at_ms,
                    sections: sections.iter().map(|s| s.key.clone()).collect(),
                    markers: delta::section_markers(&sections),
                    reply,
                },
            )
            .await?;
            let committed = answer.await.map_err(|_| writer_gone())??;
            Ok::<_, SyncError>((committed, passes))
        }
        .await;
        // Whatever the sync's fate, the order the server took stays known.
        self.remember_order(&server.machine_identifier, client.listing_order());
        drop(sender);
        // A writer error explains a closed channel better than the channel does.
        let writer_result = done.await.map_err(|_| writer_gone())?;
        let (committed, passes) = match (outcome, writer_result) {
            (_, Err(store_error)) => return Err(store_error.into()),
            (outcome, Ok(())) => outcome?,
        };
        Ok(SyncReport {
            server,
            committed,
            changed: 0,
            kind: SyncKind::Full,
            passes,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Connects and, in `Auto` mode, reads what changed when a delta
    /// refresh can do. Reads the cache, writes nothing.
    async fn plan(&self, settings: &Settings, mode: SyncMode) -> Result<Plan, SyncError> {
        let client = client_for(settings)?;
        // Neither answer depends on the other: asked at once. The server's
        // error comes first: it says best what is wrong with the address.
        let (server, sections) = tokio::join!(
            client.server_info(),
            client.music_sections(&settings.sections)
        );
        let server = server?;
        let sections = sections?;
        if let Some(order) = self.listing_order(&server.machine_identifier) {
            client.set_listing_order(order);
        }
        let changes = match mode {
            SyncMode::Auto => {
                self.read_delta(&client, &server, &sections, settings)
                    .await?
            }
            SyncMode::Full => None,
        };
        Ok(Plan {
            client,
            server,
            sections,
            changes,
        })
    }

    /// What changed since the cache's cursors, when the cache allows a
    /// delta refresh, no full sweep is due and the server honours delta
    /// filters; `None` asks for a full sync.
    async fn read_delta(
        &self,
        client: &PlexClient,
        server: &ServerInfo,
        sections: &[Section],
        settings: &Settings,
    ) -> Result<Option<delta::Changes>, SyncError> {
        let state = self
            .unblock(|engine| Ok(engine.store.sync_state()?))
            .await?;
        let sweep_due = crate::service::schedule::full_sweep_due(
            state.full_synced_at,
            now_unix(),
            settings.full_sweep,
        );
        if !delta::delta_possible(&state, server, sections) || sweep_due {
            return Ok(None);
        }
        let Some(first) = sections.first() else {
            return Ok(None);
        };
        self.progress.set_phase(Phase::Tracks);
        let reader =
            delta::DeltaReader::new(client, &self.store, &state, settings.page_size as u64);
        // The probe and the listings are asked at once; a server found to
        // ignore delta filters stops the listings there.
        let probe = async {
            match client.honours_delta_filters(&first.key).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(DeltaStop::FiltersIgnored),
                Err(e) => Err(DeltaStop::Failed(e.into())),
            }
        };
        let read = async { reader.read(sections).await.map_err(DeltaStop::Failed) };
        match tokio::try_join!(probe, read) {
            Ok(((), changes)) => Ok(Some(changes)),
            Err(DeltaStop::FiltersIgnored) => {
                tracing::warn!(
                    server = %server.name,
                    "Plex ignores delta filters (a listing of changes after a time in the far future was not empty); running a full sync instead"
                );
                self.deltas_ignored
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                Ok(None)
            }
            Err(DeltaStop::Failed(e)) => Err(e),
        }
    }

    /// Writes a delta refresh's changes in one patch.
    async fn apply_delta(
        &self,
        changes: delta::Changes,
        server: ServerInfo,
        sections: &[Section],
        started: std::time::Instant,
    ) -> Result<SyncReport, SyncError> {
        self.progress.set_phase(Phase::Saving);
        let found = server.clone();
        let keys: Vec<String> = sections.iter().map(|s| s.key.clone()).collect();
        let markers = delta::section_markers(sections);
        let report = self
            .unblock(move |engine| {
                let finish = PatchFinish {
                    machine_identifier: &found.machine_identifier,
                    server_name: &found.name,
                    sections: &keys,
                    markers: &markers,
                    refresh: true,
                };
                Ok(changes.apply(&engine.store, &finish)?)
            })
            .await?;
        Ok(SyncReport {
            server,
            committed: Committed {
                track_count: report.track_count,
                added: report.added as i64,
                removed: report.removed as i64,
            },
            changed: report.changed,
            kind: SyncKind::Delta,
            passes: 1,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// Drops the library of a server other than `server` now, under the
    /// caller's ticket, ahead of that ticket's sync.
    pub fn switch_server(&self, server: &ServerInfo) -> Result<(), SyncError> {
        self.forget_old_server(server)
    }

    /// A different server than the cache came from: drop its library now so
    /// no request serves it again, then sync the new one.
    fn forget_old_server(&self, server: &ServerInfo) -> Result<(), SyncError> {
        let state = self.store.sync_state()?;
        match state.machine_identifier.as_deref() {
            Some(old) if old != server.machine_identifier => {
                tracing::warn!(old, new = %server.machine_identifier, "Plex server changed; the old library is dropped");
                // Dropped first, published second: a status that says the
                // server changed must never count the old library's tracks.
                self.store
                    .forget_server(&server.machine_identifier, &server.name)?;
                self.progress.mark_server_changed();
            }
            _ => self.progress.set_blocking(state.track_count == 0),
        }
        Ok(())
    }

    /// The integrity check's verdict; a damaged file is rebuilt (empty)
    /// now. True when it was.
    async fn settle_integrity(
        &self,
        check: tokio::task::JoinHandle<Result<(), StoreError>>,
    ) -> Result<bool, SyncError> {
        let verdict = match check.await {
            Ok(verdict) => verdict,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => return Err(SyncError::Cancelled),
        };
        match verdict {
            Ok(()) => Ok(false),
            Err(e) if e.is_corruption() => {
                self.unblock(move |engine| {
                    let notice = engine.store.rebuild_after_corruption(&error_message(&e))?;
                    tracing::warn!("{notice}");
                    engine.progress.set_blocking(true);
                    engine.progress.reset_total();
                    Ok(true)
                })
                .await
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// What a sync found on connecting: the server, its sections and, for a
/// delta refresh, the changes to write.
struct Plan {
    client: PlexClient,
    server: ServerInfo,
    sections: Vec<Section>,
    changes: Option<delta::Changes>,
}

/// Why reading deltas stopped.
enum DeltaStop {
    FiltersIgnored,
    Failed(SyncError),
}

/// A Plex client for the current settings.
pub fn client_for(settings: &Settings) -> Result<PlexClient, SyncError> {
    let options = ClientOptions::from_settings(settings).ok_or(SyncError::NotConfigured)?;
    Ok(PlexClient::new(options)?)
}

/// Pages listings from Plex into the writer.
struct Fetcher<'a> {
    client: &'a PlexClient,
    sender: &'a tokio::sync::mpsc::Sender<Batch>,
    progress: &'a Progress,
    page_size: u64,
    concurrency: usize,
}

impl Fetcher<'_> {
    /// Artists or albums of every section, then full genre lists for those
    /// whose listing may have been truncated.
    async fn parents(&self, sections: &[Section], kind: ListKind) -> Result<(), SyncError> {
        let (phase, parent_kind) = match kind {
            ListKind::Artists => (Phase::Artists, ParentKind::Artist),
            _ => (Phase::Albums, ParentKind::Album),
        };
        // Progress counts tracks only; these phases report no numbers.
        self.progress.set_phase(phase);
        for section in sections {
            let total = self.client.count(&section.key, kind).await?;
            stream::iter(plan::page_ranges(total, self.page_size))
                .map(|(start, end)| self.parent_page(section, kind, parent_kind, start, end))
                .buffer_unordered(self.concurrency)
                .try_collect::<()>()
                .await?;
        }
        Ok(())
    }

    async fn parent_page(
        &self,
        section: &Section,
        kind: ListKind,
        parent_kind: ParentKind,
        start: u64,
        end: u64,
    ) -> Result<(), SyncError> {
        let mut walk = PageWalk::new((start, end), self.page_size);
        while let Some(want) = walk.want() {
            let page = self
                .client
                .parent_page(&section.key, kind, walk.offset, want)
                .await?;
            let more = walk.advance(want, page.items.len() as u64, page.total);
            // Listings show at most three genres: fetch the full records.
            let truncated: Vec<String> = page
                .items
                .iter()
                .filter(|p| p.genres.len() >= 3)
                .map(|p| p.rating_key.clone())
                .collect();
            send(self.sender, Batch::Parents(parent_kind, page.items)).await?;
            for keys in truncated.chunks(METADATA_BATCH) {
                let full: Vec<Parent> = self.client.parents_by_keys(keys).await?;
                send(self.sender, Batch::ParentGenres(full)).await?;
            }
            if !more {
                break;
            }
        }
        Ok(())
    }

    /// Pages every section's tracks; if the library changed meanwhile
    /// (totals moved, or the distinct count misses the final total), starts
    /// the tracks over.
    async fn tracks_until_stable(&self, sections: &[Section]) -> Result<u32, SyncError> {
        let mut previous_duplicates = None;
        for pass in 1..=MAX_PASSES {
            if pass > 1 {
                tracing::warn!(
                    pass,
                    "the library changed during the sync; reading the tracks again"
                );
                send(self.sender, Batch::RestartTracks).await?;
            }
            self.progress.set_phase(Phase::Tracks);
            // Count every section first so progress has its real total.
            let mut first_totals = Vec::with_capacity(sections.len());
            for section in sections {
                first_totals.push(self.client.count(&section.key, ListKind::Tracks).await?);
            }
            let known: Option<u64> = first_totals.iter().copied().sum();
            self.progress.set_total(known);
            let mut totals_moved = false;
            let mut expected = Some(0u64);
            let keys = Mutex::new(PassKeys::default());
            for (section, first_total) in sections.iter().zip(first_totals) {
                let seen_totals = self.track_pages(section, first_total, &keys).await?;
                let final_total = self.client.count(&section.key, ListKind::Tracks).await?;
                totals_moved |= seen_totals.iter().any(|t| Some(*t) != first_total)
                    || final_total != first_total;
                expected = expected.zip(final_total).map(|(a, b)| a + b);
            }
            let (reply, answer) = oneshot::channel();
            send(self.sender, Batch::Count(reply)).await?;
            let distinct = answer.await.map_err(|_| writer_gone())?? as u64;
            let keys = keys.into_inner_unpoisoned();
            let figures = PassFigures {
                totals_moved,
                expected,
                distinct,
                keys: &keys,
                previous_duplicates: previous_duplicates.as_ref(),
            };
            match check_pass(&figures) {
                PassCheck::Complete => return Ok(pass),
                PassCheck::Duplicated => {
                    warn_duplicates(&keys);
                    return Ok(pass);
                }
                PassCheck::Changed => self.progress.reset_current(),
            }
            previous_duplicates = Some(keys.duplicates);
        }
        Err(SyncError::Unstable(MAX_PASSES))
    }

    /// Fetches one section's tracks with bounded concurrency; returns every
    /// `totalSize` the pages reported.
    async fn track_pages(
        &self,
        section: &Section,
        total: Option<u64>,
        keys: &Mutex<PassKeys>,
    ) -> Result<Vec<u64>, SyncError> {
        let totals: Vec<Vec<u64>> = stream::iter(plan::page_ranges(total, self.page_size))
            .map(|(start, end)| self.track_range(section, start, end, keys))
            .buffer_unordered(self.concurrency)
            .try_collect()
            .await?;
        Ok(totals.into_iter().flatten().collect())
    }

    /// Fetches `[start, end)`, asking again when a server caps its page size.
    async fn track_range(
        &self,
        section: &Section,
        start: u64,
        end: u64,
        keys: &Mutex<PassKeys>,
    ) -> Result<Vec<u64>, SyncError> {
        let mut walk = PageWalk::new((start, end), self.page_size);
        let mut totals = Vec::new();
        while let Some(want) = walk.want() {
            let page = self
                .client
                .track_page(&section.key, walk.offset, want)
                .await?;
            let got = page.items.len() as u64;
            totals.extend(page.total);
            let more = walk.advance(want, got, page.total);
            self.progress.advance(got);
            {
                let mut keys = keys.lock_unpoisoned();
                page.items.iter().for_each(|t| keys.add(&t.rating_key));
            }
            if got > 0 {
                send(self.sender, Batch::Tracks(section.key.clone(), page.items)).await?;
            }
            if !more {
                break;
            }
        }
        Ok(totals)
    }
}

/// Says which tracks the server listed more than once (a few of them).
fn warn_duplicates(keys: &PassKeys) {
    const SHOWN: usize = 10;
    let shown: Vec<&str> = keys
        .duplicates
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect();
    tracing::warn!(
        tracks = keys.duplicates.len(),
        repeats = keys.repeats,
        "Plex lists some tracks more than once; one of each is kept (rating keys {})",
        shown.join(", ")
    );
}

async fn send(sender: &tokio::sync::mpsc::Sender<Batch>, batch: Batch) -> Result<(), SyncError> {
    sender.send(batch).await.map_err(|_| writer_gone())
}

/// The writer stopped early; its own error (collected later) says why.
fn writer_gone() -> SyncError {
    SyncError::Store(StoreError::WriterStopped)
}
