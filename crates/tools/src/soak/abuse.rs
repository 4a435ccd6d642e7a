//! The soak's abuse phase, run while the query load goes on: a connection
//! flood (hundreds of idle connections and a burst of large pages, each on
//! its own connection) and slow clients that never read their answers.
//! Afterwards the server must answer, and its memory and descriptors must
//! come back near where they were before.

use std::time::{Duration, Instant};

use plexcache_harness::raw_get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Tally, mib, watch};

/// Idle connections opened at once (beyond the server's connection cap).
const IDLE_CONNECTIONS: usize = 600;
/// Requests for 1,000-track pages sent at once, one connection each.
const BURST: usize = 400;
/// Clients that ask for pages and never read them, and pages each asks for.
const SLOW_CLIENTS: usize = 48;
const PAGES_PER_SLOW_CLIENT: usize = 10;
/// How long memory may take to come back after the phase.
const SETTLE: Duration = Duration::from_secs(5);
/// Memory may stay this much above its level before the phase.
const RSS_SLACK_KIB: u64 = 64 * 1024;
/// Open descriptors may differ by this many afterwards.
const FD_SLACK: u64 = 24;

/// What the phase saw, for the report.
#[derive(Debug, Default)]
pub struct AbuseReport {
    idle_opened: usize,
    burst_ok: usize,
    burst_busy: usize,
    burst_failed: usize,
    fresh_client_ms: Option<u128>,
    slow_connected: usize,
    slow_closed: usize,
    rss_before: u64,
    rss_peak: u64,
    rss_after: u64,
    fds_before: u64,
    fds_peak: u64,
    fds_after: u64,
}

/// Runs the phase against the server at `addr` (`host:port`), process `pid`.
pub async fn run(addr: &str, pid: u32, tracks: usize, tally: &mut Tally) -> AbuseReport {
    let mut report = AbuseReport {
        rss_before: watch::rss_kib(pid).unwrap_or(0),
        fds_before: watch::fd_count(pid).unwrap_or(0),
        ..AbuseReport::default()
    };
    let pages = tracks.div_ceil(1000).max(1);
    connection_flood(addr, pid, pages, &mut report).await;
    slow_clients(addr, pid, &mut report).await;
    tokio::time::sleep(SETTLE).await;
    report.rss_after = watch::rss_kib(pid).unwrap_or(0);
    report.fds_after = watch::fd_count(pid).unwrap_or(0);
    judge(&report, tally);
    print(&report);
    report
}

fn note_peak(pid: u32, report: &mut AbuseReport) {
    report.rss_peak = report.rss_peak.max(watch::rss_kib(pid).unwrap_or(0));
    report.fds_peak = report.fds_peak.max(watch::fd_count(pid).unwrap_or(0));
}

async fn connection_flood(addr: &str, pid: u32, pages: usize, report: &mut AbuseReport) {
    let mut idle = Vec::with_capacity(IDLE_CONNECTIONS);
    for _ in 0..IDLE_CONNECTIONS {
        match TcpStream::connect(addr).await {
            Ok(stream) => idle.push(stream),
            Err(_) => break,
        }
    }
    report.idle_opened = idle.len();
    let burst: Vec<_> = (0..BURST)
        .map(|i| {
            let addr = addr.to_owned();
            let target = format!("/api/library/tracks?limit=1000&offset={}", i % pages * 1000);
            tokio::spawn(async move { one_request(&addr, &target).await })
        })
        .collect();
    // A new client behind the flood is still answered.
    let started = Instant::now();
    if one_request(addr, "/api/health").await == Some(200) {
        report.fresh_client_ms = Some(started.elapsed().as_millis());
    }
    note_peak(pid, report);
    for task in burst {
        match task.await.ok().flatten() {
            Some(200) => report.burst_ok += 1,
            Some(503) => report.burst_busy += 1,
            _ => report.burst_failed += 1,
        }
    }
    note_peak(pid, report);
    drop(idle);
}

