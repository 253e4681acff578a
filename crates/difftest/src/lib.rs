//! oxvm's differential tester: the host CPU is the oracle for oxvm's CPU.
//!
//! Random instructions of each class ([`gen::Class`]) run natively (in a
//! forked worker, see [`native`]) and in oxvm's interpreter
//! ([`oxvm_exec`]) from the same initial state and memory; the end states
//! are compared ([`mod@compare`]) and each mismatch is reduced to a small
//! reproducer.
//!
//! ```text
//! oxvm-difftest --seed S --cases N [--class C]... [--max-report K] [--no-reduce]
//! oxvm-difftest --robust --seed S --cases N
//! ```
//! `--cases` is the total, split evenly over the selected classes (all by
//! default). The exit status is 1 if any case mismatched.
//!
//! What is compared: the signal (number; code and address for SIGSEGV;
//! code for #DE and #UD), RIP, the 16 GPRs, RFLAGS, MXCSR, XMM0-15, the x87
//! control, status and full tag words and the non-empty x87 registers, and
//! the whole data region. What is not (each documented where it is done):
//! RFLAGS bits the architecture leaves undefined for the instruction (iced's
//! tables plus the count-dependent rules of shifts and rotates), x87 C0-C3
//! where undefined, RF in the RFLAGS image of a fault, FOP/FIP/FDP and
//! MXCSR_MASK (also inside FXSAVE/FNSTENV/FNSAVE images), stale contents of
//! empty x87 registers. RCP/RSQRT and the x87 transcendentals are compared
//! with a tolerance (their exact bits are implementation-specific).
//! Differences that are understood and tracked elsewhere are counted as
//! "known" per class instead of as mismatches ([`compare::known_divergence`]).
//!
//! Instruction forms whose behaviour differs between vendors or that user
//! code cannot meaningfully use are not generated (see `gen::class_of`):
//! 16-bit near branches, far JMP/CALL, MOVSXD r16, BSWAP r16, 16-bit
//! SHLD/SHRD counts above 16, FS/GS overrides, CPUID, RDTSC, INT1, INT 0x80,
//! INT 4.
//!
//! [`run_campaign`] is the library entry point; [`robust`] is a separate
//! fuzzer that only checks oxvm never panics or hangs on random bytes.

pub mod codepage;
pub mod compare;
pub mod gen;
pub mod layout;
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
pub mod native;
pub mod oxvm_exec;
pub mod robust;
pub mod state;

use std::fmt::Write as _;
use std::io;
use std::time::Instant;

use iced_x86::{Formatter, InstructionInfoFactory, IntelFormatter, OpAccess, Register};

use compare::{compare, hex, Diff};
pub use gen::Class;
use gen::{Case, Rng, Tables};
use layout::*;
use oxvm_exec::{Outcome, OxvmExec};

/// Classes whose smoke campaign must show zero mismatches in
/// `cargo test` (add a class here once oxvm passes it).
pub const STRICT_CLASSES: &[Class] = &[
    Class::Alu,
    Class::Mov,
    Class::Shift,
    Class::MulDiv,
    Class::String,
    Class::Atomic,
    Class::Cond,
    Class::Stack,
    Class::Flags,
    Class::Bits,
    Class::Misc,
    Class::SseFloat,
    Class::SseInt,
    Class::SseMisc,
    Class::X87,
    Class::X87Trans,
    Class::Mmx,
];

