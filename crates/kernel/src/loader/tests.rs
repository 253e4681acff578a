use super::elf::*;
use super::stack::*;
use super::*;
use crate::mm::UserSpace;

/// A minimal ELF64 executable: header, program headers, then `code` in
/// one RX segment at `vaddr`, plus an RW segment with `data` and `bss`
/// zero bytes after it.
pub(crate) fn build_elf(e_type: u16, vaddr: u64, code: &[u8], data: &[u8], bss: u64, extra: &[(u32, u32, &[u8])]) -> Vec<u8> {
    let nph = 2 + extra.len();
    let hdr_len = 64 + nph * 56;
    let code_off = hdr_len;
    let data_off = (code_off + code.len() + 0xfff) & !0xfff;
    let mut extra_off = data_off + data.len();
    let mut f = vec![0u8; data_off + data.len()];
    f[..4].copy_from_slice(b"\x7fELF");
    f[4] = 2;
    f[5] = 1;
    f[6] = 1;
    f[16..18].copy_from_slice(&e_type.to_le_bytes());
    f[18..20].copy_from_slice(&EM_X86_64.to_le_bytes());
    f[20..24].copy_from_slice(&1u32.to_le_bytes());
    f[24..32].copy_from_slice(&(vaddr + code_off as u64).to_le_bytes());
    f[32..40].copy_from_slice(&64u64.to_le_bytes());
    f[52..54].copy_from_slice(&64u16.to_le_bytes());
    f[54..56].copy_from_slice(&56u16.to_le_bytes());
    f[56..58].copy_from_slice(&(nph as u16).to_le_bytes());
    let mut ph = |i: usize, ty: u32, flags: u32, off: u64, va: u64, filesz: u64, memsz: u64| {
        let o = 64 + i * 56;
        f[o..o + 4].copy_from_slice(&ty.to_le_bytes());
        f[o + 4..o + 8].copy_from_slice(&flags.to_le_bytes());
        f[o + 8..o + 16].copy_from_slice(&off.to_le_bytes());
        f[o + 16..o + 24].copy_from_slice(&va.to_le_bytes());
        f[o + 24..o + 32].copy_from_slice(&va.to_le_bytes());
        f[o + 32..o + 40].copy_from_slice(&filesz.to_le_bytes());
        f[o + 40..o + 48].copy_from_slice(&memsz.to_le_bytes());
        f[o + 48..o + 56].copy_from_slice(&0x1000u64.to_le_bytes());
    };
    let code_end = (code_off + code.len()) as u64;
    ph(0, PT_LOAD, PF_R | PF_X, 0, vaddr, code_end, code_end);
    let dva = vaddr + data_off as u64;
    ph(1, PT_LOAD, PF_R | PF_W, data_off as u64, dva, data.len() as u64, data.len() as u64 + bss);
    let mut tails = Vec::new();
    for (i, (ty, flags, bytes)) in extra.iter().enumerate() {
        ph(2 + i, *ty, *flags, extra_off as u64, 0, bytes.len() as u64, bytes.len() as u64);
        extra_off += bytes.len();
        tails.extend_from_slice(bytes);
    }
    f[code_off..code_off + code.len()].copy_from_slice(code);
    f[data_off..data_off + data.len()].copy_from_slice(data);
    f.extend_from_slice(&tails);
    f
}

fn params<'a>(image: &'a [u8], argv: &'a [Vec<u8>], envp: &'a [Vec<u8>]) -> ExecParams<'a> {
    ExecParams {
        image,
        interp: None,
        argv,
        envp,
        execfn: b"/bin/test",
        creds: Creds { uid: 1000, euid: 1000, gid: 100, egid: 100 },
        random: [7; 16],
    }
}

fn read_u64(us: &mut UserSpace, a: u64) -> u64 {
    us.read_val::<u64>(a).unwrap()
}

