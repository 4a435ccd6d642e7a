//! What a delta refresh asks Plex: listings filtered by a time field
//! (`updatedAt>`, `lastViewedAt>`, `lastRatedAt>`), their size-0 counts,
//! tracks by key in bulk, an album's track keys and the album listing's
//! `leafCount`. Plex's filter is strict ("greater than"), so a cursor `c`
//! is sent as `c - 1`: items changed in the cursor's own second come again
//! rather than never.

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::wire::{self, ItemContainer, flex_opt_string, flex_string, flex_u64};
use super::{ListKind, Page, Parent, PlexClient, PlexError, Track, page};

/// Keys per bulk metadata request: well inside what servers accept.
pub const KEYS_PER_REQUEST: usize = 200;
/// Longest joined key list in one request path, so no URL nears the
/// lengths where servers answer 414.
const KEYS_CHARS_PER_REQUEST: usize = 4000;
/// A cursor no library reaches (the year 2096): a server that honours delta
/// filters lists nothing after it.
pub const FAR_FUTURE: i64 = 4_000_000_000;

/// The time fields Plex filters listings by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaField {
    /// Metadata edits and additions.
    UpdatedAt,
    /// Plays.
    LastViewedAt,
    /// Ratings.
    LastRatedAt,
}

impl DeltaField {
    /// The parameter NAME: the operator is part of it, so the wire shows
    /// `updatedAt>=<value>`. (`updatedAt>=` as a name would be ignored.)
    pub fn param(self) -> &'static str {
        match self {
            DeltaField::UpdatedAt => "updatedAt>",
            DeltaField::LastViewedAt => "lastViewedAt>",
            DeltaField::LastRatedAt => "lastRatedAt>",
        }
    }
}

/// Items whose `field` is at or after `cursor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Since {
    pub field: DeltaField,
    pub cursor: i64,
}

impl Since {
    /// The value sent: the filter is strict, so one second before.
    pub fn value(self) -> String {
        self.cursor.saturating_sub(1).to_string()
    }
}

/// An album in the album listing, with its track count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlbumCount {
    pub rating_key: String,
    /// `leafCount`; absent on servers that do not send it.
    pub tracks: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAlbumCount {
    #[serde(deserialize_with = "flex_string")]
    rating_key: String,
    #[serde(default, deserialize_with = "flex_u64")]
    leaf_count: Option<u64>,
}

/// A metadata answer whose tracks say which section they are in (on each
/// item, or once on the container).
#[derive(Debug, Deserialize)]
struct SectionedContainer {
    #[serde(
        default,
        rename = "librarySectionID",
        deserialize_with = "flex_opt_string"
    )]
    section: Option<String>,
    #[serde(default, rename = "Metadata")]
    metadata: Vec<SectionedTrack>,
}

#[derive(Debug, Deserialize)]
struct SectionedTrack {
    #[serde(
        default,
        rename = "librarySectionID",
        deserialize_with = "flex_opt_string"
    )]
    section: Option<String>,
    #[serde(flatten)]
    track: wire::WireTrack,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireKey {
    #[serde(deserialize_with = "flex_string")]
    rating_key: String,
}

impl PlexClient {
    /// How many items of a listing changed since a cursor (size 0).
    pub async fn delta_count(
        &self,
        section: &str,
        kind: ListKind,
        since: Since,
    ) -> Result<Option<u64>, PlexError> {
        let c: ItemContainer<IgnoredAny> = self.delta_list(section, kind, since, 0, 0).await?;
        Ok(c.total_size.or(c.size))
    }

    /// A page of the tracks changed since a cursor.
    pub async fn delta_track_page(
        &self,
        section: &str,
        since: Since,
        start: u64,
        size: u64,
    ) -> Result<Page<Track>, PlexError> {
        let c: ItemContainer<wire::WireTrack> = self
            .delta_list(section, ListKind::Tracks, since, start, size)
            .await?;
        Ok(page(c, start, Track::from))
    }

    /// A page of the albums or artists changed since a cursor.
    pub async fn delta_parent_page(
        &self,
        section: &str,
        kind: ListKind,
        since: Since,
        start: u64,
        size: u64,
    ) -> Result<Page<Parent>, PlexError> {
        let c: ItemContainer<wire::WireDirectory> =
            self.delta_list(section, kind, since, start, size).await?;
        Ok(page(c, start, Parent::from))
    }

    /// A page of the album listing, keys and track counts only.
    pub async fn album_count_page(
        &self,
        section: &str,
        start: u64,
        size: u64,
    ) -> Result<Page<AlbumCount>, PlexError> {
        let c: ItemContainer<WireAlbumCount> = self
            .list_in(self.listing_order(), section, ListKind::Albums, start, size)
            .await?;
        Ok(page(c, start, |a| AlbumCount {
            rating_key: a.rating_key,
            tracks: a.leaf_count,
        }))
    }

