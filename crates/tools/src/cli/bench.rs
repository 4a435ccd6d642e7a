//! `plexcache-tools bench`: measures sync, queries, start-up and load against the
//! performance budgets and writes `report.json` and `report.md`; or, with
//! `--compare`, sets two reports side by side. The work is in
//! [`crate::bench`].

use std::path::PathBuf;
use std::process::ExitCode;

use crate::bench::{self, Config, report};

/// Shown under the options (the one-line description comes from the
/// subcommand list).
const AFTER_HELP: &str = "\
Starts the Plex emulator with generated libraries, runs every case several
times (syncs and the server as child processes of this binary, so their time
and peak memory are theirs alone) and writes report.json and report.md to
--out; the Markdown table is printed too. A full run takes 10-20 minutes.

Run it from a release build, on an otherwise idle machine:

    cargo build --release --workspace && target/release/plexcache-tools bench    (or bench/run)

A debug build is refused: its figures say nothing about the budgets.
BENCHMARKS.md describes every case and metric.";

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct BenchArgs {
    /// Small version for CI-like use: 20k tracks instead of 100k, no 1M
    /// library, fewer queries, shorter load runs.
    #[arg(long)]
    quick: bool,
    /// Runs of every case; median, min and max are over these.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=50))]
    runs: u32,
    /// Directory for report.json and report.md [default: bench/reports/<UTC time>].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Library sizes of the size table (tracks, comma-separated)
    /// [default: 5000,20000,100000,1000000; with --quick 5000,20000].
    #[arg(long, value_delimiter = ',', value_name = "N,N,...")]
    sizes: Option<Vec<usize>>,
    /// Print a side-by-side table of two reports with B/A per row, and exit.
    #[arg(long, num_args = 2, value_names = ["OLD.json", "NEW.json"])]
    compare: Option<Vec<PathBuf>>,
    /// Seed of the generated libraries and of the query mix.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// A note stored in the report (say what else ran on the machine).
    #[arg(long, value_name = "TEXT")]
    note: Vec<String>,
    /// Exit with status 2 when a budget is missed.
    #[arg(long)]
    fail_on_miss: bool,
    /// Run from a debug build anyway (for working on the benchmark itself).
    #[arg(long, hide = true)]
    allow_debug_build: bool,
}

impl BenchArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        if let Some(paths) = &self.compare {
            return compare(paths);
        }
        let debug_build = cfg!(debug_assertions);
        if debug_build && !self.allow_debug_build {
            anyhow::bail!(
                "this is a debug build, whose timings say nothing about the budgets: \
                 run `cargo build --release --workspace` and then `target/release/plexcache-tools bench`"
            );
        }
        let sizes = self
            .sizes
            .clone()
            .unwrap_or_else(|| Config::default_sizes(self.quick));
        if let Some(bad) = sizes.iter().find(|n| !(100..=10_000_000).contains(*n)) {
            anyhow::bail!("--sizes: {bad} is not between 100 and 10,000,000 tracks");
        }
        let exe = super::plexcache_binary()?;
        let out = self.out.clone().unwrap_or_else(|| default_out(self.quick));
        let config = Config {
            quick: self.quick,
            runs: self.runs,
            sizes,
            seed: self.seed,
            exe,
            command: command_line(),
            notes: self.note.clone(),
            build_profile: if debug_build { "debug" } else { "release" }.to_owned(),
        };
        // Ctrl-C drops the run: its temporary directory and server children go.
        let report = tokio::select! {
            report = bench::run(config) => report?,
            _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted"),
        };
        report.write(&out)?;
        println!("{}", report.markdown());
        eprintln!(
            "bench: report written to {} and {}",
            out.join("report.json").display(),
            out.join("report.md").display()
        );
        let failed = report.cases.iter().any(|c| c.error.is_some())
            || report.sizes.iter().any(|s| s.error.is_some());
        let misses = report.misses().len();
        if misses > 0 {
            eprintln!("bench: {misses} case(s) missed their budget or failed");
        }
        Ok(if failed {
            ExitCode::FAILURE
        } else if misses > 0 && self.fail_on_miss {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        })
    }
}

fn compare(paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let [a, b] = paths else {
        anyhow::bail!("--compare takes two report files");
    };
    let (ra, rb) = (report::Report::read(a)?, report::Report::read(b)?);
    print!(
        "{}",
        report::compare(&ra, &rb, &a.display().to_string(), &b.display().to_string())
    );
    Ok(ExitCode::SUCCESS)
}

/// `bench/reports/20260101-120000` (UTC), `-quick` for quick runs.
fn default_out(quick: bool) -> PathBuf {
    let format = time::macros::format_description!("[year][month][day]-[hour][minute][second]");
    let stamp = time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_else(|_| "report".into());
    let name = if quick {
        format!("{stamp}-quick")
    } else {
        stamp
    };
    PathBuf::from("bench").join("reports").join(name)
}

/// `plexcache-tools bench ARGS` as typed (program path shortened).
fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("plexcache-tools {}", args.join(" "))
}
