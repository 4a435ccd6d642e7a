//! The emulated library's data: sections, artists, albums, tracks and
//! playlists, plus loading a library from JSON, saving it, and checking that
//! its references hold together.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::EmulatorError;

/// A whole emulated Plex library. `generate` builds one from a seed;
/// `load_json` reads one back from the JSON that `to_json` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Library {
    pub sections: Vec<Section>,
    pub artists: Vec<Artist>,
    pub albums: Vec<Album>,
    pub tracks: Vec<Track>,
    /// Next free rating key (for added tracks and new playlists).
    #[serde(default)]
    next_key: u64,
    /// Logical clock (Unix seconds) stamped on changes, so that runs are
    /// repeatable: it never reads the wall clock.
    #[serde(default)]
    clock: i64,
}

/// A library section. Only music sections hold artists, albums and tracks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub key: String,
    pub title: String,
    pub kind: SectionKind,
    pub uuid: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionKind {
    Music,
    Movie,
}

impl SectionKind {
    /// The `type` Plex gives a section of this kind.
    pub fn plex_type(self) -> &'static str {
        match self {
            SectionKind::Music => "artist",
            SectionKind::Movie => "movie",
        }
    }
}

/// An artist. An empty title is sent as an absent `title`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artist {
    pub rating_key: u64,
    pub section: String,
    pub title: String,
    pub genres: Vec<String>,
    pub added_at: i64,
    pub updated_at: i64,
}

/// An album. `genres` is the full list; listings send at most three.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Album {
    pub rating_key: u64,
    pub section: String,
    pub artist_key: u64,
    pub title: String,
    pub year: Option<i32>,
    pub genres: Vec<String>,
    pub added_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
}

/// A track with everything a track listing carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Track {
    pub rating_key: u64,
    pub section: String,
    pub album_key: u64,
    pub artist_key: u64,
    pub title: String,
    /// Sent as `titleSort` instead of the one derived from the title; real
    /// servers may send an empty title with the name only here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_sort: Option<String>,
    pub original_title: Option<String>,
    pub index: Option<u32>,
    pub parent_index: Option<u32>,
    pub duration_ms: Option<u64>,
    /// 0 to 10 (10 = five stars).
    pub user_rating: Option<f64>,
    pub view_count: Option<u32>,
    pub last_viewed_at: Option<i64>,
    /// When the rating last changed (sent as `lastRatedAt`); rating moves
    /// it, nothing else does.
    #[serde(default)]
    pub last_rated_at: Option<i64>,
    pub skip_count: Option<u32>,
    pub added_at: i64,
    pub updated_at: i64,
    /// The track's own genres (often none).
    pub genres: Vec<String>,
    pub file: String,
    pub size: u64,
    pub bitrate: u32,
    pub codec: String,
}

/// An audio playlist created through the emulated API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Playlist {
    pub rating_key: u64,
    pub title: String,
    pub items: Vec<u64>,
}

impl Library {
    /// Builds a library from its parts; `next_key` and `clock` are derived.
    pub(crate) fn from_parts(
        sections: Vec<Section>,
        artists: Vec<Artist>,
        albums: Vec<Album>,
        tracks: Vec<Track>,
        clock: i64,
    ) -> Library {
        let mut library = Library {
            sections,
            artists,
            albums,
            tracks,
            next_key: 0,
            clock,
        };
        library.next_key = library.max_rating_key() + 1;
        library
    }

    /// Reads a library from a JSON file in the shape `to_json` writes.
    pub fn load_json(path: &Path) -> Result<Library, EmulatorError> {
        let text = std::fs::read_to_string(path).map_err(|source| EmulatorError::ReadLibrary {
            path: path.to_path_buf(),
            source,
        })?;
        let mut library: Library =
            serde_json::from_str(&text).map_err(|source| EmulatorError::ParseLibrary {
                path: path.to_path_buf(),
                source,
            })?;
        library.validate()?;
        library.normalize();
        Ok(library)
    }

