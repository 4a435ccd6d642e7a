//! plexcache as a child process: the binary, one scrubbed command
//! environment, runs measured from outside (wall time, the peak resident
//! set of that one process, its CPU time) and readings of a running
//! process from `/proc`.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// How a measured child ended.
#[derive(Debug, Clone)]
pub struct ChildRun {
    /// Exit code, or `None` when a signal ended it.
    pub code: Option<i32>,
    /// Signal that ended it, if any.
    pub signal: Option<i32>,
    /// From just before spawning to the moment it was reaped.
    pub wall: Duration,
    /// Peak resident set size of the child alone (`VmHWM`).
    pub peak_rss_bytes: u64,
    /// CPU time in user and kernel mode.
    pub user_cpu: Duration,
    pub system_cpu: Duration,
    /// True when the child was killed for running past the deadline.
    pub timed_out: bool,
}

impl ChildRun {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    pub fn peak_rss_mb(&self) -> f64 {
        self.peak_rss_bytes as f64 / (1024.0 * 1024.0)
    }

    /// "exit code 1", "killed by signal 9", "timed out".
    pub fn describe(&self) -> String {
        match (self.timed_out, self.code, self.signal) {
            (true, _, _) => "timed out and was killed".to_owned(),
            (_, Some(code), _) => format!("exit code {code}"),
            (_, None, Some(signal)) => format!("killed by signal {signal}"),
            _ => "unknown exit".to_owned(),
        }
    }
}

/// Spawns `command` and waits for it (blocking the calling thread), killing
/// it after `deadline`. Standard streams are whatever `command` says.
///
/// Peak memory is the child's `VmHWM` (the high-water mark of its resident
/// set) read from `/proc/<pid>/status` every few milliseconds until it
/// exits. `wait4`'s `ru_maxrss` would be simpler but is wrong here: Linux
/// folds the memory of the process image replaced by `exec` into it, and
/// right after spawning that image is a copy of this (much bigger) process.
/// CPU times and the exit status do come from `wait4`.
pub fn run_measured(command: &mut Command, deadline: Option<Duration>) -> io::Result<ChildRun> {
    let started = Instant::now();
    // `spawn` returns once the child has exec'd (or failed to), so every
    // reading below is of the new program.
    let child = command.spawn()?;
    let pid = libc::pid_t::try_from(child.id())
        .map_err(|_| io::Error::other("child process id out of range"))?;
    let status_path = format!("/proc/{pid}/status");
    let mut peak_kb = 0u64;
    let mut last_read = None::<Instant>;
    let mut timed_out = false;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        if last_read.is_none_or(|t| t.elapsed() >= HWM_POLL) {
            if let Some(kb) = high_water_kb(&status_path) {
                peak_kb = peak_kb.max(kb);
            }
            last_read = Some(Instant::now());
        }
        // SAFETY: `pid` is our own child, not yet reaped (only this loop
        // reaps it); `status` and `usage` are valid for writes.
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped == pid {
            break;
        }
        if reaped == -1 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        if !timed_out && deadline.is_some_and(|d| started.elapsed() > d) {
            timed_out = true;
            // SAFETY: the child is not reaped yet, so `pid` is still ours.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        // Short polls keep the wall time exact to about a millisecond.
        std::thread::sleep(Duration::from_micros(500));
    }
    let wall = started.elapsed();
    // The child is reaped; dropping the handle neither waits nor kills.
    drop(child);
    let (code, signal) = if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else if libc::WIFSIGNALED(status) {
        (None, Some(libc::WTERMSIG(status)))
    } else {
        (None, None)
    };
    Ok(ChildRun {
        code,
        signal,
        wall,
        peak_rss_bytes: peak_kb * 1024,
        user_cpu: timeval(usage.ru_utime),
        system_cpu: timeval(usage.ru_stime),
        timed_out,
    })
}

/// How often the child's memory high-water mark is read.
const HWM_POLL: Duration = Duration::from_millis(5);

