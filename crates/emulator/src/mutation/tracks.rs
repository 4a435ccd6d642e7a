//! Changes to tracks: add, remove, edit, rate, play and move.

use std::collections::{BTreeMap, HashSet};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::EmulatorError;
use crate::effect::{Effect, Touched};
use crate::generate::{GENRES, TrackFactory};
use crate::model::{Album, Artist, Library, Track};

/// Adds `count` tracks to the newest live album of `section` (creating an
/// artist and album when the section has none).
pub(crate) fn add_tracks(
    library: &mut Library,
    section: &str,
    count: usize,
    effects: &mut Vec<Effect>,
) -> Vec<u64> {
    if count == 0 {
        return Vec::new();
    }
    let now = library.tick();
    let mut new_items = Vec::new();
    let album_position = match newest_album(library, section) {
        Some(position) => position,
        None => {
            let position = new_album(library, section, now);
            let album = &library.albums[position];
            if let Some(artist) = library
                .artists
                .iter()
                .find(|a| a.rating_key == album.artist_key)
            {
                new_items.push(Touched::artist(artist));
            }
            new_items.push(Touched::album(album));
            position
        }
    };
    library.albums[album_position].updated_at = now;
    let added = fill_album(library, album_position, count, now);
    new_items.extend(added_items(library, &added));
    effects.push(Effect::Added {
        section: section.to_string(),
        items: new_items,
    });
    added
}

/// Adds `count` fresh tracks (unplayed, unrated, stamped `now`) to the
/// album at `album_position`; answers their keys.
pub(crate) fn fill_album(
    library: &mut Library,
    album_position: usize,
    count: usize,
    now: i64,
) -> Vec<u64> {
    let album_key = library.albums[album_position].rating_key;
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
        library.tracks.push(fresh(track, now));
        added.push(key);
    }
    added
}

/// A newly scanned track: found now, never played or rated.
fn fresh(track: Track, now: i64) -> Track {
    Track {
        added_at: now,
        updated_at: now,
        user_rating: None,
        last_rated_at: None,
        view_count: None,
        last_viewed_at: None,
        skip_count: None,
        ..track
    }
}

