//! The code page image: the native harness's entry, exit and restore stubs,
//! the exit points, and the patchable test region. oxvm maps the same image
//! (only the test region and exit points are ever executed there).

use iced_x86::{Code, Encoder, Instruction, MemoryOperand, Register};

use crate::layout::*;

const GPRS: [Register; 16] = [
    Register::RAX,
    Register::RCX,
    Register::RDX,
    Register::RBX,
    Register::RSP,
    Register::RBP,
    Register::RSI,
    Register::RDI,
    Register::R8,
    Register::R9,
    Register::R10,
    Register::R11,
    Register::R12,
    Register::R13,
    Register::R14,
    Register::R15,
];
const CALLEE_SAVED: [Register; 6] = [Register::RBX, Register::RBP, Register::R12, Register::R13, Register::R14, Register::R15];

fn abs(addr: u64) -> MemoryOperand {
    MemoryOperand::with_displ(addr, 4)
}

fn assemble(page: &mut [u8; 4096], at: u64, insns: &[Instruction]) {
    let mut enc = Encoder::new(64);
    let mut ip = at;
    for i in insns {
        let n = enc.encode(i, ip).unwrap_or_else(|e| panic!("stub instruction {i:?}: {e}"));
        ip += n as u64;
    }
    let bytes = enc.take_buffer();
    let off = (at - CODE) as usize;
    page[off..off + bytes.len()].copy_from_slice(&bytes);
}

fn i1(code: Code, r: Register) -> Instruction {
    Instruction::with1(code, r).expect("valid stub instruction")
}

fn restore_host(out: &mut Vec<Instruction>) {
    out.push(Instruction::with2(Code::Mov_r64_rm64, Register::RSP, abs(HOST_RSP)).unwrap());
    out.push(Instruction::with1(Code::Fxrstor64_m512byte, abs(HOST_FX)).unwrap());
    // The ABI wants DF clear on return; the guest may have set it.
    out.push(Instruction::with(Code::Cld));
    for r in CALLEE_SAVED.iter().rev() {
        out.push(i1(Code::Pop_r64, *r));
    }
    out.push(Instruction::with(Code::Retnq));
}

/// Bytes of an exit point at `at`: record `at` as the final RIP and jump to
/// the exit stub. Touches no register or flag.
pub fn exit_point(at: u64) -> [u8; EXIT_POINT_LEN] {
    let mut b = [0u8; EXIT_POINT_LEN];
    // mov qword ptr [OUT_RIP], imm32 (sign-extended; `at` is below 2 GiB)
    b[..4].copy_from_slice(&[0x48, 0xc7, 0x04, 0x25]);
    b[4..8].copy_from_slice(&(OUT_RIP as u32).to_le_bytes());
    b[8..12].copy_from_slice(&(at as u32).to_le_bytes());
    b[12] = 0xe9;
    let rel = EXIT_STUB.wrapping_sub(at + EXIT_POINT_LEN as u64) as u32;
    b[13..17].copy_from_slice(&rel.to_le_bytes());
    b
}

/// The test region for `code`: the bytes under test, the fall-through exit
/// point, INT3 filler.
pub fn test_region(code: &[u8]) -> [u8; TEST_REGION] {
    assert!(code.len() <= MAX_TEST_BYTES, "test sequence too long");
    let mut r = [0xccu8; TEST_REGION];
    r[..code.len()].copy_from_slice(code);
    let end = TEST_ADDR + code.len() as u64;
    r[code.len()..code.len() + EXIT_POINT_LEN].copy_from_slice(&exit_point(end));
    r
}

pub fn patch(page: &mut [u8; 4096], region: &[u8; TEST_REGION]) {
    let off = (TEST_ADDR - CODE) as usize;
    page[off..off + TEST_REGION].copy_from_slice(region);
}

