//! The `plexcache-tools` command line: `bench` and `soak`, one file each.

mod bench;
mod soak;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "plexcache-tools",
    version,
    about = "plexcache's benchmark and soak"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Measure sync and query speed against the performance budgets.
    Bench(bench::BenchArgs),
    /// Run the server under faults and load for a while and check it held up.
    Soak(soak::SoakArgs),
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    plexcache::cli::run(async move {
        match cli.command {
            Command::Bench(args) => args.run().await,
            Command::Soak(args) => args.run().await,
        }
    })
}

/// The `plexcache` binary the tools start as children.
pub use plexcache_harness::process::plexcache_binary;
