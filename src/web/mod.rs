//! The web page, embedded in the binary: files under `assets/` served with
//! their content types and validators. No build step, nothing loaded from
//! the internet.

use std::hash::{Hash, Hasher};
use std::sync::LazyLock;

/// One embedded file.
pub struct Asset {
    pub bytes: &'static [u8],
    pub content_type: &'static str,
    /// Changes whenever the bytes do, so browsers can revalidate cheaply.
    pub etag: &'static str,
}

/// Only these exact paths exist, so no request path can reach anything else.
const FILES: &[(&str, &[u8], &str)] = &[
    (
        "/",
        include_bytes!("assets/index.html"),
        "text/html; charset=utf-8",
    ),
    (
        "/app.js",
        include_bytes!("assets/app.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "/style.css",
        include_bytes!("assets/style.css"),
        "text/css; charset=utf-8",
    ),
    (
        "/icon.svg",
        include_bytes!("assets/icon.svg"),
        "image/svg+xml",
    ),
];

static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|(_, bytes, _)| {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            bytes.hash(&mut hasher);
            format!("\"{:016x}\"", hasher.finish())
        })
        .collect()
});

/// The asset at a request path, or `None`.
pub fn asset(path: &str) -> Option<Asset> {
    let path = if path == "/index.html" { "/" } else { path };
    let index = FILES.iter().position(|(p, _, _)| *p == path)?;
    let (_, bytes, content_type) = FILES[index];
    Some(Asset {
        bytes,
        content_type,
        etag: ETAGS[index].as_str(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_paths_are_served() {
        assert!(asset("/").is_some());
        assert!(asset("/index.html").is_some());
        for path in [
            "/../Cargo.toml",
            "/assets/app.js",
            "/app.js/",
            "//app.js",
            "/%2e%2e/x",
            "",
        ] {
            assert!(asset(path).is_none(), "{path}");
        }
    }

    #[test]
    fn etags_differ_between_files() {
        let a = asset("/app.js").map(|a| a.etag);
        let b = asset("/style.css").map(|a| a.etag);
        assert!(a.is_some() && a != b);
    }
}
