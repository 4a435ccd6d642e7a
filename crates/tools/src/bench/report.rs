//! The benchmark's report: one JSON document (machine-readable, the input
//! of `--compare`) and the same figures as Markdown tables.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::stats::{Percentiles, Summary, percentiles, summary};

/// Bumped when the JSON shape changes incompatibly.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub format: u32,
    pub plexcache_version: String,
    /// `git rev-parse HEAD` where the benchmark ran, when it worked.
    pub git_commit: Option<String>,
    /// Uncommitted changes in the work tree.
    pub git_dirty: Option<bool>,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub command: String,
    pub quick: bool,
    pub runs: u32,
    pub seed: u64,
    /// `release` or `debug` (a debug build's figures mean nothing).
    pub build_profile: String,
    pub machine: Machine,
    /// Sync settings the measured children ran with (the defaults).
    pub sync_concurrency: usize,
    pub sync_page_size: usize,
    pub total_seconds: f64,
    pub cases: Vec<Case>,
    pub sizes: Vec<SizeRow>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu_model: String,
    pub memory_total_mb: u64,
    pub kernel: Option<String>,
    /// 1, 5 and 15 minute load averages when the run started and ended: a
    /// load above the core count means other work competed for the CPU.
    pub load_average_start: Option<[f64; 3]>,
    pub load_average_end: Option<[f64; 3]>,
    /// CPU time other processes used while the benchmark ran (all CPU time
    /// of the machine minus the benchmark's own and its children's), and
    /// that as a share of the machine's capacity over the run (0–1).
    #[serde(default)]
    pub other_cpu_s: Option<f64>,
    #[serde(default)]
    pub other_cpu_share: Option<f64>,
}

/// A budget: the measured `value` must be `<=` or `>=` `limit`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Budget {
    pub op: String,
    pub limit: f64,
}

impl Budget {
    pub fn at_most(limit: f64) -> Option<Budget> {
        Some(Budget {
            op: "<=".into(),
            limit,
        })
    }

    pub fn at_least(limit: f64) -> Option<Budget> {
        Some(Budget {
            op: ">=".into(),
            limit,
        })
    }

    pub fn met_by(&self, value: f64) -> bool {
        match self.op.as_str() {
            ">=" => value >= self.limit,
            _ => value <= self.limit,
        }
    }

    fn text(&self, unit: &str) -> String {
        let op = if self.op == ">=" { "≥" } else { "≤" };
        format!("{op} {} {unit}", number(self.limit))
    }
}

/// One row of the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Case {
    /// Stable key, used to match rows when comparing reports.
    pub id: String,
    pub name: String,
    pub unit: String,
    /// One figure per run (for query cases: that run's p95).
    pub runs: Vec<f64>,
    pub median: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Over every timed operation of every run, for query cases.
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    /// Timed operations behind the percentiles.
    pub samples: Option<usize>,
    /// The figure held against the budget, and which statistic it is.
    pub value: Option<f64>,
    pub value_is: String,
    pub budget: Option<Budget>,
    /// `None` without a budget (informational rows).
    pub pass: Option<bool>,
    pub error: Option<String>,
    #[serde(default)]
    pub details: BTreeMap<String, serde_json::Value>,
}

/// Which statistic of a case is compared with the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    Median,
    Max,
    P95,
}

impl Case {
    /// A case from per-run figures (and, for timings, every operation).
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        unit: &str,
        runs: Vec<f64>,
        operations: Option<&[f64]>,
        pick: Pick,
        budget: Option<Budget>,
    ) -> Case {
        let s: Option<Summary> = summary(&runs);
        let p: Option<Percentiles> = operations.and_then(percentiles);
        let (value, value_is) = match pick {
            Pick::Median => (s.map(|s| s.median), "median"),
            Pick::Max => (s.map(|s| s.max), "max"),
            Pick::P95 => (p.map(|p| p.p95), "p95"),
        };
        let pass = budget.as_ref().zip(value).map(|(b, v)| b.met_by(v));
        Case {
            id: id.into(),
            name: name.into(),
            unit: unit.to_owned(),
            runs,
            median: s.map(|s| s.median),
            min: s.map(|s| s.min),
            max: s.map(|s| s.max),
            p50: p.map(|p| p.p50),
            p95: p.map(|p| p.p95),
            p99: p.map(|p| p.p99),
            samples: operations.map(<[f64]>::len),
            value,
            value_is: value_is.to_owned(),
            budget,
            pass,
            error: None,
            details: BTreeMap::new(),
        }
    }

    /// A case that could not be measured: a failed row with the reason.
    pub fn failed(
        id: impl Into<String>,
        name: impl Into<String>,
        unit: &str,
        error: String,
    ) -> Case {
        let mut case = Case::new(id, name, unit, Vec::new(), None, Pick::Median, None);
        case.pass = Some(false);
        case.error = Some(error);
        case
    }

    pub fn detail(mut self, key: &str, value: impl Serialize) -> Case {
        if let Ok(value) = serde_json::to_value(value) {
            self.details.insert(key.to_owned(), value);
        }
        self
    }
}

