//! Chunk stores: publish an image, serve the directory over HTTP (the test
//! server, and python's http.server as an unmodified static host), read it
//! back through the stack.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{image_bytes, Server, TempDir};
use oxvm_block::chunk::{chunk_path, compress, Compression};
use oxvm_block::fetch::HttpFetcher;
use oxvm_block::{
    open_chunk_store, open_image, publish, BlockDevice, BlockError, ChunkCache, ChunkedOptions, FsStore, ImageOptions, MemDevice,
    OverlayMode, SourceKind,
};

const CHUNK: u64 = 128 * 1024;

fn fetcher() -> Arc<HttpFetcher> {
    Arc::new(HttpFetcher::new(8))
}

/// Publishes a deterministic image of `chunks` chunks into `dir/store`.
fn published(dir: &Path, chunks: usize, compression: Compression) -> Vec<u8> {
    let image = image_bytes(chunks * CHUNK as usize - 1000, CHUNK as usize, 7);
    let report = publish(&mut MemDevice::from_bytes(image.clone()), &dir.join("store"), CHUNK, compression).unwrap();
    assert_eq!(report.manifest.chunks.len(), chunks);
    image
}

fn read_all(dev: &mut dyn BlockDevice) -> Vec<u8> {
    let mut v = vec![0u8; dev.size() as usize];
    // In 64 KiB reads, as a file system would.
    for (i, part) in v.chunks_mut(64 * 1024).enumerate() {
        dev.read_at(i as u64 * 64 * 1024, part).unwrap();
    }
    v
}

#[test]
fn publish_dedups_skips_zeros_and_reads_back() {
    let dir = TempDir::new("cs");
    let image = published(&dir.0, 70, Compression::Zstd);
    let files = std::fs::read_dir(dir.0.join("store/chunks")).unwrap().count();
    // Of 70 chunks, every 7th from 3 is zero and those from 5 repeat one content.
    assert_eq!(files, 70 - 10 - 10 + 1);
    let stored: u64 = std::fs::read_dir(dir.0.join("store/chunks")).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    assert!(stored < image.len() as u64 * 3 / 4, "compression pays: {stored} of {}", image.len());
    let server = Server::start(&dir.0, false, Duration::ZERO);
    let mut dev = open_chunk_store(&format!("{}store/manifest.json", server.base), fetcher(), None, ChunkedOptions::default()).unwrap();
    assert!(read_all(&mut dev) == image);
    let s = dev.fetch_stats();
    assert_eq!(s.chunks_fetched, 60, "the 10 zero chunks are never fetched");
    eprintln!("chunk store scan of 70 chunks: {} round trips, {} requests, {} bytes", s.round_trips, s.requests, s.bytes_fetched);
    assert!(s.round_trips <= 8, "{s:?}");
    // Republishing the same image writes nothing new.
    let again = publish(&mut MemDevice::from_bytes(image), &dir.0.join("store"), CHUNK, Compression::Zstd).unwrap();
    assert_eq!(again.files_written, 0);
}

