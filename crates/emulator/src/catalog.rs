//! The served state: the library with its lookup indexes, the cached
//! listing orders, the section markers and the playlists. Lives behind one
//! read-write lock; every change goes through a method here that rebuilds
//! the indexes, drops the cached orders and moves the markers.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

use super::EmulatorError;
use super::effect::{Applied, Effect};
use super::model::{Album, Artist, Library, Playlist, Section, Track};
use super::mutation::{self, Mutation};
use super::order::{self, SortSpec};

/// Which of the library's lists an item lives in, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemRef {
    Artist(usize),
    Album(usize),
    Track(usize),
}

/// The three kinds of `/all` listing of a music section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ListKind {
    Artists,
    Albums,
    Tracks,
}

type OrderKey = (String, ListKind, SortSpec);

/// Maps keyed by rating key. Rating keys are not attacker-chosen on insert,
/// and SipHash cost more than the lookups themselves when rendering pages,
/// so a multiplicative hash stands in.
type KeyMap<V> = HashMap<u64, V, BuildHasherDefault<KeyHasher>>;

#[derive(Debug, Default, Clone, Copy)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// When every section was created: 2010-01-01.
pub(crate) const SECTION_CREATED_AT: i64 = 1_262_304_000;

/// A section's change markers, as `/library/sections` sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Markers {
    /// Moves when the section's content changes.
    pub content_changed_at: i64,
    /// Moves with content changes too.
    pub updated_at: i64,
    /// Moves on every scan, even one that finds nothing.
    pub scanned_at: i64,
}

impl Markers {
    fn at(time: i64) -> Markers {
        Markers {
            content_changed_at: time,
            updated_at: time,
            scanned_at: time,
        }
    }
}

pub(crate) struct Catalog {
    library: Library,
    playlists: Vec<Playlist>,
    items: KeyMap<ItemRef>,
    album_tracks: KeyMap<Vec<usize>>,
    artist_albums: KeyMap<Vec<usize>>,
    markers: HashMap<String, Markers>,
    orders: Mutex<HashMap<OrderKey, Arc<Vec<usize>>>>,
}

impl Catalog {
    pub fn new(mut library: Library) -> Catalog {
        library.normalize();
        let mut catalog = Catalog {
            library,
            playlists: Vec::new(),
            items: KeyMap::default(),
            album_tracks: KeyMap::default(),
            artist_albums: KeyMap::default(),
            markers: HashMap::new(),
            orders: Mutex::new(HashMap::new()),
        };
        catalog.rebuild();
        catalog.markers = initial_markers(&catalog.library);
        catalog
    }

    pub fn library(&self) -> &Library {
        &self.library
    }

    pub fn playlists(&self) -> &[Playlist] {
        &self.playlists
    }

    pub fn section(&self, key: &str) -> Option<&Section> {
        self.library.sections.iter().find(|s| s.key == key)
    }

    /// The latest content change in a section (its creation when it never
    /// changed).
    pub fn section_updated_at(&self, key: &str) -> i64 {
        self.section_markers(key).updated_at
    }

    pub fn section_markers(&self, key: &str) -> Markers {
        self.markers
            .get(key)
            .copied()
            .unwrap_or(Markers::at(SECTION_CREATED_AT))
    }

    pub fn item(&self, rating_key: u64) -> Option<ItemRef> {
        self.items.get(&rating_key).copied()
    }

    pub fn track(&self, position: usize) -> &Track {
        &self.library.tracks[position]
    }

    pub fn album_at(&self, position: usize) -> &Album {
        &self.library.albums[position]
    }

    pub fn artist_at(&self, position: usize) -> &Artist {
        &self.library.artists[position]
    }

    pub fn album(&self, rating_key: u64) -> Option<&Album> {
        match self.item(rating_key)? {
            ItemRef::Album(i) => Some(&self.library.albums[i]),
            _ => None,
        }
    }

    pub fn artist(&self, rating_key: u64) -> Option<&Artist> {
        match self.item(rating_key)? {
            ItemRef::Artist(i) => Some(&self.library.artists[i]),
            _ => None,
        }
    }

