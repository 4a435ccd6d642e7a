//! Reading the cached library: pages, samples, counts, statistics and sync
//! history, each on the blocking pool (SQLite never runs on an async
//! thread) and with a damaged file noticed and checked.

use crate::model::{Filter, HistoryEntry, Sort, Stats, Track, TrackPage};
use crate::store::StoreError;

use super::Library;

/// Why a read failed: the store said no, or the read itself died.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the query stopped unexpectedly")]
    Stopped(#[from] tokio::task::JoinError),
}

impl Library {
    /// One page of the tracks `filter` matches, in `sort` order.
    pub async fn tracks(
        &self,
        filter: Filter,
        sort: Sort,
        offset: u64,
        limit: u64,
    ) -> Result<TrackPage, QueryError> {
        Ok(self
            .blocking(move |store| store.tracks(&filter, sort, offset, limit))
            .await??)
    }

    /// Up to `n` random tracks `filter` matches, with how many match.
    pub async fn sample(&self, filter: Filter, n: u64) -> Result<(u64, Vec<Track>), QueryError> {
        Ok(self
            .blocking(move |store| store.sample(&filter, n))
            .await??)
    }

    /// How many tracks `filter` matches.
    pub async fn count(&self, filter: Filter) -> Result<u64, QueryError> {
        Ok(self.blocking(move |store| store.count(&filter)).await??)
    }

    /// Genre and decade counts over the whole library.
    pub async fn stats(&self) -> Result<Stats, QueryError> {
        Ok(self.blocking(|store| store.stats()).await??)
    }

    /// The last `limit` syncs, newest first.
    pub async fn history(&self, limit: u32) -> Result<Vec<HistoryEntry>, QueryError> {
        Ok(self.blocking(move |store| store.history(limit)).await??)
    }
}