#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    /// Total number of cases, split evenly across `classes`.
    pub cases: u64,
    pub classes: Vec<Class>,
    /// Reproducers printed per class.
    pub max_report: usize,
    /// Simplify the initial state of reported mismatches.
    pub reduce: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config { seed: 1, cases: 10_000, classes: Class::ALL.to_vec(), max_report: 5, reduce: true }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ClassReport {
    pub class: Option<Class>,
    pub run: u64,
    pub passed: u64,
    pub mismatched: u64,
    /// Cases on which the native worker died or hung (not counted as
    /// mismatches of oxvm, but reported).
    pub native_crashes: u64,
    /// Cases that differ only by a known, tracked divergence.
    pub known: u64,
    /// Cases that faulted natively (how much of the class exercises the
    /// fault paths).
    pub faulted: u64,
    pub reproducers: Vec<String>,
    /// Instruction forms (iced `Code`s) of the class's table, and those of
    /// them no case started with.
    pub forms_total: usize,
    pub forms_missing: Vec<iced_x86::Code>,
    /// One example per known divergence seen.
    pub known_examples: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Report {
    pub classes: Vec<ClassReport>,
    pub seconds: f64,
    pub worker_restarts: u64,
}

impl Report {
    pub fn mismatches(&self) -> u64 {
        self.classes.iter().map(|c| c.mismatched).sum()
    }
    pub fn cases(&self) -> u64 {
        self.classes.iter().map(|c| c.run).sum()
    }
    pub fn class(&self, c: Class) -> Option<&ClassReport> {
        self.classes.iter().find(|r| r.class == Some(c))
    }

    /// Per-class table followed by the reproducers.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for c in &self.classes {
            for r in &c.reproducers {
                s.push_str(r);
                s.push('\n');
            }
        }
        for c in &self.classes {
            for r in &c.known_examples {
                s.push_str("known divergence, e.g.:\n");
                s.push_str(r);
                s.push('\n');
            }
        }
        let _ = writeln!(
            s,
            "{:<10} {:>9} {:>9} {:>10} {:>7} {:>8} {:>8} {:>9}",
            "class", "run", "passed", "mismatched", "known", "faulted", "crashed", "forms"
        );
        for c in &self.classes {
            let name = c.class.map_or("?", |c| c.name());
            let forms =
                if c.forms_total == 0 { "-".to_string() } else { format!("{}/{}", c.forms_total - c.forms_missing.len(), c.forms_total) };
            let _ = writeln!(
                s,
                "{:<10} {:>9} {:>9} {:>10} {:>7} {:>8} {:>8} {:>9}",
                name, c.run, c.passed, c.mismatched, c.known, c.faulted, c.native_crashes, forms
            );
        }
        for c in &self.classes {
            if !c.forms_missing.is_empty() {
                let _ = writeln!(s, "{}: forms no case started with: {:?}", c.class.map_or("?", |c| c.name()), c.forms_missing);
            }
        }
        let rate = if self.seconds > 0.0 { self.cases() as f64 / self.seconds } else { 0.0 };
        let _ = writeln!(
            s,
            "total: {} cases, {} mismatched, {:.1} s ({:.0} cases/s), worker restarts {}",
            self.cases(),
            self.mismatches(),
            self.seconds,
            rate,
            self.worker_restarts
        );
        s
    }
}

/// Both executors, ready to run batches of cases.
pub struct Tester {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    worker: native::Worker,
    ox: OxvmExec,
    outs: Vec<Outcome>,
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
const BATCH: usize = native::BATCH;
#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
const BATCH: usize = 128;

/// One case's verdict.
pub struct Verdict {
    pub diffs: Vec<Diff>,
    pub native_crashed: bool,
    /// The case faulted natively.
    pub native_signal: bool,
    /// The differences are a known, tracked divergence (see
    /// [`compare::known_divergence`]).
    pub known: Option<&'static str>,
}

fn exits(case: &Case) -> [u64; 3] {
    [case.end(), EXIT_BACK, EXIT_FWD]
}

/// Run oxvm on one case, turning a panic into a note.
fn run_oxvm(ox: &mut OxvmExec, case: &Case, out: &mut Outcome) {
    let region = case.region();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ox.run(&region, &case.init, &case.data, &exits(case), out)));
    if r.is_err() {
        out.note = Some(format!("oxvm panicked: {}", robust::last_panic()));
        // The executor may be inconsistent after a panic: start afresh.
        *ox = OxvmExec::new();
    }
}

