//! `cargo xtask rootfs`: the Debian bookworm amd64 root filesystem the
//! Linux-personality tests run in (natively with chroot, and under oxvm).
//! Built once with debootstrap (its default mirror) and cached under the
//! target directory; rebuilt when the package list changes.

use std::path::PathBuf;
use std::process::Command;

use crate::setup::{self, root, run_checked};

pub const SUITE: &str = "bookworm";

/// What the differential corpus and CPython's tests need, beyond minbase.
pub const PACKAGES: &[&str] = &[
    "bash",
    "coreutils",
    "findutils",
    "grep",
    "sed",
    "gawk",
    "tar",
    "gzip",
    "xz-utils",
    "bzip2",
    "python3",
    "perl",
    "gcc",
    "libc6-dev",
    "make",
    "git",
    "sqlite3",
    "file",
    "procps",
    "libpython3.11-testsuite",
];

/// Where the root filesystem lives once built.
pub fn path() -> PathBuf {
    root().join("target/rootfs").join(SUITE)
}

/// What a container runtime or the installer would add to a bare
/// debootstrap tree, applied to fresh and cached trees alike: an
/// /etc/hosts, so that "localhost" resolves (getaddrinfo reads it; minbase
/// has none).
fn configure(dir: &std::path::Path) -> Result<(), String> {
    let hosts = dir.join("etc/hosts");
    if !hosts.exists() {
        std::fs::write(&hosts, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
            .map_err(|e| format!("{}: {e}", hosts.display()))?;
    }
    Ok(())
}

fn stamp_contents() -> String {
    format!("{SUITE} amd64 minbase\n{}\n", PACKAGES.join(" "))
}

/// Build the root filesystem unless an up-to-date one is cached.
///
/// `$OXVM_TEST_ROOTFS` names a tree to use instead (another checkout's):
/// it is used as it is, never built or changed.
pub fn ensure() -> Result<PathBuf, String> {
    if let Some(given) = std::env::var_os("OXVM_TEST_ROOTFS") {
        let given = PathBuf::from(given);
        if !given.join("usr/bin/ls").exists() {
            return Err(format!("OXVM_TEST_ROOTFS={} holds no root filesystem", given.display()));
        }
        return Ok(given);
    }
    let dir = path();
    let stamp = dir.with_extension("stamp");
    if dir.is_dir() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(stamp_contents().as_str()) {
        configure(&dir)?;
        return Ok(dir);
    }
    setup::ensure_debian_packages(&[("debootstrap", "debootstrap")])?;
    if !is_root() {
        return Err("debootstrap needs root (it chroots into the new tree to configure packages); run `sudo cargo xtask rootfs`".into());
    }
    let tmp = dir.with_extension("partial");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(tmp.parent().expect("rootfs path has a parent")).map_err(|e| e.to_string())?;
    setup::step(&format!("debootstrap {SUITE} (minbase + {} packages) into {}", PACKAGES.len(), tmp.display()));
    // No mirror argument: debootstrap uses its own default.
    run_checked(
        Command::new("debootstrap")
            .args(["--variant=minbase", "--arch=amd64"])
            .arg(format!("--include={}", PACKAGES.join(",")))
            .arg(SUITE)
            .arg(&tmp),
    )?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&tmp, &dir).map_err(|e| format!("{} -> {}: {e}", tmp.display(), dir.display()))?;
    configure(&dir)?;
    std::fs::write(&stamp, stamp_contents()).map_err(|e| e.to_string())?;
    Ok(dir)
}

pub fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}
