//! The delta refresh: brings a cache that had a full sync of this server up
//! to date by asking Plex only for what moved since the cache's cursors,
//! then applies it all in one patch (a failure anywhere changes nothing).
//!
//! 0. Sections whose `contentChangedAt` is where the last sync or refresh
//!    saw it had no content change: only their plays and ratings (the
//!    `lastViewedAt` and `lastRatedAt` deltas) are asked for. Sections are
//!    read at once, and so are a section's listings.
//! 1. Tracks whose `updatedAt`, `lastViewedAt` or `lastRatedAt` passed the
//!    cursors, and albums and artists whose `updatedAt` did and whose
//!    listed record differs from the cached one (their full records, and
//!    their cached tracks again: tracks inherit album and artist fields,
//!    and Plex does not move a track's `updatedAt` when its album is
//!    edited).
//! 2. Reconcile, for what deltas never show (deletions) or missed: a size-0
//!    count of each section's tracks against the cache's count after the
//!    deltas. Only when they differ is the album listing paged (about a
//!    tenth of the tracks' size) and each album's `leafCount` compared
//!    with the cache: albums gone take their tracks along; for albums whose
//!    count differs, the album's track keys decide which cached tracks are
//!    gone and which tracks are missing.
//!
//! The same [`Changes`] apply the live listener's batches.

use std::collections::{HashMap, HashSet};

use crate::model::SyncState;
use crate::plex::{
    AlbumCount, DeltaField, ListKind, Parent, PlexClient, Section, ServerInfo, Since, Track,
};
use crate::store::patch::{PatchFinish, PatchReport};
use crate::store::write::ParentKind;
use crate::store::{CachedParent, Store, StoreError};

use super::SyncError;
use super::derive::{cap_parent, cap_track, new_track};
use super::plan::PageWalk;

/// Metadata requests ask for this many albums or artists at once.
const PARENT_BATCH: usize = 100;

/// Listings show at most this many genres of an album or artist.
const LISTED_GENRES: usize = 3;

/// Whether the cache can be refreshed by deltas: a full sync of this same
/// server over the same sections, with cursors. Otherwise a full sync.
pub fn delta_possible(state: &SyncState, server: &ServerInfo, sections: &[Section]) -> bool {
    let mut wanted: Vec<&str> = sections.iter().map(|s| s.key.as_str()).collect();
    let mut cached: Vec<&str> = state.synced_sections.iter().map(String::as_str).collect();
    wanted.sort_unstable();
    cached.sort_unstable();
    state.machine_identifier.as_deref() == Some(server.machine_identifier.as_str())
        && state.full_synced_at.is_some()
        && state.cursors.updated_at.is_some()
        && !cached.is_empty()
        && wanted == cached
}

/// What a refresh or a live batch changes, before it is written.
#[derive(Debug, Default)]
pub struct Changes {
    /// Albums and artists with their full records.
    pub parents: Vec<(ParentKind, Parent)>,
    /// Tracks to insert or update, by key, with their section.
    pub tracks: HashMap<String, (String, Track)>,
    pub removed_tracks: HashSet<String>,
    pub removed_parents: HashSet<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.parents.is_empty()
            && self.tracks.is_empty()
            && self.removed_tracks.is_empty()
            && self.removed_parents.is_empty()
    }

    /// Tracks fetched by key for `section`: those the server places in
    /// another section are not this section's to take.
    pub fn add_fetched(&mut self, section: &str, tracks: Vec<(Option<String>, Track)>) {
        let ours = tracks
            .into_iter()
            .filter(|(s, _)| s.as_deref().is_none_or(|s| s == section))
            .map(|(_, t)| t)
            .collect();
        self.add_tracks(section, ours);
    }

    /// Adds the changes read for another section. A track one section lists
    /// stays even when another found it gone from there: it moved.
    pub fn merge(&mut self, other: Changes) {
        self.parents.extend(other.parents);
        self.tracks.extend(other.tracks);
        self.removed_tracks.extend(other.removed_tracks);
        self.removed_parents.extend(other.removed_parents);
        let tracks = &self.tracks;
        self.removed_tracks.retain(|k| !tracks.contains_key(k));
    }

    pub fn add_tracks(&mut self, section: &str, tracks: Vec<Track>) {
        for t in tracks {
            self.removed_tracks.remove(&t.rating_key);
            self.tracks
                .insert(t.rating_key.clone(), (section.to_owned(), t));
        }
    }

    /// Writes every change in one transaction; nothing is written unless
    /// all of it is.
    pub fn apply(self, store: &Store, finish: &PatchFinish<'_>) -> Result<PatchReport, StoreError> {
        let mut patch = store.patch_library()?;
        for (kind, mut p) in self.parents {
            cap_parent(&mut p);
            patch.upsert_parent(
                kind,
                &p.rating_key,
                p.parent_key.as_deref(),
                p.title.as_deref(),
                p.year,
                p.updated_at,
                &p.genres,
            )?;
        }
        for key in &self.removed_tracks {
            patch.remove_track(key)?;
        }
        for key in &self.removed_parents {
            patch.remove_parent(key)?;
        }
        let mut tracks: Vec<(String, Track)> = self.tracks.into_values().collect();
        // Keys in order: the same input writes the same rows.
        tracks.sort_by(|a, b| a.1.rating_key.cmp(&b.1.rating_key));
        for (section, mut t) in tracks {
            cap_track(&mut t);
            let info = patch.parent_info(t.album_key.as_deref(), t.artist_key.as_deref())?;
            patch.upsert_track(&new_track(&t, &section, &info))?;
        }
        patch.finish(finish)
    }
}

