use std::sync::Mutex;

use super::*;
use crate::tests::TestHost;
use oxvm_block::BlockError;

/// A web server in memory: files by URL with an ETag, answering range
/// requests as a static server does, and recording every batch.
#[derive(Default)]
struct Mock {
    files: Mutex<HashMap<String, (Vec<u8>, String)>>,
    batches: Mutex<Vec<Vec<FetchRequest>>>,
    /// Answer range requests with the whole file (status 200).
    no_ranges: Mutex<bool>,
    /// Fail every request as a network error.
    down: Mutex<bool>,
}

impl Mock {
    fn put(&self, path: &str, data: &[u8], etag: &str) {
        self.files.lock().unwrap().insert(format!("http://h/d/{path}"), (data.to_vec(), etag.into()));
    }
    fn batches(&self) -> Vec<Vec<FetchRequest>> {
        self.batches.lock().unwrap().clone()
    }
}

impl Fetcher for Mock {
    fn fetch_batch(&self, requests: &[FetchRequest]) -> Vec<oxvm_block::Result<FetchResponse>> {
        self.batches.lock().unwrap().push(requests.to_vec());
        requests
            .iter()
            .map(|r| {
                if *self.down.lock().unwrap() {
                    return Err(BlockError::Network("connection refused".into()));
                }
                let files = self.files.lock().unwrap();
                let Some((data, etag)) = files.get(&r.url) else { return Ok(FetchResponse { status: 404, ..Default::default() }) };
                let validator = Some(etag.clone());
                let len = data.len() as u64;
                match &r.range {
                    Some(_) if *self.no_ranges.lock().unwrap() => {
                        Ok(FetchResponse { status: 200, body: data.clone(), validator, content_range: None })
                    }
                    Some(g) if g.start < len => {
                        let end = g.end.min(len);
                        Ok(FetchResponse {
                            status: 206,
                            content_range: Some(format!("bytes {}-{}/{len}", g.start, end - 1)),
                            body: data[g.start as usize..end as usize].to_vec(),
                            validator,
                        })
                    }
                    Some(_) => Ok(FetchResponse { status: 416, ..Default::default() }),
                    None => Ok(FetchResponse { status: 200, body: data.clone(), validator, content_range: None }),
                }
            })
            .collect()
    }
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 4096) as u8).collect()
}

const INDEX: &str = r#"{"version":1,"entries":[
 {"path":"a/b.txt","type":"file","size":6,"mode":420,"mtime":1700000000},
 {"path":"a","type":"dir","mode":488},
 {"path":"big","type":"file","size":1048576,"mode":493},
 {"path":"l","type":"symlink","target":"a/b.txt"},
 {"path":"sp ace%","type":"file","size":2}
]}"#;

fn mount(cache: u64) -> (Arc<Mock>, Rc<WebMount>, InodeRef) {
    let mock = Arc::new(Mock::default());
    mock.put("a/b.txt", b"hello\n", "\"v1\"");
    mock.put("big", &pattern(1 << 20), "\"big1\"");
    mock.put("sp%20ace%25", b"ok", "\"s\"");
    let m = WebMount::new("http://h/d/", INDEX.as_bytes(), mock.clone(), cache).unwrap();
    let root = m.root();
    (mock, m, root)
}

fn read_all(f: &Rc<dyn FileOps>, chunk: usize) -> Result<Vec<u8>> {
    let mut host = TestHost(Default::default());
    let mut out = Vec::new();
    let mut buf = vec![0u8; chunk];
    loop {
        match f.read(&mut host, out.len() as u64, &mut buf)? {
            Io::Done(0) => return Ok(out),
            Io::Done(n) => out.extend_from_slice(&buf[..n]),
            Io::Block => panic!("webfs reads never block"),
        }
    }
}

