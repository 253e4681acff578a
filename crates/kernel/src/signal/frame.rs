//! The x86-64 signal frame (struct rt_sigframe) as Linux builds it, and
//! rt_sigreturn's restore from it.
//!
//! Layout: pretcode (the restorer) at the frame, the kernel `ucontext` at
//! +8 (uc_flags, uc_link, uc_stack, uc_mcontext = struct sigcontext,
//! uc_sigmask), the 128-byte siginfo at +312; the 512-byte FXSAVE image
//! sits 64-byte aligned above it, below the red zone.

use oxvm_cpu::state::reg;
use oxvm_cpu::{Bus, CpuState, Fault};

/// sizeof(struct rt_sigframe) for the kernel's 8-byte sigset.
pub const FRAME_SIZE: u64 = 8 + UC_SIZE + 128;
const UC_SIZE: u64 = 40 + 256 + 8;
const UC: u64 = 8;
const MCONTEXT: u64 = UC + 40;
const SIGMASK: u64 = MCONTEXT + 256;
pub const SIGINFO: u64 = 8 + UC_SIZE;
const FPSTATE_SIZE: u64 = 512;
const RED_ZONE: u64 = 128;
/// UC_FP_XSTATE is not set: the FP image is plain FXSAVE.
const UC_SIGCONTEXT_SS: u64 = 2;
const UC_STRICT_RESTORE_SS: u64 = 4;

/// sigcontext's general registers in order (r8..r15, rdi, rsi, rbp, rbx,
/// rdx, rax, rcx, rsp), as CpuState indices.
const GREGS: [usize; 16] = [
    reg::R8,
    reg::R9,
    reg::R10,
    reg::R11,
    reg::R12,
    reg::R13,
    reg::R14,
    reg::R15,
    reg::RDI,
    reg::RSI,
    reg::RBP,
    reg::RBX,
    reg::RDX,
    reg::RAX,
    reg::RCX,
    reg::RSP,
];

/// What the handler is entered with.
pub struct Delivery {
    pub signo: u32,
    /// The 128-byte siginfo.
    pub info: [u8; 128],
    pub handler: u64,
    pub restorer: u64,
    /// The mask to save in the frame (restored by rt_sigreturn).
    pub old_mask: u64,
    /// Where the frame goes: the top of the stack to use (the alternate
    /// stack's top, or the current RSP minus the red zone).
    pub stack_top: u64,
    /// uc_stack: sigaltstack's (sp, flags, size) at delivery.
    pub altstack: (u64, u32, u64),
    /// cr2 / trapno / err for faults.
    pub trapno: u64,
    pub err: u64,
    pub cr2: u64,
}

/// A siginfo with signo, code and the two words of the union start
/// (si_pid/si_uid for kill, si_addr for faults).
pub fn siginfo(signo: u32, code: i32, word0: u64) -> [u8; 128] {
    let mut b = [0u8; 128];
    b[0..4].copy_from_slice(&signo.to_le_bytes());
    b[8..12].copy_from_slice(&code.to_le_bytes());
    b[16..24].copy_from_slice(&word0.to_le_bytes());
    b
}

/// The stack top used for a frame on the current stack: below the red zone.
pub fn current_stack_top(cpu: &CpuState) -> u64 {
    cpu.gpr[reg::RSP].wrapping_sub(RED_ZONE)
}