#[test]
fn loads_static_executable_and_stack() {
    let code = [0x90u8, 0x0f, 0x05];
    let img = build_elf(ET_EXEC, 0x40_0000, &code, b"DATA", 0x3000, &[]);
    let argv = vec![b"prog".to_vec(), b"arg1".to_vec()];
    let envp = vec![b"A=1".to_vec()];
    let mut mem = Memory::new();
    let mut mm = Mm::new();
    let l = exec(&mut mm, &mut mem, &params(&img, &argv, &envp)).unwrap();
    assert_eq!(l.bias, 0);
    assert_eq!(l.entry, 0x40_0000 + 64 + 2 * 56);
    assert_eq!(l.sp % 16, 0);
    let data_va = 0x40_1000;
    // bss: 4 data bytes, then 0x3000 zero bytes; brk after it, page-aligned.
    assert_eq!(l.brk, 0x40_5000);
    assert_eq!(mm.brk(), 0x40_5000);
    let text = mm.vmas().find(0x40_0000).unwrap();
    assert_eq!(text.prot, VmProt::READ | VmProt::EXEC);
    assert_eq!(mm.vmas().find(data_va).unwrap().prot, VmProt::RW);
    let mut us = mm.user(&mut mem);
    let mut buf = [0u8; 3];
    us.read_bytes(l.entry, &mut buf).unwrap();
    assert_eq!(buf, code);
    assert_eq!(us.read_val::<u32>(data_va).unwrap(), u32::from_le_bytes(*b"DATA"));
    assert_eq!(us.read_val::<u64>(data_va + 4).unwrap(), 0, "partial bss page is zero");
    assert_eq!(us.read_val::<u64>(data_va + 0x2ff0).unwrap(), 0);
    // Text is read-only to the guest.
    assert_eq!(us.write_val(0x40_0000, &0u8), Err(crate::errno::Errno::EFAULT));

    // argc, argv, envp, auxv.
    let sp = l.sp;
    assert_eq!(read_u64(&mut us, sp), 2);
    let a0 = read_u64(&mut us, sp + 8);
    assert_eq!(us.read_cstring(a0, 100).unwrap(), b"prog");
    let a1 = read_u64(&mut us, sp + 16);
    assert_eq!(us.read_cstring(a1, 100).unwrap(), b"arg1");
    assert_eq!(read_u64(&mut us, sp + 24), 0);
    let e0 = read_u64(&mut us, sp + 32);
    assert_eq!(us.read_cstring(e0, 100).unwrap(), b"A=1");
    assert_eq!(read_u64(&mut us, sp + 40), 0);
    let mut aux = std::collections::HashMap::new();
    let mut p = sp + 48;
    loop {
        let (k, v) = (read_u64(&mut us, p), read_u64(&mut us, p + 8));
        if k == AT_NULL {
            break;
        }
        assert!(aux.insert(k, v).is_none(), "duplicate auxv key {k}");
        p += 16;
    }
    assert_eq!(aux[&AT_PAGESZ], 4096);
    assert_eq!(aux[&AT_ENTRY], l.entry);
    assert_eq!(aux[&AT_PHNUM], 2);
    assert_eq!(aux[&AT_PHENT], 56);
    assert_eq!(aux[&AT_PHDR], 0x40_0040);
    assert_eq!(us.read_val::<u32>(aux[&AT_PHDR]).unwrap(), PT_LOAD);
    assert_eq!(aux[&AT_UID], 1000);
    assert_eq!(aux[&AT_EGID], 100);
    assert_eq!(aux[&AT_CLKTCK], 100);
    assert_eq!(aux[&AT_BASE], 0);
    assert_ne!(aux[&AT_HWCAP] & (1 << 26), 0, "SSE2 in AT_HWCAP");
    let mut rnd = [0u8; 16];
    us.read_bytes(aux[&AT_RANDOM], &mut rnd).unwrap();
    assert_eq!(rnd, [7; 16]);
    assert_eq!(us.read_cstring(aux[&AT_PLATFORM], 100).unwrap(), b"x86_64");
    assert_eq!(us.read_cstring(aux[&AT_EXECFN], 100).unwrap(), b"/bin/test");
    assert_eq!(aux[&AT_EXECFN], STACK_TOP - 8 - 10, "execfn is the topmost string");
}

#[test]
fn static_pie_is_biased() {
    let img = build_elf(ET_DYN, 0, &[0xc3], b"", 0, &[]);
    let mut mem = Memory::new();
    let mut mm = Mm::new();
    let l = exec(&mut mm, &mut mem, &params(&img, &[b"x".to_vec()], &[])).unwrap();
    assert_eq!(l.bias, ET_DYN_BASE);
    assert_eq!(l.entry, ET_DYN_BASE + 64 + 2 * 56);
    assert_eq!(mm.user(&mut mem).read_val::<u8>(l.entry).unwrap(), 0xc3);
}

