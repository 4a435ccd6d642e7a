//! plexcache's test harness, shared by the product's tests, the bench and
//! the soak, so each set-up is written once:
//!
//! - [`plex`]: the emulator on a loopback port the system picks, and the
//!   fault kinds it injects;
//! - [`process`]: the `plexcache` binary with a scrubbed environment, runs
//!   measured from outside, readings of a process from `/proc`;
//! - [`serve`]: `plexcache serve` as a child that announces its address;
//! - [`app`]: the API served in this process;
//! - [`client`]: a client of our own HTTP API with `wait_idle()`;
//! - [`cache`]: a cache opened and synced in this process;
//! - [`library`]: what the cache must hold for an emulated library.
//!
//! Not part of plexcache: nothing here ships in the product binary.

pub mod app;
pub mod cache;
pub mod client;
pub mod library;
pub mod plex;
pub mod process;
pub mod serve;

pub use app::{InProcess, TestApp};
pub use cache::{Cache, assert_cache_matches, default_settings, test_settings};
pub use client::{ApiClient, raw_get};
pub use library::{Expected, as_expected, expected_library, music_titles, music_tracks};
pub use plex::{
    PAGE_FAULT_KINDS, TOKEN, page_fault, spawn_plex, start_emulator, wait_until_served,
};
pub use serve::ServeChild;
