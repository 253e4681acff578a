//! The request handler: method, path, preconditions, ranges, gzip.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use http_range_header::{parse_range_header, RangeUnsatisfiableError};

use super::body::{self, Part};
use super::path::{self, Opened, Refused, Target};
use super::{gzip, mime};

/// What every handler shares.
pub struct App {
    /// The served directory, canonical (path checks compare against it).
    pub root: PathBuf,
    pub gzip: gzip::Cache,
}

const ALLOW: &str = "GET, HEAD, OPTIONS";

pub async fn handle(State(app): State<Arc<App>>, req: Request) -> Response {
    let method = req.method().clone();
    // OPTIONS never gets here: the CORS layer answers every OPTIONS as a
    // preflight.
    if method != Method::GET && method != Method::HEAD {
        let mut res = text(StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed\n");
        res.headers_mut().insert(header::ALLOW, HeaderValue::from_static(ALLOW));
        return res;
    }
    let head = method == Method::HEAD;
    let raw = req.uri().path().to_string();
    let query = req.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
    let root = app.root.clone();
    let raw2 = raw.clone();
    let target = match tokio::task::spawn_blocking(move || path::resolve(&root, &raw2)).await {
        Ok(t) => t,
        Err(_) => return text(StatusCode::INTERNAL_SERVER_ERROR, "500 Internal Server Error\n"),
    };
    let res = match target {
        Err(Refused::Forbidden) => text(StatusCode::FORBIDDEN, "403 Forbidden\n"),
        Err(Refused::NotFound) => text(StatusCode::NOT_FOUND, "404 Not Found\n"),
        Ok(Target::AddSlash) => match HeaderValue::from_str(&format!("{raw}/{query}")) {
            Ok(loc) => {
                let mut res = text(StatusCode::MOVED_PERMANENTLY, "");
                res.headers_mut().insert(header::LOCATION, loc);
                res
            }
            Err(_) => text(StatusCode::NOT_FOUND, "404 Not Found\n"),
        },
        Ok(Target::File(f)) => serve_file(&app, req.headers(), *f, raw).await,
    };
    if head {
        // Same headers as GET (Content-Length included), no body.
        let (parts, _) = res.into_parts();
        return Response::from_parts(parts, Body::empty());
    }
    res
}

/// `key` is the URL path, for the gzip cache.
async fn serve_file(app: &Arc<App>, req: &HeaderMap, f: Opened, key: String) -> Response {
    let len = f.meta.len();
    let mtime = UNIX_EPOCH + Duration::from_secs(f.meta.mtime().max(0) as u64);
    // Inode, size and modification time in nanoseconds: a rewritten or
    // replaced file gets a new tag without hashing its content.
    let base =
        format!("{:x}-{:x}-{:x}", f.meta.ino(), len, f.meta.mtime().max(0) as u128 * 1_000_000_000 + f.meta.mtime_nsec().max(0) as u128);
    let ctype = mime::content_type(&f.name);
    let immutable = mime::immutable(&f.segments);
    let has_range = req.contains_key(header::RANGE);
    let gz_candidate = mime::compressible(ctype) && !immutable && len <= gzip::MAX_INPUT;
    // Never gzip when a Range is asked for: ranges address the file's bytes.
    let use_gzip = gz_candidate && !has_range && gzip::accepted(req);
    let identity_etag = format!("\"{base}\"");
    let etag = if use_gzip { format!("\"{base}-gz\"") } else { identity_etag.clone() };

    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    set(&mut h, header::ETAG, &etag);
    set(&mut h, header::LAST_MODIFIED, &httpdate::fmt_http_date(mtime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(if immutable { "public, max-age=31536000, immutable" } else { "no-cache" }));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if gz_candidate {
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }

    match preconditions(req, &etag, mtime) {
        Precondition::Proceed => {}
        Precondition::Failed => return text(StatusCode::PRECONDITION_FAILED, "412 Precondition Failed\n"),
        // No body and no Content-Length: hyper drops one from a 304
        // anyway, which RFC 9110 8.6 allows.
        Precondition::NotModified => return with(StatusCode::NOT_MODIFIED, h, Body::empty()),
    }

    if use_gzip {
        return match gzipped(app, &f, &key, &etag).await {
            Ok(gz) => {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                set(&mut h, header::CONTENT_LENGTH, &gz.len().to_string());
                with(StatusCode::OK, h, Body::from(gz))
            }
            Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "500 Internal Server Error\n"),
        };
    }

    let ranges = match req.get(header::RANGE) {
        Some(v) if if_range_holds(req, &identity_etag, mtime) => ranges(v, len),
        _ => Ranges::Full,
    };
    match ranges {
        Ranges::Full => {
            set(&mut h, header::CONTENT_LENGTH, &len.to_string());
            with(StatusCode::OK, h, body::stream(f.file, vec![Part::File { offset: 0, len }]))
        }
        Ranges::Unsatisfiable => {
            let mut res = text(StatusCode::RANGE_NOT_SATISFIABLE, "416 Range Not Satisfiable\n");
            set(res.headers_mut(), header::CONTENT_RANGE, &format!("bytes */{len}"));
            res.headers_mut().insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            res
        }
        Ranges::Some(rs) if rs.len() == 1 => {
            let (start, end) = rs[0];
            set(&mut h, header::CONTENT_RANGE, &format!("bytes {start}-{end}/{len}"));
            set(&mut h, header::CONTENT_LENGTH, &(end - start + 1).to_string());
            with(StatusCode::PARTIAL_CONTENT, h, body::stream(f.file, vec![Part::File { offset: start, len: end - start + 1 }]))
        }
        Ranges::Some(rs) => {
            // Several ranges: one multipart/byteranges body (RFC 9110
            // 14.6), each part with its own Content-Range.
            let boundary = boundary();
            let mut parts = Vec::with_capacity(rs.len() * 2 + 1);
            for (start, end) in rs {
                let head = format!("\r\n--{boundary}\r\nContent-Type: {ctype}\r\nContent-Range: bytes {start}-{end}/{len}\r\n\r\n");
                parts.push(Part::Bytes(Bytes::from(head)));
                parts.push(Part::File { offset: start, len: end - start + 1 });
            }
            parts.push(Part::Bytes(Bytes::from(format!("\r\n--{boundary}--\r\n"))));
            let total: u64 = parts.iter().map(Part::len).sum();
            set(&mut h, header::CONTENT_TYPE, &format!("multipart/byteranges; boundary={boundary}"));
            set(&mut h, header::CONTENT_LENGTH, &total.to_string());
            with(StatusCode::PARTIAL_CONTENT, h, body::stream(f.file, parts))
        }
    }
}

async fn gzipped(app: &Arc<App>, f: &Opened, key: &str, etag: &str) -> std::io::Result<Bytes> {
    let (app, file, key, etag, len) = (Arc::clone(app), f.file.try_clone()?, key.to_string(), etag.to_string(), f.meta.len());
    tokio::task::spawn_blocking(move || app.gzip.get(&key, &etag, &file, len)).await.map_err(std::io::Error::other)?
}

enum Precondition {
    Proceed,
    Failed,
    NotModified,
}

/// RFC 9110 13.2.2's order: If-Match, else If-Unmodified-Since; then
/// If-None-Match, else If-Modified-Since.
fn preconditions(req: &HeaderMap, etag: &str, mtime: SystemTime) -> Precondition {
    if let Some(v) = req.get(header::IF_MATCH) {
        if !tag_list_matches(v, etag, true) {
            return Precondition::Failed;
        }
    } else if let Some(since) = date(req, header::IF_UNMODIFIED_SINCE) {
        if mtime > since {
            return Precondition::Failed;
        }
    }
    if let Some(v) = req.get(header::IF_NONE_MATCH) {
        if tag_list_matches(v, etag, false) {
            return Precondition::NotModified;
        }
    } else if let Some(since) = date(req, header::IF_MODIFIED_SINCE) {
        if mtime <= since {
            return Precondition::NotModified;
        }
    }
    Precondition::Proceed
}

/// Whether a Range may be honoured: no If-Range, or it names the current
/// version (strong ETag comparison, or exactly the Last-Modified date).
fn if_range_holds(req: &HeaderMap, etag: &str, mtime: SystemTime) -> bool {
    let Some(v) = req.get(header::IF_RANGE) else { return true };
    let Ok(v) = v.to_str() else { return false };
    let v = v.trim();
    if v.starts_with('"') || v.starts_with("W/") {
        return v == etag;
    }
    httpdate::parse_http_date(v).is_ok_and(|d| d == mtime)
}

/// `*` or a comma-separated list of entity tags; weak comparison ignores
/// the `W/` prefix, strong comparison never matches a weak tag.
fn tag_list_matches(v: &HeaderValue, etag: &str, strong: bool) -> bool {
    let Ok(v) = v.to_str() else { return false };
    if v.trim() == "*" {
        return true;
    }
    v.split(',').map(str::trim).any(|t| match t.strip_prefix("W/") {
        Some(weak) => !strong && weak == etag,
        None => t == etag,
    })
}

fn date(req: &HeaderMap, name: HeaderName) -> Option<SystemTime> {
    httpdate::parse_http_date(req.get(name)?.to_str().ok()?).ok()
}

enum Ranges {
    Full,
    Unsatisfiable,
    /// Inclusive (first, last) byte positions, in the order asked.
    Some(Vec<(u64, u64)>),
}

/// RFC 9110 14.2: a Range that does not parse is ignored (full response);
/// one whose ranges all lie past the end, or that is abusive (too many
/// ranges, several overlapping ones), is 416.
fn ranges(v: &HeaderValue, len: u64) -> Ranges {
    let Ok(v) = v.to_str() else { return Ranges::Full };
    let parsed = match parse_range_header(v) {
        Ok(p) => p,
        Err(RangeUnsatisfiableError::Invalid(_)) => return Ranges::Full,
        Err(_) => return Ranges::Unsatisfiable,
    };
    match parsed.validate(len) {
        // Only for an empty file asked for a suffix: all of nothing.
        Ok(rs) if rs.is_empty() => Ranges::Full,
        Ok(rs) => Ranges::Some(rs.into_iter().map(|r| (*r.start(), *r.end())).collect()),
        Err(RangeUnsatisfiableError::Invalid(_)) => Ranges::Full,
        Err(_) => Ranges::Unsatisfiable,
    }
}

/// A multipart boundary that cannot be predicted from the content (128
/// random bits from the standard library's hash seeds).
fn boundary() -> String {
    use std::hash::{BuildHasher, Hasher};
    let r = || std::collections::hash_map::RandomState::new().build_hasher().finish();
    format!("oxvm-{:016x}{:016x}", r(), r())
}

fn set(h: &mut HeaderMap, name: HeaderName, v: &str) {
    // Our values are ASCII by construction; a failure would only drop the header.
    if let Ok(v) = HeaderValue::from_str(v) {
        h.insert(name, v);
    }
}

fn with(status: StatusCode, headers: HeaderMap, body: Body) -> Response {
    let mut res = Response::new(body);
    *res.status_mut() = status;
    *res.headers_mut() = headers;
    res
}

/// A short plain-text response with its length.
fn text(status: StatusCode, msg: &'static str) -> Response {
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    set(&mut h, header::CONTENT_LENGTH, &msg.len().to_string());
    with(status, h, Body::from(msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges_of(v: &str, len: u64) -> Option<Vec<(u64, u64)>> {
        match ranges(&HeaderValue::from_str(v).unwrap(), len) {
            Ranges::Full => None,
            Ranges::Unsatisfiable => Some(vec![]),
            Ranges::Some(r) => Some(r),
        }
    }

    #[test]
    fn range_semantics() {
        assert_eq!(ranges_of("bytes=0-9", 100), Some(vec![(0, 9)]));
        assert_eq!(ranges_of("bytes=90-200", 100), Some(vec![(90, 99)]));
        assert_eq!(ranges_of("bytes=-10", 100), Some(vec![(90, 99)]));
        assert_eq!(ranges_of("bytes=-1000", 100), Some(vec![(0, 99)]));
        assert_eq!(ranges_of("bytes=50-", 100), Some(vec![(50, 99)]));
        assert_eq!(ranges_of("bytes=100-", 100), Some(vec![]));
        assert_eq!(ranges_of("bytes=0-1,5-6", 100), Some(vec![(0, 1), (5, 6)]));
        assert_eq!(ranges_of("items=0-1", 100), None);
        assert_eq!(ranges_of("bytes=5-1", 100), None);
        assert_eq!(ranges_of("bytes=0-", 0), Some(vec![]));
    }

    #[test]
    fn etag_lists() {
        let v = |s: &str| HeaderValue::from_str(s).unwrap();
        assert!(tag_list_matches(&v("\"a\", \"b\""), "\"b\"", true));
        assert!(tag_list_matches(&v("W/\"b\""), "\"b\"", false));
        assert!(!tag_list_matches(&v("W/\"b\""), "\"b\"", true));
        assert!(tag_list_matches(&v("*"), "\"b\"", true));
        assert!(!tag_list_matches(&v("\"c\""), "\"b\"", false));
    }
}
