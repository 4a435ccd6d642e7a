//! The web page, embedded in the binary: files under `assets/` served with
//! their content types. No build step, nothing loaded from the internet.

/// One embedded file.
pub struct Asset {
    pub bytes: &'static [u8],
    pub content_type: &'static str,
}

/// The asset at a request path, or `None`. Only these exact names exist, so
/// no path can reach anything else.
pub fn asset(path: &str) -> Option<Asset> {
    let (bytes, content_type): (&'static [u8], _) = match path {
        "/" | "/index.html" => (
            include_bytes!("assets/index.html"),
            "text/html; charset=utf-8",
        ),
        "/app.js" => (
            include_bytes!("assets/app.js"),
            "text/javascript; charset=utf-8",
        ),
        "/style.css" => (
            include_bytes!("assets/style.css"),
            "text/css; charset=utf-8",
        ),
        "/icon.svg" => (include_bytes!("assets/icon.svg"), "image/svg+xml"),
        _ => return None,
    };
    Some(Asset {
        bytes,
        content_type,
    })
}
