//! Library changes made through the control endpoint or the handle. Like
//! a real server, rating and playing do not move `updatedAt` (they move
//! `lastRatedAt` and `lastViewedAt`); adding, removing and editing do.
//! Every change also says what it did ([`Applied`]), for the section
//! markers and the notification stream.

mod albums;
mod tracks;

use serde::{Deserialize, Serialize};

use super::EmulatorError;
use super::effect::Applied;
use super::model::{Library, SectionKind};

pub(crate) use tracks::{add_tracks, remove_tracks};

/// One change to the library. JSON: `{"op":"add","count":3}` (with
/// `"section":"3"` to add elsewhere), `{"op":"remove","rating_keys":[1,2]}`,
/// `{"op":"edit","rating_key":5,"title":"New","genres":["Jazz"]}`,
/// `{"op":"rate","rating_key":5,"rating":7.5}`, `{"op":"play","rating_key":5}`,
/// `{"op":"edit_album","rating_key":9,"year":1999}`,
/// `{"op":"edit_artist","rating_key":8,"title":"X"}`,
/// `{"op":"move_track","rating_key":5,"album_key":9}`,
/// `{"op":"add_album","tracks":4}`, `{"op":"remove_album","rating_key":9}`,
/// `{"op":"scan","section":"1"}`.
///
/// `AddToSection` and `EditTrack` are the wire's `add` with a section and
/// `edit` with genres.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "WireMutation", into = "WireMutation")]
pub enum Mutation {
    /// Adds `count` tracks to the newest album of the first music section.
    Add { count: usize },
    /// Adds `count` tracks to the newest album of `section`.
    AddToSection { count: usize, section: String },
    /// Removes tracks; albums and artists left empty go too.
    Remove { rating_keys: Vec<u64> },
    /// Changes a track's title and/or track artist (`""` removes it).
    Edit {
        rating_key: u64,
        title: Option<String>,
        original_title: Option<String>,
    },
    /// `Edit` that may also replace the track's own genres.
    EditTrack {
        rating_key: u64,
        title: Option<String>,
        original_title: Option<String>,
        genres: Option<Vec<String>>,
    },
    /// Sets (or with `None` clears) a track's 0–10 rating.
    Rate {
        rating_key: u64,
        rating: Option<f64>,
    },
    /// Plays a track once.
    Play { rating_key: u64 },
    /// Changes an album's title, year or genres (not its tracks').
    EditAlbum {
        rating_key: u64,
        title: Option<String>,
        year: Option<i32>,
        genres: Option<Vec<String>>,
    },
    /// Changes an artist's title or genres.
    EditArtist {
        rating_key: u64,
        title: Option<String>,
        genres: Option<Vec<String>>,
    },
    /// Moves a track to another album of its section (the album's artist
    /// becomes the track's).
    MoveTrack { rating_key: u64, album_key: u64 },
    /// A new album of `tracks` tracks by an existing artist of `section`
    /// (the first music section when absent).
    AddAlbum {
        section: Option<String>,
        tracks: usize,
    },
    /// Removes an album and its tracks (and its artist when left empty).
    RemoveAlbum { rating_key: u64 },
    /// A scan of `section` that finds nothing new.
    Scan { section: String },
}

/// The JSON form: `add` and `edit` take their optional fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum WireMutation {
    Add {
        count: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        section: Option<String>,
    },
    Remove {
        rating_keys: Vec<u64>,
    },
    Edit {
        rating_key: u64,
        #[serde(default)]
        title: Option<String>,
        #[serde(default)]
        original_title: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        genres: Option<Vec<String>>,
    },
    Rate {
        rating_key: u64,
        #[serde(default)]
        rating: Option<f64>,
    },
    Play {
        rating_key: u64,
    },
    EditAlbum {
        rating_key: u64,
        #[serde(default)]
        title: Option<String>,
        #[serde(default)]
        year: Option<i32>,
        #[serde(default)]
        genres: Option<Vec<String>>,
    },
    EditArtist {
        rating_key: u64,
        #[serde(default)]
        title: Option<String>,
        #[serde(default)]
        genres: Option<Vec<String>>,
    },
    MoveTrack {
        rating_key: u64,
        album_key: u64,
    },
    AddAlbum {
        #[serde(default)]
        section: Option<String>,
        tracks: usize,
    },
    RemoveAlbum {
        rating_key: u64,
    },
    Scan {
        section: String,
    },
}

impl From<WireMutation> for Mutation {
    fn from(wire: WireMutation) -> Mutation {
        match wire {
            WireMutation::Add {
                count,
                section: None,
            } => Mutation::Add { count },
            WireMutation::Add {
                count,
                section: Some(section),
            } => Mutation::AddToSection { count, section },
            WireMutation::Remove { rating_keys } => Mutation::Remove { rating_keys },
            WireMutation::Edit {
                rating_key,
                title,
                original_title,
                genres: None,
            } => Mutation::Edit {
                rating_key,
                title,
                original_title,
            },
            WireMutation::Edit {
                rating_key,
                title,
                original_title,
                genres,
            } => Mutation::EditTrack {
                rating_key,
                title,
                original_title,
                genres,
            },
            WireMutation::Rate { rating_key, rating } => Mutation::Rate { rating_key, rating },
            WireMutation::Play { rating_key } => Mutation::Play { rating_key },
            WireMutation::EditAlbum {
                rating_key,
                title,
                year,
                genres,
            } => Mutation::EditAlbum {
                rating_key,
                title,
                year,
                genres,
            },
            WireMutation::EditArtist {
                rating_key,
                title,
                genres,
            } => Mutation::EditArtist {
                rating_key,
                title,
                genres,
            },
            WireMutation::MoveTrack {
                rating_key,
                album_key,
            } => Mutation::MoveTrack {
                rating_key,
                album_key,
            },
            WireMutation::AddAlbum { section, tracks } => Mutation::AddAlbum { section, tracks },
            WireMutation::RemoveAlbum { rating_key } => Mutation::RemoveAlbum { rating_key },
            WireMutation::Scan { section } => Mutation::Scan { section },
        }
    }
}

