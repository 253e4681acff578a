//! End-to-end: build the tests/asm programs with gcc, run each natively and
//! under `oxvm run`, and require the same stdout and exit status.

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn asm_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/asm")
}

fn have_gcc() -> bool {
    let ok = Command::new("gcc").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipping: gcc not found (the assembly tests need `gcc -nostdlib -static`)");
    }
    ok
}

/// A program built into its own temp dir, removed when dropped.
pub struct Built {
    pub exe: PathBuf,
    dir: PathBuf,
}

impl std::ops::Deref for Built {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.exe
    }
}

impl AsRef<std::ffi::OsStr> for Built {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.exe.as_os_str()
    }
}

impl Drop for Built {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Build `tests/asm/<rel>` into a fresh temp dir; flags come from a
/// `build:` line in the file (default `-static`).
pub fn build(rel: &str) -> Built {
    let src = asm_dir().join(rel);
    let text = std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    let link = if text.contains("build: -static-pie") { "-static-pie" } else { "-static" };
    let name = Path::new(rel).file_stem().unwrap().to_string_lossy().into_owned();
    // Tests run in parallel and may build the same file: one dir per build.
    static BUILDS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = BUILDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("oxvm-asm-{}-{n}-{}", std::process::id(), rel.replace('/', "-")));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(&name);
    let st = Command::new("gcc").args(["-nostdlib", link, "-o"]).arg(&out).arg(&src).status().expect("run gcc");
    assert!(st.success(), "gcc failed on {rel}");
    Built { exe: out, dir }
}

pub fn oxvm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_oxvm"))
}

fn run(mut cmd: Command, stdin: &[u8]) -> Output {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut input = child.stdin.take().unwrap();
    // The program may exit without reading; a broken pipe is fine.
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().expect("wait")
}

/// Exit status as a shell reports it: 128+N for death by signal N.
fn shell_status(o: &Output) -> i32 {
    o.status.code().unwrap_or_else(|| 128 + o.status.signal().expect("exited or signaled"))
}

/// Run natively and under oxvm; compare; return (stdout, status).
fn compare(rel: &str, args: &[&str], stdin: &[u8]) -> Option<(String, i32)> {
    if !have_gcc() {
        return None;
    }
    let exe = build(rel);
    let mut native = Command::new(&*exe);
    native.args(args);
    let native = run(native, stdin);
    let mut guest = oxvm();
    guest.arg("run").arg("--").arg(&exe).args(args);
    let guest = run(guest, stdin);
    let (ns, gs) = (String::from_utf8_lossy(&native.stdout), String::from_utf8_lossy(&guest.stdout));
    assert_eq!(ns, gs, "{rel}: stdout differs (oxvm stderr: {})", String::from_utf8_lossy(&guest.stderr));
    assert_eq!(
        shell_status(&native),
        shell_status(&guest),
        "{rel}: exit status differs (oxvm stderr: {})",
        String::from_utf8_lossy(&guest.stderr)
    );
    Some((ns.into_owned(), shell_status(&guest)))
}

macro_rules! same_as_native {
    ($name:ident, $file:expr, $status:expr) => {
        same_as_native!($name, $file, $status, &[], b"");
    };
    ($name:ident, $file:expr, $status:expr, $args:expr, $stdin:expr) => {
        #[test]
        fn $name() {
            if let Some((_, status)) = compare($file, $args, $stdin) {
                assert_eq!(status, $status, "{}: exit status", $file);
            }
        }
    };
}

same_as_native!(hello, "hello.S", 0);
same_as_native!(arith, "arith.S", 0);
same_as_native!(memory, "memory.S", 0);
same_as_native!(tls, "tls.S", 0);
same_as_native!(clocks, "time.S", 0);
same_as_native!(generated_code, "jit.S", 0);
same_as_native!(static_pie, "pie.S", 0);
same_as_native!(exit_status, "exit42.S", 42);
same_as_native!(args_and_auxv, "args.S", 43, &["one", "two words"], b"");
same_as_native!(stdin_copy, "cat.S", 25, &[], b"some input for the guest\n");
same_as_native!(segfault, "segv.S", 139);
same_as_native!(write_to_text, "wxfault.S", 139);
same_as_native!(divide_by_zero, "div0.S", 136);
same_as_native!(invalid_opcode, "ud2.S", 132);
same_as_native!(breakpoint, "int3.S", 133);

#[test]
fn hello_has_expected_output() {
    if let Some((out, _)) = compare("hello.S", &[], b"") {
        assert_eq!(out, "Hello, world!\n");
    }
}

#[test]
fn killed_guest_is_reported() {
    if !have_gcc() {
        return;
    }
    let exe = build("segv.S");
    let o = oxvm().arg("run").arg("--").arg(&exe).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("oxvm: guest killed by SIGSEGV at 0x"), "{err}");
    assert!(err.contains("(address 0x10)"), "{err}");
}

#[test]
fn strace_prints_syscalls() {
    if !have_gcc() {
        return;
    }
    let exe = build("exit42.S");
    let o = oxvm().arg("run").arg("--strace").arg("--").arg(&exe).output().unwrap();
    assert_eq!(o.status.code(), Some(42));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "exiting with 42\n");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err, "write(1, \"exiting with 42\\n\", 16) = 16\nexit_group(42) = ?\n");
}

/// The benchmark programs take an iteration count as argv[1]; with a
/// small one they run quickly under the interpreter, and their checksums
/// must match the native run.
macro_rules! bench_same_as_native {
    ($name:ident, $file:expr) => {
        #[test]
        fn $name() {
            if !have_gcc() {
                return;
            }
            let exe = build($file);
            let native = run(
                {
                    let mut c = Command::new(&*exe);
                    c.arg("3");
                    c
                },
                b"",
            );
            let guest = run(
                {
                    let mut c = oxvm();
                    c.arg("run").arg("--").arg(&exe).arg("3");
                    c
                },
                b"",
            );
            if $file.contains("sse") && shell_status(&guest) == 132 {
                eprintln!("skipping {}: SSE is not implemented in the interpreter yet (SIGILL)", $file);
                return;
            }
            assert_eq!(shell_status(&native), 0, "{} natively", $file);
            assert_eq!(String::from_utf8_lossy(&native.stdout), String::from_utf8_lossy(&guest.stdout), "{}", $file);
            assert_eq!(shell_status(&guest), 0, "{}: {}", $file, String::from_utf8_lossy(&guest.stderr));
        }
    };
}

bench_same_as_native!(bench_alu, "bench/alu.S");
bench_same_as_native!(bench_memcpy, "bench/memcpy.S");
bench_same_as_native!(bench_sse, "bench/sse.S");
bench_same_as_native!(bench_branch, "bench/branch.S");