    /// The library as JSON (the shape `load_json` reads).
    pub fn to_json(&self) -> String {
        // Serializing plain structs of strings and numbers cannot fail; a
        // non-finite rating is the only value JSON cannot hold, and it turns
        // into `null`, which reads back as "unrated".
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }

    /// Checks that rating keys are unique and every reference resolves.
    pub fn validate(&self) -> Result<(), EmulatorError> {
        let sections: HashSet<&str> = self.sections.iter().map(|s| s.key.as_str()).collect();
        let mut keys = HashSet::new();
        let mut unique = |key: u64| {
            if keys.insert(key) {
                Ok(())
            } else {
                Err(invalid(format!("rating key {key} is used twice")))
            }
        };
        let known_section = |section: &str, what: &str, key: u64| {
            if sections.contains(section) {
                Ok(())
            } else {
                Err(invalid(format!(
                    "{what} {key} is in unknown section {section:?}"
                )))
            }
        };
        for artist in &self.artists {
            unique(artist.rating_key)?;
            known_section(&artist.section, "artist", artist.rating_key)?;
        }
        let artist_keys: HashSet<u64> = self.artists.iter().map(|a| a.rating_key).collect();
        for album in &self.albums {
            unique(album.rating_key)?;
            known_section(&album.section, "album", album.rating_key)?;
            if !artist_keys.contains(&album.artist_key) {
                return Err(invalid(format!(
                    "album {} has unknown artist",
                    album.rating_key
                )));
            }
        }
        let album_keys: HashSet<u64> = self.albums.iter().map(|a| a.rating_key).collect();
        for track in &self.tracks {
            unique(track.rating_key)?;
            known_section(&track.section, "track", track.rating_key)?;
            if !album_keys.contains(&track.album_key) || !artist_keys.contains(&track.artist_key) {
                return Err(invalid(format!(
                    "track {} has unknown album or artist",
                    track.rating_key
                )));
            }
            if track
                .user_rating
                .is_some_and(|r| !(0.0..=10.0).contains(&r))
            {
                return Err(invalid(format!(
                    "track {} has a rating outside 0-10",
                    track.rating_key
                )));
            }
        }
        Ok(())
    }

    /// Moves `next_key` past every rating key and the clock past every
    /// timestamp (a library built or edited by hand may hold neither).
    pub(crate) fn normalize(&mut self) {
        self.next_key = self.next_key.max(self.max_rating_key() + 1);
        self.clock = self.clock.max(self.latest_timestamp());
    }

    /// Hands out a fresh rating key, unique across the whole library.
    pub(crate) fn allocate_key(&mut self) -> u64 {
        let key = self.next_key;
        self.next_key += 1;
        key
    }

    /// Advances the logical clock and returns the new time.
    pub(crate) fn tick(&mut self) -> i64 {
        self.clock += 1;
        self.clock
    }

    /// The logical clock: the time of the latest change.
    pub(crate) fn now(&self) -> i64 {
        self.clock
    }

    /// The first music section (where added tracks go by default).
    pub(crate) fn main_music_section(&self) -> Option<&Section> {
        self.sections.iter().find(|s| s.kind == SectionKind::Music)
    }

    fn max_rating_key(&self) -> u64 {
        let artists = self.artists.iter().map(|a| a.rating_key);
        let albums = self.albums.iter().map(|a| a.rating_key);
        let tracks = self.tracks.iter().map(|t| t.rating_key);
        artists.chain(albums).chain(tracks).max().unwrap_or(0)
    }

    fn latest_timestamp(&self) -> i64 {
        let tracks = self.tracks.iter().map(|t| {
            let viewed = t.last_viewed_at.unwrap_or(0);
            t.updated_at.max(viewed).max(t.last_rated_at.unwrap_or(0))
        });
        let albums = self
            .albums
            .iter()
            .map(|a| a.updated_at.max(a.deleted_at.unwrap_or(0)));
        let artists = self.artists.iter().map(|a| a.updated_at);
        tracks.chain(albums).chain(artists).max().unwrap_or(0)
    }
}

fn invalid(reason: String) -> EmulatorError {
    EmulatorError::InvalidLibrary(reason)
}
