//! Live updates: while Plex is configured and the cache holds a full sync,
//! the notification stream stays open. Every connect (and reconnect, with
//! back-off from 1 s to 30 s) first catches up with a delta refresh; the
//! library is live from then until the stream drops. Timeline entries of
//! cached sections (tracks done or deleted; albums and artists done) and
//! finished plays are collected until the events pause for 250 ms (or 1 s
//! after the first), then the touched items are fetched in batches and
//! written in one patch. Ratings send no event: while live, a size-0 count
//! of tracks rated since the cursor runs every minute.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::time::Instant;

use super::{Library, LibraryChange, unblock};
use crate::plex::{
    DeltaField, ListKind, Notification, PlexClient, PlexError, Since, TimelineEntry,
};
use crate::store::patch::PatchFinish;
use crate::store::write::ParentKind;
use crate::sync::delta::Changes;
use crate::sync::{SyncError, SyncMode, client_for, error_message};

/// Quiet time that ends a batch of events.
const DEBOUNCE_QUIET: Duration = Duration::from_millis(250);
/// Longest a batch waits after its first event.
const DEBOUNCE_MAX: Duration = Duration::from_secs(1);
/// Reconnection back-off bounds.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How often ratings are looked for while live.
const RATING_CHECK: Duration = Duration::from_secs(60);
/// How long to wait before looking again while live updates cannot run
/// (Plex not configured, no full sync yet).
const NOT_READY_WAIT: Duration = Duration::from_secs(2);

const TRACK: i64 = 10;
const ALBUM: i64 = 9;
const ARTIST: i64 = 8;
const STATE_DONE: i64 = 5;
const STATE_DELETED: i64 = 9;

/// Events collected for one batch.
#[derive(Debug, Default)]
pub struct Pending {
    /// Tracks to fetch, by section.
    tracks: HashMap<String, HashSet<String>>,
    /// Tracks Plex says are deleted, by section.
    deleted: HashMap<String, HashSet<String>>,
    /// Albums and artists to fetch, by section.
    parents: HashMap<String, HashSet<(u8, String)>>,
    /// Parents Plex says are deleted.
    deleted_parents: HashSet<String>,
    /// Tracks played: refetched when the cache holds them.
    played: HashSet<String>,
    first: Option<Instant>,
    last: Option<Instant>,
}

impl Pending {
    /// When the batch is due: 250 ms after the last event, at most 1 s
    /// after the first.
    pub fn due(&self) -> Option<Instant> {
        Some((self.last? + DEBOUNCE_QUIET).min(self.first? + DEBOUNCE_MAX))
    }

    /// Takes a notification; what concerns no cached section is noise.
    pub fn take(&mut self, n: Notification, sections: &HashSet<String>, now: Instant) {
        let before = self.size();
        match n {
            Notification::Timeline(entries) => {
                for e in entries {
                    self.timeline(e, sections);
                }
            }
            Notification::Playing(entries) => {
                self.played.extend(
                    entries
                        .into_iter()
                        .filter(|p| p.state.as_deref() == Some("stopped"))
                        .filter_map(|p| p.rating_key)
                        .filter(|k| k != "0"),
                );
            }
            _ => {}
        }
        if self.size() != before {
            self.first.get_or_insert(now);
            self.last = Some(now);
        }
    }

    fn size(&self) -> usize {
        let n = |m: &HashMap<String, HashSet<String>>| m.values().map(HashSet::len).sum::<usize>();
        n(&self.tracks)
            + n(&self.deleted)
            + self.parents.values().map(HashSet::len).sum::<usize>()
            + self.deleted_parents.len()
            + self.played.len()
    }

    fn timeline(&mut self, e: TimelineEntry, sections: &HashSet<String>) {
        let Some(section) = e.section_id.filter(|s| sections.contains(s)) else {
            return;
        };
        if e.item_id == "0" || e.item_id.is_empty() {
            return;
        }
        match (e.kind, e.state) {
            (Some(TRACK), Some(STATE_DONE)) => {
                self.tracks.entry(section).or_default().insert(e.item_id);
            }
            (Some(TRACK), Some(STATE_DELETED)) => {
                self.deleted.entry(section).or_default().insert(e.item_id);
            }
            (Some(kind @ (ALBUM | ARTIST)), Some(STATE_DONE)) => {
                self.parents
                    .entry(section)
                    .or_default()
                    .insert((kind as u8, e.item_id));
            }
            (Some(ALBUM | ARTIST), Some(STATE_DELETED)) => {
                self.deleted_parents.insert(e.item_id);
            }
            _ => {}
        }
    }
}