impl Tester {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    pub fn new() -> io::Result<Tester> {
        robust::install_quiet_panic_hook();
        let worker = native::Worker::new(&codepage::image())?;
        Ok(Tester { worker, ox: OxvmExec::new(), outs: (0..BATCH).map(|_| Outcome::default()).collect() })
    }

    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    pub fn new() -> io::Result<Tester> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "the native executor needs an x86-64 Linux host"))
    }

    /// Run up to one batch of cases on both executors and compare.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    pub fn run_batch(&mut self, cases: &[Case]) -> io::Result<Vec<Verdict>> {
        assert!(cases.len() <= BATCH);
        for (i, c) in cases.iter().enumerate() {
            let input = self.worker.input(i);
            input.region = c.region();
            input.state = c.init;
            input.data.copy_from_slice(&c.data[..]);
        }
        // The worker runs the batch natively while we run it in oxvm.
        self.worker.start(cases.len())?;
        for (i, c) in cases.iter().enumerate() {
            run_oxvm(&mut self.ox, c, &mut self.outs[i]);
        }
        self.worker.finish()?;
        let mut v = Vec::with_capacity(cases.len());
        for (i, c) in cases.iter().enumerate() {
            let o = self.worker.output(i);
            let nat = compare::Native {
                state: &o.state,
                data: &o.data,
                signo: o.signo,
                si_code: o.si_code,
                si_addr: o.si_addr,
                crashed: o.status != 0,
            };
            let insns = c.insns();
            let diffs = compare(&insns, &c.init, &nat, &self.outs[i]);
            let known = compare::known_divergence(&diffs, &nat, &self.outs[i]);
            v.push(Verdict { diffs, native_crashed: o.status != 0, native_signal: o.signo != 0, known });
        }
        Ok(v)
    }

    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    pub fn run_batch(&mut self, _cases: &[Case]) -> io::Result<Vec<Verdict>> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "no native executor"))
    }

    pub fn run_one(&mut self, case: &Case) -> io::Result<Verdict> {
        Ok(self.run_batch(std::slice::from_ref(case))?.pop().expect("one verdict"))
    }

    pub fn worker_restarts(&self) -> u64 {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        return self.worker.restarts;
        #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
        0
    }

    /// Simplify a mismatching case: zero registers, flags, vector and x87
    /// state and data one at a time while the same fields still differ.
    pub fn reduce(&mut self, case: &Case, diffs: &[Diff]) -> io::Result<(Case, Vec<Diff>)> {
        let key = |ds: &[Diff]| {
            let mut v: Vec<String> =
                ds.iter().map(|d| if d.field.starts_with("mem[") { "mem".to_string() } else { d.field.clone() }).collect();
            v.sort();
            v.dedup();
            v
        };
        let want = key(diffs);
        let mut best = case.clone();
        let mut best_diffs = diffs.to_vec();
        let attempt = |t: &mut Tester, cand: Case, best: &mut Case, best_diffs: &mut Vec<Diff>| -> io::Result<()> {
            let v = t.run_one(&cand)?;
            if !v.native_crashed && !v.diffs.is_empty() && key(&v.diffs) == want {
                *best = cand;
                *best_diffs = v.diffs;
            }
            Ok(())
        };
        for r in 0..16 {
            for v in [0u64, 1] {
                if best.init.gpr[r] > v {
                    let mut c = best.clone();
                    c.init.gpr[r] = v;
                    attempt(self, c, &mut best, &mut best_diffs)?;
                }
            }
        }
        if best.init.rflags != 0x202 {
            let mut c = best.clone();
            c.init.rflags = 0x202;
            attempt(self, c, &mut best, &mut best_diffs)?;
        }
        if best.data.iter().any(|b| *b != 0) {
            let mut c = best.clone();
            c.data = Box::new([0; DATA_LEN]);
            attempt(self, c, &mut best, &mut best_diffs)?;
        }
        if matches!(case.class, Class::SseFloat | Class::SseInt | Class::SseMisc | Class::Mmx) {
            for x in 0..16 {
                if best.init.fx.xmm(x) != [0, 0] {
                    let mut c = best.clone();
                    c.init.fx.set_xmm(x, [0, 0]);
                    attempt(self, c, &mut best, &mut best_diffs)?;
                }
            }
            if best.init.fx.mxcsr() != 0x1f80 {
                let mut c = best.clone();
                c.init.fx.set_mxcsr(0x1f80);
                attempt(self, c, &mut best, &mut best_diffs)?;
            }
        }
        if matches!(case.class, Class::X87 | Class::X87Trans | Class::Mmx) {
            for phys in 0..8 {
                if best.init.fx.abridged_tag() & (1 << phys) != 0 {
                    let mut c = best.clone();
                    c.init.fx.set_abridged_tag(c.init.fx.abridged_tag() & !(1 << phys));
                    attempt(self, c, &mut best, &mut best_diffs)?;
                }
            }
        }
        Ok((best, best_diffs))
    }
}