/// Each section's `contentChangedAt`, as a sync records them.
pub fn section_markers(sections: &[Section]) -> Vec<(String, i64)> {
    sections
        .iter()
        .filter_map(|s| Some((s.key.clone(), s.markers.content_changed_at?)))
        .collect()
}

/// Reads what changed on the server since the cursors of `state`.
pub struct DeltaReader<'a> {
    client: &'a PlexClient,
    store: &'a Store,
    state: &'a SyncState,
    page_size: u64,
    /// The cache's tracks per section, counted once (one scan) for every
    /// section that needs its count.
    cached_counts: tokio::sync::OnceCell<HashMap<String, u64>>,
}

/// What a section's delta listings hold.
struct Listed {
    /// Tracks of the `updatedAt`, `lastViewedAt` and `lastRatedAt` deltas.
    tracks: Vec<Vec<Track>>,
    /// Artists and albums of the `updatedAt` deltas.
    parents: Vec<(ParentKind, Vec<Parent>)>,
    /// The section's track count on the server and in the cache, when the
    /// section's content changed.
    counts: Option<(Option<u64>, u64)>,
}

impl<'a> DeltaReader<'a> {
    pub fn new(
        client: &'a PlexClient,
        store: &'a Store,
        state: &'a SyncState,
        page_size: u64,
    ) -> Self {
        DeltaReader {
            client,
            store,
            state,
            page_size,
            cached_counts: tokio::sync::OnceCell::new(),
        }
    }

    /// Everything that changed in `sections`, all sections read at once.
    pub async fn read(&self, sections: &[Section]) -> Result<Changes, SyncError> {
        let parts = futures::future::try_join_all(sections.iter().map(|s| self.section(s))).await?;
        let mut changes = Changes::default();
        for part in parts {
            changes.merge(part);
        }
        Ok(changes)
    }

    /// Whether Plex says the section's content changed since the cache read
    /// it (an unknown marker on either side counts as changed).
    fn content_changed(&self, section: &Section) -> bool {
        let recorded = self.state.section_markers.get(&section.key).copied();
        match (recorded, section.markers.content_changed_at) {
            (Some(recorded), Some(now)) => recorded != now,
            _ => true,
        }
    }

