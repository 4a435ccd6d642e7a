//! Changes to albums and artists: edit either, add or remove a whole album.

use crate::EmulatorError;
use crate::effect::{Effect, Touched};
use crate::model::{Album, Library};

use super::tracks::{fill_album, remove_tracks};

/// An album edit moves the album's `updatedAt`, not its tracks'.
pub(super) fn edit_album(
    library: &mut Library,
    rating_key: u64,
    title: Option<String>,
    year: Option<i32>,
    genres: Option<Vec<String>>,
    effects: &mut Vec<Effect>,
) -> Result<Vec<u64>, EmulatorError> {
    let position = album_position(library, rating_key)?;
    let now = library.tick();
    let album = &mut library.albums[position];
    if let Some(title) = title {
        album.title = title;
    }
    if let Some(year) = year {
        album.year = Some(year);
    }
    if let Some(genres) = genres {
        album.genres = genres;
    }
    album.updated_at = now;
    effects.push(Effect::Updated(Touched::album(album)));
    Ok(vec![rating_key])
}

pub(super) fn edit_artist(
    library: &mut Library,
    rating_key: u64,
    title: Option<String>,
    genres: Option<Vec<String>>,
    effects: &mut Vec<Effect>,
) -> Result<Vec<u64>, EmulatorError> {
    let position = library
        .artists
        .iter()
        .position(|a| a.rating_key == rating_key)
        .ok_or(EmulatorError::UnknownArtist(rating_key))?;
    let now = library.tick();
    let artist = &mut library.artists[position];
    if let Some(title) = title {
        artist.title = title;
    }
    if let Some(genres) = genres {
        artist.genres = genres;
    }
    artist.updated_at = now;
    effects.push(Effect::Updated(Touched::artist(artist)));
    Ok(vec![rating_key])
}

/// A new album of `tracks` tracks by the section's newest artist; answers
/// the album's key, then its tracks'.
pub(super) fn add_album(
    library: &mut Library,
    section: &str,
    tracks: usize,
    effects: &mut Vec<Effect>,
) -> Result<Vec<u64>, EmulatorError> {
    if tracks == 0 {
        return Err(EmulatorError::InvalidChange(String::from(
            "a new album needs at least one track",
        )));
    }
    let artist_key = library
        .artists
        .iter()
        .rev()
        .find(|a| a.section == section)
        .map(|a| a.rating_key)
        .ok_or_else(|| EmulatorError::InvalidChange(format!("section {section} has no artist")))?;
    let now = library.tick();
    let rating_key = library.allocate_key();
    library.albums.push(Album {
        rating_key,
        section: section.to_string(),
        artist_key,
        title: format!("New Album {rating_key}"),
        year: None,
        genres: Vec::new(),
        added_at: now,
        updated_at: now,
        deleted_at: None,
    });
    let position = library.albums.len() - 1;
    let added = fill_album(library, position, tracks, now);
    let mut items = vec![Touched::album(&library.albums[position])];
    let first = library.tracks.len() - added.len();
    items.extend(library.tracks[first..].iter().map(Touched::track));
    effects.push(Effect::Added {
        section: section.to_string(),
        items,
    });
    let mut keys = vec![rating_key];
    keys.extend(added);
    Ok(keys)
}

/// Removes an album and its tracks; answers the removed track keys.
pub(super) fn remove_album(
    library: &mut Library,
    rating_key: u64,
    effects: &mut Vec<Effect>,
) -> Result<Vec<u64>, EmulatorError> {
    album_position(library, rating_key)?;
    let tracks: Vec<u64> = library
        .tracks
        .iter()
        .filter(|t| t.album_key == rating_key)
        .map(|t| t.rating_key)
        .collect();
    Ok(remove_tracks(library, &tracks, effects))
}

fn album_position(library: &Library, rating_key: u64) -> Result<usize, EmulatorError> {
    library
        .albums
        .iter()
        .position(|a| a.rating_key == rating_key)
        .ok_or(EmulatorError::UnknownAlbum(rating_key))
}
