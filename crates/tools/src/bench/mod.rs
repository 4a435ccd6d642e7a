//! The benchmark behind `plexcache-tools bench`: measures every performance budget
//! of the project against the emulator and writes a report (JSON and
//! Markdown) that two runs or two commits can be compared with.
//!
//! Syncs and the server's start-up run as child processes of the current
//! executable, so wall time and peak memory are those of the measured
//! process alone; the emulator runs in this process. Query timings come in
//! two flavours: in-process against the [`plexcache::store::Store`] (the
//! server-side cost the budgets name) and over HTTP (end to end).
//! BENCHMARKS.md describes every case and metric.

mod live;
mod queries;
pub mod report;
mod serve;
pub mod stats;
mod sync;
pub mod workload;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use plexcache::api::AppState;
use plexcache::config::{Overrides, Settings};
use plexcache::store::Store;
use plexcache_emulator::{EmulatorConfig, EmulatorHandle, Faults, Library};
use plexcache_harness::{InProcess, default_settings, start_emulator};
use queries::{Api, Timings, merge};
use report::{Budget, Case, Pick, Report, SizeRow};
use serve::ServeTarget;
use stats::{percentiles, summary};
use sync::{SlowSync, SyncRun, sync_once};
use workload::{Generator, Kind, Query, Vocabulary};

/// Token of the benchmark's emulator.
const TOKEN: &str = "plexcache-bench-token";
/// Latency of the slow server: per request and per listed item.
const SLOW_LATENCY_MS: u64 = 30;
const SLOW_ITEM_LATENCY_US: u64 = 50;
/// The slow-server sync passes when it reads within this factor of the
/// server-bound floor.
const SLOW_RATIO_BUDGET: f64 = 1.5;

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    pub quick: bool,
    pub runs: u32,
    /// Sizes of the size table.
    pub sizes: Vec<usize>,
    pub seed: u64,
    /// The plexcache binary run as a child (normally the current one).
    pub exe: PathBuf,
    /// How the benchmark was started, for the report.
    pub command: String,
    pub notes: Vec<String>,
    pub build_profile: String,
}

impl Config {
    /// Library size of the query, start-up, load and slow-sync cases.
    pub fn main_size(&self) -> usize {
        if self.quick { 20_000 } else { 100_000 }
    }

    /// Sizes of the full-sync cases.
    pub fn full_sync_sizes(&self) -> Vec<usize> {
        if self.quick {
            vec![20_000]
        } else {
            vec![100_000, 1_000_000]
        }
    }

    pub fn default_sizes(quick: bool) -> Vec<usize> {
        if quick {
            vec![5_000, 20_000]
        } else {
            vec![5_000, 20_000, 100_000, 1_000_000]
        }
    }

    /// Queries per run and kind (in-process and over HTTP).
    fn query_counts(&self) -> BTreeMap<Kind, usize> {
        let full = [
            (Kind::Count, 400),
            (Kind::Page, 300),
            (Kind::DeepPage, 100),
            (Kind::Stats, 100),
            (Kind::Search, 300),
            (Kind::FirstSearch, 100),
            (Kind::Sample, 100),
        ];
        full.into_iter()
            .map(|(k, n)| (k, if self.quick { n / 4 } else { n }))
            .collect()
    }

    /// Queries of each kind in the mix run idle and during a sync.
    fn mix_per_kind(&self) -> usize {
        if self.quick { 20 } else { 60 }
    }

    /// Count and page queries for the size table's other sizes.
    fn size_queries(&self) -> usize {
        if self.quick { 100 } else { 200 }
    }

    fn load_seconds(&self) -> u64 {
        if self.quick { 2 } else { 5 }
    }
}

/// Shared by the cases.
struct Bench {
    config: Config,
    root: tempfile::TempDir,
    concurrency: usize,
    page_size: usize,
    cases: Vec<Case>,
    notes: Vec<String>,
}

