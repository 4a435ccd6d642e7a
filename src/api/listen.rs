//! The accept loop of `plexcache serve`: a cap on open connections (kept
//! below the process's descriptor limit), timeouts for clients that send
//! their request slowly, stay idle or stop reading their answer, accept
//! errors that back off instead of spinning, and graceful shutdown. A
//! long-lived answer (an event stream, marked [`LongLived`]) counts as a
//! request being handled until its body ends.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// Marks an answer whose body stays open for long (an event stream): its
/// connection is not idle while it lasts, and is not closed as quiet when
/// the server is full. It must bound itself (the event streams are few and
/// write a keep-alive), and a client that stops reading it is still closed.
#[derive(Debug, Clone, Copy)]
pub struct LongLived;

/// A request's head must arrive within this time. hyper starts the clock
/// whenever it waits for a request, so it also closes idle keep-alive
/// connections.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection that moves no byte either way for this long is closed (a
/// stalled upload, a handler-free wait).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// A request body must arrive whole within this time of its head: a body
/// trickled in a byte at a time must not hold a connection for good.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// An answer the client has not taken a byte of for this long is dropped
/// with its connection: a client that never reads must not pin memory.
pub const WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(15);
/// Open connections at most; more wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 512;
/// When every connection slot is taken, a connection that has moved no
/// byte for this long (and has no request being handled) makes room.
pub const QUIET_WHEN_FULL: Duration = Duration::from_secs(1);
/// Descriptors kept free of connections for the cache, the log and Plex.
const RESERVED_DESCRIPTORS: u64 = 128;
/// The longest pause after an accept error (doubling from 10 ms).
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);
/// How long shutdown waits for open connections to finish their answers.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The limits one server applies to its connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_read: Duration,
    pub idle: Duration,
    pub write_stall: Duration,
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read: HEADER_READ_TIMEOUT,
            idle: IDLE_TIMEOUT,
            write_stall: WRITE_STALL_TIMEOUT,
            max_connections: MAX_CONNECTIONS.min(descriptor_budget()),
        }
    }
}

/// Connections the descriptor limit leaves room for (at least 16).
fn descriptor_budget() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return MAX_CONNECTIONS;
    }
    let free = limit.rlim_cur.saturating_sub(RESERVED_DESCRIPTORS).max(16);
    usize::try_from(free).unwrap_or(MAX_CONNECTIONS)
}

/// Accepts connections until `stop` is cancelled, then lets open ones finish
/// their current answer (for at most [`DRAIN_TIMEOUT`]).
pub async fn accept_loop(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stop: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (crowded, crowded_rx) = watch::channel(false);
    let connections = TaskTracker::new();
    let mut backoff = Duration::ZERO;
    loop {
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                // Full: quiet connections close to make room.
                crowded.send_replace(true);
                let permit = tokio::select! {
                    permit = slots.clone().acquire_owned() => permit,
                    () = stop.cancelled() => break,
                };
                crowded.send_replace(false);
                match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                }
            }
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.cancelled() => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = Duration::ZERO;
                let watch = Watch {
                    limits,
                    stop: stop.clone(),
                    crowded: crowded_rx.clone(),
                };
                let router = router.clone();
                connections.spawn(async move {
                    serve_connection(stream, peer, router, watch).await;
                    drop(permit);
                });
            }
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                backoff = (backoff * 2).clamp(Duration::from_millis(10), MAX_ACCEPT_BACKOFF);
                tracing::warn!("accept error: {e}; retrying in {} ms", backoff.as_millis());
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {},
                    () = stop.cancelled() => break,
                }
            }
        }
    }
    drop(listener);
    connections.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, connections.wait())
        .await
        .is_err()
    {
        tracing::info!("closing connections still open after the drain time");
    }
}

fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// What a connection watches besides its socket.
struct Watch {
    limits: ConnectionLimits,
    stop: CancellationToken,
    /// True while every connection slot is taken.
    crowded: watch::Receiver<bool>,
}

/// One HTTP/1.1 connection, closed by hyper's header timeout or by the
/// watchdog when it stalls, idles, or sits quiet while the server is full.
async fn serve_connection(stream: TcpStream, peer: SocketAddr, router: Router, mut watch: Watch) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let handling = activity.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let mut request = request.map(with_deadline);
        request.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        let handling = handling.clone();
        async move {
            handling.begin();
            let response = router.oneshot(request).await;
            Ok::<_, std::convert::Infallible>(match response {
                Ok(response) if response.extensions().get::<LongLived>().is_some() => {
                    response.map(|body| Body::new(Handled { body, handling }))
                }
                Ok(response) => {
                    handling.end();
                    response
                }
                Err(never) => match never {},
            })
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(watch.limits.header_read);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut stopping = false;
    let mut accepting = true;
    loop {
        let crowded = *watch.crowded.borrow_and_update();
        let check = activity.next_check(&watch.limits, crowded);
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!("connection from {peer} ended: {e}");
                }
                return;
            }
            () = watch.stop.cancelled(), if !stopping => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
            changed = watch.crowded.changed(), if accepting => {
                // An error means the accept loop is gone; shutdown follows.
                accepting = changed.is_ok();
            }
            () = tokio::time::sleep(check) => {
                if let Some(why) = activity.expired(&watch.limits, crowded) {
                    tracing::debug!("closing the connection from {peer}: {why}");
                    return;
                }
            }
        }
    }
}

