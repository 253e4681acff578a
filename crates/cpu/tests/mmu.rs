//! Soft-MMU and code-cache behaviour: permissions, precise faults,
//! copy-on-write after fork, and self-modifying code.

use oxvm_cpu::{run, Access, AddressSpace, Bus, CpuState, Exit, Fault, Memory, Prot};

const CODE: u64 = 0x40_0000;
const DATA: u64 = 0x60_0000;

fn setup(code: &[u8], code_prot: Prot) -> (Memory, AddressSpace, CpuState) {
    let mut mem = Memory::new();
    let mut space = AddressSpace::new();
    for page in 0..2 {
        let f = mem.phys.alloc();
        space.map(&mut mem.phys, CODE + page * 4096, f, code_prot);
    }
    let f = mem.phys.alloc();
    space.map(&mut mem.phys, DATA, f, Prot::RW);
    {
        let mut bus = Bus::new(&mut space, &mut mem);
        // Write through a temporarily writable view.
        bus.space.protect(CODE, Prot::RWX);
        bus.space.protect(CODE + 4096, Prot::RWX);
        bus.write_bytes(CODE, code).unwrap();
        bus.space.protect(CODE, code_prot);
        bus.space.protect(CODE + 4096, code_prot);
    }
    let cpu = CpuState { rip: CODE, ..Default::default() };
    (mem, space, cpu)
}

#[test]
fn write_to_read_only_page_faults_precisely() {
    // mov qword [rax], rbx ; int3
    let (mut mem, mut space, mut cpu) = setup(&[0x48, 0x89, 0x18, 0xcc], Prot::RX);
    space.protect(DATA, Prot::READ);
    cpu.gpr[0] = DATA + 8;
    cpu.gpr[3] = 0x1234;
    let mut bus = Bus::new(&mut space, &mut mem);
    let (exit, n) = run(&mut cpu, &mut bus, 10);
    assert_eq!(exit, Exit::Fault(Fault::Page { addr: DATA + 8, access: Access::Write, present: true }));
    assert_eq!(n, 0);
    assert_eq!(cpu.rip, CODE, "RIP stays on the faulting instruction");
    assert_eq!(bus.read_u64(DATA + 8).unwrap(), 0);
}

#[test]
fn unmapped_and_non_canonical_accesses() {
    // mov rbx, qword [rax] ; int3
    let (mut mem, mut space, mut cpu) = setup(&[0x48, 0x8b, 0x18, 0xcc], Prot::RX);
    cpu.gpr[0] = 0x7000_0000;
    let mut bus = Bus::new(&mut space, &mut mem);
    let (exit, _) = run(&mut cpu, &mut bus, 10);
    assert_eq!(exit, Exit::Fault(Fault::Page { addr: 0x7000_0000, access: Access::Read, present: false }));
    cpu.gpr[0] = 0x8000_0000_0000_0000;
    let (exit, _) = run(&mut cpu, &mut bus, 10);
    assert_eq!(exit, Exit::Fault(Fault::GeneralProtection));
}

#[test]
fn executing_non_executable_memory_faults() {
    let (mut mem, mut space, mut cpu) = setup(&[0x90, 0xcc], Prot::RW);
    let mut bus = Bus::new(&mut space, &mut mem);
    let (exit, _) = run(&mut cpu, &mut bus, 10);
    assert_eq!(exit, Exit::Fault(Fault::Page { addr: CODE, access: Access::Exec, present: true }));
}

#[test]
fn access_straddling_pages_checks_both() {
    // mov qword [rax], rbx with rax = DATA + 4092: the next page is unmapped,
    // so nothing may be written to the first page either.
    let (mut mem, mut space, mut cpu) = setup(&[0x48, 0x89, 0x18, 0xcc], Prot::RX);
    cpu.gpr[0] = DATA + 4092;
    cpu.gpr[3] = u64::MAX;
    let mut bus = Bus::new(&mut space, &mut mem);
    let (exit, _) = run(&mut cpu, &mut bus, 10);
    assert_eq!(exit, Exit::Fault(Fault::Page { addr: DATA + 4096, access: Access::Write, present: false }));
    assert_eq!(bus.read_u32(DATA + 4092).unwrap(), 0);
}

