//! Property tests ("fuzzing" on stable Rust) of everything that parses
//! outside input: the Plex JSON decoders, the emulator's XML and JSON
//! answers for hostile titles, filter and sort parsing (query parameters
//! and JSON bodies, and the SQL they compile to), and the config file.
//!
//! Each target runs a bounded number of cases (a few hundred, so the whole
//! file takes seconds); `PROPTEST_CASES=N` runs N per target instead, and
//! `--nocapture` shows how many inputs each target ran. See
//! `docs/hardening.md` for the longer run. Failures are not persisted to
//! files: a failing input is printed (shrunk), and each one found so far is
//! kept below as a named regression test.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};

use plexcache::config::{parse_file_settings, validate_plex_url};
use plexcache::model::filter::{
    FilterParams, FilterParams as FilterBody, MAX_LIMIT, parse_added_since as parse_time,
    parse_count,
};
use plexcache::model::{Filter, FilterError, Sort, SortField};
use plexcache::plex::wire::{
    Envelope, ItemContainer, SectionContainer, ServerContainer, WireDirectory, WirePlaylist,
    WireTrack,
};
use plexcache::plex::{Parent, Track};
use plexcache::store::{Store, StoreError};
use plexcache_emulator::{EmulatorConfig, Library, Mutation};
use plexcache_harness::{Cache, music_tracks, spawn_plex, start_emulator};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

// ---------------------------------------------------------------- runner

/// Cases per target unless `PROPTEST_CASES` says otherwise.
const CASES: u32 = 1_000;
/// Targets that make HTTP requests per case run fewer.
const HTTP_CASES: u32 = 300;

/// Runs `test` on inputs from `strategy`, prints how many it ran, and
/// fails with the shrunk input when a case fails or panics.
fn fuzz<S>(name: &str, default_cases: u32, strategy: S, test: impl Fn(S::Value) -> TestResult)
where
    S: Strategy,
    S::Value: Debug,
{
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 4_000,
        ..Config::default()
    };
    let inputs = AtomicU64::new(0);
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy, |value| {
        inputs.fetch_add(1, Ordering::Relaxed);
        test(value)
    });
    eprintln!(
        "fuzz target {name}: {} inputs",
        inputs.load(Ordering::Relaxed)
    );
    if let Err(failure) = result {
        panic!("fuzz target {name} failed: {failure}");
    }
}

type TestResult = Result<(), TestCaseError>;

// ------------------------------------------------------------- generators

/// Characters that break naive escapers and parsers, plus anything at all.
fn hard_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => any::<char>(),
        2 => prop::sample::select(vec![
            '\u{0}', '\u{1}', '\u{7}', '\u{8}', '\t', '\n', '\u{b}', '\u{c}', '\r', '\u{1b}',
            '\u{1f}', '\u{7f}', '\u{85}', '\u{a0}', '\u{2028}', '\u{200b}', '\u{feff}',
            '\u{fffd}', '\u{fffe}', '\u{ffff}', '\u{d7ff}', '\u{e000}', '\u{10ffff}', '&', '<',
            '>', '"', '\'', ';', '=', '\\', '%', '*', '#', '[', ']', '{', '}', ',', 'é', 'ß',
            'İ', '日', '😀', '\u{301}', 'ª', '²', '½', '٣',
        ]),
        3 => prop::char::range('a', 'z'),
        1 => prop::char::range('0', '9'),
        1 => Just(' '),
    ]
}

fn hard_string(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(hard_char(), 0..max).prop_map(|chars| chars.into_iter().collect())
}

/// Any JSON value, nested a little.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(vec![
            0.0, -0.0, 0.5, 6.0, 7.5, 1e15, 1e300, -1e300, 9.2e18, 1.8e19
        ])
        .prop_map(Value::from),
        hard_string(12).prop_map(Value::String),
        prop::sample::select(vec![
            "",
            " ",
            "0",
            "-1",
            "6",
            "6.0",
            "7.5",
            "1e309",
            "-1e309",
            "NaN",
            "inf",
            "-inf",
            "1994",
            "abc",
            "true",
            "null",
            "18446744073709551616",
            "9223372036854775808",
            " 12 ",
            "0x10",
            "1_000",
            "+5",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key_name(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Keys Plex uses, and others.
fn key_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "ratingKey", "parentRatingKey", "grandparentRatingKey", "title", "grandparentTitle",
            "parentTitle", "originalTitle", "index", "parentIndex", "parentYear", "userRating",
            "viewCount", "lastViewedAt", "duration", "addedAt", "updatedAt", "Genre", "tag",
            "type", "year", "deletedAt", "leafCount", "size", "totalSize", "offset", "Metadata",
            "MediaContainer", "Directory", "key", "uuid", "machineIdentifier", "version",
            "friendlyName",
        ])
        .prop_map(str::to_owned),
        1 => hard_string(8),
    ]
}

