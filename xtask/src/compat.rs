//! `cargo xtask compat`: the whole Linux-compatibility check, too long for
//! CI under the interpreter. It runs
//!
//! 1. the complete differential corpus (`tests/corpus`, including the
//!    entries tagged `slow`), natively in a chroot and under oxvm;
//! 2. CPython's own regression tests for the modules in [`CPYTHON`],
//!    natively and under oxvm, and compares them test by test: every test
//!    that passes natively must pass under oxvm;
//!
//! 3. the interactive terminal tests CI leaves out (crates/cli/tests/tty.rs,
//!    `#[ignore]`d there because keystroke timing flakes on a loaded machine),
//!
//! and prints a pass/fail table. `--only corpus|cpython` runs one half;
//! `--tests a,b` picks CPython modules.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::rootfs;
use crate::setup::{self, cargo, run_checked};

/// The CPython test modules the Linux issue names.
pub const CPYTHON: &[&str] = &[
    "test_os",
    "test_posix",
    "test_subprocess",
    "test_threading",
    "test_signal",
    "test_socket",
    "test_select",
    "test_selectors",
    "test_time",
    "test_fcntl",
    "test_pty",
    "test_tempfile",
    "test_shutil",
    "test_mmap",
    "test_json",
    "test_re",
    "test_math",
    "test_struct",
    "test_zlib",
    "test_hashlib",
];

/// Tests left out on both sides, each with the reason: (module, regrtest
/// `--ignore` pattern, why).
const EXCLUDED: &[(&str, &str, &str)] = &[(
    "test_socket",
    "*UDPLITE*",
    "UDP-Lite (IPPROTO_UDPLITE) is not implemented; its socket() failing makes CPython's runner crash out of the whole module",
)];

const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub fn compat(args: &[String]) -> Result<(), String> {
    let mut only = None;
    let mut tests: Vec<String> = CPYTHON.iter().map(|s| s.to_string()).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--only" => only = Some(it.next().ok_or("--only needs corpus or cpython")?.clone()),
            "--tests" => tests = it.next().ok_or("--tests needs a comma-separated list")?.split(',').map(str::to_string).collect(),
            other => return Err(format!("compat: unknown argument {other:?} (use --only corpus|cpython, --tests a,b)")),
        }
    }
    if !rootfs::is_root() {
        return Err("compat compares against a chroot of the Debian root filesystem, which needs root".into());
    }
    let root = rootfs::ensure()?;
    setup::step("building oxvm");
    run_checked(cargo().args(["build", "--release", "-p", "oxvm-cli"]))?;
    let out = setup::root().join("target/compat");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut ok = true;
    if only.as_deref() != Some("cpython") {
        ok &= corpus(&root, &out)?;
    }
    if only.as_deref() != Some("corpus") {
        ok &= cpython(&root, &out, &tests)?;
    }
    if only.is_none() {
        // The keystroke-driven terminal tests CI leaves out (timing on a
        // loaded machine): interactive bash job control, the runner on a pty.
        setup::step("interactive terminal tests (ignored in CI)");
        let status = cargo()
            .args(["test", "--release", "-p", "oxvm-cli", "--test", "tty", "--", "--ignored"])
            .env("OXVM_TEST_ROOTFS", &root)
            .status()
            .map_err(|e| format!("cargo test: {e}"))?;
        ok &= status.success();
    }
    if ok {
        Ok(())
    } else {
        Err("compat: differences from native Linux (tables above)".into())
    }
}

/// The whole corpus through its test harness; the table comes from its
/// report file.
fn corpus(root: &Path, out: &Path) -> Result<bool, String> {
    setup::step("differential corpus (all entries)");
    let report = out.join("corpus.tsv");
    let _ = std::fs::remove_file(&report);
    let status = cargo()
        .args(["test", "--release", "-p", "oxvm-cli", "--test", "corpus", "--", "corpus", "--exact", "--nocapture"])
        .env("OXVM_TEST_ROOTFS", root)
        .env("OXVM_CORPUS", "all")
        .env("OXVM_CORPUS_REPORT", &report)
        .status()
        .map_err(|e| format!("cargo test: {e}"))?;
    let text = std::fs::read_to_string(&report).map_err(|e| format!("no corpus report ({e}); the test run failed early"))?;
    let mut by_file: BTreeMap<String, (usize, usize, f64, f64)> = BTreeMap::new();
    let mut failed = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [file, name, result, n, o] = f[..] else { continue };
        let e = by_file.entry(file.to_string()).or_default();
        e.0 += 1;
        if result == "pass" {
            e.1 += 1;
        } else {
            failed.push(name.to_string());
        }
        e.2 += n.parse::<f64>().unwrap_or(0.0);
        e.3 += o.parse::<f64>().unwrap_or(0.0);
    }
    println!("\n{:<16} {:>8} {:>8} {:>10} {:>10}", "corpus file", "entries", "same", "native s", "oxvm s");
    let mut tot = (0, 0, 0.0, 0.0);
    for (file, (n, p, tn, to)) in &by_file {
        println!("{file:<16} {n:>8} {p:>8} {tn:>10.1} {to:>10.1}");
        tot = (tot.0 + n, tot.1 + p, tot.2 + tn, tot.3 + to);
    }
    println!("{:<16} {:>8} {:>8} {:>10.1} {:>10.1}", "total", tot.0, tot.1, tot.2, tot.3);
    if !failed.is_empty() {
        println!("differing entries: {}", failed.join(" "));
    }
    Ok(status.success() && failed.is_empty())
}