    async fn section(&self, section: &Section) -> Result<Changes, SyncError> {
        let mut changes = Changes::default();
        let key = section.key.as_str();
        let listed = if self.content_changed(section) {
            self.list_all(key).await?
        } else {
            self.list_plays_and_ratings(key).await?
        };
        for tracks in listed.tracks {
            changes.add_tracks(key, tracks);
        }
        let mut changed_parents = Vec::new();
        for (kind, listed) in listed.parents {
            let keys = self.changed_parents(kind, listed).await?;
            changed_parents.extend(keys.iter().cloned());
            self.add_parents(kind, &keys, &mut changes).await?;
        }
        // Tracks inherit album and artist fields, and Plex does not move a
        // track's `updatedAt` when its album is edited: send them again.
        let store = self.store.clone();
        let mut refetch = blocking(move || store.track_keys_of_parents(&changed_parents)).await?;
        refetch.retain(|k| !changes.tracks.contains_key(k));
        let tracks = self.client.tracks_by_keys(&refetch).await?;
        changes.add_fetched(key, tracks);
        if let Some((server_total, cached_total)) = listed.counts {
            self.reconcile(key, server_total, cached_total, &mut changes)
                .await?;
        }
        self.missing_parents(key, &mut changes).await?;
        Ok(changes)
    }

    /// Every delta listing of a section and its track counts, asked at once:
    /// a slow server's latency is paid about once instead of six times.
    async fn list_all(&self, section: &str) -> Result<Listed, SyncError> {
        let cursors = self.state.cursors;
        let parents_since = since(DeltaField::UpdatedAt, cursors.parents_at);
        let cached_count = async {
            let counts = self
                .cached_counts
                .get_or_try_init(|| {
                    let store = self.store.clone();
                    blocking(move || {
                        Ok(store
                            .section_track_counts()?
                            .into_iter()
                            .map(|(s, n)| (s, n.max(0) as u64))
                            .collect())
                    })
                })
                .await?;
            Ok::<_, SyncError>(counts.get(section).copied().unwrap_or(0))
        };
        let (updated, viewed, rated, artists, albums, server_total, cached_total) = futures::try_join!(
            self.delta_tracks(section, since(DeltaField::UpdatedAt, cursors.updated_at)),
            self.delta_tracks(section, since(DeltaField::LastViewedAt, cursors.viewed_at)),
            self.delta_tracks(section, since(DeltaField::LastRatedAt, cursors.rated_at)),
            self.delta_parents(section, ListKind::Artists, parents_since),
            self.delta_parents(section, ListKind::Albums, parents_since),
            async { Ok(self.client.count(section, ListKind::Tracks).await?) },
            cached_count,
        )?;
        Ok(Listed {
            tracks: vec![updated, viewed, rated],
            parents: vec![(ParentKind::Artist, artists), (ParentKind::Album, albums)],
            counts: Some((server_total, cached_total)),
        })
    }

    /// A section whose content did not change: only plays and ratings can
    /// have moved (they leave `contentChangedAt` alone).
    async fn list_plays_and_ratings(&self, section: &str) -> Result<Listed, SyncError> {
        let cursors = self.state.cursors;
        let (viewed, rated) = futures::try_join!(
            self.delta_tracks(section, since(DeltaField::LastViewedAt, cursors.viewed_at)),
            self.delta_tracks(section, since(DeltaField::LastRatedAt, cursors.rated_at)),
        )?;
        Ok(Listed {
            tracks: vec![viewed, rated],
            parents: Vec::new(),
            counts: None,
        })
    }

    /// Keys of the listed parents that differ from the cache. A delta asks
    /// from the cursor's own second, so what the cache already holds comes
    /// again; a record equal to the cached one (same `updatedAt` and
    /// fields) changed nothing and costs no request.
    async fn changed_parents(
        &self,
        kind: ParentKind,
        listed: Vec<Parent>,
    ) -> Result<Vec<String>, SyncError> {
        if listed.is_empty() {
            return Ok(Vec::new());
        }
        let store = self.store.clone();
        let keys: Vec<String> = listed.iter().map(|p| p.rating_key.clone()).collect();
        let cached = blocking(move || store.cached_parents(kind, &keys)).await?;
        Ok(listed
            .into_iter()
            .filter(|p| {
                cached
                    .get(&p.rating_key)
                    .is_none_or(|c| !listing_matches(kind, p, c))
            })
            .map(|p| p.rating_key)
            .collect())
    }

    /// Full records of parents, added to the changes.
    async fn add_parents(
        &self,
        kind: ParentKind,
        keys: &[String],
        changes: &mut Changes,
    ) -> Result<(), SyncError> {
        for batch in keys.chunks(PARENT_BATCH) {
            let full = self.client.parents_by_keys(batch).await?;
            changes.parents.extend(full.into_iter().map(|p| (kind, p)));
        }
        Ok(())
    }