/// A number as Plex may send it: integer, float, or a numeric string.
#[derive(Debug, Clone)]
enum WireNumber {
    Int(i64),
    WholeFloat(i64),
    Text(i64),
    PaddedText(i64),
}

impl WireNumber {
    fn value(&self) -> i64 {
        match self {
            WireNumber::Int(v)
            | WireNumber::WholeFloat(v)
            | WireNumber::Text(v)
            | WireNumber::PaddedText(v) => *v,
        }
    }

    fn json(&self) -> Value {
        match self {
            WireNumber::Int(v) => json!(v),
            WireNumber::WholeFloat(v) => json!(*v as f64),
            WireNumber::Text(v) => json!(v.to_string()),
            WireNumber::PaddedText(v) => json!(format!(" {v} ")),
        }
    }
}

/// Integers that survive the trip through `f64` exactly.
fn wire_number(range: std::ops::Range<i64>) -> impl Strategy<Value = WireNumber> {
    range.prop_flat_map(|v| {
        prop_oneof![
            Just(WireNumber::Int(v)),
            Just(WireNumber::WholeFloat(v)),
            Just(WireNumber::Text(v)),
            Just(WireNumber::PaddedText(v)),
        ]
    })
}

/// A valid track as real servers send it, with the values it must decode to.
#[derive(Debug, Clone)]
struct ValidTrack {
    rating_key: u64,
    key_as_number: bool,
    title: Option<String>,
    original_title: Option<String>,
    index: Option<WireNumber>,
    parent_year: Option<WireNumber>,
    duration: Option<WireNumber>,
    view_count: Option<WireNumber>,
    /// Rating in halves, as a number or a string.
    rating_halves: Option<(u8, bool)>,
    genres: Vec<String>,
    /// Extra keys a newer server might add.
    extra: BTreeMap<String, Value>,
}

fn valid_track() -> impl Strategy<Value = ValidTrack> {
    (
        (1u64..u64::from(u32::MAX), any::<bool>()),
        prop::option::of(hard_string(40)),
        prop::option::of(hard_string(20)),
        prop::option::of(wire_number(0..100)),
        prop::option::of(wire_number(1000..2100)),
        prop::option::of(wire_number(0..1_000_000_000)),
        prop::option::of(wire_number(0..100_000)),
        prop::option::of((0u8..=20, any::<bool>())),
        prop::collection::vec(hard_string(12), 0..4),
        prop::collection::btree_map("[A-Z][a-zA-Z]{2,10}", arb_json(), 0..3),
    )
        .prop_map(
            |(
                (rating_key, key_as_number),
                title,
                original_title,
                index,
                parent_year,
                duration,
                view_count,
                rating_halves,
                genres,
                extra,
            )| ValidTrack {
                rating_key,
                key_as_number,
                title,
                original_title,
                index,
                parent_year,
                duration,
                view_count,
                rating_halves,
                genres,
                extra,
            },
        )
}

impl ValidTrack {
    fn json(&self) -> Value {
        let mut m = serde_json::Map::new();
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        m.insert(
            "ratingKey".into(),
            if self.key_as_number {
                json!(self.rating_key)
            } else {
                json!(self.rating_key.to_string())
            },
        );
        if let Some(t) = &self.title {
            m.insert("title".into(), json!(t));
        }
        if let Some(t) = &self.original_title {
            m.insert("originalTitle".into(), json!(t));
        }
        for (name, value) in [
            ("index", &self.index),
            ("parentYear", &self.parent_year),
            ("duration", &self.duration),
            ("viewCount", &self.view_count),
        ] {
            if let Some(v) = value {
                m.insert(name.into(), v.json());
            }
        }
        if let Some((halves, as_text)) = self.rating_halves {
            let rating = f64::from(halves) / 2.0;
            m.insert(
                "userRating".into(),
                if as_text {
                    json!(rating.to_string())
                } else {
                    json!(rating)
                },
            );
        }
        if !self.genres.is_empty() {
            let tags: Vec<Value> = self.genres.iter().map(|g| json!({ "tag": g })).collect();
            m.insert("Genre".into(), Value::Array(tags));
        }
        Value::Object(m)
    }

    fn check(&self, decoded: &WireTrack) -> TestResult {
        prop_assert_eq!(&decoded.rating_key, &self.rating_key.to_string());
        prop_assert_eq!(&decoded.title, &self.title);
        prop_assert_eq!(&decoded.original_title, &self.original_title);
        prop_assert_eq!(decoded.index, self.index.as_ref().map(WireNumber::value));
        prop_assert_eq!(
            decoded.parent_year,
            self.parent_year.as_ref().map(WireNumber::value)
        );
        prop_assert_eq!(
            decoded.duration,
            self.duration.as_ref().map(WireNumber::value)
        );
        prop_assert_eq!(
            decoded.view_count,
            self.view_count.as_ref().map(WireNumber::value)
        );
        prop_assert_eq!(
            decoded.user_rating,
            self.rating_halves.map(|(h, _)| f64::from(h) / 2.0)
        );
        let tags: Vec<&str> = decoded.genres.iter().map(|t| t.tag.as_str()).collect();
        let genres: Vec<&str> = self.genres.iter().map(String::as_str).collect();
        prop_assert_eq!(tags, genres);
        Ok(())
    }
}

