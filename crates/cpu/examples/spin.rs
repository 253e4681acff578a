//! A quick interpreter speed probe: a tight integer loop, timed.
//! `cargo run --release -p oxvm-cpu --example spin`

use oxvm_cpu::{run, AddressSpace, Bus, CpuState, Exit, Memory, Prot};

fn main() {
    let iters: u32 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(50_000_000);
    let mut code = vec![0xb9];
    code.extend_from_slice(&iters.to_le_bytes()); // mov ecx, iters
    code.extend_from_slice(&[
        0x48, 0x01, 0xc8, // add rax, rcx
        0x48, 0x31, 0xc2, // xor rdx, rax
        0x48, 0x89, 0x04, 0x24, // mov [rsp], rax
        0x48, 0x8b, 0x1c, 0x24, // mov rbx, [rsp]
        0x48, 0xff, 0xc9, // dec rcx
        0x75, 0xee, // jnz -18
        0xcc, // int3
    ]);
    let mut mem = Memory::new();
    let mut space = AddressSpace::new();
    let f = mem.phys.alloc();
    mem.phys.bytes_mut(f)[..code.len()].copy_from_slice(&code);
    space.map(&mut mem.phys, 0x40_0000, f, Prot::RX);
    let s = mem.phys.alloc();
    space.map(&mut mem.phys, 0x7000_0000, s, Prot::RW);
    let mut cpu = CpuState { rip: 0x40_0000, ..Default::default() };
    cpu.gpr[4] = 0x7000_0800;
    let mut bus = Bus::new(&mut space, &mut mem);
    let start = std::time::Instant::now();
    let mut total = 0;
    loop {
        let (exit, n) = run(&mut cpu, &mut bus, 10_000_000);
        total += n;
        if exit != Exit::Budget {
            println!("exit {exit:?}");
            break;
        }
    }
    let t = start.elapsed().as_secs_f64();
    println!(
        "{total} instructions in {t:.3}s: {:.1} M/s, {:.2} ns/insn; rax={:#x}",
        total as f64 / t / 1e6,
        t * 1e9 / total as f64,
        cpu.gpr[0]
    );
}
