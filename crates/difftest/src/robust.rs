//! Robustness fuzzing: random byte streams run by oxvm with a random state
//! for a bounded budget. oxvm must never panic and never take long; what
//! the bytes compute is not checked.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::gen::{generate, Class, Rng, Tables};
use crate::layout::*;
use crate::oxvm_exec::OxvmExec;
use crate::state::MachineState;

static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

/// Keep panic messages (of oxvm, caught by the tester) off stderr; the
/// tester reports them with the case.
pub fn install_quiet_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let msg = format!("{info}");
            // Panics of the test harness itself (assertions in #[test]s) still print.
            if !msg.contains("crates/cpu") {
                default(info);
            }
            if let Ok(mut m) = LAST_PANIC.lock() {
                *m = msg;
            }
        }));
    });
}

pub fn last_panic() -> String {
    LAST_PANIC.lock().map(|m| m.clone()).unwrap_or_default()
}

/// Instructions per robustness case.
pub const BUDGET: u64 = 256;
/// A case taking longer than this counts as a hang.
pub const CASE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
pub struct RobustReport {
    pub cases: u64,
    pub instructions: u64,
    /// (bytes, panic message)
    pub panics: Vec<(Vec<u8>, String)>,
    /// (bytes, seconds)
    pub hangs: Vec<(Vec<u8>, f64)>,
    pub seconds: f64,
}

const PREFIXES: [u8; 17] = [0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x2e, 0x3e, 0x26, 0x36, 0x64, 0x65, 0x40, 0x41, 0x44, 0x48, 0x4c, 0x4f];

/// A random instruction-ish byte stream.
pub fn random_stream(rng: &mut Rng) -> Vec<u8> {
    let mut v = Vec::new();
    let target = rng.range(1, MAX_TEST_BYTES as u64) as usize;
    while v.len() < target {
        for _ in 0..rng.below(4) {
            v.push(rng.pick(&PREFIXES));
        }
        match rng.below(6) {
            0 => v.extend_from_slice(&[0x0f, rng.next_u64() as u8]),
            1 => v.extend_from_slice(&[0x0f, if rng.coin() { 0x38 } else { 0x3a }, rng.next_u64() as u8]),
            2 => v.push(0xd8 + rng.below(8) as u8),
            _ => v.push(rng.next_u64() as u8),
        }
        for _ in 0..rng.below(7) {
            // ModRM/SIB/displacement/immediate bytes, often pointing at the data region.
            v.push(if rng.one_in(3) { rng.pick(&[0x04, 0x05, 0x44, 0x84, 0x24, 0x25, 0xc0, 0x00]) } else { rng.next_u64() as u8 });
        }
    }
    v.truncate(MAX_TEST_BYTES);
    v
}

/// Run `cases` random byte streams through oxvm.
pub fn run_robust(seed: u64, cases: u64) -> RobustReport {
    install_quiet_panic_hook();
    let mut rng = Rng::new(seed ^ 0x0b57_0b57);
    let mut ox = OxvmExec::new();
    let mut rep = RobustReport::default();
    let start = Instant::now();
    let mut data = Box::new([0u8; DATA_LEN]);
    let tables = Tables::new();
    for _ in 0..cases {
        let mut st = MachineState { rip: TEST_ADDR, rflags: 0x202 | (rng.next_u64() & 0xcd5), ..Default::default() };
        for g in st.gpr.iter_mut() {
            *g = match rng.below(3) {
                0 => DATA + rng.below(DATA_LEN as u64),
                _ => rng.value(),
            };
        }
        st.fx.set_mxcsr(0x1f80 | (rng.next_u64() as u32 & 0xe07f));
        st.fx.set_fsw((rng.below(8) as u16) << 11);
        st.fx.set_abridged_tag(rng.next_u64() as u8);
        for i in 0..8 {
            let (m, e) = rng.f80();
            st.fx.set_st(i, m, e);
        }
        for i in 0..16 {
            st.fx.set_xmm(i, [rng.f64_bits(), rng.value()]);
        }
        let mut x = rng.next_u64() | 1;
        for c in data.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c.copy_from_slice(&x.to_le_bytes());
        }
        let bytes = if rng.coin() {
            random_stream(&mut rng)
        } else {
            // Valid instructions of all classes back to back (the first
            // one's state, so its memory operand lands in the data region),
            // with a few bytes mutated now and then.
            let first = generate(&tables, rng.pick(&Class::ALL), &mut rng);
            st = first.init;
            data.copy_from_slice(&first.data[..]);
            let mut v = first.code;
            while v.len() < MAX_TEST_BYTES - 16 && !rng.one_in(8) {
                v.extend_from_slice(&generate(&tables, rng.pick(&Class::ALL), &mut rng).code);
            }
            v.truncate(MAX_TEST_BYTES);
            if rng.one_in(3) {
                let k = rng.below(v.len() as u64) as usize;
                v[k] = rng.next_u64() as u8;
            }
            v
        };
        let mut region = [0u8; TEST_REGION];
        for b in region.iter_mut() {
            *b = rng.next_u64() as u8;
        }
        region[..bytes.len()].copy_from_slice(&bytes);
        let t0 = Instant::now();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ox.run_raw(&region, &st, &data, BUDGET)));
        let dt = t0.elapsed();
        rep.cases += 1;
        match r {
            Ok((_, n)) => rep.instructions += n,
            Err(_) => {
                rep.panics.push((region[..bytes.len()].to_vec(), last_panic()));
                ox = OxvmExec::new();
            }
        }
        if dt > CASE_TIMEOUT {
            rep.hangs.push((region[..bytes.len()].to_vec(), dt.as_secs_f64()));
        }
    }
    rep.seconds = start.elapsed().as_secs_f64();
    rep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_bytes_never_panic_or_hang() {
        let r = run_robust(42, 3000);
        assert_eq!(r.cases, 3000);
        assert!(r.instructions > 0);
        let show = |v: &[(Vec<u8>, String)]| {
            v.iter().take(5).map(|(b, m)| format!("{}: {m}", crate::compare::hex(b))).collect::<Vec<_>>().join("\n")
        };
        assert!(r.panics.is_empty(), "{} panics:\n{}", r.panics.len(), show(&r.panics));
        assert!(r.hangs.is_empty(), "hangs: {:?}", r.hangs);
    }
}