fn page_json(tracks: &[ValidTrack], total: Option<u64>, offset: Option<u64>) -> Value {
    let mut c = serde_json::Map::new();
    c.insert("size".into(), json!(tracks.len()));
    if let Some(t) = total {
        c.insert("totalSize".into(), json!(t));
    }
    if let Some(o) = offset {
        c.insert("offset".into(), json!(o));
    }
    if !tracks.is_empty() {
        c.insert(
            "Metadata".into(),
            Value::Array(tracks.iter().map(ValidTrack::json).collect()),
        );
    }
    json!({ "MediaContainer": Value::Object(c) })
}

/// One way of damaging a document.
#[derive(Debug, Clone)]
enum Damage {
    /// Replace the value at a path (container key, or an item's key).
    Replace {
        item: Option<usize>,
        key: String,
        value: Value,
    },
    Remove {
        item: Option<usize>,
        key: String,
    },
    /// Make `Metadata` (or the container) something else entirely.
    Reshape(Value),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        4 => (prop::option::of(0usize..4), key_name(), arb_json())
            .prop_map(|(item, key, value)| Damage::Replace { item, key, value }),
        2 => (prop::option::of(0usize..4), key_name())
            .prop_map(|(item, key)| Damage::Remove { item, key }),
        1 => arb_json().prop_map(Damage::Reshape),
    ]
}

fn apply(doc: &mut Value, damage: &Damage) {
    let container = &mut doc["MediaContainer"];
    match damage {
        Damage::Reshape(v) => {
            if let Some(obj) = container.as_object_mut() {
                obj.insert("Metadata".into(), v.clone());
            }
        }
        Damage::Replace { item, key, value } => {
            if let Some(target) = target(container, *item) {
                target.insert(key.clone(), value.clone());
            }
        }
        Damage::Remove { item, key } => {
            if let Some(target) = target(container, *item) {
                target.remove(key);
            }
        }
    }
}

fn target(
    container: &mut Value,
    item: Option<usize>,
) -> Option<&mut serde_json::Map<String, Value>> {
    match item {
        None => container.as_object_mut(),
        Some(i) => container
            .get_mut("Metadata")
            .and_then(|m| m.get_mut(i))
            .and_then(Value::as_object_mut),
    }
}

/// Tries every decoder on `bytes`; none may panic. A decoded page keeps
/// its promises (a count is never negative).
fn decode_everything(bytes: &[u8]) -> TestResult {
    if let Ok(page) = serde_json::from_slice::<Envelope<ItemContainer<WireTrack>>>(bytes) {
        for track in page.container.metadata {
            let track = Track::from(track);
            prop_assert!(!track.genres.iter().any(|g| g.trim().is_empty()));
        }
    }
    if let Ok(page) = serde_json::from_slice::<Envelope<ItemContainer<WireDirectory>>>(bytes) {
        for parent in page.container.metadata {
            let _ = Parent::from(parent);
        }
    }
    let _ = serde_json::from_slice::<Envelope<ItemContainer<WirePlaylist>>>(bytes);
    let _ = serde_json::from_slice::<Envelope<ItemContainer<serde::de::IgnoredAny>>>(bytes);
    let _ = serde_json::from_slice::<Envelope<ServerContainer>>(bytes);
    let _ = serde_json::from_slice::<Envelope<SectionContainer>>(bytes);
    Ok(())
}

// ------------------------------------------------------ 1. Plex decoders

#[test]
fn fuzz_plex_decoders_on_arbitrary_bytes() {
    let bytes = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..400),
        // Bytes that start like a Plex answer get further into the decoder.
        prop::collection::vec(any::<u8>(), 0..200).prop_map(|tail| {
            let mut b = br#"{"MediaContainer":{"size":1,"Metadata":[{"ratingKey":"#.to_vec();
            b.extend(tail);
            b
        }),
    ];
    fuzz("plex decoders / arbitrary bytes", CASES, bytes, |b| {
        decode_everything(&b)
    });
}

#[test]
fn fuzz_plex_decoders_accept_every_valid_shape() {
    let strategy = (
        prop::collection::vec(valid_track(), 0..4),
        prop::option::of(0u64..1_000_000),
        prop::option::of(0u64..1_000_000),
    );
    fuzz(
        "plex decoders / valid pages",
        CASES,
        strategy,
        |(tracks, total, offset)| {
            let text = page_json(&tracks, total, offset).to_string();
            let page: Envelope<ItemContainer<WireTrack>> = serde_json::from_str(&text)
                .map_err(|e| TestCaseError::fail(format!("valid page refused: {e}: {text}")))?;
            let c = page.container;
            prop_assert_eq!(c.size, Some(tracks.len() as u64));
            prop_assert_eq!(c.total_size, total);
            prop_assert_eq!(c.offset, offset);
            prop_assert_eq!(c.metadata.len(), tracks.len());
            for (expected, decoded) in tracks.iter().zip(&c.metadata) {
                expected.check(decoded)?;
            }
            Ok(())
        },
    );
}

