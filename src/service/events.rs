//! What happened to the library, as it happens: the live listener and the
//! syncs publish here, and the HTTP API streams it to the page
//! (`/api/events`). A broadcast channel: a slow subscriber misses events
//! (it is told how many) and catches up by reading the status again.

use tokio::sync::broadcast;

/// Events kept for a subscriber that has not read them yet.
const BACKLOG: usize = 256;

/// One thing the page may want to know at once.
#[derive(Debug, Clone, PartialEq)]
pub enum LibraryEvent {
    /// Tracks were added, changed or removed (by the live listener, a delta
    /// refresh or a full sync) and the change is committed.
    Changed(LibraryChange),
    /// A sync started, moved on, or ended; the status says the rest.
    SyncProgress,
    /// Plex became reachable, or stopped being so; or live updates started
    /// or stopped.
    Connection { plex_connected: bool, live: bool },
}

/// Counts of one committed change, for a toast ("3 tracks added").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LibraryChange {
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    /// Unix seconds when it was committed.
    pub at: i64,
}

impl LibraryChange {
    pub fn is_empty(&self) -> bool {
        self.added == 0 && self.changed == 0 && self.removed == 0
    }
}

/// The channel every part of the service publishes on. Cheap to clone.
#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<LibraryEvent>,
}

impl Default for EventBus {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(BACKLOG);
        EventBus { sender }
    }
}

impl EventBus {
    /// Sends to every current subscriber; nobody listening is fine.
    pub fn publish(&self, event: LibraryEvent) {
        let _ = self.sender.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LibraryEvent> {
        self.sender.subscribe()
    }
}

/// Whether the library follows Plex live right now, and when the last
/// change arrived (from any source).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveState {
    /// The notification stream is connected and the catch-up refresh done.
    pub live: bool,
    /// Unix seconds of the last committed change to the library.
    pub last_change_at: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_subscriber_gets_each_event_once() {
        let bus = EventBus::default();
        let mut first = bus.subscribe();
        let mut second = bus.subscribe();
        let change = LibraryChange {
            added: 3,
            changed: 1,
            removed: 0,
            at: 10,
        };
        bus.publish(LibraryEvent::Changed(change));
        assert_eq!(first.recv().await.ok(), Some(LibraryEvent::Changed(change)));
        assert_eq!(
            second.recv().await.ok(),
            Some(LibraryEvent::Changed(change))
        );
        assert!(first.try_recv().is_err());
    }
}