#[test]
fn segments_sharing_a_page() {
    // Old-style layout: data directly after text, on the same page.
    let code = [0xc3u8; 16];
    let mut img = build_elf(ET_EXEC, 0x40_0000, &code, b"", 0, &[]);
    let code_end = (64 + 2 * 56 + code.len()) as u64;
    img.extend_from_slice(&[0; 64]);
    img[code_end as usize..code_end as usize + 4].copy_from_slice(b"DATA");
    let ph1 = 64 + 56;
    img[ph1 + 8..ph1 + 16].copy_from_slice(&code_end.to_le_bytes());
    img[ph1 + 16..ph1 + 24].copy_from_slice(&(0x40_0000 + code_end).to_le_bytes());
    img[ph1 + 32..ph1 + 40].copy_from_slice(&4u64.to_le_bytes());
    img[ph1 + 40..ph1 + 48].copy_from_slice(&0x2000u64.to_le_bytes());
    let mut mem = Memory::new();
    let mut mm = Mm::new();
    let l = exec(&mut mm, &mut mem, &params(&img, &[], &[])).unwrap();
    assert_eq!(mm.vmas().find(0x40_0000).unwrap().prot, VmProt::READ | VmProt::WRITE | VmProt::EXEC, "shared page gets both");
    assert_eq!(mm.vmas().find(0x40_1000).unwrap().prot, VmProt::RW);
    assert_eq!(l.brk, 0x40_3000);
    let mut us = mm.user(&mut mem);
    assert_eq!(us.read_val::<u8>(l.entry).unwrap(), 0xc3, "text survives the data segment");
    assert_eq!(us.read_val::<u32>(0x40_0000 + code_end).unwrap(), u32::from_le_bytes(*b"DATA"));
    assert_eq!(us.read_val::<u32>(0x40_0000 + code_end + 4).unwrap(), 0, "bss after data is zero");
}

#[test]
fn empty_segment_is_skipped() {
    let mut img = build_elf(ET_EXEC, 0x40_0000, &[0xc3], b"", 0, &[]);
    // The data segment: no bytes in the file or memory.
    let ph1 = 64 + 56;
    img[ph1 + 40..ph1 + 48].copy_from_slice(&0u64.to_le_bytes());
    let mut mem = Memory::new();
    let mut mm = Mm::new();
    let l = exec(&mut mm, &mut mem, &params(&img, &[], &[])).unwrap();
    assert_eq!(l.brk, 0x40_1000);
}

#[test]
fn interpreter_is_reported() {
    let img = build_elf(ET_DYN, 0, &[0xc3], b"", 0, &[(PT_INTERP, PF_R, b"/lib64/ld-linux-x86-64.so.2\0")]);
    let mut mem = Memory::new();
    let mut mm = Mm::new();
    let e = exec(&mut mm, &mut mem, &params(&img, &[], &[])).unwrap_err();
    assert_eq!(e, ExecError::NeedsInterpreter("/lib64/ld-linux-x86-64.so.2".into()));
    assert!(e.to_string().contains("dynamic executables need the Linux personality issue"));
}

#[test]
fn gnu_stack_controls_stack_exec() {
    let img = build_elf(ET_EXEC, 0x40_0000, &[0xc3], b"", 0, &[(PT_GNU_STACK, PF_R | PF_W | PF_X, b"")]);
    let mut mem = Memory::new();
    let mut mm = Mm::new();
    exec(&mut mm, &mut mem, &params(&img, &[], &[])).unwrap();
    assert!(mm.vmas().find(STACK_TOP - 1).unwrap().prot.contains(VmProt::EXEC));
    let img = build_elf(ET_EXEC, 0x40_0000, &[0xc3], b"", 0, &[]);
    let mut mm = Mm::new();
    exec(&mut mm, &mut mem, &params(&img, &[], &[])).unwrap();
    assert!(!mm.vmas().find(STACK_TOP - 1).unwrap().prot.contains(VmProt::EXEC));
}

#[test]
fn rejects_bad_files_with_enoexec() {
    use crate::errno::Errno;
    let good = build_elf(ET_EXEC, 0x40_0000, &[0xc3], b"x", 0, &[]);
    let run = |img: &[u8]| {
        let mut mem = Memory::new();
        let mut mm = Mm::new();
        exec(&mut mm, &mut mem, &params(img, &[], &[])).map(|_| ())
    };
    assert!(run(&good).is_ok());
    assert_eq!(run(b"#!/bin/sh\n").unwrap_err(), ExecError::NotElf);
    let mut bad = good.clone();
    bad[4] = 1;
    assert_eq!(run(&bad).unwrap_err().errno(), Errno::ENOEXEC);
    let mut bad = good.clone();
    bad[18] = 3; // EM_386
    assert_eq!(run(&bad).unwrap_err().errno(), Errno::ENOEXEC);
    let mut bad = good.clone();
    bad[16] = 1; // ET_REL
    assert!(matches!(run(&bad).unwrap_err(), ExecError::Unsupported(_)));
    // filesz > memsz.
    let mut bad = good.clone();
    bad[64 + 56 + 40..64 + 56 + 48].copy_from_slice(&0u64.to_le_bytes());
    assert_eq!(run(&bad).unwrap_err().errno(), Errno::EINVAL);
    // Program headers past the end of the file.
    let mut bad = good.clone();
    bad[32..40].copy_from_slice(&(good.len() as u64 - 8).to_le_bytes());
    assert!(matches!(run(&bad).unwrap_err(), ExecError::Malformed(_)));
    // Segment at page zero.
    let low = build_elf(ET_EXEC, 0, &[0xc3], b"", 0, &[]);
    assert_eq!(run(&low).unwrap_err().errno(), Errno::EINVAL);
}

