//! The file syscalls against native Linux: tests/c/fileops.c, built
//! static with gcc, runs natively and under `oxvm run` (root /) in two
//! empty scratch directories; the outputs must match line for line.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let d = std::env::temp_dir().join(format!("oxvm-files-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    Scratch(d)
}

/// Build tests/c/fileops.c into `dir`; None (skip) without gcc or a
/// static libc. A compile error in the program itself fails the test.
fn build(dir: &Path) -> Option<PathBuf> {
    let probe = dir.join("probe.c");
    std::fs::write(&probe, "int main(void) { return 0; }\n").unwrap();
    let have = Command::new("gcc")
        .args(["-static", "-o"])
        .arg(dir.join("probe"))
        .arg(&probe)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        eprintln!("skipping: no `gcc -static` (gcc and libc6-dev are needed)");
        return None;
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/c/fileops.c");
    let exe = dir.join("fileops");
    let o = Command::new("gcc").args(["-O1", "-Wall", "-static", "-o"]).arg(&exe).arg(&src).output().unwrap();
    assert!(o.status.success(), "{} does not build:\n{}", src.display(), String::from_utf8_lossy(&o.stderr));
    Some(exe)
}

#[test]
fn file_syscalls_match_native() {
    let bin = scratch("bin");
    let Some(exe) = build(&bin.0) else { return };
    let (n, g) = (scratch("native"), scratch("guest"));
    let native = Command::new(&exe).current_dir(&n.0).output().unwrap();
    assert!(native.status.success(), "native run: {}", String::from_utf8_lossy(&native.stderr));
    let guest = Command::new(env!("CARGO_BIN_EXE_oxvm")).arg("run").arg("--cwd").arg(&g.0).arg("--").arg(&exe).output().unwrap();
    let (ns, gs) = (String::from_utf8_lossy(&native.stdout), String::from_utf8_lossy(&guest.stdout));
    for (i, (a, b)) in ns.lines().zip(gs.lines()).enumerate() {
        assert_eq!(b, a, "line {} differs (oxvm stderr: {})", i + 1, String::from_utf8_lossy(&guest.stderr));
    }
    assert_eq!(gs.lines().count(), ns.lines().count(), "oxvm stderr: {}", String::from_utf8_lossy(&guest.stderr));
    assert!(ns.lines().count() > 70, "the program ran to the end");
    assert_eq!(guest.status.code(), Some(0));
    assert_eq!(std::fs::read_dir(&g.0).unwrap().count(), 0, "the guest cleaned up after itself");
}

#[test]
fn strace_decodes_paths_and_flags() {
    let bin = scratch("strace-bin");
    let Some(exe) = build(&bin.0) else { return };
    let g = scratch("strace");
    let o = Command::new(env!("CARGO_BIN_EXE_oxvm")).args(["run", "--strace", "--cwd"]).arg(&g.0).arg("--").arg(&exe).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    for want in [
        "openat(AT_FDCWD, \"a.txt\", O_RDWR|O_CREAT|O_EXCL, 0666) = 3\n",
        "openat(AT_FDCWD, \"a.txt\", O_RDWR|O_CREAT|O_EXCL, 0666) = -1 EEXIST (File exists)\n",
        "fcntl(3, F_DUPFD_CLOEXEC, 0x64) = 100\n",
        "lseek(3, 6, SEEK_SET) = 6\n",
        "mkdir(\"sub\", 0755) = 0\n",
        "symlink(\"../a.txt\", \"sub/link\") = 0\n",
        "unlinkat(AT_FDCWD, \"sub\", AT_REMOVEDIR) = 0\n",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
}

/// O_TMPFILE in the host directory root (/tmp) and in tmpfs (/dev/shm):
/// unnamed files, named later through /proc or AT_EMPTY_PATH, never with
/// O_EXCL, and Linux's errors.
#[test]
fn o_tmpfile_matches_native() {
    let Some((_dir, exe)) = common::build_c("tmpfile", &[]) else { return };
    common::assert_same_as_native(&exe, "done");
}

/// Real, effective and saved ids through the set*id calls, and set-user-ID
/// and set-group-ID programs (AT_SECURE, no_new_privs), as on Linux.
#[test]
fn saved_ids_and_setid_exec_match_native() {
    let Some((_dir, exe)) = common::build_c("setid", &[]) else { return };
    common::assert_same_as_native(&exe, "done");
}