#[test]
fn fork_is_copy_on_write() {
    // mov qword [rax], rbx ; int3
    let (mut mem, mut parent, mut cpu) = setup(&[0x48, 0x89, 0x18, 0xcc], Prot::RX);
    Bus::new(&mut parent, &mut mem).write_u64(DATA, 7).unwrap();
    let mut child = parent.fork(&mut mem.phys);
    cpu.gpr[0] = DATA;
    cpu.gpr[3] = 99;
    let mut child_cpu = cpu.clone();
    let (exit, _) = run(&mut child_cpu, &mut Bus::new(&mut child, &mut mem), 10);
    assert_eq!(exit, Exit::Fault(Fault::Breakpoint));
    assert_eq!(Bus::new(&mut child, &mut mem).read_u64(DATA).unwrap(), 99);
    assert_eq!(Bus::new(&mut parent, &mut mem).read_u64(DATA).unwrap(), 7, "the parent keeps its copy");
    // The parent's own write goes to its (now unshared) frame.
    cpu.gpr[3] = 5;
    run(&mut cpu, &mut Bus::new(&mut parent, &mut mem), 10);
    assert_eq!(Bus::new(&mut parent, &mut mem).read_u64(DATA).unwrap(), 5);
    assert_eq!(Bus::new(&mut child, &mut mem).read_u64(DATA).unwrap(), 99);
}

#[test]
fn fork_keeps_shared_pages_shared() {
    // mov qword [rax], rbx ; int3
    let (mut mem, mut parent, mut cpu) = setup(&[0x48, 0x89, 0x18, 0xcc], Prot::RX);
    const SHM: u64 = 0x70_0000;
    let f = mem.phys.alloc();
    parent.map_shared(&mut mem.phys, SHM, f, Prot::RW);
    Bus::new(&mut parent, &mut mem).write_u64(SHM, 7).unwrap();
    let mut child = parent.fork(&mut mem.phys);
    assert!(child.lookup(SHM).is_some_and(|m| m.shared && !m.cow));
    cpu.gpr[0] = SHM;
    cpu.gpr[3] = 99;
    let mut child_cpu = cpu.clone();
    let (exit, _) = run(&mut child_cpu, &mut Bus::new(&mut child, &mut mem), 10);
    assert_eq!(exit, Exit::Fault(Fault::Breakpoint));
    assert_eq!(Bus::new(&mut parent, &mut mem).read_u64(SHM).unwrap(), 99, "the parent sees the child's write");
    cpu.gpr[3] = 5;
    run(&mut cpu, &mut Bus::new(&mut parent, &mut mem), 10);
    assert_eq!(Bus::new(&mut child, &mut mem).read_u64(SHM).unwrap(), 5, "and the child the parent's");
    assert_eq!(mem.phys.refs(f), 2);
    child.clear(&mut mem.phys);
    assert_eq!(mem.phys.refs(f), 1);
}

#[test]
fn self_modifying_code_is_seen_by_the_next_instruction() {
    // mov byte [rip+1], 0x41 ; (patched) 0x40 -> inc ecx in the byte below
    // Bytes: c6 05 01 00 00 00 XX ; then "ff c1" (inc ecx) patched to "ff c0" (inc eax)?
    // Simpler: patch an immediate. mov byte [rip+disp], 7 targets the imm8 of
    // the following "mov al, 0" (b0 00), then int3.
    let code = [0xc6, 0x05, 0x01, 0x00, 0x00, 0x00, 0x07, 0xb0, 0x00, 0xcc];
    let (mut mem, mut space, mut cpu) = setup(&code, Prot::RWX);
    let mut bus = Bus::new(&mut space, &mut mem);
    let (exit, _) = run(&mut cpu, &mut bus, 10);
    assert_eq!(exit, Exit::Fault(Fault::Breakpoint));
    assert_eq!(cpu.gpr[0] & 0xff, 7, "the patched immediate was executed");
    // Run the block again from the start: it must be re-decoded, not stale.
    cpu.rip = CODE;
    cpu.gpr[0] = 0;
    run(&mut cpu, &mut bus, 10);
    assert_eq!(cpu.gpr[0] & 0xff, 7);
}

#[test]
fn instruction_straddling_a_page_boundary() {
    // Place "mov eax, 0x11223344" (b8 44 33 22 11) across CODE+4096.
    let mut code = vec![0x90; 4094];
    code.extend_from_slice(&[0xb8, 0x44, 0x33, 0x22, 0x11, 0xcc]);
    let (mut mem, mut space, mut cpu) = setup(&code, Prot::RX);
    cpu.rip = CODE + 4094;
    let mut bus = Bus::new(&mut space, &mut mem);
    let (exit, _) = run(&mut cpu, &mut bus, 10);
    assert_eq!(exit, Exit::Fault(Fault::Breakpoint));
    assert_eq!(cpu.gpr[0], 0x11223344);
    // With the second page unmapped, the fetch faults at its first byte.
    bus.space.unmap(&mut bus.mem.phys, CODE + 4096);
    cpu.rip = CODE + 4094;
    let (exit, _) = run(&mut cpu, &mut bus, 10);
    assert_eq!(exit, Exit::Fault(Fault::Page { addr: CODE + 4096, access: Access::Exec, present: false }));
}