/// A reproducer: the instruction, the initial state that matters, and the
/// differences.
pub fn describe(case: &Case, diffs: &[Diff], native_signal: &str) -> String {
    let mut s = String::new();
    let mut fmt = IntelFormatter::new();
    let insns = case.insns();
    let mut text = String::new();
    for (k, i) in insns.iter().enumerate() {
        if k > 0 {
            text.push_str("; ");
        }
        fmt.format(i, &mut text);
    }
    let _ = writeln!(s, "[{}] {}   bytes: {}   at {:#x}{}", case.class.name(), text, hex(&case.code), TEST_ADDR, native_signal);
    let mut regs = Vec::new();
    for (r, v) in state::GPR_NAMES.iter().zip(case.init.gpr.iter()) {
        if *v != 0 {
            regs.push(format!("{r}={v:#x}"));
        }
    }
    let _ = writeln!(
        s,
        "  init: {} rflags={:#x} ({})",
        if regs.is_empty() { "all GPRs 0".to_string() } else { regs.join(" ") },
        case.init.rflags,
        compare::flag_names(case.init.rflags)
    );
    // Memory the instruction reads or writes, as iced computes it.
    let mut factory = InstructionInfoFactory::new();
    for i in &insns {
        let info = factory.info(i);
        for m in info.used_memory() {
            let get = |r: Register, _: usize, _: usize| -> Option<u64> {
                if r.is_gpr() {
                    let v = case.init.gpr[r.full_register().number()];
                    Some(match r.size() {
                        1 if matches!(r, Register::AH | Register::CH | Register::DH | Register::BH) => (v >> 8) & 0xff,
                        1 => v & 0xff,
                        2 => v & 0xffff,
                        4 => v & 0xffff_ffff,
                        _ => v,
                    })
                } else if r == Register::None || r.is_segment_register() {
                    Some(0)
                } else {
                    None
                }
            };
            if let Some(a) = m.virtual_address(0, get) {
                let size = m.memory_size().size().clamp(1, 16) as u64;
                let bytes: Vec<u8> = (0..size)
                    .filter_map(|k| a.checked_add(k).filter(|x| (DATA..DATA_END).contains(x)).map(|x| case.data[(x - DATA) as usize]))
                    .collect();
                let acc = match m.access() {
                    OpAccess::Read | OpAccess::CondRead => "read",
                    OpAccess::Write | OpAccess::CondWrite => "write",
                    _ => "rw",
                };
                let _ = writeln!(
                    s,
                    "  mem {acc} [{a:#x}] ({} bytes): {}",
                    m.memory_size().size(),
                    if bytes.is_empty() { "unmapped".into() } else { hex(&bytes) }
                );
            }
        }
    }
    if matches!(case.class, Class::SseFloat | Class::SseInt | Class::SseMisc | Class::Mmx) {
        let _ = write!(s, "  mxcsr={:#x}", case.init.fx.mxcsr());
        for x in 0..16 {
            let v = case.init.fx.xmm(x);
            if v != [0, 0] {
                let _ = write!(s, " xmm{x}={:016x}_{:016x}", v[1], v[0]);
            }
        }
        s.push('\n');
    }
    if matches!(case.class, Class::X87 | Class::X87Trans | Class::Mmx) {
        let fx = &case.init.fx;
        let _ = write!(s, "  fcw={:#x} fsw={:#x} (top {}) ftw={:#x}", fx.fcw(), fx.fsw(), fx.top(), fx.full_tag());
        for i in 0..8 {
            if !fx.phys_empty((fx.top() + i) & 7) {
                let (m, e) = fx.st(i);
                let _ = write!(s, " st{i}={e:04x}_{m:016x}");
            }
        }
        s.push('\n');
    }
    for d in diffs {
        let _ = writeln!(s, "  {:<10} native {}  oxvm {}", d.field, d.native, d.oxvm);
    }
    s
}

