//! Prometheus metrics of a running server, served at `/metrics` in the
//! OpenMetrics text format: the library's size, syncs (how long, how they
//! ended), live changes applied, HTTP requests per route and Plex's
//! reachability. Counters live for the process; gauges are set when the
//! metrics are read.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SyncLabels {
    /// `success`, `cancelled`, or the failure's kind (`unreachable`, …).
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The route's pattern (`/api/library/tracks`), `page` for the web
    /// page's files, `other` for anything unrouted: never the raw path, so
    /// the label set stays small whatever clients send.
    route: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

/// Every metric, cheap to clone and share.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    library_tracks: Gauge,
    plex_reachable: Gauge,
    syncs: Family<SyncLabels, Counter>,
    sync_seconds: Histogram,
    live_changes: Counter,
    live_batches: Counter,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RouteLabels, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("plexcache");
        let library_tracks = Gauge::default();
        registry.register(
            "library_tracks",
            "Tracks in the cached library",
            library_tracks.clone(),
        );
        let plex_reachable = Gauge::default();
        registry.register(
            "plex_reachable",
            "1 when the last probe reached Plex, 0 when it did not, -1 before the first",
            plex_reachable.clone(),
        );
        let syncs = Family::<SyncLabels, Counter>::default();
        registry.register(
            "syncs",
            "Syncs and refreshes this process ran, by outcome",
            syncs.clone(),
        );
        // 0.1 s to about 14 minutes.
        let sync_seconds = Histogram::new(exponential_buckets(0.1, 2.0, 14));
        registry.register(
            "sync_duration_seconds",
            "Wall time of the syncs and refreshes this process ran",
            sync_seconds.clone(),
        );
        let live_changes = Counter::default();
        registry.register(
            "live_changes_applied",
            "Library changes applied from Plex's notifications",
            live_changes.clone(),
        );
        let live_batches = Counter::default();
        registry.register(
            "live_batches_applied",
            "Write transactions that applied changes from Plex's notifications",
            live_batches.clone(),
        );
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route, method and status",
            requests.clone(),
        );
        let request_seconds = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 0.1 ms to about 1.6 s.
            Histogram::new(exponential_buckets(0.000_1, 2.0, 15))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route",
            request_seconds.clone(),
        );
        plex_reachable.set(-1);
        Metrics {
            inner: Arc::new(Inner {
                registry,
                library_tracks,
                plex_reachable,
                syncs,
                sync_seconds,
                live_changes,
                live_batches,
                requests,
                request_seconds,
            }),
        }
    }

    /// A sync or refresh ended: `outcome` is `success`, `cancelled` or the
    /// failure's kind.
    pub fn sync_ended(&self, outcome: &str, took: Duration) {
        self.inner
            .syncs
            .get_or_create(&SyncLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
        self.inner.sync_seconds.observe(took.as_secs_f64());
    }

    /// One transaction applied `count` changes from Plex's notifications.
    pub fn live_changes_applied(&self, count: u64) {
        self.inner.live_changes.inc_by(count);
        self.inner.live_batches.inc();
    }

    /// An HTTP request to `route` was answered with `status` after `took`.
    pub fn request_answered(
        &self,
        route: &'static str,
        method: &'static str,
        status: u16,
        took: Duration,
    ) {
        self.inner
            .requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
        self.inner
            .request_seconds
            .get_or_create(&RouteLabels { route })
            .observe(took.as_secs_f64());
    }

    /// The metrics as OpenMetrics text, with the gauges set from what the
    /// caller knows now.
    pub fn render(&self, library_tracks: i64, plex_reachable: Option<bool>) -> String {
        self.inner.library_tracks.set(library_tracks);
        self.inner
            .plex_reachable
            .set(plex_reachable.map_or(-1, i64::from));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.inner.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_gauges_show_in_the_text() {
        let metrics = Metrics::new();
        let before = metrics.render(0, None);
        assert!(before.contains("plexcache_plex_reachable -1"), "{before}");
        metrics.sync_ended("success", Duration::from_millis(1500));
        metrics.sync_ended("unreachable", Duration::from_millis(20));
        metrics.request_answered("/api/library/tracks", "GET", 200, Duration::from_millis(2));
        metrics.live_changes_applied(3);
        let text = metrics.render(1234, Some(true));
        for line in [
            "plexcache_library_tracks 1234",
            "plexcache_plex_reachable 1",
            "plexcache_syncs_total{outcome=\"success\"} 1",
            "plexcache_syncs_total{outcome=\"unreachable\"} 1",
            "plexcache_sync_duration_seconds_count 2",
            "plexcache_http_requests_total{route=\"/api/library/tracks\",method=\"GET\",status=\"200\"} 1",
            "plexcache_live_changes_applied_total 3",
            "plexcache_live_batches_applied_total 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
