//! Request guards: the optional password (HTTP Basic, for instances reachable
//! beyond loopback) and the refusal of state changes from other origins.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::ApiError;

/// Paths that stay open for liveness checks.
const OPEN_PATHS: &[&str] = &["/api/health"];

pub async fn password(
    State(state): State<AppState>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let Some(expected) = state.settings().password else {
        return next.run(request).await;
    };
    if OPEN_PATHS.contains(&request.uri().path())
        || password_matches(request.headers(), expected.expose())
    {
        return next.run(request).await;
    }
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

/// Any user name; the password must match (compared in constant time).
fn password_matches(headers: &HeaderMap, expected: &str) -> bool {
    let Some(encoded) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let given = match decoded.iter().position(|&b| b == b':') {
        Some(colon) => &decoded[colon + 1..],
        None => return false,
    };
    given.ct_eq(expected.as_bytes()).into()
}

/// On a loopback-only server, a `Host` that is a DNS name other than
/// `localhost` means a page whose domain was re-pointed at 127.0.0.1 (DNS
/// rebinding): the browser would treat it as same-origin, so refuse it.
pub async fn known_host(
    State(state): State<AppState>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let loopback_only = state
        .loopback_only
        .load(std::sync::atomic::Ordering::Relaxed);
    if loopback_only && !is_local_host(request.headers()) {
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
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        // HTTP/1.0 clients may omit it; browsers never do.
        return true;
    };
    let name = match host.strip_prefix('[') {
        Some(v6) => {
            return v6
                .split(']')
                .next()
                .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok());
        }
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::Ipv4Addr>().is_ok()
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
    }
}