#[test]
fn budget_is_exact() {
    // Ten NOPs then a jump back to the start.
    let mut code = vec![0x90; 10];
    code.extend_from_slice(&[0xeb, 0xf4]);
    let (mut mem, mut space, mut cpu) = setup(&code, Prot::RX);
    let mut bus = Bus::new(&mut space, &mut mem);
    let (exit, n) = run(&mut cpu, &mut bus, 25);
    assert_eq!((exit, n), (Exit::Budget, 25));
    assert_eq!(cpu.rip, CODE + 3, "two full loops of 11, then 3 NOPs");
}

#[test]
fn a_freed_code_frame_reused_for_new_code_is_not_stale() {
    // mov al, 1 ; int3
    let (mut mem, mut space, mut cpu) = setup(&[0xb0, 0x01, 0xcc], Prot::RX);
    run(&mut cpu, &mut Bus::new(&mut space, &mut mem), 10);
    assert_eq!(cpu.gpr[0], 1);
    // Unmap the code page; map a fresh frame (the allocator hands back the
    // same one) with different code at the same address.
    space.unmap(&mut mem.phys, CODE);
    let f = mem.phys.alloc();
    mem.phys.bytes_mut(f)[..3].copy_from_slice(&[0xb0, 0x02, 0xcc]);
    space.map(&mut mem.phys, CODE, f, Prot::RX);
    cpu.rip = CODE;
    run(&mut cpu, &mut Bus::new(&mut space, &mut mem), 10);
    assert_eq!(cpu.gpr[0], 2);
}

#[test]
fn rep_movs_and_stos_bulk_paths_match_element_semantics() {
    // rep movsq ; int3  /  rep movsb ; int3  /  rep stosd ; int3
    for (code, size) in [(&[0xf3, 0x48, 0xa5, 0xcc][..], 8usize), (&[0xf3, 0xa4, 0xcc][..], 1), (&[0xf3, 0xab, 0xcc][..], 4)] {
        for (src_off, dst_off, count) in [(0u64, 4u64, 100u64), (0, 1, 300), (16, 0, 200), (4000, 100, 50), (0, 0, 10)] {
            let (mut mem, mut space, mut cpu) = setup(code, Prot::RX);
            let f = mem.phys.alloc();
            space.map(&mut mem.phys, DATA + 4096, f, Prot::RW);
            let mut bus = Bus::new(&mut space, &mut mem);
            let init: Vec<u8> = (0..8192u32).map(|k| (k * 7 + 3) as u8).collect();
            bus.write_bytes(DATA, &init).unwrap();
            cpu.gpr[6] = DATA + src_off;
            cpu.gpr[7] = DATA + dst_off;
            cpu.gpr[1] = count;
            cpu.gpr[0] = 0x1122_3344_5566_7788;
            let (exit, _) = run(&mut cpu, &mut bus, 100);
            assert_eq!(exit, Exit::Fault(Fault::Breakpoint));
            // Reference: element by element.
            let mut expect = init.clone();
            let stos = code[1] == 0xab;
            for k in 0..count as usize {
                let elem: Vec<u8> = if stos {
                    0x1122_3344_5566_7788u64.to_le_bytes()[..size].to_vec()
                } else {
                    let s = src_off as usize + k * size;
                    expect[s..s + size].to_vec()
                };
                let d = dst_off as usize + k * size;
                expect[d..d + size].copy_from_slice(&elem);
            }
            let mut got = vec![0u8; 8192];
            bus.read_bytes(DATA, &mut got).unwrap();
            assert!(got == expect, "size {size} src {src_off} dst {dst_off} count {count}");
            assert_eq!(cpu.gpr[1], 0);
            assert_eq!(cpu.gpr[7], DATA + dst_off + count * size as u64);
        }
    }
}

#[test]
fn non_canonical_stack_accesses_raise_stack_fault() {
    const BAD: u64 = 0x8000_0000_0000_0000;
    // (code, register to make non-canonical, expected fault)
    let cases: [(&[u8], usize, Fault); 5] = [
        (&[0x50, 0xcc], 4, Fault::StackFault),                                // push rax (rsp)
        (&[0x48, 0x8b, 0x45, 0x00, 0xcc], 5, Fault::StackFault),              // mov rax, [rbp]
        (&[0x48, 0x8b, 0x03, 0xcc], 3, Fault::GeneralProtection),             // mov rax, [rbx]
        (&[0x36, 0x48, 0x8b, 0x03, 0xcc], 3, Fault::GeneralProtection),       // ss: mov rax, [rbx] (prefix ignored)
        (&[0x64, 0x48, 0x8b, 0x45, 0x00, 0xcc], 5, Fault::GeneralProtection), // mov rax, fs:[rbp]
    ];
    for (code, reg, expected) in cases {
        let (mut mem, mut space, mut cpu) = setup(code, Prot::RX);
        cpu.gpr[reg] = BAD;
        let (exit, _) = run(&mut cpu, &mut Bus::new(&mut space, &mut mem), 10);
        assert_eq!(exit, Exit::Fault(expected), "{code:02x?}");
        assert_eq!(cpu.rip, CODE);
    }
}