/// The body, failing once [`BODY_READ_TIMEOUT`] has passed (an empty body
/// as it is, with no timer).
fn with_deadline(body: Incoming) -> Body {
    if body.is_end_stream() {
        return Body::new(body);
    }
    Body::new(Deadline {
        inner: Body::new(body),
        expires: Box::pin(tokio::time::sleep(BODY_READ_TIMEOUT)),
    })
}

/// A request body with a deadline for its last byte.
struct Deadline {
    inner: Body,
    expires: Pin<Box<tokio::time::Sleep>>,
}

impl HttpBody for Deadline {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if self.expires.as_mut().poll(cx).is_ready() {
            let late = std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the request body did not arrive in time",
            );
            return Poll::Ready(Some(Err(axum::Error::new(late))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A long-lived answer's body: the request counts as handled until the
/// body ends or is dropped (the client went away, or serving stopped).
struct Handled {
    body: Body,
    handling: Arc<Activity>,
}

impl Drop for Handled {
    fn drop(&mut self) {
        self.handling.end();
    }
}

impl HttpBody for Handled {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// When a connection last moved a byte, and since when a write has waited
/// for the client to read (milliseconds since `start`; 0 = not waiting).
struct Activity {
    start: Instant,
    last_progress: AtomicU64,
    write_blocked_since: AtomicU64,
    /// Requests of this connection being handled now.
    handling: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_progress: AtomicU64::new(0),
            write_blocked_since: AtomicU64::new(0),
            handling: AtomicU64::new(0),
        }
    }

    fn begin(&self) {
        self.handling.fetch_add(1, Ordering::Relaxed);
        self.progressed();
    }

    fn end(&self) {
        self.handling.fetch_sub(1, Ordering::Relaxed);
        self.progressed();
    }

    fn now(&self) -> u64 {
        // +1 so that 0 keeps meaning "not waiting".
        u64::try_from(self.start.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    }

    fn progressed(&self) {
        self.last_progress.store(self.now(), Ordering::Relaxed);
    }

    fn write_blocked(&self) {
        let now = self.now();
        let _ =
            self.write_blocked_since
                .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
    }

    fn wrote(&self) {
        self.write_blocked_since.store(0, Ordering::Relaxed);
        self.progressed();
    }

    /// Why the connection should be closed now, if it should.
    fn expired(&self, limits: &ConnectionLimits, crowded: bool) -> Option<&'static str> {
        let now = self.now();
        let blocked = self.write_blocked_since.load(Ordering::Relaxed);
        if blocked != 0 && now.saturating_sub(blocked) >= millis(limits.write_stall) {
            return Some("the client stopped reading its answer");
        }
        if self.handling.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let quiet = now.saturating_sub(self.last_progress.load(Ordering::Relaxed));
        if quiet >= millis(limits.idle) {
            return Some("idle");
        }
        (crowded && quiet >= millis(QUIET_WHEN_FULL)).then_some("quiet while the server is full")
    }

    /// How long until [`Activity::expired`] could first say yes.
    fn next_check(&self, limits: &ConnectionLimits, crowded: bool) -> Duration {
        let now = self.now();
        let quiet_for = if crowded {
            QUIET_WHEN_FULL
        } else {
            limits.idle
        };
        let mut due = self
            .last_progress
            .load(Ordering::Relaxed)
            .saturating_add(millis(quiet_for));
        let blocked = self.write_blocked_since.load(Ordering::Relaxed);
        if blocked != 0 {
            due = due.min(blocked.saturating_add(millis(limits.write_stall)));
        }
        // A write may block, or a request end, after this was planned.
        let cap = if crowded {
            QUIET_WHEN_FULL
        } else {
            limits.write_stall
        };
        Duration::from_millis(due.saturating_sub(now).min(millis(cap)).max(10))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A socket that tells its [`Activity`] about every byte moved and every
/// write that has to wait.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.progressed();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.note_write(&result);
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.note_write(&result);
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Watched {
    fn note_write(&self, result: &Poll<std::io::Result<usize>>) {
        match result {
            Poll::Ready(Ok(n)) if *n > 0 => self.activity.wrote(),
            Poll::Pending => self.activity.write_blocked(),
            _ => {}
        }
    }
}
