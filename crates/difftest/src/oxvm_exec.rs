//! The oxvm executor: the same code page, data region and initial state in
//! an oxvm address space, run instruction by instruction until RIP reaches
//! an exit point or the guest faults.

use oxvm_cpu::mem::FrameId;
use oxvm_cpu::{AddressSpace, Bus, Exit, Fault, Memory, Prot};

use crate::codepage;
use crate::layout::*;
use crate::state::MachineState;

/// Signal numbers and codes as Linux reports them (x86-64 values; kept
/// here so this module builds on any host).
pub mod sig {
    pub const SIGILL: i32 = 4;
    pub const SIGTRAP: i32 = 5;
    pub const SIGBUS: i32 = 7;
    pub const SIGFPE: i32 = 8;
    pub const SIGSEGV: i32 = 11;
    pub const SEGV_MAPERR: i32 = 1;
    pub const SEGV_ACCERR: i32 = 2;
    pub const SI_KERNEL: i32 = 0x80;
    pub const ILL_ILLOPN: i32 = 2;
    pub const FPE_INTDIV: i32 = 1;

    pub fn name(s: i32) -> &'static str {
        match s {
            0 => "none",
            SIGILL => "SIGILL",
            SIGTRAP => "SIGTRAP",
            SIGBUS => "SIGBUS",
            SIGFPE => "SIGFPE",
            SIGSEGV => "SIGSEGV",
            _ => "signal?",
        }
    }
}

/// Instructions oxvm may take for one case before it is declared hung (a
/// REP instruction may be split into several steps).
const MAX_STEPS: u32 = 10_000;

/// The end state of one oxvm run.
#[derive(Clone)]
pub struct Outcome {
    pub state: MachineState,
    /// oxvm's full x87 tag word.
    pub ftw: u16,
    pub data: Box<[u8; DATA_LEN]>,
    pub signo: i32,
    pub si_code: i32,
    pub si_addr: u64,
    /// Something that is not a plain end state (hang, syscall, panic).
    pub note: Option<String>,
}

impl Default for Outcome {
    fn default() -> Self {
        Outcome { state: MachineState::default(), ftw: 0xffff, data: Box::new([0; DATA_LEN]), signo: 0, si_code: 0, si_addr: 0, note: None }
    }
}

/// The signal Linux delivers for an oxvm fault: (signo, si_code, si_addr).
pub fn fault_signal(f: Fault, rip: u64) -> (i32, i32, u64) {
    match f {
        Fault::Page { addr, present, .. } => (sig::SIGSEGV, if present { sig::SEGV_ACCERR } else { sig::SEGV_MAPERR }, addr),
        Fault::GeneralProtection => (sig::SIGSEGV, sig::SI_KERNEL, 0),
        Fault::StackFault => (sig::SIGBUS, sig::SI_KERNEL, 0),
        Fault::InvalidOpcode => (sig::SIGILL, sig::ILL_ILLOPN, rip),
        Fault::DivideError => (sig::SIGFPE, sig::FPE_INTDIV, rip),
        // The si_code of #MF/#XM depends on which exception is pending;
        // it is not compared.
        Fault::X87 | Fault::Simd => (sig::SIGFPE, 0, rip),
        Fault::Breakpoint => (sig::SIGTRAP, sig::SI_KERNEL, 0),
    }
}

pub struct OxvmExec {
    mem: Memory,
    space: AddressSpace,
    code_frame: FrameId,
    data_frames: [FrameId; DATA_PAGES],
}

impl OxvmExec {
    pub fn new() -> OxvmExec {
        let mut mem = Memory::new();
        let mut space = AddressSpace::new();
        let code_frame = mem.phys.alloc();
        mem.phys.bytes_mut(code_frame).copy_from_slice(&codepage::image()[..]);
        space.map(&mut mem.phys, CODE, code_frame, Prot::RX);
        let mut data_frames = [0; DATA_PAGES];
        for (k, f) in data_frames.iter_mut().enumerate() {
            *f = mem.phys.alloc();
            let va = DATA + 0x1000 * k as u64;
            space.map(&mut mem.phys, va, *f, if is_ro(va) { Prot::READ } else { Prot::RW });
        }
        OxvmExec { mem, space, code_frame, data_frames }
    }

    /// Run one case. `exits` are the addresses at which the case is done.
    pub fn run(&mut self, region: &[u8; TEST_REGION], init: &MachineState, data: &[u8; DATA_LEN], exits: &[u64], out: &mut Outcome) {
        let page = self.mem.phys.bytes_mut(self.code_frame);
        let off = (TEST_ADDR - CODE) as usize;
        if page[off..off + TEST_REGION] != region[..] {
            codepage::patch(page, region);
            // Decoded blocks of the old bytes must go.
            self.mem.code.invalidate_frame(self.code_frame);
        }
        for (k, f) in self.data_frames.iter().enumerate() {
            self.mem.phys.bytes_mut(*f).copy_from_slice(&data[k * 4096..(k + 1) * 4096]);
        }
        let mut cpu = init.to_cpu();
        out.signo = 0;
        out.si_code = 0;
        out.si_addr = 0;
        out.note = None;
        {
            let mut bus = Bus::new(&mut self.space, &mut self.mem);
            let mut steps = 0;
            loop {
                let (exit, _) = oxvm_cpu::run(&mut cpu, &mut bus, 1);
                match exit {
                    Exit::Budget => {}
                    Exit::Fault(f) => {
                        // #BP is a trap: oxvm, like Linux, reports RIP after the INT3.
                        let (s, c, a) = fault_signal(f, cpu.rip);
                        out.signo = s;
                        out.si_code = c;
                        out.si_addr = a;
                        break;
                    }
                    Exit::Syscall => {
                        out.note = Some("oxvm exited with Syscall".into());
                        break;
                    }
                }
                steps += 1;
                if exits.contains(&cpu.rip) {
                    break;
                }
                if steps >= MAX_STEPS {
                    out.note = Some(format!("no exit point reached after {MAX_STEPS} steps (rip {:#x})", cpu.rip));
                    break;
                }
            }
        }
        out.state = MachineState::from_cpu(&cpu);
        out.ftw = cpu.x87.ftw;
        for (k, f) in self.data_frames.iter().enumerate() {
            out.data[k * 4096..(k + 1) * 4096].copy_from_slice(self.mem.phys.bytes(*f));
        }
    }
}

impl Default for OxvmExec {
    fn default() -> Self {
        Self::new()
    }
}

impl OxvmExec {
    /// Robustness runs: put `region` in the test region and run at most
    /// `budget` instructions from `init` in one `run` call.
    pub fn run_raw(&mut self, region: &[u8; TEST_REGION], init: &MachineState, data: &[u8; DATA_LEN], budget: u64) -> (Exit, u64) {
        let page = self.mem.phys.bytes_mut(self.code_frame);
        codepage::patch(page, region);
        self.mem.code.invalidate_frame(self.code_frame);
        for (k, f) in self.data_frames.iter().enumerate() {
            self.mem.phys.bytes_mut(*f).copy_from_slice(&data[k * 4096..(k + 1) * 4096]);
        }
        let mut cpu = init.to_cpu();
        let mut bus = Bus::new(&mut self.space, &mut self.mem);
        oxvm_cpu::run(&mut cpu, &mut bus, budget)
    }
}
