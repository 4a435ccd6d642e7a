//! A Plex Media Server stand-in for demos, tests and benchmarks. It owns
//! a generated (or loaded) music library and serves it over HTTP the way a
//! real server does, in JSON and XML, with injectable faults and a control
//! endpoint. Design and choices: `docs/emulator.md`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use plexcache_emulator::{EmulatorConfig, Library, start};
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let emulator = start(listener, EmulatorConfig::new(Library::generate(1_000, 7), "token")).await?;
//! println!("{}", emulator.url());
//! emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod catalog;
mod effect;
mod faults;
mod generate;
mod model;
mod mutation;
mod order;
mod render;
mod server;

use std::path::PathBuf;
use std::time::Duration;

pub use faults::{Faults, PageFault, PageFaultKind, Shift};
pub use model::{Album, Artist, Library, Playlist, Section, SectionKind, Track};
pub use mutation::Mutation;
pub use server::{EmulatorHandle, Stats, start};

/// URIs longer than this (path and query) get 414 by default.
pub const DEFAULT_MAX_URL_LEN: usize = 4096;

/// Everything a running emulator is started with.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    pub library: Library,
    pub token: String,
    pub machine_identifier: String,
    pub friendly_name: String,
    pub version: String,
    pub faults: Faults,
    /// Longest accepted path and query, in bytes; longer gets 414.
    pub max_url_len: usize,
    /// How often notification streams send a ping (10 s, as Plex).
    pub ping_interval: Duration,
    /// How often background noise goes out on the notification stream
    /// (`None`: only the noise mixed into changes).
    pub noise_interval: Option<Duration>,
    /// How long a restart refuses connections.
    pub restart_pause: Duration,
}

/// Plex's ping period on notification streams.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(10);
/// How long `restart()` keeps the port closed unless told otherwise.
pub const DEFAULT_RESTART_PAUSE: Duration = Duration::from_secs(1);

impl EmulatorConfig {
    /// A configuration with no faults and a fixed server identity.
    pub fn new(library: Library, token: impl Into<String>) -> Self {
        EmulatorConfig {
            library,
            token: token.into(),
            machine_identifier: String::from("5f2c6a9d81e04b7ab3c1d0e9f8a7b6c5d4e3f201"),
            friendly_name: String::from("plexcache emulator"),
            version: String::from("1.41.3.9314-a0bfb8370"),
            faults: Faults::default(),
            max_url_len: DEFAULT_MAX_URL_LEN,
            ping_interval: DEFAULT_PING_INTERVAL,
            noise_interval: Some(DEFAULT_PING_INTERVAL),
            restart_pause: DEFAULT_RESTART_PAUSE,
        }
    }
}

/// Failures of loading a library or changing it.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot read the library file {path}")]
    ReadLibrary {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the library file {path} is not a library")]
    ParseLibrary {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid library: {0}")]
    InvalidLibrary(String),
    #[error("no track has rating key {0}")]
    UnknownTrack(u64),
    #[error("rating {0} is outside 0 to 10")]
    InvalidRating(f64),
    #[error("the library has no music section")]
    NoMusicSection,
    #[error("no section has key {0:?}")]
    UnknownSection(String),
    #[error("no album has rating key {0}")]
    UnknownAlbum(u64),
    #[error("no artist has rating key {0}")]
    UnknownArtist(u64),
    #[error("invalid change: {0}")]
    InvalidChange(String),
}
