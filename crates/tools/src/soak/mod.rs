//! The soak test behind `plexcache-tools soak`: an emulated Plex in this process,
//! the server as a child process (`plexcache serve`, log captured), and a
//! query load from a second child process (`plexcache-tools soak --load-worker`),
//! while syncs run one after another under injected faults and library
//! changes. At the end a fault-free sync must leave the cache equal to the
//! emulator's library, and the server must have answered every query, kept
//! its memory and file descriptors flat, never got stuck syncing, logged no
//! unexpected error and never the token. Near the end a connection flood
//! and slow clients hit it, and its memory must come back afterwards.

mod abuse;
mod chaos;
mod load;
mod watch;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::AsyncBufReadExt;
use tokio::process::Command;

use chaos::{Expect, Scenario};
pub use load::{LoadSummary, run_worker};
use plexcache::locks::MutexExt;
use plexcache_emulator::{EmulatorConfig, EmulatorHandle, Faults, Library};
use plexcache_harness::{ApiClient, ServeChild, music_titles, process, start_emulator};

/// How long one sync may take before the soak calls it stuck.
const STUCK_AFTER: Duration = Duration::from_secs(120);
/// Memory may grow this much from the first quarter to the last before it
/// counts as a leak: SQLite's page caches and the allocator settle in the
/// first minutes; a leak per sync or per request grows without bound.
const RSS_SLACK_KIB: u64 = 48 * 1024;
const RSS_SLACK_RATIO: f64 = 0.5;
/// Open descriptors may differ by this many (connections come and go).
const FD_SLACK: u64 = 24;

#[derive(Debug, Clone)]
pub struct SoakOptions {
    pub duration: Duration,
    pub tracks: usize,
    pub seed: u64,
}

/// Counts for the report.
#[derive(Debug, Default)]
struct Tally {
    syncs_ok: u64,
    syncs_failed: u64,
    sync_requests_refused: u64,
    faults: BTreeMap<String, u64>,
    mutations: BTreeMap<&'static str, u64>,
    failures: Vec<String>,
}

impl Tally {
    fn fail(&mut self, what: impl Into<String>) {
        let what = what.into();
        eprintln!("soak: FAILURE: {what}");
        self.failures.push(what);
    }
}

/// Runs the soak; `Ok(true)` when every check held.
pub async fn run(options: SoakOptions) -> anyhow::Result<bool> {
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let token = format!(
        "soak{:016x}{:016x}",
        rng.random::<u64>(),
        rng.random::<u64>()
    );
    println!(
        "plexcache soak: {} s, {} tracks, seed {} (repeat with --seed {})",
        options.duration.as_secs(),
        options.tracks,
        options.seed,
        options.seed
    );

    let library = Library::generate(options.tracks, options.seed);
    let plex = start_emulator(EmulatorConfig::new(library, token.clone())).await?;
    let work = tempfile::tempdir().context("cannot create a temporary directory")?;
    let log_path = work.path().join("server.log");
    let exe = crate::cli::plexcache_binary()?;

    let mut server = start_server(&exe, work.path(), &log_path, &plex, &token).await?;
    let server_pid = server.pid();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let api = ApiClient::with_http(&server.url, http.clone())?.with_patience(STUCK_AFTER);
    let outcome = soak(&options, &mut rng, &plex, &api, server_pid, &token).await;

    // Stop the server gracefully (SIGTERM) and see that it goes.
    let mut tally = match outcome {
        Ok(tally) => tally,
        Err(e) => {
            let mut t = Tally::default();
            t.fail(format!("the soak could not finish: {e:#}"));
            t
        }
    };
    let stopped = server.stop(Duration::from_secs(20)).await;
    if stopped.is_none() {
        tally.fail("the server did not stop within 20 s of SIGTERM");
    }
    plex.shutdown().await;

    match watch::scan_log(&log_path, &token) {
        Ok(log) => {
            println!(
                "server log: {} lines, {} warnings, {} sync-failure errors (expected under faults)",
                log.lines, log.warnings, log.sync_failures
            );
            if !log.token_lines.is_empty() {
                tally.fail(format!(
                    "the Plex token appears in the server log on lines {:?}",
                    log.token_lines
                ));
            }
            for line in log.unexpected.iter().take(10) {
                tally.fail(format!("unexpected log line: {line}"));
            }
        }
        Err(e) => tally.fail(format!("cannot read the server log: {e}")),
    }

    if tally.failures.is_empty() {
        println!("soak: PASSED");
        Ok(true)
    } else {
        println!("soak: FAILED");
        for failure in &tally.failures {
            println!("  - {failure}");
        }
        let kept = work.keep();
        println!("  server log kept in {}", kept.join("server.log").display());
        Ok(false)
    }
}

