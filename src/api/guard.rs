//! Request guards: the optional password (HTTP Basic, for instances reachable
//! beyond loopback) with a limit on wrong guesses per client, the refusal of
//! state changes from other origins, of foreign host names on a loopback
//! server, and the bound on requests handled at once.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use super::AppState;
use super::error::ApiError;
use crate::locks::MutexExt;

/// Paths that stay open for liveness checks.
const OPEN_PATHS: &[&str] = &["/api/health"];

/// Wrong passwords one client may send at once before it has to wait...
const GUESS_BURST: f64 = 10.0;
/// ...and how often it earns one more try after that.
const GUESS_INTERVAL: Duration = Duration::from_secs(1);
/// Wrong passwords remembered per client (as digests): sending one of them
/// again is no new guess (a browser with a stale saved password makes many
/// requests with it) and costs no try.
const REMEMBERED_GUESSES: usize = 16;
/// Clients whose wrong passwords are remembered at most (each entry is a
/// few bytes; beyond this the fully rested ones are forgotten first).
const MAX_TRACKED_CLIENTS: usize = 4096;

/// Requests handled at once; a burst beyond waits for a turn...
pub const MAX_IN_FLIGHT: usize = 32;
/// ...at most this long, then gets 503 with `Retry-After`.
pub const QUEUE_WAIT: Duration = Duration::from_secs(2);

/// State the guards share across requests.
pub struct Guards {
    in_flight: Arc<Semaphore>,
    /// Requests admitted so far (the memory trimmer watches it).
    handled: AtomicU64,
    guesses: Mutex<HashMap<IpAddr, Bucket>>,
}

impl Default for Guards {
    fn default() -> Self {
        Self {
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            handled: AtomicU64::new(0),
            guesses: Mutex::default(),
        }
    }
}

type Digest = [u8; 32];

/// A token bucket of one client's wrong-password attempts, and the digests
/// of its latest wrong passwords.
struct Bucket {
    tries: f64,
    updated: Instant,
    wrong: VecDeque<Digest>,
}

impl Bucket {
    fn new(now: Instant) -> Self {
        Bucket {
            tries: GUESS_BURST,
            updated: now,
            wrong: VecDeque::new(),
        }
    }

    /// Earns the tries due since the last update.
    fn rest(&mut self, now: Instant) {
        let earned = now.duration_since(self.updated).as_secs_f64() / GUESS_INTERVAL.as_secs_f64();
        self.tries = (self.tries + earned).min(GUESS_BURST);
        self.updated = now;
    }
}

impl Guards {
    pub(super) fn handled(&self) -> u64 {
        self.handled.load(Ordering::Relaxed)
    }

    /// No request is being handled.
    pub(super) fn idle(&self) -> bool {
        self.in_flight.available_permits() == MAX_IN_FLIGHT
    }

    /// Whether `client` sent this wrong password before.
    fn known_wrong(&self, client: IpAddr, guess: &Digest) -> bool {
        self.guesses
            .lock_unpoisoned()
            .get(&client)
            .is_some_and(|b| b.wrong.contains(guess))
    }

    /// How long `client` must wait before its next try, if it must.
    fn must_wait(&self, client: IpAddr) -> Option<Duration> {
        let mut guesses = self.guesses.lock_unpoisoned();
        let bucket = guesses.get_mut(&client)?;
        bucket.rest(Instant::now());
        (bucket.tries < 1.0).then(|| GUESS_INTERVAL.mul_f64(1.0 - bucket.tries))
    }

    /// Counts a new wrong password; true when it used the client's last try.
    fn wrong_password(&self, client: IpAddr, guess: Digest) -> bool {
        let now = Instant::now();
        let mut guesses = self.guesses.lock_unpoisoned();
        if guesses.len() >= MAX_TRACKED_CLIENTS && !guesses.contains_key(&client) {
            guesses.retain(|_, b| {
                b.rest(now);
                b.tries < GUESS_BURST
            });
            if guesses.len() >= MAX_TRACKED_CLIENTS {
                guesses.clear();
            }
        }
        let bucket = guesses.entry(client).or_insert_with(|| Bucket::new(now));
        bucket.rest(now);
        bucket.tries = (bucket.tries - 1.0).max(0.0);
        if bucket.wrong.len() == REMEMBERED_GUESSES {
            bucket.wrong.pop_front();
        }
        bucket.wrong.push_back(guess);
        bucket.tries < 1.0
    }
}