#[test]
fn tree_stat_readdir_readlink() {
    let (mock, m, root) = mount(DEFAULT_CACHE_BYTES);
    let a = root.lookup(b"a").unwrap();
    let st = a.stat().unwrap();
    assert_eq!((st.mode, st.nlink, st.dev), (0o040750, 2, m.dev()));
    let b = a.lookup(b"b.txt").unwrap();
    let st = b.stat().unwrap();
    assert_eq!((st.mode, st.size, st.mtime.sec, st.uid), (0o100644, 6, 1_700_000_000, 0));
    assert_eq!(root.stat().unwrap().nlink, 3);
    let names: Vec<Vec<u8>> = root.open(0).unwrap().readdir().unwrap().into_iter().map(|e| e.name).collect();
    assert_eq!(names, [b"a".to_vec(), b"big".to_vec(), b"l".to_vec(), b"sp ace%".to_vec()]);
    let l = root.lookup(b"l").unwrap();
    assert_eq!((l.kind(), l.readlink().unwrap()), (FileType::Symlink, b"a/b.txt".to_vec()));
    assert_eq!(b.readlink(), Err(Errno::EINVAL));
    assert_eq!(root.lookup(b"nope").err(), Some(Errno::ENOENT));
    assert_eq!(b.lookup(b"x").err(), Some(Errno::ENOTDIR));
    assert_eq!(root.statfs().unwrap().flags & 1, 1, "ST_RDONLY");
    assert!(mock.batches().is_empty(), "nothing is fetched before a read");
    // Names are percent-encoded in URLs.
    let f = root.lookup(b"sp ace%").unwrap().open(0).unwrap();
    assert_eq!(read_all(&f, 10).unwrap(), b"ok");
}

#[test]
fn sequential_reads_are_batched_with_readahead() {
    let (mock, m, root) = mount(DEFAULT_CACHE_BYTES);
    let f = root.lookup(b"big").unwrap().open(0).unwrap();
    assert_eq!(read_all(&f, 4096).unwrap(), pattern(1 << 20));
    let batches = mock.batches();
    // 8 ranges: the first read fetches range 0 and 4 ahead, the read
    // reaching range 5 the remaining 3.
    let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    assert_eq!(sizes, [5, 3]);
    for (i, r) in batches.concat().iter().enumerate() {
        assert_eq!(r.range, Some(i as u64 * RANGE..(i as u64 + 1) * RANGE));
        assert_eq!(r.url, "http://h/d/big");
    }
    assert_eq!(m.stats().bytes, 1 << 20);
    // Read again: all from the cache.
    assert_eq!(read_all(&f, 100_000).unwrap(), pattern(1 << 20));
    assert_eq!(mock.batches().len(), 2);
    // A random read far away: only its range, no readahead.
    let (_mock2, _, root2) = mount(DEFAULT_CACHE_BYTES);
    let g = root2.lookup(b"big").unwrap().open(0).unwrap();
    let mut buf = [0u8; 10];
    assert_eq!(g.read(&mut TestHost(Default::default()), 700_000, &mut buf), Ok(Io::Done(10)));
    assert_eq!(&buf, &pattern(700_010)[700_000..]);
    assert_eq!(_mock2.batches().iter().map(Vec::len).collect::<Vec<_>>(), [1]);
    // A read spanning ranges asks for them together.
    let mut buf = vec![0u8; 300_000];
    assert_eq!(g.read(&mut TestHost(Default::default()), 10, &mut buf), Ok(Io::Done(300_000)));
    assert_eq!(buf, pattern(300_010)[10..]);
}

#[test]
fn the_cache_is_bounded() {
    let (mock, m, root) = mount(4 * RANGE);
    let f = root.lookup(b"big").unwrap().open(0).unwrap();
    assert_eq!(read_all(&f, 65536).unwrap(), pattern(1 << 20));
    assert!(m.cache.borrow().used <= 4 * RANGE);
    let before = mock.batches().len();
    // Range 0 was evicted long ago: fetched again.
    let mut buf = [0u8; 4];
    assert_eq!(f.read(&mut TestHost(Default::default()), 0, &mut buf), Ok(Io::Done(4)));
    assert!(mock.batches().len() > before);
    // Every batch respected half the cache.
    assert!(mock.batches().iter().all(|b| b.len() <= 2));
}