/// Starts `plexcache serve`, logging to `log_path`.
async fn start_server(
    exe: &Path,
    data_dir: &Path,
    log_path: &Path,
    plex: &EmulatorHandle,
    token: &str,
) -> anyhow::Result<ServeChild> {
    let log = std::fs::File::create(log_path).context("cannot create the server log")?;
    let mut command = process::command(exe);
    process::point_at(&mut command, data_dir, &plex.url(), token);
    command
        .env("PLEXCACHE_TIMEOUT_SECS", "2")
        .env("PLEXCACHE_RETRIES", "2")
        .env("PLEXCACHE_PROBE_INTERVAL_SECS", "2")
        .env("RUST_LOG", "info,plexcache=debug")
        .stderr(Stdio::from(log));
    ServeChild::start(command).await
}

async fn soak(
    options: &SoakOptions,
    rng: &mut ChaCha8Rng,
    plex: &EmulatorHandle,
    api: &ApiClient,
    server_pid: u32,
    token: &str,
) -> anyhow::Result<Tally> {
    let mut tally = Tally::default();
    let http = api.http();
    let base = api.base();
    let control = format!("{}/_emulator", plex.url());

    // The server syncs an empty cache at start.
    let first = Instant::now();
    let initial = loop {
        let status = api.status().await?;
        let count = status["track_count"].as_i64().unwrap_or(0);
        if status["is_syncing"] == false && count > 0 {
            break count;
        }
        if first.elapsed() > STUCK_AFTER {
            bail!("the first sync did not fill the cache: {status}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    println!(
        "first sync: {initial} tracks in {:.1} s",
        first.elapsed().as_secs_f64()
    );

    // The load, from a second process.
    let tools = std::env::current_exe().context("cannot find this executable")?;
    let mut worker = Command::new(tools)
        .args([
            "soak",
            "--load-worker",
            base,
            "--load-limit-secs",
            &(options.duration.as_secs() + 600).to_string(),
        ])
        .env("PLEXCACHE_SOAK_TOKEN", token)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start the load worker")?;
    let worker_stdin = worker.stdin.take();
    let worker_stdout = worker.stdout.take().context("no stdout from the worker")?;

    // Watch the server's memory and descriptors.
    let started = Instant::now();
    let samples: Arc<Mutex<Vec<watch::Sample>>> = Arc::default();
    let sampler = {
        let samples = samples.clone();
        tokio::spawn(async move {
            loop {
                if let (Some(rss_kib), Some(fds)) =
                    (watch::rss_kib(server_pid), watch::fd_count(server_pid))
                {
                    let at = started.elapsed().as_secs_f64();
                    samples
                        .lock_unpoisoned()
                        .push(watch::Sample { at, rss_kib, fds });
                }
                tokio::time::sleep(watch::SAMPLE_EVERY).await;
            }
        })
    };

    // Syncs under faults until the time is up.
    let deadline = started + options.duration;
    let mut queue = chaos::opening(rng);
    queue.reverse();
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let scenario = queue
            .pop()
            .unwrap_or_else(|| chaos::pick(rng, options.tracks));
        // Changes between syncs.
        for _ in 0..rng.random_range(0..3) {
            mutate(rng, plex, http, &control, &mut tally).await;
        }
        if let Err(e) = one_sync(rng, &scenario, plex, http, api, &control, &mut tally).await {
            tally.fail(format!("round {round} ({}): {e:#}", scenario.name));
            // Leave the emulator healthy for what follows.
            plex.set_online(true);
            let _ = put_faults(http, &control, &Faults::default()).await;
            if api.wait_idle().await.is_err() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..300))).await;
    }
    let load_secs = started.elapsed().as_secs_f64();

    // Floods and slow clients, with the load still running.
    abuse::run(
        base.trim_start_matches("http://"),
        server_pid,
        options.tracks,
        &mut tally,
    )
    .await;

    // A last sync without faults must leave the cache equal to the library.
    put_faults(http, &control, &Faults::default()).await?;
    plex.set_online(true);
    api.wait_idle().await?;
    let final_sync = final_sync(api).await;
    match &final_sync {
        Ok(()) => compare_library(api, plex, &mut tally).await?,
        Err(e) => tally.fail(format!("the final fault-free sync failed: {e:#}")),
    }
    sampler.abort();

    // Stop the load and read its summary.
    drop(worker_stdin);
    let mut summary_line = String::new();
    let mut reader = tokio::io::BufReader::new(worker_stdout);
    let read =
        tokio::time::timeout(Duration::from_secs(60), reader.read_line(&mut summary_line)).await;
    let _ = tokio::time::timeout(Duration::from_secs(10), worker.wait()).await;
    let summary: LoadSummary = match read {
        Ok(Ok(_)) => serde_json::from_str(summary_line.trim())
            .with_context(|| format!("the load worker's summary is not JSON: {summary_line}"))?,
        _ => bail!("the load worker did not report"),
    };

    report(&summary, &tally, round);
    if summary.unexpected > 0 {
        tally.fail(format!(
            "{} of {} queries got an unexpected answer, e.g. {:?}",
            summary.unexpected, summary.queries, summary.examples
        ));
    }
    if summary.token_leaks > 0 {
        tally.fail(format!(
            "{} answers held the Plex token",
            summary.token_leaks
        ));
    }
    if summary.queries == 0 {
        tally.fail("the load worker sent no queries");
    }
    let samples = samples.lock_unpoisoned().clone();
    check_resources(&samples, load_secs, &mut tally);
    Ok(tally)
}

