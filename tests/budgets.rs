//! Performance budgets, checked in a way a busy CI machine cannot make
//! flaky: no timed assertions on fast operations. Instead,
//!
//! - a real `plexcache sync` child process syncs a 20k-track library from the
//!   emulator; its peak resident memory (which noise hardly moves) must stay
//!   within the 60 MB budget of a 100k sync, and its wall time under a bound
//!   loose enough to catch only gross regressions;
//! - `EXPLAIN QUERY PLAN` on the synced file shows every filter and sort
//!   served by the index meant for it, not by a scan of the whole table.
//!
//! The timings themselves are measured by `plexcache bench` (BENCHMARKS.md).

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use plexcache::bench::child::{ChildRun, plexcache_command, run_measured};
use plexcache::emulator::{self, EmulatorConfig, Library};
use plexcache::store::Sort;
use rusqlite::Connection;

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
/// `scripts/test` sets it) or the one cargo built for this test run.
fn binary() -> PathBuf {
    std::env::var_os("PLEXCACHE_BIN")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_plexcache")))
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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let library = tokio::task::spawn_blocking(|| Library::generate(TRACKS, 11)).await?;
        let plex = emulator::start(listener, EmulatorConfig::new(library, TOKEN)).await?;
        let mut command =
            plexcache_command(&binary(), &data_dir, &plex.url(), TOKEN, &log_dir, "sync")?;
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
// Query plans.
//
// `store::query` compiles a filter into a WHERE clause privately, so the
// clauses below are written the same way by hand (`Sort::order_by` is
// public and used as is). Keep them in step with `compile` in
// src/store/query.rs: counts use the terms as they are, sorted pages keep the
// live flag out of index selection (`+t.is_live = 0`).

const TRACK_COLUMNS: &str =
    "t.rating_key, t.title, t.artist, t.album_artist, t.album, t.album_key, t.artist_key,
    t.disc, t.track, t.duration_ms, t.year, t.id, t.rating, t.play_count, t.last_played_at,
    t.added_at, t.updated_at, t.is_live, t.section";

fn open() -> Connection {
    let path = synced().data_dir.join("library_cache.db");
    match Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY) {
        Ok(conn) => conn,
        Err(e) => panic!("cannot open {}: {e}", path.display()),
    }
}

/// The detail lines of `EXPLAIN QUERY PLAN`, with `?` bound to NULL.
fn plan(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let params = stmt.parameter_count();
    let nulls = vec![rusqlite::types::Value::Null; params];
    let lines: Vec<String> = stmt
        .query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
        .and_then(|rows| rows.collect())
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    // Shown with --nocapture, and with the output of a failing test.
    eprintln!(
        "{}\n  -> {}",
        sql.split_whitespace().collect::<Vec<_>>().join(" "),
        lines.join(" | ")
    );
    lines
}

fn where_sql(clauses: &[&str]) -> String {
    if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    }
}

fn count_sql(clauses: &[&str]) -> String {
    format!("SELECT count(*) FROM tracks t {}", where_sql(clauses))
}

fn page_sql(clauses: &[&str], sort: Sort) -> String {
    format!(
        "SELECT {TRACK_COLUMNS} FROM tracks t {} ORDER BY {} LIMIT ? OFFSET ?",
        where_sql(clauses),
        sort.order_by()
    )
}

/// Index names a plan uses on `tracks` (alias `t`) or `track_genres`.
fn indexes(plan: &[String]) -> Vec<String> {
    plan.iter()
        .filter_map(|line| {
            let (_, rest) = line.split_once(" INDEX ")?;
            Some(rest.split_whitespace().next()?.to_owned())
        })
        .collect()
}

/// Columns of an index, in order.
fn columns(conn: &Connection, index: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
        .unwrap_or_else(|e| panic!("{e}"));
    stmt.query_map([index], |r| r.get::<_, Option<String>>(0))
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .flatten()
        .collect()
}

/// A plain `SCAN t` reads every row of the table.
fn scans_the_table(plan: &[String]) -> bool {
    plan.iter().any(|l| l.trim() == "SCAN t")
}

/// Some index used by the plan has `column` (first, when `leading`).
fn uses_index_on(conn: &Connection, plan: &[String], column: &str, leading: bool) -> bool {
    indexes(plan).iter().any(|index| {
        let cols = columns(conn, index);
        if leading {
            cols.first().is_some_and(|c| c == column)
        } else {
            cols.iter().any(|c| c == column)
        }
    })
}