#[test]
fn mmap_pages_and_prefetch() {
    let (mock, _m, root) = mount(DEFAULT_CACHE_BYTES);
    let f = root.lookup(b"big").unwrap().open(0).unwrap();
    assert_eq!(f.read_page(0, &mut []), Ok(0), "the mmap probe");
    f.prefetch(0, 1 << 20);
    assert_eq!(mock.batches().iter().map(Vec::len).collect::<Vec<_>>(), [8]);
    let mut page = vec![0u8; 4096];
    assert_eq!(f.read_page(200 * 4096, &mut page), Ok(4096));
    assert_eq!(page, pattern(201 * 4096)[200 * 4096..]);
    assert_eq!(f.read_page(1 << 20, &mut page), Ok(0), "beyond the end");
    assert_eq!(mock.batches().len(), 1);
}

#[test]
fn server_failures_are_eio() {
    let (mock, m, root) = mount(DEFAULT_CACHE_BYTES);
    let b = root.lookup(b"a").unwrap().lookup(b"b.txt").unwrap().open(0).unwrap();
    // Missing on the server.
    mock.files.lock().unwrap().remove("http://h/d/a/b.txt");
    assert_eq!(read_all(&b, 10), Err(Errno::EIO));
    assert!(m.last_error().unwrap().contains("404"), "{:?}", m.last_error());
    // Network down.
    mock.put("a/b.txt", b"hello\n", "\"v1\"");
    *mock.down.lock().unwrap() = true;
    assert_eq!(read_all(&b, 10), Err(Errno::EIO));
    *mock.down.lock().unwrap() = false;
    assert_eq!(read_all(&b, 10).unwrap(), b"hello\n");
    // A server without ranges: fine for a file fetched whole...
    *mock.no_ranges.lock().unwrap() = true;
    let s = root.lookup(b"sp ace%").unwrap().open(0).unwrap();
    assert_eq!(read_all(&s, 10).unwrap(), b"ok");
    // ...not for a large one.
    let big = root.lookup(b"big").unwrap().open(0).unwrap();
    assert_eq!(read_all(&big, 4096), Err(Errno::EIO));
    *mock.no_ranges.lock().unwrap() = false;
    // A size other than the index's.
    mock.put("big", &pattern((1 << 20) + 1), "\"big1\"");
    assert_eq!(read_all(&big, 4096), Err(Errno::EIO));
    assert!(m.last_error().unwrap().contains("the index says"));
    // A shorter file: the last range comes back short (or not at all).
    mock.put("big", &pattern(1 << 19), "\"big1\"");
    let mut buf = [0u8; 8];
    assert_eq!(big.read(&mut TestHost(Default::default()), 900_000, &mut buf), Err(Errno::EIO));
}

#[test]
fn a_changed_file_is_eio_but_its_cached_ranges_stay() {
    let (mock, _m, root) = mount(DEFAULT_CACHE_BYTES);
    let big = root.lookup(b"big").unwrap().open(0).unwrap();
    let mut host = TestHost(Default::default());
    let mut buf = [0u8; 16];
    // A random read: range 5 only.
    assert_eq!(big.read(&mut host, 5 * RANGE, &mut buf), Ok(Io::Done(16)));
    mock.put("big", &pattern(1 << 20), "\"big2\"");
    assert_eq!(big.read(&mut host, 7 * RANGE, &mut buf), Err(Errno::EIO));
    assert_eq!(big.read(&mut host, 5 * RANGE, &mut buf), Ok(Io::Done(16)));
    // A read that got some bytes before failing is a short read.
    let mut two = vec![0u8; (RANGE + 10) as usize];
    assert_eq!(big.read(&mut host, 5 * RANGE + 5, &mut two), Ok(Io::Done(RANGE as usize - 5)));
}

