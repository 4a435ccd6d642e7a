//! The web page, embedded in the binary: files under `assets/` served with
//! their content types and validators. The script is native ES modules
//! under `assets/js/` (`main.js` starts the page). No build step, nothing
//! loaded from the internet.

use std::hash::{Hash, Hasher};
use std::sync::LazyLock;

/// One embedded file.
pub struct Asset {
    pub bytes: &'static [u8],
    pub content_type: &'static str,
    /// Changes whenever the bytes do, so browsers can revalidate cheaply.
    pub etag: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";

/// A module of the page's script: `assets/js/NAME.js` served at `/js/NAME.js`.
macro_rules! module {
    ($name:literal) => {
        (
            concat!("/js/", $name, ".js"),
            include_bytes!(concat!("assets/js/", $name, ".js")),
            JS,
        )
    };
}

/// Only these exact paths exist, so no request path can reach anything else.
/// Every module of the page is listed (and preloaded by `index.html`); the
/// tests below check both against the modules' own imports.
const FILES: &[(&str, &[u8], &str)] = &[
    (
        "/",
        include_bytes!("assets/index.html"),
        "text/html; charset=utf-8",
    ),
    module!("api"),
    module!("dialogs"),
    module!("dom"),
    module!("events"),
    module!("filters"),
    module!("footer"),
    module!("format"),
    module!("health"),
    module!("library"),
    module!("live"),
    module!("main"),
    module!("paging"),
    module!("playlist"),
    module!("query"),
    module!("screens"),
    module!("selection"),
    module!("settings"),
    module!("settings-errors"),
    module!("state"),
    module!("status"),
    module!("sync-modal"),
    module!("table"),
    module!("toasts"),
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
    use std::collections::BTreeSet;

    #[test]
    fn only_known_paths_are_served() {
        assert!(asset("/").is_some());
        assert!(asset("/index.html").is_some());
        assert!(asset("/js/main.js").is_some());
        for path in [
            "/../Cargo.toml",
            "/app.js",
            "/assets/js/main.js",
            "/js/",
            "/js",
            "/js/package.json",
            "/js/main.js/",
            "//js/main.js",
            "/js/../js/main.js",
            "/js/%2e%2e/index.html",
            "/%2e%2e/x",
            "",
        ] {
            assert!(asset(path).is_none(), "{path}");
        }
    }

    #[test]
    fn etags_differ_between_files() {
        let a = asset("/js/main.js").map(|a| a.etag);
        let b = asset("/js/format.js").map(|a| a.etag);
        let c = asset("/style.css").map(|a| a.etag);
        assert!(a.is_some() && a != b && a != c);
    }

    /// The paths of the page's script modules.
    fn modules() -> BTreeSet<&'static str> {
        FILES
            .iter()
            .map(|(path, _, _)| *path)
            .filter(|path| path.starts_with("/js/"))
            .collect()
    }

    fn text(path: &str) -> &'static str {
        let bytes = asset(path).map_or(&b""[..], |a| a.bytes);
        std::str::from_utf8(bytes).unwrap_or_default()
    }

    /// The modules a module imports (`import ... from './name.js';`), as paths.
    fn imports(path: &str) -> Vec<String> {
        text(path)
            .lines()
            .filter(|line| line.starts_with("import ") || line.starts_with("} from "))
            .filter_map(|line| line.split("from './").nth(1))
            .filter_map(|rest| rest.split('\'').next())
            .map(|name| format!("/js/{name}"))
            .collect()
    }

    #[test]
    fn scripts_are_served_as_javascript() {
        assert!(modules().len() > 10, "{:?}", modules());
        for path in modules() {
            let asset = asset(path).unwrap_or_else(|| panic!("{path}"));
            assert_eq!(asset.content_type, "text/javascript; charset=utf-8");
            assert!(!asset.bytes.is_empty(), "{path}");
        }
    }

    /// Every module is served and reachable from `main.js`, and nothing
    /// else is: the whitelist is exactly the page's import graph.
    #[test]
    fn the_whitelist_is_the_import_graph() {
        let mut reached = BTreeSet::new();
        let mut todo = vec!["/js/main.js".to_owned()];
        while let Some(path) = todo.pop() {
            assert!(asset(&path).is_some(), "{path} is imported but not served");
            if reached.insert(path.clone()) {
                todo.extend(imports(&path));
            }
        }
        let served: BTreeSet<String> = modules().into_iter().map(str::to_owned).collect();
        assert_eq!(reached, served);
        assert!(imports("/js/main.js").contains(&"/js/status.js".to_owned()));
    }

    /// `index.html` starts `main.js` as a module and preloads every module,
    /// so the browser fetches them in parallel rather than import by import.
    #[test]
    fn the_page_preloads_every_module() {
        let page = text("/");
        assert!(page.contains("<script type=\"module\" src=\"/js/main.js\"></script>"));
        let preloaded: BTreeSet<&str> = page
            .split("<link rel=\"modulepreload\" href=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert_eq!(preloaded, modules());
    }
}
