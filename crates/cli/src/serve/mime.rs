//! Content types and caching policy, by file name.
//!
//! A short table rather than a MIME database crate: the web app needs a
//! handful of types to be exactly right (`application/wasm` for streaming
//! compilation, `text/javascript` for module scripts), everything else is
//! served as bytes.

/// The Content-Type for a file name.
pub fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "wasm" => "application/wasm",
        "txt" | "md" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Whether gzip is worth it: text and wasm. Disk images and chunks are
/// `application/octet-stream` and never compressed (they are read by range).
pub fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || content_type.starts_with("application/json")
        || content_type.starts_with("application/xml")
        || content_type == "application/wasm"
        || content_type == "image/svg+xml"
}

/// Whether the URL names content-addressed data, which never changes under
/// the same name: any directory segment called `chunks`, or a file name with
/// a `.`/`-`/`_`-separated part of at least 16 hex digits (a hash, as in
/// `3fa9...e1.bin` or `app-0123456789abcdef.js`).
pub fn immutable(segments: &[String]) -> bool {
    let Some((name, dirs)) = segments.split_last() else { return false };
    dirs.iter().any(|d| d == "chunks") || name.split(['.', '-', '_']).any(|p| p.len() >= 16 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(p: &str) -> Vec<String> {
        p.split('/').map(String::from).collect()
    }

    #[test]
    fn types() {
        assert_eq!(content_type("oxvm_bg.wasm"), "application/wasm");
        assert_eq!(content_type("main.JS"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("manifest.json"), "application/json");
        assert_eq!(content_type("root.ext2"), "application/octet-stream");
        assert_eq!(content_type("README"), "application/octet-stream");
        assert!(compressible(content_type("a.wasm")) && compressible(content_type("a.css")));
        assert!(!compressible(content_type("a.img")) && !compressible(content_type("a.png")));
    }

    #[test]
    fn content_addressed() {
        assert!(immutable(&segs("img/chunks/00/01")));
        assert!(immutable(&segs("0123456789abcdef0123.bin")));
        assert!(immutable(&segs("app-0123456789abcdef.js")));
        assert!(!immutable(&segs("chunks")));
        assert!(!immutable(&segs("index.html")));
        assert!(!immutable(&segs("app-0123456789abcde.js")));
        assert!(!immutable(&[]));
    }
}
