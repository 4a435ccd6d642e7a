//! The one shared view of a running sync: phase, counts, rate and time
//! left. The engine writes it; the API, CLI progress bar and page read it.
//!
//! `total` is always a number: the tracks the sync expects. Before the
//! server was asked (connecting, artists, albums) it is the previous
//! library's track count (0 for a first sync); from the tracks phase on it
//! is the server's `totalSize`, or the previous count when the server gives
//! none, and never less than the tracks read so far.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde::Serialize;

use crate::locks::MutexExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Connecting,
    Artists,
    Albums,
    Tracks,
    Saving,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Connecting => "connecting",
            Phase::Artists => "artists",
            Phase::Albums => "albums",
            Phase::Tracks => "tracks",
            Phase::Saving => "saving",
        }
    }
}

/// What a running sync reports.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ProgressReport {
    pub phase: Phase,
    /// Tracks read so far in the tracks phase; 0 in the other phases.
    pub current: u64,
    /// Tracks the sync expects: the server's count once asked, before that
    /// the previous library's count, else 0.
    pub total: u64,
    /// Items per second in the current phase.
    pub rate: Option<f64>,
    /// Seconds left in the current phase, estimated.
    pub eta_s: Option<f64>,
}

#[derive(Debug)]
struct Running {
    phase: Phase,
    phase_started: Instant,
    current: u64,
    total: u64,
    /// Nothing to show meanwhile (first sync, or a new server).
    blocking: bool,
    server_changed: bool,
}

#[derive(Debug, Default)]
struct Inner {
    running: Option<Running>,
    /// Syncs begun so far in this process.
    begun: u64,
}

/// Shared progress; cloning shares the same state.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    inner: Arc<Mutex<Inner>>,
}

impl Progress {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not take the status down with it.
        self.inner.lock_unpoisoned()
    }

    /// Marks a sync as started; false if one already runs.
    /// `expected` is the best guess of the track count until the server
    /// tells (the previous library's).
    pub(super) fn try_begin(&self, blocking: bool, expected: u64) -> bool {
        let mut inner = self.lock();
        if inner.running.is_some() {
            return false;
        }
        inner.begun += 1;
        inner.running = Some(Running {
            phase: Phase::Connecting,
            phase_started: Instant::now(),
            current: 0,
            total: expected,
            blocking,
            server_changed: false,
        });
        true
    }

    pub(super) fn end(&self) {
        self.lock().running = None;
    }

    /// Starts a phase; the expected total carries over.
    pub(super) fn set_phase(&self, phase: Phase) {
        if let Some(r) = self.lock().running.as_mut() {
            r.phase = phase;
            r.phase_started = Instant::now();
            // Saving comes after everything was read: the count stays full
            // rather than dropping back to 0 % at the very end.
            r.current = if phase == Phase::Saving { r.total } else { 0 };
        }
    }

    /// The server's count; `None` (it gave none) keeps the current guess.
    pub(super) fn set_total(&self, total: Option<u64>) {
        if let (Some(r), Some(total)) = (self.lock().running.as_mut(), total) {
            r.total = total;
        }
    }

    /// The previous library is gone (rebuilt file): no guess left.
    pub(super) fn reset_total(&self) {
        if let Some(r) = self.lock().running.as_mut() {
            r.total = 0;
        }
    }

    pub(super) fn advance(&self, items: u64) {
        if let Some(r) = self.lock().running.as_mut() {
            r.current += items;
        }
    }

    pub(super) fn reset_current(&self) {
        if let Some(r) = self.lock().running.as_mut() {
            r.current = 0;
            r.phase_started = Instant::now();
        }
    }

    pub(super) fn mark_server_changed(&self) {
        if let Some(r) = self.lock().running.as_mut() {
            r.server_changed = true;
            r.blocking = true;
            // The old library's count says nothing about the new server's.
            r.total = 0;
        }
    }

    pub(super) fn set_blocking(&self, blocking: bool) {
        if let Some(r) = self.lock().running.as_mut() {
            r.blocking = blocking;
        }
    }

    /// This process's syncs: how many have begun, and whether one runs now.
    /// Equal answers at two moments mean no sync of this process wrote in
    /// between.
    pub fn activity(&self) -> (u64, bool) {
        let inner = self.lock();
        (inner.begun, inner.running.is_some())
    }

    pub fn is_running(&self) -> bool {
        self.lock().running.is_some()
    }

    pub fn is_blocking(&self) -> bool {
        self.lock().running.as_ref().is_some_and(|r| r.blocking)
    }

    pub fn server_changed(&self) -> bool {
        self.lock()
            .running
            .as_ref()
            .is_some_and(|r| r.server_changed)
    }

    pub fn report(&self) -> Option<ProgressReport> {
        let inner = self.lock();
        let r = inner.running.as_ref()?;
        let elapsed = r.phase_started.elapsed().as_secs_f64();
        let counting = r.phase != Phase::Saving;
        let rate = (counting && elapsed > 0.2 && r.current > 0).then(|| r.current as f64 / elapsed);
        let total = r.total.max(r.current);
        let eta_s = match rate {
            Some(rate) if total > 0 => Some(total.saturating_sub(r.current) as f64 / rate),
            _ => None,
        };
        Some(ProgressReport {
            phase: r.phase,
            current: r.current,
            total,
            rate: rate.map(|v| (v * 10.0).round() / 10.0),
            eta_s: eta_s.map(|v| (v * 10.0).round() / 10.0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saving_keeps_the_count_full_instead_of_dropping_to_zero() {
        let progress = Progress::default();
        assert!(progress.try_begin(true, 0));
        progress.set_phase(Phase::Tracks);
        progress.set_total(Some(3_000));
        progress.advance(3_000);
        progress.set_phase(Phase::Saving);
        let report = progress.report().expect("running");
        assert_eq!(report.phase, Phase::Saving);
        assert_eq!((report.current, report.total), (3_000, 3_000));
        assert_eq!(report.rate, None, "nothing is counted while saving");
        progress.set_phase(Phase::Tracks);
        assert_eq!(progress.report().expect("running").current, 0);
    }
}
