//! Memory shared between processes against native Linux:
//! - tests/c/shm.c (vfork/clone(CLONE_VM) children writing their parent's
//!   memory, posix_spawn failures, MAP_SHARED anonymous and file mappings
//!   across processes, msync, process-shared mutexes and semaphores),
//!   built static, natively and under `oxvm run`, identical;
//! - tests/py/shm.py with the host's python3 (mmap of a scratch file,
//!   multiprocessing.Value/Lock, whose semaphores live in /dev/shm), both
//!   ways in scratch directories;
//! - python3 in the chroot (read-only: anonymous shared mmap across fork,
//!   a shared read-only file mapping).

mod common;

use std::path::Path;
use std::process::Command;

use common::chroot::same;

#[test]
fn shared_memory_matches_native() {
    let Some((_dir, exe)) = common::build_c("shm", &["-pthread"]) else { return };
    common::assert_same_as_native(&exe, "vfork: child wrote 42");
}

#[test]
fn python_mmap_and_multiprocessing_match_native() {
    let python = Path::new("/usr/bin/python3");
    if !python.exists() {
        eprintln!("skipping: no /usr/bin/python3 on the host");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/py/shm.py");
    let scratch = |side: &str| {
        let d = common::Scratch(std::env::temp_dir().join(format!("oxvm-shm-py-{side}-{}", std::process::id())));
        let _ = std::fs::remove_dir_all(&d.0);
        std::fs::create_dir_all(&d.0).unwrap();
        d
    };
    let (nd, gd) = (scratch("native"), scratch("guest"));
    let native = Command::new(python).arg(&script).arg(&nd.0).env_clear().output().unwrap();
    let guest =
        Command::new(env!("CARGO_BIN_EXE_oxvm")).arg("run").arg("--").arg(python).arg(&script).arg(&gd.0).env_clear().output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert!(text(&native.stdout).contains("multiprocessing: 900"), "native run: {}", text(&native.stdout));
    assert_eq!(text(&guest.stdout), text(&native.stdout), "stdout (oxvm stderr: {})", text(&guest.stderr));
    assert_eq!(guest.status.code(), native.status.code());
}

#[test]
fn chroot_python_anonymous_shared_mmap() {
    same(
        &[
            "python3",
            "-c",
            "import mmap, os\n\
             m = mmap.mmap(-1, 8192)\n\
             for i in range(3):\n\
             \x20   pid = os.fork()\n\
             \x20   if pid == 0:\n\
             \x20       m[i * 4096:i * 4096 + 5] = b'kid%d!' % i\n\
             \x20       os._exit(i)\n\
             \x20   print(os.waitpid(pid, 0)[1] >> 8, m[i * 4096:i * 4096 + 5])\n\
             m.close()\n\
             f = open('/etc/os-release', 'rb')\n\
             r = mmap.mmap(f.fileno(), 0, mmap.MAP_SHARED, mmap.PROT_READ)\n\
             print(r[:20] == f.read(20), len(r) == os.fstat(f.fileno()).st_size)\n",
        ],
        b"",
    );
}
