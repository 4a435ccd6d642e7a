//! `plexcache serve` as a child process on a port the system picks: the
//! child announces its address on its first line of output and the harness
//! reads it there (no port is guessed), then stops it with SIGTERM.

use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

use crate::client::ApiClient;

/// How long a child may take to say where it listens.
const ANNOUNCE_WITHIN: Duration = Duration::from_secs(30);

/// A running `plexcache serve`, killed when dropped.
pub struct ServeChild {
    child: Child,
    pid: u32,
    /// `http://127.0.0.1:PORT`, as the child announced it.
    pub url: String,
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl ServeChild {
    /// Runs `command` (see [`crate::process::command`]) as `serve --listen
    /// 127.0.0.1:0` and reads the address it announces. Its stdout is read
    /// by the harness; its stderr goes where `command` says.
    pub async fn start(mut command: Command) -> anyhow::Result<ServeChild> {
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped());
        let mut command = tokio::process::Command::from(command);
        command.kill_on_drop(true);
        let mut child = command.spawn().context("cannot start plexcache serve")?;
        let pid = child.id().context("plexcache serve exited at once")?;
        let stdout = child
            .stdout
            .take()
            .context("no stdout from plexcache serve")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(ANNOUNCE_WITHIN, lines.next_line())
            .await
            .with_context(|| {
                format!(
                    "plexcache serve did not say where it listens within {} s",
                    ANNOUNCE_WITHIN.as_secs()
                )
            })?
            .context("cannot read the output of plexcache serve")?
            .context("plexcache serve exited before it listened")?;
        let url = announced_url(&first)
            .with_context(|| format!("unexpected first line from plexcache serve: {first}"))?
            .to_owned();
        // Keep draining stdout so the child never blocks on it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let addr = url.trim_start_matches("http://").to_owned();
        Ok(ServeChild {
            child,
            pid,
            url,
            addr,
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// A client of this child's API.
    pub fn client(&self) -> anyhow::Result<ApiClient> {
        ApiClient::new(&self.url)
    }

    /// Still running? (false once it exited on its own.)
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then up to `grace` for it to exit, then SIGKILL. How it
    /// exited, when it did within `grace`.
    pub async fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        if self.running()
            && let Ok(pid) = libc::pid_t::try_from(self.pid)
        {
            // SAFETY: the child has not been reaped (it still runs), so the
            // pid is still ours.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(Ok(status)) => Some(status),
            _ => {
                let _ = self.child.kill().await;
                None
            }
        }
    }
}

/// `http://ADDR` out of `plexcache listening on http://ADDR`.
fn announced_url(line: &str) -> Option<&str> {
    line.split_whitespace().find(|w| w.starts_with("http://"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_announced_address() {
        assert_eq!(
            announced_url("plexcache listening on http://127.0.0.1:40123"),
            Some("http://127.0.0.1:40123")
        );
        assert_eq!(announced_url("something else"), None);
    }
}
