//! Turning a track as Plex lists it into the row we store: track artist,
//! defaults for missing fields, valid years, ratings, timestamps and the live
//! flag; and the caps on what one field may take.

use crate::plex::{Parent, Track};
use crate::store::write::{NewTrack, ParentInfo};

use super::live::is_live;

pub const UNTITLED: &str = "Untitled";
pub const UNKNOWN_ARTIST: &str = "Unknown Artist";
pub const UNKNOWN_ALBUM: &str = "Unknown Album";

/// Longest stored text field (titles, names), in characters: twice the
/// longest legitimate names, far below what would bloat the cache.
pub const MAX_TEXT_CHARS: usize = 4096;
/// Most genres kept per track, album or artist.
pub const MAX_GENRES: usize = 64;
/// Longest stored genre name, in characters.
pub const MAX_GENRE_CHARS: usize = 256;
/// Timestamps (Unix seconds) outside 1970-01-01 ..= 2200-01-01 are garbage:
/// stored as unknown, so they neither show nor match a filter.
pub const TIMESTAMP_RANGE: std::ops::RangeInclusive<i64> = 0..=7_258_118_400;

/// Cuts `text` to at most `max` characters, on a character boundary.
fn cap_text(text: &mut String, max: usize) {
    if let Some((end, _)) = text.char_indices().nth(max) {
        text.truncate(end);
    }
}

fn cap_opt(text: &mut Option<String>) {
    if let Some(text) = text {
        cap_text(text, MAX_TEXT_CHARS);
    }
}

fn cap_genres(genres: &mut Vec<String>) {
    genres.truncate(MAX_GENRES);
    for genre in genres {
        cap_text(genre, MAX_GENRE_CHARS);
    }
}

/// Applies the field caps to a track before it is stored.
pub fn cap_track(t: &mut Track) {
    for field in [
        &mut t.title,
        &mut t.title_sort,
        &mut t.album_artist,
        &mut t.album,
        &mut t.original_title,
    ] {
        cap_opt(field);
    }
    cap_genres(&mut t.genres);
}

/// Applies the field caps to an album or artist before it is stored.
pub fn cap_parent(p: &mut Parent) {
    cap_opt(&mut p.title);
    cap_genres(&mut p.genres);
}

/// A timestamp, or `None` outside `TIMESTAMP_RANGE`.
pub fn timestamp(value: Option<i64>) -> Option<i64> {
    value.filter(|t| TIMESTAMP_RANGE.contains(t))
}