    /// The rating keys of an album's (or artist's) tracks; none when it is gone.
    pub async fn child_keys(&self, parent: &str, page_size: u64) -> Result<Vec<String>, PlexError> {
        let path = format!("/library/metadata/{parent}/children");
        let mut keys = Vec::new();
        loop {
            let start = (keys.len() as u64).to_string();
            let size = page_size.max(1).to_string();
            let query = [
                ("X-Plex-Container-Start", start.as_str()),
                ("X-Plex-Container-Size", size.as_str()),
            ];
            let c: ItemContainer<WireKey> = match self.get(&path, &query).await {
                Err(PlexError::NotFound { .. }) => return Ok(Vec::new()),
                other => other?,
            };
            let got = c.metadata.len() as u64;
            keys.extend(c.metadata.into_iter().map(|k| k.rating_key));
            let total = c.total_size.unwrap_or(keys.len() as u64);
            if got == 0 || keys.len() as u64 >= total {
                return Ok(keys);
            }
        }
    }

    /// Full records of tracks by key, in batches, each with its section
    /// when the server says it. Keys that no longer exist are absent from
    /// the answer (a batch none of whose keys exists answers 404).
    pub async fn tracks_by_keys(
        &self,
        keys: &[String],
    ) -> Result<Vec<(Option<String>, Track)>, PlexError> {
        let mut tracks = Vec::with_capacity(keys.len());
        for batch in key_batches(keys) {
            let path = format!("/library/metadata/{}", batch.join(","));
            match self.get::<SectionedContainer>(&path, &[]).await {
                Ok(c) => tracks.extend(c.metadata.into_iter().map(|t| {
                    let section = t.section.or_else(|| c.section.clone());
                    (section, Track::from(t.track))
                })),
                Err(PlexError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(tracks)
    }

    /// One track by key: `Ok(None)` only when Plex says it does not exist
    /// (404); any other failure proves nothing and is an error.
    pub async fn track_by_key(&self, key: &str) -> Result<Option<Track>, PlexError> {
        let path = format!("/library/metadata/{key}");
        match self.get::<ItemContainer<wire::WireTrack>>(&path, &[]).await {
            Ok(c) => Ok(c.metadata.into_iter().next().map(Track::from)),
            Err(PlexError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether the server honours delta filters: nothing can have changed
    /// after [`FAR_FUTURE`], so any item listed means the filter was ignored.
    pub async fn honours_delta_filters(&self, section: &str) -> Result<bool, PlexError> {
        let since = Since {
            field: DeltaField::UpdatedAt,
            cursor: FAR_FUTURE,
        };
        let count = self.delta_count(section, ListKind::Tracks, since).await?;
        Ok(count == Some(0))
    }

    async fn delta_list<T: serde::de::DeserializeOwned>(
        &self,
        section: &str,
        kind: ListKind,
        since: Since,
        start: u64,
        size: u64,
    ) -> Result<ItemContainer<T>, PlexError> {
        let path = format!("/library/sections/{section}/all");
        let kind = (kind as u8).to_string();
        let (start, size, value) = (start.to_string(), size.to_string(), since.value());
        let mut query = vec![("type", kind.as_str())];
        if let Some(sort) = self.listing_order().param() {
            query.push(("sort", sort));
        }
        query.push((since.field.param(), value.as_str()));
        query.push(("X-Plex-Container-Start", start.as_str()));
        query.push(("X-Plex-Container-Size", size.as_str()));
        self.get(&path, &query).await
    }
}

/// Splits keys into request-sized batches: at most [`KEYS_PER_REQUEST`]
/// keys and [`KEYS_CHARS_PER_REQUEST`] characters each.
pub fn key_batches(keys: &[String]) -> Vec<&[String]> {
    let mut batches = Vec::new();
    let mut start = 0;
    let mut chars = 0;
    for (i, key) in keys.iter().enumerate() {
        let len = key.len() + 1;
        let full = i - start >= KEYS_PER_REQUEST || (chars + len > KEYS_CHARS_PER_REQUEST);
        if full && i > start {
            batches.push(&keys[start..i]);
            start = i;
            chars = 0;
        }
        chars += len;
    }
    if start < keys.len() {
        batches.push(&keys[start..]);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_is_named_with_its_operator_and_asks_one_second_early() {
        let since = Since {
            field: DeltaField::UpdatedAt,
            cursor: 1_700_000_000,
        };
        assert_eq!(since.field.param(), "updatedAt>");
        assert_eq!(since.value(), "1699999999");
        assert_eq!(DeltaField::LastRatedAt.param(), "lastRatedAt>");
        assert_eq!(DeltaField::LastViewedAt.param(), "lastViewedAt>");
    }

    #[test]
    fn key_batches_respect_the_count_and_the_length() {
        let keys: Vec<String> = (0..450).map(|i| i.to_string()).collect();
        let batches = key_batches(&keys);
        assert_eq!(
            batches.iter().map(|b| b.len()).collect::<Vec<_>>(),
            vec![200, 200, 50]
        );
        let long: Vec<String> = (0..10).map(|i| format!("{i:0>1000}")).collect();
        let batches = key_batches(&long);
        assert!(batches.iter().all(|b| b.len() <= 3), "{batches:?}");
        assert_eq!(batches.iter().map(|b| b.len()).sum::<usize>(), 10);
        assert!(key_batches(&[]).is_empty());
    }
}