#[test]
fn fuzz_plex_decoders_on_damaged_pages() {
    let strategy = (
        prop::collection::vec(valid_track(), 1..4),
        prop::collection::vec(damage(), 1..4),
        prop_oneof![
            3 => Just(None),
            1 => (0.0f64..1.0).prop_map(Some),
        ],
        prop::option::of((0.0f64..1.0, any::<u8>())),
    );
    fuzz(
        "plex decoders / damaged pages",
        CASES,
        strategy,
        |(tracks, damages, cut, flip)| {
            let mut doc = page_json(&tracks, Some(tracks.len() as u64), Some(0));
            for d in &damages {
                apply(&mut doc, d);
            }
            let mut bytes = doc.to_string().into_bytes();
            if let Some(at) = cut {
                bytes.truncate((bytes.len() as f64 * at) as usize);
            }
            if let Some((at, byte)) = flip
                && !bytes.is_empty()
            {
                let i = ((bytes.len() - 1) as f64 * at) as usize;
                bytes[i] = byte;
            }
            decode_everything(&bytes)
        },
    );
}

// ---------------------------------------- 2. emulator answers, read back

/// What a well-formed XML attribute can carry of `text`: the emulator
/// replaces characters XML 1.0 forbids with U+FFFD.
fn xml_visible(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if c < ' ' || c == '\u{fffe}' || c == '\u{ffff}' => '\u{fffd}',
            c => c,
        })
        .collect()
}

/// Parses `text` strictly and returns the attributes of every element
/// named `tag`.
fn xml_elements(text: &str, tag: &str) -> Result<Vec<BTreeMap<String, String>>, String> {
    use quick_xml::events::Event;
    if let Some(bad) = text
        .chars()
        .find(|&c| (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{fffe}')
    {
        return Err(format!("forbidden character {bad:?} in the document"));
    }
    let mut reader = quick_xml::reader::Reader::from_str(text);
    let mut depth = 0i64;
    let mut found = Vec::new();
    loop {
        let event = reader.read_event().map_err(|e| e.to_string())?;
        let start = match &event {
            Event::Start(s) => {
                depth += 1;
                Some(s.clone())
            }
            Event::Empty(s) => Some(s.clone()),
            Event::End(_) => {
                depth -= 1;
                None
            }
            Event::Eof => break,
            _ => None,
        };
        if let Some(start) = start
            && start.name().as_ref() == tag.as_bytes()
        {
            let mut attributes = BTreeMap::new();
            for a in start.attributes() {
                let a = a.map_err(|e| e.to_string())?;
                let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                let value = a.unescape_value().map_err(|e| e.to_string())?.into_owned();
                if attributes.insert(key.clone(), value).is_some() {
                    return Err(format!("attribute {key} twice"));
                }
            }
            found.push(attributes);
        }
    }
    if depth != 0 {
        return Err("unbalanced elements".into());
    }
    Ok(found)
}

#[test]
fn fuzz_emulator_answers_with_hostile_titles_stay_well_formed_and_round_trip() {
    const TOKEN: &str = "fuzz-token";
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let library = Library::generate(200, 5);
    let music: Vec<u64> = music_tracks(&library)
        .map(|t| t.rating_key)
        .take(8)
        .collect();
    let plex = runtime
        .block_on(start_emulator(EmulatorConfig::new(library, TOKEN)))
        .expect("emulator");
    let http = reqwest::Client::new();
    let strategy = (
        prop::sample::select(music),
        hard_string(60),
        prop::option::of(hard_string(30)),
    );
    fuzz(
        "emulator XML/JSON of hostile titles",
        HTTP_CASES,
        strategy,
        |(key, title, artist)| {
            plex.mutate(Mutation::Edit {
                rating_key: key,
                title: Some(title.clone()),
                original_title: artist.clone(),
            })
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let fetch = |json: bool| {
                let request = http
                    .get(format!("{}/library/metadata/{key}", plex.url()))
                    .header("X-Plex-Token", TOKEN)
                    .header(
                        "Accept",
                        if json {
                            "application/json"
                        } else {
                            "application/xml"
                        },
                    );
                runtime.block_on(async move {
                    let r = request.send().await.map_err(|e| e.to_string())?;
                    if r.status() != 200 {
                        return Err(format!("status {}", r.status()));
                    }
                    r.bytes().await.map_err(|e| e.to_string())
                })
            };
            // XML: well-formed, and the title reads back (forbidden
            // characters replaced).
            let xml = fetch(false).map_err(TestCaseError::fail)?;
            let text = std::str::from_utf8(&xml)
                .map_err(|e| TestCaseError::fail(format!("XML is not UTF-8: {e}")))?;
            let tracks = xml_elements(text, "Track")
                .map_err(|e| TestCaseError::fail(format!("ill-formed XML: {e}\n{text}")))?;
            prop_assert_eq!(tracks.len(), 1);
            let track = &tracks[0];
            let key_text = key.to_string();
            prop_assert_eq!(track.get("ratingKey"), Some(&key_text));
            if !title.is_empty() {
                prop_assert_eq!(track.get("title"), Some(&xml_visible(&title)));
            }
            if let Some(artist) = artist.as_ref().filter(|a| !a.is_empty()) {
                prop_assert_eq!(track.get("originalTitle"), Some(&xml_visible(artist)));
            }
            // JSON: our own decoder reads the exact text back.
            let body = fetch(true).map_err(TestCaseError::fail)?;
            let page: Envelope<ItemContainer<WireTrack>> = serde_json::from_slice(&body)
                .map_err(|e| TestCaseError::fail(format!("JSON refused: {e}")))?;
            prop_assert_eq!(page.container.metadata.len(), 1);
            let decoded = &page.container.metadata[0];
            if !title.is_empty() {
                prop_assert_eq!(decoded.title.as_deref(), Some(title.as_str()));
            }
            if let Some(artist) = artist.as_ref().filter(|a| !a.is_empty()) {
                prop_assert_eq!(decoded.original_title.as_deref(), Some(artist.as_str()));
            }
            Ok(())
        },
    );
    runtime.block_on(plex.shutdown());
}

// ------------------------------------------------- 3. filters and sorts

/// The name a filter error uses for a parameter given under `key`.
fn canonical(key: &str) -> Option<&'static str> {
    Some(match key {
        "genres" | "genre" => "genres",
        "decades" | "decade" => "decades",
        "q" | "text" | "search" => "q",
        other => *FilterParams::NAMES.iter().find(|p| **p == other)?,
    })
}

fn filter_key() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(vec![
            "genres", "genre", "decades", "decade", "min_rating", "rated", "exclude_live", "q",
            "text", "search", "artist", "year_from", "year_to", "played", "added_since",
        ])
        .prop_map(str::to_owned),
        1 => hard_string(10),
    ]
}

