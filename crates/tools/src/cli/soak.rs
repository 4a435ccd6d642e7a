//! `plexcache-tools soak`: runs the server under faults and a query load for a
//! while and checks it held up (see `crates/tools/src/soak` and `docs/hardening.md`).

use std::process::ExitCode;
use std::time::Duration;

use crate::soak::{SoakOptions, run, run_worker};

#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// How long to run the load and the faulty syncs, e.g. 30s, 3m (the
    /// final sync and checks come on top).
    #[arg(long, default_value = "180s", value_parser = parse_duration)]
    duration: Duration,
    /// Tracks in the emulated library.
    #[arg(long, default_value_t = 20_000)]
    tracks: usize,
    /// Seed of the library, the faults and the changes (default: from the clock).
    #[arg(long)]
    seed: Option<u64>,
    /// Internal: be the load worker against this server URL.
    #[arg(long, hide = true)]
    load_worker: Option<String>,
    /// Internal: the load worker stops after this many seconds at the latest.
    #[arg(long, hide = true, default_value_t = 3_600)]
    load_limit_secs: u64,
}

impl SoakArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        if let Some(base) = self.load_worker {
            run_worker(base, Duration::from_secs(self.load_limit_secs)).await?;
            return Ok(ExitCode::SUCCESS);
        }
        if self.tracks == 0 {
            anyhow::bail!("--tracks must be at least 1");
        }
        let seed = self.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(1)
        });
        let passed = run(SoakOptions {
            duration: self.duration,
            tracks: self.tracks,
            seed,
        })
        .await?;
        Ok(if passed {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

/// `30s`, `3m`, `1h`, `1500ms` or plain seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30s or 3m"))?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown unit {other:?} (use ms, s, m or h)")),
    };
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 7.0 * 24.0 * 3600.0) {
        return Err(format!("{text:?} is not between 0 and a week"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("3m"), Ok(Duration::from_secs(180)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5d").is_err());
    }
}
