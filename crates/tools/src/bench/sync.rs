//! `plexcache sync` as a child process against an emulator: wall time,
//! peak RSS of the sync alone, what the sync says it did, its phase times
//! (from its debug log) and the database it left behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use serde::Serialize;

use plexcache_harness::process::{command, log_to, point_at, run_measured, tail};

/// A sync that takes longer than this is killed and reported as failed.
const SYNC_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// One measured sync.
#[derive(Debug, Clone, Serialize)]
pub struct SyncRun {
    pub wall_s: f64,
    pub peak_rss_mb: f64,
    pub user_cpu_s: f64,
    pub system_cpu_s: f64,
    /// What `plexcache sync` printed: tracks synced and its own seconds.
    pub tracks: Option<u64>,
    pub engine_s: Option<f64>,
    /// Milliseconds from the start of the sync to the end of each fetch
    /// phase (connected, artists and albums read, tracks read).
    pub phase_ms: BTreeMap<String, u64>,
    /// Milliseconds of each step of the final save.
    pub saving_ms: BTreeMap<String, u64>,
    pub db_bytes: u64,
    pub wal_bytes: u64,
}

impl SyncRun {
    /// Seconds from the start of the sync until every page was read.
    pub fn fetch_s(&self) -> Option<f64> {
        self.phase_ms
            .get("tracks read")
            .map(|ms| *ms as f64 / 1000.0)
    }
}

/// Where and how a measured `plexcache` child runs.
pub struct Target {
    pub exe: PathBuf,
    pub data_dir: PathBuf,
    pub plex_url: String,
    pub token: String,
    pub log_dir: PathBuf,
}

impl Target {
    /// `exe` pointed at the Plex server, keeping its cache in `data_dir`,
    /// its output in files in `log_dir` (`NAME.out`, `NAME.err`) and its
    /// sync and store steps in the debug log the phases are read from.
    pub fn command(&self, name: &str) -> std::io::Result<std::process::Command> {
        let mut plexcache = command(&self.exe);
        point_at(&mut plexcache, &self.data_dir, &self.plex_url, &self.token);
        plexcache.env(
            "RUST_LOG",
            "info,plexcache::sync=debug,plexcache::store=debug",
        );
        log_to(&mut plexcache, &self.log_dir, name)?;
        Ok(plexcache)
    }
}

/// Runs `plexcache sync` into the target's data directory (blocking) and
/// reads its output.
pub fn sync_once(target: &Target, name: &str) -> anyhow::Result<SyncRun> {
    let (data_dir, log_dir) = (&target.data_dir, &target.log_dir);
    let mut command = target.command(name)?;
    command.arg("sync");
    let run = run_measured(&mut command, Some(SYNC_DEADLINE))?;
    let err_log = log_dir.join(format!("{name}.err"));
    if !run.success() {
        anyhow::bail!(
            "plexcache sync failed ({}): {}",
            run.describe(),
            tail(&err_log)
        );
    }
    let stdout = std::fs::read_to_string(log_dir.join(format!("{name}.out"))).unwrap_or_default();
    let stderr = strip_ansi(&std::fs::read_to_string(&err_log).unwrap_or_default());
    let (tracks, engine_s) = parse_summary(&stdout);
    let db = data_dir.join("library_cache.db");
    Ok(SyncRun {
        wall_s: run.wall.as_secs_f64(),
        peak_rss_mb: run.peak_rss_mb(),
        user_cpu_s: run.user_cpu.as_secs_f64(),
        system_cpu_s: run.system_cpu.as_secs_f64(),
        tracks,
        engine_s,
        phase_ms: parse_phases(&stderr),
        saving_ms: parse_saving(&stderr),
        db_bytes: file_size(&db),
        wal_bytes: file_size(&data_dir.join("library_cache.db-wal")),
    })
}

/// Size of a file, 0 when missing.
fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

