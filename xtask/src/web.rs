//! The browser VM: building the web app, laying out a site to serve or
//! publish, `cargo xtask serve`, `cargo xtask web --out DIR` and the
//! browser end-to-end tests.
//!
//! A site is a plain directory: the bundled app (target/web/dist: the
//! page, its scripts and `oxvm.wasm`) plus `images/NAME/` chunk stores.
//! Its files are hard links to the build outputs (copies when the
//! destination is on another file system), never symlinks: `oxvm serve`
//! refuses symlinks that lead out of the served directory, and a Pages
//! artifact must hold real files. A site is laid out anew each time, so a
//! rebuilt image or app never leaves stale files behind.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use crate::image;
use crate::rootfs;
use crate::setup::{self, cargo, root, run_checked};

const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Where the bundled app is built.
pub fn dist_dir() -> PathBuf {
    root().join("target/web/dist")
}

fn web_src() -> PathBuf {
    root().join("web")
}

/// Node.js and npm bundle the app and drive the browser tests.
pub fn ensure_node() -> Result<(), String> {
    setup::ensure_debian_packages(&[("node", "nodejs"), ("npm", "npm")])
        .map_err(|e| format!("the web app is bundled (and tested) with Node.js and npm, which are missing: {e}"))
}

/// `npm ci` in web/ when its dependencies are not installed, or when
/// package-lock.json changed since they were (npm writes
/// node_modules/.package-lock.json on every install).
fn ensure_npm_deps() -> Result<(), String> {
    let web = web_src();
    let lock = web.join("package-lock.json");
    let installed = web.join("node_modules/.package-lock.json");
    let stale = match (mtime(&lock), mtime(&installed)) {
        (_, None) => true,
        (Some(l), Some(i)) => l > i,
        (None, Some(_)) => false,
    };
    if stale {
        setup::step("npm ci (web/)");
        run_checked(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&web))?;
    }
    Ok(())
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Build the engine for wasm32 and bundle the app into `out`, which is
/// emptied first (it must be a build directory, never a user's).
pub fn build_web(out: &Path) -> Result<(), String> {
    setup::ensure_rust_target(WASM_TARGET)?;
    setup::step("cargo build --release --target wasm32-unknown-unknown -p oxvm-wasm");
    run_checked(cargo().args(["build", "--release", "--target", WASM_TARGET, "-p", "oxvm-wasm"]))?;
    let wasm = root().join("target").join(WASM_TARGET).join("release/oxvm_wasm.wasm");
    ensure_node()?;
    ensure_npm_deps()?;
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    setup::step(&format!("node web/build.mjs --out {}", out.display()));
    run_checked(Command::new("node").arg(web_src().join("build.mjs")).arg("--out").arg(out).current_dir(root()))?;
    // After the bundler, in case it empties its output directory itself.
    let bytes = std::fs::read(&wasm).map_err(|e| format!("{}: {e}", wasm.display()))?;
    let stripped = strip_custom_sections(&bytes).ok_or_else(|| format!("{}: not a WebAssembly module", wasm.display()))?;
    std::fs::write(out.join("oxvm.wasm"), &stripped).map_err(|e| format!("{}/oxvm.wasm: {e}", out.display()))?;
    println!("xtask: oxvm.wasm: {} bytes ({} with debug information)", stripped.len(), bytes.len());
    Ok(())
}

/// The path of the engine as the app serves it (`OXVM_WASM` for the
/// corpus test on Node).
pub fn dist_wasm() -> PathBuf {
    dist_dir().join("oxvm.wasm")
}