/// One request on its own connection; the status, if one came.
async fn one_request(addr: &str, target: &str) -> Option<u16> {
    raw_get(addr, target, Duration::from_secs(60))
        .await
        .map(|(status, _)| status)
}

async fn slow_clients(addr: &str, pid: u32, report: &mut AbuseReport) {
    let request = format!("GET /api/library/tracks?limit=1000 HTTP/1.1\r\nHost: {addr}\r\n\r\n")
        .repeat(PAGES_PER_SLOW_CLIENT);
    let mut slow = Vec::with_capacity(SLOW_CLIENTS);
    for _ in 0..SLOW_CLIENTS {
        if let Ok(mut stream) = TcpStream::connect(addr).await
            && stream.write_all(request.as_bytes()).await.is_ok()
        {
            slow.push(stream);
        }
    }
    report.slow_connected = slow.len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    note_peak(pid, report);
    // The kernel takes a little more now and then while its buffers grow,
    // so the stall clock may start a few seconds late.
    tokio::time::sleep(plexcache::api::WRITE_STALL_TIMEOUT + Duration::from_secs(8)).await;
    // Reading now: a dropped client gets what was buffered, then the end,
    // short of its ten whole answers; a kept one would get all ten.
    let reads: Vec<_> = slow
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move {
                let mut answers = Vec::new();
                let read =
                    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answers))
                        .await;
                read.is_ok() && complete_answers(&answers) < PAGES_PER_SLOW_CLIENT
            })
        })
        .collect();
    for read in reads {
        if read.await.unwrap_or(false) {
            report.slow_closed += 1;
        }
    }
}

/// Whole HTTP answers (head and `Content-Length` bytes of body) in `bytes`.
fn complete_answers(mut bytes: &[u8]) -> usize {
    let mut count = 0;
    while let Some(head_end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&bytes[..head_end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok());
        let Some(end) = length.map(|n| head_end + 4 + n) else {
            break;
        };
        if end > bytes.len() {
            break;
        }
        count += 1;
        bytes = &bytes[end..];
    }
    count
}

fn judge(report: &AbuseReport, tally: &mut Tally) {
    if report.fresh_client_ms.is_none() {
        tally.fail("during the connection flood a new client got no answer");
    }
    if report.burst_ok == 0 {
        tally.fail("the burst of requests got no page at all");
    }
    if report.slow_closed < SLOW_CLIENTS {
        tally.fail(format!(
            "{} of {SLOW_CLIENTS} clients that never read stayed connected",
            SLOW_CLIENTS - report.slow_closed
        ));
    }
    if report.rss_before > 0 && report.rss_after > report.rss_before + RSS_SLACK_KIB {
        tally.fail(format!(
            "memory did not come back after the flood: {:.1} MiB before, {:.1} MiB after",
            mib(report.rss_before),
            mib(report.rss_after)
        ));
    }
    if report.fds_after > report.fds_before + FD_SLACK {
        tally.fail(format!(
            "descriptors did not come back after the flood: {} before, {} after",
            report.fds_before, report.fds_after
        ));
    }
}

fn print(report: &AbuseReport) {
    println!(
        "connection flood: {} idle connections, a burst of {BURST} page requests \
         ({} ok, {} busy 503, {} failed); a new client answered in {}",
        report.idle_opened,
        report.burst_ok,
        report.burst_busy,
        report.burst_failed,
        report
            .fresh_client_ms
            .map_or("never".to_owned(), |ms| format!("{ms} ms"))
    );
    println!(
        "slow clients: {} connected, {} of {SLOW_CLIENTS} never-reading clients dropped by the server",
        report.slow_connected, report.slow_closed
    );
    println!(
        "server RSS around the flood: before {:.1} MiB, peak {:.1} MiB, {} s after {:.1} MiB; \
         fds before {}, peak {}, after {}",
        mib(report.rss_before),
        mib(report.rss_peak),
        SETTLE.as_secs(),
        mib(report.rss_after),
        report.fds_before,
        report.fds_peak,
        report.fds_after
    );
}
