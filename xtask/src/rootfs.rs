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

fn stamp_contents() -> String {
    format!("{SUITE} amd64 minbase\n{}\n", PACKAGES.join(" "))
}

/// Build the root filesystem unless an up-to-date one is cached.
pub fn ensure() -> Result<PathBuf, String> {
    let dir = path();
    let stamp = dir.with_extension("stamp");
    if dir.is_dir() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(stamp_contents().as_str()) {
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
    std::fs::write(&stamp, stamp_contents()).map_err(|e| e.to_string())?;
    Ok(dir)
}

pub fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}