/// The module without its custom sections (names, DWARF line tables: the
/// release profile keeps line tables for native backtraces), which the
/// browser would download and skip. None: not a wasm module.
fn strip_custom_sections(module: &[u8]) -> Option<Vec<u8>> {
    const HEADER: &[u8] = b"\0asm\x01\0\0\0";
    if !module.starts_with(HEADER) {
        return None;
    }
    let mut out = HEADER.to_vec();
    let mut at = HEADER.len();
    while at < module.len() {
        let start = at;
        let id = module[at];
        at += 1;
        // The section size: unsigned LEB128.
        let (mut size, mut shift) = (0usize, 0u32);
        loop {
            let b = *module.get(at)?;
            at += 1;
            size |= usize::from(b & 0x7f).checked_shl(shift)?;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        let end = at.checked_add(size).filter(|&e| e <= module.len())?;
        if id != 0 {
            out.extend_from_slice(&module[start..end]);
        }
        at = end;
    }
    Some(out)
}

/// Lay out a site in `site`: the app from `dist`, each `(name, store)` as
/// images/NAME, and `files` (name, contents) at the top. `site` is
/// replaced; a directory that holds something else than a site is refused
/// rather than deleted.
pub fn lay_out(site: &Path, dist: &Path, images: &[(&str, &Path)], files: &[(&str, &str)]) -> Result<(), String> {
    if let Ok(mut entries) = std::fs::read_dir(site) {
        let empty = entries.next().is_none();
        let ours = site.join("index.html").is_file() && site.join("images").is_dir();
        if !empty && !ours {
            return Err(format!("{} is not empty and holds no site laid out before: choose another directory", site.display()));
        }
        std::fs::remove_dir_all(site).map_err(|e| format!("{}: {e}", site.display()))?;
    }
    link_tree(dist, site)?;
    for (name, store) in images {
        if !store.join("manifest.json").is_file() {
            return Err(format!("{} holds no manifest.json", store.display()));
        }
        link_tree(store, &site.join("images").join(name))?;
    }
    for (name, text) in files {
        std::fs::write(site.join(name), text).map_err(|e| format!("{}/{name}: {e}", site.display()))?;
    }
    Ok(())
}

/// Recreate the tree `from` under `to` with hard links, or copies where a
/// link cannot be made (another file system). Symlinks in `from` are
/// followed: the site holds what they point at.
fn link_tree(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", from.display()))?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let meta = std::fs::metadata(&src).map_err(|e| format!("{}: {e}", src.display()))?;
        if meta.is_dir() {
            link_tree(&src, &dst)?;
        } else if std::fs::hard_link(&src, &dst).is_err() {
            std::fs::copy(&src, &dst).map_err(|e| format!("{} -> {}: {e}", src.display(), dst.display()))?;
        }
    }
    Ok(())
}

/// The native `oxvm` binary, built (release).
fn oxvm() -> Result<PathBuf, String> {
    setup::step("cargo build --release -p oxvm-cli");
    run_checked(cargo().args(["build", "--release", "-p", "oxvm-cli"]))?;
    Ok(root().join("target/release/oxvm"))
}

/// `cargo xtask serve [--port N] [--bind ADDR]`.
pub fn serve(args: &[String]) -> Result<(), String> {
    let mut port = "8080".to_string();
    let mut bind = "127.0.0.1".to_string();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--port" => port = value()?,
            "--bind" => bind = value()?,
            other => return Err(format!("serve: unknown argument `{other}` (serve [--port N] [--bind ADDR])")),
        }
    }
    port.parse::<u16>().map_err(|_| format!("--port {port}: not a port number"))?;
    let oxvm = oxvm()?;
    let dist = dist_dir();
    build_web(&dist)?;
    let store = image::ensure()?;
    let site = root().join("target/web/site");
    setup::step(&format!("laying out {}", site.display()));
    lay_out(&site, &dist, &[("default", &store)], &[])?;
    let host = if bind == "0.0.0.0" || bind == "::" { "localhost" } else { bind.as_str() };
    let host = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
    setup::step(&format!("serving the browser VM: open http://{host}:{port}/ (Ctrl-C stops)"));
    run_checked(Command::new(oxvm).arg("serve").arg("--dir").arg(&site).args(["--port", &port, "--bind", &bind]))
}

/// `cargo xtask web --out DIR`: the site to publish (GitHub Pages), with
/// the default image, as real files.
pub fn web(args: &[String]) -> Result<(), String> {
    let out = match args {
        [flag, dir] if flag == "--out" => PathBuf::from(dir),
        _ => return Err("usage: cargo xtask web --out DIR".into()),
    };
    // Relative to where the command was started, not the workspace.
    let out = std::env::current_dir().map_err(|e| e.to_string())?.join(out);
    let dist = dist_dir();
    build_web(&dist)?;
    let store = image::ensure()?;
    setup::step(&format!("laying out the site in {}", out.display()));
    lay_out(&out, &dist, &[("default", &store)], &[])?;
    println!("{}", out.display());
    Ok(())
}

