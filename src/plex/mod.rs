//! The Plex client: talks to a Plex Media Server over HTTP(S), decodes its
//! JSON into our domain types, classifies every failure ([`PlexError`]) and
//! retries transient ones with backoff. The token travels only in the
//! `X-Plex-Token` header, so no URL, log line or error message can carry it,
//! and only to the configured origin: redirects elsewhere are refused.
//! Answers are read up to a size limit, never whole whatever their size.

pub mod delta;
mod error;
pub mod notify;
pub mod wire;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;

pub use delta::{AlbumCount, DeltaField, Since};
pub use error::PlexError;
pub use notify::{Notification, NotificationStream, PlayingEntry, TimelineEntry};
use wire::{Envelope, ItemContainer};

use crate::config::{self, Secret, Settings};
use crate::locks::MutexExt;

const PRODUCT: &str = "plexcache";
/// Keys per playlist request: far below the URI lengths where servers answer 414.
pub const PLAYLIST_CHUNK: usize = 200;
/// Same-origin redirects followed before giving up (reqwest's own default).
const MAX_REDIRECTS: usize = 10;
/// Bytes allowed per listed item: real items take 1 to 3 KB, so this leaves
/// room for long fields while a runaway answer stops early.
const BODY_BYTES_PER_ITEM: u64 = 64 * 1024;
/// The least any answer may take, whatever the page size.
const MIN_BODY_LIMIT: u64 = 32 * 1024 * 1024;

/// The largest answer accepted when pages hold `page_size` items (albums and
/// artists by key are asked for in batches of at most 100, below any page
/// size's limit).
pub fn body_limit(page_size: u64) -> u64 {
    page_size
        .saturating_mul(BODY_BYTES_PER_ITEM)
        .max(MIN_BODY_LIMIT)
}

/// A settings check is interactive: one try, and not for long.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// How to reach a server.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub url: String,
    pub token: Secret,
    pub timeout: Duration,
    pub retries: u32,
    pub accept_invalid_certs: bool,
    /// First retry delay; doubles each time.
    pub backoff: Duration,
    /// Longest answer body read, in bytes; longer fails as too large.
    pub max_body_bytes: u64,
}

impl ClientOptions {
    pub fn new(url: impl Into<String>, token: Secret) -> Self {
        Self {
            url: url.into(),
            token,
            timeout: Duration::from_secs_f64(config::DEFAULT_TIMEOUT_SECS),
            retries: config::DEFAULT_RETRIES,
            accept_invalid_certs: false,
            backoff: Duration::from_millis(250),
            max_body_bytes: body_limit(config::DEFAULT_PAGE_SIZE as u64),
        }
    }

    /// How the settings say to reach Plex; `None` without a URL and token.
    pub fn from_settings(settings: &Settings) -> Option<Self> {
        let (Some(url), Some(token)) = (&settings.plex_url, &settings.plex_token) else {
            return None;
        };
        let mut options = Self::new(url.clone(), token.clone());
        options.timeout = settings.timeout;
        options.retries = settings.retries;
        options.accept_invalid_certs = settings.accept_invalid_certs;
        options.max_body_bytes = body_limit(settings.page_size as u64);
        Some(options)
    }

    /// For a check a person waits on: one try with a short timeout.
    pub fn interactive(mut self) -> Self {
        self.timeout = self.timeout.min(CHECK_TIMEOUT);
        self.retries = 0;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    pub machine_identifier: String,
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Section {
    pub key: String,
    pub title: String,
    #[serde(skip)]
    pub kind: String,
    /// When the section's content last changed, and when it was last
    /// scanned (a scan that finds nothing moves only `scanned_at`).
    #[serde(skip)]
    pub markers: SectionMarkers,
}

/// A section's change markers on `/library/sections` (Unix seconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SectionMarkers {
    pub content_changed_at: Option<i64>,
    pub updated_at: Option<i64>,
    pub scanned_at: Option<i64>,
}

impl Section {
    /// Plex calls music libraries `artist` sections.
    pub fn is_music(&self) -> bool {
        self.kind == "artist"
    }
}

/// The order listings are paged in. Offsets are stable only under a fixed
/// order, but servers differ in the sorts they accept: some answer 500 to
/// `sort=ratingKey` and accept `sort=id`. Best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListingOrder {
    #[default]
    RatingKey,
    Id,
    AddedAt,
    /// The server's own order; the sync's settle pass still checks that a
    /// pass saw the library whole.
    Unsorted,
}