/// What one side did with one test module: each test case's outcome.
#[derive(Default)]
struct Cases {
    outcome: BTreeMap<String, Outcome>,
    secs: f64,
    /// The run ended without a report (crash, timeout).
    broken: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Outcome {
    Pass,
    Fail,
    Skip,
}

/// Test cases of a regrtest `--junit-xml` report: a `<testcase .../>`
/// passed; one with a `<failure>` or `<error>` child failed, with
/// `<skipped>` was skipped.
fn parse_junit(xml: &str) -> BTreeMap<String, Outcome> {
    let mut out = BTreeMap::new();
    for chunk in xml.split("<testcase ").skip(1) {
        let Some(name) = attr(chunk, "name") else { continue };
        let head_end = chunk.find('>').unwrap_or(chunk.len());
        let body = if chunk[..head_end].ends_with('/') { "" } else { chunk.split("</testcase>").next().unwrap_or("") };
        let o = if body.contains("<failure") || body.contains("<error") {
            Outcome::Fail
        } else if body.contains("<skipped") {
            Outcome::Skip
        } else {
            Outcome::Pass
        };
        // The same name can appear twice (doctests); the worse result wins.
        let e = out.entry(name).or_insert(o);
        if o == Outcome::Fail {
            *e = o;
        }
    }
    out
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = start + tag[start..].find('"')?;
    Some(tag[start..end].replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&"))
}

fn run_module(root: &Path, out: &Path, test: &str, oxvm: bool) -> Cases {
    let side = if oxvm { "oxvm" } else { "native" };
    // The root filesystem may be shared by several checkouts running
    // compat at once: a directory of this run's own.
    let guest_dir = format!("/tmp/compat-{side}-{test}-{}", std::process::id());
    let host_dir = root.join(guest_dir.trim_start_matches('/'));
    let _ = std::fs::remove_dir_all(&host_dir);
    if let Err(e) = std::fs::create_dir_all(&host_dir) {
        return Cases { broken: Some(format!("{}: {e}", host_dir.display())), ..Default::default() };
    }
    let ignores: String = EXCLUDED.iter().filter(|e| e.0 == test).map(|e| format!(" --ignore '{}'", e.1)).collect();
    let script = format!("cd {guest_dir} && exec python3 -m test {test}{ignores} --junit-xml {guest_dir}/report.xml");
    let mut cmd = if oxvm {
        let mut c = Command::new(setup::root().join("target/release/oxvm"));
        c.arg("run").arg("--root").arg(root).arg("--");
        c
    } else {
        // As on a booted system (and as the guest has it): private mount
        // and PID namespaces with /proc, /dev/pts and /dev/shm mounted;
        // the tree itself is not written.
        let mut c = Command::new("unshare");
        c.args(["-m", "--propagation", "private", "/bin/sh", "-c"]);
        c.arg(concat!(
            "r=\"$1\" && shift && ",
            "mount -t tmpfs -o nosuid,nodev,noexec,size=64m shm \"$r/dev/shm\" && ",
            "mount --bind /dev/pts \"$r/dev/pts\" && ",
            "exec unshare -p -f --mount-proc=\"$r/proc\" /usr/sbin/chroot \"$r\" \"$@\""
        ));
        c.arg("native").arg(root);
        c
    };
    cmd.env_clear().env("PATH", PATH).env("LANG", "C.UTF-8").env("HOME", "/root").env("TMPDIR", &guest_dir).current_dir("/");
    cmd.args(["/bin/bash", "-c", &script]).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = Instant::now();
    let res = cmd.output();
    let secs = start.elapsed().as_secs_f64();
    let mut cases = Cases { secs, ..Default::default() };
    match res {
        Ok(o) => {
            let mut text = o.stdout;
            text.extend_from_slice(&o.stderr);
            let _ = std::fs::write(out.join(format!("{test}.{side}.log")), &text);
            match std::fs::read_to_string(host_dir.join("report.xml")) {
                Ok(xml) => {
                    cases.outcome = parse_junit(&xml);
                    // Kept for reading the failures' tracebacks.
                    let _ = std::fs::write(out.join(format!("{test}.{side}.xml")), &xml);
                }
                Err(_) => cases.broken = Some(format!("no report (exit {:?})", o.status.code())),
            }
        }
        Err(e) => cases.broken = Some(e.to_string()),
    }
    let _ = std::fs::remove_dir_all(&host_dir);
    cases
}

fn cpython(root: &Path, out: &Path, tests: &[String]) -> Result<bool, String> {
    setup::step("CPython regression tests, natively and under oxvm");
    println!("{:<18} {:>14} {:>14} {:>9} {:>9} {:>9}", "test", "native p/f/s", "oxvm p/f/s", "regressed", "native s", "oxvm s");
    let mut all_ok = true;
    let mut totals = [0usize; 7];
    let mut lost: Vec<String> = Vec::new();
    for t in tests {
        let n = run_module(root, out, t, false);
        let o = run_module(root, out, t, true);
        let count = |c: &Cases, w: Outcome| c.outcome.values().filter(|&&x| x == w).count();
        let regressed: Vec<&String> = n
            .outcome
            .iter()
            .filter(|(_, &v)| v == Outcome::Pass)
            .map(|(k, _)| k)
            .filter(|k| o.outcome.get(*k) != Some(&Outcome::Pass))
            .collect();
        let np = (count(&n, Outcome::Pass), count(&n, Outcome::Fail), count(&n, Outcome::Skip));
        let op = (count(&o, Outcome::Pass), count(&o, Outcome::Fail), count(&o, Outcome::Skip));
        let broken = o.broken.as_deref().or(n.broken.as_deref());
        println!(
            "{:<18} {:>14} {:>14} {:>9} {:>9.1} {:>9.1}{}",
            t,
            format!("{}/{}/{}", np.0, np.1, np.2),
            format!("{}/{}/{}", op.0, op.1, op.2),
            regressed.len(),
            n.secs,
            o.secs,
            broken.map(|b| format!("  ({b})")).unwrap_or_default()
        );
        for (i, v) in [np.0, np.1, np.2, op.0, op.1, op.2, regressed.len()].into_iter().enumerate() {
            totals[i] += v;
        }
        lost.extend(regressed.iter().map(|r| format!("{t}: {r}")));
        all_ok &= regressed.is_empty() && o.broken.is_none() && n.broken.is_none();
    }
    println!(
        "{:<18} {:>14} {:>14} {:>9}",
        "total",
        format!("{}/{}/{}", totals[0], totals[1], totals[2]),
        format!("{}/{}/{}", totals[3], totals[4], totals[5]),
        totals[6]
    );
    if !lost.is_empty() {
        println!("\npass natively, not under oxvm:");
        for l in &lost {
            println!("  {l}");
        }
    }
    for (t, pat, why) in EXCLUDED.iter().filter(|e| tests.iter().any(|t| t == e.0)) {
        println!("left out on both sides: {t} {pat}: {why}");
    }
    println!("(logs and junit reports with tracebacks: target/compat/<test>.<side>.log and .xml)");
    Ok(all_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_outcomes() {
        let xml = r#"<testsuites><testsuite><testcase name="a.T.test_ok" status="run" result="completed" time="0.1" />
<testcase name="a.T.test_skip" status="run" result="completed" time="0"><skipped>no</skipped></testcase>
<testcase name="a.T.test_bad" status="run" result="completed" time="0"><system-out /><error message="x">tb</error></testcase>
<testcase name="a.T.test_f&amp;" status="run"><failure>f</failure></testcase></testsuite></testsuites>"#;
        let m = parse_junit(xml);
        assert_eq!(m.len(), 4);
        assert_eq!(m["a.T.test_ok"], Outcome::Pass);
        assert_eq!(m["a.T.test_skip"], Outcome::Skip);
        assert_eq!(m["a.T.test_bad"], Outcome::Fail);
        assert_eq!(m["a.T.test_f&"], Outcome::Fail);
    }
}