fn python_http_server(root: &Path) -> Option<(Child, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let child = Command::new("python3")
        .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1"])
        .current_dir(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((child, format!("http://127.0.0.1:{port}/")));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// A plain static server (python3 -m http.server, no range support) is
/// all a chunk store needs.
#[test]
fn python_static_server_serves_a_chunk_store() {
    let dir = TempDir::new("cs-py");
    let image = published(&dir.0, 20, Compression::Zstd);
    let (mut child, base) = python_http_server(&dir.0).expect("python3 -m http.server starts");
    let result = std::panic::catch_unwind(|| {
        let mut dev = open_chunk_store(&format!("{base}store/manifest.json"), fetcher(), None, ChunkedOptions::default()).unwrap();
        assert!(read_all(&mut dev) == image);
    });
    child.kill().unwrap();
    child.wait().unwrap();
    result.unwrap();
}

#[test]
fn a_corrupt_chunk_is_refused() {
    let dir = TempDir::new("cs-bad");
    let image = published(&dir.0, 8, Compression::Zstd);
    let manifest = oxvm_block::Manifest::parse(&std::fs::read(dir.0.join("store/manifest.json")).unwrap()).unwrap();
    // Chunk 1's file now holds a valid frame of other content.
    let victim = dir.0.join("store").join(chunk_path(manifest.chunks[1].as_deref().unwrap(), Compression::Zstd));
    let mut other = image[CHUNK as usize..2 * CHUNK as usize].to_vec();
    other[100] ^= 1;
    std::fs::write(&victim, compress(&other, Compression::Zstd)).unwrap();
    // Chunk 2's file is garbage.
    let garbage = dir.0.join("store").join(chunk_path(manifest.chunks[2].as_deref().unwrap(), Compression::Zstd));
    std::fs::write(&garbage, b"\x28\xb5\x2f\xfd garbage").unwrap();
    let server = Server::start(&dir.0, false, Duration::ZERO);
    let mut dev = open_chunk_store(&format!("{}store/manifest.json", server.base), fetcher(), None, ChunkedOptions::default()).unwrap();
    let mut buf = vec![0u8; 4096];
    dev.read_at(0, &mut buf).unwrap();
    for (chunk, want) in [(1u64, "hashes to"), (2, "zstd")] {
        match dev.read_at(chunk * CHUNK, &mut buf) {
            Err(BlockError::Corrupt(m)) => assert!(m.contains(&format!("chunk {chunk} ")) && m.contains(want), "{m}"),
            other => panic!("chunk {chunk}: {other:?}"),
        }
    }
}

#[test]
fn a_missing_chunk_is_a_network_error_naming_it() {
    let dir = TempDir::new("cs-404");
    published(&dir.0, 8, Compression::None);
    let manifest = oxvm_block::Manifest::parse(&std::fs::read(dir.0.join("store/manifest.json")).unwrap()).unwrap();
    std::fs::remove_file(dir.0.join("store").join(chunk_path(manifest.chunks[6].as_deref().unwrap(), Compression::None))).unwrap();
    let server = Server::start(&dir.0, false, Duration::ZERO);
    let mut dev = open_chunk_store(&format!("{}store/manifest.json", server.base), fetcher(), None, ChunkedOptions::default()).unwrap();
    match dev.read_at(6 * CHUNK + 10, &mut [0u8; 10]) {
        Err(BlockError::Network(m)) => assert!(m.contains("chunk 6 ") && m.contains("404"), "{m}"),
        other => panic!("{other:?}"),
    }
    // Readahead that runs into the hole does not fail the reads before it.
    let mut dev = open_chunk_store(&format!("{}store/manifest.json", server.base), fetcher(), None, ChunkedOptions::default()).unwrap();
    for c in 0..6 {
        dev.read_at(c * CHUNK, &mut [0u8; 100]).unwrap();
    }
}

#[test]
fn bad_manifests_are_corrupt_errors() {
    let dir = TempDir::new("cs-manifest");
    std::fs::write(dir.0.join("garbage.json"), b"{\"format\": \"oxvm-chunks\", \"version\": 1, \"image_size\": ").unwrap();
    std::fs::write(dir.0.join("v9.json"), br#"{"format": "oxvm-chunks", "version": 9}"#).unwrap();
    let sizes = br#"{"format":"oxvm-chunks","version":1,"image_size":1000000,"chunk_size":131072,"compression":"zstd","hash":"sha256","chunks":[null]}"#;
    std::fs::write(dir.0.join("sizes.json"), sizes).unwrap();
    let server = Server::start(&dir.0, false, Duration::ZERO);
    for (name, want) in [("garbage.json", "not valid JSON"), ("v9.json", "version"), ("sizes.json", "needs 8")] {
        match open_chunk_store(&format!("{}{name}", server.base), fetcher(), None, ChunkedOptions::default()) {
            Err(BlockError::Corrupt(m)) => assert!(m.contains(want), "{name}: {m}"),
            Err(e) => panic!("{name}: {e}"),
            Ok(_) => panic!("{name} accepted"),
        }
    }
    assert!(matches!(
        open_chunk_store(&format!("{}absent.json", server.base), fetcher(), None, ChunkedOptions::default()),
        Err(BlockError::Network(_))
    ));
}

#[test]
fn cache_makes_the_second_open_fetch_nothing_but_the_manifest() {
    let dir = TempDir::new("cs-cache");
    let image = published(&dir.0, 24, Compression::Zstd);
    let server = Server::start(&dir.0, false, Duration::ZERO);
    let url = format!("{}store/manifest.json", server.base);
    let open = || {
        let cache = ChunkCache::new(Box::new(FsStore::new(&dir.0.join("cache")).unwrap()));
        open_chunk_store(&url, fetcher(), Some(cache), ChunkedOptions::default()).unwrap()
    };
    assert!(read_all(&mut open()) == image);
    let requests = server.requests();
    let mut dev = open();
    assert!(read_all(&mut dev) == image);
    assert_eq!(server.requests() - requests, 1, "just the manifest");
    assert_eq!(dev.fetch_stats().chunks_fetched, 0);
}

#[test]
fn prefetch_on_a_chunk_store_is_one_round_trip() {
    let dir = TempDir::new("cs-prefetch");
    let image = published(&dir.0, 40, Compression::Zstd);
    let server = Server::start(&dir.0, false, Duration::from_millis(5));
    let mut dev = open_chunk_store(&format!("{}store/manifest.json", server.base), fetcher(), None, ChunkedOptions::default()).unwrap();
    let before = dev.fetch_stats().round_trips;
    let everything = 0..40 * CHUNK;
    dev.prefetch(std::slice::from_ref(&everything));
    assert_eq!(dev.fetch_stats().round_trips - before, 1);
    assert!(read_all(&mut dev) == image);
    assert_eq!(dev.fetch_stats().round_trips - before, 1, "everything was prefetched");
    assert!(server.max_in_flight() > 1);
}

#[test]
fn the_manifest_prefetch_list_is_fetched_in_one_round_trip() {
    let dir = TempDir::new("cs-list");
    let image = published(&dir.0, 30, Compression::Zstd);
    let path = dir.0.join("store/manifest.json");
    let mut m = oxvm_block::Manifest::parse(&std::fs::read(&path).unwrap()).unwrap();
    m.prefetch = vec![0, 1, 2, 9, 20, 29];
    std::fs::write(&path, m.to_json()).unwrap();
    let server = Server::start(&dir.0, false, Duration::ZERO);
    let mut dev = open_chunk_store(&format!("{}store/manifest.json", server.base), fetcher(), None, ChunkedOptions::default()).unwrap();
    let before = dev.fetch_stats();
    dev.prefetch_listed();
    let after = dev.fetch_stats();
    assert_eq!((after.round_trips - before.round_trips, after.chunks_fetched), (1, 6));
    let mut buf = vec![0u8; 100];
    dev.read_at(20 * CHUNK, &mut buf).unwrap();
    assert!(buf == image[20 * CHUNK as usize..][..100]);
    assert_eq!(dev.fetch_stats().round_trips, after.round_trips);
}

/// `open_image` over every kind of source, with a persistent overlay that
/// takes the writes and leaves the published files alone.
#[test]
fn open_image_composes_every_source_kind() {
    let dir = TempDir::new("cs-open");
    let image = published(&dir.0, 10, Compression::Zstd);
    std::fs::write(dir.0.join("store/disk.img"), &image).unwrap();
    let server = Server::start(&dir.0, true, Duration::ZERO);
    let local_img = dir.0.join("store/disk.img").to_string_lossy().into_owned();
    let local_store = dir.0.join("store").to_string_lossy().into_owned();
    let sources = [
        (local_img, SourceKind::LocalImage),
        (local_store, SourceKind::ChunkStore),
        (format!("{}store/manifest.json", server.base), SourceKind::ChunkStore),
        (format!("{}store/disk.img", server.base), SourceKind::HttpImage),
    ];
    let published_before = std::fs::read(dir.0.join("store/manifest.json")).unwrap();
    for (i, (source, kind)) in sources.iter().enumerate() {
        let opts = ImageOptions {
            overlay: OverlayMode::Dir(dir.0.join(format!("overlay{i}"))),
            cache_dir: Some(dir.0.join(format!("cache{i}"))),
            ..Default::default()
        };
        let mut opened = open_image(source, &opts).unwrap();
        assert_eq!(opened.kind, *kind, "{source}");
        assert!(read_all(&mut opened.device) == image, "{source}");
        opened.device.write_at(5000, b"written through the overlay").unwrap();
        opened.device.flush().unwrap();
        drop(opened);
        let mut again = open_image(source, &opts).unwrap();
        let mut expect = image.clone();
        expect[5000..5027].copy_from_slice(b"written through the overlay");
        assert!(read_all(&mut again.device) == expect, "{source} after reopen");
        let eph = ImageOptions { overlay: OverlayMode::Ephemeral, ..opts.clone() };
        let mut e = open_image(source, &eph).unwrap();
        e.device.write_at(0, b"gone").unwrap();
        assert!(read_all(&mut e.device)[4..] == image[4..]);
        let ro = ImageOptions { overlay: OverlayMode::ReadOnly, ..opts };
        assert!(matches!(open_image(source, &ro).unwrap().device.write_at(0, b"x"), Err(BlockError::ReadOnly)));
    }
    assert_eq!(std::fs::read(dir.0.join("store/disk.img")).unwrap(), image, "the base image is never written");
    assert_eq!(std::fs::read(dir.0.join("store/manifest.json")).unwrap(), published_before);
}

#[test]
fn default_state_dir_follows_xdg() {
    // Only this test touches the environment in this binary.
    std::env::set_var("XDG_CACHE_HOME", "/tmp/xdg-cache");
    assert_eq!(oxvm_block::default_state_dir("m-1").unwrap(), Path::new("/tmp/xdg-cache/oxvm/m-1"));
    std::env::set_var("XDG_CACHE_HOME", "");
    std::env::set_var("HOME", "/home/u");
    assert_eq!(oxvm_block::default_state_dir("m-1").unwrap(), Path::new("/home/u/.cache/oxvm/m-1"));
}
