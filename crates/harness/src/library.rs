//! What the cache must hold for an emulated library, derived from the
//! emulator's own model by the rules of the product spec.

use std::collections::{BTreeMap, BTreeSet};

use plexcache::model::Track as CachedTrack;
use plexcache_emulator::{Library, SectionKind, Track};

/// The library's tracks in its music sections (the only ones synced).
pub fn music_tracks(library: &Library) -> impl Iterator<Item = &Track> {
    let music: BTreeSet<&str> = library
        .sections
        .iter()
        .filter(|s| s.kind == SectionKind::Music)
        .map(|s| s.key.as_str())
        .collect();
    library
        .tracks
        .iter()
        .filter(move |t| music.contains(t.section.as_str()))
}

/// The title the cache shows for a track titled `title`.
pub fn cached_title(title: &str) -> String {
    if title.trim().is_empty() {
        "Untitled".to_owned()
    } else {
        title.to_owned()
    }
}

/// Music tracks of a library: rating key → title as the cache shows it.
pub fn music_titles(library: &Library) -> BTreeMap<u64, String> {
    music_tracks(library)
        .map(|t| (t.rating_key, cached_title(&t.title)))
        .collect()
}

/// What the cache must hold for one emulator track.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    pub rating_key: String,
    pub title: String,
    pub artist: String,
    pub album_artist: String,
    pub album: String,
    pub year: Option<i64>,
    pub genres: BTreeSet<String>,
    pub rating: Option<f64>,
    pub play_count: i64,
    pub duration_ms: Option<i64>,
    pub disc: Option<i64>,
    pub track: Option<i64>,
}

/// What the cache must hold for `library`, by rating key.
pub fn expected_library(library: &Library) -> Vec<Expected> {
    let mut out: Vec<Expected> = music_tracks(library)
        .map(|t| expected_track(library, t))
        .collect();
    out.sort_by(|a, b| a.rating_key.cmp(&b.rating_key));
    out
}

fn expected_track(library: &Library, t: &Track) -> Expected {
    let album = library.albums.iter().find(|a| a.rating_key == t.album_key);
    let artist = library
        .artists
        .iter()
        .find(|a| a.rating_key == t.artist_key);
    let album_artist = artist
        .map(|a| a.title.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "Unknown Artist".into());
    let genres: Vec<String> = if !t.genres.is_empty() {
        t.genres.clone()
    } else if album.is_some_and(|a| !a.genres.is_empty()) {
        album.map(|a| a.genres.clone()).unwrap_or_default()
    } else {
        artist.map(|a| a.genres.clone()).unwrap_or_default()
    };
    Expected {
        rating_key: t.rating_key.to_string(),
        title: cached_title(&t.title),
        artist: t
            .original_title
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| album_artist.clone()),
        album_artist,
        album: album
            .map(|a| a.title.clone())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "Unknown Album".into()),
        year: album
            .and_then(|a| a.year)
            .map(i64::from)
            .filter(|y| (1000..=2100).contains(y)),
        genres: genres
            .iter()
            .map(|g| g.trim().to_lowercase())
            .filter(|g| !g.is_empty())
            .collect(),
        rating: t.user_rating,
        play_count: t.view_count.map(i64::from).unwrap_or(0),
        duration_ms: t.duration_ms.map(|d| d as i64),
        disc: t.parent_index.map(i64::from),
        track: t.index.map(i64::from),
    }
}

/// A cached row in the shape of [`Expected`].
pub fn as_expected(row: &CachedTrack) -> Expected {
    Expected {
        rating_key: row.rating_key.clone(),
        title: row.title.clone(),
        artist: row.artist.clone(),
        album_artist: row.album_artist.clone(),
        album: row.album.clone(),
        year: row.year,
        genres: row.genres.iter().map(|g| g.to_lowercase()).collect(),
        rating: row.rating,
        play_count: row.play_count,
        duration_ms: row.duration_ms,
        disc: row.disc,
        track: row.track,
    }
}
