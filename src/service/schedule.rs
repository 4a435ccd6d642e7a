//! The background policy, apart from any I/O: when Plex is probed, when the
//! library counts as stale, how long failures hold automatic syncs back, and
//! when a reconnection, a server change or a settings change asks for a
//! sync. Every answer is a function of facts and a time the caller passes,
//! so a test can set the clock.

use std::time::Duration;

use crate::config::Settings;
use crate::model::SyncState;
use crate::plex::ServerInfo;

/// How often Plex is probed.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(15);
/// Environment variable that shortens (or lengthens) the probe interval.
pub const PROBE_INTERVAL_ENV: &str = crate::config::env::PROBE_INTERVAL_SECS;
/// The shortest probe interval accepted from the environment.
const MIN_PROBE_INTERVAL_S: f64 = 0.1;
/// How often staleness is checked.
pub const STALE_CHECK_INTERVAL: Duration = Duration::from_secs(60);
/// After a failed sync, automatic retries wait at least this long.
pub const RETRY_AFTER_FAILURE_S: i64 = 300;
/// How long serving waits for the first probe, so the first answers know
/// whether Plex is up and which server it is (after that: false until known).
pub const FIRST_PROBE_WAIT: Duration = Duration::from_millis(1500);

/// The probe interval: the environment's when it is a number of seconds
/// of at least 0.1, else [`PROBE_INTERVAL`].
pub fn probe_interval(from_env: Option<&str>) -> Duration {
    from_env
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= MIN_PROBE_INTERVAL_S)
        .map(Duration::from_secs_f64)
        .unwrap_or(PROBE_INTERVAL)
}

/// How long the probe loop waits before its next probe: the first one
/// right away unless the start-up probe already answered.
pub fn next_probe_wait(first: bool, start_up_probe_answered: bool, interval: Duration) -> Duration {
    if first && !start_up_probe_answered {
        Duration::ZERO
    } else {
        interval
    }
}

/// Seconds since the last good sync (never negative), if there was one.
pub fn age_s(synced_at: Option<i64>, now: i64) -> Option<i64> {
    synced_at.map(|at| (now - at).max(0))
}

/// Never synced, or the last good sync is at least `refresh_age` old.
pub fn is_stale(synced_at: Option<i64>, now: i64, refresh_age: Duration) -> bool {
    age_s(synced_at, now).is_none_or(|age| age as f64 >= refresh_age.as_secs_f64())
}

/// What the staleness check decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleCheck {
    /// No Plex URL or token: nothing to sync from.
    NotConfigured,
    /// A sync runs already.
    Running,
    /// The last sync failed less than [`RETRY_AFTER_FAILURE_S`] ago.
    BackingOff,
    Fresh,
    /// Sync now.
    Sync,
}

/// Whether the staleness check starts a background sync at `now`.
pub fn stale_check(
    configured: bool,
    running: bool,
    state: &SyncState,
    refresh_age: Duration,
    now: i64,
) -> StaleCheck {
    if !configured {
        StaleCheck::NotConfigured
    } else if running {
        StaleCheck::Running
    } else if state
        .last_error_at
        .is_some_and(|at| now - at < RETRY_AFTER_FAILURE_S)
    {
        StaleCheck::BackingOff
    } else if is_stale(state.synced_at, now, refresh_age) {
        StaleCheck::Sync
    } else {
        StaleCheck::Fresh
    }
}

/// Whether a refresh must re-read everything because the periodic full
/// sweep is due: the last full sync is at least `full_sweep` old, or
/// there never was one. `None` (a sweep of 0 days) never asks for one.
pub fn full_sweep_due(full_synced_at: Option<i64>, now: i64, full_sweep: Option<Duration>) -> bool {
    match full_sweep {
        None => false,
        Some(every) => is_stale(full_synced_at, now, every),
    }
}

/// The probed server is not the one the cache came from.
pub fn server_changed(probed: Option<&ServerInfo>, cached_machine: Option<&str>) -> bool {
    probed
        .zip(cached_machine)
        .is_some_and(|(server, cached)| server.machine_identifier != cached)
}

/// A change to how plexcache reaches Plex (not merely when it refreshes).
pub fn connection_changed(before: &Settings, after: &Settings) -> bool {
    before.plex_url != after.plex_url
        || before.plex_token != after.plex_token
        || before.sections != after.sections
        || before.accept_invalid_certs != after.accept_invalid_certs
}

