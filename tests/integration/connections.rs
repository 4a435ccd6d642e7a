//! The server's connections under abuse, against a real `plexcache serve`
//! child process and the emulator over loopback: idle, half-sent and
//! never-read connections are closed, a flood of idle connections beyond
//! the descriptor limit does not stop the server answering, and memory
//! returns near its baseline after request floods.

use std::time::{Duration, Instant};

use plexcache_emulator::EmulatorHandle;
use plexcache_harness::process::{command_through_shell, fd_count, point_at, rss_kib};
use plexcache_harness::{ServeChild, raw_get};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{PLEXCACHE, TOKEN};

async fn spawn_plex(tracks: usize) -> EmulatorHandle {
    crate::helpers::spawn_plex(tracks, 17).await
}

/// `plexcache serve` as a child, optionally under a descriptor limit.
struct Served {
    child: ServeChild,
    addr: String,
    _dir: tempfile::TempDir,
    log: std::path::PathBuf,
}

impl Served {
    async fn start(plex: &EmulatorHandle, descriptor_limit: Option<u32>) -> Served {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("serve.log");
        let ulimit = descriptor_limit.map_or(String::from(":"), |n| format!("ulimit -n {n}"));
        let mut command = command_through_shell(std::path::Path::new(PLEXCACHE), &ulimit);
        point_at(&mut command, &dir.path().join("data"), &plex.url(), TOKEN);
        command
            .env("RUST_LOG", "info")
            .stderr(std::fs::File::create(&log).expect("log file"));
        let child = ServeChild::start(command).await.expect("plexcache serve");
        let client = child.client().expect("a client");
        if let Err(e) = client.wait_synced().await {
            panic!("no first sync: {e:#}");
        }
        Served {
            addr: child.addr.clone(),
            child,
            _dir: dir,
            log,
        }
    }

    /// Resident memory in KiB.
    fn rss_kib(&self) -> u64 {
        rss_kib(self.child.pid()).expect("VmRSS")
    }

    fn open_descriptors(&self) -> usize {
        fd_count(self.child.pid()).unwrap_or(0) as usize
    }

    async fn stop(mut self) -> String {
        let ended = self.child.stop(Duration::from_secs(20)).await;
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        assert!(ended.is_some(), "serve did not stop on SIGTERM:\n{log}");
        log
    }
}

/// One request on a fresh connection; the status and the body.
async fn get(addr: &str, target: &str) -> (u16, String) {
    raw_get(addr, target, Duration::from_secs(30))
        .await
        .unwrap_or((0, String::new()))
}