    /// Track positions of an album, by disc then track number.
    pub fn album_tracks(&self, album_key: u64) -> &[usize] {
        self.album_tracks.get(&album_key).map_or(&[], Vec::as_slice)
    }

    /// Album positions of an artist, oldest first.
    pub fn artist_albums(&self, artist_key: u64) -> &[usize] {
        self.artist_albums
            .get(&artist_key)
            .map_or(&[], Vec::as_slice)
    }

    /// The positions of a section's items of one kind in `sort` order,
    /// computed once and kept until the library changes.
    pub fn order(&self, section: &str, kind: ListKind, sort: SortSpec) -> Arc<Vec<usize>> {
        let key = (section.to_string(), kind, sort);
        if let Some(found) = self
            .orders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Arc::clone(found);
        }
        let computed = Arc::new(match kind {
            ListKind::Artists => order::compute(&self.library.artists, section, sort),
            ListKind::Albums => order::compute(&self.library.albums, section, sort),
            ListKind::Tracks => order::compute(&self.library.tracks, section, sort),
        });
        let mut orders = self.orders.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(orders.entry(key).or_insert(computed))
    }

    pub fn mutate(&mut self, change: Mutation) -> Result<Applied, EmulatorError> {
        let applied = mutation::apply(&mut self.library, change)?;
        self.rebuild();
        self.move_markers(&applied.effects);
        Ok(applied)
    }

    /// The library changing under a paging client: removes the `remove`
    /// tracks at the lowest offsets of `sort` and adds `add` new ones.
    pub fn shift(&mut self, section: &str, sort: SortSpec, add: usize, remove: usize) -> Applied {
        let order = self.order(section, ListKind::Tracks, sort);
        let doomed: Vec<u64> = order
            .iter()
            .take(remove)
            .map(|&i| self.library.tracks[i].rating_key)
            .collect();
        let mut effects = Vec::new();
        let mut keys = mutation::remove_tracks(&mut self.library, &doomed, &mut effects);
        keys.extend(mutation::add_tracks(
            &mut self.library,
            section,
            add,
            &mut effects,
        ));
        self.rebuild();
        self.move_markers(&effects);
        Applied { keys, effects }
    }

    /// Content changes move `contentChangedAt` and `updatedAt`, scans
    /// `scannedAt`, all to the library's clock.
    fn move_markers(&mut self, effects: &[Effect]) {
        let now = self.library.now();
        for effect in effects {
            if let Some(section) = effect.changed_section() {
                let markers = self.markers_mut(section);
                markers.content_changed_at = now;
                markers.updated_at = now;
            }
            if let Some(section) = effect.scanned_section() {
                self.markers_mut(section).scanned_at = now;
            }
        }
    }

    fn markers_mut(&mut self, section: &str) -> &mut Markers {
        self.markers
            .entry(section.to_string())
            .or_insert(Markers::at(SECTION_CREATED_AT))
    }

    /// Tracks named by `keys`: tracks as they are, albums and artists as
    /// their tracks; unknown keys are skipped.
    pub fn resolve_tracks(&self, keys: &[u64]) -> Vec<u64> {
        let mut tracks = Vec::new();
        for &key in keys {
            match self.item(key) {
                Some(ItemRef::Track(_)) => tracks.push(key),
                Some(ItemRef::Album(_)) => tracks.extend(self.track_keys_of_album(key)),
                Some(ItemRef::Artist(_)) => {
                    for &album in self.artist_albums(key) {
                        tracks.extend(
                            self.track_keys_of_album(self.library.albums[album].rating_key),
                        );
                    }
                }
                None => {}
            }
        }
        tracks
    }

    fn track_keys_of_album(&self, album_key: u64) -> impl Iterator<Item = u64> + '_ {
        self.album_tracks(album_key)
            .iter()
            .map(|&i| self.library.tracks[i].rating_key)
    }

    pub fn playlist(&self, rating_key: u64) -> Option<&Playlist> {
        self.playlists.iter().find(|p| p.rating_key == rating_key)
    }

    pub fn create_playlist(&mut self, title: &str, items: Vec<u64>) -> Playlist {
        let playlist = Playlist {
            rating_key: self.library.allocate_key(),
            title: title.to_string(),
            items,
        };
        self.playlists.push(playlist.clone());
        playlist
    }

    /// Appends items to a playlist; `None` when there is no such playlist.
    pub fn add_to_playlist(&mut self, rating_key: u64, items: &[u64]) -> Option<Playlist> {
        let playlist = self
            .playlists
            .iter_mut()
            .find(|p| p.rating_key == rating_key)?;
        playlist.items.extend_from_slice(items);
        Some(playlist.clone())
    }

    pub fn delete_playlist(&mut self, rating_key: u64) -> bool {
        let before = self.playlists.len();
        self.playlists.retain(|p| p.rating_key != rating_key);
        self.playlists.len() != before
    }

    /// Playlist duration: the sum of its tracks' durations.
    pub fn playlist_duration(&self, playlist: &Playlist) -> u64 {
        let track_duration = |key: &u64| match self.item(*key) {
            Some(ItemRef::Track(i)) => self.library.tracks[i].duration_ms.unwrap_or(0),
            _ => 0,
        };
        playlist.items.iter().map(track_duration).sum()
    }

    fn rebuild(&mut self) {
        self.index_items();
        self.index_children();
        let known = &self.items;
        for playlist in &mut self.playlists {
            playlist
                .items
                .retain(|key| matches!(known.get(key), Some(ItemRef::Track(_))));
        }
        self.orders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn index_items(&mut self) {
        let library = &self.library;
        let count = library.artists.len() + library.albums.len() + library.tracks.len();
        let mut items = KeyMap::with_capacity_and_hasher(count, BuildHasherDefault::default());
        items.extend(
            library
                .artists
                .iter()
                .enumerate()
                .map(|(i, a)| (a.rating_key, ItemRef::Artist(i))),
        );
        items.extend(
            library
                .albums
                .iter()
                .enumerate()
                .map(|(i, a)| (a.rating_key, ItemRef::Album(i))),
        );
        items.extend(
            library
                .tracks
                .iter()
                .enumerate()
                .map(|(i, t)| (t.rating_key, ItemRef::Track(i))),
        );
        self.items = items;
    }

    fn index_children(&mut self) {
        let library = &self.library;
        let mut album_tracks: KeyMap<Vec<usize>> =
            KeyMap::with_capacity_and_hasher(library.albums.len(), BuildHasherDefault::default());
        for (i, track) in library.tracks.iter().enumerate() {
            album_tracks.entry(track.album_key).or_default().push(i);
        }
        for positions in album_tracks.values_mut() {
            positions.sort_by_key(|&i| {
                let t = &library.tracks[i];
                (
                    t.parent_index.unwrap_or(1),
                    t.index.unwrap_or(u32::MAX),
                    t.rating_key,
                )
            });
        }
        let mut artist_albums: KeyMap<Vec<usize>> =
            KeyMap::with_capacity_and_hasher(library.artists.len(), BuildHasherDefault::default());
        for (i, album) in library.albums.iter().enumerate() {
            artist_albums.entry(album.artist_key).or_default().push(i);
        }
        self.album_tracks = album_tracks;
        self.artist_albums = artist_albums;
    }
}

/// Every section's markers at its latest item change.
fn initial_markers(library: &Library) -> HashMap<String, Markers> {
    let mut latest: HashMap<String, i64> = HashMap::new();
    let mut note = |section: &str, time: i64| match latest.get_mut(section) {
        Some(entry) => *entry = (*entry).max(time),
        None => {
            latest.insert(section.to_string(), time);
        }
    };
    for track in &library.tracks {
        note(&track.section, track.updated_at);
    }
    for album in &library.albums {
        note(&album.section, album.updated_at);
    }
    for artist in &library.artists {
        note(&artist.section, artist.updated_at);
    }
    latest
        .into_iter()
        .map(|(section, time)| (section, Markers::at(time)))
        .collect()
}
