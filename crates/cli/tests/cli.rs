//! The command line itself: arguments, errors, root confinement.

mod common;

use std::os::unix::fs::{symlink, PermissionsExt};
use std::process::Command;

fn oxvm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_oxvm"))
}

/// A fresh temp dir, removed when dropped.
fn tmp(name: &str) -> common::Scratch {
    common::scratch(&format!("cli-{name}"))
}

#[test]
fn version_and_help() {
    let o = oxvm().arg("--version").output().unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("oxvm "));
    let o = oxvm().arg("--help").output().unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("run"));
    let o = oxvm().args(["run", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("--root") && help.contains("--strace"), "{help}");
}

#[test]
fn bad_arguments_exit_2() {
    for args in [&[][..], &["run"][..], &["frobnicate"][..], &["run", "--bogus", "--", "/bin/true"][..]] {
        let o = oxvm().args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(!o.stderr.is_empty(), "{args:?} explains itself");
    }
    let o = oxvm().args(["run", "--root", "/nonexistent-oxvm-root", "--", "/x"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    for bad in [&["--env", "NOEQUALS"][..], &["--env", "=v"][..], &["--cwd", "/nonexistent-oxvm-dir"][..], &["--cwd", "/etc/passwd"][..]] {
        let o = oxvm().arg("run").args(bad).args(["--", "/bin/true"]).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(bad[0]) || err.contains("NAME=VALUE"), "{bad:?} explains itself: {err}");
    }
}

#[test]
fn env_and_cwd_reach_the_guest() {
    let o = oxvm()
        .args(["run", "--env", "OXVM_A=1", "--env", "OXVM_B=two words", "--env", "OXVM_A=3", "--cwd", "/usr", "--", "/bin/sh", "-c"])
        .arg("echo \"$OXVM_A|$OXVM_B\"; pwd")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "3|two words\n/usr\n", "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn missing_and_non_executable_programs() {
    let dir = tmp("missing");
    let root = &dir.0;
    let o = oxvm().arg("run").arg("--root").arg(root).args(["--", "/nope"]).output().unwrap();
    assert_eq!(o.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&o.stderr).contains("No such file or directory"));
    std::fs::write(root.join("script"), b"#!/bin/sh\necho hi\n").unwrap();
    let o = oxvm().arg("run").arg("--root").arg(root).args(["--", "/script"]).output().unwrap();
    assert_eq!(o.status.code(), Some(126), "not executable");
    assert!(String::from_utf8_lossy(&o.stderr).contains("Permission denied"));
    std::fs::set_permissions(root.join("script"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = oxvm().arg("run").arg("--root").arg(root).args(["--", "/script"]).output().unwrap();
    assert_eq!(o.status.code(), Some(127), "its interpreter is missing from the root");
    std::fs::write(root.join("junk"), b"neither ELF nor script").unwrap();
    std::fs::set_permissions(root.join("junk"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = oxvm().arg("run").arg("--root").arg(root).args(["--", "/junk"]).output().unwrap();
    assert_eq!(o.status.code(), Some(126), "not ELF");
    assert!(String::from_utf8_lossy(&o.stderr).contains("exec format error"), "{}", String::from_utf8_lossy(&o.stderr));
    let o = oxvm().arg("run").arg("--root").arg(root).args(["--", "junk"]).output().unwrap();
    assert_eq!(o.status.code(), Some(127), "not found along PATH");
}

#[test]
fn program_cannot_escape_root() {
    let dir = tmp("escape");
    let base = &dir.0;
    let root = base.join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(base.join("outside"), b"\x7fELF").unwrap();
    std::fs::set_permissions(base.join("outside"), std::fs::Permissions::from_mode(0o755)).unwrap();
    symlink("../outside", root.join("rel")).unwrap();
    symlink("/../outside", root.join("abs")).unwrap();
    // `..` stops at the root, as in a chroot: every one of these names
    // root/outside, which does not exist.
    for p in ["/../outside", "/rel", "/abs", "../outside"] {
        let o = oxvm().arg("run").arg("--root").arg(&root).args(["--", p]).output().unwrap();
        assert_eq!(o.status.code(), Some(127), "{p}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("No such file or directory"), "{p}: {err}");
    }
}

/// A program started with SIGINT ignored keeps it ignored (a shell's
/// background job), under oxvm as natively: the guest inherits what the
/// runner was started ignoring.
#[test]
fn ignored_signals_are_inherited() {
    use std::os::unix::process::CommandExt;
    let script = "trap 'echo caught' INT; kill -INT $$; echo after";
    for ignore in [false, true] {
        let run = |mut c: Command| {
            // Set either way: the harness itself may run with SIGINT ignored.
            let disposition = if ignore { libc::SIG_IGN } else { libc::SIG_DFL };
            // SAFETY: signal() is async-signal-safe and needs no handler here.
            unsafe {
                c.pre_exec(move || {
                    libc::signal(libc::SIGINT, disposition);
                    Ok(())
                });
            }
            String::from_utf8_lossy(&c.output().unwrap().stdout).into_owned()
        };
        let mut native = Command::new("/bin/sh");
        native.args(["-c", script]);
        let mut guest = oxvm();
        guest.args(["run", "--", "/bin/sh", "-c", script]);
        let (n, g) = (run(native), run(guest));
        assert_eq!(g, n, "SIGINT ignored: {ignore}");
        assert_eq!(n.contains("caught"), !ignore, "{n}");
    }
}
