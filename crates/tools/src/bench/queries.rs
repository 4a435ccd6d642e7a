//! Timing the query mix: in-process against the [`Store`] (the server-side
//! cost the budgets are about) and over HTTP against a running API server
//! (end to end: routing, JSON, the loopback socket).

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context;

use super::workload::{Kind, Query};
use plexcache::store::Store;
use plexcache_harness::ApiClient;

/// Milliseconds per query, by kind.
pub type Timings = BTreeMap<Kind, Vec<f64>>;

/// Runs `queries` one after another on a blocking thread; milliseconds,
/// one per query.
pub async fn in_process(store: &Store, queries: Vec<Query>) -> anyhow::Result<Vec<f64>> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        let mut times = Vec::with_capacity(queries.len());
        for query in &queries {
            query.prepare(&store);
            let started = Instant::now();
            query
                .run(&store)
                .with_context(|| format!("query failed: {}", query.describe()))?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        Ok(times)
    })
    .await?
}

/// Timings grouped by kind.
pub fn by_kind(queries: &[Query], times: &[f64]) -> Timings {
    let mut timings = Timings::new();
    for (query, ms) in queries.iter().zip(times) {
        timings.entry(query.kind).or_default().push(*ms);
    }
    timings
}

/// The `n` slowest queries of `kind`: "12.3 ms: count genres=Rock".
pub fn slowest(queries: &[Query], times: &[f64], kind: Kind, n: usize) -> Vec<String> {
    let mut timed: Vec<(f64, &Query)> = times
        .iter()
        .copied()
        .zip(queries)
        .filter(|(_, q)| q.kind == kind)
        .collect();
    timed.sort_by(|a, b| b.0.total_cmp(&a.0));
    timed
        .into_iter()
        .take(n)
        .map(|(ms, q)| format!("{ms:.2} ms: {}", q.describe()))
        .collect()
}

/// The harness's client of the API at `base` (`http://127.0.0.1:PORT`),
/// timing whole answers.
#[derive(Clone)]
pub struct Api {
    client: ApiClient,
}

impl Api {
    pub fn new(base: String) -> anyhow::Result<Api> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()?;
        Ok(Api {
            client: ApiClient::with_http(&base, http)?,
        })
    }

    /// Sends one query and reads the whole answer; milliseconds.
    pub async fn time(&self, query: &Query) -> anyhow::Result<f64> {
        let (method, path, body) = query.http();
        let started = Instant::now();
        let mut request = self.client.request(method, &path);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        if !status.is_success() {
            anyhow::bail!(
                "{path} answered {status}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
            );
        }
        Ok(ms)
    }

    /// Runs `queries` one after another over HTTP; milliseconds, one per
    /// query.
    pub async fn run(&self, queries: &[Query]) -> anyhow::Result<Vec<f64>> {
        let mut times = Vec::with_capacity(queries.len());
        for query in queries {
            times.push(self.time(query).await?);
        }
        Ok(times)
    }

    /// POST to `path`: the status code.
    pub async fn post(&self, path: &str) -> anyhow::Result<u16> {
        Ok(self.client.post(path).await?.0)
    }

    /// GET `path`, which must answer 200 with JSON.
    pub async fn get_json(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        self.client.get_ok(path).await
    }

    /// GET `path`, which must answer 200: its body as text.
    pub async fn get_text(&self, path: &str) -> anyhow::Result<String> {
        let response = self
            .client
            .request(reqwest::Method::GET, path)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        anyhow::ensure!(status.is_success(), "{path} answered {status}");
        Ok(text)
    }
}

/// Appends `more` to `all`, kind by kind.
pub fn merge(all: &mut Timings, more: Timings) {
    for (kind, values) in more {
        all.entry(kind).or_default().extend(values);
    }
}
