//! The answers of a failing track page: 500, a hang, a dropped
//! connection, a malformed or truncated document, or one with values of
//! the wrong types.

use axum::body::{Body, Bytes};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::Shared;
use super::request::{PageHeaders, PlexError, document};
use crate::faults::{PageFaultHit, PageFaultKind};
use crate::render::Format;

/// A rendered page.
pub(crate) struct Listed {
    pub body: Vec<u8>,
    pub count: usize,
    pub page: Option<PageHeaders>,
}

/// Where the failing page sits, so fault documents look like the page.
pub(crate) struct PageFacts {
    pub format: Format,
    pub start: usize,
    pub count: usize,
    pub total: usize,
}

/// The answer of faults that replace the page; `None` for faults that
/// spoil the rendered page instead (`drop`, `truncated`).
pub(crate) async fn before_render(
    shared: &Shared,
    facts: &PageFacts,
    hit: PageFaultHit,
) -> Option<Response> {
    match hit.kind {
        PageFaultKind::Error500 => Some(PlexError::Internal.into_response()),
        PageFaultKind::Hang => {
            shared.until_connections_end().await;
            Some(aborted())
        }
        PageFaultKind::Malformed => Some(fault_document(facts, malformed_body(facts))),
        PageFaultKind::WrongTypes => Some(fault_document(facts, wrong_types_body(facts, hit.hit))),
        PageFaultKind::Drop | PageFaultKind::Truncated => None,
    }
}

/// The rendered page, spoiled by a `drop` or `truncated` fault.
pub(crate) fn after_render(listed: Listed, format: Format, hit: PageFaultHit) -> Response {
    match hit.kind {
        PageFaultKind::Drop => dropped(listed.body, format),
        _ => document(format, truncate(listed.body), listed.page),
    }
}

/// The first half of the document, cut at a character boundary.
fn truncate(body: Vec<u8>) -> Vec<u8> {
    let mut cut = body.len() / 2;
    while cut > 0 && (body[cut] & 0b1100_0000) == 0b1000_0000 {
        cut -= 1;
    }
    let mut body = body;
    body.truncate(cut);
    body
}

/// Announces the whole body, sends half of it, then fails the stream so
/// the connection closes with the body incomplete.
fn dropped(body: Vec<u8>, format: Format) -> Response {
    let full_length = body.len();
    let half = Bytes::from(body).slice(..full_length / 2);
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(half),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "dropped by fault",
        )),
    ];
    let mut response = Response::new(Body::from_stream(futures::stream::iter(chunks)));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from(full_length));
    response
}

/// An answer that is never completed: the connection closes.
pub(crate) fn aborted() -> Response {
    let failure = std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "connection ended");
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![Err(failure)];
    Response::new(Body::from_stream(futures::stream::iter(chunks)))
}

/// A 200 answer with a page's headers and a broken document.
fn fault_document(facts: &PageFacts, body: String) -> Response {
    document(
        facts.format,
        body.into_bytes(),
        Some(PageHeaders {
            start: facts.start,
            total: Some(facts.total),
        }),
    )
}

fn malformed_body(facts: &PageFacts) -> String {
    let PageFacts {
        start,
        count,
        total,
        ..
    } = facts;
    match facts.format {
        Format::Json => format!(
            r#"{{"MediaContainer":{{"size":{count},"totalSize":{total},"offset":{start},"Metadata":[{{"ratingKey":"1","title":"Broken",,"type":"track"}}"#
        ),
        Format::Xml => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<MediaContainer size=\"{count}\" totalSize=\"{total}\" offset=\"{start}\"><Track ratingKey=\"1\" title=\"Broken & <unescaped>\"></MediaContainer>"
        ),
    }
}

/// Well-formed documents with wrong types; successive hits vary.
fn wrong_types_body(facts: &PageFacts, hit: u64) -> String {
    let PageFacts { start, total, .. } = facts;
    let head = format!(r#"{{"MediaContainer":{{"size":1,"totalSize":{total},"offset":{start},"#);
    match (facts.format, hit % 3) {
        (Format::Json, 0) => format!(
            r#"{head}"Metadata":[{{"ratingKey":{{}},"key":"/library/metadata/1","type":"track","title":"Wrong","duration":1000}}]}}}}"#
        ),
        (Format::Json, 1) => format!(
            r#"{head}"Metadata":[{{"ratingKey":"1","key":"/library/metadata/1","type":"track","title":"Wrong","duration":"abc","addedAt":"yesterday"}}]}}}}"#
        ),
        (Format::Json, _) => {
            format!(
                r#"{head}"Metadata":{{"ratingKey":"1","key":"/library/metadata/1","type":"track","title":"Wrong"}}}}}}"#
            )
        }
        (Format::Xml, variant) => {
            let (size, key, duration) = match variant {
                0 => ("1", "abc", "1000"),
                1 => ("1", "1", "abc"),
                _ => ("many", "1", "1000"),
            };
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<MediaContainer size=\"{size}\" totalSize=\"{total}\" offset=\"{start}\"><Track ratingKey=\"{key}\" key=\"/library/metadata/1\" type=\"track\" title=\"Wrong\" duration=\"{duration}\"/></MediaContainer>"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_whole_characters() {
        let body = "ééééé".as_bytes().to_vec();
        let cut = truncate(body);
        assert!(std::str::from_utf8(&cut).is_ok());
        assert!(cut.len() < 10);
    }

    #[test]
    fn malformed_json_does_not_parse() {
        let facts = PageFacts {
            format: Format::Json,
            start: 0,
            count: 5,
            total: 10,
        };
        assert!(serde_json::from_str::<serde_json::Value>(&malformed_body(&facts)).is_err());
    }

    #[test]
    fn wrong_type_json_parses_but_holds_wrong_types() {
        let facts = PageFacts {
            format: Format::Json,
            start: 0,
            count: 5,
            total: 10,
        };
        for hit in 0..3 {
            let value: serde_json::Value =
                serde_json::from_str(&wrong_types_body(&facts, hit)).expect("well-formed JSON");
            let metadata = &value["MediaContainer"]["Metadata"];
            let first = if metadata.is_array() {
                &metadata[0]
            } else {
                metadata
            };
            let well_typed = first["ratingKey"].is_string()
                && metadata.is_array()
                && !first["duration"].is_string();
            assert!(!well_typed, "variant {hit} has only right types");
        }
    }
}
