//! `oxvm run --web-dir`: a directory indexed by `oxvm image index`, served
//! by `oxvm serve`, mounted read-only in the guest. The oracle is the
//! host's own view of the directory (this is an oxvm-only feature).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::image::serve;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn oxvm(args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_oxvm"));
    common::chroot::env(&mut c);
    c.args(args).stdin(Stdio::null());
    c.output().unwrap()
}

/// `script` in the guest with the web directory `url` on /mnt.
fn guest(url: &str, script: &str) -> Output {
    let root = common::chroot::rootfs().unwrap();
    let web = format!("/mnt={url}");
    oxvm(&["run", "--root", root.to_str().unwrap(), "--web-dir", &web, "--", "/bin/bash", "-c", script])
}

/// The same script run by the host's bash in `dir`.
fn host(dir: &Path, script: &str) -> String {
    let mut c = Command::new("/bin/bash");
    common::chroot::env(&mut c);
    let o = c.arg("-c").arg(script).current_dir(dir).output().unwrap();
    assert!(o.status.success(), "host: {script}: {}", text(&o.stderr));
    text(&o.stdout)
}

/// Deterministic noise.
fn noise(n: usize) -> Vec<u8> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn index(dir: &Path) {
    let o = oxvm(&["image", "index", dir.to_str().unwrap()]);
    assert!(o.status.success(), "oxvm image index: {}", text(&o.stderr));
    assert!(text(&o.stdout).contains("indexed"), "{}", text(&o.stdout));
}

/// A small static program, when gcc can build one.
fn static_exe(dir: &Path) -> bool {
    let src = dir.join("hello.c");
    std::fs::write(&src, "#include <stdio.h>\nint main(int c, char **v) { printf(\"static hello %d\\n\", c); return 3; }\n").unwrap();
    let ok = Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(dir.join("sub/static-hello"))
        .arg(&src)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    std::fs::remove_file(&src).unwrap();
    if !ok {
        eprintln!("note: no `gcc -static`: the static executable is left out");
    }
    ok
}