/// Values near the valid ones, and anything.
fn filter_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "Rock", "rock,JAZZ", " , ,", "1990s", "1990", "2000s,1950s", "1995s", "19x0s",
            "0990s", "2110s", "-1990s", "1990ss", "+1990s", "1e3s", "6.5", "0", "10", "10.0001",
            "-0", "-1", "NaN", "inf", "-inf", "1e309", "1e-320", "0x10", "true", "false", "TRUE",
            "yes", "off", "2", "maybe", "1000", "2100", "999", "2101", "99999999999999999999",
            "-9223372036854775808", "2024-01-31", "2024-02-30", "2024-13-01", "0000-01-01",
            "9999-12-31", "-2024-01-01", "2024-01-31T10:00:00Z", "2024-01-31T10:00:00+25:00",
            "2024-01-31T10:00:00.123456789-05:00", "+002024-01-31", "beyonce halo",
            "\"a\" OR b* NEAR(c)", "'; DROP TABLE tracks; --", "%", "_", "*", "\u{0}",
        ])
        .prop_map(str::to_owned),
        3 => hard_string(24),
        1 => prop::collection::vec(prop::sample::select(vec!["1990s", "x", ",", " "]), 0..300)
            .prop_map(|parts| parts.concat()),
        1 => (0usize..3).prop_map(|n| "x".repeat([499, 501, 1_001][n])),
    ]
}

fn filter_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((filter_key(), filter_value()), 0..6)
}

#[test]
fn fuzz_filter_from_pairs_never_panics_and_names_the_parameter() {
    fuzz("Filter::from_pairs", CASES, filter_pairs(), |pairs| {
        let result = Filter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        match result {
            Ok(filter) => {
                // Relations are checked separately; neither may panic.
                if let Err(e) = filter.validate() {
                    let FilterError::Invalid { param, .. } = &e else {
                        return Err(TestCaseError::fail(format!("validate: {e:?}")));
                    };
                    prop_assert!(e.to_string().contains(param.as_str()));
                    match param.as_str() {
                        "year_from" => prop_assert!(filter.year_from > filter.year_to),
                        "genres" => prop_assert!(filter.genres.len() > 200),
                        "decades" => prop_assert!(filter.decades.len() > 200),
                        other => prop_assert!(false, "validate named {other}"),
                    }
                }
                if let Some(query) = plexcache::store::fts_query(&filter) {
                    prop_assert!(query.starts_with('"') && query.ends_with('*'));
                }
            }
            Err(e) => {
                // The pair at fault is the first one `set` refuses.
                let mut probe = FilterParams::default();
                let mut culprit = None;
                for (k, v) in &pairs {
                    match probe.set(k, v) {
                        Ok(true) => {}
                        _ => {
                            culprit = Some(k.clone());
                            break;
                        }
                    }
                }
                let culprit = culprit.ok_or_else(|| TestCaseError::fail("no pair at fault"))?;
                match &e {
                    FilterError::Unknown(key) => {
                        prop_assert_eq!(key, &culprit);
                        prop_assert!(canonical(key).is_none());
                    }
                    FilterError::Invalid { param, .. } => {
                        prop_assert_eq!(Some(param.as_str()), canonical(&culprit));
                        prop_assert!(e.to_string().contains(param.as_str()));
                    }
                    FilterError::UnknownGenre(_) => prop_assert!(false, "{e:?}"),
                }
            }
        }
        Ok(())
    });
}