/// One line of the size table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SizeRow {
    /// Tracks generated (the cache holds a few more or less: the emulator's
    /// second music section and deleted albums).
    pub tracks: usize,
    pub tracks_cached: Option<u64>,
    pub sync_s: Option<Summary>,
    pub peak_rss_mb: Option<Summary>,
    /// Database file after the sync (WAL checkpointed into it or not).
    pub db_mb: Option<f64>,
    pub wal_mb: Option<f64>,
    pub count_p95_ms: Option<f64>,
    pub page_p95_ms: Option<f64>,
    pub error: Option<String>,
}

impl Report {
    pub fn misses(&self) -> Vec<&Case> {
        self.cases
            .iter()
            .filter(|c| c.pass == Some(false))
            .collect()
    }

    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        use anyhow::Context;
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let json = serde_json::to_string_pretty(self)?;
        let path = dir.join("report.json");
        std::fs::write(&path, json + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        let path = dir.join("report.md");
        std::fs::write(&path, self.markdown())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }

    pub fn read(path: &Path) -> anyhow::Result<Report> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let report: Report = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a plexcache bench report", path.display()))?;
        if report.format != FORMAT {
            anyhow::bail!(
                "{} has report format {}, this plexcache reads {FORMAT}",
                path.display(),
                report.format
            );
        }
        Ok(report)
    }

    /// The whole report as Markdown: header, results, size table.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# plexcache bench\n");
        let _ = writeln!(out, "{}\n", self.describe());
        out.push_str(&self.results_table());
        out.push('\n');
        out.push_str(&self.size_table());
        let misses = self.misses();
        if !misses.is_empty() {
            let _ = writeln!(out, "\nMissed budgets:\n");
            for case in misses {
                let figure = match (&case.error, case.value) {
                    (Some(error), _) => format!("error: {error}"),
                    (None, Some(v)) => format!("{} {}", number(v), case.unit),
                    (None, None) => "no figure".to_owned(),
                };
                let budget = case
                    .budget
                    .as_ref()
                    .map(|b| b.text(&case.unit))
                    .unwrap_or_default();
                let _ = writeln!(out, "- {}: {figure} (budget {budget})", case.name);
            }
        }
        if !self.notes.is_empty() {
            let _ = writeln!(out, "\nNotes:\n");
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        out
    }

    /// Version, commit, machine and load in a few lines.
    pub fn describe(&self) -> String {
        let m = &self.machine;
        let commit = match (&self.git_commit, self.git_dirty) {
            (Some(c), Some(true)) => format!("{} (with uncommitted changes)", short(c)),
            (Some(c), _) => short(c).to_owned(),
            (None, _) => "unknown".to_owned(),
        };
        let load = |l: &Option<[f64; 3]>| {
            l.map(|[a, b, c]| format!("{a:.2} {b:.2} {c:.2}"))
                .unwrap_or_else(|| "?".into())
        };
        let others = match (m.other_cpu_share, m.other_cpu_s) {
            (Some(share), Some(s)) => format!(
                "; other processes used {:.0}% of the CPU during the run ({s:.0} CPU-seconds)",
                share * 100.0
            ),
            _ => String::new(),
        };
        format!(
            "plexcache {} ({} build), commit {commit}, {}; `{}`  \n\
             {} cores, {}, {} MB RAM, Linux {}; load average {} at start, {} at end{others}  \n\
             {} runs per case{}, seed {}, sync concurrency {} and page size {}; {:.0} s in all",
            self.plexcache_version,
            self.build_profile,
            self.created_at,
            self.command,
            m.cores,
            m.cpu_model,
            m.memory_total_mb,
            m.kernel.as_deref().unwrap_or("?"),
            load(&m.load_average_start),
            load(&m.load_average_end),
            self.runs,
            if self.quick { " (quick)" } else { "" },
            self.seed,
            self.sync_concurrency,
            self.sync_page_size,
            self.total_seconds,
        )
    }

    pub fn results_table(&self) -> String {
        let mut out = String::from(
            "| case | budget | measured | pass | median | min | max | p50 | p95 | p99 | runs × ops |\n\
             | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
        );
        for c in &self.cases {
            let budget = c
                .budget
                .as_ref()
                .map(|b| b.text(&c.unit))
                .unwrap_or_else(|| "—".into());
            let measured = match (&c.error, c.value) {
                (Some(e), _) => format!("error: {}", e.replace('|', "/")),
                (None, Some(v)) => format!("{} {} ({})", number(v), c.unit, c.value_is),
                (None, None) => "—".into(),
            };
            let pass = match c.pass {
                Some(true) => "yes",
                Some(false) => "**NO**",
                None => "info",
            };
            let ops = match c.samples {
                Some(n) => format!("{} × {}", c.runs.len(), n / c.runs.len().max(1)),
                None => c.runs.len().to_string(),
            };
            let _ = writeln!(
                out,
                "| {} | {budget} | {measured} | {pass} | {} | {} | {} | {} | {} | {} | {ops} |",
                c.name,
                opt(c.median),
                opt(c.min),
                opt(c.max),
                opt(c.p50),
                opt(c.p95),
                opt(c.p99),
            );
        }
        out
    }

    pub fn size_table(&self) -> String {
        if self.sizes.is_empty() {
            return String::new();
        }
        let mut out = String::from(
            "| tracks | sync wall (median, min–max) | peak RSS (max) | database | count p95 | page p95 |\n\
             | --- | --- | --- | --- | --- | --- |\n",
        );
        for row in &self.sizes {
            if let Some(error) = &row.error {
                let _ = writeln!(
                    out,
                    "| {} | error: {} | | | | |",
                    thousands(row.tracks),
                    error.replace('|', "/")
                );
                continue;
            }
            let sync = row
                .sync_s
                .map(|s| {
                    format!(
                        "{} s ({}–{})",
                        number(s.median),
                        number(s.min),
                        number(s.max)
                    )
                })
                .unwrap_or_else(|| "—".into());
            let rss = row
                .peak_rss_mb
                .map(|s| format!("{} MB", number(s.max)))
                .unwrap_or_else(|| "—".into());
            let db = row
                .db_mb
                .map(|v| format!("{} MB", number(v)))
                .unwrap_or_else(|| "—".into());
            let ms = |v: Option<f64>| v.map(|v| format!("{} ms", number(v))).unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {sync} | {rss} | {db} | {} | {} |",
                thousands(row.tracks),
                ms(row.count_p95_ms),
                ms(row.page_p95_ms)
            );
        }
        out
    }
}

