//! The soak's query load, run in a second process (`plexcache-tools soak
//! --load-worker URL`) so the server answers real HTTP from elsewhere. A few
//! loops ask for status, filtered pages, counts, stats, samples and history
//! until standard input closes, then one JSON summary goes to standard
//! output.

use plexcache::locks::MutexExt;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// Concurrent query loops.
const LOOPS: usize = 3;
/// Pause between a loop's queries, so the load is steady but leaves the
/// two cores room for syncing.
const PAUSE: Duration = Duration::from_millis(2);
/// Examples of unexpected answers kept for the report.
const KEEP_EXAMPLES: usize = 10;

/// Latency figures of one endpoint, in milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EndpointFigures {
    pub count: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
}

/// What the load worker prints when it stops.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LoadSummary {
    pub queries: u64,
    pub ok: u64,
    /// Documented 4xx answers the load can provoke (a genre that a sync
    /// just removed is an unknown genre).
    pub expected_4xx: u64,
    /// 503 `busy` answers: the server sheds load while the soak floods it.
    #[serde(default)]
    pub shed: u64,
    pub unexpected: u64,
    pub token_leaks: u64,
    pub endpoints: BTreeMap<String, EndpointFigures>,
    pub examples: Vec<String>,
}

#[derive(Default)]
struct Tally {
    queries: u64,
    ok: u64,
    expected_4xx: u64,
    shed: u64,
    unexpected: u64,
    token_leaks: u64,
    micros: BTreeMap<&'static str, Vec<u32>>,
    examples: Vec<String>,
}

impl Tally {
    fn unexpected(&mut self, what: String) {
        self.unexpected += 1;
        if self.examples.len() < KEEP_EXAMPLES {
            self.examples.push(what);
        }
    }

    fn summary(self) -> LoadSummary {
        let endpoints = self
            .micros
            .into_iter()
            .map(|(name, mut micros)| {
                micros.sort_unstable();
                let at = |q: f64| {
                    let i = ((micros.len() as f64 - 1.0) * q).round() as usize;
                    micros.get(i).map_or(0.0, |&m| f64::from(m) / 1000.0)
                };
                let figures = EndpointFigures {
                    count: micros.len() as u64,
                    p50_ms: at(0.5),
                    p95_ms: at(0.95),
                    max_ms: at(1.0),
                };
                (name.to_owned(), figures)
            })
            .collect();
        LoadSummary {
            queries: self.queries,
            ok: self.ok,
            expected_4xx: self.expected_4xx,
            shed: self.shed,
            unexpected: self.unexpected,
            token_leaks: self.token_leaks,
            endpoints,
            examples: self.examples,
        }
    }
}

/// Genres and decades seen in the last stats answer, to build filters from.
#[derive(Default)]
struct Vocabulary {
    genres: Vec<String>,
    decades: Vec<String>,
    words: Vec<String>,
}

/// Runs the load against `base` until standard input closes (or `limit`
/// passes), then prints the summary as one line of JSON.
pub async fn run_worker(base: String, limit: Duration) -> anyhow::Result<()> {
    let token = std::env::var("PLEXCACHE_SOAK_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    let stop = CancellationToken::new();
    let stdin_stop = stop.clone();
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut stdin = tokio::io::stdin();
        let mut buffer = [0u8; 64];
        loop {
            match stdin.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        stdin_stop.cancel();
    });
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let vocabulary = Arc::new(Mutex::new(Vocabulary::default()));
    let deadline = Instant::now() + limit;
    let mut loops = Vec::new();
    for index in 0..LOOPS {
        let context = LoopContext {
            http: http.clone(),
            base: base.clone(),
            token: token.clone(),
            tally: tally.clone(),
            vocabulary: vocabulary.clone(),
        };
        let stop = stop.clone();
        loops.push(tokio::spawn(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(index as u64 ^ 0x5eed);
            while !stop.is_cancelled() && Instant::now() < deadline {
                context.one_query(&mut rng).await;
                tokio::time::sleep(PAUSE).await;
            }
        }));
    }
    for handle in loops {
        let _ = handle.await;
    }
    let tally = std::mem::take(&mut *tally.lock_unpoisoned());
    println!("{}", serde_json::to_string(&tally.summary())?);
    Ok(())
}

