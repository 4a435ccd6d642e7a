//! Performance budgets, checked in a way a busy CI machine cannot make
//! flaky: no timed assertions on fast operations. Instead,
//!
//! - a real `plexcache sync` child process syncs a 20k-track library from the
//!   emulator; its peak resident memory (which noise hardly moves) must stay
//!   within the 60 MB budget of a 100k sync, and its wall time under a bound
//!   loose enough to catch only gross regressions;
//! - `EXPLAIN QUERY PLAN` of every statement a query runs on the synced file
//!   shows the index meant for it, never a scan of the whole table, and the
//!   in-memory filter columns take a bounded number of bytes per track.
//!
//! The timings themselves are measured by `plexcache-tools bench` (BENCHMARKS.md).

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use plexcache::model::{Filter, Sort};
use plexcache::store::{QueryPlan, Store};
use plexcache_emulator::{EmulatorConfig, Library};
use plexcache_harness::process::{
    ChildRun, command, log_to, plexcache_binary, point_at, run_measured,
};
use plexcache_harness::start_emulator;

const TRACKS: usize = 20_000;
const TOKEN: &str = "budget-check-token";
/// The budget of a 100k sync bounds a 20k one.
const PEAK_RSS_BUDGET_MB: f64 = 60.0;
/// Catches only gross regressions (the budget for 100k is 3 s in a release
/// build; this may be a debug build on a loaded machine).
const WALL_BOUND: Duration = Duration::from_secs(60);

struct Synced {
    _dir: tempfile::TempDir,
    data_dir: PathBuf,
    run: ChildRun,
    stderr: String,
}

/// One sync, shared by the tests of this file.
fn synced() -> &'static Synced {
    static SYNCED: OnceLock<Synced> = OnceLock::new();
    SYNCED.get_or_init(|| match sync_once() {
        Ok(synced) => synced,
        Err(e) => panic!("cannot set up the synced library: {e:#}"),
    })
}

/// The binary under test: `PLEXCACHE_BIN` (the release build, as
/// `scripts/test` sets it) or the one cargo built into this target directory.
fn binary() -> PathBuf {
    match plexcache_binary() {
        Ok(path) => path,
        Err(e) => panic!("{e:#}"),
    }
}

fn sync_once() -> anyhow::Result<Synced> {
    let dir = tempfile::tempdir()?;
    let data_dir = dir.path().join("data");
    let log_dir = dir.path().to_path_buf();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let run = runtime.block_on(async {
        let library = tokio::task::spawn_blocking(|| Library::generate(TRACKS, 11)).await?;
        let plex = start_emulator(EmulatorConfig::new(library, TOKEN)).await?;
        let mut command = command(&binary());
        point_at(&mut command, &data_dir, &plex.url(), TOKEN);
        command.env(
            "RUST_LOG",
            "info,plexcache::sync=debug,plexcache::store=debug",
        );
        log_to(&mut command, &log_dir, "sync")?;
        command.arg("sync");
        // Killed well after the bound, so a hang fails the test with figures.
        let run = tokio::task::spawn_blocking(move || {
            run_measured(&mut command, Some(WALL_BOUND + WALL_BOUND))
        })
        .await??;
        plex.shutdown().await;
        Ok::<_, anyhow::Error>(run)
    })?;
    let stderr = std::fs::read_to_string(log_dir.join("sync.err")).unwrap_or_default();
    Ok(Synced {
        _dir: dir,
        data_dir,
        run,
        stderr,
    })
}

#[test]
fn a_20k_sync_stays_within_the_memory_budget() {
    let synced = synced();
    let run = &synced.run;
    let tail: String = synced
        .stderr
        .lines()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        run.success(),
        "the sync failed ({}):\n{tail}",
        run.describe()
    );
    let peak = run.peak_rss_mb();
    eprintln!(
        "20k sync: {:.2} s wall, {:.2} s CPU, peak RSS {peak:.1} MB",
        run.wall.as_secs_f64(),
        (run.user_cpu + run.system_cpu).as_secs_f64()
    );
    assert!(peak > 1.0, "no memory reading for the child");
    assert!(
        peak <= PEAK_RSS_BUDGET_MB,
        "peak RSS {peak:.1} MB is over the {PEAK_RSS_BUDGET_MB} MB budget"
    );
    assert!(
        run.wall <= WALL_BOUND,
        "the sync took {:.1} s (bound {} s)",
        run.wall.as_secs_f64(),
        WALL_BOUND.as_secs()
    );
}