/// Side by side: every case of either report with B/A.
pub fn compare(a: &Report, b: &Report, a_name: &str, b_name: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# plexcache bench: A = {a_name}, B = {b_name}\n");
    let _ = writeln!(out, "A: {}\n", a.describe());
    let _ = writeln!(out, "B: {}\n", b.describe());
    out.push_str(
        "| case | budget | A | B | B/A | A pass | B pass |\n\
         | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    let mut ids: Vec<&str> = a.cases.iter().map(|c| c.id.as_str()).collect();
    for c in &b.cases {
        if !ids.contains(&c.id.as_str()) {
            ids.push(&c.id);
        }
    }
    for id in ids {
        let ca = a.cases.iter().find(|c| c.id == id);
        let cb = b.cases.iter().find(|c| c.id == id);
        let Some(any) = cb.or(ca) else { continue };
        let figure = |c: Option<&Case>| match c {
            Some(c) => match (&c.error, c.value) {
                (Some(_), _) => "error".to_owned(),
                (None, Some(v)) => format!("{} {}", number(v), c.unit),
                (None, None) => "—".to_owned(),
            },
            None => "—".to_owned(),
        };
        let ratio = match (ca.and_then(|c| c.value), cb.and_then(|c| c.value)) {
            (Some(x), Some(y)) if x != 0.0 => format!("{:.2}", y / x),
            _ => "—".to_owned(),
        };
        let pass = |c: Option<&Case>| match c.and_then(|c| c.pass) {
            Some(true) => "yes",
            Some(false) => "**NO**",
            None => "",
        };
        let budget = any
            .budget
            .as_ref()
            .map(|b| b.text(&any.unit))
            .unwrap_or_else(|| "—".into());
        let _ = writeln!(
            out,
            "| {} ({}) | {budget} | {} | {} | {ratio} | {} | {} |",
            any.name,
            any.value_is,
            figure(ca),
            figure(cb),
            pass(ca),
            pass(cb),
        );
    }
    let mut sizes: Vec<usize> = a.sizes.iter().map(|s| s.tracks).collect();
    for s in &b.sizes {
        if !sizes.contains(&s.tracks) {
            sizes.push(s.tracks);
        }
    }
    sizes.sort_unstable();
    if !sizes.is_empty() {
        out.push_str(
            "\n| tracks | sync s A | sync s B | B/A | RSS MB A | RSS MB B | B/A | DB MB A | DB MB B | count p95 ms A | B | page p95 ms A | B |\n\
             | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
        );
        for n in sizes {
            let ra = a.sizes.iter().find(|s| s.tracks == n);
            let rb = b.sizes.iter().find(|s| s.tracks == n);
            let sync = |r: Option<&SizeRow>| r.and_then(|r| r.sync_s).map(|s| s.median);
            let rss = |r: Option<&SizeRow>| r.and_then(|r| r.peak_rss_mb).map(|s| s.max);
            let db = |r: Option<&SizeRow>| r.and_then(|r| r.db_mb);
            let count = |r: Option<&SizeRow>| r.and_then(|r| r.count_p95_ms);
            let page = |r: Option<&SizeRow>| r.and_then(|r| r.page_p95_ms);
            let ratio = |x: Option<f64>, y: Option<f64>| match (x, y) {
                (Some(x), Some(y)) if x != 0.0 => format!("{:.2}", y / x),
                _ => "—".to_owned(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                thousands(n),
                opt(sync(ra)),
                opt(sync(rb)),
                ratio(sync(ra), sync(rb)),
                opt(rss(ra)),
                opt(rss(rb)),
                ratio(rss(ra), rss(rb)),
                opt(db(ra)),
                opt(db(rb)),
                opt(count(ra)),
                opt(count(rb)),
                opt(page(ra)),
                opt(page(rb)),
            );
        }
    }
    out
}

/// Three significant digits or so, no exponent.
pub fn number(v: f64) -> String {
    let a = v.abs();
    if a >= 1000.0 {
        thousands(v.round() as usize)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(number).unwrap_or_default()
}

/// 1000000 → "1,000,000".
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

/// Cores, CPU model, memory, kernel and load from `/proc`.
pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| {
            let (key, value) = l.split_once(':')?;
            (key.trim() == "model name").then(|| value.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_total_mb = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kb| kb / 1024)
        .unwrap_or(0);
    Machine {
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        cpu_model,
        memory_total_mb,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .map(|s| s.trim().to_owned()),
        load_average_start: load_average(),
        load_average_end: None,
        other_cpu_s: None,
        other_cpu_share: None,
    }
}

/// Busy CPU time of the whole machine and of this process with its
/// reaped children, in seconds.
#[derive(Debug, Clone, Copy)]
pub struct CpuSnapshot {
    pub machine_busy_s: f64,
    pub own_s: f64,
}

/// From `/proc/stat` (user, nice, system, irq, softirq, steal) and
/// `getrusage`; `None` when either is unavailable.
pub fn cpu_snapshot() -> Option<CpuSnapshot> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    let busy_ticks: u64 = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|i| fields.get(*i))
        .sum();
    // SAFETY: sysconf has no preconditions.
    let ticks_per_s = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks_per_s <= 0 {
        return None;
    }
    let usage = |who| {
        // SAFETY: rusage is plain old data; getrusage only writes into it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `usage` is valid for writes; `who` is a valid selector.
        let ok = unsafe { libc::getrusage(who, &mut usage) } == 0;
        let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        ok.then(|| seconds(usage.ru_utime) + seconds(usage.ru_stime))
    };
    Some(CpuSnapshot {
        machine_busy_s: busy_ticks as f64 / ticks_per_s as f64,
        own_s: usage(libc::RUSAGE_SELF)? + usage(libc::RUSAGE_CHILDREN)?,
    })
}

pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut parts = text.split_whitespace().map(|p| p.parse::<f64>().ok());
    Some([parts.next()??, parts.next()??, parts.next()??])
}