/// The browser tests' config: a root shell in /root on the test image,
/// with a persistent overlay of its own (the profile is fresh per run).
const TEST_CONFIG: &str = r#"{
  "image": { "kind": "chunks", "url": "images/test/manifest.json" },
  "overlay": "oxvm-e2e",
  "cmd": "/bin/bash",
  "args": ["--login"],
  "env": ["HOME=/root", "USER=root", "TERM=xterm-256color", "LANG=C.UTF-8", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
  "cwd": "/root",
  "uid": 0,
  "gid": 0
}
"#;

/// Bumped when the test image is built differently.
const TEST_IMAGE_VERSION: &str = "test-image v1";

/// The test root filesystem as a published chunk store in `dir`, rebuilt
/// only when the root filesystem (its stamp) changed.
fn test_image(dir: &Path, oxvm: &Path, rootfs: &Path) -> Result<PathBuf, String> {
    let store = dir.join("store");
    let stamp = dir.join("stamp");
    // The rootfs's own stamp says what it holds and when it was built; a
    // tree given by OXVM_TEST_ROOTFS has none, its directory's mtime
    // stands in.
    let rootfs_stamp = rootfs.with_extension("stamp");
    let (what, when) = match std::fs::read_to_string(&rootfs_stamp) {
        Ok(s) => (s, mtime(&rootfs_stamp)),
        Err(_) => (String::new(), mtime(rootfs)),
    };
    let want = format!("{TEST_IMAGE_VERSION}\n{}\n{what}\n{when:?}\n", rootfs.display());
    if store.join("manifest.json").is_file() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str()) {
        return Ok(store);
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let img = dir.join("test.img");
    setup::step(&format!("oxvm image build --from {} --out {} --size auto", rootfs.display(), img.display()));
    run_checked(Command::new(oxvm).args(["image", "build", "--from"]).arg(rootfs).arg("--out").arg(&img).args(["--size", "auto"]))?;
    setup::step(&format!("oxvm image publish {} --out {}", img.display(), store.display()));
    run_checked(Command::new(oxvm).args(["image", "publish"]).arg(&img).arg("--out").arg(&store))?;
    // The chunk store is all the site needs.
    let _ = std::fs::remove_file(&img);
    std::fs::write(&stamp, want).map_err(|e| e.to_string())?;
    Ok(store)
}

/// A running `oxvm serve`, stopped when dropped.
struct Server {
    child: std::process::Child,
    url: String,
}

