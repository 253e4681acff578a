//! `cargo xtask bench cpu`: the same static programs natively, under
//! `qemu-x86_64`, under oxvm's interpreter (native build) and under the
//! same interpreter built for the browser (wasm32, run by Node's V8 through
//! the web app's own engine host), side by side in one run, reported as
//! ratios to native (and wasm to the native interpreter). Times are the best of several runs, which
//! is the least noisy figure on a shared machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::setup::{self, cargo, root, run_checked};

const RUNS: usize = 3;

pub fn bench(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("cpu") => cpu(),
        Some("corpus") => corpus(),
        _ => Err("usage: cargo xtask bench cpu|corpus".into()),
    }
}

fn cpu() -> Result<(), String> {
    setup::ensure_debian_packages(&[("gcc", "gcc"), ("qemu-x86_64", "qemu-user")])?;
    setup::step("building oxvm (release)");
    run_checked(cargo().args(["build", "--release", "-p", "oxvm-cli"]))?;
    let oxvm = root().join("target/release/oxvm");
    let programs = build_programs(&root().join("tests/asm/bench"), &root().join("target/bench"))?;
    if programs.is_empty() {
        return Err("no benchmark programs found in tests/asm/bench".into());
    }
    // The browser build runs the same programs from an ext2 image of
    // theirs (the engine in wasm has no host directories).
    crate::web::build_web(&crate::web::dist_dir())?;
    crate::web::ensure_node()?;
    let image = root().join("target/bench/programs.img");
    let _ = std::fs::remove_file(&image);
    let staging = root().join("target/bench-image");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|e| format!("{}: {e}", staging.display()))?;
    for p in &programs {
        std::fs::copy(p, staging.join(p.file_name().unwrap_or_default())).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    run_checked(Command::new(&oxvm).args(["image", "build", "--from"]).arg(&staging).arg("--out").arg(&image).args(["--size", "auto"]))?;
    setup::step(&format!("running each workload {RUNS} times natively, under qemu-x86_64, under oxvm and under oxvm's wasm on Node"));
    println!(
        "{:<12} {:>9} {:>9} {:>7} {:>9} {:>7} {:>9} {:>7} {:>11}",
        "workload", "native s", "qemu s", "qemu x", "oxvm s", "oxvm x", "wasm s", "wasm x", "wasm/oxvm"
    );
    for prog in &programs {
        let name = prog.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        let native = time(&mut Command::new(prog), None)?;
        let mut q = Command::new("qemu-x86_64");
        q.arg(prog);
        let qemu = time(&mut q, Some(&native.1))?;
        let mut o = Command::new(&oxvm);
        o.args(["run", "--"]).arg(prog);
        let ox = time(&mut o, Some(&native.1))?;
        let mut w = Command::new("node");
        w.arg(root().join("web/node/run.js")).arg("--wasm").arg(crate::web::dist_wasm()).arg("--image").arg(&image);
        w.arg("--").arg(format!("/{}", prog.file_name().unwrap_or_default().to_string_lossy()));
        let wasm = time(&mut w, Some(&native.1))?;
        let n = native.0.as_secs_f64();
        let (q, o, w) = (qemu.0.as_secs_f64(), ox.0.as_secs_f64(), wasm.0.as_secs_f64());
        println!(
            "{:<12} {:>9.3} {:>9.3} {:>6.1}x {:>9.3} {:>6.1}x {:>9.3} {:>6.1}x {:>10.2}x",
            name,
            n,
            q,
            q / n,
            o,
            o / n,
            w,
            w / n,
            w / o
        );
    }
    println!("(wasm times include starting Node and compiling oxvm.wasm, about 0.3 s)");
    Ok(())
}

/// The differential corpus's total time under oxvm against native (the
/// chroot), from one run of every entry. qemu-x86_64 has no column here:
/// qemu-user runs one process and the programs it starts run natively (on
/// an x86-64 host no binfmt handler sends them back to qemu), so it cannot
/// run a whole userland as a peer.
fn corpus() -> Result<(), String> {
    if !crate::rootfs::is_root() {
        return Err("bench corpus runs the corpus in a chroot, which needs root".into());
    }
    let root_fs = crate::rootfs::ensure()?;
    let report = root().join("target/bench/corpus.tsv");
    std::fs::create_dir_all(root().join("target/bench")).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&report);
    setup::step("running every corpus entry natively and under oxvm");
    let status = cargo()
        .args(["test", "--release", "-p", "oxvm-cli", "--test", "corpus", "--", "corpus", "--exact"])
        .env("OXVM_TEST_ROOTFS", &root_fs)
        .env("OXVM_CORPUS", "all")
        .env("OXVM_CORPUS_REPORT", &report)
        .status()
        .map_err(|e| format!("cargo test: {e}"))?;
    let text = std::fs::read_to_string(&report).map_err(|e| format!("no corpus report: {e}"))?;
    let mut files: Vec<(String, usize, f64, f64)> = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [file, _, _, n, o] = f[..] else { continue };
        let (n, o) = (n.parse::<f64>().unwrap_or(0.0), o.parse::<f64>().unwrap_or(0.0));
        match files.iter_mut().find(|e| e.0 == file) {
            Some(e) => {
                e.1 += 1;
                e.2 += n;
                e.3 += o;
            }
            None => files.push((file.to_string(), 1, n, o)),
        }
    }
    println!("{:<16} {:>8} {:>10} {:>10} {:>8}", "corpus file", "entries", "native s", "oxvm s", "oxvm x");
    let (mut tn, mut to, mut count) = (0.0, 0.0, 0);
    for (file, c, n, o) in &files {
        println!("{file:<16} {c:>8} {n:>10.2} {o:>10.2} {:>7.1}x", o / n.max(1e-9));
        tn += n;
        to += o;
        count += c;
    }
    println!("{:<16} {count:>8} {tn:>10.2} {to:>10.2} {:>7.1}x", "total", to / tn.max(1e-9));
    if !status.success() {
        println!("(some entries differ from native: `cargo xtask compat` lists them)");
    }
    Ok(())
}

fn build_programs(src: &Path, out: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut sources: Vec<PathBuf> = std::fs::read_dir(src)
        .map_err(|e| format!("{}: {e}", src.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "S" || x == "s"))
        .collect();
    sources.sort();
    let mut built = Vec::new();
    for s in sources {
        let exe = out.join(s.file_stem().unwrap_or_default());
        run_checked(Command::new("gcc").args(["-nostdlib", "-static", "-o"]).arg(&exe).arg(&s))?;
        built.push(exe);
    }
    Ok(built)
}

/// Best wall time of `RUNS` runs, and the output of the first run; a run
/// whose output differs from `expected` is an error (a benchmark of a wrong
/// result means nothing).
fn time(cmd: &mut Command, expected: Option<&Vec<u8>>) -> Result<(Duration, Vec<u8>), String> {
    let mut best = Duration::MAX;
    let mut first = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        let out = cmd.stdin(Stdio::null()).stderr(Stdio::inherit()).output().map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
        let t = start.elapsed();
        if !out.status.success() {
            return Err(format!("{:?} {:?} failed: {}", cmd.get_program(), cmd.get_args().collect::<Vec<_>>(), out.status));
        }
        if let Some(exp) = expected {
            if &out.stdout != exp {
                return Err(format!(
                    "{:?} {:?} printed {:?}, native printed {:?}",
                    cmd.get_program(),
                    cmd.get_args().collect::<Vec<_>>(),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(exp)
                ));
            }
        }
        best = best.min(t);
        first.get_or_insert(out.stdout);
    }
    Ok((best, first.unwrap_or_default()))
}