#[test]
fn fuzz_sort_and_counts_never_panic() {
    let words = prop_oneof![
        3 => prop::sample::select(vec![
            "title", "artist", "album", "year", "rating", "duration", "added", "plays",
            "last_played", " year ", "YEAR", "asc", "desc", " desc", "DESC", "", "id; DROP",
        ])
        .prop_map(str::to_owned),
        1 => hard_string(12),
    ];
    let strategy = (
        prop::option::of(words.clone()),
        prop::option::of(words),
        filter_value(),
        0u64..=u64::MAX,
    );
    fuzz(
        "Sort::parse and parse_count",
        CASES,
        strategy,
        |(field, order, count, max)| {
            const FIELDS: &[&str] = &[
                "title",
                "artist",
                "album",
                "year",
                "rating",
                "duration",
                "added",
                "plays",
                "last_played",
            ];
            let field_ok = field.as_deref().is_none_or(|f| FIELDS.contains(&f.trim()));
            let order_ok = order
                .as_deref()
                .is_none_or(|o| matches!(o.trim(), "asc" | "desc"));
            match Sort::parse(field.as_deref(), order.as_deref()) {
                Ok(sort) => {
                    prop_assert!(field_ok && order_ok);
                    prop_assert!(
                        plexcache::store::order_by(sort).ends_with("t.id ASC") || sort.descending
                    );
                }
                Err(e) => {
                    let FilterError::Invalid { param, .. } = &e else {
                        return Err(TestCaseError::fail(format!("{e:?}")));
                    };
                    let expected = if field_ok { "order" } else { "sort" };
                    prop_assert_eq!(param.as_str(), expected);
                }
            }
            match parse_count("limit", &count, max) {
                Ok(n) => prop_assert!(n <= max),
                Err(e) => prop_assert!(e.to_string().contains("limit")),
            }
            if let Err(e) = parse_time(&count) {
                prop_assert!(e.to_string().contains("added_since"));
            }
            Ok(())
        },
    );
}

/// A JSON body for `/api/filter/preview`: known keys with any values.
fn filter_body() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        6 => prop::sample::select(vec![
            "genres", "decades", "min_rating", "rated", "exclude_live", "q", "artist",
            "year_from", "year_to", "played", "added_since",
        ])
        .prop_map(str::to_owned),
        1 => hard_string(8),
    ];
    let value = prop_oneof![
        3 => arb_json(),
        2 => filter_value().prop_map(Value::String),
        1 => prop::collection::vec(filter_value(), 0..4)
            .prop_map(|v| Value::Array(v.into_iter().map(Value::String).collect())),
        1 => (-5000i64..5000).prop_map(Value::from),
    ];
    prop::collection::btree_map(key, value, 0..5)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

#[test]
fn fuzz_filter_body_never_panics_and_names_the_field() {
    let strategy = prop_oneof![
        4 => filter_body().prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..200),
    ];
    fuzz("FilterBody JSON", CASES, strategy, |bytes| {
        let Ok(body) = serde_json::from_slice::<FilterBody>(&bytes) else {
            return Ok(());
        };
        let given: Vec<&str> = serde_json::from_slice::<serde_json::Map<String, Value>>(&bytes)
            .map(|m| {
                m.into_iter()
                    .filter(|(_, v)| !v.is_null())
                    .filter_map(|(k, _)| canonical(&k))
                    .collect()
            })
            .unwrap_or_default();
        match Filter::try_from(body) {
            Ok(filter) => prop_assert!(filter.validate().is_ok()),
            Err(FilterError::Invalid { param, message }) => {
                prop_assert!(
                    given.contains(&param.as_str()),
                    "error names {param} ({message}) but the body has {given:?}"
                );
            }
            Err(e) => prop_assert!(false, "{e:?}"),
        }
        Ok(())
    });
}