struct LoopContext {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    tally: Arc<Mutex<Tally>>,
    vocabulary: Arc<Mutex<Vocabulary>>,
}

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl LoopContext {
    /// Filter parameters drawn from what the library holds.
    fn filter_query(&self, rng: &mut ChaCha8Rng) -> Vec<(String, String)> {
        let words = self.vocabulary.lock_unpoisoned();
        let mut params = Vec::new();
        if rng.random_bool(0.3)
            && let Some(genre) = words.genres.choose(rng)
        {
            params.push(("genres".to_owned(), genre.clone()));
        }
        if rng.random_bool(0.3)
            && let Some(decade) = words.decades.choose(rng)
        {
            params.push(("decades".to_owned(), decade.clone()));
        }
        if rng.random_bool(0.2) {
            params.push((
                "min_rating".to_owned(),
                rng.random_range(0..=10).to_string(),
            ));
        }
        if rng.random_bool(0.2) {
            params.push(("exclude_live".to_owned(), "false".to_owned()));
        }
        if rng.random_bool(0.2)
            && let Some(word) = words.words.choose(rng)
        {
            params.push(("q".to_owned(), word.clone()));
        }
        if rng.random_bool(0.1) {
            params.push(("played".to_owned(), rng.random_bool(0.5).to_string()));
        }
        if rng.random_bool(0.1) {
            let from = rng.random_range(1950..2020);
            params.push(("year_from".to_owned(), from.to_string()));
            params.push(("year_to".to_owned(), (from + 15).to_string()));
        }
        params
    }

    async fn one_query(&self, rng: &mut ChaCha8Rng) {
        let filter = self.filter_query(rng);
        let query = |extra: Vec<(String, String)>| {
            filter
                .iter()
                .chain(extra.iter())
                .map(|(k, v)| format!("{k}={}", encode(v)))
                .collect::<Vec<_>>()
                .join("&")
        };
        let (name, request) = match rng.random_range(0..20) {
            0..=5 => (
                "status",
                self.http.get(format!("{}/api/library/status", self.base)),
            ),
            6..=11 => {
                let sort = *plexcache::model::SortField::names()
                    .choose(rng)
                    .unwrap_or(&"artist");
                let order = if rng.random_bool(0.5) { "asc" } else { "desc" };
                let limit = *[10u64, 50, 100, 500].choose(rng).unwrap_or(&100);
                let offset = rng.random_range(0..3_000u64);
                let q = query(vec![
                    ("sort".into(), sort.into()),
                    ("order".into(), order.into()),
                    ("limit".into(), limit.to_string()),
                    ("offset".into(), offset.to_string()),
                ]);
                (
                    "tracks",
                    self.http
                        .get(format!("{}/api/library/tracks?{q}", self.base)),
                )
            }
            12..=14 => {
                let mut body = serde_json::Map::new();
                for (k, v) in &filter {
                    let value = match k.as_str() {
                        "min_rating" | "year_from" | "year_to" => {
                            v.parse::<i64>().map(Value::from).unwrap_or(Value::Null)
                        }
                        "played" | "exclude_live" => Value::Bool(v == "true"),
                        _ => Value::String(v.clone()),
                    };
                    body.insert(k.clone(), value);
                }
                (
                    "count",
                    self.http
                        .post(format!("{}/api/filter/preview", self.base))
                        .json(&Value::Object(body)),
                )
            }
            15..=16 => (
                "stats",
                self.http.get(format!("{}/api/library/stats", self.base)),
            ),
            17..=18 => {
                let n = rng.random_range(1..200u64);
                let q = query(vec![("n".into(), n.to_string())]);
                (
                    "sample",
                    self.http
                        .get(format!("{}/api/library/sample?{q}", self.base)),
                )
            }
            _ => (
                "history",
                self.http
                    .get(format!("{}/api/library/sync/history?limit=5", self.base)),
            ),
        };
        let started = Instant::now();
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                response.text().await.map(|body| (status, body))
            }
            Err(e) => Err(e),
        };
        let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
        let mut tally = self.tally.lock_unpoisoned();
        tally.queries += 1;
        tally.micros.entry(name).or_default().push(micros);
        let (status, body) = match answer {
            Ok(answer) => answer,
            Err(e) => {
                tally.unexpected(format!("{name}: no answer: {}", e.without_url()));
                return;
            }
        };
        if self.token.as_deref().is_some_and(|t| body.contains(t)) {
            tally.token_leaks += 1;
        }
        let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        match status {
            200..=299 => match check(name, &json) {
                Ok(()) => {
                    tally.ok += 1;
                    drop(tally);
                    if name == "stats" || name == "tracks" {
                        self.learn(name, &json);
                    }
                }
                Err(why) => tally.unexpected(format!("{name} {status}: {why}")),
            },
            400 if json["error"] == "invalid_filter"
                && json["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("unknown genre")) =>
            {
                tally.expected_4xx += 1;
            }
            503 if json["error"] == "busy" => tally.shed += 1,
            _ => {
                let text: String = body.chars().take(300).collect();
                tally.unexpected(format!("{name} {status}: {text}"));
            }
        }
    }

    /// Remembers genres, decades and words to filter by.
    fn learn(&self, name: &str, json: &Value) {
        let mut words = self.vocabulary.lock_unpoisoned();
        if name == "stats" {
            let names = |list: &Value, key: &str| -> Vec<String> {
                list.as_array()
                    .map(|items| {
                        items
                            .iter()
                            .filter_map(|i| i[key].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            words.genres = names(&json["genres"], "name");
            words.decades = names(&json["decades"], "decade");
        } else if words.words.len() < 200
            && let Some(track) = json["tracks"].as_array().and_then(|t| t.first())
            && let Some(title) = track["title"].as_str()
        {
            let word: String = title.chars().take(12).collect();
            if !word.trim().is_empty() {
                words.words.push(word);
            }
        }
    }
}

/// Checks what a 2xx answer promises.
fn check(name: &str, json: &Value) -> Result<(), String> {
    let number = |v: &Value, what: &str| v.as_u64().ok_or_else(|| format!("no {what}"));
    match name {
        "status" => {
            if !json["is_syncing"].is_boolean() || !json["track_count"].is_i64() {
                return Err(format!("not a status: {json}"));
            }
        }
        "tracks" => {
            let total = number(&json["total"], "total")?;
            let offset = number(&json["offset"], "offset")?;
            let limit = number(&json["limit"], "limit")?;
            let rows = json["tracks"].as_array().map_or(0, Vec::len) as u64;
            let expected = total.saturating_sub(offset).min(limit);
            if rows != expected {
                return Err(format!(
                    "{rows} rows for total {total}, offset {offset}, limit {limit}"
                ));
            }
        }
        "sample" => {
            let total = number(&json["total"], "total")?;
            let rows = json["tracks"].as_array().map_or(0, Vec::len) as u64;
            if rows > total {
                return Err(format!("{rows} rows sampled from {total}"));
            }
        }
        "count" => {
            number(&json["count"], "count")?;
        }
        "stats" => {
            number(&json["track_count"], "track_count")?;
        }
        _ => {
            if !json["syncs"].is_array() {
                return Err("no syncs".into());
            }
        }
    }
    Ok(())
}