    /// Albums and artists of new tracks that the cache does not hold yet.
    async fn missing_parents(&self, section: &str, changes: &mut Changes) -> Result<(), SyncError> {
        let known: HashSet<String> = changes
            .parents
            .iter()
            .map(|(_, p)| p.rating_key.clone())
            .collect();
        for (kind, of) in [
            (
                ParentKind::Artist,
                (|t: &Track| t.artist_key.clone()) as fn(&Track) -> _,
            ),
            (ParentKind::Album, |t: &Track| t.album_key.clone()),
        ] {
            let mut wanted: Vec<String> = changes
                .tracks
                .values()
                .filter(|(s, _)| s == section)
                .filter_map(|(_, t)| of(t))
                .filter(|k| !known.contains(k))
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let store = self.store.clone();
            let asked = wanted.clone();
            let cached = blocking(move || store.cached_parents(kind, &asked)).await?;
            wanted.retain(|k| !cached.contains_key(k));
            wanted.sort();
            self.add_parents(kind, &wanted, changes).await?;
        }
        Ok(())
    }

    /// Deletions and misses: see the module's documentation.
    async fn reconcile(
        &self,
        section: &str,
        server_total: Option<u64>,
        cached_total: u64,
        changes: &mut Changes,
    ) -> Result<(), SyncError> {
        let delta_keys: Vec<String> = changes.tracks.keys().cloned().collect();
        let store = self.store.clone();
        let known: HashSet<String> = blocking(move || store.known_keys(&delta_keys))
            .await?
            .into_iter()
            .collect();
        let new_tracks: Vec<&Track> = changes
            .tracks
            .values()
            .filter(|(s, t)| s == section && !known.contains(&t.rating_key))
            .map(|(_, t)| t)
            .collect();
        if server_total == Some(cached_total + new_tracks.len() as u64) {
            return Ok(());
        }
        let mut cached: HashMap<String, i64> = {
            let store = self.store.clone();
            let key = section.to_owned();
            blocking(move || store.album_track_counts(&key))
                .await?
                .into_iter()
                .collect()
        };
        for album in new_tracks.iter().filter_map(|t| t.album_key.as_ref()) {
            *cached.entry(album.clone()).or_default() += 1;
        }
        let listed = self.album_counts(section).await?;
        let plan = reconcile_plan(&cached, &listed);
        let mut missing = Vec::new();
        for album in &plan.gone {
            changes.removed_parents.insert(album.clone());
            for key in self.cached_keys_of_album(album).await? {
                if !changes.tracks.contains_key(&key) {
                    changes.removed_tracks.insert(key);
                }
            }
        }
        for album in &plan.differ {
            let on_server: HashSet<String> = self
                .client
                .child_keys(album, self.page_size)
                .await?
                .into_iter()
                .collect();
            let here: HashSet<String> = self
                .cached_keys_of_album(album)
                .await?
                .into_iter()
                .collect();
            for key in here.difference(&on_server) {
                if !changes.tracks.contains_key(key) {
                    changes.removed_tracks.insert(key.clone());
                }
            }
            missing.extend(
                on_server
                    .difference(&here)
                    .filter(|k| !changes.tracks.contains_key(*k))
                    .cloned(),
            );
        }
        missing.sort();
        let tracks = self.client.tracks_by_keys(&missing).await?;
        changes.add_fetched(section, tracks);
        Ok(())
    }

    async fn cached_keys_of_album(&self, album: &str) -> Result<Vec<String>, SyncError> {
        let store = self.store.clone();
        let album = album.to_owned();
        blocking(move || store.track_keys_of_album(&album)).await
    }

    /// Every album of a section with its track count.
    async fn album_counts(&self, section: &str) -> Result<Vec<AlbumCount>, SyncError> {
        let mut albums = Vec::new();
        let mut walk = PageWalk::new((0, u64::MAX), self.page_size);
        while let Some(want) = walk.want() {
            let page = self
                .client
                .album_count_page(section, walk.offset, want)
                .await?;
            let more = walk.advance(want, page.items.len() as u64, page.total);
            albums.extend(page.items);
            if !more {
                break;
            }
        }
        Ok(albums)
    }

