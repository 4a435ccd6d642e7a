//! Going offline and back online on the same port. The listening socket
//! sits in a [`Gate`]: going offline drops it at once (so connecting is
//! refused) and ends the open connections, which read end-of-file and close;
//! going online binds the same address again.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// Pending connections the rebound socket queues.
const BACKLOG: u32 = 1024;

/// The listening socket, present while online.
pub(crate) struct Gate {
    addr: SocketAddr,
    runtime: tokio::runtime::Handle,
    shutdown: CancellationToken,
    state: Mutex<GateState>,
}

struct GateState {
    listener: Option<TcpListener>,
    /// The task waiting to accept, woken when a new socket is installed.
    waker: Option<Waker>,
    /// Cancelled when the connections accepted since going online must end.
    connections: CancellationToken,
}

impl Gate {
    pub fn new(listener: TcpListener, addr: SocketAddr, shutdown: CancellationToken) -> Gate {
        let connections = shutdown.child_token();
        Gate {
            addr,
            runtime: tokio::runtime::Handle::current(),
            shutdown,
            state: Mutex::new(GateState {
                listener: Some(listener),
                waker: None,
                connections,
            }),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn state(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn is_online(&self) -> bool {
        self.state().listener.is_some()
    }

    /// Cancelled when the current connections are ended (offline or
    /// shutdown): what a hanging answer waits for.
    pub fn connections_ended(&self) -> CancellationToken {
        self.state().connections.clone()
    }

    /// Stops listening now. Open connections end after `linger` (so that
    /// an answer being sent can finish), or at once without one.
    pub fn go_offline(&self, linger: Option<Duration>) {
        let (listener, connections) = {
            let mut state = self.state();
            (state.listener.take(), state.connections.clone())
        };
        drop(listener);
        match linger {
            Some(delay) => {
                self.runtime.spawn(async move {
                    tokio::time::sleep(delay).await;
                    connections.cancel();
                });
            }
            None => connections.cancel(),
        }
    }

    /// Listens on the same address again. Does nothing when online or
    /// shutting down.
    pub fn go_online(&self) -> io::Result<()> {
        if self.shutdown.is_cancelled() || self.is_online() {
            return Ok(());
        }
        let listener = self.bind()?;
        let mut state = self.state();
        if state.listener.is_none() {
            state.listener = Some(listener);
            state.connections = self.shutdown.child_token();
            if let Some(waker) = state.waker.take() {
                waker.wake();
            }
        }
        Ok(())
    }

    /// Listens again after `pause` (a restart), on the gate's runtime.
    pub fn reopen_after(self: &Arc<Self>, pause: Duration) {
        let gate = Arc::clone(self);
        self.runtime.spawn(async move {
            tokio::time::sleep(pause).await;
            if let Err(error) = gate.go_online() {
                tracing::warn!(%error, addr = %gate.addr(), "cannot listen again after a restart");
            }
        });
    }

    fn bind(&self) -> io::Result<TcpListener> {
        let _runtime = self.runtime.enter();
        let socket = if self.addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(self.addr)?;
        socket.listen(BACKLOG)
    }

    /// Closes for good (shutdown).
    pub fn close(&self) {
        self.go_offline(None);
    }

    fn poll_accept(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(TcpStream, SocketAddr, CancellationToken)>> {
        let mut state = self.state();
        match &state.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => state.waker = Some(cx.waker().clone()),
        }
        let Some(listener) = &state.listener else {
            return Poll::Pending;
        };
        match listener.poll_accept(cx) {
            Poll::Ready(Ok((stream, peer))) => {
                Poll::Ready(Ok((stream, peer, state.connections.clone())))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The listener axum serves: accepts through the gate.
pub(crate) struct GatedListener {
    gate: Arc<Gate>,
}

impl GatedListener {
    pub fn new(gate: Arc<Gate>) -> Self {
        GatedListener { gate }
    }
}

impl axum::serve::Listener for GatedListener {
    type Io = GatedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match std::future::poll_fn(|cx| self.gate.poll_accept(cx)).await {
                Ok((stream, peer, ended)) => {
                    if let Err(error) = stream.set_nodelay(true) {
                        tracing::debug!(%error, "cannot disable Nagle's algorithm");
                    }
                    return (GatedStream::new(stream, ended), peer);
                }
                Err(error) => {
                    tracing::debug!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.gate.addr())
    }
}

/// A connection that reads end-of-file once its gate period has ended, so
/// the HTTP server closes it.
pub(crate) struct GatedStream {
    inner: TcpStream,
    ended: Pin<Box<WaitForCancellationFutureOwned>>,
    closed: bool,
}

impl GatedStream {
    fn new(inner: TcpStream, ended: CancellationToken) -> Self {
        GatedStream {
            inner,
            ended: Box::pin(ended.cancelled_owned()),
            closed: false,
        }
    }
}

impl AsyncRead for GatedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.closed || this.ended.as_mut().poll(cx).is_ready() {
            this.closed = true;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for GatedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
