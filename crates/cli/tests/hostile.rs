//! Hostile syscalls: tests/c/sysfuzz.c makes random syscalls with random
//! arguments (bad and kernel pointers, huge lengths, invalid descriptors,
//! garbage flags) in batches, each in a forked child. The guest may crash
//! itself; oxvm must neither panic nor hang, and must report the fuzzer's
//! own exit status. A scratch root confines whatever the random calls
//! create, rename or delete.

mod common;

use std::process::Command;

#[test]
fn random_syscalls_never_break_oxvm() {
    let Some((dir, exe)) = common::build_c("sysfuzz", &[]) else { return };
    let root = dir.0.join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::copy(&exe, root.join("sysfuzz")).unwrap();
    for seed in ["1", "20261126"] {
        let o = Command::new(env!("CARGO_BIN_EXE_oxvm"))
            .arg("run")
            .arg("--root")
            .arg(&root)
            .args(["--memory", "256", "--", "/sysfuzz", seed, "2000"])
            .output()
            .unwrap();
        let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        assert!(!err.contains("panicked"), "oxvm panicked (seed {seed}):\n{err}");
        assert_eq!(o.status.code(), Some(0), "seed {seed}: stdout {out}\nstderr {err}");
        assert!(out.contains("sysfuzz: 2000 batches done"), "seed {seed}: {out}");
        // Everything else oxvm said is the one warning per unknown syscall.
        for line in err.lines() {
            assert!(line.starts_with("oxvm: unsupported syscall"), "unexpected diagnostic: {line}");
        }
    }
}