/// The full code page with stubs and the fixed exit points.
pub fn image() -> Box<[u8; 4096]> {
    let mut page = Box::new([0xccu8; 4096]);

    // Entry: save the host, load the guest state, jump to the test bytes.
    let mut e = Vec::new();
    for r in CALLEE_SAVED {
        e.push(i1(Code::Push_r64, r));
    }
    e.push(Instruction::with2(Code::Mov_rm64_r64, abs(HOST_RSP), Register::RSP).unwrap());
    e.push(Instruction::with1(Code::Fxsave64_m512byte, abs(HOST_FX)).unwrap());
    e.push(Instruction::with1(Code::Fxrstor64_m512byte, abs(IN_FX)).unwrap());
    e.push(Instruction::with2(Code::Mov_rm64_imm32, Register::RSP, IN_FLAGS as i32).unwrap());
    e.push(Instruction::with(Code::Popfq));
    // MOV leaves the guest flags alone.
    e.push(Instruction::with2(Code::Mov_rm64_imm32, abs(IN_GUEST), 1).unwrap());
    for (n, r) in GPRS.iter().enumerate() {
        if *r != Register::RSP {
            e.push(Instruction::with2(Code::Mov_r64_rm64, *r, abs(IN_GPR + 8 * n as u64)).unwrap());
        }
    }
    e.push(Instruction::with2(Code::Mov_r64_rm64, Register::RSP, abs(IN_GPR + 32)).unwrap());
    e.push(Instruction::with_branch(Code::Jmp_rel32_64, TEST_ADDR).unwrap());
    assemble(&mut page, ENTRY_STUB, &e);

    // Exit: store the guest state, restore the host.
    let mut x = Vec::new();
    for (n, r) in GPRS.iter().enumerate() {
        x.push(Instruction::with2(Code::Mov_rm64_r64, abs(OUT_GPR + 8 * n as u64), *r).unwrap());
    }
    x.push(Instruction::with2(Code::Mov_rm64_imm32, abs(IN_GUEST), 0).unwrap());
    x.push(Instruction::with2(Code::Mov_rm64_imm32, Register::RSP, SCRATCH_TOP as i32).unwrap());
    x.push(Instruction::with(Code::Pushfq));
    x.push(i1(Code::Pop_r64, Register::RAX));
    x.push(Instruction::with2(Code::Mov_rm64_r64, abs(OUT_FLAGS), Register::RAX).unwrap());
    x.push(Instruction::with1(Code::Fxsave64_m512byte, abs(OUT_FX)).unwrap());
    restore_host(&mut x);
    assemble(&mut page, EXIT_STUB, &x);

    // Restore: where the signal handler sends a faulting guest.
    let mut r = Vec::new();
    r.push(Instruction::with2(Code::Mov_rm64_imm32, abs(IN_GUEST), 0).unwrap());
    restore_host(&mut r);
    assemble(&mut page, RESTORE_STUB, &r);

    for at in [EXIT_BACK, EXIT_FWD] {
        let off = (at - CODE) as usize;
        page[off..off + EXIT_POINT_LEN].copy_from_slice(&exit_point(at));
    }
    patch(&mut page, &test_region(&[]));
    page
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_x86::{Decoder, DecoderOptions};

    #[test]
    fn exit_point_decodes_as_intended() {
        let b = exit_point(EXIT_FWD);
        let mut d = Decoder::with_ip(64, &b, EXIT_FWD, DecoderOptions::NONE);
        let mov = d.decode();
        assert_eq!(mov.code(), Code::Mov_rm64_imm32);
        assert_eq!(mov.memory_displacement64(), OUT_RIP);
        assert_eq!(mov.immediate32to64() as u64, EXIT_FWD);
        let jmp = d.decode();
        assert_eq!(jmp.near_branch64(), EXIT_STUB);
    }

    #[test]
    fn stubs_fit_their_slots() {
        let page = image();
        // The restore stub must not have overwritten the end of the exit stub
        // and so on: each stub ends with RET (0xc3) before the next starts.
        let ends = |from: u64, to: u64| page[(from - CODE) as usize..(to - CODE) as usize].contains(&0xc3);
        assert!(ends(EXIT_STUB, RESTORE_STUB));
        assert!(ends(RESTORE_STUB, RESTORE_STUB + 0x40));
        assert!(page[(EXIT_STUB - CODE - 1) as usize] == 0xcc, "entry stub overflows into the exit stub");
    }
}
