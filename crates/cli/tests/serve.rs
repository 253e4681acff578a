//! `oxvm serve`, driven as a real process: started on a free port in a temp
//! directory, then asked over raw TCP (exact bytes, traversal request lines
//! a client library would normalise) and with curl (an independent HTTP
//! client, and the gzip decoder).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn oxvm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_oxvm"))
}

/// A fresh temp dir, removed when dropped.
fn tmp(name: &str) -> common::Scratch {
    common::scratch(&format!("serve-{name}"))
}

/// Deterministic bytes that are not compressible and not periodic.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A running `oxvm serve`, killed when dropped.
struct Server {
    child: Child,
    port: u16,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path) -> Server {
    let mut child = oxvm()
        .args(["serve", "--port", "0", "--dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn oxvm serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    // "oxvm: serving DIR at http://127.0.0.1:PORT/"
    let url = line.trim().rsplit(" at ").next().unwrap().trim_end_matches('/').to_string();
    assert!(line.starts_with("oxvm: serving ") && url.starts_with("http://127.0.0.1:"), "startup line: {line:?}");
    let port = url.rsplit(':').next().unwrap().parse().unwrap();
    Server { child, port, url }
}

/// A parsed response.
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    fn has(&self, name: &str, value: &str) -> bool {
        self.header(name) == Some(value)
    }
}

/// Send `request_line` plus `headers` over a fresh connection and read the
/// whole answer (Connection: close, so the body ends with the stream).
fn raw(port: u16, request_line: &str, headers: &[(&str, &str)]) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!("{request_line}\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").expect("end of head");
    let head = String::from_utf8(all[..split].to_vec()).unwrap();
    let body = all[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines.map(|l| l.split_once(':').unwrap()).map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string())).collect();
    let r = Resp { status, headers, body };
    // Every response says how long it is, and says it truthfully.
    if r.status != 304 {
        let cl: usize =
            r.header("content-length").unwrap_or_else(|| panic!("no Content-Length: {request_line} -> {}", r.status)).parse().unwrap();
        if !request_line.starts_with("HEAD ") {
            assert_eq!(cl, r.body.len(), "{request_line}");
        }
    }
    assert!(r.header("transfer-encoding").is_none());
    r
}

fn get(port: u16, path: &str, headers: &[(&str, &str)]) -> Resp {
    raw(port, &format!("GET {path} HTTP/1.1"), headers)
}