/// `VmHWM` in kilobytes; `None` once the process is gone or a zombie.
fn high_water_kb(status_path: &str) -> Option<u64> {
    let text = std::fs::read_to_string(status_path).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn timeval(t: libc::timeval) -> Duration {
    let secs = u64::try_from(t.tv_sec).unwrap_or(0);
    let micros = u64::try_from(t.tv_usec).unwrap_or(0);
    Duration::from_secs(secs) + Duration::from_micros(micros)
}

/// The `plexcache` binary for children: `PLEXCACHE_BIN` when set, else the
/// one cargo built into the same target directory (next to the running
/// executable, or one folder up for a test binary in `deps/`).
pub fn plexcache_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("PLEXCACHE_BIN") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().context("cannot find this executable")?;
    let name = format!("plexcache{}", std::env::consts::EXE_SUFFIX);
    exe.ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join(&name))
        .find(|candidate| candidate.is_file())
        .with_context(|| {
            format!(
                "no plexcache binary near {} (build the workspace: \
                 cargo build --release --workspace, or set PLEXCACHE_BIN)",
                exe.display()
            )
        })
}

/// Whether the caller's variable `name` may change how plexcache behaves:
/// every setting is read from a `PLEX…` variable, and logging from
/// `RUST_LOG` and `NO_COLOR`.
fn steers_plexcache(name: &str) -> bool {
    name.starts_with("PLEX") || name == "RUST_LOG" || name == "NO_COLOR"
}

/// Removes from `command` every variable of the caller's environment that
/// steers plexcache, and says where logs go and that stdin is closed: a
/// child runs with defaults whatever the caller's shell holds.
fn scrub(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(steers_plexcache) {
            command.env_remove(&name);
        }
    }
    command
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
}

/// `exe` with a scrubbed environment (logging at `warn`, no colour).
pub fn command(exe: &Path) -> Command {
    let mut command = Command::new(exe);
    scrub(&mut command);
    command
}

/// `exe` run through `sh -c '{setup}; exec …'`, for what only a shell sets
/// up for one process (`umask 000`, `ulimit -n 256`); arguments added to the
/// command go to `exe`. Environment as [`command`].
pub fn command_through_shell(exe: &Path, setup: &str) -> Command {
    let mut command = Command::new("sh");
    command
        .args(["-c", &format!("{setup}; exec \"$0\" \"$@\"")])
        .arg(exe);
    scrub(&mut command);
    command
}

/// Points `command` at the Plex server `plex_url` with `token`, keeping its
/// cache in `data_dir`.
pub fn point_at(command: &mut Command, data_dir: &Path, plex_url: &str, token: &str) {
    command
        .env("PLEXCACHE_DATA_DIR", data_dir)
        .env("PLEX_URL", plex_url)
        .env("PLEX_TOKEN", token);
}

/// Sends the command's output to files in `log_dir` (`NAME.out`,
/// `NAME.err`), so a chatty child can never block on a full pipe.
pub fn log_to(command: &mut Command, log_dir: &Path, name: &str) -> io::Result<()> {
    command
        .stdout(std::fs::File::create(log_dir.join(format!("{name}.out")))?)
        .stderr(std::fs::File::create(log_dir.join(format!("{name}.err")))?);
    Ok(())
}

/// The last five lines of a log file on one line, for error messages.
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" / ")
}

/// Resident memory of `pid` in KiB (`VmRSS`), where `/proc` has it.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

/// Open file descriptors of `pid`.
pub fn fd_count(pid: u32) -> Option<u64> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_steers_plexcache_is_scrubbed() {
        for name in [
            "PLEX_URL",
            "PLEX_TOKEN",
            "PLEXCACHE_LISTEN",
            "RUST_LOG",
            "NO_COLOR",
        ] {
            assert!(steers_plexcache(name), "{name}");
        }
        for name in ["PATH", "HOME", "TMPDIR"] {
            assert!(!steers_plexcache(name), "{name}");
        }
    }
}