#[test]
fn every_filter_is_served_by_an_index() {
    let conn = open();
    let genre = "t.id IN (SELECT track_id FROM track_genres WHERE genre_id IN (?,?))";
    let text = "t.id IN (SELECT rowid FROM tracks_fts WHERE tracks_fts MATCH ?)";
    let artist = "t.id IN (SELECT id FROM tracks WHERE artist = ? COLLATE NOCASE
                      UNION SELECT id FROM tracks WHERE album_artist = ? COLLATE NOCASE)";
    let live = "t.is_live = 0";
    // With a selective filter (genres, text, artist) the store keeps the live
    // flag out of index selection, as on pages.
    let live_aside = "+t.is_live = 0";
    // (what, clauses, the column an index must cover).
    let cases: &[(&str, &[&str], &str)] = &[
        ("live flag only", &[live], "is_live"),
        ("one decade", &["(t.year BETWEEN ? AND ?)", live], "year"),
        (
            "two decades",
            &["(t.year BETWEEN ? AND ? OR t.year BETWEEN ? AND ?)", live],
            "year",
        ),
        ("minimum rating", &["t.rating >= ?", live], "rating"),
        ("year range", &["t.year >= ?", "t.year <= ?", live], "year"),
        ("played", &["t.play_count > 0", live], "play_count"),
        ("never played", &["t.play_count = 0", live], "play_count"),
        ("added since", &["t.added_at >= ?", live], "added_at"),
        ("rating, live included", &["t.rating >= ?"], "rating"),
    ];
    let mut failures = Vec::new();
    for (what, clauses, column) in cases {
        let sql = count_sql(clauses);
        let plan = plan(&conn, &sql);
        if scans_the_table(&plan) || !uses_index_on(&conn, &plan, column, false) {
            failures.push(format!(
                "count, {what}: expected an index holding {column}; plan: {plan:?}"
            ));
        }
    }

    // Genres: the (genre_id, track_id) index answers the sub-select.
    let plan_genres = plan(&conn, &count_sql(&[genre, live_aside]));
    if !plan_genres
        .iter()
        .any(|l| l.contains("track_genres") && l.contains("INDEX") && l.contains("genre_id="))
        || !uses_index_on(&conn, &plan_genres, "genre_id", true)
    {
        failures.push(format!(
            "count, genres: expected a search of track_genres by genre_id; plan: {plan_genres:?}"
        ));
    }

    // Text: the full-text index, then rows by id.
    let plan_text = plan(&conn, &count_sql(&[text, live_aside]));
    if !plan_text
        .iter()
        .any(|l| l.contains("tracks_fts VIRTUAL TABLE"))
        || scans_the_table(&plan_text)
    {
        failures.push(format!(
            "count, text: expected the tracks_fts index and no table scan; plan: {plan_text:?}"
        ));
    }

    // Artist: one index per side of the OR (track artist, album artist).
    let plan_artist = plan(&conn, &count_sql(&[artist, live_aside]));
    if scans_the_table(&plan_artist)
        || !uses_index_on(&conn, &plan_artist, "artist", true)
        || !uses_index_on(&conn, &plan_artist, "album_artist", true)
    {
        failures.push(format!(
            "count, artist: expected indexes led by artist and album_artist; plan: {plan_artist:?}"
        ));
    }

    // The same filters on a sorted page never read the whole table either.
    let page_live = "+t.is_live = 0";
    for (what, clauses) in [
        ("genres", vec![genre, page_live]),
        ("text", vec![text, page_live]),
        ("artist", vec![artist, page_live]),
    ] {
        let plan = plan(&conn, &page_sql(&clauses, Sort::default()));
        if scans_the_table(&plan) {
            failures.push(format!("page, {what}: table scan; plan: {plan:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_sort_order_walks_an_index() {
    let conn = open();
    let mut failures = Vec::new();
    for field in [
        "title",
        "artist",
        "album",
        "year",
        "rating",
        "duration",
        "added",
        "plays",
        "last_played",
    ] {
        for order in ["asc", "desc"] {
            let sort = match Sort::parse(Some(field), Some(order)) {
                Ok(sort) => sort,
                Err(e) => panic!("{field} {order}: {e}"),
            };
            // The page's default filter: live recordings left out.
            let plan = plan(&conn, &page_sql(&["+t.is_live = 0"], sort));
            let sorts = plan.iter().any(|l| l.contains("TEMP B-TREE FOR ORDER BY"));
            if sorts || scans_the_table(&plan) {
                failures.push(format!(
                    "page sorted by {field} {order}: expected an index walk without a sort; plan: {plan:?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