#[test]
fn writes_are_erofs() {
    let (_mock, _m, root) = mount(DEFAULT_CACHE_BYTES);
    let a = root.lookup(b"a").unwrap();
    let b = a.lookup(b"b.txt").unwrap();
    for flags in [1, 2, O_TRUNC] {
        assert_eq!(b.open(flags).err(), Some(Errno::EROFS), "{flags:#o}");
    }
    assert_eq!(root.open(1).err(), Some(Errno::EISDIR));
    assert_eq!(root.create(b"new", 0o644).err(), Some(Errno::EROFS));
    assert_eq!(root.create(b"a", 0o644).err(), Some(Errno::EEXIST));
    assert_eq!(root.mkdir(b"new", 0o755), Err(Errno::EROFS));
    assert_eq!(root.symlink(b"s", b"x"), Err(Errno::EROFS));
    assert_eq!(root.unlink(b"big"), Err(Errno::EROFS));
    assert_eq!(root.unlink(b"nope"), Err(Errno::ENOENT));
    assert_eq!(root.rmdir(b"a"), Err(Errno::EROFS));
    assert_eq!(root.rename(b"big", &root, b"x", 0), Err(Errno::EROFS));
    assert_eq!(root.link(b"x", &b), Err(Errno::EROFS));
    assert_eq!(b.chmod(0o600), Err(Errno::EROFS));
    assert_eq!(b.chown(Some(1), None), Err(Errno::EROFS));
    assert_eq!(b.truncate(0), Err(Errno::EROFS));
    assert_eq!(b.set_times(None, None), Err(Errno::EROFS));
    assert_eq!(b.setxattr(b"user.x", b"1", 0), Err(Errno::EROFS));
    let f = b.open(0).unwrap();
    assert_eq!(f.write(&mut TestHost(Default::default()), 0, b"x"), Err(Errno::EBADF));
    assert_eq!(f.truncate(0), Some(Err(Errno::EROFS)));
}

