//! What the cache knows about its syncs: the state of the last one and the
//! history of past ones.

use std::collections::BTreeMap;

/// The cache's sync state: which server its library came from, when it was
/// last good, the last error.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncState {
    pub machine_identifier: Option<String>,
    pub server_name: Option<String>,
    /// Unix time of the last good sync.
    pub synced_at: Option<i64>,
    /// Always equal to the rows served: written in the sync's transaction.
    pub track_count: i64,
    pub duration_ms: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_kind: Option<String>,
    pub last_error_at: Option<i64>,
    /// Unix time of the last full sync (`synced_at` also moves on a delta
    /// refresh).
    pub full_synced_at: Option<i64>,
    /// Unix time of the last committed change of any kind (a sync, a
    /// refresh or a live update that changed something).
    pub last_change_at: Option<i64>,
    /// The section keys the last full sync or refresh covered; empty when
    /// unknown (a cache from before cursors): a refresh then must be full.
    pub synced_sections: Vec<String>,
    /// Each synced section's `contentChangedAt` as the last sync or
    /// refresh read it, by section key (missing: read everything again).
    pub section_markers: BTreeMap<String, i64>,
    pub cursors: Cursors,
}

/// Where a delta refresh starts: the largest times of each kind the cache
/// holds. `None` when the cache has none (or predates cursors): a refresh
/// cannot ask Plex for what moved since then, so it must be full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursors {
    /// Largest track `updatedAt` (metadata edits, new tracks).
    pub updated_at: Option<i64>,
    /// Largest track `lastViewedAt` (plays).
    pub viewed_at: Option<i64>,
    /// Largest track `lastRatedAt` (ratings).
    pub rated_at: Option<i64>,
    /// Largest album or artist `updatedAt`.
    pub parents_at: Option<i64>,
}

/// What a sync read from Plex: everything, or what moved since the cursors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncKind {
    #[default]
    Full,
    Delta,
}

impl SyncKind {
    /// The name stored in the history and shown by the API.
    pub fn name(self) -> &'static str {
        match self {
            SyncKind::Full => "full",
            SyncKind::Delta => "delta",
        }
    }

    pub fn from_name(name: &str) -> Option<SyncKind> {
        [SyncKind::Full, SyncKind::Delta]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

/// How a sync ended (or that it still runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Running,
    Success,
    Failed,
    Cancelled,
    /// Its process stopped before it finished.
    Interrupted,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Running,
        Outcome::Success,
        Outcome::Failed,
        Outcome::Cancelled,
        Outcome::Interrupted,
    ];

    /// The name stored in the history and shown by the API.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Running => "running",
            Outcome::Success => "success",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
            Outcome::Interrupted => "interrupted",
        }
    }

    pub fn from_name(name: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.name() == name)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// One past (or running) sync.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub id: i64,
    /// Unix time.
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub outcome: Outcome,
    pub track_count: Option<i64>,
    pub added: Option<i64>,
    pub removed: Option<i64>,
    pub error: Option<String>,
    pub server_name: Option<String>,
    pub kind: SyncKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_names_round_trip_and_pad() {
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::from_name(outcome.name()), Some(outcome));
        }
        assert_eq!(Outcome::from_name("done"), None);
        assert_eq!(format!("{:<9}|", Outcome::Failed), "failed   |");
    }

    #[test]
    fn sync_kind_names_round_trip() {
        for kind in [SyncKind::Full, SyncKind::Delta] {
            assert_eq!(SyncKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(SyncKind::from_name("partial"), None);
    }
}
