//! Watching the server process from outside: resident memory and open file
//! descriptors over time (Linux `/proc`), and what its log says.

use std::path::Path;
use std::time::Duration;

/// One reading of the server process.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Seconds since the soak's load started.
    pub at: f64,
    pub rss_kib: u64,
    pub fds: u64,
}

pub use plexcache_harness::process::{fd_count, rss_kib};

/// Figures of the samples between `from` and `to` seconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Window {
    pub samples: usize,
    pub rss_median_kib: u64,
    pub rss_max_kib: u64,
    pub fds_median: u64,
    pub fds_max: u64,
}

pub fn window(samples: &[Sample], from: f64, to: f64) -> Window {
    let inside: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at >= from && s.at <= to)
        .collect();
    let median = |mut values: Vec<u64>| {
        values.sort_unstable();
        values.get(values.len() / 2).copied().unwrap_or(0)
    };
    Window {
        samples: inside.len(),
        rss_median_kib: median(inside.iter().map(|s| s.rss_kib).collect()),
        rss_max_kib: inside.iter().map(|s| s.rss_kib).max().unwrap_or(0),
        fds_median: median(inside.iter().map(|s| s.fds).collect()),
        fds_max: inside.iter().map(|s| s.fds).max().unwrap_or(0),
    }
}

/// How often the server is sampled.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(500);

/// What the server's log holds.
#[derive(Debug, Default)]
pub struct LogFindings {
    pub lines: usize,
    pub warnings: usize,
    /// ERROR lines of failed syncs (expected under faults).
    pub sync_failures: usize,
    /// Other ERROR lines, panics: each is a failure (kept short).
    pub unexpected: Vec<String>,
    /// Line numbers holding the token (the lines are not repeated).
    pub token_lines: Vec<usize>,
}

/// Removes terminal colour codes so levels can be read.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for end in chars.by_ref() {
                    if end.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Reads the log at `path`: the level is the second field of a line
/// (`2026-01-01T00:00:00.000000Z ERROR plexcache::sync: …`).
pub fn scan_log(path: &Path, token: &str) -> std::io::Result<LogFindings> {
    let bytes = std::fs::read(path)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut findings = LogFindings::default();
    for (number, raw) in text.lines().enumerate() {
        findings.lines += 1;
        if raw.contains(token) {
            findings.token_lines.push(number + 1);
        }
        let line = strip_ansi(raw);
        let level = line.split_whitespace().nth(1).unwrap_or("");
        let short = || line.chars().take(300).collect::<String>();
        if line.contains("panicked") {
            findings.unexpected.push(short());
        } else if level == "ERROR" {
            if line.contains("sync failed") {
                findings.sync_failures += 1;
            } else {
                findings.unexpected.push(short());
            }
        } else if level == "WARN" {
            findings.warnings += 1;
        }
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_take_medians_and_maxima() {
        let samples: Vec<Sample> = (0..10)
            .map(|i| Sample {
                at: f64::from(i),
                rss_kib: 100 + u64::from(i as u8),
                fds: 10,
            })
            .collect();
        let w = window(&samples, 0.0, 2.5);
        assert_eq!((w.samples, w.rss_median_kib, w.rss_max_kib), (3, 101, 102));
    }

    #[test]
    fn log_levels_are_read_through_colour_codes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(
            &path,
            "2026-01-01T00:00:00Z \u{1b}[31mERROR\u{1b}[0m plexcache::sync: sync failed: x\n\
             2026-01-01T00:00:00Z ERROR plexcache::api: cache error: y\n\
             2026-01-01T00:00:00Z  WARN plexcache::plex: retrying secret-token\n",
        )
        .unwrap();
        let f = scan_log(&path, "secret-token").unwrap();
        assert_eq!((f.sync_failures, f.unexpected.len(), f.warnings), (1, 1, 1));
        assert_eq!(f.token_lines, [3]);
    }
}
