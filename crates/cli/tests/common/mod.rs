//! Shared by the tests that build a C program from tests/c and compare its
//! run natively with its run under `oxvm run`.

#![allow(dead_code)]

pub mod chroot;
pub mod image;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A scratch directory removed when dropped.
pub struct Scratch(pub PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh directory under the system temp directory (named after `tag`
/// and this process), removed when dropped.
pub fn scratch(tag: &str) -> Scratch {
    let d = std::env::temp_dir().join(format!("oxvm-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    Scratch(d)
}

/// Build tests/c/`name`.c statically with `flags` into a scratch directory;
/// None (skip) without gcc or a static libc. A compile error in the
/// program fails the test.
pub fn build_c(name: &str, flags: &[&str]) -> Option<(Scratch, PathBuf)> {
    let dir = scratch(name);
    let probe = dir.0.join("probe.c");
    std::fs::write(&probe, "int main(void) { return 0; }\n").unwrap();
    let have = Command::new("gcc")
        .args(["-static", "-o"])
        .arg(dir.0.join("probe"))
        .arg(&probe)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        eprintln!("skipping: no `gcc -static` (gcc and libc6-dev are needed)");
        return None;
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../tests/c/{name}.c"));
    let exe = dir.0.join(name);
    let o = Command::new("gcc").args(["-O2", "-Wall", "-static"]).args(flags).arg("-o").arg(&exe).arg(&src).output().unwrap();
    assert!(o.status.success(), "{} does not build:\n{}", src.display(), String::from_utf8_lossy(&o.stderr));
    Some((dir, exe))
}

/// Run `exe` natively and under `oxvm run`: the native output must contain
/// `marker` (the program really ran), and stdout, stderr and the exit
/// status must be identical.
pub fn assert_same_as_native(exe: &Path, marker: &str) {
    compare_with_native(exe, Command::new(exe).output().unwrap(), marker);
}

/// [`assert_same_as_native`] with the native side in a network namespace
/// whose only interface is loopback, up: the network the guest sees.
/// Skips where namespaces cannot be made.
pub fn assert_same_as_native_on_loopback(exe: &Path, marker: &str) {
    let native = Command::new("unshare").args(["-n", "/bin/sh", "-c", "ip link set lo up && exec \"$0\""]).arg(exe).output().unwrap();
    if !native.status.success() && String::from_utf8_lossy(&native.stderr).contains("unshare") {
        eprintln!("skipping: no network namespace here: {}", String::from_utf8_lossy(&native.stderr));
        return;
    }
    compare_with_native(exe, native, marker);
}

fn compare_with_native(exe: &Path, native: std::process::Output, marker: &str) {
    let guest = Command::new(env!("CARGO_BIN_EXE_oxvm")).arg("run").arg("--").arg(exe).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert!(text(&native.stdout).contains(marker), "native run: {}", text(&native.stdout));
    assert_eq!(text(&guest.stdout), text(&native.stdout), "stdout (oxvm stderr: {})", text(&guest.stderr));
    assert_eq!(text(&guest.stderr), text(&native.stderr));
    assert_eq!(guest.status.code(), native.status.code());
}