async fn put_faults(http: &reqwest::Client, control: &str, faults: &Faults) -> anyhow::Result<()> {
    let response = http
        .put(format!("{control}/faults"))
        .json(faults)
        .send()
        .await
        .context("PUT /_emulator/faults")?;
    if !response.status().is_success() {
        bail!("PUT /_emulator/faults answered {}", response.status());
    }
    Ok(())
}

/// One random library change through the control endpoint.
async fn mutate(
    rng: &mut ChaCha8Rng,
    plex: &EmulatorHandle,
    http: &reqwest::Client,
    control: &str,
    tally: &mut Tally,
) {
    let keys = music_titles(&plex.library())
        .into_keys()
        .collect::<Vec<u64>>();
    let Some((change, name)) = chaos::mutation(rng, &keys) else {
        return;
    };
    let answer = http
        .post(format!("{control}/mutations"))
        .json(&change)
        .send()
        .await;
    match answer {
        Ok(r) if r.status().is_success() => *tally.mutations.entry(name).or_default() += 1,
        Ok(r) => tally.fail(format!("mutation {name} answered {}", r.status())),
        Err(e) => tally.fail(format!("mutation {name}: {e}")),
    }
}

/// One sync under `scenario`, with changes during it.
async fn one_sync(
    rng: &mut ChaCha8Rng,
    scenario: &Scenario,
    plex: &EmulatorHandle,
    http: &reqwest::Client,
    api: &ApiClient,
    control: &str,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    api.wait_idle().await?;
    put_faults(http, control, &scenario.faults).await?;
    *tally.faults.entry(scenario.name.clone()).or_default() += 1;
    let before = api.last_sync().await?["id"].as_i64().unwrap_or(0);
    if !api.start_sync().await? {
        // Something else started one (a probe noticing a change): count it
        // and move on.
        tally.sync_requests_refused += 1;
        api.wait_idle().await?;
        put_faults(http, control, &Faults::default()).await?;
        return Ok(());
    }
    let started = Instant::now();
    let mut expect = scenario.expect;
    let mut lifted = false;
    let mut changed_during = false;
    let change_at = Duration::from_millis(rng.random_range(0..600));
    let until = started + STUCK_AFTER;
    loop {
        let elapsed = started.elapsed();
        if let Some(ms) = scenario.lift_after_ms
            && !lifted
            && elapsed >= Duration::from_millis(ms)
        {
            put_faults(http, control, &Faults::default()).await?;
            lifted = true;
        }
        if !changed_during && elapsed >= change_at {
            changed_during = true;
            // (The control endpoint goes offline with the emulator.)
            if !scenario.goes_offline && rng.random_bool(0.5) {
                mutate(rng, plex, http, control, tally).await;
            }
        }
        let status = api.status().await?;
        if status["is_syncing"] == false {
            break;
        }
        if Instant::now() > until {
            bail!(
                "the sync is stuck: running after {} s",
                STUCK_AFTER.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let last = api.last_sync().await?;
    plex.set_online(true);
    put_faults(http, control, &Faults::default()).await?;
    if last["id"].as_i64().unwrap_or(0) <= before {
        bail!("the sync left no history entry");
    }
    let outcome = last["outcome"].as_str().unwrap_or("?");
    let seconds = started.elapsed().as_secs_f64();
    match outcome {
        "success" => tally.syncs_ok += 1,
        _ => tally.syncs_failed += 1,
    }
    // Offline faults fire on the count of items served; a fast sync of a
    // small library may finish first.
    if scenario.goes_offline && outcome == "success" {
        expect = Expect::Either;
    }
    let error = last["error"].as_str().unwrap_or("");
    println!(
        "sync {:>3}: {:<34} {:<8} {:>5.1} s {}",
        tally.syncs_ok + tally.syncs_failed,
        scenario.name,
        outcome,
        seconds,
        error.chars().take(90).collect::<String>()
    );
    match (expect, outcome) {
        (Expect::Success, "success") | (Expect::Either, _) => {}
        (Expect::Failure, "failed") => {
            if let Some(kind) = scenario.error_kind {
                let status = api.status().await?;
                let found = status["error_kind"].as_str().unwrap_or("");
                if found != kind {
                    tally.fail(format!(
                        "{}: the sync failed as {found:?}, expected {kind:?} ({error})",
                        scenario.name
                    ));
                }
            }
        }
        (expected, found) => tally.fail(format!(
            "{}: expected {expected:?}, the sync ended {found} ({error})",
            scenario.name
        )),
    }
    Ok(())
}

/// Starts the last sync (waiting out one already running) and checks it
/// succeeded.
async fn final_sync(api: &ApiClient) -> anyhow::Result<()> {
    let until = Instant::now() + STUCK_AFTER;
    while !api.start_sync().await? {
        api.wait_idle().await?;
        if Instant::now() > until {
            bail!("no sync could be started");
        }
    }
    let status = api.wait_idle().await?;
    let last = api.last_sync().await?;
    if last["outcome"] != "success" {
        bail!("it ended {}: {}", last["outcome"], last["error"]);
    }
    if !status["error"].is_null() {
        bail!("the status still shows an error: {}", status["error"]);
    }
    Ok(())
}

/// The cache must hold exactly the emulator's music tracks, titles included.
async fn compare_library(
    api: &ApiClient,
    plex: &EmulatorHandle,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let expected = music_titles(&plex.library());
    let mut cached: BTreeMap<u64, String> = BTreeMap::new();
    let mut duplicates = 0;
    let mut offset = 0u64;
    loop {
        let page = api
            .get_ok(&format!(
                "/api/library/tracks?exclude_live=false&sort=title&limit=1000&offset={offset}"
            ))
            .await?;
        let rows = page["tracks"].as_array().cloned().unwrap_or_default();
        if rows.is_empty() {
            break;
        }
        offset += rows.len() as u64;
        for row in rows {
            let key = row["rating_key"]
                .as_str()
                .and_then(|k| k.parse::<u64>().ok())
                .context("a cached track without a numeric rating key")?;
            let title = row["title"].as_str().unwrap_or_default().to_owned();
            if cached.insert(key, title).is_some() {
                duplicates += 1;
            }
        }
    }
    let status = api.status().await?;
    let count = status["track_count"].as_u64().unwrap_or(0);
    println!(
        "final library: emulator {} tracks, cache {} (status says {count})",
        expected.len(),
        cached.len()
    );
    if duplicates > 0 {
        tally.fail(format!("{duplicates} tracks were served twice"));
    }
    if count != expected.len() as u64 {
        tally.fail(format!(
            "track_count {count} but the emulator has {}",
            expected.len()
        ));
    }
    let missing: Vec<&u64> = expected
        .keys()
        .filter(|k| !cached.contains_key(k))
        .collect();
    let extra: Vec<&u64> = cached
        .keys()
        .filter(|k| !expected.contains_key(k))
        .collect();
    if !missing.is_empty() || !extra.is_empty() {
        tally.fail(format!(
            "rating keys differ: {} missing (e.g. {:?}), {} extra (e.g. {:?})",
            missing.len(),
            missing.iter().take(5).collect::<Vec<_>>(),
            extra.len(),
            extra.iter().take(5).collect::<Vec<_>>()
        ));
    }
    let wrong: Vec<u64> = expected
        .iter()
        .filter(|(k, title)| cached.get(k).is_some_and(|c| c != *title))
        .map(|(k, _)| *k)
        .collect();
    if !wrong.is_empty() {
        tally.fail(format!(
            "{} titles differ from the emulator's, e.g. rating keys {:?}",
            wrong.len(),
            &wrong[..wrong.len().min(5)]
        ));
    }
    Ok(())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Memory and descriptors must not grow from the first quarter of the load
/// to the last.
fn check_resources(samples: &[watch::Sample], seconds: f64, tally: &mut Tally) {
    if samples.is_empty() {
        println!("resources: not measured (no /proc on this system)");
        return;
    }
    let quarter = seconds / 4.0;
    let first = watch::window(samples, 0.0, quarter);
    let last = watch::window(samples, seconds - quarter, seconds);
    let peak_rss = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let peak_fds = samples.iter().map(|s| s.fds).max().unwrap_or(0);
    println!(
        "server RSS: first quarter median {:.1} MiB (max {:.1}), last quarter median {:.1} MiB (max {:.1}), peak {:.1} MiB",
        mib(first.rss_median_kib),
        mib(first.rss_max_kib),
        mib(last.rss_median_kib),
        mib(last.rss_max_kib),
        mib(peak_rss)
    );
    println!(
        "server fds: first quarter median {} (max {}), last quarter median {} (max {}), peak {} ({} samples)",
        first.fds_median,
        first.fds_max,
        last.fds_median,
        last.fds_max,
        peak_fds,
        samples.len()
    );
    let timeline: Vec<String> = (0..=10)
        .filter_map(|tenth| {
            let at = seconds * f64::from(tenth) / 10.0;
            samples
                .iter()
                .min_by(|a, b| (a.at - at).abs().total_cmp(&(b.at - at).abs()))
                .map(|s| format!("{:.0}", mib(s.rss_kib)))
        })
        .collect();
    println!(
        "server RSS every tenth of the run (MiB): {}",
        timeline.join(" ")
    );
    if first.samples == 0 || last.samples == 0 {
        tally.fail("too few resource samples to compare quarters");
        return;
    }
    let allowed = first.rss_median_kib
        + RSS_SLACK_KIB.max((first.rss_median_kib as f64 * RSS_SLACK_RATIO) as u64);
    if last.rss_median_kib > allowed {
        tally.fail(format!(
            "server memory grew from {:.1} MiB to {:.1} MiB (allowed {:.1} MiB)",
            mib(first.rss_median_kib),
            mib(last.rss_median_kib),
            mib(allowed)
        ));
    }
    if last.fds_max > first.fds_max + FD_SLACK {
        tally.fail(format!(
            "open file descriptors grew from {} to {}",
            first.fds_max, last.fds_max
        ));
    }
}

fn report(summary: &LoadSummary, tally: &Tally, rounds: u64) {
    println!();
    println!("== soak report ==");
    println!(
        "queries served: {} ({} ok, {} expected 4xx, {} busy 503 during the flood, {} unexpected)",
        summary.queries, summary.ok, summary.expected_4xx, summary.shed, summary.unexpected
    );
    for (name, f) in &summary.endpoints {
        println!(
            "  {name:<8} {:>7} queries  p50 {:>6.2} ms  p95 {:>7.2} ms  max {:>8.2} ms",
            f.count, f.p50_ms, f.p95_ms, f.max_ms
        );
    }
    println!(
        "syncs: {} rounds, {} ok, {} failed (under faults), {} refused while another ran",
        rounds, tally.syncs_ok, tally.syncs_failed, tally.sync_requests_refused
    );
    let injected: u64 = tally.faults.values().sum();
    println!("faults injected: {injected}");
    for (name, n) in &tally.faults {
        println!("  {name:<34} {n}");
    }
    let changes: Vec<String> = tally
        .mutations
        .iter()
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    println!("library changes: {}", changes.join(", "));
}
