//! The query mix: random but reproducible (a fixed seed) filters built from
//! what the cache really holds — genres and decades from its statistics,
//! words, artists and dates from its tracks — and the calls that run them,
//! in-process against the [`Store`] or over HTTP against the API.

use std::fmt::Write as _;

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use plexcache::model::{Filter, Sort, SortField};
use plexcache::store::{Store, StoreError};

/// Tracks per page, as the page asks.
pub const PAGE: u64 = 100;
/// Tracks per random sample.
pub const SAMPLE: u64 = 100;

/// What a query measures (one report row each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Count,
    Page,
    DeepPage,
    Stats,
    Search,
    /// A search whose words' sets are not remembered: the cost of a word
    /// searched for the first time since the last sync. In-process only.
    FirstSearch,
    Sample,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Count,
        Kind::Page,
        Kind::DeepPage,
        Kind::Stats,
        Kind::Search,
        Kind::FirstSearch,
        Kind::Sample,
    ];

    /// Kinds that can be timed over HTTP (a first search needs the store's
    /// remembered sets cleared right before it).
    pub fn over_http(self) -> bool {
        self != Kind::FirstSearch
    }

    pub fn id(self) -> &'static str {
        match self {
            Kind::Count => "count",
            Kind::Page => "page",
            Kind::DeepPage => "page_deep",
            Kind::Stats => "stats",
            Kind::Search => "search",
            Kind::FirstSearch => "search_first",
            Kind::Sample => "sample",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Count => "filter count (random combination)",
            Kind::Page => "page of 100, random filters and sort, offset < 1000",
            Kind::DeepPage => "page of 100, random sort, deep offset",
            Kind::Stats => "genre and decade stats",
            Kind::Search => "text search (page of 100)",
            Kind::FirstSearch => "text search, words not searched before (page of 100)",
            Kind::Sample => "random sample of 100 matching",
        }
    }

    /// The budget in milliseconds (quality.md).
    pub fn budget_ms(self) -> f64 {
        match self {
            Kind::Sample => 10.0,
            _ => 5.0,
        }
    }
}

/// One query: its filter as `key=value` pairs (the API's parameters) and
/// what to do with it.
#[derive(Debug, Clone)]
pub struct Query {
    pub kind: Kind,
    pub params: Vec<(&'static str, String)>,
    pub sort: Option<(&'static str, &'static str)>,
    pub offset: u64,
    /// Parsed once, up front: the in-process timing is the store's alone.
    pub filter: Filter,
}

/// What the generator draws from.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    pub genres: Vec<String>,
    pub decades: Vec<String>,
    /// Words of real titles, one list per title.
    pub title_words: Vec<Vec<String>>,
    pub artists: Vec<String>,
    /// `added_at` of real tracks (RFC 3339).
    pub added: Vec<String>,
    pub track_count: u64,
}

impl Vocabulary {
    /// Reads genres and decades from the statistics, and words, artists and
    /// dates from pages at evenly spaced offsets (deterministic for a given
    /// cache, unlike a random sample).
    pub fn from_store(store: &Store) -> Result<Vocabulary, StoreError> {
        let stats = store.stats()?;
        let everything = Filter {
            exclude_live: false,
            ..Filter::default()
        };
        let total = store.count(&everything)?;
        let mut vocabulary = Vocabulary {
            genres: stats.genres.into_iter().map(|g| g.name).collect(),
            decades: stats.decades.into_iter().map(|d| d.decade).collect(),
            track_count: total,
            ..Vocabulary::default()
        };
        let spots = 40;
        for i in 0..spots {
            let offset = total * i / spots;
            let page = store.tracks(&everything, Sort::default(), offset, 50)?;
            for track in page.tracks {
                let words: Vec<String> = track
                    .title
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| (3..=30).contains(&w.chars().count()))
                    .map(str::to_owned)
                    .collect();
                if !words.is_empty() {
                    vocabulary.title_words.push(words);
                }
                for name in [track.artist, track.album_artist] {
                    let usable = !name.trim().is_empty()
                        && name.chars().count() <= 200
                        && !name.chars().any(char::is_control);
                    if usable && !vocabulary.artists.contains(&name) {
                        vocabulary.artists.push(name);
                    }
                }
                vocabulary
                    .added
                    .extend(track.added_at.and_then(plexcache::clock::rfc3339));
            }
        }
        Ok(vocabulary)
    }
}

/// Builds reproducible query lists.
pub struct Generator<'a> {
    vocabulary: &'a Vocabulary,
    rng: ChaCha8Rng,
}