fn class_seed(seed: u64, c: Class) -> u64 {
    seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ ((c as u64 + 1) << 56) ^ (c as u64).wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// Run a campaign: `cfg.cases` cases split evenly over `cfg.classes`.
pub fn run_campaign(cfg: &Config) -> io::Result<Report> {
    let mut t = Tester::new()?;
    let tables = Tables::new();
    let start = Instant::now();
    let mut report = Report::default();
    let k = cfg.classes.len().max(1) as u64;
    for (ci, &class) in cfg.classes.iter().enumerate() {
        let n = cfg.cases / k + u64::from((ci as u64) < cfg.cases % k);
        let mut rng = Rng::new(class_seed(cfg.seed, class));
        let mut cr = ClassReport { class: Some(class), ..Default::default() };
        let mut done = 0;
        let mut seen = std::collections::HashSet::new();
        let mut forms_seen = std::collections::HashSet::new();
        while done < n {
            let b = (n - done).min(BATCH as u64) as usize;
            let cases: Vec<Case> = (0..b).map(|_| gen::generate(&tables, class, &mut rng)).collect();
            let verdicts = t.run_batch(&cases)?;
            for (c, v) in cases.iter().zip(verdicts) {
                if let Some(form) = c.form {
                    forms_seen.insert(form);
                }
                cr.run += 1;
                cr.faulted += u64::from(v.native_signal);
                if let Some(k) = v.known {
                    cr.known += 1;
                    if !cr.known_examples.iter().any(|e| e.contains(k)) {
                        cr.known_examples.push(format!("{}  ({k})\n", describe(c, &v.diffs, "")));
                    }
                } else if v.native_crashed {
                    cr.native_crashes += 1;
                    if cr.reproducers.len() < cfg.max_report {
                        cr.reproducers.push(describe(c, &v.diffs, ""));
                    }
                } else if v.diffs.is_empty() {
                    cr.passed += 1;
                } else {
                    cr.mismatched += 1;
                    // One reproducer per (mnemonic, differing fields): the
                    // report shows distinct problems rather than one many times.
                    let mut fields: Vec<&str> =
                        v.diffs.iter().map(|d| if d.field.starts_with("mem[") { "mem" } else { d.field.as_str() }).collect();
                    fields.sort_unstable();
                    fields.dedup();
                    let key = format!("{:?} {}", c.insns().first().map(|i| i.mnemonic()), fields.join(","));
                    let fresh = seen.insert(key);
                    if fresh && cr.reproducers.len() < cfg.max_report {
                        let (rc, rd) = if cfg.reduce { t.reduce(c, &v.diffs)? } else { (c.clone(), v.diffs.clone()) };
                        cr.reproducers.push(describe(&rc, &rd, ""));
                    }
                }
            }
            done += b as u64;
        }
        let forms = tables.of(class);
        cr.forms_total = forms.len();
        cr.forms_missing = forms.iter().copied().filter(|f| !forms_seen.contains(f)).collect();
        report.classes.push(cr);
    }
    report.seconds = start.elapsed().as_secs_f64();
    report.worker_restarts = t.worker_restarts();
    Ok(report)
}

#[cfg(all(test, target_arch = "x86_64", target_os = "linux"))]
mod tests {
    use super::*;

    /// A smoke campaign over the strict classes, which must match exactly.
    #[test]
    fn smoke_campaign_strict_classes() {
        let cfg = Config { seed: 0x5eed, cases: 30_000, classes: STRICT_CLASSES.to_vec(), max_report: 3, reduce: true };
        let report = run_campaign(&cfg).expect("campaign runs");
        println!("{}", report.render());
        for c in STRICT_CLASSES {
            let r = report.class(*c).expect("strict class was run");
            assert!(r.run > 0);
            assert_eq!(r.mismatched, 0, "strict class {} has mismatches:\n{}", c.name(), r.reproducers.join("\n"));
            assert_eq!(r.native_crashes, 0);
        }
    }

    /// The harness itself: a NOP leaves every register, the FP state and
    /// memory as loaded, and the same case gives the same native result
    /// twice.
    #[test]
    fn native_harness_round_trips_state() {
        let tables = Tables::new();
        let mut rng = Rng::new(5);
        let mut t = Tester::new().unwrap();
        for class in [Class::X87, Class::SseFloat, Class::Stack] {
            let mut case = gen::generate(&tables, class, &mut rng);
            case.code = vec![0x90];
            t.worker.input(0).region = case.region();
            t.worker.input(0).state = case.init;
            t.worker.input(0).data.copy_from_slice(&case.data[..]);
            t.worker.run(1).unwrap();
            let o = t.worker.output(0);
            assert_eq!(o.signo, 0);
            assert_eq!(o.state.gpr, case.init.gpr);
            assert_eq!(o.state.rip, case.end());
            assert_eq!(o.state.rflags, case.init.rflags);
            let (a, b) = (&o.state.fx, &case.init.fx);
            assert_eq!((a.fcw(), a.fsw(), a.abridged_tag(), a.mxcsr()), (b.fcw(), b.fsw(), b.abridged_tag(), b.mxcsr()));
            for i in 0..8 {
                assert_eq!(a.st(i), b.st(i));
            }
            for i in 0..16 {
                assert_eq!(a.xmm(i), b.xmm(i));
            }
            assert!(o.data[..] == case.data[..]);
        }
        // Determinism over a batch of every class (as many of each as fit).
        let per_class = BATCH / Class::ALL.len();
        let cases: Vec<Case> =
            Class::ALL.iter().flat_map(|c| (0..per_class).map(|_| gen::generate(&tables, *c, &mut rng)).collect::<Vec<_>>()).collect();
        let run = |t: &mut Tester| {
            for (i, c) in cases.iter().enumerate() {
                let input = t.worker.input(i);
                input.region = c.region();
                input.state = c.init;
                input.data.copy_from_slice(&c.data[..]);
            }
            t.worker.run(cases.len()).unwrap();
            (0..cases.len()).map(|i| (t.worker.output(i).state, t.worker.output(i).signo, t.worker.output(i).si_addr)).collect::<Vec<_>>()
        };
        let first = run(&mut t);
        let second = run(&mut t);
        assert!(first == second, "native results differ between two runs");
    }

    /// The comparison can fail: a case whose oxvm result is corrupted on
    /// purpose is reported.
    #[test]
    fn a_wrong_result_is_detected() {
        let tables = Tables::new();
        let mut rng = Rng::new(3);
        let mut t = Tester::new().unwrap();
        let case = gen::generate(&tables, Class::Alu, &mut rng);
        let v = t.run_one(&case).unwrap();
        assert!(!v.native_crashed);
        // Same case, but oxvm starts from a different RBX than native.
        let mut wrong = case.clone();
        wrong.init.gpr[3] ^= 0x10;
        let region = wrong.region();
        let mut out = Outcome::default();
        t.ox.run(&region, &wrong.init, &wrong.data, &exits(&wrong), &mut out);
        t.worker.input(0).region = case.region();
        t.worker.input(0).state = case.init;
        t.worker.input(0).data.copy_from_slice(&case.data[..]);
        t.worker.run(1).unwrap();
        let o = t.worker.output(0);
        let nat =
            compare::Native { state: &o.state, data: &o.data, signo: o.signo, si_code: o.si_code, si_addr: o.si_addr, crashed: false };
        let diffs = compare(&case.insns(), &case.init, &nat, &out);
        assert!(!diffs.is_empty(), "a changed register went unnoticed");
    }
}