/// Derives the stored row; what the listing lacks comes from the track's
/// album and artist records (`parent`), else a default.
pub fn new_track<'a>(t: &'a Track, section: &'a str, parent: &'a ParentInfo) -> NewTrack<'a> {
    let present = |s: &&str| !s.trim().is_empty();
    let title = t
        .title
        .as_deref()
        .filter(present)
        .or(t.title_sort.as_deref().filter(present))
        .unwrap_or(UNTITLED);
    let album_artist = t
        .album_artist
        .as_deref()
        .filter(present)
        .or(parent.artist_title.as_deref())
        .unwrap_or(UNKNOWN_ARTIST);
    let artist = t
        .original_title
        .as_deref()
        .filter(present)
        .unwrap_or(album_artist);
    let album = t
        .album
        .as_deref()
        .filter(present)
        .or(parent.album_title.as_deref())
        .unwrap_or(UNKNOWN_ALBUM);
    NewTrack {
        rating_key: &t.rating_key,
        section,
        title,
        artist,
        album_artist,
        album,
        album_key: t.album_key.as_deref(),
        artist_key: t.artist_key.as_deref(),
        disc: t.disc_number,
        track: t.track_number,
        duration_ms: t.duration_ms.filter(|d| *d >= 0),
        year: t
            .album_year
            .or(parent.album_year)
            .filter(|y| crate::model::YEARS.contains(y)),
        rating: t
            .user_rating
            .filter(|r| r.is_finite())
            .map(|r| r.clamp(0.0, 10.0)),
        play_count: t.play_count.unwrap_or(0).max(0),
        last_played_at: timestamp(t.last_played_at),
        added_at: timestamp(t.added_at),
        updated_at: timestamp(t.updated_at),
        last_rated_at: timestamp(t.last_rated_at),
        is_live: is_live(title, album),
        genres: &t.genres,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bare(key: &str) -> Track {
        Track {
            rating_key: key.into(),
            album_key: None,
            artist_key: None,
            title: None,
            title_sort: None,
            album_artist: None,
            album: None,
            original_title: None,
            track_number: None,
            disc_number: None,
            album_year: None,
            user_rating: None,
            play_count: None,
            last_played_at: None,
            duration_ms: None,
            added_at: None,
            updated_at: None,
            last_rated_at: None,
            genres: Vec::new(),
        }
    }

    #[test]
    fn missing_fields_come_from_the_parents_else_defaults() {
        let t = bare("1");
        let none = ParentInfo::default();
        let n = new_track(&t, "1", &none);
        assert_eq!(
            (
                n.title,
                n.artist,
                n.album_artist,
                n.album,
                n.play_count,
                n.year
            ),
            (
                UNTITLED,
                UNKNOWN_ARTIST,
                UNKNOWN_ARTIST,
                UNKNOWN_ALBUM,
                0,
                None
            )
        );
        let parent = ParentInfo {
            album_title: Some("Blue".into()),
            album_year: Some(1971),
            artist_title: Some("Joni Mitchell".into()),
        };
        let n = new_track(&t, "1", &parent);
        assert_eq!(
            (n.artist, n.album, n.year),
            ("Joni Mitchell", "Blue", Some(1971))
        );
    }

    #[test]
    fn track_artist_prefers_original_title() {
        let none = ParentInfo::default();
        let mut t = bare("1");
        t.album_artist = Some("Various Artists".into());
        t.original_title = Some("Nina Simone".into());
        assert_eq!(new_track(&t, "1", &none).artist, "Nina Simone");
        t.original_title = Some("  ".into());
        assert_eq!(new_track(&t, "1", &none).artist, "Various Artists");
    }

    #[test]
    fn years_and_ratings_are_kept_in_range() {
        let none = ParentInfo::default();
        let mut t = bare("1");
        t.album_year = Some(3000);
        t.user_rating = Some(12.0);
        let n = new_track(&t, "1", &none);
        assert_eq!((n.year, n.rating), (None, Some(10.0)));
        t.album_year = Some(1999);
        t.user_rating = Some(7.5);
        let n = new_track(&t, "1", &none);
        assert_eq!((n.year, n.rating), (Some(1999), Some(7.5)));
    }

    #[test]
    fn live_uses_the_album_title_from_the_parent() {
        let mut t = bare("1");
        t.title = Some("My Generation".into());
        let parent = ParentInfo {
            album_title: Some("Live at Leeds".into()),
            ..ParentInfo::default()
        };
        assert!(new_track(&t, "1", &parent).is_live);
    }

    #[test]
    fn an_empty_title_falls_back_to_the_sort_title_then_untitled() {
        let none = ParentInfo::default();
        let mut t = bare("1");
        t.title = Some(String::new());
        t.title_sort = Some("Ballad of the Sort Title".into());
        assert_eq!(new_track(&t, "1", &none).title, "Ballad of the Sort Title");
        t.title_sort = Some(" ".into());
        assert_eq!(new_track(&t, "1", &none).title, UNTITLED);
        t.title = Some("Real".into());
        t.title_sort = Some("Sort".into());
        assert_eq!(new_track(&t, "1", &none).title, "Real");
    }

    #[test]
    fn timestamps_outside_1970_to_2200_are_unknown() {
        let none = ParentInfo::default();
        let mut t = bare("1");
        t.added_at = Some(253_402_300_800_000);
        t.updated_at = Some(-5);
        t.last_played_at = Some(1_700_000_000);
        let n = new_track(&t, "1", &none);
        assert_eq!(
            (n.added_at, n.updated_at, n.last_played_at),
            (None, None, Some(1_700_000_000))
        );
    }

    #[test]
    fn caps_cut_long_fields_on_a_character_boundary() {
        let mut t = bare("1");
        t.title = Some("é".repeat(MAX_TEXT_CHARS + 10));
        t.album = Some("short".into());
        t.genres = (0..100)
            .map(|i| format!("{i}{}", "ü".repeat(300)))
            .collect();
        cap_track(&mut t);
        let title = t.title.as_deref().unwrap_or_default();
        assert_eq!(title.chars().count(), MAX_TEXT_CHARS);
        assert_eq!(t.album.as_deref(), Some("short"));
        assert_eq!(t.genres.len(), MAX_GENRES);
        assert!(
            t.genres
                .iter()
                .all(|g| g.chars().count() == MAX_GENRE_CHARS)
        );
        let mut p = Parent {
            rating_key: "2".into(),
            parent_key: None,
            title: Some("x".repeat(MAX_TEXT_CHARS * 2)),
            year: None,
            genres: vec!["g".repeat(1000)],
            deleted_at: None,
            updated_at: None,
        };
        cap_parent(&mut p);
        assert_eq!(p.title.map(|t| t.len()), Some(MAX_TEXT_CHARS));
        assert_eq!(p.genres[0].len(), MAX_GENRE_CHARS);
    }
}