/// A change to the connection deserves a sync, so the person sees whether
/// it works; so does saving after a failed sync, or into an empty cache.
pub fn sync_after_settings(
    before: &Settings,
    after: &Settings,
    state: &SyncState,
    running: bool,
) -> bool {
    let wanted =
        connection_changed(before, after) || state.track_count == 0 || state.last_error.is_some();
    wanted && !running
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Overrides, Secret};

    const HOUR: i64 = 3600;
    const NOW: i64 = 1_800_000_000;

    fn synced(at: i64) -> SyncState {
        SyncState {
            synced_at: Some(at),
            track_count: 10,
            ..SyncState::default()
        }
    }

    fn check(state: &SyncState, now: i64) -> StaleCheck {
        stale_check(
            true,
            false,
            state,
            Duration::from_secs(24 * HOUR as u64),
            now,
        )
    }

    #[test]
    fn a_library_is_stale_from_the_refresh_age_on_exactly() {
        let day = Duration::from_secs(24 * HOUR as u64);
        assert!(is_stale(None, NOW, day), "never synced");
        assert!(!is_stale(Some(NOW - 24 * HOUR + 1), NOW, day));
        assert!(is_stale(Some(NOW - 24 * HOUR), NOW, day), "at the age");
        assert!(is_stale(Some(NOW - 25 * HOUR), NOW, day));
        assert!(!is_stale(Some(NOW + 60), NOW, day), "a clock behind");
        assert_eq!(age_s(Some(NOW + 60), NOW), Some(0));
    }

    #[test]
    fn the_clock_moving_past_the_refresh_age_starts_a_sync() {
        let state = synced(NOW);
        assert_eq!(check(&state, NOW + HOUR), StaleCheck::Fresh);
        assert_eq!(check(&state, NOW + 24 * HOUR - 1), StaleCheck::Fresh);
        assert_eq!(check(&state, NOW + 24 * HOUR), StaleCheck::Sync);
        assert_eq!(check(&SyncState::default(), NOW), StaleCheck::Sync);
    }

    #[test]
    fn a_failure_holds_automatic_syncs_back_for_five_minutes() {
        let failed = SyncState {
            last_error_at: Some(NOW),
            ..SyncState::default()
        };
        assert_eq!(check(&failed, NOW), StaleCheck::BackingOff);
        assert_eq!(check(&failed, NOW + 299), StaleCheck::BackingOff);
        assert_eq!(check(&failed, NOW + 300), StaleCheck::Sync);
        let old_failure = SyncState {
            last_error_at: Some(NOW - 3 * HOUR),
            ..synced(NOW - HOUR)
        };
        assert_eq!(check(&old_failure, NOW), StaleCheck::Fresh);
    }

    #[test]
    fn nothing_syncs_unconfigured_or_twice() {
        let day = Duration::from_secs(24 * HOUR as u64);
        let never = SyncState::default();
        assert_eq!(
            stale_check(false, false, &never, day, NOW),
            StaleCheck::NotConfigured
        );
        assert_eq!(
            stale_check(true, true, &never, day, NOW),
            StaleCheck::Running
        );
    }

    #[test]
    fn the_full_sweep_falls_due_a_week_after_the_last_full_sync_unless_disabled() {
        let week = Some(Duration::from_secs(7 * 24 * HOUR as u64));
        assert!(full_sweep_due(None, NOW, week), "never fully synced");
        assert!(!full_sweep_due(Some(NOW - 7 * 24 * HOUR + 1), NOW, week));
        assert!(full_sweep_due(Some(NOW - 7 * 24 * HOUR), NOW, week));
        assert!(!full_sweep_due(Some(NOW + 60), NOW, week), "a clock behind");
        assert!(!full_sweep_due(None, NOW, None), "0 days: never");
        assert!(!full_sweep_due(Some(0), NOW, None));
    }

    #[test]
    fn the_probe_interval_comes_from_the_environment_within_bounds() {
        assert_eq!(probe_interval(None), PROBE_INTERVAL);
        assert_eq!(probe_interval(Some("0.5")), Duration::from_millis(500));
        for bad in ["0.05", "-1", "NaN", "inf", "x", ""] {
            assert_eq!(probe_interval(Some(bad)), PROBE_INTERVAL, "{bad}");
        }
    }

    #[test]
    fn the_probe_loop_skips_its_first_wait_only_after_a_silent_start() {
        let every = Duration::from_secs(15);
        assert_eq!(next_probe_wait(true, false, every), Duration::ZERO);
        assert_eq!(next_probe_wait(true, true, every), every);
        assert_eq!(next_probe_wait(false, false, every), every);
    }

    fn server(id: &str) -> ServerInfo {
        ServerInfo {
            machine_identifier: id.into(),
            name: "Home".into(),
            version: "1".into(),
        }
    }

    #[test]
    fn a_server_change_needs_a_probed_server_and_a_cached_one() {
        assert!(server_changed(Some(&server("b")), Some("a")));
        assert!(!server_changed(Some(&server("a")), Some("a")));
        assert!(!server_changed(None, Some("a")), "Plex down");
        assert!(!server_changed(Some(&server("b")), None), "empty cache");
    }

    fn settings() -> Settings {
        let dir = tempfile::tempdir().unwrap();
        let overrides = Overrides {
            plex_url: Some("http://127.0.0.1:32400".into()),
            plex_token: Some(Secret::new("t1")),
            ..Default::default()
        };
        Settings::load(dir.path(), overrides).unwrap()
    }

    #[test]
    fn a_new_token_url_or_sections_is_a_connection_change_a_refresh_age_is_not() {
        let before = settings();
        let mut after = before.clone();
        after.refresh_age = Duration::from_secs(60);
        assert!(!connection_changed(&before, &after));
        after.plex_token = Some(Secret::new("t2"));
        assert!(connection_changed(&before, &after));
        let mut after = before.clone();
        after.sections = vec!["1".into()];
        assert!(connection_changed(&before, &after));
        let mut after = before.clone();
        after.plex_url = Some("http://127.0.0.1:32401".into());
        assert!(connection_changed(&before, &after));
        let mut after = before.clone();
        after.accept_invalid_certs = !before.accept_invalid_certs;
        assert!(connection_changed(&before, &after));
    }

    #[test]
    fn settings_changes_sync_after_a_reconnection_a_failure_or_into_an_empty_cache() {
        let before = settings();
        let mut slower = before.clone();
        slower.refresh_age = Duration::from_secs(60);
        let mut reconnected = before.clone();
        reconnected.plex_token = Some(Secret::new("t2"));
        let good = synced(NOW);
        let failed = SyncState {
            last_error: Some("down".into()),
            ..synced(NOW)
        };
        assert!(!sync_after_settings(&before, &slower, &good, false));
        assert!(sync_after_settings(&before, &reconnected, &good, false));
        assert!(!sync_after_settings(&before, &reconnected, &good, true));
        assert!(sync_after_settings(&before, &slower, &failed, false));
        assert!(sync_after_settings(
            &before,
            &slower,
            &SyncState::default(),
            false
        ));
    }
}
