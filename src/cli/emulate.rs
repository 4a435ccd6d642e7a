//! `plexcache emulate`: the Plex server emulator as a command. Generates
//! (or loads) a library, serves it until Ctrl-C or SIGTERM, with faults set
//! from flags (and changeable later through `/_emulator/faults`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;

use plexcache_emulator::{
    self as emulator, self, DEFAULT_MAX_URL_LEN, EmulatorConfig, Faults, Library, PageFault,
    PageFaultKind, Shift,
};

#[derive(Debug, clap::Args)]
pub struct EmulateArgs {
    /// Tracks in the generated library.
    #[arg(long, default_value_t = 20_000)]
    tracks: usize,
    /// Seed of the generated library (same seed, same library).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Serve this library JSON file instead of generating one.
    #[arg(long, value_name = "FILE")]
    library: Option<PathBuf>,
    /// Write the library as JSON to this file and exit.
    #[arg(long, value_name = "FILE")]
    dump_library: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:32400")]
    listen: SocketAddr,
    /// Token clients must send.
    #[arg(
        long,
        env = "PLEX_TOKEN",
        hide_env_values = true,
        default_value = "plexcache-demo-token"
    )]
    token: String,
    /// Machine identifier the server reports.
    #[arg(long)]
    machine_id: Option<String>,
    /// Friendly name the server reports.
    #[arg(long)]
    name: Option<String>,
    /// URIs (path and query) longer than this get 414.
    #[arg(long, default_value_t = DEFAULT_MAX_URL_LEN)]
    max_url_len: usize,
    /// Milliseconds between pings on notification streams.
    #[arg(long, default_value_t = 10_000)]
    ping_interval_ms: u64,
    /// Milliseconds a restart (`POST /_emulator/restart`) keeps the port closed.
    #[arg(long, default_value_t = 1_000)]
    restart_pause_ms: u64,
    #[command(flatten)]
    faults: FaultArgs,
}

/// Faults in force from the start.
#[derive(Debug, clap::Args)]
struct FaultArgs {
    /// Delay before every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Extra delay per item in an answer, in microseconds.
    #[arg(long, default_value_t = 0)]
    item_latency_us: u64,
    /// Fail track pages: error500, hang, drop, malformed, truncated, wrong_types.
    #[arg(long, value_name = "KIND")]
    page_fault: Option<PageFaultKind>,
    /// Track pages that succeed before the page fault starts.
    #[arg(long, default_value_t = 0)]
    page_fault_after: u32,
    /// Track pages that fail (0 = all after the first ones).
    #[arg(long, default_value_t = 0)]
    page_fault_times: u32,
    /// Answer 401 to everything after this many authenticated requests.
    #[arg(long)]
    unauthorized_after: Option<u64>,
    /// Go offline after serving this many items.
    #[arg(long)]
    offline_after_items: Option<u64>,
    /// Tracks added after every track page.
    #[arg(long, default_value_t = 0)]
    shift_add: u32,
    /// Tracks removed (from the lowest offsets) after every track page.
    #[arg(long, default_value_t = 0)]
    shift_remove: u32,
    /// Never return more items than this per page.
    #[arg(long)]
    page_size_cap: Option<u32>,
    /// Leave totalSize out of paged answers.
    #[arg(long)]
    omit_total_size: bool,
    /// Answer 500 to listings sorted by this field (repeatable: ratingKey, id, addedAt, ...).
    #[arg(long = "refuse-sort")]
    refuse_sorts: Vec<String>,
    /// List the first N tracks of every track listing twice.
    #[arg(long, default_value_t = 0)]
    duplicate_tracks: u32,
    /// Ignore delta filters (`updatedAt>=...`): listings hold the whole section.
    #[arg(long)]
    ignore_delta_filters: bool,
    /// Close every notification stream after this many frames.
    #[arg(long)]
    notifications_drop_after: Option<u32>,
}

impl FaultArgs {
    fn faults(&self) -> Faults {
        let shifting = self.shift_add > 0 || self.shift_remove > 0;
        Faults {
            latency_ms: self.latency_ms,
            item_latency_us: self.item_latency_us,
            page_fault: self.page_fault.map(|kind| PageFault {
                kind,
                after: self.page_fault_after,
                times: self.page_fault_times,
            }),
            unauthorized_after: self.unauthorized_after,
            offline_after_items: self.offline_after_items,
            shift_per_page: shifting.then_some(Shift {
                add: self.shift_add,
                remove: self.shift_remove,
            }),
            page_size_cap: self.page_size_cap,
            omit_total_size: self.omit_total_size,
            refuse_sorts: self.refuse_sorts.clone(),
            duplicate_tracks: self.duplicate_tracks,
            ignore_delta_filters: self.ignore_delta_filters,
            notifications_drop_after: self.notifications_drop_after,
        }
    }
}

impl EmulateArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let library = self.library()?;
        if let Some(path) = &self.dump_library {
            write_library(&library, path)?;
            println!(
                "wrote {} tracks to {}",
                library.tracks.len(),
                path.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        let track_count = library.tracks.len();
        let listener = tokio::net::TcpListener::bind(self.listen)
            .await
            .with_context(|| format!("cannot listen on {}", self.listen))?;
        let handle = emulator::start(listener, self.config(library))
            .await
            .context("cannot start the emulator")?;
        println!(
            "emulator listening on {} ({track_count} tracks)",
            handle.url()
        );
        wait_for_stop_signal().await?;
        handle.shutdown().await;
        Ok(ExitCode::SUCCESS)
    }

    fn library(&self) -> anyhow::Result<Library> {
        let started = Instant::now();
        let library = match &self.library {
            Some(path) => Library::load_json(path)?,
            None => Library::generate(self.tracks, self.seed),
        };
        tracing::info!(tracks = library.tracks.len(), elapsed = ?started.elapsed(), "library ready");
        Ok(library)
    }

    fn config(&self, library: Library) -> EmulatorConfig {
        let mut config = EmulatorConfig::new(library, self.token.clone());
        if let Some(id) = &self.machine_id {
            config.machine_identifier = id.clone();
        }
        if let Some(name) = &self.name {
            config.friendly_name = name.clone();
        }
        config.faults = self.faults.faults();
        config.max_url_len = self.max_url_len;
        config.ping_interval = Duration::from_millis(self.ping_interval_ms.max(1));
        config.noise_interval = Some(config.ping_interval);
        config.restart_pause = Duration::from_millis(self.restart_pause_ms);
        config
    }
}

fn write_library(library: &Library, path: &Path) -> anyhow::Result<()> {
    std::fs::write(path, library.to_json())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Returns on Ctrl-C or (on Unix) SIGTERM.
async fn wait_for_stop_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).context("cannot watch for SIGTERM")?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.context("cannot watch for Ctrl-C")?,
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("cannot watch for Ctrl-C")?;
    Ok(())
}