/// Build the frame and redirect `cpu` to the handler. On a fault writing
/// the frame, `cpu` is unchanged (the caller kills with SIGSEGV).
pub fn setup(cpu: &mut CpuState, bus: &mut Bus, d: &Delivery) -> Result<(), Fault> {
    let fp = (d.stack_top.wrapping_sub(FPSTATE_SIZE)) & !63;
    let frame = ((fp.wrapping_sub(FRAME_SIZE)) & !15).wrapping_sub(8);
    let mut img = vec![0u8; (fp + FPSTATE_SIZE - frame) as usize];
    let put = |img: &mut Vec<u8>, off: u64, v: &[u8]| img[off as usize..off as usize + v.len()].copy_from_slice(v);
    // FXSAVE image: x87, MXCSR (+ mask), XMM0..15.
    let f = fp - frame;
    put(&mut img, f, &cpu.x87.fxsave_legacy(true));
    put(&mut img, f + 24, &cpu.mxcsr.to_le_bytes());
    put(&mut img, f + 28, &0xffffu32.to_le_bytes());
    for (i, x) in cpu.xmm.iter().enumerate() {
        put(&mut img, f + 160 + 16 * i as u64, &x[0].to_le_bytes());
        put(&mut img, f + 168 + 16 * i as u64, &x[1].to_le_bytes());
    }
    put(&mut img, 0, &d.restorer.to_le_bytes());
    put(&mut img, UC, &(UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS).to_le_bytes());
    put(&mut img, UC + 16, &d.altstack.0.to_le_bytes());
    put(&mut img, UC + 24, &d.altstack.1.to_le_bytes());
    put(&mut img, UC + 32, &d.altstack.2.to_le_bytes());
    for (i, &r) in GREGS.iter().enumerate() {
        put(&mut img, MCONTEXT + 8 * i as u64, &cpu.gpr[r].to_le_bytes());
    }
    put(&mut img, MCONTEXT + 128, &cpu.rip.to_le_bytes());
    put(&mut img, MCONTEXT + 136, &cpu.rflags().to_le_bytes());
    // cs, gs, fs, ss: the user code and stack selectors.
    put(&mut img, MCONTEXT + 144, &0x33u16.to_le_bytes());
    put(&mut img, MCONTEXT + 150, &0x2bu16.to_le_bytes());
    put(&mut img, MCONTEXT + 152, &d.err.to_le_bytes());
    put(&mut img, MCONTEXT + 160, &d.trapno.to_le_bytes());
    put(&mut img, MCONTEXT + 168, &d.old_mask.to_le_bytes());
    put(&mut img, MCONTEXT + 176, &d.cr2.to_le_bytes());
    put(&mut img, MCONTEXT + 184, &fp.to_le_bytes());
    put(&mut img, SIGMASK, &d.old_mask.to_le_bytes());
    put(&mut img, SIGINFO, &d.info);
    bus.write_bytes(frame, &img)?;
    cpu.gpr[reg::RDI] = u64::from(d.signo);
    cpu.gpr[reg::RSI] = frame + SIGINFO;
    cpu.gpr[reg::RDX] = frame + UC;
    cpu.gpr[reg::RAX] = 0;
    cpu.gpr[reg::RSP] = frame;
    cpu.rip = d.handler;
    // The handler starts with DF and TF clear, as on Linux.
    let fl = cpu.rflags() & !((1 << 10) | (1 << 8));
    cpu.set_rflags(fl);
    Ok(())
}

