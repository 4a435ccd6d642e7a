//! What the soak does to the emulated Plex between and during syncs: one
//! fault scenario per sync (every page fault kind, latency, shifting pages,
//! brief 401s, going offline, capped pages, missing totals) and library
//! mutations (adds, removes, edits with hostile text, ratings, plays).

use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

use plexcache_emulator::{Faults, Mutation, PageFaultKind, Shift};
use plexcache_harness::PAGE_FAULT_KINDS;

/// How a sync under a scenario must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Success,
    Failure,
    /// Depends on timing (the fault is lifted while the sync runs).
    Either,
}

/// One sync's worth of trouble.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Short name for the report, e.g. `page_fault:hang:x1`.
    pub name: String,
    pub faults: Faults,
    pub expect: Expect,
    /// Lift the faults this many milliseconds after the sync starts.
    pub lift_after_ms: Option<u64>,
    /// The emulator goes offline: bring it back after the sync.
    pub goes_offline: bool,
    /// Expected error kind when the sync must fail.
    pub error_kind: Option<&'static str>,
}

impl Scenario {
    fn new(name: String, faults: Faults, expect: Expect) -> Scenario {
        Scenario {
            name,
            faults,
            expect,
            lift_after_ms: None,
            goes_offline: false,
            error_kind: None,
        }
    }
}

/// A page fault of `kind` that fires `times` times (0 = every page from
/// `after` on).
fn page_fault(kind: PageFaultKind, after: u32, times: u32) -> Scenario {
    let label = serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{kind:?}"));
    let name = if times == 0 {
        format!("page_fault:{label}:always")
    } else {
        format!("page_fault:{label}:x{times}")
    };
    // With two retries, a fault that fires at most twice is always
    // overcome; one that fires on every page from the first is not.
    let expect = match times {
        1 | 2 => Expect::Success,
        0 if after == 0 => Expect::Failure,
        _ => Expect::Either,
    };
    Scenario::new(
        name,
        plexcache_harness::page_fault(kind, after, times),
        expect,
    )
}

/// The scenarios every soak runs first, so each kind is seen at least once
/// even in a short run; then `pick` draws at random.
pub fn opening(rng: &mut ChaCha8Rng) -> Vec<Scenario> {
    let mut list: Vec<Scenario> = PAGE_FAULT_KINDS
        .iter()
        .map(|&kind| page_fault(kind, rng.random_range(0..4), 1))
        .collect();
    list.push(unauthorized(rng));
    list.push(offline(rng));
    list.push(page_fault(PageFaultKind::Error500, 0, 0));
    list
}

fn unauthorized(rng: &mut ChaCha8Rng) -> Scenario {
    let mut s = Scenario::new(
        "unauthorized".into(),
        Faults {
            unauthorized_after: Some(rng.random_range(0..12)),
            ..Faults::default()
        },
        Expect::Failure,
    );
    // Briefly: the 401s stop when that sync has ended (it aborts at the
    // first one), so the periodic probe sees them only meanwhile.
    s.error_kind = Some("token_rejected");
    s
}

fn offline(rng: &mut ChaCha8Rng) -> Scenario {
    let mut s = Scenario::new(
        "offline".into(),
        Faults {
            offline_after_items: Some(rng.random_range(50..2_000)),
            ..Faults::default()
        },
        Expect::Failure,
    );
    s.goes_offline = true;
    s
}

