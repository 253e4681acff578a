//! The HTTP range device against a real HTTP server on loopback.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{image_bytes, Server, TempDir};
use oxvm_block::fetch::HttpFetcher;
use oxvm_block::{open_http, BlockDevice, BlockError, ChunkCache, ChunkedOptions, FsStore};

const CHUNK: u64 = 128 * 1024;

fn setup(len: usize, ranges: bool, latency_ms: u64) -> (TempDir, Server, Vec<u8>) {
    let dir = TempDir::new("http");
    let image = image_bytes(len, CHUNK as usize, 42);
    std::fs::write(dir.0.join("disk.img"), &image).unwrap();
    let server = Server::start(&dir.0, ranges, Duration::from_millis(latency_ms));
    (dir, server, image)
}

fn fetcher() -> Arc<HttpFetcher> {
    Arc::new(HttpFetcher::new(8))
}

#[test]
fn random_reads_match_the_image() {
    let len = 3 * 1024 * 1024 + 777; // the last chunk is short
    let (_dir, server, image) = setup(len, true, 0);
    let mut dev = open_http(&format!("{}disk.img", server.base), fetcher(), CHUNK, None, ChunkedOptions::default()).unwrap();
    assert_eq!(dev.size(), len as u64);
    assert!(dev.read_only());
    let mut x = 12345u64;
    for _ in 0..300 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let n = 1 + (x >> 40) as usize % 300_000;
        let off = (x >> 8) as usize % (len - n);
        let mut buf = vec![0u8; n];
        dev.read_at(off as u64, &mut buf).unwrap();
        assert!(buf == image[off..off + n], "read of {n} at {off}");
    }
    let mut tail = [0u8; 777];
    dev.read_at(len as u64 - 777, &mut tail).unwrap();
    assert_eq!(tail[..], image[len - 777..]);
    assert!(matches!(dev.read_at(len as u64 - 1, &mut [0; 2]), Err(BlockError::OutOfRange { .. })));
    assert!(matches!(dev.write_at(0, b"x"), Err(BlockError::ReadOnly)));
}

/// 64 chunks read front to back in 64 KiB reads, with 20 ms per request:
/// readahead must turn that into a handful of round trips.
#[test]
fn readahead_batches_a_sequential_scan() {
    let (_dir, server, image) = setup(64 * CHUNK as usize, true, 20);
    let mut dev = open_http(&format!("{}disk.img", server.base), fetcher(), CHUNK, None, ChunkedOptions::default()).unwrap();
    let before = dev.fetch_stats();
    let start = Instant::now();
    let mut buf = vec![0u8; 64 * 1024];
    for off in (0..image.len()).step_by(buf.len()) {
        dev.read_at(off as u64, &mut buf).unwrap();
        assert!(buf == image[off..off + buf.len()]);
    }
    let s = dev.fetch_stats();
    let trips = s.round_trips - before.round_trips;
    eprintln!(
        "sequential scan of 64 chunks: {trips} round trips, {} requests, {} bytes, {} hits / {} misses, {:?}, max {} requests in flight",
        s.requests - before.requests,
        s.bytes_fetched - before.bytes_fetched,
        s.hits,
        s.misses,
        start.elapsed(),
        server.max_in_flight()
    );
    assert!(trips <= 8, "{trips} round trips for 64 sequential chunks");
    assert_eq!(s.bytes_fetched - before.bytes_fetched, image.len() as u64, "each byte fetched once");
    assert!(server.max_in_flight() > 1, "a batch should have requests in flight together");
}

#[test]
fn random_access_does_not_read_ahead() {
    let (_dir, server, _image) = setup(64 * CHUNK as usize, true, 0);
    let mut dev = open_http(&format!("{}disk.img", server.base), fetcher(), CHUNK, None, ChunkedOptions::default()).unwrap();
    let base = dev.fetch_stats();
    for chunk in [40u64, 3, 17, 60, 9] {
        dev.read_at(chunk * CHUNK + 100, &mut [0u8; 4096]).unwrap();
    }
    let s = dev.fetch_stats();
    assert_eq!(s.bytes_fetched - base.bytes_fetched, 5 * CHUNK, "only the chunks read");
    assert_eq!(s.round_trips - base.round_trips, 5);
}