static SUMMARY: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"synced (\d+) tracks from .* in ([0-9.]+) s").ok());
static PHASE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(connected|artists and albums read|tracks read)\s+ms=(\d+)").ok()
});
static SAVING: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"saving\s+step=("(?:[^"\\]|\\.)*"|\S+)\s+ms=(\d+)"#).ok());
static ANSI: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\x1b\[[0-9;]*[A-Za-z]").ok());

/// "synced 101234 tracks from NAME in 2.3 s (...)" → (101234, 2.3).
pub fn parse_summary(stdout: &str) -> (Option<u64>, Option<f64>) {
    let Some(captures) = SUMMARY.as_ref().and_then(|re| re.captures(stdout)) else {
        return (None, None);
    };
    (
        captures.get(1).and_then(|m| m.as_str().parse().ok()),
        captures.get(2).and_then(|m| m.as_str().parse().ok()),
    )
}

fn parse_phases(log: &str) -> BTreeMap<String, u64> {
    let Some(re) = PHASE.as_ref() else {
        return BTreeMap::new();
    };
    re.captures_iter(log)
        .filter_map(|c| {
            Some((
                c.get(1)?.as_str().to_owned(),
                c.get(2)?.as_str().parse().ok()?,
            ))
        })
        .collect()
}

fn parse_saving(log: &str) -> BTreeMap<String, u64> {
    let Some(re) = SAVING.as_ref() else {
        return BTreeMap::new();
    };
    let mut steps = BTreeMap::new();
    for c in re.captures_iter(log) {
        if let (Some(step), Some(ms)) = (
            c.get(1),
            c.get(2).and_then(|m| m.as_str().parse::<u64>().ok()),
        ) {
            *steps.entry(step_name(step.as_str())).or_insert(0) += ms;
        }
    }
    steps
}

/// `"cleanup"` → `cleanup`; `"CREATE INDEX IF NOT EXISTS tracks_title ON …"`
/// → `index tracks_title`.
fn step_name(raw: &str) -> String {
    let text = raw.trim_matches('"');
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        ["CREATE", "INDEX", "IF", "NOT", "EXISTS", name, ..] | ["CREATE", "INDEX", name, ..] => {
            format!("index {name}")
        }
        _ => words.join(" ").chars().take(60).collect(),
    }
}

fn strip_ansi(text: &str) -> String {
    match ANSI.as_ref() {
        Some(re) => re.replace_all(text, "").into_owned(),
        None => text.to_owned(),
    }
}

/// The slow-server figures of one sync (see BENCHMARKS.md for the
/// definitions).
#[derive(Debug, Clone, Serialize)]
pub struct SlowSync {
    pub wall_s: f64,
    /// Start of the sync to the last page read (its own clock).
    pub fetch_s: Option<f64>,
    /// Requests the emulator answered during the sync.
    pub requests: u64,
    /// Items (artists, albums, tracks) in the answers, each delayed by the
    /// per-item latency.
    pub items: u64,
    /// Injected latency summed over all requests: what the server needs
    /// to answer them one after another.
    pub serial_s: f64,
    /// `serial_s / concurrency`: the fastest the sync could read with
    /// `concurrency` requests always in flight.
    pub floor_s: f64,
    /// `fetch_s / floor_s` (1.0 = the server is the only limit).
    pub ratio: f64,
    /// `serial_s / fetch_s`: requests in flight on average.
    pub in_flight: f64,
}

impl SlowSync {
    pub fn new(
        run: &SyncRun,
        requests: u64,
        items: u64,
        latency_ms: u64,
        item_latency_us: u64,
        concurrency: usize,
    ) -> SlowSync {
        let serial_s =
            requests as f64 * latency_ms as f64 / 1e3 + items as f64 * item_latency_us as f64 / 1e6;
        let floor_s = serial_s / concurrency.max(1) as f64;
        let fetch_s = run.fetch_s();
        let measured = fetch_s.unwrap_or(run.wall_s);
        SlowSync {
            wall_s: run.wall_s,
            fetch_s,
            requests,
            items,
            serial_s,
            floor_s,
            ratio: measured / floor_s.max(1e-9),
            in_flight: serial_s / measured.max(1e-9),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_sync_prints() {
        let (tracks, seconds) = parse_summary(
            "synced 101234 tracks from Living Room in 2.4 s (101234 added, 0 removed)\n",
        );
        assert_eq!((tracks, seconds), (Some(101_234), Some(2.4)));
        let log = "2026-01-01T00:00:00Z DEBUG plexcache::sync: connected ms=12\n\
                   2026-01-01T00:00:00Z DEBUG plexcache::sync: tracks read ms=1500\n\
                   2026-01-01T00:00:00Z DEBUG plexcache::store::write: saving step=\"indexes\" ms=300\n\
                   \x1b[2m2026\x1b[0m DEBUG plexcache::store::write: saving step=\"indexes\" ms=5\n\
                   2026 DEBUG plexcache::store::write: saving step=\"CREATE INDEX IF NOT EXISTS tracks_title ON tracks (title COLLATE NOCASE)\" ms=40\n";
        let log = strip_ansi(log);
        let phases = parse_phases(&log);
        assert_eq!(phases.get("tracks read"), Some(&1500));
        assert_eq!(phases.get("connected"), Some(&12));
        let saving = parse_saving(&log);
        assert_eq!(saving.get("indexes"), Some(&305));
        assert_eq!(saving.get("index tracks_title"), Some(&40));
    }
}