/// Reads until the server closes the connection; how long that took, or
/// `None` if it stayed open for `within`.
async fn closed_within(mut stream: TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut sink = Vec::new();
    match tokio::time::timeout(within, stream.read_to_end(&mut sink)).await {
        Ok(_) => Some(started.elapsed()),
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_half_sent_and_kept_alive_connections_are_closed() {
    let plex = spawn_plex(200).await;
    let served = Served::start(&plex, None).await;
    let addr = served.addr.clone();
    // Sends nothing at all.
    let idle = TcpStream::connect(&addr).await.expect("connect");
    // Sends half a request head, then a byte every two seconds.
    let mut trickling = TcpStream::connect(&addr).await.expect("connect");
    trickling
        .write_all(b"GET /api/library/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .expect("write");
    let trickle = tokio::spawn(async move {
        for _ in 0..30 {
            tokio::time::sleep(Duration::from_secs(2)).await;
            if trickling.write_all(b"a").await.is_err() {
                return true;
            }
        }
        false
    });
    // One whole request, then kept alive without another.
    let mut kept = TcpStream::connect(&addr).await.expect("connect");
    kept.write_all(format!("GET /api/health HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut first = [0u8; 12];
    kept.read_exact(&mut first).await.expect("an answer");
    assert_eq!(&first, b"HTTP/1.1 200");

    let limit = plexcache::api::HEADER_READ_TIMEOUT + Duration::from_secs(5);
    let (idle, kept) = tokio::join!(closed_within(idle, limit), closed_within(kept, limit));
    assert!(
        idle.is_some(),
        "an idle connection stayed open for {limit:?}"
    );
    assert!(
        kept.is_some(),
        "a kept-alive connection stayed open for {limit:?}"
    );
    let trickle_cut = tokio::time::timeout(Duration::from_secs(10), trickle)
        .await
        .expect("the trickling client was cut off")
        .expect("task");
    assert!(trickle_cut, "a request head trickled in for a minute");
    // The server still answers.
    assert_eq!(get(&addr, "/api/health").await.0, 200);
    served.stop().await;
    plex.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_beyond_the_descriptor_limit_leave_the_server_answering() {
    let plex = spawn_plex(200).await;
    // 256 descriptors: connections are capped well below.
    let served = Served::start(&plex, Some(256)).await;
    // Connections beyond what the server and its backlog take at once may
    // time out connecting; the rest stay open doing nothing.
    let mut idle = Vec::new();
    for _ in 0..600 {
        let connect = TcpStream::connect(&served.addr);
        if let Ok(Ok(stream)) = tokio::time::timeout(Duration::from_millis(200), connect).await {
            idle.push(stream);
        }
    }
    let opened = idle.len();
    // Let the server take what it can.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let (status, body) = get(&served.addr, "/api/library/status").await;
    let waited = started.elapsed();
    assert_eq!(status, 200, "a new client was not answered: {body}");
    assert!(
        served.open_descriptors() < 256,
        "the server ran out of descriptors"
    );
    drop(idle);
    let log = served.stop().await;
    assert!(
        !log.contains("Too many open files"),
        "the server hit its descriptor limit:\n{log}"
    );
    eprintln!("a new client behind {opened} idle connections was answered in {waited:?}");
    plex.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_its_answers_is_dropped() {
    let plex = spawn_plex(3000).await;
    let served = Served::start(&plex, None).await;
    let mut stream = TcpStream::connect(&served.addr).await.expect("connect");
    // Forty pipelined 1,000-track pages: far more than socket buffers hold.
    let request = format!(
        "GET /api/library/tracks?limit=1000 HTTP/1.1\r\nHost: {}\r\n\r\n",
        served.addr
    );
    stream
        .write_all(request.repeat(40).as_bytes())
        .await
        .expect("write");
    // The kernel takes a little more now and then while its buffers grow,
    // so the stall clock may start a few seconds late.
    tokio::time::sleep(plexcache::api::WRITE_STALL_TIMEOUT + Duration::from_secs(8)).await;
    // Now read: the server must have given up on this connection, so the
    // answers end early, short of forty.
    let mut answers = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answers)).await;
    let marker = b"HTTP/1.1 ";
    let count = answers
        .windows(marker.len())
        .filter(|w| w == marker)
        .count();
    assert!(
        read.is_ok() && count < 40,
        "a connection whose client stopped reading stayed open ({count} answers)"
    );
    assert_eq!(get(&served.addr, "/api/health").await.0, 200);
    served.stop().await;
    plex.shutdown().await;
}

/// `rounds` floods of `concurrent` requests for 1,000-track pages, each on
/// its own connection, all at once.
async fn flood(addr: &str, rounds: usize, concurrent: usize) -> (usize, usize) {
    let (mut ok, mut busy) = (0, 0);
    for round in 0..rounds {
        let tasks: Vec<_> = (0..concurrent)
            .map(|i| {
                let addr = addr.to_owned();
                let offset = (round * concurrent + i) % 3 * 1000;
                tokio::spawn(async move {
                    get(
                        &addr,
                        &format!("/api/library/tracks?limit=1000&offset={offset}"),
                    )
                    .await
                    .0
                })
            })
            .collect();
        for task in tasks {
            match task.await.unwrap_or(0) {
                200 => ok += 1,
                503 => busy += 1,
                _ => {}
            }
        }
    }
    (ok, busy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_returns_near_its_baseline_after_request_floods() {
    let plex = spawn_plex(3000).await;
    let served = Served::start(&plex, None).await;
    // Warm the caches with the same pages the flood asks for.
    for offset in [0, 1000, 2000, 0, 1000, 2000] {
        let (status, _) = get(
            &served.addr,
            &format!("/api/library/tracks?limit=1000&offset={offset}"),
        )
        .await;
        assert_eq!(status, 200);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let baseline = served.rss_kib();
    let (ok, busy) = flood(&served.addr, 4, 1500).await;
    let peak_after = served.rss_kib();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = served.rss_kib();
    eprintln!(
        "RSS baseline {} MiB, right after four floods {} MiB, 3 s later {} MiB ({ok} answered, {busy} busy)",
        baseline / 1024,
        peak_after / 1024,
        after / 1024
    );
    assert!(ok > 0, "the flood got no answer at all");
    let bound = baseline + 48 * 1024;
    assert!(
        after <= bound,
        "RSS stayed at {} MiB after the floods (baseline {} MiB)",
        after / 1024,
        baseline / 1024
    );
    assert_eq!(get(&served.addr, "/api/health").await.0, 200);
    served.stop().await;
    plex.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_body_trickled_in_is_cut_off() {
    let plex = spawn_plex(200).await;
    let served = Served::start(&plex, None).await;
    let mut stream = TcpStream::connect(&served.addr).await.expect("connect");
    let head = format!(
        "POST /api/filter/preview HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: 60\r\nConnection: close\r\n\r\n{{\"q\":\"",
        served.addr
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let (mut reader, mut writer) = stream.into_split();
    // One byte every two seconds: the whole body would take two minutes.
    let trickle = tokio::spawn(async move {
        for _ in 0..60 {
            tokio::time::sleep(Duration::from_secs(2)).await;
            if writer.write_all(b"a").await.is_err() {
                return;
            }
        }
    });
    let mut answer = Vec::new();
    let limit = plexcache::api::BODY_READ_TIMEOUT + Duration::from_secs(10);
    let read = tokio::time::timeout(limit, reader.read_to_end(&mut answer)).await;
    trickle.abort();
    assert!(
        read.is_ok(),
        "a trickled body held the connection for {limit:?}"
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
        "a cut-off body is a client error: {answer}"
    );
    assert_eq!(get(&served.addr, "/api/health").await.0, 200);
    served.stop().await;
    plex.shutdown().await;
}