    /// Every track listed as changed since `since`.
    async fn delta_tracks(&self, section: &str, since: Since) -> Result<Vec<Track>, SyncError> {
        let mut tracks = Vec::new();
        let mut walk = PageWalk::new((0, u64::MAX), self.page_size);
        while let Some(want) = walk.want() {
            let page = self
                .client
                .delta_track_page(section, since, walk.offset, want)
                .await?;
            let more = walk.advance(want, page.items.len() as u64, page.total);
            tracks.extend(page.items);
            if !more {
                break;
            }
        }
        Ok(tracks)
    }

    /// The albums or artists listed as changed since `since`.
    async fn delta_parents(
        &self,
        section: &str,
        kind: ListKind,
        since: Since,
    ) -> Result<Vec<Parent>, SyncError> {
        let mut parents = Vec::new();
        let mut walk = PageWalk::new((0, u64::MAX), self.page_size);
        while let Some(want) = walk.want() {
            let page = self
                .client
                .delta_parent_page(section, kind, since, walk.offset, want)
                .await?;
            let more = walk.advance(want, page.items.len() as u64, page.total);
            parents.extend(page.items);
            if !more {
                break;
            }
        }
        Ok(parents)
    }
}

/// Items whose `field` is at or after `cursor`, the largest such time the
/// cache holds (so its own second comes again). No cursor (nothing ever
/// played or rated): everything with the field set.
fn since(field: DeltaField, cursor: Option<i64>) -> Since {
    Since {
        field,
        cursor: cursor.unwrap_or(0),
    }
}

/// Whether a listed album or artist is the cached one: same `updatedAt`,
/// title, year, artist and genres (an artist's year and parent the cache
/// does not keep). Listings show at most three genres, so three listed
/// genres need only begin the cached list.
fn listing_matches(kind: ParentKind, listed: &Parent, cached: &CachedParent) -> bool {
    let mut listed = listed.clone();
    cap_parent(&mut listed);
    if kind == ParentKind::Artist {
        listed.year = None;
        listed.parent_key = None;
    }
    let genres = if listed.genres.len() >= LISTED_GENRES {
        cached.genres.starts_with(&listed.genres)
    } else {
        cached.genres == listed.genres
    };
    listed.updated_at.is_some()
        && listed.updated_at == cached.updated_at
        && listed.title == cached.title
        && listed.year == cached.year
        && listed.parent_key == cached.parent_key
        && genres
}

/// Which albums the reconcile looks into.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReconcilePlan {
    /// Cached albums the server no longer lists.
    pub gone: Vec<String>,
    /// Albums whose track count differs from the cache's.
    pub differ: Vec<String>,
}

/// Compares the server's album listing with the cache's track counts per
/// album (already counting the tracks the deltas add). An album without a
/// `leafCount` is looked into whenever the cache holds it or not.
pub fn reconcile_plan(cached: &HashMap<String, i64>, listed: &[AlbumCount]) -> ReconcilePlan {
    let on_server: HashSet<&str> = listed.iter().map(|a| a.rating_key.as_str()).collect();
    let mut gone: Vec<String> = cached
        .iter()
        .filter(|(k, n)| **n > 0 && !on_server.contains(k.as_str()))
        .map(|(k, _)| k.clone())
        .collect();
    gone.sort();
    let differ = listed
        .iter()
        .filter(|a| {
            let here = cached.get(&a.rating_key).copied().unwrap_or(0).max(0) as u64;
            a.tracks != Some(here)
        })
        .map(|a| a.rating_key.clone())
        .collect();
    ReconcilePlan { gone, differ }
}