fn curl(args: &[&str]) -> Vec<u8> {
    let o = Command::new("curl").args(["-sS", "--fail"]).args(args).output().expect("curl (Debian package curl) must be installed");
    assert!(o.status.success(), "curl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}

#[test]
fn ranges_are_byte_exact() {
    let d = tmp("ranges");
    let data = noise(1 << 20, 1);
    std::fs::write(d.0.join("disk.img"), &data).unwrap();
    let s = start(&d.0);
    let len = data.len();
    let url = format!("{}/disk.img", s.url);

    // curl as the independent client: first, middle, suffix, open-ended.
    assert_eq!(curl(&["-r", "0-99", &url]), &data[..100]);
    assert_eq!(curl(&["-r", "4096-69631", &url]), &data[4096..69632]);
    assert_eq!(curl(&["-r", "-100", &url]), &data[len - 100..]);
    assert_eq!(curl(&["-r", "1048000-", &url]), &data[1048000..]);
    assert_eq!(curl(&[&url]), data);

    // The raw answers: statuses and Content-Range.
    for (range, first, last) in [
        ("bytes=0-0", 0, 0),
        ("bytes=512-1535", 512, 1535),
        ("bytes=-1", len - 1, len - 1),
        ("bytes=1048000-", 1048000, len - 1),
        ("bytes=1048570-9999999", 1048570, len - 1),
        ("bytes=-5000000", 0, len - 1),
    ] {
        let r = get(s.port, "/disk.img", &[("Range", range)]);
        assert_eq!(r.status, 206, "{range}");
        assert!(r.has("content-range", &format!("bytes {first}-{last}/{len}")), "{range}: {:?}", r.header("content-range"));
        assert!(r.has("accept-ranges", "bytes"));
        assert_eq!(r.body, &data[first..=last], "{range}");
    }

    // Past the end: 416 with the size, never bytes of the file.
    for range in ["bytes=1048576-", "bytes=2000000-2000010", "bytes=-0"] {
        let r = get(s.port, "/disk.img", &[("Range", range)]);
        assert_eq!(r.status, 416, "{range}");
        assert!(r.has("content-range", &format!("bytes */{len}")), "{range}");
    }
    // A Range that does not parse is ignored (RFC 9110 14.2): the whole file.
    for range in ["items=0-5", "bytes=9-1", "bytes=abc"] {
        let r = get(s.port, "/disk.img", &[("Range", range)]);
        assert_eq!((r.status, r.body.len()), (200, len), "{range}");
    }

    // Several ranges: 206 multipart/byteranges, each part exact.
    let r = get(s.port, "/disk.img", &[("Range", "bytes=0-9, 100-199, -5")]);
    assert_eq!(r.status, 206);
    let ct = r.header("content-type").unwrap();
    let boundary = ct.strip_prefix("multipart/byteranges; boundary=").unwrap_or_else(|| panic!("{ct}"));
    let parts = multipart(&r.body, boundary);
    let want = [(0usize, 9usize), (100, 199), (len - 5, len - 1)];
    assert_eq!(parts.len(), want.len());
    for ((cr, body), (a, b)) in parts.iter().zip(want) {
        assert_eq!(cr, &format!("bytes {a}-{b}/{len}"));
        assert_eq!(body.as_slice(), &data[a..=b]);
    }
    // curl agrees on the multipart body (it writes it as received).
    assert_eq!(curl(&["-r", "0-9,100-199,-5", &url]).len(), r.body.len());
}

/// The parts of a multipart/byteranges body: (Content-Range, bytes).
fn multipart(body: &[u8], boundary: &str) -> Vec<(String, Vec<u8>)> {
    let delim = format!("\r\n--{boundary}");
    let d = delim.as_bytes();
    let mut starts = Vec::new();
    let mut i = 0;
    while i + d.len() <= body.len() {
        if &body[i..i + d.len()] == d {
            starts.push(i);
            i += d.len();
        } else {
            i += 1;
        }
    }
    assert_eq!(&body[*starts.last().unwrap()..], format!("{delim}--\r\n").as_bytes(), "closing delimiter");
    starts
        .windows(2)
        .map(|w| {
            let part = &body[w[0] + d.len() + 2..w[1]];
            let split = part.windows(4).position(|x| x == b"\r\n\r\n").unwrap();
            let head = String::from_utf8(part[..split].to_vec()).unwrap();
            let cr = head.lines().find_map(|l| l.strip_prefix("Content-Range: ")).unwrap().to_string();
            (cr, part[split + 4..].to_vec())
        })
        .collect()
}

#[test]
fn head_and_conditional_requests() {
    let d = tmp("cond");
    let data = noise(10_000, 2);
    let file = d.0.join("a.bin");
    std::fs::write(&file, &data).unwrap();
    let s = start(&d.0);

    let g = get(s.port, "/a.bin", &[]);
    let h = raw(s.port, "HEAD /a.bin HTTP/1.1", &[]);
    assert_eq!((g.status, h.status), (200, 200));
    assert!(h.body.is_empty());
    for name in ["content-length", "content-type", "etag", "last-modified", "accept-ranges", "cache-control"] {
        assert!(g.header(name).is_some(), "{name}");
        assert_eq!(g.header(name), h.header(name), "{name}");
    }
    assert!(h.has("content-length", "10000"));
    let hr = raw(s.port, "HEAD /a.bin HTTP/1.1", &[("Range", "bytes=10-19")]);
    assert!(hr.status == 206 && hr.has("content-length", "10") && hr.body.is_empty());

    let etag = g.header("etag").unwrap().to_string();
    let lm = g.header("last-modified").unwrap().to_string();
    let nm = get(s.port, "/a.bin", &[("If-None-Match", &etag)]);
    assert_eq!(nm.status, 304);
    assert!(nm.body.is_empty() && nm.has("etag", &etag));
    assert_eq!(get(s.port, "/a.bin", &[("If-None-Match", &format!("\"x\", W/{etag}"))]).status, 304);
    assert_eq!(get(s.port, "/a.bin", &[("If-None-Match", "\"other\"")]).status, 200);
    assert_eq!(get(s.port, "/a.bin", &[("If-Modified-Since", &lm)]).status, 304);
    assert_eq!(get(s.port, "/a.bin", &[("If-Modified-Since", "Thu, 01 Jan 1998 00:00:00 GMT")]).status, 200);
    assert_eq!(get(s.port, "/a.bin", &[("If-Match", "\"other\"")]).status, 412);
    assert_eq!(get(s.port, "/a.bin", &[("If-Match", &etag)]).status, 200);

    // If-Range: the range only for the version the client holds.
    let ok = get(s.port, "/a.bin", &[("Range", "bytes=0-9"), ("If-Range", &etag)]);
    assert_eq!((ok.status, ok.body.as_slice()), (206, &data[..10]));
    let stale = get(s.port, "/a.bin", &[("Range", "bytes=0-9"), ("If-Range", "\"old\"")]);
    assert_eq!((stale.status, stale.body.len()), (200, data.len()));
    let by_date = get(s.port, "/a.bin", &[("Range", "bytes=0-9"), ("If-Range", &lm)]);
    assert_eq!((by_date.status, by_date.body.as_slice()), (206, &data[..10]));
    let old_date = get(s.port, "/a.bin", &[("Range", "bytes=0-9"), ("If-Range", "Thu, 01 Jan 1998 00:00:00 GMT")]);
    assert_eq!(old_date.status, 200);

    // A new deploy of the file: new validator, the old one no longer matches.
    std::thread::sleep(Duration::from_millis(20));
    let data2 = noise(10_001, 3);
    std::fs::write(&file, &data2).unwrap();
    let after = get(s.port, "/a.bin", &[("If-None-Match", &etag)]);
    assert_eq!(after.status, 200);
    assert_ne!(after.header("etag"), Some(etag.as_str()));
    assert_eq!(after.body, data2);
}

#[test]
fn headers_types_caching_cors() {
    let d = tmp("headers");
    for (name, body) in [
        ("index.html", "<!doctype html><p>hi</p>\n"),
        ("app.js", "export const x = 1;\n"),
        ("oxvm_bg.wasm", "\0asm\x01\0\0\0"),
        ("manifest.json", "{}\n"),
        ("style.css", "p{}\n"),
        ("root.ext2", "disk"),
        ("app-0123456789abcdef.js", "hashed\n"),
    ] {
        std::fs::write(d.0.join(name), body).unwrap();
    }
    std::fs::create_dir_all(d.0.join("img/chunks")).unwrap();
    std::fs::write(d.0.join("img/chunks/0001"), noise(4096, 4)).unwrap();
    let s = start(&d.0);

    for (path, ct) in [
        ("/", "text/html; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/oxvm_bg.wasm", "application/wasm"),
        ("/manifest.json", "application/json"),
        ("/style.css", "text/css; charset=utf-8"),
        ("/root.ext2", "application/octet-stream"),
    ] {
        let r = get(s.port, path, &[]);
        assert_eq!(r.status, 200, "{path}");
        assert!(r.has("content-type", ct), "{path}: {:?}", r.header("content-type"));
        assert!(r.has("cache-control", "no-cache"), "{path}");
    }
    for path in ["/img/chunks/0001", "/app-0123456789abcdef.js"] {
        let r = get(s.port, path, &[]);
        assert!(r.has("cache-control", "public, max-age=31536000, immutable"), "{path}");
    }

    // Cross-origin isolation and CORS on every kind of answer.
    for (line, status) in
        [("GET /root.ext2 HTTP/1.1", 200), ("GET /missing HTTP/1.1", 404), ("DELETE /root.ext2 HTTP/1.1", 405), ("GET /../x HTTP/1.1", 403)]
    {
        let r = raw(s.port, line, &[("Origin", "https://example.org")]);
        assert_eq!(r.status, status, "{line}");
        assert!(r.has("cross-origin-opener-policy", "same-origin"), "{line}");
        assert!(r.has("cross-origin-embedder-policy", "require-corp"), "{line}");
        assert!(r.has("cross-origin-resource-policy", "cross-origin"), "{line}");
        assert!(r.has("access-control-allow-origin", "*"), "{line}");
    }
    let r = get(s.port, "/root.ext2", &[("Origin", "https://example.org"), ("Range", "bytes=0-1")]);
    let exposed = r.header("access-control-expose-headers").unwrap().to_ascii_lowercase();
    for h in ["content-range", "content-length", "accept-ranges", "etag"] {
        assert!(exposed.contains(h), "{exposed}");
    }
    let r = get(s.port, "/root.ext2", &[("Range", "bytes=99-")]);
    assert!(r.status == 416 && r.has("access-control-allow-origin", "*"));

    // A preflight for a ranged fetch from another origin.
    let pre = raw(
        s.port,
        "OPTIONS /root.ext2 HTTP/1.1",
        &[("Origin", "https://example.org"), ("Access-Control-Request-Method", "GET"), ("Access-Control-Request-Headers", "range")],
    );
    assert_eq!(pre.status, 200);
    assert!(pre.has("access-control-allow-origin", "*"));
    assert!(pre.header("access-control-allow-headers").unwrap().to_ascii_lowercase().contains("range"));
    assert!(pre.header("access-control-allow-methods").unwrap().contains("GET"));
    assert!(pre.has("cross-origin-embedder-policy", "require-corp"));

    // Methods other than GET/HEAD/OPTIONS.
    for m in ["POST", "PUT", "DELETE", "PATCH"] {
        let r = raw(s.port, &format!("{m} /index.html HTTP/1.1"), &[]);
        assert_eq!(r.status, 405, "{m}");
        assert!(r.has("allow", "GET, HEAD, OPTIONS"));
    }
    // A bare OPTIONS is answered like a preflight.
    let o = raw(s.port, "OPTIONS /index.html HTTP/1.1", &[]);
    assert!(o.status == 200 && o.header("access-control-allow-methods").unwrap().contains("HEAD"));
}

#[test]
fn gzip_only_for_whole_text_responses() {
    let d = tmp("gzip");
    let js: String = (0..3000).map(|i| format!("console.log('line {i}');\n")).collect();
    std::fs::write(d.0.join("app.js"), &js).unwrap();
    std::fs::write(d.0.join("disk.img"), js.as_bytes()).unwrap();
    std::fs::create_dir_all(d.0.join("chunks")).unwrap();
    std::fs::write(d.0.join("chunks/app.js"), &js).unwrap();
    let s = start(&d.0);
    let gz = [("Accept-Encoding", "gzip, br")];

    let r = get(s.port, "/app.js", &gz);
    assert_eq!(r.status, 200);
    assert!(r.has("content-encoding", "gzip"));
    assert!(r.body.len() < js.len() / 4, "{} bytes", r.body.len());
    assert!(r.has("vary", "Accept-Encoding"));
    // curl decodes it back to the file.
    assert_eq!(curl(&["--compressed", &format!("{}/app.js", s.url)]), js.as_bytes());
    // Same validator for HEAD, and a 304 for the gzip variant's ETag.
    let h = raw(s.port, "HEAD /app.js HTTP/1.1", &gz);
    assert_eq!(h.header("content-length"), r.header("content-length"));
    let etag = r.header("etag").unwrap();
    assert_eq!(get(s.port, "/app.js", &[gz[0], ("If-None-Match", etag)]).status, 304);
    // Without Accept-Encoding: identity, a different ETag.
    let plain = get(s.port, "/app.js", &[]);
    assert!(plain.header("content-encoding").is_none() && plain.body == js.as_bytes());
    assert_ne!(plain.header("etag"), Some(etag));

    // A Range is never compressed: the bytes are the file's.
    for range in ["bytes=0-99", "bytes=1000-", "bytes=-10"] {
        let r = get(s.port, "/app.js", &[gz[0], ("Range", range)]);
        assert_eq!(r.status, 206, "{range}");
        assert!(r.header("content-encoding").is_none(), "{range}");
    }
    let r = get(s.port, "/app.js", &[gz[0], ("Range", "bytes=1000-1999")]);
    assert_eq!(r.body, &js.as_bytes()[1000..2000]);
    assert_eq!(curl(&["--compressed", "-r", "5-14", &format!("{}/app.js", s.url)]), &js.as_bytes()[5..15]);

    // Disk images and chunks: never compressed, even whole.
    for path in ["/disk.img", "/chunks/app.js"] {
        let r = get(s.port, path, &gz);
        assert!(r.header("content-encoding").is_none(), "{path}");
        assert_eq!(r.body, js.as_bytes(), "{path}");
    }
}

#[test]
fn traversal_is_refused() {
    let d = tmp("traversal");
    let www = d.0.join("www");
    std::fs::create_dir_all(www.join("sub")).unwrap();
    std::fs::create_dir_all(www.join("empty")).unwrap();
    std::fs::write(www.join("sub/index.html"), "sub index\n").unwrap();
    std::fs::write(www.join("inside.txt"), "fine\n").unwrap();
    const SECRET: &str = "SECRET-7f3a9c";
    std::fs::write(d.0.join("secret.txt"), SECRET).unwrap();
    std::os::unix::fs::symlink(d.0.join("secret.txt"), www.join("leak")).unwrap();
    std::os::unix::fs::symlink(&d.0, www.join("leakdir")).unwrap();
    std::os::unix::fs::symlink("../secret.txt", www.join("relleak")).unwrap();
    std::os::unix::fs::symlink("inside.txt", www.join("alias.txt")).unwrap();
    let s = start(&www);

    let abs = d.0.join("secret.txt");
    let abs = abs.to_str().unwrap();
    let attempts = [
        "/../secret.txt".to_string(),
        "/sub/../../secret.txt".into(),
        "/%2e%2e/secret.txt".into(),
        "/%2E%2E/secret.txt".into(),
        "/.%2e/secret.txt".into(),
        "/%2e%2e%2fsecret.txt".into(),
        "/..%2fsecret.txt".into(),
        "/..%5csecret.txt".into(),
        "/..\\secret.txt".into(),
        "/%5c..%5csecret.txt".into(),
        format!("/{}", abs.replace('/', "%2f")),
        format!("/{abs}"),
        abs.to_string(),
        format!("/%2f{}", &abs[1..]),
        format!("http://127.0.0.1:{}/../secret.txt", s.port),
        "/leak".into(),
        "/relleak".into(),
        "/leakdir/secret.txt".into(),
        "/leakdir/".into(),
        "/sub/%00".into(),
    ];
    for a in &attempts {
        let r = raw(s.port, &format!("GET {a} HTTP/1.1"), &[]);
        assert!(matches!(r.status, 400 | 403 | 404), "{a}: {}", r.status);
        assert!(!String::from_utf8_lossy(&r.body).contains(SECRET), "{a} leaked the file");
    }
    // Inside is fine, symlinks inside too; directories: index.html or 404, no listing.
    assert_eq!(get(s.port, "/inside.txt", &[]).body, b"fine\n");
    assert_eq!(get(s.port, "/alias.txt", &[]).body, b"fine\n");
    assert_eq!(get(s.port, "/sub/", &[]).body, b"sub index\n");
    let r = get(s.port, "/sub", &[]);
    assert!(r.status == 301 && r.has("location", "/sub/"));
    assert_eq!(get(s.port, "/empty/", &[]).status, 404);
    assert_eq!(get(s.port, "/empty", &[]).status, 404);
    assert_eq!(get(s.port, "/", &[]).status, 404);
}

/// A 200 MB sparse image: ranges anywhere are answered at once, and the
/// server reads (rchar in /proc/PID/io) about what it sends, not the file.
#[test]
fn large_sparse_image_by_range() {
    let d = tmp("sparse");
    let path = d.0.join("root.img");
    let size: u64 = 200 << 20;
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(size).unwrap();
    let mark = noise(65536, 5);
    let at = 150u64 << 20;
    std::os::unix::fs::FileExt::write_all_at(&f, &mark, at).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, b"THE END!", size - 8).unwrap();
    drop(f);
    let s = start(&d.0);
    let rchar = || -> u64 {
        let io = std::fs::read_to_string(format!("/proc/{}/io", s.child.id())).unwrap();
        io.lines().find_map(|l| l.strip_prefix("rchar: ")).unwrap().parse().unwrap()
    };

    let h = raw(s.port, "HEAD /root.img HTTP/1.1", &[]);
    assert!(h.has("content-length", &size.to_string()));
    let before = rchar();
    let t = Instant::now();
    let r = get(s.port, "/root.img", &[("Range", &format!("bytes={at}-{}", at + 65535))]);
    assert_eq!((r.status, r.body.as_slice()), (206, mark.as_slice()));
    let r = get(s.port, "/root.img", &[("Range", "bytes=-8")]);
    assert_eq!((r.status, r.body.as_slice()), (206, &b"THE END!"[..]));
    let r = get(s.port, "/root.img", &[("Range", "bytes=1000-1999")]);
    assert_eq!(r.body, vec![0u8; 1000]);
    let read = rchar() - before;
    assert!(read < 1 << 20, "the server read {read} bytes for 67 KB of ranges");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(curl(&["-r", &format!("{}-{}", at + 100, at + 199), &format!("{}/root.img", s.url)]), &mark[100..200]);
}

#[test]
fn startup_errors_and_signals() {
    let d = tmp("startup");
    // A missing directory or a bad port is a usage error: status 2.
    let o = oxvm().args(["serve", "--port", "0", "--dir"]).arg(d.0.join("nope")).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nope"));
    let o = oxvm().args(["serve", "--port", "http"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    // A port in use is a runtime failure: status 1, and says so.
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let o = oxvm().args(["serve", "--port", &port, "--dir"]).arg(&d.0).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cannot listen on 127.0.0.1:") && err.contains("in use"), "{err}");

    // SIGTERM and SIGINT stop it cleanly (status 0), even with a client
    // connected.
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let mut s = start(&d.0);
        let _idle = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        assert_eq!(get(s.port, "/", &[]).status, 404);
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(s.child.id() as i32, sig) }, 0);
        let t = Instant::now();
        let status = loop {
            if let Some(st) = s.child.try_wait().unwrap() {
                break st;
            }
            assert!(t.elapsed() < Duration::from_secs(10), "still running after signal {sig}");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(0), "signal {sig}");
        let mut err = String::new();
        s.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        assert!(err.contains("oxvm: stopped"), "{err}");
    }
}