impl ListingOrder {
    /// The `sort` parameter, if any.
    pub fn param(self) -> Option<&'static str> {
        match self {
            ListingOrder::RatingKey => Some("ratingKey"),
            ListingOrder::Id => Some("id"),
            ListingOrder::AddedAt => Some("addedAt:asc"),
            ListingOrder::Unsorted => None,
        }
    }

    /// The order to try when this one is refused.
    pub fn next(self) -> Option<ListingOrder> {
        match self {
            ListingOrder::RatingKey => Some(ListingOrder::Id),
            ListingOrder::Id => Some(ListingOrder::AddedAt),
            ListingOrder::AddedAt => Some(ListingOrder::Unsorted),
            ListingOrder::Unsorted => None,
        }
    }
}

/// Which items a section listing returns (Plex's `type` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Artists = 8,
    Albums = 9,
    Tracks = 10,
}

/// A track as Plex describes it, before any of our derivations.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    pub rating_key: String,
    pub album_key: Option<String>,
    pub artist_key: Option<String>,
    pub title: Option<String>,
    /// What Plex sorts the title by; some servers send an empty `title` and
    /// the real one here.
    pub title_sort: Option<String>,
    pub album_artist: Option<String>,
    pub album: Option<String>,
    pub original_title: Option<String>,
    pub track_number: Option<i64>,
    pub disc_number: Option<i64>,
    pub album_year: Option<i64>,
    pub user_rating: Option<f64>,
    pub play_count: Option<i64>,
    pub last_played_at: Option<i64>,
    pub duration_ms: Option<i64>,
    pub added_at: Option<i64>,
    pub updated_at: Option<i64>,
    /// When the rating last changed (`lastRatedAt`; ratings do not move
    /// `updatedAt`).
    pub last_rated_at: Option<i64>,
    pub genres: Vec<String>,
}

/// An album or an artist: what tracks inherit genres (and albums, years) from.
#[derive(Debug, Clone, PartialEq)]
pub struct Parent {
    pub rating_key: String,
    pub parent_key: Option<String>,
    pub title: Option<String>,
    pub year: Option<i64>,
    pub genres: Vec<String>,
    pub deleted_at: Option<i64>,
    pub updated_at: Option<i64>,
}

/// One page of a listing.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// `totalSize`; absent on some servers and some answers.
    pub total: Option<u64>,
    pub offset: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaylistResult {
    pub rating_key: String,
    pub title: String,
    /// Items in the playlist as Plex reports them.
    pub item_count: u64,
}

/// A connection to one Plex server.
#[derive(Debug, Clone)]
pub struct PlexClient {
    http: reqwest::Client,
    base: Url,
    options: ClientOptions,
    /// Shared by clones: the order every listing asks for.
    order: Arc<Mutex<ListingOrder>>,
}

