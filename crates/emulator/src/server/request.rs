//! What a Plex request asks for (format, query parameters, paging from
//! query or headers) and how answers and errors go back: documents with
//! their paging headers, errors as the small `text/html` pages real servers
//! send.

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;

use crate::render::Format;

pub(crate) const CONTAINER_START: &str = "X-Plex-Container-Start";
pub(crate) const CONTAINER_SIZE: &str = "X-Plex-Container-Size";
pub(crate) const CONTAINER_TOTAL_SIZE: &str = "X-Plex-Container-Total-Size";
pub(crate) const TOKEN: &str = "X-Plex-Token";

/// Decoded query parameters, in order.
pub(crate) fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    let Some(query) = uri.query() else {
        return Vec::new();
    };
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// The window a client asked for. Absent both = unpaged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Paging {
    pub start: Option<usize>,
    pub size: Option<usize>,
}

impl Paging {
    pub fn is_paged(&self) -> bool {
        self.start.is_some() || self.size.is_some()
    }

    /// A page in the sense of the page faults: a size above zero.
    pub fn is_nonempty_page(&self) -> bool {
        self.size.is_some_and(|size| size > 0)
    }

    /// `(first, count)` of a window over `total` items, the count capped
    /// at `cap` for paged requests.
    pub fn window(&self, total: usize, cap: Option<u32>) -> (usize, usize) {
        if !self.is_paged() {
            return (0, total);
        }
        let start = self.start.unwrap_or(0).min(total);
        let mut count = self.size.unwrap_or(total).min(total - start);
        if let Some(cap) = cap {
            count = count.min(cap as usize);
        }
        (start, count)
    }
}

/// A request to a Plex endpoint, as the handlers need it.
pub(crate) struct PlexRequest {
    pub format: Format,
    pub query: Vec<(String, String)>,
    pub paging: Paging,
}

impl PlexRequest {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn paging_value(&self, name: &str, headers: &HeaderMap) -> Result<Option<usize>, PlexError> {
        let text = match self.param(name) {
            Some(value) => Some(value.to_string()),
            None => headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        };
        match text {
            None => Ok(None),
            Some(value) => value.trim().parse::<usize>().map(Some).map_err(|_| {
                PlexError::BadRequest(format!("{name} must be a whole number, not {value:?}"))
            }),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PlexRequest {
    type Rejection = PlexError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let accept = parts.headers.get("accept").and_then(|v| v.to_str().ok());
        let mut request = PlexRequest {
            format: Format::from_accept(accept),
            query: query_pairs(&parts.uri),
            paging: Paging::default(),
        };
        request.paging = Paging {
            start: request.paging_value(CONTAINER_START, &parts.headers)?,
            size: request.paging_value(CONTAINER_SIZE, &parts.headers)?,
        };
        Ok(request)
    }
}

/// Failures answered the way a real server does: a status and a tiny page.
#[derive(Debug)]
pub(crate) enum PlexError {
    BadRequest(String),
    Unauthorized,
    NotFound,
    UriTooLarge,
    Internal,
}

impl PlexError {
    fn status(&self) -> StatusCode {
        match self {
            PlexError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PlexError::Unauthorized => StatusCode::UNAUTHORIZED,
            PlexError::NotFound => StatusCode::NOT_FOUND,
            PlexError::UriTooLarge => StatusCode::URI_TOO_LONG,
            PlexError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for PlexError {
    fn into_response(self) -> Response {
        let status = self.status();
        let title = match &self {
            PlexError::UriTooLarge => "URI Too Large",
            _ => status.canonical_reason().unwrap_or("Error"),
        };
        if let PlexError::BadRequest(reason) = &self {
            tracing::debug!(%reason, "bad request");
        }
        html_page(status, &format!("{} {title}", status.as_u16()), title)
    }
}

/// A small `text/html` page.
pub(crate) fn html_page(status: StatusCode, heading: &str, title: &str) -> Response {
    let body =
        format!("<html><head><title>{title}</title></head><body><h1>{heading}</h1></body></html>");
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
    response
}

/// Paging facts sent back as headers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageHeaders {
    pub start: usize,
    pub total: Option<usize>,
}

/// A finished document as a 200 answer.
pub(crate) fn document(format: Format, body: Vec<u8>, page: Option<PageHeaders>) -> Response {
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Some(page) = page {
        headers.insert(CONTAINER_START, HeaderValue::from(page.start));
        if let Some(total) = page.total {
            headers.insert(CONTAINER_TOTAL_SIZE, HeaderValue::from(total));
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_are_percent_and_plus_decoded() {
        let uri: Uri = "/playlists?title=My+List%20%26+More&uri=server%3A%2F%2Fabc"
            .parse()
            .expect("uri");
        let pairs = query_pairs(&uri);
        assert_eq!(
            pairs[0],
            ("title".to_string(), "My List & More".to_string())
        );
        assert_eq!(pairs[1], ("uri".to_string(), "server://abc".to_string()));
    }

    #[test]
    fn windows_clamp_to_the_list_and_the_cap() {
        let paged = Paging {
            start: Some(8),
            size: Some(5),
        };
        assert_eq!(paged.window(10, None), (8, 2));
        assert_eq!(paged.window(100, Some(3)), (8, 3));
        assert_eq!(Paging::default().window(10, Some(3)), (0, 10));
        assert_eq!(
            Paging {
                start: Some(50),
                size: Some(5)
            }
            .window(10, None),
            (10, 0)
        );
    }
}