/// A random scenario.
pub fn pick(rng: &mut ChaCha8Rng, tracks: usize) -> Scenario {
    let kind = *PAGE_FAULT_KINDS
        .choose(rng)
        .unwrap_or(&PageFaultKind::Error500);
    match rng.random_range(0..12) {
        0..=3 => {
            let times = *[0u32, 1, 1, 2].choose(rng).unwrap_or(&1);
            // A page that hangs on every attempt costs three timeouts.
            let times = if kind == PageFaultKind::Hang && times == 0 {
                1
            } else {
                times
            };
            page_fault(kind, rng.random_range(0..6), times)
        }
        4 => Scenario::new(
            "latency".into(),
            Faults {
                latency_ms: rng.random_range(2..30),
                ..Faults::default()
            },
            Expect::Success,
        ),
        5 => Scenario::new(
            "item_latency".into(),
            Faults {
                item_latency_us: rng.random_range(5..40),
                ..Faults::default()
            },
            Expect::Success,
        ),
        6 => {
            let mut s = Scenario::new(
                "shift".into(),
                Faults {
                    shift_per_page: Some(Shift {
                        add: rng.random_range(0..4),
                        remove: rng.random_range(0..4),
                    }),
                    ..Faults::default()
                },
                Expect::Either,
            );
            // Libraries calm down; one that never does fails as unstable.
            s.lift_after_ms = Some(rng.random_range(100..1_500));
            s
        }
        7 => unauthorized(rng),
        8 => {
            let mut s = offline(rng);
            if let Some(items) = s.faults.offline_after_items.as_mut() {
                *items = rng.random_range(50..(tracks as u64 / 2).max(100));
            }
            s
        }
        9 => Scenario::new(
            "page_size_cap".into(),
            Faults {
                page_size_cap: Some(rng.random_range(50..900)),
                ..Faults::default()
            },
            Expect::Success,
        ),
        10 => Scenario::new(
            "omit_total_size".into(),
            Faults {
                omit_total_size: true,
                ..Faults::default()
            },
            Expect::Success,
        ),
        _ => {
            // Several at once: slow, capped, and a page failing once.
            let mut s = page_fault(kind, rng.random_range(0..6), 1);
            s.name = format!("combined:{}", s.name);
            s.faults.latency_ms = rng.random_range(1..10);
            s.faults.page_size_cap = Some(rng.random_range(200..900));
            if kind == PageFaultKind::Hang {
                s.expect = Expect::Either;
            }
            s
        }
    }
}

/// Text that is hard to carry: control characters, markup, other scripts,
/// blanks, very long.
fn hostile_text(rng: &mut ChaCha8Rng) -> String {
    const PIECES: &[&str] = &[
        "Song",
        " (Live)",
        "Beyoncé",
        "Sigur Rós",
        "日本語",
        "😀",
        "עברית",
        "العربية",
        "\u{1}",
        "\u{7}",
        "\t",
        "\n",
        "\r",
        "\u{fffe}",
        "<b>",
        "&amp;",
        "\"quoted\"",
        "'; DROP TABLE tracks; --",
        "%s%n",
        "\\",
        "   ",
        "",
        "NEAR(a b)",
        "\"a\"*",
    ];
    let parts = rng.random_range(0..5);
    let mut text: String = (0..parts)
        .map(|_| *PIECES.choose(rng).unwrap_or(&"Song"))
        .collect();
    if rng.random_ratio(1, 20) {
        text.push_str(&"x".repeat(2_000));
    }
    text
}

/// A random change to the library, given the rating keys of its tracks.
pub fn mutation(rng: &mut ChaCha8Rng, keys: &[u64]) -> Option<(Mutation, &'static str)> {
    let key = *keys.choose(rng)?;
    Some(match rng.random_range(0..10) {
        0..=2 => (
            Mutation::Add {
                count: rng.random_range(1..40),
            },
            "add",
        ),
        3..=4 => {
            let count = rng.random_range(1..30).min(keys.len());
            let rating_keys = keys.choose_multiple(rng, count).copied().collect();
            (Mutation::Remove { rating_keys }, "remove")
        }
        5..=7 => (
            Mutation::Edit {
                rating_key: key,
                title: Some(hostile_text(rng)),
                original_title: rng.random_bool(0.5).then(|| hostile_text(rng)),
            },
            "edit",
        ),
        8 => (
            Mutation::Rate {
                rating_key: key,
                rating: rng
                    .random_bool(0.8)
                    .then(|| f64::from(rng.random_range(0..=20u8)) / 2.0),
            },
            "rate",
        ),
        _ => (Mutation::Play { rating_key: key }, "play"),
    })
}