/// `git rev-parse HEAD` and whether the tree has changes, when git works here.
pub fn git() -> (Option<String>, Option<bool>) {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let commit = run(&["rev-parse", "HEAD"]).filter(|c| !c.is_empty());
    let dirty = commit
        .as_ref()
        .and_then(|_| run(&["status", "--porcelain", "--untracked-files=no"]))
        .map(|s| !s.is_empty());
    (commit, dirty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(1234.4), "1,234");
        assert_eq!(number(123.4), "123");
        assert_eq!(number(12.34), "12.3");
        assert_eq!(number(1.234), "1.23");
        assert_eq!(number(0.1234), "0.123");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
    }

    #[test]
    fn budgets_and_picks() {
        let case = Case::new(
            "x",
            "x",
            "ms",
            vec![3.0, 1.0, 2.0],
            Some(&[1.0, 2.0, 3.0, 9.0]),
            Pick::P95,
            Budget::at_most(5.0),
        );
        assert_eq!(case.value, Some(9.0));
        assert_eq!(case.pass, Some(false));
        let case = Case::new(
            "y",
            "y",
            "req/s",
            vec![12_000.0],
            None,
            Pick::Median,
            Budget::at_least(10_000.0),
        );
        assert_eq!(case.pass, Some(true));
    }
}
