//! The live library's cases: how soon a change made on Plex shows in the
//! API, what applying changes costs concurrent queries, a storm of added
//! tracks, and what a refresh costs when little or nothing changed.
//! BENCHMARKS.md describes each row.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use plexcache_emulator::{Faults, Mutation};
use plexcache_harness::InProcess;
use serde_json::Value;

use super::queries::Api;
use super::report::{Budget, Case, Pick};
use super::stats::percentiles;
use super::sync::SyncRun;
use super::workload::{Generator, Query};
use super::{Bench, Plex, in_process_server, open_store, say, size_label, vocabulary};

/// How long the server may take to go live (connect and catch up).
const GO_LIVE: Duration = Duration::from_secs(120);
/// How long one change may take to show before the case gives up on it.
const SHOW_WITHIN: Duration = Duration::from_secs(30);
/// Budget: a change shows in the API within this, p95.
const LATENCY_BUDGET_MS: f64 = 2000.0;
/// Tracks added by the storm.
const STORM: usize = 5000;
/// Budget: the storm is applied in at most this many transactions.
const STORM_TRANSACTIONS: f64 = 5.0;
/// Tracks edited per batch while the queries run.
const BATCH: usize = 50;

impl Bench {
    /// Edits to time, one at a time.
    fn live_edits(&self) -> usize {
        if self.config.quick { 15 } else { 40 }
    }

    /// The live cases on a synced cache of `n` tracks: a server of this
    /// process follows the emulator while the emulator changes.
    pub(super) async fn live_cases(&mut self, plex: &Plex, data_dir: &Path, n: usize) {
        let label = size_label(n);
        let server = match in_process_server(data_dir, &plex.handle.url()).await {
            Ok(server) => server,
            Err(e) => {
                self.live_failed(&label, &format!("{e:#}"));
                return;
            }
        };
        let result = self.live_on(plex, &server, data_dir, &label).await;
        server.stop().await;
        if let Err(e) = result {
            self.live_failed(&label, &format!("{e:#}"));
        }
    }

    fn live_failed(&mut self, label: &str, error: &str) {
        say(format!("live cases, {label}: {error}"));
        self.cases.push(Case::failed(
            format!("live_latency_{label}"),
            format!("a change on Plex visible in /api/library/tracks, {label}"),
            "ms",
            error.to_owned(),
        ));
    }

    async fn live_on(
        &mut self,
        plex: &Plex,
        server: &InProcess,
        data_dir: &Path,
        label: &str,
    ) -> anyhow::Result<()> {
        let api = Api::new(server.url.clone())?;
        let went_live = wait_live(&api).await?;
        say(format!(
            "live, {label}: following Plex after {:.1} s",
            went_live.as_secs_f64()
        ));
        let keys = track_keys(plex, self.live_edits() + 20 * BATCH).await?;
        self.latency_case(plex, &api, &keys, label).await?;
        self.busy_case(plex, &api, data_dir, &keys, label).await?;
        self.storm_case(plex, &api, label).await
    }