// ---------------------------------------------------------------------------
// Query work.
//
// Counts, pages and samples scan the in-memory filter columns; SQLite only
// answers the text and artist terms, looks up the rows shown and builds sort
// orders. Each of those statements must use the index meant for it, never a
// scan of the whole table, and the columns must stay compact.

fn store() -> Store {
    let path = synced().data_dir.join("library_cache.db");
    match Store::open(&path) {
        Ok((store, _)) => store,
        Err(e) => panic!("cannot open {}: {e}", path.display()),
    }
}

fn plans() -> Vec<QueryPlan> {
    let plans = store()
        .query_plans()
        .unwrap_or_else(|e| panic!("plans: {e}"));
    for p in &plans {
        // Shown with --nocapture, and with the output of a failing test.
        eprintln!(
            "{}: {}\n  -> {}",
            p.statement,
            p.sql.split_whitespace().collect::<Vec<_>>().join(" "),
            p.plan.join(" | ")
        );
    }
    plans
}

fn plan_of<'a>(plans: &'a [QueryPlan], statement: &str) -> &'a [String] {
    plans
        .iter()
        .find(|p| p.statement == statement)
        .map(|p| p.plan.as_slice())
        .unwrap_or_else(|| panic!("no plan for {statement}"))
}

/// A plain `SCAN` of a table reads every row of it.
fn scans_a_table(plan: &[String]) -> bool {
    plan.iter().any(|l| {
        let l = l.trim();
        l.starts_with("SCAN ") && !l.contains(" INDEX ")
    })
}

#[test]
fn every_statement_a_query_runs_uses_its_index() {
    let plans = plans();
    let mut failures = Vec::new();
    let mut expect = |statement: &str, ok: &dyn Fn(&[String]) -> bool, what: &str| {
        let plan = plan_of(&plans, statement);
        if scans_a_table(plan) || !ok(plan) {
            failures.push(format!("{statement}: expected {what}; plan: {plan:?}"));
        }
    };
    let has = |needle: &'static str| move |plan: &[String]| plan.iter().any(|l| l.contains(needle));
    expect(
        "library version",
        &has("INTEGER PRIMARY KEY"),
        "a search by the primary key",
    );
    expect(
        "genre by name",
        &has("INDEX"),
        "the unique index on the name",
    );
    expect(
        "text search",
        &has("VIRTUAL TABLE INDEX"),
        "the full-text index",
    );
    expect(
        "artist",
        &|plan| {
            plan.iter().any(|l| l.contains("INDEX tracks_artist"))
                && plan.iter().any(|l| l.contains("INDEX tracks_album_artist"))
        },
        "the artist and album-artist indexes",
    );
    expect(
        "rows by id",
        &has("SEARCH t USING INTEGER PRIMARY KEY"),
        "rowid searches",
    );
    expect(
        "genres of rows",
        &|plan| {
            plan.iter()
                .any(|l| l.contains("SEARCH tg USING PRIMARY KEY"))
                && plan
                    .iter()
                    .any(|l| l.contains("SEARCH g USING INTEGER PRIMARY KEY"))
        },
        "primary-key searches of track_genres and genres",
    );
    expect(
        "default sort order",
        &|plan| {
            plan.iter().any(|l| l.contains("INDEX tracks_artist"))
                && !plan.iter().any(|l| l.contains("TEMP B-TREE"))
        },
        "a walk of tracks_artist without a sort",
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_filter_columns_stay_compact() {
    let store = store();
    let sort = match Sort::parse(Some("title"), Some("desc")) {
        Ok(sort) => sort,
        Err(e) => panic!("{e}"),
    };
    // Loads the columns and two sort orders (the default one and title).
    if let Err(e) = store
        .warm()
        .and_then(|()| store.tracks(&Filter::default(), sort, 0, 10).map(|_| ()))
    {
        panic!("query: {e}");
    }
    let per_track = store.filter_memory_bytes() as f64 / TRACKS as f64;
    eprintln!("filter columns: {per_track:.1} bytes per track");
    // About 40 bytes of columns and genres plus 4 per sort order in use.
    assert!(per_track > 20.0, "the columns were not loaded");
    assert!(
        per_track <= 56.0,
        "the filter columns take {per_track:.1} bytes per track (budget 56)"
    );
}