/// A deterministic xorshift generator for the fuzz-style test.
fn rng(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn truncated_and_corrupted_files_never_panic() {
    let good = build_elf(ET_EXEC, 0x40_0000, &[0x0f, 0x05, 0xc3], b"hello", 0x2000, &[(PT_GNU_STACK, PF_R | PF_W, b"")]);
    let header_len = 64 + 3 * 56;
    let mut mem = Memory::new();
    let mut try_load = |img: &[u8]| {
        let mut mm = Mm::new();
        let r = exec(&mut mm, &mut mem, &params(img, &[b"a".to_vec()], &[]));
        mm.clear(&mut mem);
        r.is_ok()
    };
    for len in 0..good.len() {
        let ok = try_load(&good[..len]);
        // Cutting into the headers or the segment data is always an error.
        assert!(!ok || len >= good.len(), "truncated to {len} bytes loaded");
    }
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    let mut loaded = 0;
    for _ in 0..3000 {
        let mut img = good.clone();
        for _ in 0..1 + rng(&mut seed) % 4 {
            let pos = (rng(&mut seed) % header_len as u64) as usize;
            img[pos] = match rng(&mut seed) % 3 {
                0 => rng(&mut seed) as u8,
                1 => 0xff,
                _ => 0,
            };
        }
        loaded += try_load(&img) as u32;
    }
    // Some corruptions (of unused fields) still load: the test exercises
    // both paths.
    assert!(loaded > 0 && loaded < 3000, "{loaded} of 3000 corrupted files loaded");
    assert_eq!(mem.phys.frames_in_use(), 0, "every frame released");
}

/// The auxiliary vector of the stack at `sp` (argc first).
fn auxv(us: &mut UserSpace, sp: u64) -> std::collections::HashMap<u64, u64> {
    let argc = read_u64(us, sp);
    let mut p = sp + 8 * (argc + 2);
    while read_u64(us, p) != 0 {
        p += 8;
    }
    p += 8;
    let mut m = std::collections::HashMap::new();
    loop {
        let (k, v) = (read_u64(us, p), read_u64(us, p + 8));
        if k == AT_NULL {
            return m;
        }
        m.insert(k, v);
        p += 16;
    }
}

#[test]
fn interpreter_is_loaded_and_started() {
    let img = build_elf(ET_DYN, 0, &[0xc3], b"", 0, &[(PT_INTERP, PF_R, b"/lib64/ld-linux-x86-64.so.2\0")]);
    let interp = build_elf(ET_DYN, 0, &[0x90, 0xc3], b"data", 100, &[]);
    let mut mem = Memory::new();
    let mut mm = Mm::new();
    let argv = [b"prog".to_vec()];
    let p = ExecParams { interp: Some(&interp), ..params(&img, &argv, &[]) };
    let l = exec(&mut mm, &mut mem, &p).unwrap();
    let code_off = 64 + 3 * 56;
    let interp_code_off = 64 + 2 * 56;
    let mut us = mm.user(&mut mem);
    let aux = auxv(&mut us, l.sp);
    let base = aux[&AT_BASE];
    assert!(base != 0 && base.is_multiple_of(PAGE) && base < crate::mm::MMAP_BASE, "base {base:#x}");
    assert_eq!(aux[&AT_ENTRY], ET_DYN_BASE + code_off, "AT_ENTRY is the program's entry");
    assert_eq!(l.entry, base + interp_code_off, "execution starts in the interpreter");
    assert_eq!(us.read_val::<u16>(l.entry).unwrap(), 0xc390);
    assert_eq!(aux[&AT_PHDR], ET_DYN_BASE + 64);
    // The interpreter sits just below the mmap base, as Linux puts it.
    let span = 0x2000;
    assert_eq!(base, crate::mm::MMAP_BASE - span);
    let bad = build_elf(ET_EXEC, 0x40_0000, &[0xc3], b"", 0, &[]);
    let p = ExecParams { interp: Some(&bad), ..params(&img, &[], &[]) };
    let e = exec(&mut Mm::new(), &mut Memory::new(), &p).unwrap_err();
    assert!(matches!(e, ExecError::BadInterpreter(_)), "{e:?}");
    assert_eq!(e.errno(), crate::Errno::ELIBBAD);
}