/// The outcome of one batch.
struct Applied {
    change: LibraryChange,
    /// Some deletion could not be confirmed: a delta refresh should look.
    unsure: bool,
}

impl Library {
    /// Starts following Plex live, in the background.
    pub(super) fn start_live(&self) {
        let library = self.clone();
        self.tasks.spawn(async move { library.live_loop().await });
    }

    async fn live_loop(&self) {
        let mut backoff = BACKOFF_MIN;
        loop {
            if self.shutdown.is_cancelled() {
                return;
            }
            if !self.live_ready() {
                self.set_live(false);
                if self.pause(NOT_READY_WAIT).await {
                    return;
                }
                continue;
            }
            match self.live_session().await {
                Ok(connected) => {
                    if connected {
                        backoff = BACKOFF_MIN;
                    }
                }
                Err(e) => {
                    tracing::info!(error = %error_message(&e), "live updates stopped; reconnecting in {backoff:?}");
                }
            }
            self.set_live(false);
            if self.pause(backoff).await {
                return;
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// Sleeps; true when the library stops meanwhile.
    async fn pause(&self, wait: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(wait) => false,
            () = self.shutdown.cancelled() => true,
        }
    }

    /// Plex is configured and the cache holds a full sync to follow.
    fn live_ready(&self) -> bool {
        let settings = self.settings();
        settings.live_updates
            && settings.plex_configured()
            && self.sync_state().full_synced_at.is_some()
    }

    /// One connection: catch up, then follow events until the stream ends.
    /// `Ok(true)` when it was live before it ended.
    async fn live_session(&self) -> Result<bool, SyncError> {
        let client = client_for(&self.settings())?;
        let mut stream = client.notifications().await?;
        self.catch_up().await?;
        let sections: HashSet<String> = self.sync_state().synced_sections.into_iter().collect();
        self.set_live(true);
        tracing::info!("following Plex live");
        let mut pending = Pending::default();
        let mut ratings = tokio::time::interval(RATING_CHECK);
        ratings.tick().await;
        loop {
            let due = pending.due();
            tokio::select! {
                next = stream.next() => match next? {
                    Some(n) => pending.take(n, &sections, Instant::now()),
                    None => return Ok(true),
                },
                () = sleep_until(due) => {
                    let batch = std::mem::take(&mut pending);
                    self.apply_batch(&client, batch).await?;
                }
                _ = ratings.tick() => self.check_ratings(&client).await?,
                // New settings: connect again (or stop) with them.
                () = self.live_restart.notified() => return Ok(true),
                () = self.shutdown.cancelled() => return Ok(true),
            }
        }
    }

    /// A delta refresh (or a full sync when one is needed), waiting for a
    /// running sync to end first.
    async fn catch_up(&self) -> Result<(), SyncError> {
        loop {
            match self.sync_now(SyncMode::Auto).await {
                Err(SyncError::AlreadyRunning) => {
                    if self.pause(Duration::from_millis(200)).await {
                        return Err(SyncError::Cancelled);
                    }
                }
                other => return other.map(|_| ()),
            }
        }
    }

    /// Ratings move no event and no `updatedAt`: a size-0 count of tracks
    /// rated after the cursor, and a refresh when there are some.
    async fn check_ratings(&self, client: &PlexClient) -> Result<(), SyncError> {
        let state = self.sync_state();
        let Some(cursor) = state.cursors.rated_at else {
            return self
                .refresh_if_rated(client, &state.synced_sections, 0)
                .await;
        };
        // Strictly after the cursor: tracks rated in its own second are cached.
        self.refresh_if_rated(client, &state.synced_sections, cursor + 1)
            .await
    }

    async fn refresh_if_rated(
        &self,
        client: &PlexClient,
        sections: &[String],
        cursor: i64,
    ) -> Result<(), SyncError> {
        let since = Since {
            field: DeltaField::LastRatedAt,
            cursor,
        };
        for section in sections {
            let rated = client.delta_count(section, ListKind::Tracks, since).await?;
            if rated.unwrap_or(0) > 0 {
                return self.catch_up().await;
            }
        }
        Ok(())
    }

    /// Fetches what a batch touched and writes it in one patch.
    async fn apply_batch(&self, client: &PlexClient, batch: Pending) -> Result<(), SyncError> {
        let slot = self.engine.write_slot().clone();
        let _writing = slot.lock_owned().await;
        let applied = self.fetch_and_apply(client, batch).await?;
        // Counted before the status shows it: what the status shows, the
        // metrics have counted.
        let total = applied.change.added + applied.change.changed + applied.change.removed;
        self.metrics.live_changes_applied(total);
        self.refresh_state().await;
        self.note_change(applied.change);
        drop(_writing);
        if applied.unsure {
            self.catch_up().await?;
        }
        Ok(())
    }

    async fn fetch_and_apply(
        &self,
        client: &PlexClient,
        mut batch: Pending,
    ) -> Result<Applied, SyncError> {
        let mut changes = Changes::default();
        let mut unsure = false;
        self.fetch_played(client, std::mem::take(&mut batch.played), &mut changes)
            .await?;
        for (section, keys) in &batch.parents {
            for (kind, list) in [
                (ARTIST as u8, ParentKind::Artist),
                (ALBUM as u8, ParentKind::Album),
            ] {
                let wanted: Vec<String> = keys
                    .iter()
                    .filter(|(k, _)| *k == kind)
                    .map(|(_, key)| key.clone())
                    .collect();
                for chunk in wanted.chunks(100) {
                    let full = client.parents_by_keys(chunk).await?;
                    changes.parents.extend(full.into_iter().map(|p| (list, p)));
                }
            }
            // Their tracks inherit from them: fetched again (one scan).
            let parents: Vec<String> = keys.iter().map(|(_, key)| key.clone()).collect();
            let store = self.store().clone();
            let tracks = blocking(move || store.track_keys_of_parents(&parents)).await?;
            batch
                .tracks
                .entry(section.clone())
                .or_default()
                .extend(tracks);
        }
        for (section, keys) in &batch.tracks {
            let keys: Vec<String> = keys.iter().cloned().collect();
            let found = client.tracks_by_keys(&keys).await?;
            let got: HashSet<String> = found.iter().map(|(_, t)| t.rating_key.clone()).collect();
            changes.add_fetched(section, found);
            // Done but not there: deleted since, or moved out of reach.
            for key in keys.into_iter().filter(|k| !got.contains(k)) {
                batch
                    .deleted
                    .entry(section.clone())
                    .or_default()
                    .insert(key);
            }
        }
        for keys in batch.deleted.values() {
            let keys: Vec<String> = keys
                .iter()
                .filter(|k| !changes.tracks.contains_key(*k))
                .cloned()
                .collect();
            unsure |= confirm_deleted(client, &keys, &mut changes).await;
        }
        for key in &batch.deleted_parents {
            match client.parents_by_keys(std::slice::from_ref(key)).await {
                Err(PlexError::NotFound { .. }) => {
                    changes.removed_parents.insert(key.clone());
                }
                Ok(_) => {}
                Err(_) => unsure = true,
            }
        }
        if changes.is_empty() {
            return Ok(Applied {
                change: LibraryChange::default(),
                unsure,
            });
        }
        let state = self.sync_state();
        let machine = state.machine_identifier.unwrap_or_default();
        let name = state.server_name.unwrap_or_default();
        let sections = state.synced_sections;
        let store = self.store().clone();
        let report = blocking(move || {
            changes.apply(
                &store,
                &PatchFinish {
                    machine_identifier: &machine,
                    server_name: &name,
                    sections: &sections,
                    markers: &[],
                    refresh: false,
                },
            )
        })
        .await?;
        Ok(Applied {
            change: LibraryChange {
                added: report.added,
                changed: report.changed,
                removed: report.removed,
                at: self.now(),
            },
            unsure,
        })
    }

    /// Played tracks the cache holds, fetched again, each into the section
    /// the server places it in (the only cached one when it names none).
    async fn fetch_played(
        &self,
        client: &PlexClient,
        played: HashSet<String>,
        changes: &mut Changes,
    ) -> Result<(), SyncError> {
        if played.is_empty() {
            return Ok(());
        }
        let played: Vec<String> = played.into_iter().collect();
        let store = self.store().clone();
        let known = blocking(move || store.known_keys(&played)).await?;
        let sections = self.sync_state().synced_sections;
        let only = (sections.len() == 1).then(|| sections[0].clone());
        for (section, track) in client.tracks_by_keys(&known).await? {
            let section = section.filter(|s| sections.contains(s)).or(only.clone());
            if let Some(section) = section {
                changes.add_tracks(&section, vec![track]);
            }
        }
        Ok(())
    }
}

/// Tracks Plex no longer has: a bulk fetch names the ones that exist (one
/// whose keys all are gone answers 404); the rest are gone. Returns true
/// when the fetch failed otherwise, which proves nothing: the tracks stay.
async fn confirm_deleted(client: &PlexClient, keys: &[String], changes: &mut Changes) -> bool {
    if keys.is_empty() {
        return false;
    }
    match client.tracks_by_keys(keys).await {
        Ok(found) => {
            let present: HashSet<&str> = found.iter().map(|(_, t)| t.rating_key.as_str()).collect();
            for key in keys.iter().filter(|k| !present.contains(k.as_str())) {
                changes.removed_tracks.insert(key.clone());
            }
            false
        }
        Err(e) => {
            tracing::warn!(error = %error_message(&e), "cannot confirm deleted tracks; a refresh will look again");
            true
        }
    }
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, SyncError> {
    Ok(unblock(f).await.ok_or(SyncError::Cancelled)??)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plex::PlayingEntry;

    fn entry(section: &str, item: &str, kind: i64, state: i64) -> TimelineEntry {
        TimelineEntry {
            section_id: Some(section.into()),
            item_id: item.into(),
            kind: Some(kind),
            state: Some(state),
        }
    }

    #[test]
    fn only_done_and_deleted_items_of_cached_sections_count() {
        let sections: HashSet<String> = ["1".to_owned()].into();
        let now = Instant::now();
        let mut p = Pending::default();
        p.take(
            Notification::Timeline(vec![
                entry("1", "0", TRACK, STATE_DONE),
                entry("-1", "5", TRACK, STATE_DONE),
                entry("3", "6", TRACK, STATE_DONE),
                entry("1", "7", TRACK, 1),
                entry("1", "8", TRACK, 0),
            ]),
            &sections,
            now,
        );
        p.take(Notification::Activity, &sections, now);
        p.take(Notification::Ping, &sections, now);
        assert_eq!(p.due(), None, "{p:?}");
        p.take(
            Notification::Timeline(vec![
                entry("1", "9", TRACK, STATE_DONE),
                entry("1", "10", TRACK, STATE_DELETED),
                entry("1", "11", ALBUM, STATE_DONE),
                entry("1", "12", ARTIST, STATE_DELETED),
            ]),
            &sections,
            now,
        );
        p.take(
            Notification::Playing(vec![
                PlayingEntry {
                    rating_key: Some("13".into()),
                    state: Some("stopped".into()),
                },
                PlayingEntry {
                    rating_key: Some("14".into()),
                    state: Some("playing".into()),
                },
            ]),
            &sections,
            now,
        );
        assert_eq!(p.tracks["1"], ["9".to_owned()].into());
        assert_eq!(p.deleted["1"], ["10".to_owned()].into());
        assert_eq!(p.parents["1"], [(ALBUM as u8, "11".to_owned())].into());
        assert_eq!(p.deleted_parents, ["12".to_owned()].into());
        assert_eq!(p.played, ["13".to_owned()].into());
    }

    #[test]
    fn a_batch_is_due_after_a_quiet_spell_or_a_second_at_most() {
        let sections: HashSet<String> = ["1".to_owned()].into();
        let start = Instant::now();
        let mut p = Pending::default();
        assert_eq!(p.due(), None);
        let event = |key: &str| Notification::Timeline(vec![entry("1", key, TRACK, STATE_DONE)]);
        p.take(event("1"), &sections, start);
        assert_eq!(p.due(), Some(start + DEBOUNCE_QUIET));
        p.take(event("2"), &sections, start + Duration::from_millis(200));
        assert_eq!(p.due(), Some(start + Duration::from_millis(450)));
        p.take(event("3"), &sections, start + Duration::from_millis(900));
        assert_eq!(p.due(), Some(start + DEBOUNCE_MAX), "capped at a second");
        // Noise does not postpone it.
        p.take(
            Notification::Ping,
            &sections,
            start + Duration::from_millis(950),
        );
        assert_eq!(p.due(), Some(start + DEBOUNCE_MAX));
    }
}
