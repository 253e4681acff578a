//! Signal delivery against native Linux: tests/c/signals.c, built
//! static with gcc into a scratch directory, runs natively and under
//! `oxvm run`; stdout, stderr and the exit status must match.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Build tests/c/signals.c into a scratch directory; None (skip) without
/// gcc or a static libc. A compile error in the program fails the test.
fn build() -> Option<(Scratch, PathBuf)> {
    let dir = Scratch(std::env::temp_dir().join(format!("oxvm-signals-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
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
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/c/signals.c");
    let exe = dir.0.join("signals");
    let o = Command::new("gcc").args(["-O2", "-Wall", "-static", "-o"]).arg(&exe).arg(&src).output().unwrap();
    assert!(o.status.success(), "{} does not build:\n{}", src.display(), String::from_utf8_lossy(&o.stderr));
    Some((dir, exe))
}

#[test]
fn handlers_frames_and_interruptions_match_native() {
    let Some((_dir, exe)) = build() else { return };
    let native = Command::new(&exe).output().unwrap();
    let guest = Command::new(env!("CARGO_BIN_EXE_oxvm")).arg("run").arg("--").arg(&exe).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert!(text(&native.stdout).contains("sigchld: got 17 status 3"), "native run: {}", text(&native.stdout));
    assert_eq!(text(&guest.stdout), text(&native.stdout), "stdout (oxvm stderr: {})", text(&guest.stderr));
    assert_eq!(text(&guest.stderr), text(&native.stderr));
    assert_eq!(guest.status.code(), native.status.code());
}