impl Server {
    fn start(oxvm: &Path, site: &Path) -> Result<Server, String> {
        let mut child = Command::new(oxvm)
            .arg("serve")
            .arg("--dir")
            .arg(site)
            .args(["--port", "0", "--bind", "127.0.0.1"])
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start oxvm serve: {e}"))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut reader = BufReader::new(stdout);
        // "oxvm: serving DIR at http://ADDR/": the port it picked.
        let mut line = String::new();
        let url = match reader.read_line(&mut line) {
            Ok(n) if n > 0 => line.trim().rsplit(' ').next().filter(|u| u.starts_with("http://")).map(str::to_string),
            _ => None,
        };
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let mut server = Server { child, url: String::new() };
        match url {
            Some(u) => {
                server.url = u;
                Ok(server)
            }
            None => Err(format!("oxvm serve did not say where it listens (it printed {line:?})")),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The browser end-to-end tests: headless Chromium on the web app, booting
/// the test root filesystem. `rootfs` is None without root (no root
/// filesystem could be built): then they are skipped, as the other rootfs
/// tests are.
pub fn browser_tests(rootfs: Option<&Path>) -> Result<(), String> {
    if std::env::var("OXVM_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("xtask: WARNING: the browser tests are skipped (OXVM_SKIP_BROWSER=1)");
        return Ok(());
    }
    let Some(rootfs) = rootfs else {
        eprintln!("xtask: WARNING: the browser tests will be skipped: they boot the Debian root filesystem, which needs root to build");
        return Ok(());
    };
    setup::ensure_debian_packages(&[("chromium", "chromium")])?;
    let chromium = Path::new("/usr/bin/chromium");
    if !chromium.exists() {
        return Err(format!("{} is missing (Debian package chromium)", chromium.display()));
    }
    let oxvm = oxvm()?;
    let dist = dist_dir();
    build_web(&dist)?;
    let store = test_image(&root().join("target/web/test-image"), &oxvm, rootfs)?;
    let site = root().join("target/web/test-site");
    lay_out(&site, &dist, &[("test", &store)], &[("test-config.json", TEST_CONFIG)])?;
    let artifacts = root().join("target/web/artifacts");
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).map_err(|e| format!("{}: {e}", artifacts.display()))?;
    let server = Server::start(&oxvm, &site)?;
    setup::step(&format!("browser tests: Chromium on {} (artifacts in {})", server.url, artifacts.display()));
    let result = run_checked(
        Command::new("node")
            .arg(web_src().join("tests/e2e.mjs"))
            .arg("--url")
            .arg(format!("{}?config=test-config.json", server.url))
            .arg("--artifacts")
            .arg(&artifacts)
            .arg("--chromium")
            .arg(chromium)
            .current_dir(root()),
    );
    drop(server);
    result?;
    plain_host_boot(&site, &artifacts.join("no-headers"), chromium)?;
    // The app's own checks against a stand-in engine: the service worker
    // isolating a page served without headers, touch layout, copy and
    // paste, downloads, the API's argument checks.
    setup::step("web app checks (web/tests/app-smoke.mjs)");
    run_checked(Command::new("node").arg(web_src().join("tests/app-smoke.mjs")).env("OXVM_BIN", &oxvm).current_dir(root()))?;
    // The persistent stores (OPFS and the IndexedDB fallback) against a
    // model: what the overlay's crash consistency rests on in the browser.
    setup::step("browser stores against a model (web/tests/stores-browser.mjs)");
    run_checked(Command::new("node").arg(web_src().join("tests/stores-browser.mjs")).arg("--chromium").arg(chromium).current_dir(root()))
}

/// The test site on a static server that sends no isolation headers
/// (Python's http.server, as GitHub Pages sends none): the app's service
/// worker must make the page cross-origin isolated, and the engine boot.
fn plain_host_boot(site: &Path, artifacts: &Path, chromium: &Path) -> Result<(), String> {
    setup::ensure_debian_packages(&[("python3", "python3")])?;
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| format!("no free port: {e}"))?.port();
    let child = Command::new("python3")
        .args(["-m", "http.server", "--bind", "127.0.0.1", &port.to_string(), "--directory"])
        .arg(site)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start python3 -m http.server: {e}"))?;
    let server = Server { child, url: format!("http://127.0.0.1:{port}/") };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if std::time::Instant::now() > deadline {
            return Err(format!("python3 -m http.server did not listen on port {port}"));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    setup::step(&format!("browser test on a host without isolation headers: {} (the service worker isolates the page)", server.url));
    run_checked(
        Command::new("node")
            .arg(web_src().join("tests/e2e.mjs"))
            .arg("--boot-only")
            .arg("--url")
            .arg(format!("{}?config=test-config.json", server.url))
            .arg("--artifacts")
            .arg(artifacts)
            .arg("--chromium")
            .arg(chromium)
            .current_dir(root()),
    )
}

/// `cargo xtask test-browser`: just the browser tests.
pub fn test_browser() -> Result<(), String> {
    match rootfs::ensure() {
        Ok(path) => browser_tests(Some(&path)),
        Err(e) if !rootfs::is_root() => {
            eprintln!("xtask: WARNING: {e}");
            browser_tests(None)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn custom_sections_are_stripped_and_the_rest_kept() {
        // header, a type section (id 1, 4 bytes), a custom section (id 0,
        // name "x", 2 bytes of payload), a function section (id 3, 2 bytes).
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend([1, 4, 1, 0x60, 0, 0]);
        m.extend([0, 4, 1, b'x', 7, 7]);
        m.extend([3, 2, 1, 0]);
        let s = strip_custom_sections(&m).unwrap();
        assert_eq!(&s[8..], &[1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0]);
        assert!(strip_custom_sections(b"not wasm").is_none());
        // A section claiming more bytes than there are.
        let mut bad = b"\0asm\x01\0\0\0".to_vec();
        bad.extend([1, 0x80, 0x80, 0x04, 0]);
        assert!(strip_custom_sections(&bad).is_none());
    }

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("xtask-web-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn write(p: &Path, text: &str) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn site_layout_links_app_images_and_files() {
        let d = scratch("layout");
        let dist = d.join("dist");
        write(&dist.join("index.html"), "<html>");
        write(&dist.join("oxvm.wasm"), "wasm");
        let store = d.join("store");
        write(&store.join("manifest.json"), "{}");
        write(&store.join("chunks/ab/abcdef"), "chunk");
        let site = d.join("site");
        lay_out(&site, &dist, &[("test", &store)], &[("test-config.json", "{\"uid\":0}")]).unwrap();
        assert_eq!(std::fs::read_to_string(site.join("images/test/chunks/ab/abcdef")).unwrap(), "chunk");
        assert_eq!(std::fs::read_to_string(site.join("test-config.json")).unwrap(), "{\"uid\":0}");
        // Hard links: the same file, not a copy and not a symlink.
        let (a, b) = (std::fs::metadata(dist.join("oxvm.wasm")).unwrap(), std::fs::symlink_metadata(site.join("oxvm.wasm")).unwrap());
        assert!(b.file_type().is_file());
        assert_eq!((a.dev(), a.ino()), (b.dev(), b.ino()));

        // Laid out again: what the build no longer has is gone.
        std::fs::remove_file(store.join("chunks/ab/abcdef")).unwrap();
        lay_out(&site, &dist, &[("test", &store)], &[]).unwrap();
        assert!(!site.join("images/test/chunks/ab/abcdef").exists());
        assert!(!site.join("test-config.json").exists());
        assert!(site.join("images/test/manifest.json").is_file());

        // A store without a manifest is refused.
        std::fs::remove_file(store.join("manifest.json")).unwrap();
        assert!(lay_out(&site, &dist, &[("test", &store)], &[]).unwrap_err().contains("manifest.json"));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn site_layout_never_deletes_a_foreign_directory() {
        let d = scratch("foreign");
        let dist = d.join("dist");
        write(&dist.join("index.html"), "<html>");
        let precious = d.join("home/notes.txt");
        write(&precious, "keep me");
        let err = lay_out(&d.join("home"), &dist, &[], &[]).unwrap_err();
        assert!(err.contains("not empty"), "{err}");
        assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me");
        // An empty directory is fine.
        std::fs::create_dir_all(d.join("empty")).unwrap();
        lay_out(&d.join("empty"), &dist, &[], &[]).unwrap();
        assert!(d.join("empty/index.html").is_file());
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// The native binary these tests need: `$OXVM_BIN`, else this
    /// checkout's release build. Without one they say so and pass: xtask's
    /// own tests must not build the whole workspace.
    fn oxvm_bin() -> Option<PathBuf> {
        let p = std::env::var_os("OXVM_BIN").map(PathBuf::from).unwrap_or_else(|| root().join("target/release/oxvm"));
        if p.is_file() {
            Some(p)
        } else {
            eprintln!("skipped: no oxvm binary at {} (set OXVM_BIN)", p.display());
            None
        }
    }

    #[test]
    fn server_serves_the_site_on_the_port_it_reports() {
        let Some(oxvm) = oxvm_bin() else { return };
        let d = scratch("server");
        write(&d.join("index.html"), "hello from the site");
        let server = Server::start(&oxvm, &d).unwrap();
        assert!(server.url.starts_with("http://127.0.0.1:") && server.url.ends_with('/'), "{}", server.url);
        let out = Command::new("curl").args(["-sf", &format!("{}index.html", server.url)]).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from the site");
        drop(server);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn test_image_is_built_once_per_rootfs() {
        let Some(oxvm) = oxvm_bin() else { return };
        let d = scratch("image");
        let rootfs = d.join("rootfs");
        write(&rootfs.join("root/hello.txt"), "hi");
        write(&d.join("rootfs.stamp"), "tiny rootfs v1");
        let out = d.join("test-image");
        let store = test_image(&out, &oxvm, &rootfs).unwrap();
        assert!(store.join("manifest.json").is_file());
        let first = mtime(&store.join("manifest.json")).unwrap();
        // Unchanged rootfs: reused as it is.
        assert_eq!(test_image(&out, &oxvm, &rootfs).unwrap(), store);
        assert_eq!(mtime(&store.join("manifest.json")).unwrap(), first);
        // A rebuilt rootfs (a new stamp): built again.
        std::thread::sleep(std::time::Duration::from_millis(20));
        write(&d.join("rootfs.stamp"), "tiny rootfs v2");
        test_image(&out, &oxvm, &rootfs).unwrap();
        assert!(mtime(&store.join("manifest.json")).unwrap() > first);
        let listed = Command::new(&oxvm).args(["image", "cat"]).arg(store.join("manifest.json")).arg("/root/hello.txt").output().unwrap();
        assert_eq!(String::from_utf8_lossy(&listed.stdout), "hi");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
