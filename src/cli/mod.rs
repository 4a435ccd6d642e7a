//! Command line: one file per subcommand, each a clap type with a `run`
//! method. Owns argument parsing, logging set-up and exit codes.

mod backup;
mod common;
mod completions;
mod demo;
mod emulate;
mod health;
mod serve;
mod status;
mod sync;
mod tracks;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use common::CommonArgs;

/// `0.1.0 (commit 1a2b3c4d5e6f)`: the release and the commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("PLEXCACHE_COMMIT"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "plexcache",
    version = VERSION,
    about = "A fast local cache of a Plex music library"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP API and web page (syncs in the background when stale).
    Serve(serve::ServeArgs),
    /// Sync the library from Plex into the cache now.
    Sync(sync::SyncArgs),
    /// Show the cache's state: track count, last sync, server, history.
    Status(status::StatusArgs),
    /// Query cached tracks with filters (no Plex needed).
    Tracks(tracks::TracksArgs),
    /// Run the Plex server emulator.
    Emulate(emulate::EmulateArgs),
    /// Run the emulator and the server together on a generated library.
    Demo(demo::DemoArgs),
    /// Copy the cache to FILE consistently, even while serve or a sync runs.
    Backup(backup::BackupArgs),
    /// Ask a running server's /api/health; exit 0 when healthy (for container health checks).
    Health(health::HealthArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print the manual page (roff), e.g. `plexcache man | man -l -`.
    Man(completions::ManArgs),
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    run(async move {
        match cli.command {
            Command::Serve(args) => args.run().await,
            Command::Sync(args) => args.run().await,
            Command::Status(args) => args.run().await,
            Command::Tracks(args) => args.run().await,
            Command::Emulate(args) => args.run().await,
            Command::Demo(args) => args.run().await,
            Command::Backup(args) => args.run().await,
            Command::Health(args) => args.run().await,
            Command::Completions(args) => args.run().await,
            Command::Man(args) => args.run().await,
        }
    })
}

/// Sets up logging, runs `command` on a multi-threaded runtime and turns
/// its outcome into an exit code, printing an error with its causes. Shared
/// by every binary of the workspace.
pub fn run(command: impl Future<Output = anyhow::Result<ExitCode>>) -> ExitCode {
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", error_chain(&error));
            ExitCode::FAILURE
        }
    }
}

/// "outer: cause: root cause", so the user sees why, not just what.
pub fn error_chain(error: &anyhow::Error) -> String {
    crate::errors::error_message(error.as_ref())
}

/// Logs go to standard error: coloured text on a terminal, plain text
/// elsewhere, or one JSON object per line with `PLEXCACHE_LOG_FORMAT=json`
/// (for log collectors). `RUST_LOG` picks the levels (default `info`).
pub fn init_logging() {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json_logs() {
        let _ = builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init();
        return;
    }
    if let Ok(format) = std::env::var(LOG_FORMAT_ENV)
        && !matches!(format.trim().to_ascii_lowercase().as_str(), "" | "text")
    {
        eprintln!("warning: {LOG_FORMAT_ENV}={format:?} is not json or text; logging text");
    }
    let _ = builder
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// `json` for one JSON object per log line, `text` (the default) otherwise.
pub const LOG_FORMAT_ENV: &str = "PLEXCACHE_LOG_FORMAT";

/// Whether logs are JSON: then nothing else may write to standard error.
pub fn json_logs() -> bool {
    std::env::var(LOG_FORMAT_ENV).is_ok_and(|f| f.trim().eq_ignore_ascii_case("json"))
}