impl PlexClient {
    pub fn new(options: ClientOptions) -> Result<Self, PlexError> {
        let invalid = |reason: String| PlexError::InvalidUrl {
            url: options.url.clone(),
            reason,
        };
        crate::config::validate_plex_url(&options.url).map_err(|e| invalid(e.to_string()))?;
        let base =
            Url::parse(options.url.trim_end_matches('/')).map_err(|e| invalid(e.to_string()))?;
        let mut headers = reqwest::header::HeaderMap::new();
        let token = reqwest::header::HeaderValue::from_str(options.token.expose())
            .map_err(|_| invalid("the token holds characters a header cannot carry".into()))?;
        let mut token = token;
        token.set_sensitive(true);
        headers.insert("X-Plex-Token", token);
        headers.insert(
            reqwest::header::ACCEPT,
            reqwest::header::HeaderValue::from_static("application/json"),
        );
        headers.insert(
            "X-Plex-Product",
            reqwest::header::HeaderValue::from_static(PRODUCT),
        );
        headers.insert(
            "X-Plex-Version",
            reqwest::header::HeaderValue::from_static(env!("CARGO_PKG_VERSION")),
        );
        headers.insert(
            "X-Plex-Client-Identifier",
            reqwest::header::HeaderValue::from_static(PRODUCT),
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .redirect(same_origin_redirects(&base))
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .danger_accept_invalid_certs(options.accept_invalid_certs)
            .build()
            .map_err(|e| invalid(format!("cannot build an HTTP client: {e}")))?;
        Ok(Self {
            http,
            base,
            options,
            order: Arc::default(),
        })
    }

    /// The order listings are asked for in.
    pub fn listing_order(&self) -> ListingOrder {
        *self.order.lock_unpoisoned()
    }

    /// Starts from an order known to work for this server.
    pub fn set_listing_order(&self, order: ListingOrder) {
        *self.order.lock_unpoisoned() = order;
    }

    /// Name, identity and version; needs a valid token, so it is also the
    /// connection check.
    pub async fn server_info(&self) -> Result<ServerInfo, PlexError> {
        let c: wire::ServerContainer = self.get("/", &[]).await?;
        let machine_identifier =
            c.machine_identifier
                .filter(|m| !m.is_empty())
                .ok_or_else(|| PlexError::BadResponse {
                    path: "/".into(),
                    detail: "no machineIdentifier".into(),
                })?;
        Ok(ServerInfo {
            name: c
                .friendly_name
                .unwrap_or_else(|| machine_identifier.clone()),
            machine_identifier,
            version: c.version.unwrap_or_default(),
        })
    }

    pub async fn sections(&self) -> Result<Vec<Section>, PlexError> {
        let c: wire::SectionContainer = self.get("/library/sections", &[]).await?;
        Ok(c.directory
            .into_iter()
            .map(|s| Section {
                key: s.key,
                title: s.title,
                kind: s.kind,
                markers: SectionMarkers {
                    content_changed_at: s.content_changed_at,
                    updated_at: s.updated_at,
                    scanned_at: s.scanned_at,
                },
            })
            .collect())
    }

    /// Music sections to cache: `wanted` keys, or every music section when
    /// empty. A wanted key that is missing or not music is an error.
    pub async fn music_sections(&self, wanted: &[String]) -> Result<Vec<Section>, PlexError> {
        let all = self.sections().await?;
        if wanted.is_empty() {
            let music: Vec<Section> = all.into_iter().filter(Section::is_music).collect();
            if music.is_empty() {
                return Err(PlexError::NotFound {
                    what: "music library (no section of type artist)".into(),
                });
            }
            return Ok(music);
        }
        wanted
            .iter()
            .map(|key| match all.iter().find(|s| &s.key == key) {
                Some(s) if s.is_music() => Ok(s.clone()),
                Some(s) => Err(PlexError::NotMusicLibrary {
                    what: format!("section {key} ({})", s.title),
                }),
                None => Err(PlexError::NotFound {
                    what: format!("library section {key}"),
                }),
            })
            .collect()
    }

    /// Number of items in a listing (a size-0 request).
    pub async fn count(&self, section: &str, kind: ListKind) -> Result<Option<u64>, PlexError> {
        let c: ItemContainer<serde::de::IgnoredAny> = self.list(section, kind, 0, 0).await?;
        Ok(c.total_size)
    }

    pub async fn track_page(
        &self,
        section: &str,
        start: u64,
        size: u64,
    ) -> Result<Page<Track>, PlexError> {
        let c: ItemContainer<wire::WireTrack> =
            self.list(section, ListKind::Tracks, start, size).await?;
        Ok(page(c, start, Track::from))
    }

    /// A page of albums or artists.
    pub async fn parent_page(
        &self,
        section: &str,
        kind: ListKind,
        start: u64,
        size: u64,
    ) -> Result<Page<Parent>, PlexError> {
        let c: ItemContainer<wire::WireDirectory> = self.list(section, kind, start, size).await?;
        Ok(page(c, start, Parent::from))
    }

    /// Full records (complete genre lists) of albums or artists by key.
    pub async fn parents_by_keys(&self, keys: &[String]) -> Result<Vec<Parent>, PlexError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let path = format!("/library/metadata/{}", keys.join(","));
        let c: ItemContainer<wire::WireDirectory> = self.get(&path, &[]).await?;
        Ok(c.metadata.into_iter().map(Parent::from).collect())
    }

    /// Creates an audio playlist holding `keys`, in chunks so no request
    /// grows past what servers accept.
    pub async fn create_playlist(
        &self,
        machine_identifier: &str,
        title: &str,
        keys: &[String],
    ) -> Result<PlaylistResult, PlexError> {
        let mut chunks = keys.chunks(PLAYLIST_CHUNK);
        let first = chunks.next().ok_or_else(|| PlexError::BadResponse {
            path: "/playlists".into(),
            detail: "a playlist needs at least one track".into(),
        })?;
        let uri = item_uri(machine_identifier, first);
        let query = [
            ("type", "audio"),
            ("title", title),
            ("smart", "0"),
            ("uri", uri.as_str()),
        ];
        let created: ItemContainer<wire::WirePlaylist> = self
            .send(reqwest::Method::POST, "/playlists", &query)
            .await?;
        let mut playlist =
            created
                .metadata
                .into_iter()
                .next()
                .ok_or_else(|| PlexError::BadResponse {
                    path: "/playlists".into(),
                    detail: "no playlist in the answer".into(),
                })?;
        for chunk in chunks {
            let uri = item_uri(machine_identifier, chunk);
            let path = format!("/playlists/{}/items", playlist.rating_key);
            let added: ItemContainer<wire::WirePlaylist> = self
                .send(reqwest::Method::PUT, &path, &[("uri", uri.as_str())])
                .await?;
            if let Some(p) = added.metadata.into_iter().next() {
                playlist.leaf_count = p.leaf_count;
            }
        }
        Ok(PlaylistResult {
            rating_key: playlist.rating_key,
            title: playlist.title.unwrap_or_else(|| title.to_owned()),
            item_count: playlist.leaf_count.unwrap_or(0),
        })
    }