impl From<Mutation> for WireMutation {
    fn from(change: Mutation) -> WireMutation {
        match change {
            Mutation::Add { count } => WireMutation::Add {
                count,
                section: None,
            },
            Mutation::AddToSection { count, section } => WireMutation::Add {
                count,
                section: Some(section),
            },
            Mutation::Remove { rating_keys } => WireMutation::Remove { rating_keys },
            Mutation::Edit {
                rating_key,
                title,
                original_title,
            } => WireMutation::Edit {
                rating_key,
                title,
                original_title,
                genres: None,
            },
            Mutation::EditTrack {
                rating_key,
                title,
                original_title,
                genres,
            } => WireMutation::Edit {
                rating_key,
                title,
                original_title,
                genres,
            },
            Mutation::Rate { rating_key, rating } => WireMutation::Rate { rating_key, rating },
            Mutation::Play { rating_key } => WireMutation::Play { rating_key },
            Mutation::EditAlbum {
                rating_key,
                title,
                year,
                genres,
            } => WireMutation::EditAlbum {
                rating_key,
                title,
                year,
                genres,
            },
            Mutation::EditArtist {
                rating_key,
                title,
                genres,
            } => WireMutation::EditArtist {
                rating_key,
                title,
                genres,
            },
            Mutation::MoveTrack {
                rating_key,
                album_key,
            } => WireMutation::MoveTrack {
                rating_key,
                album_key,
            },
            Mutation::AddAlbum { section, tracks } => WireMutation::AddAlbum { section, tracks },
            Mutation::RemoveAlbum { rating_key } => WireMutation::RemoveAlbum { rating_key },
            Mutation::Scan { section } => WireMutation::Scan { section },
        }
    }
}

/// Applies `change`; answers the rating keys it touched and what it did.
pub(crate) fn apply(library: &mut Library, change: Mutation) -> Result<Applied, EmulatorError> {
    let mut applied = Applied::default();
    let effects = &mut applied.effects;
    applied.keys = match change {
        Mutation::Add { count } => {
            let section = main_section(library)?;
            add_tracks(library, &section, count, effects)
        }
        Mutation::AddToSection { count, section } => {
            music_section(library, &section)?;
            add_tracks(library, &section, count, effects)
        }
        Mutation::Remove { rating_keys } => remove_tracks(library, &rating_keys, effects),
        Mutation::Edit {
            rating_key,
            title,
            original_title,
        } => tracks::edit(library, rating_key, title, original_title, None, effects)?,
        Mutation::EditTrack {
            rating_key,
            title,
            original_title,
            genres,
        } => tracks::edit(library, rating_key, title, original_title, genres, effects)?,
        Mutation::Rate { rating_key, rating } => tracks::rate(library, rating_key, rating)?,
        Mutation::Play { rating_key } => tracks::play(library, rating_key, effects)?,
        Mutation::EditAlbum {
            rating_key,
            title,
            year,
            genres,
        } => albums::edit_album(library, rating_key, title, year, genres, effects)?,
        Mutation::EditArtist {
            rating_key,
            title,
            genres,
        } => albums::edit_artist(library, rating_key, title, genres, effects)?,
        Mutation::MoveTrack {
            rating_key,
            album_key,
        } => tracks::move_track(library, rating_key, album_key, effects)?,
        Mutation::AddAlbum { section, tracks } => {
            let section = match section {
                Some(section) => music_section(library, &section)?,
                None => main_section(library)?,
            };
            albums::add_album(library, &section, tracks, effects)?
        }
        Mutation::RemoveAlbum { rating_key } => albums::remove_album(library, rating_key, effects)?,
        Mutation::Scan { section } => {
            if !library.sections.iter().any(|s| s.key == section) {
                return Err(EmulatorError::UnknownSection(section));
            }
            library.tick();
            effects.push(crate::effect::Effect::Scanned { section });
            Vec::new()
        }
    };
    Ok(applied)
}

fn main_section(library: &Library) -> Result<String, EmulatorError> {
    library
        .main_music_section()
        .map(|s| s.key.clone())
        .ok_or(EmulatorError::NoMusicSection)
}

/// `key` when it names a music section.
fn music_section(library: &Library, key: &str) -> Result<String, EmulatorError> {
    match library.sections.iter().find(|s| s.key == key) {
        Some(section) if section.kind == SectionKind::Music => Ok(section.key.clone()),
        Some(_) => Err(EmulatorError::InvalidChange(format!(
            "section {key} is not a music section"
        ))),
        None => Err(EmulatorError::UnknownSection(key.to_string())),
    }
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
        let added = apply(&mut library, Mutation::Add { count: 4 })
            .expect("add")
            .keys;
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
        .expect("remove")
        .keys;
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
