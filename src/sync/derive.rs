//! Turning a track as Plex lists it into the row we store: track artist,
//! defaults for missing fields, valid years, ratings and the live flag.

use crate::plex::Track;
use crate::store::write::{NewTrack, ParentInfo};

use super::live::is_live;

pub const UNTITLED: &str = "Untitled";
pub const UNKNOWN_ARTIST: &str = "Unknown Artist";
pub const UNKNOWN_ALBUM: &str = "Unknown Album";

/// Derives the stored row; what the listing lacks comes from the track's
/// album and artist records (`parent`), else a default.
pub fn new_track<'a>(t: &'a Track, section: &'a str, parent: &'a ParentInfo) -> NewTrack<'a> {
    let present = |s: &&str| !s.trim().is_empty();
    let title = t.title.as_deref().filter(present).unwrap_or(UNTITLED);
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
            .filter(|y| (1000..=2100).contains(y)),
        rating: t
            .user_rating
            .filter(|r| r.is_finite())
            .map(|r| r.clamp(0.0, 10.0)),
        play_count: t.play_count.unwrap_or(0).max(0),
        last_played_at: t.last_played_at,
        added_at: t.added_at,
        updated_at: t.updated_at,
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
}
