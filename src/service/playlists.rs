//! Saving chosen tracks, or a random sample of a filter, as a Plex playlist:
//! the tracks the cache does not know are left out and named.

use super::Library;
use crate::model::Filter;
use crate::store::StoreError;
use crate::sync::{SyncError, client_for};

/// Which tracks a new playlist holds.
#[derive(Debug, Clone)]
pub enum PlaylistTracks {
    /// These rating keys, in order, each once.
    Keys(Vec<String>),
    /// `n` random tracks matching the filter.
    Sample { filter: Filter, n: u64 },
}

/// What Plex made.
#[derive(Debug, Clone)]
pub struct CreatedPlaylist {
    pub rating_key: String,
    pub title: String,
    pub added: u64,
    /// Keys not in the cache (unknown or deleted tracks).
    pub skipped_keys: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlaylistError {
    #[error("none of the tracks are in the library")]
    NoTracks,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error("a worker stopped: {0}")]
    Worker(#[from] tokio::task::JoinError),
}

impl From<crate::plex::PlexError> for PlaylistError {
    fn from(e: crate::plex::PlexError) -> Self {
        PlaylistError::Sync(e.into())
    }
}

impl Library {
    /// Creates a Plex playlist titled `title` (already checked) from the
    /// tracks the cache knows.
    pub async fn create_playlist(
        &self,
        title: &str,
        tracks: PlaylistTracks,
    ) -> Result<CreatedPlaylist, PlaylistError> {
        let requested = match tracks {
            PlaylistTracks::Keys(keys) => keys,
            PlaylistTracks::Sample { filter, n } => {
                let (_, tracks) = self
                    .blocking(move |store| store.sample(&filter, n))
                    .await??;
                tracks.into_iter().map(|t| t.rating_key).collect()
            }
        };
        let known = {
            let keys = requested.clone();
            self.blocking(move |store| store.known_keys(&keys))
                .await??
        };
        if known.is_empty() {
            return Err(PlaylistError::NoTracks);
        }
        let skipped_keys: Vec<String> = requested
            .iter()
            .filter(|k| !known.contains(k))
            .cloned()
            .collect();
        let client = client_for(&self.settings())?;
        let machine = match self.sync_state().machine_identifier {
            Some(machine) => machine,
            None => client.server_info().await?.machine_identifier,
        };
        let result = client.create_playlist(&machine, title, &known).await?;
        let added = if result.item_count > 0 {
            result.item_count
        } else {
            known.len() as u64
        };
        tracing::info!(title = %result.title, added, skipped = skipped_keys.len(), "playlist created");
        Ok(CreatedPlaylist {
            rating_key: result.rating_key,
            title: result.title,
            added,
            skipped_keys,
        })
    }
}
