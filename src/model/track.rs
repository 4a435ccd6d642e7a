//! The cached library as the product sees it: tracks, pages of them and
//! the genre and decade counts. Times are Unix seconds; how they are shown
//! (RFC 3339) is the API's and the CLI's business.

use std::ops::RangeInclusive;

/// The years a track may have: the sync keeps no other, and filters accept
/// no other.
pub const YEARS: RangeInclusive<i64> = 1000..=2100;

/// A cached track.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    pub rating_key: String,
    pub title: String,
    /// Track artist: `originalTitle` when Plex has one, else the album artist.
    pub artist: String,
    pub album_artist: String,
    pub album: String,
    pub album_key: Option<String>,
    pub artist_key: Option<String>,
    pub disc: Option<i64>,
    pub track: Option<i64>,
    pub duration_ms: Option<i64>,
    /// Within `YEARS`.
    pub year: Option<i64>,
    pub genres: Vec<String>,
    /// User rating 0–10 (10 = five stars).
    pub rating: Option<f64>,
    pub play_count: i64,
    /// Unix times, within `clock::SHOWN_TIMES` (a time outside is missing).
    pub last_played_at: Option<i64>,
    pub added_at: Option<i64>,
    pub updated_at: Option<i64>,
    pub is_live: bool,
    pub section: String,
}

/// One page of the tracks a filter matches.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackPage {
    /// Tracks matching the filter, over all pages.
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
    pub tracks: Vec<Track>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GenreCount {
    pub name: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DecadeCount {
    /// Like `1990s`.
    pub decade: String,
    pub count: u64,
}

/// Genre and decade counts over the whole library.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub track_count: u64,
    pub genres: Vec<GenreCount>,
    pub decades: Vec<DecadeCount>,
}
