//! The Plex emulator on a loopback port the system picks, and the fault
//! kinds it can inject.

use std::time::{Duration, Instant};

use anyhow::Context;
use plexcache_emulator::{
    self as emulator, EmulatorConfig, EmulatorHandle, Faults, Library, PageFault, PageFaultKind,
};

/// The token the emulator of a test expects unless the test names its own.
pub const TOKEN: &str = "test-token-5f1c9a";

/// Starts the emulator described by `config` on `127.0.0.1:0`.
pub async fn start_emulator(config: EmulatorConfig) -> anyhow::Result<EmulatorHandle> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen on a loopback port for the emulator")?;
    emulator::start(listener, config)
        .await
        .context("cannot start the emulator")
}

/// An emulated library of `tracks` (generated from `seed`) expecting
/// `token`, without faults.
pub async fn spawn_plex(tracks: usize, seed: u64, token: &str) -> anyhow::Result<EmulatorHandle> {
    start_emulator(EmulatorConfig::new(Library::generate(tracks, seed), token)).await
}

/// Every way the emulator can spoil a page of a listing.
pub const PAGE_FAULT_KINDS: [PageFaultKind; 6] = [
    PageFaultKind::Error500,
    PageFaultKind::Hang,
    PageFaultKind::Drop,
    PageFaultKind::Malformed,
    PageFaultKind::Truncated,
    PageFaultKind::WrongTypes,
];

/// Faults that spoil pages with `kind`: `times` pages (0 = every page)
/// from the page after `after` on.
pub fn page_fault(kind: PageFaultKind, after: u32, times: u32) -> Faults {
    Faults {
        page_fault: Some(PageFault { kind, after, times }),
        ..Faults::default()
    }
}

/// Waits until `plex` has served more than `items` listed items beyond
/// `from` (a reading of `plex.stats().items_served`), polling every 10 ms
/// for at most `within`: a sync is then well under way. True when it got
/// there in time.
pub async fn wait_until_served(
    plex: &EmulatorHandle,
    from: u64,
    items: u64,
    within: Duration,
) -> bool {
    let until = Instant::now() + within;
    while Instant::now() < until {
        if plex.stats().items_served > from + items {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// Faults of a server that ignores delta filters (`updatedAt>=…`) and
/// answers the whole section.
pub fn ignoring_delta_filters() -> Faults {
    Faults {
        ignore_delta_filters: true,
        ..Faults::default()
    }
}

/// Faults that close every notification stream after `frames` frames.
pub fn notifications_dropping_after(frames: u32) -> Faults {
    Faults {
        notifications_drop_after: Some(frames),
        ..Faults::default()
    }
}

/// Waits until `plex` has exactly `clients` notification streams open,
/// polling every 10 ms for at most `within`. True when it got there.
pub async fn wait_for_notification_clients(
    plex: &EmulatorHandle,
    clients: usize,
    within: Duration,
) -> bool {
    let until = Instant::now() + within;
    loop {
        if plex.notification_clients() == clients {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// An emulator of `tracks` tracks (from `seed`) expecting `token`, whose
/// notification streams ping every `ping` and send no background noise
/// (so that a test sees the frames of its own changes, and their noise).
pub async fn spawn_plex_pinging(
    tracks: usize,
    seed: u64,
    token: &str,
    ping: Duration,
) -> anyhow::Result<EmulatorHandle> {
    let mut config = EmulatorConfig::new(Library::generate(tracks, seed), token);
    config.ping_interval = ping;
    config.noise_interval = None;
    start_emulator(config).await
}
