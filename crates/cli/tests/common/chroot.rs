//! The chroot differential: Debian programs from the test root filesystem
//! run natively (`chroot ROOT ...`) and under `oxvm run --root ROOT ...`
//! must print the same stdout and stderr and exit the same way.
//!
//! The root is `$OXVM_TEST_ROOTFS`, by default `<workspace>/target/rootfs/
//! bookworm` (`cargo xtask rootfs` builds it). Without it, or without the
//! privileges chroot needs, the tests skip with a message. The tree is
//! only read.
#![allow(dead_code, unused_macros)]

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

pub fn rootfs() -> Option<PathBuf> {
    let root = std::env::var_os("OXVM_TEST_ROOTFS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/rootfs/bookworm"));
    if !root.join("usr/bin/ls").exists() {
        eprintln!("skipping: no test root filesystem at {} (run `cargo xtask rootfs` or set OXVM_TEST_ROOTFS)", root.display());
        return None;
    }
    // SAFETY: geteuid has no arguments and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping: the native side runs in a chroot, which needs root");
        return None;
    }
    Some(root)
}

pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The same clean environment for both sides.
pub fn env(cmd: &mut Command) {
    cmd.env_clear().env("PATH", PATH).env("LANG", "C.UTF-8").env("HOME", "/root").current_dir("/");
}

pub fn run(mut cmd: Command, stdin: &[u8]) -> Output {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut input = child.stdin.take().unwrap();
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().expect("wait")
}

pub fn status(o: &Output) -> i32 {
    status_of(o.status)
}

/// A shell's view of an exit status: the code, or 128 + the signal.
pub fn status_of(s: std::process::ExitStatus) -> i32 {
    s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0))
}

/// Run `args` both ways with `stdin`; assert identical results. Returns
/// the native output for further checks, None when skipped.
pub fn same(args: &[&str], stdin: &[u8]) -> Option<Output> {
    same_as(None, args, stdin)
}

/// As [`same`], as user and group `id` when given.
pub fn same_as(id: Option<u32>, args: &[&str], stdin: &[u8]) -> Option<Output> {
    let root = rootfs()?;
    let mut native = Command::new("/usr/sbin/chroot");
    env(&mut native);
    if let Some(id) = id {
        native.arg(format!("--userspec={id}:{id}"));
    }
    native.arg(&root).args(args);
    let native = run(native, stdin);
    let mut guest = Command::new(env!("CARGO_BIN_EXE_oxvm"));
    env(&mut guest);
    guest.arg("run").arg("--root").arg(&root);
    if let Some(id) = id {
        guest.arg("--uid").arg(id.to_string()).arg("--gid").arg(id.to_string());
    }
    guest.arg("--").args(args);
    let guest = run(guest, stdin);
    let gerr = String::from_utf8_lossy(&guest.stderr);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert_eq!(text(&guest.stdout), text(&native.stdout), "{args:?}: stdout differs (oxvm stderr: {gerr})");
    assert_eq!(gerr, text(&native.stderr), "{args:?}: stderr differs");
    assert_eq!(status(&guest), status(&native), "{args:?}: exit status differs");
    Some(native)
}

/// One `#[test]` per line: `name: [args...] [, stdin b"..."] [, status N];`.
#[macro_export]
macro_rules! differential {
    ($($name:ident: [$($arg:expr),+] $(, stdin $stdin:expr)? $(, status $st:expr)?;)*) => {$(
        #[test]
        fn $name() {
            #[allow(unused_mut, unused_assignments)]
            let mut stdin: &[u8] = b"";
            $(stdin = $stdin;)?
            if let Some(_o) = $crate::common::chroot::same(&[$($arg),+], stdin) {
                $(assert_eq!($crate::common::chroot::status(&_o), $st, "expected exit status");)?
            }
        }
    )*};
}

/// The native side as a running Linux system would have it: `ROOT` as the
/// root of a private mount namespace and a new PID namespace, with a procfs
/// on /proc, the host's devpts on /dev/pts and a 64 MiB tmpfs on /dev/shm
/// (mounts private to the namespace: the tree itself is not written), and a
/// network namespace whose only interface is loopback, as the guest has. The
/// program and its arguments follow. Only descriptors 0-2 are passed on, as
/// to the guest.
pub fn native_system(root: &std::path::Path) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "-n", "--propagation", "private", "/bin/sh", "-c"]);
    cmd.arg(concat!(
        "r=\"$1\" && shift && ip link set lo up && ",
        "mount -t tmpfs -o nosuid,nodev,noexec,size=64m shm \"$r/dev/shm\" && ",
        "mount --bind /dev/pts \"$r/dev/pts\" && ",
        "exec unshare -p -f --mount-proc=\"$r/proc\" /usr/sbin/chroot \"$r\" \"$@\""
    ));
    cmd.arg("native").arg(root);
    // SAFETY: close_range is async-signal-safe and touches no memory.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
            Ok(())
        });
    }
    cmd
}

/// Whether [`native_system`] works here (it needs the privilege to make
/// namespaces and mount).
pub fn can_make_native_system(root: &std::path::Path) -> bool {
    let mut c = native_system(root);
    c.arg("/bin/true");
    c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    c.status().is_ok_and(|s| s.success())
}