/// Who is guessing: the peer's address, an IPv6 client by its /64 (one
/// host usually holds a whole /64).
fn client_of(request: &Request<Body>) -> IpAddr {
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
        v4 => v4,
    }
}

/// Bounds the requests handled at once: a flood waits its turn (cheaply,
/// holding no store thread or buffer) or gets 503, instead of growing the
/// server's memory with every request in it.
pub async fn in_flight(
    State(state): State<AppState>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let slots = state.guards.in_flight.clone();
    let Ok(Ok(permit)) = tokio::time::timeout(QUEUE_WAIT, slots.acquire_owned()).await else {
        return retry_after(
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the server is busy; try again in a moment",
            ),
            Duration::from_secs(1),
        );
    };
    state.guards.handled.fetch_add(1, Ordering::Relaxed);
    let response = next.run(request).await;
    drop(permit);
    response
}

pub async fn password(
    State(state): State<AppState>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let Some(expected) = state.settings().password else {
        return next.run(request).await;
    };
    if OPEN_PATHS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let Some(given) = given_password(request.headers()) else {
        return unauthorized();
    };
    let client = client_of(&request);
    let guess = digest(&given);
    let repeated = state.guards.known_wrong(client, &guess);
    if !repeated && let Some(wait) = state.guards.must_wait(client) {
        return retry_after(
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                "too many wrong passwords; wait before trying again",
            ),
            wait,
        );
    }
    if guess.ct_eq(&digest(expected.expose().as_bytes())).into() {
        return next.run(request).await;
    }
    if repeated {
        return unauthorized();
    }
    let exhausted = state.guards.wrong_password(client, guess);
    // The guess itself is never logged.
    tracing::warn!(
        "wrong password from {client} for {} {}",
        request.method(),
        request.uri().path()
    );
    if exhausted {
        tracing::warn!(
            "too many wrong passwords from {client}: one more try every {} s",
            GUESS_INTERVAL.as_secs()
        );
    }
    unauthorized()
}

fn unauthorized() -> Response {
    let mut response = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "this plexcache needs its password",
    )
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Basic realm=\"plexcache\", charset=\"UTF-8\""),
    );
    response
}

/// The error with a `Retry-After` of at least one second.
fn retry_after(error: ApiError, wait: Duration) -> Response {
    let mut response = error.into_response();
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, seconds.max(1).into());
    response
}

/// The password of an HTTP Basic `Authorization` (any user name; the
/// scheme in any case, as RFC 9110 says).
fn given_password(headers: &HeaderMap) -> Option<Vec<u8>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim_start().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some(decoded[colon + 1..].to_vec())
}

/// Passwords are compared as SHA-256 digests in constant time, so the time
/// taken tells nothing about the expected password, its length included.
fn digest(secret: &[u8]) -> Digest {
    let mut out = [0; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, secret).as_ref());
    out
}

#[cfg(test)]
fn password_matches(headers: &HeaderMap, expected: &str) -> bool {
    given_password(headers)
        .is_some_and(|given| digest(&given).ct_eq(&digest(expected.as_bytes())).into())
}

/// On a loopback-only server, a `Host` that is a DNS name other than
/// `localhost` means a page whose domain was re-pointed at 127.0.0.1 (DNS
/// rebinding): the browser would treat it as same-origin, so refuse it.
pub async fn known_host(
    State(state): State<AppState>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let loopback_only = state.loopback_only.load(Ordering::Relaxed);
    if loopback_only && !(is_local_host(request.headers()) && is_local_target(request.uri())) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "host_not_allowed",
            "this plexcache listens on loopback and answers only to localhost or an IP address",
        )
        .into_response();
    }
    next.run(request).await
}

fn is_local_host(headers: &HeaderMap) -> bool {
    match headers.get(header::HOST) {
        // HTTP/1.0 clients may omit it; browsers never do.
        None => true,
        Some(host) => host.to_str().is_ok_and(is_local_authority),
    }
}

/// An absolute-form target (`GET http://host/...`) names the host too, and
/// wins over `Host`; it must be local as well.
fn is_local_target(uri: &axum::http::Uri) -> bool {
    uri.authority()
        .is_none_or(|authority| is_local_authority(authority.as_str()))
}