#[test]
fn bad_indexes_are_refused() {
    let bad = [
        ("", "not a valid index"),
        ("{", "not a valid index"),
        ("[]", "not a valid index"),
        (r#"{"version":2,"entries":[]}"#, "version 2"),
        (r#"{"version":1,"entries":[{"path":"x","type":"pipe"}]}"#, "unknown variant"),
        (r#"{"version":1,"entries":[{"path":"x","type":"file"}]}"#, "needs its size"),
        (r#"{"version":1,"entries":[{"path":"x","type":"file","size":-1}]}"#, "not a valid index"),
        (r#"{"version":1,"entries":[{"path":"x","type":"file","size":99999999999999999}]}"#, "beyond the limit"),
        (r#"{"version":1,"entries":[{"path":"/x","type":"dir"}]}"#, "relative"),
        (r#"{"version":1,"entries":[{"path":"a/../x","type":"dir"}]}"#, "'..'"),
        (r#"{"version":1,"entries":[{"path":"a//x","type":"dir"}]}"#, "empty path component"),
        (r#"{"version":1,"entries":[{"path":"a/","type":"dir"}]}"#, "empty path component"),
        (r#"{"version":1,"entries":[{"path":"","type":"dir"}]}"#, "empty path"),
        (r#"{"version":1,"entries":[{"path":"./x","type":"dir"}]}"#, "'.'"),
        (r#"{"version":1,"entries":[{"path":"x","type":"dir"},{"path":"x","type":"dir"}]}"#, "listed twice"),
        (r#"{"version":1,"entries":[{"path":"x","type":"file","size":1},{"path":"x/y","type":"dir"}]}"#, "not a directory"),
        (r#"{"version":1,"entries":[{"path":"x/y","type":"dir"},{"path":"x","type":"file","size":1}]}"#, "lie under it"),
        (r#"{"version":1,"entries":[{"path":"l","type":"symlink"}]}"#, "needs its target"),
        (r#"{"version":1,"entries":[{"path":"l","type":"symlink","target":""}]}"#, "target"),
        (r#"{"version":1,"entries":[{"path":"x","type":"dir","size":3}]}"#, "only files"),
        (r#"{"version":1,"entries":[{"path":"x","type":"file","size":3,"target":"y"}]}"#, "only symlinks"),
        (r#"{"version":1,"entries":[{"path":"x","type":"file","size":3,"mode":65535}]}"#, "permission bits"),
    ];
    for (json, why) in bad {
        let e = WebMount::new("http://h", json.as_bytes(), Arc::new(Mock::default()), DEFAULT_CACHE_BYTES).err();
        let msg = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains(why), "{json}: {msg:?}, expected {why:?}");
    }
    let long = format!(r#"{{"version":1,"entries":[{{"path":"{}","type":"dir"}}]}}"#, "n".repeat(256));
    assert!(WebMount::new("http://h", long.as_bytes(), Arc::new(Mock::default()), DEFAULT_CACHE_BYTES).is_err());
    // Implied parents, any order; an explicit directory after its
    // children sets its mode.
    let ok = r#"{"version":1,"entries":[{"path":"p/q/r","type":"file","size":0},{"path":"p","type":"dir","mode":448}]}"#;
    let m = WebMount::new("http://h", ok.as_bytes(), Arc::new(Mock::default()), DEFAULT_CACHE_BYTES).unwrap();
    let p = m.root().lookup(b"p").unwrap();
    assert_eq!(p.stat().unwrap().mode, 0o040700);
    assert_eq!(p.lookup(b"q").unwrap().stat().unwrap().mode, 0o040755);
    let r = p.lookup(b"q").unwrap().lookup(b"r").unwrap().open(0).unwrap();
    assert_eq!(read_all(&r, 10).unwrap(), b"", "an empty file needs no fetch");
}

#[test]
fn index_round_trip() {
    let idx = Index {
        version: 1,
        entries: vec![
            IndexEntry { path: "d".into(), kind: EntryKind::Dir, size: None, mode: Some(0o755), mtime: Some(5), target: None },
            IndexEntry { path: "d/f".into(), kind: EntryKind::File, size: Some(3), mode: Some(0o600), mtime: Some(6), target: None },
            IndexEntry { path: "s".into(), kind: EntryKind::Symlink, size: None, mode: None, mtime: None, target: Some("d/f".into()) },
        ],
    };
    let json = idx.to_json();
    assert_eq!(serde_json::from_str::<Index>(&json).unwrap(), idx);
    assert!(WebMount::new("http://h", json.as_bytes(), Arc::new(Mock::default()), DEFAULT_CACHE_BYTES).is_ok());
}

#[test]
fn the_readahead_window_grows_and_small_files_are_fetched_whole() {
    let mock = Arc::new(Mock::default());
    mock.put("huge", &pattern(8 << 20), "\"h\"");
    mock.put("small", b"tiny", "\"t\"");
    let index = r#"{"version":1,"entries":[{"path":"huge","type":"file","size":8388608},{"path":"small","type":"file","size":4}]}"#;
    let m = WebMount::new("http://h/d", index.as_bytes(), mock.clone(), DEFAULT_CACHE_BYTES).unwrap();
    let f = m.root().lookup(b"huge").unwrap().open(0).unwrap();
    assert_eq!(read_all(&f, 65536).unwrap(), pattern(8 << 20));
    // 64 ranges: 1+4, then 1+8, 1+16, then a whole batch, then the last.
    assert_eq!(mock.batches().iter().map(Vec::len).collect::<Vec<_>>(), [5, 9, 17, 32, 1]);
    let s = m.root().lookup(b"small").unwrap().open(0).unwrap();
    assert_eq!(read_all(&s, 100).unwrap(), b"tiny");
    let last = mock.batches().pop().unwrap();
    assert_eq!((last[0].range.clone(), last[0].max_len), (None, 4), "one plain GET");
    // A plain GET's body of another size is refused.
    let (mock, m, root) = mount(DEFAULT_CACHE_BYTES);
    mock.put("a/b.txt", b"hello, longer\n", "\"v1\"");
    let b = root.lookup(b"a").unwrap().lookup(b"b.txt").unwrap().open(0).unwrap();
    assert_eq!(read_all(&b, 10), Err(Errno::EIO));
    assert!(m.last_error().unwrap().contains("the index says 6"), "{:?}", m.last_error());
}
