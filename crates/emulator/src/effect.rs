//! What a library change did, item by item: the section markers move by
//! it and the notification stream turns it into Plex's frames.

use super::model::{Album, Artist, Track};

/// Plex's metadata type of an item (8 artist, 9 album, 10 track).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemType {
    Artist,
    Album,
    Track,
}

impl ItemType {
    pub fn code(self) -> u8 {
        match self {
            ItemType::Artist => 8,
            ItemType::Album => 9,
            ItemType::Track => 10,
        }
    }
}

/// An item a change touched, as it was right after the change.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Touched {
    pub key: u64,
    pub item_type: ItemType,
    pub title: String,
    pub section: String,
    pub updated_at: i64,
}

impl Touched {
    pub fn track(track: &Track) -> Touched {
        Touched {
            key: track.rating_key,
            item_type: ItemType::Track,
            title: track.title.clone(),
            section: track.section.clone(),
            updated_at: track.updated_at,
        }
    }

    pub fn album(album: &Album) -> Touched {
        Touched {
            key: album.rating_key,
            item_type: ItemType::Album,
            title: album.title.clone(),
            section: album.section.clone(),
            updated_at: album.updated_at,
        }
    }

    pub fn artist(artist: &Artist) -> Touched {
        Touched {
            key: artist.rating_key,
            item_type: ItemType::Artist,
            title: artist.title.clone(),
            section: artist.section.clone(),
            updated_at: artist.updated_at,
        }
    }
}

/// One observable consequence of a change.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Effect {
    /// A scan found new items (tracks, and their album and artist when
    /// they are new too).
    Added {
        section: String,
        items: Vec<Touched>,
    },
    /// An item's metadata changed.
    Updated(Touched),
    /// A scan found items gone.
    Removed {
        section: String,
        items: Vec<Touched>,
    },
    /// A track was played to the end.
    Played { key: u64, section: String },
    /// A scan that found nothing.
    Scanned { section: String },
}

impl Effect {
    /// The section whose content the effect changed, if it changed any.
    pub fn changed_section(&self) -> Option<&str> {
        match self {
            Effect::Added { section, .. } | Effect::Removed { section, .. } => Some(section),
            Effect::Updated(item) => Some(&item.section),
            Effect::Played { .. } | Effect::Scanned { .. } => None,
        }
    }

    /// The section a scan went over, if the effect comes from a scan.
    pub fn scanned_section(&self) -> Option<&str> {
        match self {
            Effect::Added { section, .. }
            | Effect::Removed { section, .. }
            | Effect::Scanned { section } => Some(section),
            Effect::Updated(_) | Effect::Played { .. } => None,
        }
    }
}

/// A change applied: the rating keys it answers and what it did.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Applied {
    pub keys: Vec<u64>,
    pub effects: Vec<Effect>,
}