impl<'a> Generator<'a> {
    pub fn new(vocabulary: &'a Vocabulary, seed: u64) -> Self {
        Generator {
            vocabulary,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// `n` queries of `kind`. Deep pages need the store to count their
    /// filter (offsets land inside the result).
    pub fn queries(
        &mut self,
        kind: Kind,
        n: usize,
        store: &Store,
    ) -> Result<Vec<Query>, StoreError> {
        let mut out = Vec::with_capacity(n);
        let mut attempts = 0;
        while out.len() < n {
            attempts += 1;
            if attempts > n * 20 + 100 {
                break;
            }
            let query = match kind {
                Kind::Count => {
                    let params = self.random_filter();
                    self.query(kind, params, None, 0)
                }
                Kind::Page => {
                    let offset = *[0, 0, 0, 0, 100, 200, 500, 900]
                        .choose(&mut self.rng)
                        .unwrap_or(&0);
                    let sort = self.random_sort();
                    let params = self.random_filter();
                    self.query(kind, params, Some(sort), offset)
                }
                Kind::DeepPage => {
                    let params = self.broad_filter();
                    let sort = self.random_sort();
                    let Some(mut query) = self.query(kind, params, Some(sort), 0) else {
                        continue;
                    };
                    let matching = store.count(&query.filter)?;
                    if matching < 5 * PAGE {
                        continue;
                    }
                    let offset = self.rng.random_range(0..matching - PAGE);
                    query.offset = offset / PAGE * PAGE;
                    Some(query)
                }
                Kind::Stats => self.query(kind, Vec::new(), None, 0),
                Kind::Search | Kind::FirstSearch => {
                    let q = self.search_text();
                    q.and_then(|q| self.query(kind, vec![("q", q)], None, 0))
                }
                Kind::Sample => {
                    let params = self.random_filter();
                    self.query(kind, params, None, 0)
                }
            };
            out.extend(query);
        }
        Ok(out)
    }

    /// A mix of every kind in a shuffled order.
    pub fn mix(&mut self, per_kind: usize, store: &Store) -> Result<Vec<Query>, StoreError> {
        use rand::seq::SliceRandom;
        let mut all = Vec::new();
        for kind in Kind::ALL.into_iter().filter(|k| k.over_http()) {
            let n = if kind == Kind::Stats {
                per_kind.div_ceil(4)
            } else {
                per_kind
            };
            all.extend(self.queries(kind, n, store)?);
        }
        all.shuffle(&mut self.rng);
        Ok(all)
    }

    fn query(
        &mut self,
        kind: Kind,
        params: Vec<(&'static str, String)>,
        sort: Option<(&'static str, &'static str)>,
        offset: u64,
    ) -> Option<Query> {
        let filter = Filter::from_pairs(params.iter().map(|(k, v)| (*k, v.as_str()))).ok()?;
        filter.validate().ok()?;
        Some(Query {
            kind,
            params,
            sort,
            offset,
            filter,
        })
    }

    fn random_sort(&mut self) -> (&'static str, &'static str) {
        let field = SortField::ALL
            .choose(&mut self.rng)
            .map_or("title", |f| f.name());
        let order = if self.rng.random_bool(0.5) {
            "asc"
        } else {
            "desc"
        };
        (field, order)
    }

    /// Any combination of the filters, each present with some probability.
    fn random_filter(&mut self) -> Vec<(&'static str, String)> {
        let v = self.vocabulary;
        let rng = &mut self.rng;
        let mut params = Vec::new();
        if rng.random_bool(0.4) && !v.genres.is_empty() {
            let n = rng.random_range(1..=3);
            let picked: Vec<&str> = v
                .genres
                .choose_multiple(rng, n)
                .map(String::as_str)
                .collect();
            params.push(("genres", picked.join(",")));
        }
        if rng.random_bool(0.3) && !v.decades.is_empty() {
            let n = rng.random_range(1..=2);
            let picked: Vec<&str> = v
                .decades
                .choose_multiple(rng, n)
                .map(String::as_str)
                .collect();
            params.push(("decades", picked.join(",")));
        }
        if rng.random_bool(0.2) {
            let rating = [2.0, 4.0, 5.0, 6.0, 7.5, 8.0, 9.0, 10.0]
                .choose(rng)
                .copied()
                .unwrap_or(6.0);
            params.push(("min_rating", rating.to_string()));
        }
        if rng.random_bool(0.2) {
            params.push(("exclude_live", "false".to_owned()));
        }
        if rng.random_bool(0.15)
            && let Some(words) = v.title_words.choose(rng)
            && let Some(word) = words.choose(rng)
        {
            params.push(("q", word.clone()));
        }
        if rng.random_bool(0.1)
            && let Some(artist) = v.artists.choose(rng)
        {
            params.push(("artist", artist.clone()));
        }
        if rng.random_bool(0.15) {
            let from = rng.random_range(1950..=2025);
            let to = (from + rng.random_range(0..=30)).min(2025);
            params.push(("year_from", from.to_string()));
            params.push(("year_to", to.to_string()));
        }
        if rng.random_bool(0.15) {
            params.push(("played", rng.random_bool(0.5).to_string()));
        }
        if rng.random_bool(0.15)
            && let Some(added) = v.added.choose(rng)
        {
            params.push(("added_since", added.clone()));
        }
        params
    }

    /// Filters matching many tracks, so deep offsets exist.
    fn broad_filter(&mut self) -> Vec<(&'static str, String)> {
        let v = self.vocabulary;
        let rng = &mut self.rng;
        match rng.random_range(0..5) {
            0 => Vec::new(),
            1 => v
                .genres
                .iter()
                .take(5)
                .collect::<Vec<_>>()
                .choose(rng)
                .map(|g| vec![("genres", (*g).clone())])
                .unwrap_or_default(),
            2 => v
                .decades
                .choose(rng)
                .map(|d| vec![("decades", d.clone())])
                .unwrap_or_default(),
            3 => vec![("played", "false".to_owned())],
            _ => vec![("exclude_live", "false".to_owned())],
        }
    }

    /// One word, two words of one title, or a word's prefix.
    fn search_text(&mut self) -> Option<String> {
        let words = self.vocabulary.title_words.choose(&mut self.rng)?;
        let first = words.choose(&mut self.rng)?;
        let roll: f64 = self.rng.random();
        Some(if roll < 0.2 && words.len() > 1 {
            let second = words.choose(&mut self.rng)?;
            format!("{first} {second}")
        } else if roll < 0.35 {
            first.chars().take(3).collect()
        } else {
            first.clone()
        })
    }
}

impl Query {
    /// "page sort=year desc offset=500 genres=Rock,Jazz" (values cut short).
    pub fn describe(&self) -> String {
        let mut text = self.kind.id().to_owned();
        if let Some((field, order)) = self.sort {
            let _ = write!(text, " sort={field} {order}");
        }
        if self.offset > 0 {
            let _ = write!(text, " offset={}", self.offset);
        }
        for (key, value) in &self.params {
            let short: String = value.chars().take(40).collect();
            let _ = write!(text, " {key}={short:?}");
        }
        text
    }

    /// Untimed preparation: a first search starts with no remembered sets.
    pub fn prepare(&self, store: &Store) {
        if self.kind == Kind::FirstSearch {
            store.forget_remembered_sets();
        }
    }

    /// Runs the query against the store (what the API handler calls).
    pub fn run(&self, store: &Store) -> Result<u64, StoreError> {
        match self.kind {
            Kind::Count => store.count(&self.filter),
            Kind::Page | Kind::DeepPage | Kind::Search | Kind::FirstSearch => {
                let sort = Sort::parse(self.sort.map(|s| s.0), self.sort.map(|s| s.1))?;
                Ok(store.tracks(&self.filter, sort, self.offset, PAGE)?.total)
            }
            Kind::Stats => Ok(store.stats()?.track_count),
            Kind::Sample => Ok(store.sample(&self.filter, SAMPLE)?.0),
        }
    }

    /// Method, path and query, and JSON body of the same query over HTTP.
    pub fn http(&self) -> (reqwest::Method, String, Option<serde_json::Value>) {
        match self.kind {
            Kind::Count => (
                reqwest::Method::POST,
                "/api/filter/preview".to_owned(),
                Some(self.json_body()),
            ),
            Kind::Stats => (reqwest::Method::GET, "/api/library/stats".to_owned(), None),
            Kind::Sample => {
                let mut path = format!("/api/library/sample?n={SAMPLE}");
                self.append_params(&mut path);
                (reqwest::Method::GET, path, None)
            }
            Kind::Page | Kind::DeepPage | Kind::Search | Kind::FirstSearch => {
                let mut path = format!("/api/library/tracks?limit={PAGE}&offset={}", self.offset);
                if let Some((field, order)) = self.sort {
                    let _ = write!(path, "&sort={field}&order={order}");
                }
                self.append_params(&mut path);
                (reqwest::Method::GET, path, None)
            }
        }
    }

    fn append_params(&self, path: &mut String) {
        use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
        for (key, value) in &self.params {
            let _ = write!(
                path,
                "&{key}={}",
                utf8_percent_encode(value, NON_ALPHANUMERIC)
            );
        }
    }

    /// The filter as `POST /api/filter/preview` takes it (typed values).
    fn json_body(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut body = serde_json::Map::new();
        for (key, value) in &self.params {
            let typed = match *key {
                "min_rating" => value
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number),
                "year_from" | "year_to" => value.parse::<i64>().ok().map(Value::from),
                "exclude_live" | "played" => value.parse::<bool>().ok().map(Value::Bool),
                _ => Some(Value::String(value.clone())),
            };
            if let Some(typed) = typed {
                body.insert((*key).to_owned(), typed);
            }
        }
        Value::Object(body)
    }
}