/// A small real cache, synced from the emulator, to run filters against.
fn synced_store() -> (Cache, Store, Vec<String>, Vec<String>) {
    const TOKEN: &str = "fuzz-store-token";
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let cache = runtime.block_on(async {
        let plex = spawn_plex(600, 21, TOKEN).await.expect("emulator");
        let cache = Cache::synced(&plex, TOKEN).await;
        plex.shutdown().await;
        cache
    });
    let store = cache.store().clone();
    let stats = store.stats().expect("stats");
    let genres = stats.genres.iter().map(|g| g.name.clone()).collect();
    let everything = Filter {
        exclude_live: false,
        ..Filter::default()
    };
    let words = store
        .tracks(&everything, Sort::default(), 0, 40)
        .expect("tracks")
        .tracks
        .into_iter()
        .flat_map(|t| [t.title, t.artist, t.album])
        .collect();
    (cache, store, genres, words)
}

#[test]
fn fuzz_filters_compile_to_sql_that_always_runs() {
    let (_dir, store, genres, words) = synced_store();
    let text = prop_oneof![
        2 => hard_string(30),
        2 => prop::sample::select(words.clone()),
        1 => (prop::sample::select(words), 0usize..8)
            .prop_map(|(w, cut)| w.chars().take(cut).collect()),
        1 => prop::sample::select(vec![
            "\"", "\"\"*", "*", "^", "-", "NOT", "AND OR", "a:b", "ª", "²", "\u{301}", "ﬁ",
            "İ", "ß", "NEAR(a b)", "col:x", "{title}: x", "x\u{0}y", "a\u{a8b4}a", "a\u{24b6}a",
            "a\u{301}a",
        ])
        .prop_map(str::to_owned),
    ];
    let genre = prop_oneof![
        3 => prop::sample::select(genres),
        1 => hard_string(10),
    ];
    let pairs = prop::collection::vec(
        prop_oneof![
            2 => genre.prop_map(|g| ("genres".to_owned(), g.replace(',', " "))),
            2 => text.prop_map(|q| ("q".to_owned(), q)),
            2 => (filter_key(), filter_value()),
            1 => text_artist(),
        ],
        0..5,
    );
    let sort = prop::sample::select(SortField::names().to_vec());
    let strategy = (
        pairs,
        sort,
        any::<bool>(),
        prop_oneof![Just(0u64), 0u64..700, Just(u64::MAX)],
        0u64..=MAX_LIMIT,
        1u64..200,
    );
    fuzz(
        "filters against a real cache",
        CASES,
        strategy,
        |(pairs, sort, descending, offset, limit, n)| {
            let Ok(filter) =
                Filter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            else {
                return Ok(());
            };
            if filter.validate().is_err() {
                return Ok(());
            }
            let order = if descending { "desc" } else { "asc" };
            let sort = Sort::parse(Some(sort), Some(order))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let acceptable =
                |e: &StoreError| matches!(e, StoreError::Filter(FilterError::UnknownGenre(_)));
            let count = match store.count(&filter) {
                Ok(n) => n,
                Err(e) if acceptable(&e) => return Ok(()),
                Err(e) => return Err(TestCaseError::fail(format!("count: {e:?}"))),
            };
            let page = store
                .tracks(&filter, sort, offset, limit)
                .map_err(|e| TestCaseError::fail(format!("tracks: {e:?}")))?;
            prop_assert_eq!(page.total, count);
            prop_assert!(page.tracks.len() as u64 <= limit);
            prop_assert_eq!(
                page.tracks.len() as u64,
                count.saturating_sub(offset).min(limit)
            );
            let (total, sample) = store
                .sample(&filter, n)
                .map_err(|e| TestCaseError::fail(format!("sample: {e:?}")))?;
            prop_assert_eq!(total, count);
            prop_assert_eq!(sample.len() as u64, count.min(n));
            Ok(())
        },
    );
}

/// A search made only of characters that are neither letters nor digits
/// finds exactly the tracks whose title, artist or album contains each of
/// its words as written (case aside), whatever the characters (LIKE's own
/// `%`, `_` and `\\` included).
#[test]
fn fuzz_search_without_letters_matches_literally() {
    let (_dir, store, _, _) = synced_store();
    let all = store
        .tracks(&Filter::default(), Sort::default(), 0, MAX_LIMIT)
        .expect("tracks")
        .tracks;
    let symbols: Vec<char> = "!&%_\\'\".-*()+=@#$^~`|/?:;,.<>[]{}★—…\u{301}"
        .chars()
        .collect();
    let word = prop::collection::vec(prop::sample::select(symbols), 1..4)
        .prop_map(|cs| cs.into_iter().collect::<String>());
    let strategy = prop::collection::vec(word, 1..3).prop_map(|w| w.join(" "));
    fuzz("literal search", CASES, strategy, |q| {
        let filter = Filter::from_pairs([("q", q.as_str())])
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let want = all
            .iter()
            .filter(|t| {
                q.split_whitespace().all(|w| {
                    [&t.title, &t.artist, &t.album]
                        .iter()
                        .any(|f| f.to_lowercase().contains(&w.to_lowercase()))
                })
            })
            .count();
        let count = store
            .count(&filter)
            .map_err(|e| TestCaseError::fail(format!("count: {e:?}")))?;
        prop_assert_eq!(count as usize, want, "q={:?}", q);
        Ok(())
    });
}

