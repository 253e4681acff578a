//! Shared by the image tests: scratch directories and a sample tree.

#![allow(dead_code)]

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Scratch(pub PathBuf);
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn scratch(tag: &str) -> Scratch {
    let d = std::env::temp_dir().join(format!("oxvm-image-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    Scratch(d)
}

/// Files of every kind, owners other than root, a set-uid bit, a hard
/// link, long names and link targets, a big file.
pub fn tree(root: &Path) {
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::create_dir_all(root.join("home/user/.config")).unwrap();
    std::fs::write(root.join("usr/bin/tool"), b"#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(root.join("usr/bin/tool"), std::fs::Permissions::from_mode(0o4755)).unwrap();
    std::fs::hard_link(root.join("usr/bin/tool"), root.join("usr/bin/tool2")).unwrap();
    std::fs::write(root.join("home/user/big"), vec![7u8; 300_000]).unwrap();
    std::fs::write(root.join("home/user/.config/empty"), b"").unwrap();
    symlink("../usr/bin/tool", root.join("home/link")).unwrap();
    symlink("x".repeat(200), root.join("home/longlink")).unwrap();
    let long = root.join("home").join("n".repeat(150));
    std::fs::write(&long, b"long name").unwrap();
    assert!(Command::new("mkfifo").arg(root.join("home/fifo")).status().unwrap().success());
    std::os::unix::fs::chown(root.join("home/user"), Some(1000), Some(1000)).unwrap();
    std::os::unix::fs::chown(root.join("home/user/big"), Some(1000), Some(100)).unwrap();
    // A device node needs root; skip it elsewhere.
    let _ = Command::new("mknod").arg(root.join("usr/null")).args(["c", "1", "3"]).status();
}