#[test]
fn prefetch_issues_one_batch() {
    let (_dir, server, image) = setup(64 * CHUNK as usize, true, 10);
    let mut dev = open_http(&format!("{}disk.img", server.base), fetcher(), CHUNK, None, ChunkedOptions::default()).unwrap();
    let base = dev.fetch_stats();
    let ranges = [CHUNK..5 * CHUNK, 20 * CHUNK + 5..30 * CHUNK, 50 * CHUNK..50 * CHUNK + 1];
    dev.prefetch(&ranges);
    let after = dev.fetch_stats();
    assert_eq!(after.round_trips - base.round_trips, 1);
    assert_eq!(after.chunks_fetched, 4 + 10 + 1);
    for r in &ranges {
        let mut buf = vec![0u8; (r.end - r.start) as usize];
        dev.read_at(r.start, &mut buf).unwrap();
        assert!(buf == image[r.start as usize..r.end as usize]);
    }
    assert_eq!(dev.fetch_stats().round_trips, after.round_trips, "prefetched chunks are hits");
    drop(server);
}

#[test]
fn persistent_cache_survives_reopen() {
    let (dir, server, image) = setup(16 * CHUNK as usize, true, 0);
    let cache_dir = dir.0.join("cache");
    let url = format!("{}disk.img", server.base);
    let open = || {
        let cache = ChunkCache::new(Box::new(FsStore::new(&cache_dir).unwrap()));
        open_http(&url, fetcher(), CHUNK, Some(cache), ChunkedOptions::default()).unwrap()
    };
    let mut all = vec![0u8; image.len()];
    let mut dev = open();
    dev.read_at(0, &mut all).unwrap();
    assert!(all == image);
    drop(dev);
    let requests = server.requests();
    let mut dev = open();
    all.fill(0);
    dev.read_at(0, &mut all).unwrap();
    assert!(all == image);
    let s = dev.fetch_stats();
    assert_eq!(s.chunks_fetched, 0);
    assert_eq!(s.cache_loads, 16);
    assert_eq!(server.requests() - requests, 1, "only the size probe");
}

#[test]
fn a_server_without_ranges_is_refused_clearly() {
    let (_dir, server, _image) = setup(4 * CHUNK as usize, false, 0);
    let err = open_http(&format!("{}disk.img", server.base), fetcher(), CHUNK, None, ChunkedOptions::default()).err().unwrap();
    let msg = err.to_string();
    assert!(matches!(err, BlockError::Network(_)) && msg.contains("does not support HTTP range requests"), "{msg}");
}

#[test]
fn missing_image_and_dead_server_are_network_errors() {
    let (_dir, server, _image) = setup(CHUNK as usize, true, 0);
    let err = open_http(&format!("{}nope.img", server.base), fetcher(), CHUNK, None, ChunkedOptions::default()).err().unwrap();
    assert!(matches!(&err, BlockError::Network(m) if m.contains("404")), "{err}");
    // https to a plain-HTTP server: the TLS handshake fails cleanly.
    let tls = server.base.replace("http://", "https://");
    let err = open_http(&format!("{tls}disk.img"), fetcher(), CHUNK, None, ChunkedOptions::default()).err().unwrap();
    assert!(matches!(err, BlockError::Network(_)), "{err}");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = open_http(&format!("http://127.0.0.1:{port}/x.img"), fetcher(), CHUNK, None, ChunkedOptions::default()).err().unwrap();
    assert!(matches!(err, BlockError::Network(_)), "{err}");
}

#[test]
fn an_image_replaced_on_the_server_is_detected() {
    let (dir, server, image) = setup(8 * CHUNK as usize, true, 0);
    let mut dev = open_http(&format!("{}disk.img", server.base), fetcher(), CHUNK, None, ChunkedOptions::default()).unwrap();
    let mut buf = vec![0u8; 1000];
    dev.read_at(0, &mut buf).unwrap();
    assert!(buf == image[..1000]);
    std::thread::sleep(Duration::from_millis(20));
    let mut changed = image.clone();
    changed[6 * CHUNK as usize] ^= 0xff;
    std::fs::write(dir.0.join("disk.img"), &changed).unwrap();
    match dev.read_at(6 * CHUNK, &mut buf) {
        Err(BlockError::Corrupt(m)) => assert!(m.contains("changed on the server"), "{m}"),
        other => panic!("{other:?}"),
    }
}
