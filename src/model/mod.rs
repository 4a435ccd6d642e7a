//! The domain types every part shares: tracks and their pages and counts,
//! filters and sort orders, sync state and history. No storage, no wire
//! format: `store` answers in these types, `plex` and `sync` produce the
//! library they describe, and `api` and `cli` turn them into JSON and text.
//! The one exception is [`FilterParams`], the filter language's single
//! declaration, which derives the CLI, query, JSON and OpenAPI forms.

pub mod filter;
pub mod sort;
pub mod sync;
pub mod track;

pub use filter::{Filter, FilterError, FilterParams, MAX_LIMIT, MAX_SAMPLE, StringList};
pub use sort::{Sort, SortField};
pub use sync::{Cursors, HistoryEntry, Outcome, SyncKind, SyncState};
pub use track::{DecadeCount, GenreCount, Stats, Track, TrackPage, YEARS};
