//! Library changes made through the control endpoint or the handle: add,
//! remove, edit, rate and play tracks. Like a real server, rating and
//! playing do not move `updatedAt`; adding, removing and editing do.

use std::collections::HashSet;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::EmulatorError;
use super::generate::{GENRES, TrackFactory};
use super::model::{Album, Artist, Library};

/// One change to the library. JSON: `{"op":"add","count":3}`,
/// `{"op":"remove","rating_keys":[1,2]}`,
/// `{"op":"edit","rating_key":5,"title":"New"}`,
/// `{"op":"rate","rating_key":5,"rating":7.5}`, `{"op":"play","rating_key":5}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Mutation {
    /// Adds `count` tracks to the newest album of the first music section.
    Add { count: usize },
    /// Removes tracks; albums and artists left empty go too.
    Remove { rating_keys: Vec<u64> },
    /// Changes a track's title and/or track artist (`""` removes it).
    Edit {
        rating_key: u64,
        title: Option<String>,
        original_title: Option<String>,
    },
    /// Sets (or with `None` clears) a track's 0–10 rating.
    Rate {
        rating_key: u64,
        rating: Option<f64>,
    },
    /// Plays a track once.
    Play { rating_key: u64 },
}

/// Applies `mutation`; answers the rating keys of the tracks it touched.
pub(crate) fn apply(library: &mut Library, mutation: Mutation) -> Result<Vec<u64>, EmulatorError> {
    match mutation {
        Mutation::Add { count } => {
            let section = library
                .main_music_section()
                .map(|s| s.key.clone())
                .ok_or(EmulatorError::NoMusicSection)?;
            Ok(add_tracks(library, &section, count))
        }
        Mutation::Remove { rating_keys } => Ok(remove_tracks(library, &rating_keys)),
        Mutation::Edit {
            rating_key,
            title,
            original_title,
        } => edit(library, rating_key, title, original_title),
        Mutation::Rate { rating_key, rating } => rate(library, rating_key, rating),
        Mutation::Play { rating_key } => play(library, rating_key),
    }
}

/// Adds `count` tracks to the newest live album of `section` (creating an
/// artist and album when the section has none).
pub(crate) fn add_tracks(library: &mut Library, section: &str, count: usize) -> Vec<u64> {
    if count == 0 {
        return Vec::new();
    }
    let now = library.tick();
    let album_position =
        newest_album(library, section).unwrap_or_else(|| new_album(library, section, now));
    let album_key = library.albums[album_position].rating_key;
    library.albums[album_position].updated_at = now;
    let album = Album {
        added_at: now,
        updated_at: now,
        ..library.albums[album_position].clone()
    };
    let Some(artist) = library
        .artists
        .iter()
        .find(|a| a.rating_key == album.artist_key)
        .cloned()
    else {
        return Vec::new();
    };
    let existing = library
        .tracks
        .iter()
        .filter(|t| t.album_key == album_key)
        .count();
    let codec = album_codec(library, album_key);
    let mut factory = TrackFactory::new(&artist, &album, existing + count, codec);
    let mut rng = ChaCha8Rng::seed_from_u64(library.allocate_key());
    let mut added = Vec::with_capacity(count);
    for offset in 0..count {
        let key = library.allocate_key();
        let global = library.tracks.len();
        let track = factory.track(&mut rng, GENRES, key, global, existing + offset);
        library.tracks.push(track);
        added.push(key);
    }
    added
}

fn newest_album(library: &Library, section: &str) -> Option<usize> {
    library
        .albums
        .iter()
        .rposition(|a| a.section == section && a.deleted_at.is_none())
}

fn new_album(library: &mut Library, section: &str, now: i64) -> usize {
    let artist_key = library.allocate_key();
    library.artists.push(Artist {
        rating_key: artist_key,
        section: section.to_string(),
        title: String::from("New Artist"),
        genres: Vec::new(),
        added_at: now,
        updated_at: now,
    });
    let rating_key = library.allocate_key();
    library.albums.push(Album {
        rating_key,
        section: section.to_string(),
        artist_key,
        title: String::from("New Album"),
        year: None,
        genres: Vec::new(),
        added_at: now,
        updated_at: now,
        deleted_at: None,
    });
    library.albums.len() - 1
}

fn album_codec(library: &Library, album_key: u64) -> &'static str {
    let codec = library
        .tracks
        .iter()
        .find(|t| t.album_key == album_key)
        .map(|t| t.codec.as_str());
    match codec {
        Some("mp3") => "mp3",
        Some("aac") => "aac",
        _ => "flac",
    }
}