/// `localhost` or an IP address, with an optional numeric port and nothing
/// else (no user info such as `127.0.0.1:80@evil.example`).
fn is_local_authority(authority: &str) -> bool {
    if let Some(v6) = authority.strip_prefix('[') {
        let Some((ip, rest)) = v6.split_once(']') else {
            return false;
        };
        return ip.parse::<Ipv6Addr>().is_ok()
            && (rest.is_empty() || rest.strip_prefix(':').is_some_and(is_port));
    }
    let (name, port) = match authority.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (authority, None),
    };
    port.is_none_or(is_port)
        && (name.eq_ignore_ascii_case("localhost") || name.parse::<Ipv4Addr>().is_ok())
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && text.parse::<u16>().is_ok()
}

/// Browsers send `Origin` (and `Sec-Fetch-Site`) with cross-site requests;
/// a state change from another site is refused.
pub async fn same_origin_writes(
    State(_): State<AppState>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && is_cross_origin(request.headers()) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_origin",
            "state-changing requests from another site are refused",
        )
        .into_response();
    }
    next.run(request).await
}

fn is_cross_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && matches!(site, "cross-site" | "same-site")
    {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/'));
    match (origin_host, host) {
        (Some(o), Some(h)) => !o.eq_ignore_ascii_case(h),
        // `Origin: null` (sandboxed frames, file pages) or no Host: refuse.
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn origin_must_match_host() {
        assert!(!is_cross_origin(&headers(&[("host", "127.0.0.1:5765")])));
        assert!(!is_cross_origin(&headers(&[
            ("host", "127.0.0.1:5765"),
            ("origin", "http://127.0.0.1:5765")
        ])));
        assert!(is_cross_origin(&headers(&[
            ("host", "127.0.0.1:5765"),
            ("origin", "http://evil.example")
        ])));
        assert!(is_cross_origin(&headers(&[
            ("host", "127.0.0.1:5765"),
            ("origin", "null")
        ])));
        assert!(is_cross_origin(&headers(&[
            ("host", "a"),
            ("sec-fetch-site", "cross-site")
        ])));
    }

    #[test]
    fn only_ip_addresses_and_localhost_name_a_loopback_server() {
        for ok in [
            "127.0.0.1:5765",
            "localhost:5765",
            "LOCALHOST",
            "[::1]:5765",
            "10.0.0.2",
        ] {
            assert!(is_local_host(&headers(&[("host", ok)])), "{ok}");
        }
        for bad in [
            "evil.example:5765",
            "127.0.0.1.nip.io",
            "[evil]:1",
            "localhost.evil.example",
            "127.0.0.1:5765@evil.example",
            "127.0.0.1@evil.example",
            "127.0.0.1:",
            "127.0.0.1:99999",
            "localhost:80x",
            "[::1]:5765@evil.example",
            "[::1]evil",
        ] {
            assert!(!is_local_host(&headers(&[("host", bad)])), "{bad}");
        }
    }

    #[test]
    fn basic_auth_checks_the_password_only() {
        let auth = |s: &str| {
            headers(&[(
                "authorization",
                &format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(s)
                ),
            )])
        };
        assert!(password_matches(&auth("anyone:pw"), "pw"));
        assert!(!password_matches(&auth("anyone:nope"), "pw"));
        assert!(!password_matches(&auth("pw"), "pw"));
        assert!(!password_matches(
            &headers(&[("authorization", "Basic !!!")]),
            "pw"
        ));
        assert!(!password_matches(&HeaderMap::new(), "pw"));
        let lower = format!(
            "basic {}",
            base64::engine::general_purpose::STANDARD.encode("u:pw")
        );
        assert!(password_matches(
            &headers(&[("authorization", &lower)]),
            "pw"
        ));
        let bearer = format!(
            "Bearer {}",
            base64::engine::general_purpose::STANDARD.encode("u:pw")
        );
        assert!(!password_matches(
            &headers(&[("authorization", &bearer)]),
            "pw"
        ));
        assert!(!password_matches(&auth("anyone:pw2"), "pw"));
        assert!(!password_matches(&auth("anyone:p"), "pw"));
    }
}