    /// One edit at a time: from the emulator's change (its event goes out as
    /// the change is made) until a text search finds the new title.
    async fn latency_case(
        &mut self,
        plex: &Plex,
        api: &Api,
        keys: &[u64],
        label: &str,
    ) -> anyhow::Result<()> {
        let mut times = Vec::new();
        for (i, &key) in keys.iter().take(self.live_edits()).enumerate() {
            let marker = format!("zqlive{}x{i}", std::process::id());
            edit_title(plex, key, &marker)?;
            let made = Instant::now();
            let path = format!("/api/library/tracks?q={marker}&exclude_live=false&limit=1");
            loop {
                if total(api, &path).await? >= 1 {
                    break;
                }
                if made.elapsed() > SHOW_WITHIN {
                    anyhow::bail!(
                        "the change to track {key} did not show within {} s",
                        SHOW_WITHIN.as_secs()
                    );
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            times.push(made.elapsed().as_secs_f64() * 1000.0);
        }
        let p95 = percentiles(&times).map(|p| p.p95).unwrap_or(f64::NAN);
        say(format!(
            "live, {label}: {} edits, visible after p95 {p95:.0} ms",
            times.len()
        ));
        self.cases.push(Case::new(
            format!("live_latency_{label}"),
            format!("a change on Plex visible in /api/library/tracks, {label}"),
            "ms",
            vec![p95],
            Some(&times),
            Pick::P95,
            Budget::at_most(LATENCY_BUDGET_MS),
        ));
        Ok(())
    }

    /// The HTTP query mix idle, then while batches of edits keep arriving.
    async fn busy_case(
        &mut self,
        plex: &Plex,
        api: &Api,
        data_dir: &Path,
        keys: &[u64],
        label: &str,
    ) -> anyhow::Result<()> {
        let store = open_store(data_dir)?;
        let vocabulary = vocabulary(&store).await?;
        let (per_kind, seed) = (self.config.mix_per_kind(), self.config.seed);
        let mix: Vec<Query> = tokio::task::spawn_blocking(move || {
            Generator::new(&vocabulary, seed.wrapping_add(2000)).mix(per_kind, &store)
        })
        .await??;
        api.run(&mix).await?;
        let idle = api.run(&mix).await?;
        let batches = self.editing_while(plex, api, &mix, keys).await?;
        let (busy, applied) = batches;
        let idle_p95 = percentiles(&idle).context("no idle timings")?.p95;
        let busy_p95 = percentiles(&busy).context("no timings while editing")?.p95;
        let ratio = busy_p95 / idle_p95.max(1e-9);
        say(format!(
            "live, {label}: query mix p95 {idle_p95:.2} ms idle, {busy_p95:.2} ms while {applied} edit batches applied"
        ));
        self.cases.push(
            Case::new(
                format!("live_busy_{label}"),
                format!(
                    "queries while live changes are applied, {label}: p95 / idle p95 (HTTP mix)"
                ),
                "×",
                vec![ratio],
                None,
                Pick::Median,
                Budget::at_most(2.0),
            )
            .detail("idle_p95_ms", idle_p95)
            .detail("busy_p95_ms", busy_p95)
            .detail("batches_applied", applied)
            .detail("tracks_per_batch", BATCH),
        );
        Ok(())
    }

    /// Runs `mix` while edits of [`BATCH`] tracks are made every 300 ms;
    /// returns the timings and how many batches the server applied meanwhile.
    async fn editing_while(
        &self,
        plex: &Plex,
        api: &Api,
        mix: &[Query],
        keys: &[u64],
    ) -> anyhow::Result<(Vec<f64>, u64)> {
        let before = batches_applied(api).await?;
        let stop = tokio_util::sync::CancellationToken::new();
        let editor = {
            let (handle, stop, keys) = (plex.handle.clone(), stop.clone(), keys.to_vec());
            tokio::spawn(async move {
                let mut round = 0usize;
                while !stop.is_cancelled() {
                    for &key in keys
                        .iter()
                        .skip(round * BATCH % keys.len().max(1))
                        .take(BATCH)
                    {
                        let change = Mutation::Edit {
                            rating_key: key,
                            title: Some(format!("busy {round}")),
                            original_title: None,
                        };
                        if handle.mutate(change).is_err() {
                            return;
                        }
                    }
                    round += 1;
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            })
        };
        let times = api.run(mix).await;
        stop.cancel();
        let _ = editor.await;
        let applied = batches_applied(api).await?.saturating_sub(before);
        Ok((times?, applied))
    }

    /// Adds [`STORM`] tracks at once (a scan finding a new collection) and
    /// times until the API counts them all.
    async fn storm_case(&mut self, plex: &Plex, api: &Api, label: &str) -> anyhow::Result<()> {
        let before_batches = transactions(api).await?;
        let before = track_count(api).await?;
        plex.handle
            .mutate(Mutation::Add { count: STORM })
            .context("the emulator refused the storm")?;
        let made = Instant::now();
        while track_count(api).await? < before + STORM as i64 {
            if made.elapsed() > Duration::from_secs(120) {
                anyhow::bail!("the {STORM} added tracks did not all arrive within 120 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let seconds = made.elapsed().as_secs_f64();
        // A refresh's history entry is written just after its commit, which
        // the status may show first: wait a moment for the bookkeeping.
        let mut transactions = 0;
        let counted = Instant::now();
        while transactions == 0 && counted.elapsed() < Duration::from_secs(3) {
            transactions = transactions_since(api, before_batches).await?;
            if transactions == 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        say(format!(
            "live, {label}: {STORM} added tracks applied in {seconds:.2} s, {transactions} transactions"
        ));
        self.cases.push(
            Case::new(
                format!("live_storm_{label}"),
                format!("a storm of {STORM} added tracks, {label}: transactions"),
                "transactions",
                vec![transactions as f64],
                None,
                Pick::Median,
                Budget::at_most(STORM_TRANSACTIONS),
            )
            .detail("seconds_until_counted", seconds),
        );
        Ok(())
    }

    /// What a refresh costs after a slow-server full sync left `data_dir`:
    /// nothing changed, 1% changed, and a server ignoring delta filters.
    pub(super) async fn refresh_cases(
        &mut self,
        plex: &Plex,
        data_dir: &Path,
        full: &RefreshCost,
        n: usize,
        conditions: &str,
    ) {
        let label = size_label(n);
        if let Err(e) = self
            .unchanged_refresh(plex, data_dir, &label, conditions)
            .await
        {
            self.cases.push(Case::failed(
                "refresh_unchanged",
                format!("refresh, nothing changed, {label}"),
                "s",
                format!("{e:#}"),
            ));
        }
        if let Err(e) = self
            .one_percent_refresh(plex, data_dir, full, n, conditions)
            .await
        {
            self.cases.push(Case::failed(
                "refresh_1pct_ratio",
                format!("refresh, 1% changed, {label}"),
                "×",
                format!("{e:#}"),
            ));
        }
        if let Err(e) = self
            .ignored_filters_refresh(plex, data_dir, &label, conditions)
            .await
        {
            self.cases.push(Case::failed(
                "refresh_ignored_filters",
                format!("refresh against a server ignoring delta filters, {label}"),
                "s",
                format!("{e:#}"),
            ));
        }
    }

    /// `plexcache sync` on `data_dir`, with the emulator's requests it made.
    async fn measured_refresh(
        &self,
        plex: &Plex,
        data_dir: &Path,
        name: &str,
    ) -> anyhow::Result<RefreshCost> {
        let log_dir = data_dir.join("logs");
        std::fs::create_dir_all(&log_dir)?;
        let before = plex.handle.stats().requests;
        let run: SyncRun = self.sync_child(plex, data_dir, &log_dir, name).await?;
        Ok(RefreshCost {
            wall_s: run.wall_s,
            requests: plex.handle.stats().requests.saturating_sub(before),
        })
    }

    async fn unchanged_refresh(
        &mut self,
        plex: &Plex,
        data_dir: &Path,
        label: &str,
        conditions: &str,
    ) -> anyhow::Result<()> {
        let mut walls = Vec::new();
        let mut requests = Vec::new();
        for r in 0..self.runs() {
            let cost = self
                .measured_refresh(plex, data_dir, &format!("refresh-unchanged-{r}"))
                .await?;
            say(format!(
                "refresh, nothing changed, {label}: {:.2} s, {} requests",
                cost.wall_s, cost.requests
            ));
            walls.push(cost.wall_s);
            requests.push(cost.requests as f64);
        }
        self.cases.push(Case::new(
            "refresh_unchanged",
            format!("refresh, nothing changed ({conditions}), {label}: wall"),
            "s",
            walls,
            None,
            Pick::Median,
            Budget::at_most(1.0),
        ));
        self.cases.push(Case::new(
            "refresh_unchanged_requests",
            format!("refresh, nothing changed ({conditions}), {label}: requests to Plex"),
            "requests",
            requests,
            None,
            Pick::Max,
            Budget::at_most(10.0),
        ));
        Ok(())
    }

    async fn one_percent_refresh(
        &mut self,
        plex: &Plex,
        data_dir: &Path,
        full: &RefreshCost,
        n: usize,
        conditions: &str,
    ) -> anyhow::Result<()> {
        let label = size_label(n);
        let keys = track_keys(plex, n / 100).await?;
        let (mut wall_ratios, mut request_ratios) = (Vec::new(), Vec::new());
        let mut costs = Vec::new();
        for r in 0..self.runs() {
            change_one_percent(plex, &keys, r)?;
            let cost = self
                .measured_refresh(plex, data_dir, &format!("refresh-1pct-{r}"))
                .await?;
            say(format!(
                "refresh, 1% changed, {label}: {:.2} s, {} requests (full sync {:.2} s, {} requests)",
                cost.wall_s, cost.requests, full.wall_s, full.requests
            ));
            wall_ratios.push(cost.wall_s / full.wall_s.max(1e-9));
            request_ratios.push(cost.requests as f64 / (full.requests.max(1)) as f64);
            costs.push(cost);
        }
        self.cases.push(
            Case::new(
                "refresh_1pct_ratio",
                format!("refresh, 1% changed ({conditions}), {label}: wall / full sync wall"),
                "×",
                wall_ratios,
                None,
                Pick::Median,
                Budget::at_most(0.10),
            )
            .detail("full_sync", full)
            .detail("runs", &costs),
        );
        self.cases.push(Case::new(
            "refresh_1pct_requests_ratio",
            format!("refresh, 1% changed ({conditions}), {label}: requests / full sync requests"),
            "×",
            request_ratios,
            None,
            Pick::Max,
            Budget::at_most(0.10),
        ));
        Ok(())
    }

    /// A server that ignores delta filters: the refresh must notice, sync
    /// in full, and end with the server's library.
    async fn ignored_filters_refresh(
        &mut self,
        plex: &Plex,
        data_dir: &Path,
        label: &str,
        conditions: &str,
    ) -> anyhow::Result<()> {
        let keys = track_keys(plex, 3).await?;
        let marker = format!("zqignored{}", std::process::id());
        for &key in &keys {
            edit_title(plex, key, &marker)?;
        }
        let slow = plex.handle.faults();
        plex.handle.set_faults(Faults {
            ignore_delta_filters: true,
            ..slow.clone()
        });
        let cost = self
            .measured_refresh(plex, data_dir, "refresh-ignored-filters")
            .await;
        plex.handle.set_faults(slow);
        let cost = cost?;
        let store = open_store(data_dir)?;
        let (history, found, cached) = tokio::task::spawn_blocking(move || {
            let history = store.history(1)?;
            let filter = plexcache::model::Filter {
                text: Some(marker),
                exclude_live: false,
                ..Default::default()
            };
            let found = store.count(&filter)?;
            let cached = store.sync_state()?.track_count;
            Ok::<_, anyhow::Error>((history, found, cached))
        })
        .await??;
        let expected = plex.handle.track_count() as u64;
        let full = history
            .first()
            .is_some_and(|h| h.kind == plexcache::model::SyncKind::Full);
        let correct = found == keys.len() as u64 && cached as u64 == expected;
        say(format!(
            "refresh against a server ignoring delta filters, {label}: {:.2} s, full sync: {full}, \
             {found}/{} edits found, {cached}/{expected} tracks",
            cost.wall_s,
            keys.len()
        ));
        let mut case = Case::new(
            "refresh_ignored_filters",
            format!(
                "refresh against a server ignoring delta filters ({conditions}), {label}: detected, full sync, correct"
            ),
            "s",
            vec![cost.wall_s],
            None,
            Pick::Median,
            None,
        )
        .detail("full_sync_ran", full)
        .detail("edits_found", found)
        .detail("tracks_cached", cached)
        .detail("tracks_on_server", expected)
        .detail("requests", cost.requests);
        case.pass = Some(full && correct);
        if !(full && correct) {
            case.error = Some("the fallback did not run a full sync, or its result differs".into());
        }
        self.cases.push(case);
        Ok(())
    }
}

/// Wall time and requests of one sync or refresh.
#[derive(Debug, Clone, serde::Serialize)]
pub(super) struct RefreshCost {
    pub wall_s: f64,
    pub requests: u64,
}

/// Waits until the server says it follows Plex live.
async fn wait_live(api: &Api) -> anyhow::Result<Duration> {
    let started = Instant::now();
    loop {
        let status = api.get_json("/api/library/status").await?;
        if status["live"] == Value::Bool(true) {
            return Ok(started.elapsed());
        }
        if started.elapsed() > GO_LIVE {
            anyhow::bail!(
                "the server did not go live within {} s (status: {status})",
                GO_LIVE.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Rating keys of up to `n` tracks of the main music section.
async fn track_keys(plex: &Plex, n: usize) -> anyhow::Result<Vec<u64>> {
    let handle = plex.handle.clone();
    let keys = tokio::task::spawn_blocking(move || handle.track_keys("1", n)).await?;
    anyhow::ensure!(!keys.is_empty(), "the emulator has no tracks to change");
    Ok(keys)
}

fn edit_title(plex: &Plex, key: u64, title: &str) -> anyhow::Result<()> {
    plex.handle
        .mutate(Mutation::Edit {
            rating_key: key,
            title: Some(title.to_owned()),
            original_title: None,
        })
        .with_context(|| format!("the emulator refused to edit track {key}"))?;
    Ok(())
}

/// Changes every track of `keys` once: titles, ratings and plays in turn,
/// so each delta field has work.
fn change_one_percent(plex: &Plex, keys: &[u64], round: u32) -> anyhow::Result<()> {
    for (i, &key) in keys.iter().enumerate() {
        let change = match i % 3 {
            0 => Mutation::Edit {
                rating_key: key,
                title: Some(format!("changed {round} {i}")),
                original_title: None,
            },
            1 => Mutation::Rate {
                rating_key: key,
                rating: Some(f64::from(round % 10) + 1.0),
            },
            _ => Mutation::Play { rating_key: key },
        };
        plex.handle
            .mutate(change)
            .with_context(|| format!("the emulator refused to change track {key}"))?;
    }
    Ok(())
}

async fn total(api: &Api, path: &str) -> anyhow::Result<u64> {
    let page = api.get_json(path).await?;
    page["total"]
        .as_u64()
        .with_context(|| format!("{path} answered no total: {page}"))
}

async fn track_count(api: &Api) -> anyhow::Result<i64> {
    let status = api.get_json("/api/library/status").await?;
    status["track_count"]
        .as_i64()
        .with_context(|| format!("the status has no track count: {status}"))
}

/// Write transactions that changed the library: live batches, and the
/// refreshes a reconnection may run instead (each one a history entry).
async fn transactions(api: &Api) -> anyhow::Result<u64> {
    let history = api.get_json("/api/library/sync/history?limit=500").await?;
    let refreshes = history["syncs"].as_array().map_or(0, Vec::len) as u64;
    Ok(batches_applied(api).await? + refreshes)
}

async fn transactions_since(api: &Api, before: u64) -> anyhow::Result<u64> {
    Ok(transactions(api).await?.saturating_sub(before))
}

/// Live batches the server has committed, from its metrics.
async fn batches_applied(api: &Api) -> anyhow::Result<u64> {
    let text = api.get_text("/metrics").await?;
    Ok(text
        .lines()
        .find_map(|line| line.strip_prefix("plexcache_live_batches_applied_total "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map_or(0, |value| value as u64))
}
