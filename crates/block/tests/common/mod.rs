//! Test helpers: a small HTTP/1.1 static file server with optional range
//! support and latency, written on std::net so the tests control exactly
//! what a server does (python's http.server has no ranges).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub in_flight: AtomicU64,
    pub max_in_flight: AtomicU64,
}

pub struct Server {
    pub base: String,
    pub counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
}

impl Server {
    /// Serves the files under `root` at `http://127.0.0.1:PORT/`.
    pub fn start(root: &Path, ranges: bool, latency: Duration) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}/", listener.local_addr().unwrap());
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (root, c, s) = (root.to_path_buf(), counters.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (root, c) = (root.clone(), c.clone());
                std::thread::spawn(move || serve(conn, &root, ranges, latency, &c));
            }
        });
        Server { base, counters, stop }
    }

    pub fn requests(&self) -> u64 {
        self.counters.requests.load(Ordering::SeqCst)
    }

    pub fn max_in_flight(&self) -> u64 {
        self.counters.max_in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.base.trim_start_matches("http://").trim_end_matches('/'));
    }
}

fn serve(conn: TcpStream, root: &Path, ranges: bool, latency: Duration, c: &Counters) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut out = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("/").to_string());
        let mut range = None;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((name, value)) = h.split_once(':') {
                if name.eq_ignore_ascii_case("range") {
                    range = value.trim().strip_prefix("bytes=").and_then(|r| {
                        let (a, b) = r.split_once('-')?;
                        Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?))
                    });
                }
            }
        }
        c.requests.fetch_add(1, Ordering::SeqCst);
        let now = c.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        c.max_in_flight.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(latency);
        let file: PathBuf = root.join(path.trim_start_matches('/'));
        let body = std::fs::read(&file).ok().filter(|_| !path.contains(".."));
        let etag = std::fs::metadata(&file)
            .and_then(|m| m.modified())
            .map(|t| format!("ETag: \"{:?}\"\r\n", t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos()))
            .unwrap_or_default();
        let (status, headers, payload) = match (body, range) {
            (None, _) => ("404 Not Found", String::new(), b"not found".to_vec()),
            (Some(body), Some((a, b))) if ranges => {
                let len = body.len() as u64;
                if a >= len || b < a {
                    ("416 Range Not Satisfiable", format!("Content-Range: bytes */{len}\r\n"), Vec::new())
                } else {
                    let b = b.min(len - 1);
                    ("206 Partial Content", format!("Content-Range: bytes {a}-{b}/{len}\r\n{etag}"), body[a as usize..=b as usize].to_vec())
                }
            }
            (Some(body), _) => ("200 OK", etag, body),
        };
        c.in_flight.fetch_sub(1, Ordering::SeqCst);
        let head = format!("HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: keep-alive\r\n\r\n", payload.len());
        let payload = if method == "HEAD" { &[][..] } else { &payload[..] };
        if out.write_all(head.as_bytes()).and_then(|_| out.write_all(payload)).is_err() {
            return;
        }
    }
}

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!("oxvm-block-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Deterministic image bytes: runs of patterned data, zero chunks and
/// repeated chunks, so publishing exercises dedup and zero elision.
pub fn image_bytes(len: usize, chunk: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = vec![0u8; len];
    for (i, c) in v.chunks_mut(chunk).enumerate() {
        match i % 7 {
            3 => {}                                                               // zeros
            5 => c.iter_mut().enumerate().for_each(|(j, b)| *b = (j % 13) as u8), // repeated content
            _ => c.iter_mut().for_each(|b| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = if x.is_multiple_of(3) { (x >> 32) as u8 } else { b'a' + (x % 5) as u8 };
            }),
        }
    }
    v
}
