//! Child processes measured from outside: wall time from spawn to exit, the
//! peak resident set size of that one process and its CPU time, plus
//! helpers to start and stop a server child.

use std::io;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

/// Environment variables that change how plexcache behaves; a measured
/// child runs with defaults, whatever the caller's shell holds.
const SETTINGS_ENV: &[&str] = &[
    "PLEXCACHE_DATA_DIR",
    "PLEX_URL",
    "PLEX_TOKEN",
    "PLEXCACHE_SECTIONS",
    "PLEXCACHE_REFRESH_AGE_HOURS",
    "PLEXCACHE_ACCEPT_INVALID_CERTS",
    "PLEXCACHE_TIMEOUT_SECS",
    "PLEXCACHE_RETRIES",
    "PLEXCACHE_CONCURRENCY",
    "PLEXCACHE_PAGE_SIZE",
    "PLEXCACHE_LISTEN",
    "PLEXCACHE_PASSWORD",
    "PLEXCACHE_PROBE_INTERVAL_SECS",
];

/// `exe` with default settings, pointed at `plex_url` and keeping its
/// cache in `data_dir`; output goes to files in `log_dir` (`NAME.out`,
/// `NAME.err`), so a chatty child can never block on a full pipe.
pub fn plexcache_command(
    exe: &Path,
    data_dir: &Path,
    plex_url: &str,
    token: &str,
    log_dir: &Path,
    name: &str,
) -> io::Result<Command> {
    let mut command = Command::new(exe);
    for key in SETTINGS_ENV {
        command.env_remove(key);
    }
    command
        .env("PLEXCACHE_DATA_DIR", data_dir)
        .env("PLEX_URL", plex_url)
        .env("PLEX_TOKEN", token)
        .env("NO_COLOR", "1")
        .env(
            "RUST_LOG",
            "info,plexcache::sync=debug,plexcache::store=debug",
        )
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(log_dir.join(format!("{name}.out")))?)
        .stderr(std::fs::File::create(log_dir.join(format!("{name}.err")))?);
    Ok(command)
}

/// A server child that is stopped (SIGTERM, then SIGKILL) when dropped.
pub struct ServerChild {
    child: Option<Child>,
}

impl ServerChild {
    pub fn spawn(command: &mut Command) -> io::Result<ServerChild> {
        Ok(ServerChild {
            child: Some(command.spawn()?),
        })
    }

    /// Still running? (false once it exited on its own.)
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// SIGTERM, wait up to `grace`, then SIGKILL.
    pub fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(None) = child.try_wait()
            && let Ok(pid) = libc::pid_t::try_from(child.id())
        {
            // SAFETY: the child has not been reaped (try_wait said it runs),
            // so the pid is still ours.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let until = Instant::now() + grace;
            while Instant::now() < until {
                if !matches!(child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Size of a file, 0 when missing.
pub fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}