/// Runs every case and returns the report (not yet written).
pub async fn run(config: Config) -> anyhow::Result<Report> {
    let started = Instant::now();
    let mut machine = report::machine();
    let cpu_start = report::cpu_snapshot();
    let (git_commit, git_dirty) = report::git();
    let root = tempfile::Builder::new()
        .prefix("plexcache-bench-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let defaults = Settings::load(root.path(), Overrides::default())?;
    // Children run a private copy, so a rebuild during the run cannot
    // swap the binary under the benchmark.
    let exe = root.path().join("plexcache");
    std::fs::copy(&config.exe, &exe)
        .with_context(|| format!("cannot copy {}", config.exe.display()))?;
    let config = Config { exe, ..config };
    let mut bench = Bench {
        concurrency: defaults.concurrency,
        page_size: defaults.page_size,
        root,
        cases: Vec::new(),
        notes: config.notes.clone(),
        config,
    };
    let main = bench.config.main_size();
    let mut order = vec![main];
    let mut others: Vec<usize> = bench
        .config
        .sizes
        .iter()
        .chain(bench.config.full_sync_sizes().iter())
        .copied()
        .filter(|n| *n != main)
        .collect();
    others.sort_unstable();
    others.dedup();
    order.extend(others);

    let mut rows = Vec::new();
    for n in order {
        let row = bench.size(n).await;
        if bench.config.sizes.contains(&n) {
            rows.push(row);
        }
    }
    rows.sort_by_key(|r| r.tracks);
    machine.load_average_end = report::load_average();
    if let (Some(a), Some(b)) = (cpu_start, report::cpu_snapshot()) {
        let other = ((b.machine_busy_s - a.machine_busy_s) - (b.own_s - a.own_s)).max(0.0);
        let capacity = machine.cores as f64 * started.elapsed().as_secs_f64();
        let share = other / capacity.max(1e-9);
        machine.other_cpu_s = Some(other);
        machine.other_cpu_share = Some(share);
        if share > 0.1 {
            bench.notes.push(format!(
                "other processes used {:.0}% of the machine's CPU while the benchmark ran: \
                 timings are probably inflated",
                share * 100.0
            ));
        }
    }
    bench.notes.push(
        "query rows marked \"in-process\" time the Store call alone (server-side); \"HTTP\" rows time \
         a request from a client in the benchmark's process to the API server in the same process \
         (loopback, JSON included)"
            .to_owned(),
    );
    Ok(Report {
        format: report::FORMAT,
        plexcache_version: env!("CARGO_PKG_VERSION").to_owned(),
        git_commit,
        git_dirty,
        created_at: now_rfc3339(),
        command: bench.config.command.clone(),
        quick: bench.config.quick,
        runs: bench.config.runs,
        seed: bench.config.seed,
        build_profile: bench.config.build_profile.clone(),
        machine,
        sync_concurrency: bench.concurrency,
        sync_page_size: bench.page_size,
        total_seconds: started.elapsed().as_secs_f64(),
        cases: bench.cases,
        sizes: rows,
        notes: bench.notes,
    })
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn say(message: impl std::fmt::Display) {
    eprintln!("bench: {message}");
}

/// 100000 → "100k", 1000000 → "1M".
pub fn size_label(n: usize) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000 && n.is_multiple_of(1_000) {
        format!("{}k", n / 1_000)
    } else {
        n.to_string()
    }
}

/// Sync budgets (wall s, peak MB) that bound a library of `n` tracks: the
/// 100k row for up to 100k, the 1M row up to 1M.
fn sync_budgets(n: usize) -> (Option<f64>, Option<f64>) {
    if n <= 100_000 {
        (Some(3.0), Some(60.0))
    } else if n <= 1_000_000 {
        (Some(30.0), Some(80.0))
    } else {
        (None, None)
    }
}

/// A running emulator.
/// The emulator, on a runtime of its own: it stands for Plex, another
/// process, so it must compete with plexcache for the CPU as a process
/// would, not by queueing on the API server's async threads.
struct Plex {
    handle: EmulatorHandle,
    _runtime: OwnRuntime,
}

/// A runtime that may be dropped from async code (it stops in the background).
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl Bench {
    fn runs(&self) -> u32 {
        self.config.runs.max(1)
    }

    /// Syncs a library of `n` tracks `runs` times, then runs the cases that
    /// need that size; returns its size-table row.
    async fn size(&mut self, n: usize) -> SizeRow {
        let mut row = SizeRow {
            tracks: n,
            tracks_cached: None,
            sync_s: None,
            peak_rss_mb: None,
            db_mb: None,
            wal_mb: None,
            count_p95_ms: None,
            page_p95_ms: None,
            error: None,
        };
        let label = size_label(n);
        let full_sync = self.config.full_sync_sizes().contains(&n);
        let main = n == self.config.main_size();
        let plex = match self.start_plex(n).await {
            Ok(plex) => plex,
            Err(e) => {
                row.error = Some(format!("{e:#}"));
                return row;
            }
        };
        let dir = self.root.path().join(&label);
        let synced = self.syncs(&plex, &dir, n).await;
        match synced {
            Ok((runs, data_dir)) => {
                let walls: Vec<f64> = runs.iter().map(|r| r.wall_s).collect();
                let rss: Vec<f64> = runs.iter().map(|r| r.peak_rss_mb).collect();
                let last = runs.last();
                row.sync_s = summary(&walls);
                row.peak_rss_mb = summary(&rss);
                row.tracks_cached = last.and_then(|r| r.tracks);
                row.db_mb = last.map(|r| r.db_bytes as f64 / 1048576.0);
                row.wal_mb = last.map(|r| r.wal_bytes as f64 / 1048576.0);
                if full_sync {
                    self.sync_cases(n, &runs);
                }
                if main {
                    let (count, page) = self.main_cases(&plex, &data_dir, n).await;
                    row.count_p95_ms = count;
                    row.page_p95_ms = page;
                } else if self.config.sizes.contains(&n) {
                    match self.size_queries(&data_dir, n).await {
                        Ok((count, page)) => {
                            row.count_p95_ms = count;
                            row.page_p95_ms = page;
                        }
                        Err(e) => row.error = Some(format!("queries: {e:#}")),
                    }
                }
                // Last: it changes the emulator's library.
                if full_sync {
                    self.live_cases(&plex, &data_dir, n).await;
                }
            }
            Err(e) => {
                let message = format!("{e:#}");
                say(format!("{label}: sync failed: {message}"));
                if full_sync {
                    self.cases.push(Case::failed(
                        format!("sync_full_{label}"),
                        format!("full sync, {label} tracks"),
                        "s",
                        message.clone(),
                    ));
                }
                if main {
                    self.cases.push(Case::failed(
                        "queries",
                        format!("queries on {label} tracks"),
                        "ms",
                        message.clone(),
                    ));
                }
                row.error = Some(message);
            }
        }
        plex.handle.shutdown().await;
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            say(format!("cannot remove {}: {e}", dir.display()));
        }
        row
    }

    async fn start_plex(&self, n: usize) -> anyhow::Result<Plex> {
        say(format!("generating a library of {} tracks", size_label(n)));
        let seed = self.config.seed;
        let library = tokio::task::spawn_blocking(move || Library::generate(n, seed)).await?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("emulator")
            .enable_all()
            .build()?;
        let handle = runtime
            .spawn(start_emulator(EmulatorConfig::new(library, TOKEN)))
            .await??;
        Ok(Plex {
            handle,
            _runtime: OwnRuntime(Some(runtime)),
        })
    }

    /// `runs` syncs, each into a fresh data directory; the last one is kept
    /// for the cases that follow.
    async fn syncs(
        &self,
        plex: &Plex,
        dir: &Path,
        n: usize,
    ) -> anyhow::Result<(Vec<SyncRun>, PathBuf)> {
        std::fs::create_dir_all(dir)?;
        let mut runs = Vec::new();
        let mut data_dir = dir.join("sync-0");
        for r in 0..self.runs() {
            if r > 0 {
                let _ = std::fs::remove_dir_all(&data_dir);
            }
            data_dir = dir.join(format!("sync-{r}"));
            let run = self
                .sync_child(plex, &data_dir, dir, &format!("sync-{r}"))
                .await?;
            say(format!(
                "full sync {} run {}/{}: {:.2} s, peak RSS {:.1} MB, {} tracks, database {:.1} MB",
                size_label(n),
                r + 1,
                self.runs(),
                run.wall_s,
                run.peak_rss_mb,
                run.tracks.unwrap_or(0),
                run.db_bytes as f64 / 1048576.0
            ));
            runs.push(run);
        }
        Ok((runs, data_dir))
    }

    async fn sync_child(
        &self,
        plex: &Plex,
        data_dir: &Path,
        log_dir: &Path,
        name: &str,
    ) -> anyhow::Result<SyncRun> {
        let target = self.target(plex, data_dir, log_dir);
        let name = name.to_owned();
        tokio::task::spawn_blocking(move || sync_once(&target, &name)).await?
    }

    fn sync_cases(&mut self, n: usize, runs: &[SyncRun]) {
        let label = size_label(n);
        let (wall_budget, rss_budget) = sync_budgets(n);
        let bound = if n < 100_000 {
            " (the 100k budget)"
        } else {
            ""
        };
        let walls: Vec<f64> = runs.iter().map(|r| r.wall_s).collect();
        let rss: Vec<f64> = runs.iter().map(|r| r.peak_rss_mb).collect();
        let db: Vec<f64> = runs.iter().map(|r| r.db_bytes as f64 / 1048576.0).collect();
        let last = runs.last();
        let phase = |name: &str| last.and_then(|r| r.phase_ms.get(name).copied());
        let cpu: Vec<f64> = runs.iter().map(|r| r.user_cpu_s + r.system_cpu_s).collect();
        self.cases.push(
            Case::new(
                format!("sync_full_{label}"),
                format!("full sync, {label} tracks, wall{bound}"),
                "s",
                walls,
                None,
                Pick::Median,
                wall_budget.and_then(Budget::at_most),
            )
            .detail("tracks_cached", last.and_then(|r| r.tracks))
            .detail("engine_s", last.and_then(|r| r.engine_s))
            .detail("cpu_s_median", summary(&cpu).map(|s| s.median))
            .detail("connected_ms", phase("connected"))
            .detail(
                "artists_and_albums_read_ms",
                phase("artists and albums read"),
            )
            .detail("tracks_read_ms", phase("tracks read"))
            .detail("saving_steps_ms", last.map(|r| r.saving_ms.clone())),
        );
        self.cases.push(Case::new(
            format!("sync_rss_{label}"),
            format!("full sync, {label} tracks, peak RSS{bound}"),
            "MB",
            rss,
            None,
            Pick::Max,
            rss_budget.and_then(Budget::at_most),
        ));
        self.cases.push(
            Case::new(
                format!("db_size_{label}"),
                format!("database file, {label} tracks"),
                "MB",
                db,
                None,
                Pick::Median,
                None,
            )
            .detail("wal_mb", last.map(|r| r.wal_bytes as f64 / 1048576.0)),
        );
    }

    /// Count and page p95 (in-process) for the size table.
    async fn size_queries(
        &self,
        data_dir: &Path,
        n: usize,
    ) -> anyhow::Result<(Option<f64>, Option<f64>)> {
        say(format!("queries on {} tracks", size_label(n)));
        let store = open_store(data_dir)?;
        let vocabulary = vocabulary(&store).await?;
        let count = self.config.size_queries();
        let seed = self.config.seed;
        let (store2, vocab2) = (store.clone(), vocabulary.clone());
        let queries = tokio::task::spawn_blocking(move || {
            let mut generator = Generator::new(&vocab2, seed);
            let mut all = generator.queries(Kind::Count, count, &store2)?;
            all.extend(generator.queries(Kind::Page, count, &store2)?);
            Ok::<_, anyhow::Error>(all)
        })
        .await??;
        // Warm the page cache and statement caches first.
        queries::in_process(&store, queries.clone()).await?;
        let times = queries::in_process(&store, queries.clone()).await?;
        let timings = queries::by_kind(&queries, &times);
        let p95 = |kind| {
            timings
                .get(&kind)
                .and_then(|t| percentiles(t))
                .map(|p| p.p95)
        };
        Ok((p95(Kind::Count), p95(Kind::Page)))
    }

    /// The cases on the main library: queries, queries during a sync,
    /// start-up, status under load, the slow server. Returns the count and
    /// page p95 for the size table.
    async fn main_cases(
        &mut self,
        plex: &Plex,
        data_dir: &Path,
        n: usize,
    ) -> (Option<f64>, Option<f64>) {
        let label = size_label(n);
        let mut figures = (None, None);
        match self.query_cases(plex, data_dir, &label).await {
            Ok(f) => figures = f,
            Err(e) => self.cases.push(Case::failed(
                "queries",
                format!("queries on {label} tracks"),
                "ms",
                format!("{e:#}"),
            )),
        }
        if let Err(e) = self.startup_case(plex, data_dir, &label).await {
            self.cases.push(Case::failed(
                "startup",
                format!("serve start to first status answer, {label} cached"),
                "ms",
                format!("{e:#}"),
            ));
        }
        if let Err(e) = self.load_case(plex, data_dir).await {
            self.cases.push(Case::failed(
                "status_load",
                "/api/library/status under load",
                "req/s",
                format!("{e:#}"),
            ));
        }
        if let Err(e) = self.slow_sync_case(plex, &label).await {
            self.cases.push(Case::failed(
                "sync_slow_ratio",
                format!("sync against a slow server, {label}"),
                "×",
                format!("{e:#}"),
            ));
        }
        plex.handle.set_faults(Faults::default());
        figures
    }

    async fn query_cases(
        &mut self,
        plex: &Plex,
        data_dir: &Path,
        label: &str,
    ) -> anyhow::Result<(Option<f64>, Option<f64>)> {
        let store = open_store(data_dir)?;
        // As a server does at start: filter columns, default order, common words.
        let warm = store.clone();
        tokio::task::spawn_blocking(move || warm.warm()).await??;
        let vocabulary = vocabulary(&store).await?;
        let counts = self.config.query_counts();
        let seed = self.config.seed;
        let runs = self.runs();
        say(format!(
            "queries on {label} tracks: {} genres, {} decades, {} titles, {} artists to draw from",
            vocabulary.genres.len(),
            vocabulary.decades.len(),
            vocabulary.title_words.len(),
            vocabulary.artists.len()
        ));
        // One list per run (seed + run), built up front: generation and
        // filter parsing stay out of the timings.
        let lists: Vec<Vec<Query>> = {
            let (store, vocabulary, counts) = (store.clone(), vocabulary.clone(), counts.clone());
            tokio::task::spawn_blocking(move || {
                (0..runs)
                    .map(|r| {
                        let mut generator =
                            Generator::new(&vocabulary, seed.wrapping_add(u64::from(r)));
                        let mut list = Vec::new();
                        for (kind, n) in &counts {
                            list.extend(generator.queries(*kind, *n, &store)?);
                        }
                        Ok(list)
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .await??
        };
        let measured = &lists;
        let Some(warm_up) = measured.first() else {
            anyhow::bail!("no queries");
        };
        // Warm caches first (the OS's and SQLite's), as on a server that has
        // been answering for a while: every list once, untimed.
        for list in measured {
            queries::in_process(&store, list.clone()).await?;
        }
        let mut local = Timings::new();
        let mut local_runs: Vec<Timings> = Vec::new();
        let all_queries: Vec<Query> = measured.iter().flatten().cloned().collect();
        let mut local_times = Vec::new();
        for (r, list) in measured.iter().enumerate() {
            let times = queries::in_process(&store, list.clone()).await?;
            say(format!("in-process queries run {}/{runs} done", r + 1));
            let timings = queries::by_kind(list, &times);
            local_runs.push(timings.clone());
            merge(&mut local, timings);
            local_times.extend(times);
        }
        // Over HTTP, with the server in this process.
        let server = in_process_server(data_dir, &plex.handle.url()).await?;
        let api = Api::new(server.url.clone())?;
        api.run(warm_up).await?;
        let mut http = Timings::new();
        let mut http_runs: Vec<Timings> = Vec::new();
        for (r, list) in measured.iter().enumerate() {
            let times = api.run(list).await?;
            say(format!("HTTP queries run {}/{runs} done", r + 1));
            let timings = queries::by_kind(list, &times);
            http_runs.push(timings.clone());
            merge(&mut http, timings);
        }
        for kind in Kind::ALL {
            self.cases.push(
                query_case(
                    &format!("query_{}", kind.id()),
                    &format!("{}, {label}, in-process", kind.label()),
                    kind,
                    &local_runs,
                    local.get(&kind),
                    Budget::at_most(kind.budget_ms()),
                )
                .detail(
                    "slowest",
                    queries::slowest(&all_queries, &local_times, kind, 8),
                ),
            );
        }
        for kind in Kind::ALL.into_iter().filter(|k| k.over_http()) {
            self.cases.push(query_case(
                &format!("http_{}", kind.id()),
                &format!("{}, {label}, HTTP", kind.label()),
                kind,
                &http_runs,
                http.get(&kind),
                None,
            ));
        }
        let during = self
            .during_sync_case(&server, &api, &store, &vocabulary, label)
            .await;
        server.stop().await;
        if let Err(e) = during {
            self.cases.push(Case::failed(
                "during_sync",
                format!("queries while a sync runs, {label}: p95 / idle p95"),
                "×",
                format!("{e:#}"),
            ));
        }
        let p95 = |kind| local.get(&kind).and_then(|t| percentiles(t)).map(|p| p.p95);
        Ok((p95(Kind::Count), p95(Kind::Page)))
    }

    /// The same HTTP mix idle and while the server syncs the library again.
    async fn during_sync_case(
        &mut self,
        server: &InProcess,
        api: &Api,
        store: &Store,
        vocabulary: &Vocabulary,
        label: &str,
    ) -> anyhow::Result<()> {
        let per_kind = self.config.mix_per_kind();
        let seed = self.config.seed;
        let runs = self.runs();
        let mixes: Vec<Vec<Query>> = {
            let (store, vocabulary) = (store.clone(), vocabulary.clone());
            tokio::task::spawn_blocking(move || {
                (0..runs)
                    .map(|r| {
                        Generator::new(&vocabulary, seed.wrapping_add(1000 + u64::from(r)))
                            .mix(per_kind, &store)
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .await??
        };
        let (mut idle_all, mut busy_all) = (Vec::new(), Vec::new());
        let (mut ratios, mut idle_runs, mut busy_runs) = (Vec::new(), Vec::new(), Vec::new());
        let mut syncs = 0;
        let mut by_kind: BTreeMap<&str, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
        for (r, mix) in mixes.iter().enumerate() {
            api.run(mix).await?;
            let idle = queries::by_kind(mix, &api.run(mix).await?);
            let (busy, started) = run_during_sync(api, &server.state, mix).await?;
            syncs += started;
            let idle_ms: Vec<f64> = idle.values().flatten().copied().collect();
            let busy_ms: Vec<f64> = busy.values().flatten().copied().collect();
            if let (Some(i), Some(b)) = (percentiles(&idle_ms), percentiles(&busy_ms)) {
                ratios.push(b.p95 / i.p95.max(1e-9));
                idle_runs.push(i.p95);
                busy_runs.push(b.p95);
                say(format!(
                    "queries during a sync run {}/{runs}: p95 {:.2} ms idle, {:.2} ms during a sync",
                    r + 1,
                    i.p95,
                    b.p95
                ));
            }
            for (kind, values) in idle {
                by_kind.entry(kind.id()).or_default().0.extend(values);
            }
            for (kind, values) in busy {
                by_kind.entry(kind.id()).or_default().1.extend(values);
            }
            idle_all.extend(idle_ms);
            busy_all.extend(busy_ms);
        }
        // Let the last background sync finish before the next cases.
        while server.state.library().is_syncing() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let idle_p = percentiles(&idle_all).context("no idle timings")?;
        let busy_p = percentiles(&busy_all).context("no timings during a sync")?;
        let per_kind_p95: BTreeMap<&str, (Option<f64>, Option<f64>)> = by_kind
            .iter()
            .map(|(k, (i, b))| {
                (
                    *k,
                    (percentiles(i).map(|p| p.p95), percentiles(b).map(|p| p.p95)),
                )
            })
            .collect();
        let mut case = Case::new(
            "during_sync",
            format!("queries while a sync runs, {label}: p95 / idle p95 (HTTP mix)"),
            "×",
            ratios,
            None,
            Pick::Median,
            Budget::at_most(2.0),
        )
        .detail("idle_p95_ms", idle_p.p95)
        .detail("during_p95_ms", busy_p.p95)
        .detail("syncs_started", syncs)
        .detail("per_kind_p95_ms_idle_during", per_kind_p95);
        case.value = Some(busy_p.p95 / idle_p.p95.max(1e-9));
        case.value_is = "pooled p95 ratio".into();
        case.pass = case
            .budget
            .as_ref()
            .zip(case.value)
            .map(|(b, v)| b.met_by(v));
        self.cases.push(case);
        self.cases.push(Case::new(
            "during_sync_idle",
            format!("HTTP query mix, {label}, idle"),
            "ms",
            idle_runs,
            Some(&idle_all),
            Pick::P95,
            None,
        ));
        self.cases.push(Case::new(
            "during_sync_busy",
            format!("HTTP query mix, {label}, during a sync"),
            "ms",
            busy_runs,
            Some(&busy_all),
            Pick::P95,
            None,
        ));
        Ok(())
    }

    /// A `plexcache` child of this run against `plex`.
    fn target(&self, plex: &Plex, data_dir: &Path, log_dir: &Path) -> ServeTarget {
        ServeTarget {
            exe: self.config.exe.clone(),
            data_dir: data_dir.to_path_buf(),
            plex_url: plex.handle.url(),
            token: TOKEN.to_owned(),
            log_dir: log_dir.to_path_buf(),
        }
    }

    async fn startup_case(
        &mut self,
        plex: &Plex,
        data_dir: &Path,
        label: &str,
    ) -> anyhow::Result<()> {
        let log_dir = self.root.path().join("serve-logs");
        std::fs::create_dir_all(&log_dir)?;
        let target = self.target(plex, data_dir, &log_dir);
        // One untimed start warms the page cache, as on a machine that
        // has run plexcache before.
        serve::stop(target.start("serve-warm").await?).await;
        let mut times = Vec::new();
        for r in 0..self.runs() {
            let serving = target.start(&format!("serve-{r}")).await?;
            let ms = serving.ready_after.as_secs_f64() * 1000.0;
            say(format!(
                "serve start-up run {}/{}: {ms:.1} ms",
                r + 1,
                self.runs()
            ));
            times.push(ms);
            serve::stop(serving).await;
        }
        self.cases.push(Case::new(
            "startup",
            format!("serve start to first /api/library/status answer, {label} cached"),
            "ms",
            times,
            None,
            Pick::Median,
            Budget::at_most(150.0),
        ));
        Ok(())
    }

    async fn load_case(&mut self, plex: &Plex, data_dir: &Path) -> anyhow::Result<()> {
        let log_dir = self.root.path().join("serve-logs");
        std::fs::create_dir_all(&log_dir)?;
        let target = self.target(plex, data_dir, &log_dir);
        let serving = target.start("serve-load").await?;
        let wrk = serve::find_wrk();
        let seconds = self.config.load_seconds();
        let once = |secs: u64| {
            let wrk = wrk.clone();
            let port = serving.port;
            async move {
                match wrk {
                    Some(wrk) => serve::wrk(&wrk, port, secs).await,
                    None => serve::builtin_load(port, 64, Duration::from_secs(secs)).await,
                }
            }
        };
        let result = async {
            once(1).await?;
            let mut runs = Vec::new();
            for r in 0..self.runs() {
                let run = once(seconds).await?;
                say(format!(
                    "status under load run {}/{}: {:.0} req/s ({})",
                    r + 1,
                    self.runs(),
                    run.requests_per_s,
                    run.tool
                ));
                runs.push(run);
            }
            Ok::<_, anyhow::Error>(runs)
        }
        .await;
        serve::stop(serving).await;
        let runs = result?;
        let tool = runs.first().map(|r| r.tool.clone()).unwrap_or_default();
        let errors: u64 = runs.iter().map(|r| r.errors).sum();
        let mut case = Case::new(
            "status_load",
            format!("/api/library/status under load ({tool}, {seconds} s, loopback)"),
            "req/s",
            runs.iter().map(|r| r.requests_per_s).collect(),
            None,
            Pick::Median,
            Budget::at_least(10_000.0),
        )
        .detail("errors", errors)
        .detail("requests", runs.iter().map(|r| r.requests).sum::<u64>());
        if errors > 0 {
            case.pass = Some(false);
            case.error = Some(format!("{errors} failed requests"));
        }
        self.cases.push(case);
        Ok(())
    }

    async fn slow_sync_case(&mut self, plex: &Plex, label: &str) -> anyhow::Result<()> {
        let dir = self.root.path().join(format!("slow-{label}"));
        std::fs::create_dir_all(&dir)?;
        plex.handle.set_faults(Faults {
            latency_ms: SLOW_LATENCY_MS,
            item_latency_us: SLOW_ITEM_LATENCY_US,
            ..Faults::default()
        });
        let mut figures = Vec::new();
        for r in 0..self.runs() {
            let data_dir = dir.join(format!("run-{r}"));
            let before = plex.handle.stats();
            let run = self
                .sync_child(plex, &data_dir, &dir, &format!("slow-{r}"))
                .await?;
            let after = plex.handle.stats();
            let slow = SlowSync::new(
                &run,
                after.requests.saturating_sub(before.requests),
                after.items_served.saturating_sub(before.items_served),
                SLOW_LATENCY_MS,
                SLOW_ITEM_LATENCY_US,
                self.concurrency,
            );
            say(format!(
                "slow-server sync run {}/{}: {:.2} s wall, pages read after {:.2} s; server floor {:.2} s \
                 ({} requests): ratio {:.2}, {:.1} requests in flight on average",
                r + 1,
                self.runs(),
                slow.wall_s,
                slow.fetch_s.unwrap_or(f64::NAN),
                slow.floor_s,
                slow.requests,
                slow.ratio,
                slow.in_flight
            ));
            figures.push(slow);
            if r + 1 < self.runs() {
                let _ = std::fs::remove_dir_all(&data_dir);
            }
        }
        let median = |f: fn(&SlowSync) -> f64| {
            summary(&figures.iter().map(f).collect::<Vec<_>>()).map(|s| s.median)
        };
        let conditions = format!(
            "{SLOW_LATENCY_MS} ms/request + {SLOW_ITEM_LATENCY_US} µs/item, concurrency {}",
            self.concurrency
        );
        // The refreshes start from the last slow sync's cache, on the same
        // slow server, and are held against that sync's median cost.
        let full = live::RefreshCost {
            wall_s: median(|f| f.wall_s).unwrap_or(f64::NAN),
            requests: median(|f| f.requests as f64).unwrap_or(0.0) as u64,
        };
        let last_dir = dir.join(format!("run-{}", self.runs() - 1));
        self.refresh_cases(plex, &last_dir, &full, self.config.main_size(), &conditions)
            .await;
        let _ = std::fs::remove_dir_all(&last_dir);
        plex.handle.set_faults(Faults::default());
        self.cases.push(
            Case::new(
                "sync_slow_ratio",
                format!(
                    "sync against a slow server ({conditions}), {label}: read time / server floor"
                ),
                "×",
                figures.iter().map(|f| f.ratio).collect(),
                None,
                Pick::Median,
                Budget::at_most(SLOW_RATIO_BUDGET),
            )
            .detail("in_flight_median", median(|f| f.in_flight))
            .detail("floor_s_median", median(|f| f.floor_s))
            .detail("serial_s_median", median(|f| f.serial_s))
            .detail("runs", &figures),
        );
        self.cases.push(Case::new(
            "sync_slow_wall",
            format!("sync against a slow server ({conditions}), {label}: wall"),
            "s",
            figures.iter().map(|f| f.wall_s).collect(),
            None,
            Pick::Median,
            None,
        ));
        self.cases.push(Case::new(
            "sync_slow_serial",
            format!("the same requests answered one at a time (server time, computed), {label}"),
            "s",
            figures.iter().map(|f| f.serial_s).collect(),
            None,
            Pick::Median,
            None,
        ));
        Ok(())
    }
}

/// A query row: per-run p95 (median, min, max over runs) and percentiles
/// over every query of every run.
fn query_case(
    id: &str,
    name: &str,
    kind: Kind,
    runs: &[Timings],
    all: Option<&Vec<f64>>,
    budget: Option<Budget>,
) -> Case {
    let per_run: Vec<f64> = runs
        .iter()
        .filter_map(|t| t.get(&kind).and_then(|v| percentiles(v)).map(|p| p.p95))
        .collect();
    Case::new(
        id,
        name,
        "ms",
        per_run,
        all.map(Vec::as_slice),
        Pick::P95,
        budget,
    )
}

/// Runs `mix` over HTTP while a sync runs in the server, starting a new
/// one whenever the last has finished. A timing counts only when a sync ran
/// both before and after the request. Returns the timings and the syncs
/// started.
async fn run_during_sync(
    api: &Api,
    state: &AppState,
    mix: &[Query],
) -> anyhow::Result<(Timings, u32)> {
    let mut timings = Timings::new();
    let mut started = 0u32;
    let mut next = 0;
    let began = Instant::now();
    let running = || state.library().is_syncing();
    while next < mix.len() {
        if !running() {
            if started > 200 || began.elapsed() > Duration::from_secs(600) {
                let error = state.store().sync_state().ok().and_then(|s| s.last_error);
                anyhow::bail!(
                    "could not keep a sync running ({started} started); last error: {}",
                    error.unwrap_or_else(|| "none".into())
                );
            }
            // A full sync: a refresh of an unchanged library is over at once.
            match api.post("/api/library/sync?full=true").await? {
                200 => started += 1,
                409 => {}
                other => anyhow::bail!("POST /api/library/sync answered {other}"),
            }
            continue;
        }
        let query = &mix[next];
        let ms = api.time(query).await?;
        if running() {
            timings.entry(query.kind).or_default().push(ms);
            next += 1;
        }
    }
    Ok((timings, started))
}

fn open_store(data_dir: &Path) -> anyhow::Result<Store> {
    let path = data_dir.join("library_cache.db");
    let (store, _) =
        Store::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(store)
}

async fn vocabulary(store: &Store) -> anyhow::Result<Vocabulary> {
    let store = store.clone();
    Ok(tokio::task::spawn_blocking(move || Vocabulary::from_store(&store)).await??)
}

/// The API server in this process, on a free port, pointed at the emulator.
async fn in_process_server(data_dir: &Path, plex_url: &str) -> anyhow::Result<InProcess> {
    InProcess::start(default_settings(data_dir, plex_url, TOKEN)?).await
}