/// rt_sigreturn: restore the registers, FP state and mask saved in the
/// frame whose ucontext starts at RSP (the handler's `ret` popped
/// pretcode). Returns the saved mask and the uc_stack words.
pub fn restore(cpu: &mut CpuState, bus: &mut Bus) -> Result<u64, Fault> {
    let frame = cpu.gpr[reg::RSP].wrapping_sub(8);
    let mut img = vec![0u8; FRAME_SIZE as usize];
    bus.read_bytes(frame, &mut img)?;
    let le64 = |o: u64| {
        let mut v = [0u8; 8];
        v.copy_from_slice(&img[o as usize..o as usize + 8]);
        u64::from_le_bytes(v)
    };
    let fp = le64(MCONTEXT + 184);
    let mut fx = [0u8; 512];
    if fp != 0 {
        bus.read_bytes(fp, &mut fx)?;
    }
    let mut next = cpu.clone();
    for (i, &r) in GREGS.iter().enumerate() {
        next.gpr[r] = le64(MCONTEXT + 8 * i as u64);
    }
    next.rip = le64(MCONTEXT + 128);
    // Only the flags user code may change (CF PF AF ZF SF TF DF OF, AC, ID).
    const USER_FLAGS: u64 = 0x0004_0dd5 | (1 << 21);
    let fl = (cpu.rflags() & !USER_FLAGS) | (le64(MCONTEXT + 136) & USER_FLAGS);
    next.set_rflags(fl);
    if fp != 0 {
        let mut legacy = [0u8; 160];
        legacy.copy_from_slice(&fx[..160]);
        next.x87.fxrstor_legacy(&legacy, true);
        next.mxcsr = u32::from_le_bytes([fx[24], fx[25], fx[26], fx[27]]) & 0xffff;
        for i in 0..16 {
            let o = 160 + 16 * i;
            let mut lo = [0u8; 8];
            let mut hi = [0u8; 8];
            lo.copy_from_slice(&fx[o..o + 8]);
            hi.copy_from_slice(&fx[o + 8..o + 16]);
            next.xmm[i] = [u64::from_le_bytes(lo), u64::from_le_bytes(hi)];
        }
    }
    *cpu = next;
    Ok(le64(SIGMASK))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxvm_cpu::{AddressSpace, Memory, Prot};

    #[test]
    fn frame_layout_alignment_and_round_trip() {
        let mut mem = Memory::new();
        let mut space = AddressSpace::new();
        for page in 0..4u64 {
            let f = mem.phys.alloc();
            space.map(&mut mem.phys, 0x10000 + page * 0x1000, f, Prot::RW);
        }
        let mut bus = Bus::new(&mut space, &mut mem);
        let mut cpu = CpuState::default();
        for (i, r) in cpu.gpr.iter_mut().enumerate() {
            *r = 0x1000 + i as u64;
        }
        cpu.gpr[reg::RSP] = 0x13ff8;
        cpu.rip = 0x401234;
        cpu.xmm[3] = [0x1111, 0x2222];
        cpu.mxcsr = 0x1fa0;
        let saved = cpu.clone();
        let d = Delivery {
            signo: 10,
            info: siginfo(10, 0, 77),
            handler: 0x500000,
            restorer: 0x600000,
            old_mask: 0x8000,
            stack_top: current_stack_top(&cpu),
            altstack: (0, 2, 0),
            trapno: 0,
            err: 0,
            cr2: 0,
        };
        setup(&mut cpu, &mut bus, &d).unwrap();
        let sp = cpu.gpr[reg::RSP];
        // The handler is entered as if called: (rsp + 8) 16-aligned, the
        // return address the restorer, below the red zone.
        assert_eq!((sp + 8) % 16, 0);
        assert!(sp + FRAME_SIZE <= 0x13ff8 - 128);
        assert_eq!(bus.read_u64(sp).unwrap(), 0x600000);
        assert_eq!((cpu.rip, cpu.gpr[reg::RDI], cpu.gpr[reg::RSI], cpu.gpr[reg::RDX]), (0x500000, 10, sp + SIGINFO, sp + 8));
        // uc_mcontext.gregs[REG_RIP] (16) and [REG_RSP] (15), uc_sigmask.
        assert_eq!(bus.read_u64(sp + 8 + 40 + 16 * 8).unwrap(), 0x401234);
        assert_eq!(bus.read_u64(sp + 8 + 40 + 15 * 8).unwrap(), 0x13ff8);
        assert_eq!(bus.read_u64(sp + 8 + 40 + 256).unwrap(), 0x8000);
        assert_eq!(bus.read_u64(sp + SIGINFO + 16).unwrap(), 77);
        let fp = bus.read_u64(sp + 8 + 40 + 184).unwrap();
        assert_eq!(fp % 64, 0);
        assert_eq!(bus.read_u32(fp + 24).unwrap(), 0x1fa0);
        assert_eq!(bus.read_u64(fp + 160 + 48).unwrap(), 0x1111);
        // A handler moving the saved RIP; rt_sigreturn after its `ret`.
        bus.write_u64(sp + 8 + 40 + 16 * 8, 0x401236).unwrap();
        cpu.gpr[reg::RSP] = sp + 8;
        cpu.xmm[3] = [0, 0];
        let mask = restore(&mut cpu, &mut bus).unwrap();
        assert_eq!(mask, 0x8000);
        assert_eq!(cpu.rip, 0x401236);
        assert_eq!(cpu.gpr, saved.gpr);
        assert_eq!((cpu.xmm[3], cpu.mxcsr), (saved.xmm[3], saved.mxcsr));
    }
}