/// Removes the given tracks (other keys are ignored) and the albums and
/// artists they leave empty. Answers the removed track keys.
pub(crate) fn remove_tracks(library: &mut Library, rating_keys: &[u64]) -> Vec<u64> {
    let wanted: HashSet<u64> = rating_keys.iter().copied().collect();
    let mut removed = Vec::new();
    let mut touched_albums = HashSet::new();
    library.tracks.retain(|track| {
        if wanted.contains(&track.rating_key) {
            removed.push(track.rating_key);
            touched_albums.insert(track.album_key);
            false
        } else {
            true
        }
    });
    prune_empty(library, &touched_albums);
    removed
}

fn prune_empty(library: &mut Library, touched_albums: &HashSet<u64>) {
    if touched_albums.is_empty() {
        return;
    }
    let with_tracks: HashSet<u64> = library.tracks.iter().map(|t| t.album_key).collect();
    let mut touched_artists = HashSet::new();
    library.albums.retain(|album| {
        let empty =
            touched_albums.contains(&album.rating_key) && !with_tracks.contains(&album.rating_key);
        if empty {
            touched_artists.insert(album.artist_key);
        }
        !empty
    });
    let with_albums: HashSet<u64> = library.albums.iter().map(|a| a.artist_key).collect();
    library.artists.retain(|a| {
        !touched_artists.contains(&a.rating_key) || with_albums.contains(&a.rating_key)
    });
}

fn edit(
    library: &mut Library,
    rating_key: u64,
    title: Option<String>,
    original_title: Option<String>,
) -> Result<Vec<u64>, EmulatorError> {
    let now = library.tick();
    let track = track_mut(library, rating_key)?;
    if let Some(title) = title {
        track.title = title;
    }
    if let Some(original) = original_title {
        track.original_title = (!original.is_empty()).then_some(original);
    }
    track.updated_at = now;
    Ok(vec![rating_key])
}

fn rate(
    library: &mut Library,
    rating_key: u64,
    rating: Option<f64>,
) -> Result<Vec<u64>, EmulatorError> {
    if let Some(value) = rating
        && !(0.0..=10.0).contains(&value)
    {
        return Err(EmulatorError::InvalidRating(value));
    }
    track_mut(library, rating_key)?.user_rating = rating;
    Ok(vec![rating_key])
}

fn play(library: &mut Library, rating_key: u64) -> Result<Vec<u64>, EmulatorError> {
    let now = library.tick();
    let track = track_mut(library, rating_key)?;
    track.view_count = Some(track.view_count.unwrap_or(0) + 1);
    track.last_viewed_at = Some(now);
    Ok(vec![rating_key])
}

fn track_mut(
    library: &mut Library,
    rating_key: u64,
) -> Result<&mut crate::model::Track, EmulatorError> {
    library
        .tracks
        .iter_mut()
        .find(|t| t.rating_key == rating_key)
        .ok_or(EmulatorError::UnknownTrack(rating_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_read_from_tagged_json() {
        let add: Mutation = serde_json::from_str(r#"{"op":"add","count":3}"#).expect("add");
        assert_eq!(add, Mutation::Add { count: 3 });
        let edit: Mutation =
            serde_json::from_str(r#"{"op":"edit","rating_key":5,"title":"T"}"#).expect("edit");
        assert_eq!(
            edit,
            Mutation::Edit {
                rating_key: 5,
                title: Some("T".into()),
                original_title: None
            }
        );
    }

    #[test]
    fn added_tracks_get_fresh_keys_in_the_first_music_section() {
        let mut library = Library::generate(50, 1);
        let added = apply(&mut library, Mutation::Add { count: 4 }).expect("add");
        assert_eq!(added.len(), 4);
        assert_eq!(library.tracks.len(), 54);
        assert!(library.validate().is_ok());
        let new = library
            .tracks
            .iter()
            .filter(|t| added.contains(&t.rating_key));
        assert!(new.map(|t| t.section.as_str()).all(|s| s == "1"));
    }

    #[test]
    fn removing_every_track_of_an_album_removes_the_album() {
        let mut library = Library::generate(50, 2);
        let album = library.tracks[0].album_key;
        let keys: Vec<u64> = library
            .tracks
            .iter()
            .filter(|t| t.album_key == album)
            .map(|t| t.rating_key)
            .collect();
        let removed = apply(
            &mut library,
            Mutation::Remove {
                rating_keys: keys.clone(),
            },
        )
        .expect("remove");
        assert_eq!(removed, keys);
        assert!(library.albums.iter().all(|a| a.rating_key != album));
        assert!(library.validate().is_ok());
    }

    #[test]
    fn ratings_outside_zero_to_ten_are_refused() {
        let mut library = Library::generate(10, 3);
        let key = library.tracks[0].rating_key;
        assert!(
            apply(
                &mut library,
                Mutation::Rate {
                    rating_key: key,
                    rating: Some(11.0)
                }
            )
            .is_err()
        );
        assert!(
            apply(
                &mut library,
                Mutation::Rate {
                    rating_key: 1,
                    rating: Some(5.0)
                }
            )
            .is_err()
        );
    }
}
