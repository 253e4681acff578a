//! Gzip for text assets and wasm, whole-file and in memory so the response
//! still carries an exact Content-Length (a streaming encoder would force
//! chunked encoding). Compressed bodies are kept, keyed by path and ETag, so
//! each version of a file is compressed once.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::sync::Mutex;

use axum::body::Bytes;
use axum::http::HeaderMap;
use flate2::write::GzEncoder;
use flate2::Compression;

/// Files larger than this are sent as they are: compressing them per
/// version would cost more memory and startup latency than it saves.
pub const MAX_INPUT: u64 = 32 << 20;
/// Compressed bytes kept at most; past it the cache starts over.
const MAX_CACHED: usize = 64 << 20;

#[derive(Default)]
pub struct Cache {
    entries: Mutex<HashMap<(String, String), Bytes>>,
}

impl Cache {
    /// The gzip of `file`, whose identity is `key` (path) and `etag`.
    /// Blocking: call it off the async threads.
    pub fn get(&self, key: &str, etag: &str, file: &File, len: u64) -> std::io::Result<Bytes> {
        let k = (key.to_string(), etag.to_string());
        if let Some(b) = self.lock().get(&k) {
            return Ok(b.clone());
        }
        let mut raw = Vec::with_capacity(len as usize);
        // Exactly the length the ETag describes, even if the file grew.
        let mut f = file.try_clone()?;
        std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(0))?;
        f.take(len).read_to_end(&mut raw)?;
        if raw.len() as u64 != len {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "file shrank while compressing"));
        }
        let mut enc = GzEncoder::new(Vec::with_capacity(raw.len() / 3), Compression::default());
        enc.write_all(&raw)?;
        let gz = Bytes::from(enc.finish()?);
        let mut map = self.lock();
        // Old versions of the same path are dead weight.
        map.retain(|(p, _), _| p != key);
        if map.values().map(Bytes::len).sum::<usize>() + gz.len() > MAX_CACHED {
            map.clear();
        }
        map.insert(k, gz.clone());
        Ok(gz)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Bytes>> {
        // A panic while holding the lock leaves a consistent map (inserts
        // are single calls); keep using it.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Whether the client accepts gzip (`gzip` or `*` with a non-zero q-value).
pub fn accepted(headers: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut star = None;
    for v in headers.get_all(axum::http::header::ACCEPT_ENCODING) {
        let Ok(v) = v.to_str() else { continue };
        for item in v.split(',') {
            let mut it = item.split(';');
            let coding = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = it
                .find_map(|p| {
                    p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")).map(|q| q.trim().parse::<f32>().unwrap_or(0.0))
                })
                .unwrap_or(1.0);
            match coding.as_str() {
                "gzip" | "x-gzip" => gzip = Some(q > 0.0),
                "*" => star = Some(q > 0.0),
                _ => {}
            }
        }
    }
    gzip.or(star).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ae(v: &str) -> bool {
        let mut h = HeaderMap::new();
        h.insert(axum::http::header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        accepted(&h)
    }

    #[test]
    fn accept_encoding() {
        assert!(ae("gzip, deflate, br"));
        assert!(ae("br;q=1.0, gzip;q=0.8"));
        assert!(!ae("gzip;q=0"));
        assert!(!ae("br, identity"));
        assert!(ae("*"));
        assert!(!ae("*, gzip;q=0"));
        assert!(!accepted(&HeaderMap::new()));
    }
}
