//! The Plex client: talks to a Plex Media Server over HTTP(S), decodes its
//! JSON into our domain types, classifies every failure ([`PlexError`]) and
//! retries transient ones with backoff. The token travels only in the
//! `X-Plex-Token` header, so no URL, log line or error message can carry it.

mod error;
pub mod wire;

use std::time::Duration;

use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;

pub use error::PlexError;
use wire::{Envelope, ItemContainer};

use crate::config::Secret;

const PRODUCT: &str = "plexcache";
/// Keys per playlist request: far below the URI lengths where servers answer 414.
pub const PLAYLIST_CHUNK: usize = 200;

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
}

impl ClientOptions {
    pub fn new(url: impl Into<String>, token: Secret) -> Self {
        Self {
            url: url.into(),
            token,
            timeout: Duration::from_secs(30),
            retries: 2,
            accept_invalid_certs: false,
            backoff: Duration::from_millis(250),
        }
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
}

impl Section {
    /// Plex calls music libraries `artist` sections.
    pub fn is_music(&self) -> bool {
        self.kind == "artist"
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
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .danger_accept_invalid_certs(options.accept_invalid_certs)
            .build()
            .map_err(|e| invalid(format!("cannot build an HTTP client: {e}")))?;
        Ok(Self {
            http,
            base,
            options,
        })
    }

    /// The server's address, safe to show (it never holds the token).
    pub fn url(&self) -> &str {
        self.base.as_str()
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

    async fn list<T: DeserializeOwned>(
        &self,
        section: &str,
        kind: ListKind,
        start: u64,
        size: u64,
    ) -> Result<ItemContainer<T>, PlexError> {
        let path = format!("/library/sections/{section}/all");
        let kind = (kind as u8).to_string();
        let (start, size) = (start.to_string(), size.to_string());
        // An explicit sort keeps offsets stable between pages.
        let query = [
            ("type", kind.as_str()),
            ("sort", "ratingKey"),
            ("X-Plex-Container-Start", start.as_str()),
            ("X-Plex-Container-Size", size.as_str()),
        ];
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
        let response = self
            .http
            .request(method, url)
            .send()
            .await
            .map_err(|e| self.transport_error(path, e))?;
        match response.status() {
            s if s.is_success() => {}
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(PlexError::TokenRejected { path: path.into() });
            }
            StatusCode::NOT_FOUND => return Err(PlexError::NotFound { what: path.into() }),
            s => {
                return Err(PlexError::ServerError {
                    path: path.into(),
                    status: s.as_u16(),
                });
            }
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(path, e))?;
        let envelope: Envelope<T> =
            serde_json::from_slice(&body).map_err(|e| PlexError::unreadable(path, &e))?;
        Ok(envelope.container)
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
        }
    }
}