/// What the block device will do: many small ranges, one after the other,
/// on one keep-alive connection. The framing (Content-Length) must be exact
/// for this to work at all.
#[test]
fn keep_alive_block_reads() {
    let d = tmp("keepalive");
    let data = noise(4 << 20, 6);
    std::fs::write(d.0.join("disk.img"), &data).unwrap();
    let s = start(&d.0);
    let mut conn = BufReader::new(TcpStream::connect(("127.0.0.1", s.port)).unwrap());
    conn.get_ref().set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let n = 1000;
    let t = Instant::now();
    for i in 0..n {
        // A scattered 4 KiB block.
        let off = (i * 7919 % 1024) * 4096;
        let req = format!("GET /disk.img HTTP/1.1\r\nHost: x\r\nRange: bytes={off}-{}\r\n\r\n", off + 4095);
        conn.get_mut().write_all(req.as_bytes()).unwrap();
        let mut status = String::new();
        conn.read_line(&mut status).unwrap();
        assert!(status.starts_with("HTTP/1.1 206"), "{status}");
        let mut len = None;
        loop {
            let mut line = String::new();
            conn.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = Some(v.trim().parse::<usize>().unwrap());
            }
        }
        let mut body = vec![0; len.unwrap()];
        conn.read_exact(&mut body).unwrap();
        assert_eq!(body, &data[off..off + 4096], "block at {off}");
    }
    let el = t.elapsed();
    eprintln!("{n} sequential 4 KiB ranges on one connection: {el:?} ({:.0}/s)", n as f64 / el.as_secs_f64());
    // With Nagle's algorithm on, each answer waits for a delayed ACK: 20+ s.
    assert!(el < Duration::from_secs(10), "{n} requests took {el:?}: TCP_NODELAY missing?");
}
