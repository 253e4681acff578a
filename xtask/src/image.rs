//! `cargo xtask image`: the default Debian image the browser VM boots.
//! A debootstrap tree (its default mirror) with what a terminal user
//! expects, a non-root user `user` (home /home/user), built into an ext2
//! image by `oxvm image build` and published as a chunk store by `oxvm
//! image publish`. Each step is cached under target/image and redone only
//! when its input changed.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::rootfs::{self, SUITE};
use crate::setup::{self, cargo, root, run_checked};

/// Beyond the test root filesystem's packages.
const EXTRA: &[&str] = &[
    "bash-completion",
    "vim",
    "nano",
    "less",
    "man-db",
    "curl",
    "wget",
    "openssh-client",
    "ca-certificates",
    "sudo",
    "locales",
    "iproute2",
    "iputils-ping",
    "procps",
];

/// How the browser VM starts the default command (as user `user` in its
/// home), for the recording of what a start reads.
const DEFAULT_COMMAND_ARGS: &[&str] = &[
    "--uid",
    "1000",
    "--gid",
    "1000",
    "--cwd",
    "/home/user",
    "--env",
    "HOME=/home/user",
    "--env",
    "USER=user",
    "--env",
    "TERM=xterm-256color",
];

pub fn dir() -> PathBuf {
    root().join("target/image")
}

fn packages() -> Vec<&'static str> {
    let mut p: Vec<&str> = rootfs::PACKAGES.iter().copied().filter(|p| *p != "libpython3.11-testsuite").collect();
    p.extend_from_slice(EXTRA);
    p
}

fn stamp_contents() -> String {
    format!("{SUITE} amd64 minbase default-image v1\n{}\n", packages().join(" "))
}

/// The tree, built with debootstrap unless cached.
fn tree() -> Result<PathBuf, String> {
    let tree = dir().join(format!("{SUITE}-tree"));
    let stamp = tree.with_extension("stamp");
    if tree.is_dir() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(stamp_contents().as_str()) {
        return Ok(tree);
    }
    setup::ensure_debian_packages(&[("debootstrap", "debootstrap")])?;
    if !rootfs::is_root() {
        return Err("debootstrap needs root (it chroots into the new tree to configure packages); run `sudo cargo xtask image`".into());
    }
    let tmp = tree.with_extension("partial");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(dir()).map_err(|e| e.to_string())?;
    let pk = packages();
    setup::step(&format!("debootstrap {SUITE} (minbase + {} packages) into {}", pk.len(), tmp.display()));
    // No mirror argument: debootstrap uses its own default.
    run_checked(
        Command::new("debootstrap")
            .args(["--variant=minbase", "--arch=amd64"])
            .arg(format!("--include={}", pk.join(",")))
            .arg(SUITE)
            .arg(&tmp),
    )?;
    configure(&tmp)?;
    let _ = std::fs::remove_dir_all(&tree);
    std::fs::rename(&tmp, &tree).map_err(|e| format!("{} -> {}: {e}", tmp.display(), tree.display()))?;
    std::fs::write(&stamp, stamp_contents()).map_err(|e| e.to_string())?;
    Ok(tree)
}

/// What an installer would do: host name and hosts, a UTF-8 locale, the
/// user `user` (password-less sudo), and no package caches in the image.
fn configure(t: &Path) -> Result<(), String> {
    let write = |rel: &str, text: &str| std::fs::write(t.join(rel), text).map_err(|e| format!("{rel}: {e}"));
    write("etc/hostname", "oxvm\n")?;
    write("etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\toxvm\n::1\tlocalhost ip6-localhost ip6-loopback\n")?;
    write("etc/locale.gen", "C.UTF-8 UTF-8\nen_US.UTF-8 UTF-8\n")?;
    write("etc/default/locale", "LANG=C.UTF-8\n")?;
    let chroot = |args: &[&str]| run_checked(Command::new("chroot").arg(t).args(args));
    chroot(&["locale-gen"])?;
    chroot(&["useradd", "--create-home", "--shell", "/bin/bash", "--groups", "sudo", "user"])?;
    chroot(&["passwd", "--delete", "user"])?;
    write("etc/sudoers.d/user", "user ALL=(ALL) NOPASSWD:ALL\n")?;
    chroot(&["apt-get", "clean"])?;
    let _ = std::fs::remove_dir_all(t.join("var/lib/apt/lists"));
    std::fs::create_dir_all(t.join("var/lib/apt/lists/partial")).map_err(|e| e.to_string())?;
    Ok(())
}

/// Build the tree, the image and its chunk store; returns the chunk
/// store's directory (holding manifest.json).
pub fn ensure() -> Result<PathBuf, String> {
    let tree = tree()?;
    setup::step("building oxvm");
    run_checked(cargo().args(["build", "--release", "-p", "oxvm-cli"]))?;
    let oxvm = root().join("target/release/oxvm");
    let image = dir().join("debian.img");
    let stamp = dir().join("debian.img.stamp");
    let want = stamp_contents();
    if !image.exists() || std::fs::read_to_string(&stamp).ok().as_deref() != Some(want.as_str()) {
        setup::step(&format!("oxvm image build {}", image.display()));
        run_checked(Command::new(&oxvm).args(["image", "build", "--label", "oxvm-debian", "--from"]).arg(&tree).arg("--out").arg(&image))?;
        std::fs::write(&stamp, &want).map_err(|e| e.to_string())?;
    }
    let store = dir().join("debian");
    let published = store.join("manifest.json");
    let fresh = |a: &Path, b: &Path| -> bool {
        let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        matches!((m(a), m(b)), (Some(x), Some(y)) if x >= y)
    };
    if !fresh(&published, &image) {
        setup::step(&format!("oxvm image publish {} --out {}", image.display(), store.display()));
        let _ = std::fs::remove_dir_all(&store);
        run_checked(Command::new(&oxvm).args(["image", "publish"]).arg(&image).arg("--out").arg(&store))?;
        // Record what starting the default command reads, and publish
        // again with those chunks listed for one batched fetch at start
        // (the chunks are already there: only the manifest changes).
        let reads = dir().join("boot-reads.txt");
        let cache = dir().join("record-cache");
        let _ = std::fs::remove_dir_all(&cache);
        setup::step("recording what a login shell reads");
        run_checked(
            Command::new(&oxvm)
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                .env("XDG_CACHE_HOME", &cache)
                .args(["run", "--image"])
                .arg(&published)
                .args(["--ephemeral", "--record-reads"])
                .arg(&reads)
                .args(DEFAULT_COMMAND_ARGS)
                .args(["--", "/bin/bash", "--login", "-i", "-c", "true"])
                .stdin(std::process::Stdio::null()),
        )?;
        let _ = std::fs::remove_dir_all(&cache);
        run_checked(
            Command::new(&oxvm).args(["image", "publish"]).arg(&image).arg("--out").arg(&store).arg("--prefetch-from").arg(&reads),
        )?;
    }
    Ok(store)
}