    /// One listing request in the current order. A count (size 0) comes
    /// before any page of a listing, so that is where a refused order gives
    /// way to the next one: pages of one pass never mix orders.
    async fn list<T: DeserializeOwned>(
        &self,
        section: &str,
        kind: ListKind,
        start: u64,
        size: u64,
    ) -> Result<ItemContainer<T>, PlexError> {
        let order = self.listing_order();
        let first = self.list_in(order, section, kind, start, size).await;
        let refused = matches!(
            first,
            Err(PlexError::ServerError {
                status: 400 | 500,
                ..
            })
        );
        if size > 0 || !refused {
            return first;
        }
        let mut next = order.next();
        while let Some(candidate) = next {
            if let Ok(answer) = self.list_in(candidate, section, kind, start, size).await {
                tracing::warn!(
                    refused = order.param().unwrap_or("none"),
                    now = candidate.param().unwrap_or("none"),
                    "Plex refused the listing order; paging in another order from now on"
                );
                self.set_listing_order(candidate);
                return Ok(answer);
            }
            next = candidate.next();
        }
        first
    }

    async fn list_in<T: DeserializeOwned>(
        &self,
        order: ListingOrder,
        section: &str,
        kind: ListKind,
        start: u64,
        size: u64,
    ) -> Result<ItemContainer<T>, PlexError> {
        let path = format!("/library/sections/{section}/all");
        let kind = (kind as u8).to_string();
        let (start, size) = (start.to_string(), size.to_string());
        let mut query = vec![("type", kind.as_str())];
        // An explicit sort keeps offsets stable between pages.
        if let Some(sort) = order.param() {
            query.push(("sort", sort));
        }
        query.push(("X-Plex-Container-Start", start.as_str()));
        query.push(("X-Plex-Container-Size", size.as_str()));
        self.get(&path, &query).await
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, PlexError> {
        self.send(reqwest::Method::GET, path, query).await
    }

    /// One request with retries and backoff for transient failures.
    async fn send<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, PlexError> {
        let mut attempt = 0;
        loop {
            match self.send_once(method.clone(), path, query).await {
                Err(e) if e.is_transient() && attempt < self.options.retries => {
                    let delay = self.options.backoff * 2u32.saturating_pow(attempt);
                    tracing::warn!(path, attempt = attempt + 1, error = %e, "Plex request failed, retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    async fn send_once<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, PlexError> {
        let mut url = self.base.clone();
        url.set_path(&format!(
            "{}{}",
            self.base.path().trim_end_matches('/'),
            path
        ));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let started = std::time::Instant::now();
        let response = self
            .http
            .request(method, url)
            .send()
            .await
            .map_err(|e| self.transport_error(path, e))?;
        self.check_status(path, &response)?;
        let body = self.read_body(path, response).await?;
        tracing::debug!(
            path,
            ?query,
            bytes = body.len(),
            ms = started.elapsed().as_millis() as u64,
            "Plex answered"
        );
        let envelope: Envelope<T> =
            serde_json::from_slice(&body).map_err(|e| PlexError::unreadable(path, &e))?;
        Ok(envelope.container)
    }

    /// A failure status as its error.
    fn check_status(&self, path: &str, response: &reqwest::Response) -> Result<(), PlexError> {
        match response.status() {
            s if s.is_success() => Ok(()),
            s if s.is_redirection() => {
                // Same-origin redirects were followed; this one leads elsewhere.
                Err(PlexError::Redirected {
                    path: path.into(),
                    to: redirect_origin(response),
                })
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Err(PlexError::TokenRejected { path: path.into() })
            }
            StatusCode::NOT_FOUND => Err(PlexError::NotFound { what: path.into() }),
            s => Err(PlexError::ServerError {
                path: path.into(),
                status: s.as_u16(),
            }),
        }
    }

    /// The body, up to `max_body_bytes`: an oversized answer fails as soon
    /// as it passes the limit, before the rest is read.
    async fn read_body(
        &self,
        path: &str,
        mut response: reqwest::Response,
    ) -> Result<Vec<u8>, PlexError> {
        let limit = self.options.max_body_bytes;
        let too_large = || PlexError::TooLarge {
            path: path.into(),
            limit_mb: limit.div_ceil(1024 * 1024),
        };
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(path, e))?
        {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn transport_error(&self, path: &str, e: reqwest::Error) -> PlexError {
        if e.is_timeout() {
            PlexError::Timeout {
                path: path.into(),
                seconds: self.options.timeout.as_secs_f64(),
            }
        } else if e.is_decode() || e.is_body() {
            PlexError::BadResponse {
                path: path.into(),
                detail: format!("the body was cut off ({})", e.without_url()),
            }
        } else {
            PlexError::Unreachable {
                url: self.base.to_string(),
                source: e.without_url(),
            }
        }
    }
}

/// Follows redirects within the configured origin only (same scheme, host
/// and port): the token header goes with every request, and reqwest strips
/// only `Authorization` and cookies when a redirect leaves the host. Any
/// other redirect is handed back as the answer and refused.
fn same_origin_redirects(base: &Url) -> reqwest::redirect::Policy {
    let base = base.clone();
    reqwest::redirect::Policy::custom(move |attempt| {
        if !same_origin(&base, attempt.url()) {
            attempt.stop()
        } else if attempt.previous().len() >= MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else {
            attempt.follow()
        }
    })
}

/// Same scheme, host and port: so https never gives way to http either.
fn same_origin(base: &Url, next: &Url) -> bool {
    base.origin() == next.origin()
}

/// Where a refused redirect pointed: its origin only, as a path or query
/// could carry anything.
fn redirect_origin(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| response.url().join(l).ok())
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|| "an unknown address".into())
}

fn page<W, T>(c: ItemContainer<W>, start: u64, convert: impl Fn(W) -> T) -> Page<T> {
    Page {
        total: c.total_size,
        offset: c.offset.unwrap_or(start),
        items: c.metadata.into_iter().map(convert).collect(),
    }
}

fn item_uri(machine_identifier: &str, keys: &[String]) -> String {
    format!(
        "server://{machine_identifier}/com.plexapp.plugins.library/library/metadata/{}",
        keys.join(",")
    )
}

fn tags(tags: Vec<wire::Tag>) -> Vec<String> {
    tags.into_iter()
        .map(|t| t.tag)
        .filter(|t| !t.trim().is_empty())
        .collect()
}

impl From<wire::WireTrack> for Track {
    fn from(w: wire::WireTrack) -> Self {
        Track {
            rating_key: w.rating_key,
            album_key: w.parent_rating_key,
            artist_key: w.grandparent_rating_key,
            title: w.title,
            title_sort: w.title_sort,
            album_artist: w.grandparent_title,
            album: w.parent_title,
            original_title: w.original_title,
            track_number: w.index,
            disc_number: w.parent_index,
            album_year: w.parent_year,
            user_rating: w.user_rating,
            play_count: w.view_count,
            last_played_at: w.last_viewed_at,
            duration_ms: w.duration,
            added_at: w.added_at,
            updated_at: w.updated_at,
            last_rated_at: w.last_rated_at,
            genres: tags(w.genres),
        }
    }
}

impl From<wire::WireDirectory> for Parent {
    fn from(w: wire::WireDirectory) -> Self {
        Parent {
            rating_key: w.rating_key,
            parent_key: w.parent_rating_key,
            title: w.title,
            year: w.year,
            genres: tags(w.genres),
            deleted_at: w.deleted_at,
            updated_at: w.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn redirects_stay_within_scheme_host_and_port() {
        let base = url("https://plex.example:32400/base");
        assert!(same_origin(
            &base,
            &url("https://plex.example:32400/other?x=1")
        ));
        assert!(!same_origin(&base, &url("http://plex.example:32400/")));
        assert!(!same_origin(&base, &url("https://plex.example:443/")));
        assert!(!same_origin(
            &base,
            &url("https://elsewhere.example:32400/")
        ));
    }

    #[test]
    fn the_body_limit_grows_with_the_page_size_above_a_floor() {
        assert_eq!(body_limit(1), MIN_BODY_LIMIT);
        assert_eq!(body_limit(1000), 1000 * BODY_BYTES_PER_ITEM);
        assert_eq!(body_limit(u64::MAX), u64::MAX);
    }
}
