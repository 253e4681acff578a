//! Project automation: `cargo xtask <command>`.
//!
//! - `test`: everything CI checks (format, lints, unit and integration
//!   tests, the CPU differential test and the robustness fuzz with fixed
//!   seeds, the browser tests; `OXVM_SKIP_BROWSER=1` skips those).
//! - `serve [--port 8080] [--bind 127.0.0.1]`: builds the native `oxvm`,
//!   the engine for wasm32 and the web app (target/web/dist), the default
//!   Debian image (cached in target/image), lays them out as one site
//!   (target/web/site) and serves it with `oxvm serve`.
//! - `web --out DIR`: the same site as plain files in DIR, to publish
//!   (the GitHub Pages workflow uses it).
//! - `test-browser`: only the browser end-to-end tests (headless Chromium
//!   typing into the web app's terminal), the last step of `test`.
//! - `bench cpu`: interpreter speed against native and qemu-x86_64;
//!   `bench corpus`: the differential corpus's time, oxvm against native.
//! - `image`: the default Debian image (debootstrap, `oxvm image build`,
//!   `oxvm image publish`), cached in target/image.
//! - `compat`: the whole differential corpus and CPython's regression tests
//!   under oxvm against native, with a pass/fail table.
//! - `fuzz-cpu --seed S --cases N [--class C]...`: the differential tester
//!   for as long as asked.
//!
//! Each command installs what it needs on a fresh Debian machine (rustup
//! components, Debian packages through apt-get) and says clearly what is
//! missing when it cannot.

mod bench;
mod compat;
mod image;
mod rootfs;
mod setup;
mod web;

use std::process::ExitCode;

use setup::{cargo, run_checked};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  test                          format, lints, tests, differential CPU test, fuzz (what CI runs)
  serve [--port 8080] [--bind 127.0.0.1]
                                build the engine, the web app and the default image,
                                and serve the browser VM on http://127.0.0.1:8080/
  web --out DIR                 the same site as plain files in DIR (to publish)
  test-browser                  only the browser end-to-end tests (headless Chromium)
  bench cpu                     interpreter speed vs native and qemu-x86_64
  compat [--only corpus|cpython] [--tests a,b]
                                the whole differential corpus and CPython's regression
                                tests, natively and under oxvm, with a pass/fail table
  rootfs                        build (or reuse) the Debian bookworm root filesystem in target/rootfs
  image                         build (or reuse) the default Debian image and its chunk store in target/image
  fuzz-cpu --seed S --cases N [--class C]...
                                run the CPU differential tester against the host CPU
";

/// Fixed seed and size of the differential run inside `cargo xtask test`:
/// enough cases per class to reach every implemented form, in a few minutes.
const TEST_SEED: u64 = 1;
const TEST_CASES: u64 = 1_600_000;
const TEST_ROBUST_CASES: u64 = 20_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("serve") => web::serve(&args[1..]),
        Some("web") => web::web(&args[1..]),
        Some("test-browser") => web::test_browser(),
        Some("bench") => bench::bench(&args[1..]),
        Some("fuzz-cpu") => fuzz_cpu(&args[1..]),
        Some("compat") => compat::compat(&args[1..]),
        Some("rootfs") => rootfs::ensure().map(|p| println!("{}", p.display())),
        Some("image") => image::ensure().map(|p| println!("{}", p.join("manifest.json").display())),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
        None => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn test() -> Result<(), String> {
    setup::ensure_rust_components(&["rustfmt", "clippy"])?;
    // iproute2: the native side of the differential tests runs in a network
    // namespace with only loopback up, as the guest sees its network.
    // curl: the HTTP server's tests check it with a real client.
    // e2fsprogs: e2fsck and debugfs are the oracles of the ext2 tests.
    setup::ensure_debian_packages(&[("gcc", "gcc"), ("ip", "iproute2"), ("curl", "curl"), ("e2fsck", "e2fsprogs")])?;
    setup::step("cargo fmt --check");
    run_checked(cargo().args(["fmt", "--all", "--check"]))?;
    setup::step("cargo clippy");
    run_checked(cargo().args(["clippy", "--workspace", "--all-targets", "--release", "--", "-D", "warnings"]))?;
    // The browser engine exists only for wasm32 (natively the crate is
    // empty): lint it, and what it compiles of the other crates, there.
    setup::ensure_rust_target("wasm32-unknown-unknown")?;
    setup::step("cargo clippy --target wasm32-unknown-unknown -p oxvm-wasm");
    run_checked(cargo().args(["clippy", "--release", "--target", "wasm32-unknown-unknown", "-p", "oxvm-wasm", "--", "-D", "warnings"]))?;
    // The Linux-personality tests compare programs of a Debian root
    // filesystem run natively (chroot) and under oxvm.
    // Building it and chrooting into it need root; without root those
    // tests say they are skipped.
    let mut test = cargo();
    test.args(["test", "--workspace", "--release"]);
    let rootfs = match rootfs::ensure() {
        Ok(path) => {
            test.env("OXVM_TEST_ROOTFS", &path);
            Some(path)
        }
        Err(e) if !rootfs::is_root() => {
            eprintln!("xtask: WARNING: the Debian root filesystem tests will be skipped: {e}");
            None
        }
        Err(e) => return Err(e),
    };
    // The engine for the browser (oxvm-wasm: the CPU, the kernel and the
    // storage crates for wasm32) and the web app, before the tests: the
    // corpus also runs on that wasm under Node.
    web::build_web(&web::dist_dir())?;
    test.env("OXVM_WASM", web::dist_wasm());
    setup::step("cargo test (release: the CPU tests are heavy)");
    run_checked(&mut test)?;
    setup::step(&format!("differential CPU test: seed {TEST_SEED}, {TEST_CASES} cases over the strict classes"));
    // The classes oxvm must already match exactly (`STRICT_CLASSES` in
    // crates/difftest); `cargo xtask fuzz-cpu` runs any others.
    run_checked(difftest().args([
        "--seed",
        &TEST_SEED.to_string(),
        "--cases",
        &TEST_CASES.to_string(),
        "--class",
        "strict",
        "--require-all-forms",
    ]))?;
    setup::step(&format!("robustness fuzz: seed {TEST_SEED}, {TEST_ROBUST_CASES} random byte streams"));
    run_checked(difftest().args(["--robust", "--seed", &TEST_SEED.to_string(), "--cases", &TEST_ROBUST_CASES.to_string()]))?;
    setup::step("browser tests");
    web::browser_tests(rootfs.as_deref())?;
    setup::step("all tests passed");
    Ok(())
}

fn difftest() -> std::process::Command {
    let mut c = cargo();
    c.args(["run", "--quiet", "--release", "--package", "oxvm-difftest", "--"]);
    c
}

fn fuzz_cpu(args: &[String]) -> Result<(), String> {
    if args.is_empty() {
        return Err(format!("fuzz-cpu needs arguments\n\n{USAGE}"));
    }
    run_checked(difftest().args(args))
}