fn text_artist() -> impl Strategy<Value = (String, String)> {
    hard_string(20).prop_map(|a| ("artist".to_owned(), a))
}

// ------------------------------------------------------- 4. config file

/// How a token may end up in a config file, well or badly written.
fn token_line(token: &str, form: usize) -> String {
    match form {
        0 => format!("plex_token = \"{token}\""),
        1 => format!("plex_token = '{token}'"),
        2 => format!("plex_token = {token}"),
        3 => format!("plex_token = \"{token}"),
        4 => format!("plex_token = \"\"\"{token}\"\"\""),
        5 => format!("plex_token = [\"{token}\"]"),
        6 => format!("plex_token = {{ value = \"{token}\" }}"),
        7 => format!("plex_token.value = \"{token}\""),
        8 => token.to_owned(),
        9 => format!("\"{token}\""),
        10 => format!("PLEX_TOKEN={token}"),
        11 => format!("plex_token: \"{token}\""),
        12 => format!("plex_token \"{token}\""),
        13 => format!("plex_token = \"{token}\" # my token"),
        14 => format!("plex_token = \"{token}\"\nplex_token = \"{token}\""),
        15 => format!("[plex_token]\nvalue = \"{token}\""),
        16 => format!("plex_token = \"{token}\\q\""),
        _ => format!("plex_token = '''{token}"),
    }
}

fn config_line() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "plex_url = \"http://192.168.1.10:32400\"",
            "plex_url = 5",
            "sections = [\"1\", \"3\"]",
            "sections = \"1\"",
            "refresh_age_hours = 6.5",
            "refresh_age_hours = \"x\"",
            "accept_invalid_certs = true",
            "accept_invalid_certs = \"yes\"",
            "bogus = 1",
            "[table]",
            "= 5",
            "\"",
            "",
            "# comment",
        ])
        .prop_map(str::to_owned),
        hard_string(30),
    ]
}

#[test]
fn fuzz_config_never_panics_and_never_echoes_the_token() {
    let strategy = (
        "[A-Za-z0-9_-]{20,24}",
        0usize..18,
        prop::collection::vec(config_line(), 0..4),
        0usize..5,
        prop::option::of((0.0f64..1.0, hard_string(3))),
    );
    fuzz(
        "config::parse_file_settings",
        CASES,
        strategy,
        |(token, form, mut lines, position, damage)| {
            let position = position.min(lines.len());
            lines.insert(position, token_line(&token, form));
            let mut text = lines.join("\n");
            if let Some((at, insert)) = damage {
                let mut i = (text.len() as f64 * at) as usize;
                while !text.is_char_boundary(i) {
                    i -= 1;
                }
                text.insert_str(i, &insert);
            }
            match parse_file_settings(&text) {
                Ok(settings) => {
                    let shown = format!("{settings:?}");
                    prop_assert!(!shown.contains(&token));
                }
                Err(message) => {
                    prop_assert!(
                        !message.contains(&token),
                        "the error echoes the token: {message}"
                    );
                }
            }
            Ok(())
        },
    );
    fuzz(
        "config::parse_file_settings / arbitrary text",
        CASES,
        hard_string(200),
        |text| {
            let _ = parse_file_settings(&text);
            let _ = validate_plex_url(&text);
            Ok(())
        },
    );
}

// ------------------------------------------ regression tests (findings)

#[test]
fn regression_too_many_decades_names_decades_not_genres() {
    let decades = vec!["1990s"; 201].join(",");
    let filter = Filter::from_pairs([("decades", decades.as_str())]).expect("parses");
    let err = filter.validate().expect_err("too many");
    assert!(
        matches!(&err, FilterError::Invalid { param, .. } if param == "decades"),
        "{err:?}"
    );
}

/// Found by the fuzzer: `aꢴa` is one word to Rust's `is_alphanumeric` (the
/// spacing mark counts as alphabetic) but two to the full-text index, so
/// the search became an FTS5 phrase, which the index cannot answer.
#[test]
fn regression_a_spacing_mark_inside_a_word_splits_it_as_the_index_does() {
    let (_dir, store, _, _) = synced_store();
    for q in [
        "a\u{a8b4}a",
        "a\u{24b6}b",
        "\u{130}stanbul",
        "e\u{301}a",
        "x\u{2160}y",
    ] {
        let filter = Filter::from_pairs([("q", q)]).expect("parses");
        let count = store.count(&filter);
        assert!(count.is_ok(), "q={q:?}: {count:?}");
        let page = store.tracks(&filter, Sort::default(), 0, 10);
        assert!(page.is_ok(), "q={q:?}: {page:?}");
    }
}