#[test]
fn a_served_directory_reads_like_the_host_sees_it() {
    let Some(root) = common::chroot::rootfs() else { return };
    let s = common::scratch("webdir");
    let d = &s.0;
    std::fs::write(d.join("hello.txt"), "hello from the web\n").unwrap();
    std::fs::write(d.join("big.bin"), noise((1 << 20) + 12345)).unwrap();
    std::os::unix::fs::symlink("hello.txt", d.join("link")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname-elsewhere", d.join("dangling")).unwrap();
    std::fs::create_dir_all(d.join("sub/deep/er")).unwrap();
    std::fs::write(d.join("sub/deep/er/name with space.txt"), "spaced\n").unwrap();
    std::fs::write(d.join("sub/empty"), "").unwrap();
    std::fs::copy(root.join("bin/true"), d.join("sub/true")).unwrap();
    std::fs::set_permissions(d.join("sub"), std::fs::Permissions::from_mode(0o750)).unwrap();
    std::fs::set_permissions(d.join("hello.txt"), std::fs::Permissions::from_mode(0o640)).unwrap();
    let have_static = static_exe(d);
    index(d);
    let idx: oxvm_kernel::fs::webfs::Index = serde_json::from_slice(&std::fs::read(d.join("index.json")).unwrap()).unwrap();
    assert!(!idx.entries.iter().any(|e| e.path == "index.json"), "the index does not list itself");
    assert_eq!(idx.entries.len(), 10 + have_static as usize, "{idx:?}");
    let server = serve(d);

    // The tree: names, types, modes, times, sizes, link targets.
    let tree = "find . -mindepth 1 ! -name index.json \\( -type d -printf '%p %M %Ts\\n' -o -printf '%p %M %Ts %s %l\\n' \\) | sort";
    let o = guest(&server.url, &format!("cd /mnt && {tree}"));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let want = host(d, tree);
    assert_eq!(text(&o.stdout), want);
    assert!(want.contains("./link lrwxrwxrwx") && want.contains("./sub drwxr-x---"), "{want}");

    // Contents, links, listings.
    let script = "cat /mnt/hello.txt /mnt/link; sha256sum < /mnt/big.bin; readlink /mnt/link /mnt/dangling; \
                  cat '/mnt/sub/deep/er/name with space.txt'; wc -c < /mnt/sub/empty; ls /mnt/sub; ls -l /mnt/hello.txt | cut -d' ' -f1,5; \
                  cmp /mnt/sub/true /bin/true && echo same-true";
    let o = guest(&server.url, script);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let host_sum = host(d, "sha256sum < big.bin");
    let mut expect = String::from("hello from the web\nhello from the web\n");
    expect += &host_sum;
    expect += "hello.txt\n/etc/hostname-elsewhere\nspaced\n0\n";
    expect += &host(d, "ls sub");
    expect += "-rw-r----- 19\nsame-true\n";
    assert_eq!(text(&o.stdout), expect);

    // Programs run from it: a dynamically linked one (the guest root's
    // loader) and a static one.
    let run = if have_static {
        "/mnt/sub/true && echo true-ran; /mnt/sub/static-hello a b; echo status $?"
    } else {
        "/mnt/sub/true && echo true-ran"
    };
    let o = guest(&server.url, run);
    let expect = if have_static { "true-ran\nstatic hello 3\nstatus 3\n" } else { "true-ran\n" };
    assert_eq!(text(&o.stdout), expect, "{}", text(&o.stderr));

    // Read-only: every change fails so; the mount table says what it is.
    let o = guest(
        &server.url,
        "echo x > /mnt/hello.txt; echo x > /mnt/new; mkdir /mnt/dir; rm /mnt/big.bin; touch /mnt/hello.txt; ln -s a /mnt/l2; \
         mv /mnt/hello.txt /mnt/h; chmod 600 /mnt/hello.txt; grep ' /mnt ' /proc/mounts; cat /mnt/nope; true",
    );
    let err = text(&o.stderr);
    assert_eq!(err.matches("Read-only file system").count(), 8, "{err}");
    assert!(err.contains("/mnt/nope: No such file or directory"), "{err}");
    assert_eq!(text(&o.stdout), format!("{} /mnt webfs ro,nosuid,nodev,relatime 0 0\n", server.url));
    // access(W_OK) says so too (EROFS), even to root; reading is fine.
    let o = guest(
        &server.url,
        "test -w /mnt/hello.txt; echo w $?; test -w /mnt/sub; echo w $?; test -r /mnt/hello.txt; echo r $?; \
         python3 -c 'import os; s = os.statvfs(\"/mnt\"); print(s.f_flag & os.ST_RDONLY, os.access(\"/mnt/big.bin\", os.W_OK))'",
    );
    assert_eq!(text(&o.stdout), "w 1\nw 1\nr 0\n1 False\n", "{}", text(&o.stderr));
}

#[test]
fn server_side_trouble_is_an_io_error() {
    if common::chroot::rootfs().is_none() {
        return;
    }
    let s = common::scratch("webdir-eio");
    let d = &s.0;
    std::fs::write(d.join("gone"), "here at index time\n").unwrap();
    std::fs::write(d.join("grown"), "short\n").unwrap();
    std::fs::write(d.join("fine"), "fine\n").unwrap();
    index(d);
    std::fs::remove_file(d.join("gone")).unwrap();
    std::fs::write(d.join("grown"), "much longer now\n").unwrap();
    let server = serve(d);
    let o = guest(&server.url, "cat /mnt/gone; cat /mnt/grown; cat /mnt/fine; ls /mnt");
    let err = text(&o.stderr);
    assert!(err.contains("cat: /mnt/gone: Input/output error"), "{err}");
    assert!(err.contains("cat: /mnt/grown: Input/output error"), "{err}");
    assert_eq!(text(&o.stdout), "fine\nfine\ngone\ngrown\n");
}

#[test]
fn bad_web_directories_are_refused_at_start() {
    let Some(root) = common::chroot::rootfs() else { return };
    let root = root.to_str().unwrap();
    let s = common::scratch("webdir-bad");
    let d = &s.0;
    // A malformed index.
    std::fs::write(d.join("index.json"), r#"{"version":1,"entries":[{"path":"../etc","type":"dir"}]}"#).unwrap();
    let server = serve(d);
    let web = format!("/mnt={}", server.url);
    let o = oxvm(&["run", "--root", root, "--web-dir", &web, "--", "/bin/true"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("index.json: \"../etc\": '.' and '..' are not allowed"), "{}", text(&o.stderr));
    // No index at all.
    std::fs::remove_file(d.join("index.json")).unwrap();
    let o = oxvm(&["run", "--root", root, "--web-dir", &web, "--", "/bin/true"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("HTTP status 404"), "{}", text(&o.stderr));
    // Not a directory in the guest.
    index(d);
    let web_file = format!("/etc/passwd={}", server.url);
    let o = oxvm(&["run", "--root", root, "--web-dir", &web_file, "--", "/bin/true"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("Not a directory"), "{}", text(&o.stderr));
    let web_none = format!("/no-such-dir={}", server.url);
    let o = oxvm(&["run", "--root", root, "--web-dir", &web_none, "--", "/bin/true"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("/no-such-dir: No such file or directory (the mount point must be a directory"),
        "{}",
        text(&o.stderr)
    );
    // And a good one next to it works.
    let o = oxvm(&["run", "--root", root, "--web-dir", &web, "--", "/bin/ls", "/mnt"]);
    assert_eq!((o.status.code(), text(&o.stdout)), (Some(0), String::new()), "{}", text(&o.stderr));
    // Malformed arguments.
    for bad in ["mnt=http://x", "/mnt", "/mnt=ftp://x"] {
        let o = oxvm(&["run", "--root", root, "--web-dir", bad, "--", "/bin/true"]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(text(&o.stderr).contains("GUEST_PATH=URL"), "{}", text(&o.stderr));
    }
    let o = oxvm(&["image", "index", "/nonexistent-webdir"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("/nonexistent-webdir"), "{}", text(&o.stderr));
}