/// Store reads off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, SyncError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => Ok(result?),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(SyncError::Cancelled),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(items: &[(&str, Option<u64>)]) -> Vec<AlbumCount> {
        items
            .iter()
            .map(|(k, n)| AlbumCount {
                rating_key: (*k).into(),
                tracks: *n,
            })
            .collect()
    }

    #[test]
    fn the_reconcile_looks_only_into_albums_gone_or_counted_differently() {
        let cached: HashMap<String, i64> = [
            ("a".into(), 3),
            ("b".into(), 2),
            ("c".into(), 5),
            ("z".into(), 0),
        ]
        .into();
        let plan = reconcile_plan(
            &cached,
            &listed(&[("a", Some(3)), ("b", Some(1)), ("d", Some(4)), ("e", None)]),
        );
        assert_eq!(plan.gone, vec!["c".to_owned()]);
        assert_eq!(plan.differ, vec!["b".to_owned(), "d".into(), "e".into()]);
        let same = reconcile_plan(
            &cached,
            &listed(&[("a", Some(3)), ("b", Some(2)), ("c", Some(5))]),
        );
        assert_eq!(same, ReconcilePlan::default());
    }

    #[test]
    fn a_listed_parent_matches_the_cached_one_field_by_field() {
        let cached = CachedParent {
            parent_key: Some("r1".into()),
            title: Some("Blue".into()),
            year: Some(1971),
            updated_at: Some(100),
            genres: vec!["Folk".into(), "Pop".into(), "Rock".into(), "Jazz".into()],
        };
        let listed = Parent {
            rating_key: "a1".into(),
            parent_key: Some("r1".into()),
            title: Some("Blue".into()),
            year: Some(1971),
            // Listings show the first three genres only.
            genres: vec!["Folk".into(), "Pop".into(), "Rock".into()],
            deleted_at: None,
            updated_at: Some(100),
        };
        assert!(listing_matches(ParentKind::Album, &listed, &cached));
        let differs = |change: fn(&mut Parent)| {
            let mut p = listed.clone();
            change(&mut p);
            !listing_matches(ParentKind::Album, &p, &cached)
        };
        assert!(differs(|p| p.updated_at = Some(101)));
        assert!(differs(|p| p.updated_at = None));
        assert!(differs(|p| p.title = Some("Blue (Remastered)".into())));
        assert!(differs(|p| p.year = None));
        assert!(differs(|p| p.parent_key = Some("r2".into())));
        assert!(differs(|p| p.genres[2] = "Soul".into()));
        // Fewer than three listed genres are the whole list.
        assert!(differs(|p| p.genres.truncate(2)));
        let two = CachedParent {
            genres: vec!["Folk".into(), "Pop".into()],
            ..cached.clone()
        };
        let mut p = listed.clone();
        p.genres.truncate(2);
        assert!(listing_matches(ParentKind::Album, &p, &two));
        // An artist's year and parent are not cached: they never differ.
        let artist = CachedParent {
            parent_key: None,
            year: None,
            ..cached.clone()
        };
        assert!(listing_matches(ParentKind::Artist, &listed, &artist));
        assert!(!listing_matches(ParentKind::Album, &listed, &artist));
    }

    fn state(machine: &str, sections: &[&str], cursor: Option<i64>) -> SyncState {
        SyncState {
            machine_identifier: Some(machine.into()),
            full_synced_at: Some(1),
            synced_sections: sections.iter().map(|s| (*s).to_owned()).collect(),
            cursors: crate::model::Cursors {
                updated_at: cursor,
                ..Default::default()
            },
            ..SyncState::default()
        }
    }

    fn section(key: &str) -> Section {
        Section {
            key: key.into(),
            title: key.into(),
            kind: "artist".into(),
            markers: Default::default(),
        }
    }

    #[test]
    fn deltas_need_a_full_sync_of_the_same_server_and_sections_with_cursors() {
        let server = ServerInfo {
            machine_identifier: "m".into(),
            name: "Home".into(),
            version: "1".into(),
        };
        let both = [section("2"), section("1")];
        assert!(delta_possible(
            &state("m", &["1", "2"], Some(5)),
            &server,
            &both
        ));
        assert!(!delta_possible(
            &state("other", &["1", "2"], Some(5)),
            &server,
            &both
        ));
        assert!(!delta_possible(
            &state("m", &["1"], Some(5)),
            &server,
            &both
        ));
        assert!(!delta_possible(
            &state("m", &["1", "2"], None),
            &server,
            &both
        ));
        assert!(!delta_possible(&state("m", &[], Some(5)), &server, &[]));
        let mut never_full = state("m", &["1", "2"], Some(5));
        never_full.full_synced_at = None;
        assert!(!delta_possible(&never_full, &server, &both));
    }
}