fn added_items(library: &Library, keys: &[u64]) -> Vec<Touched> {
    let first = library.tracks.len() - keys.len();
    library.tracks[first..].iter().map(Touched::track).collect()
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
pub(crate) fn remove_tracks(
    library: &mut Library,
    rating_keys: &[u64],
    effects: &mut Vec<Effect>,
) -> Vec<u64> {
    let wanted: HashSet<u64> = rating_keys.iter().copied().collect();
    let mut removed = Vec::new();
    let mut gone = Vec::new();
    let mut touched_albums = HashSet::new();
    library.tracks.retain(|track| {
        if wanted.contains(&track.rating_key) {
            removed.push(track.rating_key);
            gone.push(Touched::track(track));
            touched_albums.insert(track.album_key);
            false
        } else {
            true
        }
    });
    if removed.is_empty() {
        return removed;
    }
    library.tick();
    gone.extend(prune_empty(library, &touched_albums));
    push_removed(effects, gone);
    removed
}

/// One `Removed` effect per section.
fn push_removed(effects: &mut Vec<Effect>, gone: Vec<Touched>) {
    let mut by_section: BTreeMap<String, Vec<Touched>> = BTreeMap::new();
    for item in gone {
        by_section
            .entry(item.section.clone())
            .or_default()
            .push(item);
    }
    effects.extend(
        by_section
            .into_iter()
            .map(|(section, items)| Effect::Removed { section, items }),
    );
}

/// Removes the touched albums left without tracks and the artists left
/// without albums; answers them.
fn prune_empty(library: &mut Library, touched_albums: &HashSet<u64>) -> Vec<Touched> {
    let mut gone = Vec::new();
    if touched_albums.is_empty() {
        return gone;
    }
    let with_tracks: HashSet<u64> = library.tracks.iter().map(|t| t.album_key).collect();
    let mut touched_artists = HashSet::new();
    library.albums.retain(|album| {
        let empty =
            touched_albums.contains(&album.rating_key) && !with_tracks.contains(&album.rating_key);
        if empty {
            touched_artists.insert(album.artist_key);
            gone.push(Touched::album(album));
        }
        !empty
    });
    let with_albums: HashSet<u64> = library.albums.iter().map(|a| a.artist_key).collect();
    library.artists.retain(|a| {
        let empty = touched_artists.contains(&a.rating_key) && !with_albums.contains(&a.rating_key);
        if empty {
            gone.push(Touched::artist(a));
        }
        !empty
    });
    gone
}

pub(super) fn edit(
    library: &mut Library,
    rating_key: u64,
    title: Option<String>,
    original_title: Option<String>,
    genres: Option<Vec<String>>,
    effects: &mut Vec<Effect>,
) -> Result<Vec<u64>, EmulatorError> {
    track_mut(library, rating_key)?;
    let now = library.tick();
    let track = track_mut(library, rating_key)?;
    if let Some(title) = title {
        track.title = title;
    }
    if let Some(original) = original_title {
        track.original_title = (!original.is_empty()).then_some(original);
    }
    if let Some(genres) = genres {
        track.genres = genres;
    }
    track.updated_at = now;
    effects.push(Effect::Updated(Touched::track(track)));
    Ok(vec![rating_key])
}

/// Rating moves `lastRatedAt` only; Plex sends no timeline entry for it.
pub(super) fn rate(
    library: &mut Library,
    rating_key: u64,
    rating: Option<f64>,
) -> Result<Vec<u64>, EmulatorError> {
    if let Some(value) = rating
        && !(0.0..=10.0).contains(&value)
    {
        return Err(EmulatorError::InvalidRating(value));
    }
    track_mut(library, rating_key)?;
    let now = library.tick();
    let track = track_mut(library, rating_key)?;
    track.user_rating = rating;
    track.last_rated_at = Some(now);
    Ok(vec![rating_key])
}

pub(super) fn play(
    library: &mut Library,
    rating_key: u64,
    effects: &mut Vec<Effect>,
) -> Result<Vec<u64>, EmulatorError> {
    track_mut(library, rating_key)?;
    let now = library.tick();
    let track = track_mut(library, rating_key)?;
    track.view_count = Some(track.view_count.unwrap_or(0) + 1);
    track.last_viewed_at = Some(now);
    effects.push(Effect::Played {
        key: rating_key,
        section: track.section.clone(),
    });
    Ok(vec![rating_key])
}

/// Moves a track to another live album of its section; the old album goes
/// when left empty (and its artist when left without albums).
pub(super) fn move_track(
    library: &mut Library,
    rating_key: u64,
    album_key: u64,
    effects: &mut Vec<Effect>,
) -> Result<Vec<u64>, EmulatorError> {
    let (section, old_album) = {
        let track = track_mut(library, rating_key)?;
        (track.section.clone(), track.album_key)
    };
    let target = library
        .albums
        .iter()
        .find(|a| a.rating_key == album_key && a.deleted_at.is_none())
        .ok_or(EmulatorError::UnknownAlbum(album_key))?;
    if target.section != section {
        return Err(EmulatorError::InvalidChange(format!(
            "album {album_key} is not in the track's section {section}"
        )));
    }
    let artist_key = target.artist_key;
    let now = library.tick();
    let track = track_mut(library, rating_key)?;
    track.album_key = album_key;
    track.artist_key = artist_key;
    track.updated_at = now;
    effects.push(Effect::Updated(Touched::track(track)));
    let gone = prune_empty(library, &HashSet::from([old_album]));
    if !gone.is_empty() {
        push_removed(effects, gone);
    }
    Ok(vec![rating_key])
}

fn track_mut(library: &mut Library, rating_key: u64) -> Result<&mut Track, EmulatorError> {
    library
        .tracks
        .iter_mut()
        .find(|t| t.rating_key == rating_key)
        .ok_or(EmulatorError::UnknownTrack(rating_key))
}
