//! `plexcache health`: asks a running server's `/api/health` and exits 0
//! when it answers "ok", 1 otherwise. Made for container health checks,
//! where there is no shell or curl.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use crate::config::DEFAULT_LISTEN;

#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// The address the server listens on (as given to `serve`); an
    /// unspecified address (0.0.0.0, ::) is asked on loopback.
    #[arg(long, env = "PLEXCACHE_LISTEN", default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 5)]
    timeout_secs: u64,
}

impl HealthArgs {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        let url = format!("http://{}/api/health", reachable(self.listen));
        match check(&url, Duration::from_secs(self.timeout_secs.max(1))).await {
            Ok(()) => {
                println!("ok: {url}");
                Ok(ExitCode::SUCCESS)
            }
            Err(problem) => {
                eprintln!("unhealthy: {url}: {problem}");
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

/// Where a client reaches a server listening on `listen`.
fn reachable(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

async fn check(url: &str, timeout: Duration) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .no_proxy()
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("no answer ({})", super::error_chain(&e.into())))?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|e| format!("HTTP {status} with a body that is not JSON ({e})"))?;
    if status.is_success() && body["status"] == "ok" {
        Ok(())
    } else {
        Err(format!("HTTP {status}: {body}"))
    }
}

#[cfg(test)]
mod tests {
    use super::reachable;

    #[test]
    fn unspecified_addresses_are_asked_on_loopback() {
        let cases = [
            ("0.0.0.0:5765", "127.0.0.1:5765"),
            ("[::]:80", "[::1]:80"),
            ("192.168.1.4:5765", "192.168.1.4:5765"),
        ];
        for (listen, expected) in cases {
            let listen = listen.parse().expect("test address");
            assert_eq!(reachable(listen).to_string(), expected);
        }
    }
}
