//! `plexcache serve` as a child process: time from spawn to its first
//! answer, and `/api/library/status` under load from another process (wrk
//! when installed, else a small load generator in this process).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use plexcache_harness::process::tail;
use plexcache_harness::{ServeChild, raw_get};

/// Where and how to start the server child.
pub use super::sync::Target as ServeTarget;

const STATUS_PATH: &str = "/api/library/status";

/// A running server child and its port.
pub struct Serving {
    pub child: ServeChild,
    pub port: u16,
    /// Spawn to first 200 of the status endpoint.
    pub ready_after: Duration,
}

impl ServeTarget {
    /// Spawns `plexcache serve` on a port the system picks, reads the
    /// address it announces and polls the status endpoint every millisecond
    /// until it answers 200.
    pub async fn start(&self, name: &str) -> anyhow::Result<Serving> {
        let command = self.command(name)?;
        let started = Instant::now();
        let mut child = ServeChild::start(command).await.with_context(|| {
            format!(
                "cannot start plexcache serve: {}",
                tail(&self.log_dir.join(format!("{name}.err")))
            )
        })?;
        let port = child
            .addr
            .parse::<std::net::SocketAddr>()
            .with_context(|| format!("plexcache serve announced {}", child.addr))?
            .port();
        loop {
            if let Some((200, _)) = raw_get(&child.addr, STATUS_PATH, Duration::from_secs(5)).await
            {
                return Ok(Serving {
                    child,
                    port,
                    ready_after: started.elapsed(),
                });
            }
            if !child.running() {
                anyhow::bail!(
                    "plexcache serve exited before answering: {}",
                    tail(&self.log_dir.join(format!("{name}.err")))
                );
            }
            if started.elapsed() > Duration::from_secs(30) {
                anyhow::bail!("plexcache serve did not answer within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

/// Stops a server child.
pub async fn stop(serving: Serving) {
    let mut child = serving.child;
    child.stop(Duration::from_secs(10)).await;
}

/// One load run's outcome.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadRun {
    pub tool: String,
    pub requests_per_s: f64,
    pub requests: u64,
    /// Non-2xx answers and socket errors.
    pub errors: u64,
}

/// `wrk` on the PATH, if any.
pub fn find_wrk() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("wrk"))
        .find(|candidate| candidate.is_file())
}

/// `wrk -t2 -c64 -dNs URL`, parsed.
pub async fn wrk(wrk: &Path, port: u16, seconds: u64) -> anyhow::Result<LoadRun> {
    let url = format!("http://127.0.0.1:{port}{STATUS_PATH}");
    let output = tokio::process::Command::new(wrk)
        .args(["-t2", "-c64", &format!("-d{seconds}s"), &url])
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .context("cannot run wrk")?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        anyhow::bail!(
            "wrk failed: {}{}",
            text,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse_wrk(&text).with_context(|| format!("cannot read wrk's output: {text}"))
}

/// Reads `Requests/sec:`, the request total and the error lines.
pub fn parse_wrk(text: &str) -> Option<LoadRun> {
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(str::trim))
    };
    let requests_per_s: f64 = field("Requests/sec:")?.parse().ok()?;
    let requests = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let non_2xx: u64 = field("Non-2xx or 3xx responses:")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let socket_errors: u64 = field("Socket errors:")
        .map(|rest| {
            rest.split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Some(LoadRun {
        tool: "wrk -t2 -c64".into(),
        requests_per_s,
        requests,
        errors: non_2xx + socket_errors,
    })
}

/// `connections` keep-alive connections sending the status request back to
/// back for `duration`: a lean stand-in for wrk (raw HTTP/1.1, no client
/// library in the way).
pub async fn builtin_load(
    port: u16,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<LoadRun> {
    let done = Arc::new(AtomicBool::new(false));
    let requests = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let request = format!("GET {STATUS_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (done, requests, errors) = (done.clone(), requests.clone(), errors.clone());
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                match keep_alive_loop(port, &request, &done, &requests).await {
                    Ok(()) => break,
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    tokio::time::sleep(duration).await;
    done.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    for task in tasks {
        let _ = task.await;
    }
    let total = requests.load(Ordering::Relaxed);
    Ok(LoadRun {
        tool: format!("built-in, {connections} connections"),
        requests_per_s: total as f64 / elapsed,
        requests: total,
        errors: errors.load(Ordering::Relaxed),
    })
}

async fn keep_alive_loop(
    port: u16,
    request: &str,
    done: &AtomicBool,
    requests: &AtomicU64,
) -> anyhow::Result<()> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let mut buffer = vec![0u8; 16 * 1024];
    while !done.load(Ordering::Relaxed) {
        stream.write_all(request.as_bytes()).await?;
        read_response(&mut stream, &mut buffer).await?;
        requests.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// Reads one response with a `Content-Length` body; fails unless 200.
async fn read_response(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> anyhow::Result<()> {
    let mut filled = 0;
    let (head_end, body_len) = loop {
        if filled == buffer.len() {
            buffer.resize(buffer.len() * 2, 0);
        }
        let n = stream.read(&mut buffer[filled..]).await?;
        if n == 0 {
            anyhow::bail!("connection closed");
        }
        filled += n;
        if let Some(end) = find(&buffer[..filled], b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
            if !head.starts_with("http/1.1 200") {
                anyhow::bail!("not 200: {}", head.lines().next().unwrap_or_default());
            }
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .context("no content-length")?;
            break (end + 4, length);
        }
    };
    let mut have = filled - head_end;
    while have < body_len {
        let want = (body_len - have).min(buffer.len());
        let n = stream.read(&mut buffer[..want]).await?;
        if n == 0 {
            anyhow::bail!("connection closed mid-body");
        }
        have += n;
    }
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_output() {
        let text = "Running 5s test @ http://127.0.0.1:1/api/library/status
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.10ms    1.20ms  30.00ms   90.00%
    Req/Sec    15.00k     1.00k   17.00k    70.00%
  150000 requests in 5.00s, 100.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  30000.50
Transfer/sec:     20.00MB
";
        let run = parse_wrk(text).unwrap();
        assert_eq!(run.requests_per_s, 30000.5);
        assert_eq!(run.requests, 150_000);
        assert_eq!(run.errors, 7);
        assert!(parse_wrk("nothing").is_none());
    }
}
