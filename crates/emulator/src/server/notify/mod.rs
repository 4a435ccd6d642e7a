//! The notification stream's hub: frames go out to every connected client
//! through a broadcast channel (a client that falls behind loses frames
//! instead of holding up serving or changes), per-client type filters,
//! dropping every stream at once, and the count of connected clients.

mod frames;
mod stream;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::catalog::Catalog;
use crate::effect::Effect;
use crate::model::SectionKind;
pub(crate) use frames::Frame;
use frames::NoiseSections;
pub(crate) use stream::{event_source, websocket};

/// Frames kept for clients that read slower than changes are made; a
/// client further behind loses the oldest.
const CHANNEL_FRAMES: usize = 16_384;

pub(crate) struct Notifier {
    sender: broadcast::Sender<Arc<Frame>>,
    /// Cancelled to close every open stream; replaced right after.
    closer: Mutex<CancellationToken>,
    shutdown: CancellationToken,
    clients: Arc<AtomicUsize>,
    sequence: AtomicU64,
    ping_interval: Duration,
}

impl Notifier {
    pub fn new(ping_interval: Duration, shutdown: CancellationToken) -> Notifier {
        let (sender, _) = broadcast::channel(CHANNEL_FRAMES);
        Notifier {
            sender,
            closer: Mutex::new(shutdown.child_token()),
            shutdown,
            clients: Arc::new(AtomicUsize::new(0)),
            sequence: AtomicU64::new(0),
            ping_interval,
        }
    }

    fn closer(&self) -> MutexGuard<'_, CancellationToken> {
        self.closer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends the frames for `effects` to every connected client.
    pub fn publish(&self, catalog: &Catalog, effects: &[Effect]) {
        if effects.is_empty() {
            return;
        }
        let seq = self.sequence.fetch_add(1, Ordering::Relaxed);
        for frame in frames::frames_for(effects, &noise_sections(catalog), seq) {
            self.send(frame);
        }
    }

    /// Sends background noise (frames no cached section cares about).
    pub fn publish_noise(&self, catalog: &Catalog) {
        let seq = self.sequence.fetch_add(1, Ordering::Relaxed);
        for frame in frames::noise_frames(&noise_sections(catalog), seq) {
            self.send(frame);
        }
    }

    fn send(&self, frame: Frame) {
        // No receiver: nobody listens, the frame is lost as on Plex.
        let _ = self.sender.send(Arc::new(frame));
    }

    /// Closes every open stream now.
    pub fn drop_all(&self) {
        let mut closer = self.closer();
        closer.cancel();
        *closer = self.shutdown.child_token();
    }

    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }

    /// A new client's view of the stream.
    pub fn subscribe(&self, filter: TypeFilter, drop_after: Option<u32>) -> Subscription {
        self.clients.fetch_add(1, Ordering::Relaxed);
        let mut ping =
            tokio::time::interval_at(Instant::now() + self.ping_interval, self.ping_interval);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Subscription {
            receiver: self.sender.subscribe(),
            closed: self.closer().clone(),
            ping,
            filter,
            remaining: drop_after,
            _client: ClientCount(Arc::clone(&self.clients)),
        }
    }
}

fn noise_sections(catalog: &Catalog) -> NoiseSections {
    let movie = catalog
        .library()
        .sections
        .iter()
        .find(|s| s.kind == SectionKind::Movie)
        .map(|s| s.key.clone());
    NoiseSections { movie }
}

/// Which frame types a client asked for with `filters=`: a comma list
/// selects types, a leading `-` excludes one; `-log` when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TypeFilter {
    include: Vec<String>,
    exclude: Vec<String>,
}

impl TypeFilter {
    pub fn parse(filters: Option<&str>) -> TypeFilter {
        let mut filter = TypeFilter::default();
        for name in filters.unwrap_or("-log").split(',').map(str::trim) {
            match name.strip_prefix('-') {
                Some(excluded) if !excluded.is_empty() => filter.exclude.push(excluded.to_string()),
                Some(_) => {}
                None if !name.is_empty() => filter.include.push(name.to_string()),
                None => {}
            }
        }
        filter
    }

    pub fn allows(&self, kind: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|k| k == kind))
            && !self.exclude.iter().any(|k| k == kind)
    }
}

/// What a stream sends next.
pub(crate) enum Outgoing {
    Frame(Arc<Frame>),
    Ping,
}

/// One client's stream: its frames, pings, filter and frame budget.
pub(crate) struct Subscription {
    receiver: broadcast::Receiver<Arc<Frame>>,
    closed: CancellationToken,
    ping: Interval,
    filter: TypeFilter,
    remaining: Option<u32>,
    _client: ClientCount,
}

impl Subscription {
    /// The next thing to send; `None` when the stream must close.
    pub async fn next(&mut self) -> Option<Outgoing> {
        loop {
            if self.remaining == Some(0) {
                return None;
            }
            tokio::select! {
                biased;
                () = self.closed.cancelled() => return None,
                _ = self.ping.tick() => return Some(Outgoing::Ping),
                received = self.receiver.recv() => match received {
                    Ok(frame) if self.filter.allows(frame.kind) => {
                        self.remaining = self.remaining.map(|n| n.saturating_sub(1));
                        return Some(Outgoing::Frame(frame));
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(lost)) => {
                        tracing::debug!(lost, "a slow notification client lost frames");
                    }
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    }
}

/// Counts a connected client for as long as it lives.
struct ClientCount(Arc<AtomicUsize>);

impl Drop for ClientCount {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_select_and_exclude_types() {
        let default = TypeFilter::parse(None);
        assert!(default.allows("timeline"));
        assert!(!default.allows("log"));
        let chosen = TypeFilter::parse(Some("timeline,playing"));
        assert!(chosen.allows("playing"));
        assert!(!chosen.allows("activity"));
        let excluding = TypeFilter::parse(Some("-activity,-status"));
        assert!(excluding.allows("timeline"));
        assert!(!excluding.allows("status"));
    }
}
