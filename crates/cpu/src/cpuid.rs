//! CPUID: reports exactly the features the engine implements, so programs
//! (glibc's ifunc resolvers in particular) pick code paths oxvm can run.
//! Every bit set here must be covered by the differential tests.

/// Basic leaf 1, EDX.
const EDX1_FPU: u32 = 1 << 0;
const EDX1_TSC: u32 = 1 << 4;
const EDX1_CX8: u32 = 1 << 8;
const EDX1_CMOV: u32 = 1 << 15;
const EDX1_CLFSH: u32 = 1 << 19;
const EDX1_MMX: u32 = 1 << 23;
const EDX1_FXSR: u32 = 1 << 24;
const EDX1_SSE: u32 = 1 << 25;
const EDX1_SSE2: u32 = 1 << 26;
/// Basic leaf 1, ECX.
const ECX1_CX16: u32 = 1 << 13;
/// Extended leaf 0x8000_0001.
const EDX81_SYSCALL: u32 = 1 << 11;
const EDX81_NX: u32 = 1 << 20;
const EDX81_LM: u32 = 1 << 29;
const ECX81_LAHF: u32 = 1 << 0;

const VENDOR: &[u8; 12] = b"GenuineIntel";
const BRAND: &[u8] = b"oxvm x86-64 engine";
/// Family 6, model 0, stepping 0: a family glibc knows, a model it has no
/// per-model tuning quirks for.
const SIGNATURE: u32 = 0x0000_0600;

fn le(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// EAX, EBX, ECX, EDX for CPUID leaf `leaf`, subleaf `sub`.
pub fn cpuid(leaf: u32, sub: u32) -> [u32; 4] {
    match leaf {
        0 => [7, le(&VENDOR[0..4]), le(&VENDOR[8..12]), le(&VENDOR[4..8])],
        1 => [
            SIGNATURE,
            // CLFLUSH line size 8*8 = 64 bytes, one logical processor.
            (8 << 8) | (1 << 16),
            ECX1_CX16,
            EDX1_FPU | EDX1_TSC | EDX1_CX8 | EDX1_CMOV | EDX1_CLFSH | EDX1_MMX | EDX1_FXSR | EDX1_SSE | EDX1_SSE2,
        ],
        // Descriptor 0xFF: "use leaf 4 for cache parameters".
        2 => [0x00ff_0001, 0, 0, 0],
        4 => cache_leaf(sub),
        0x8000_0000 => [0x8000_0008, 0, 0, 0],
        0x8000_0001 => [0, 0, ECX81_LAHF, EDX81_SYSCALL | EDX81_NX | EDX81_LM],
        0x8000_0002..=0x8000_0004 => {
            let mut name = [0u8; 48];
            name[..BRAND.len()].copy_from_slice(BRAND);
            let o = (leaf - 0x8000_0002) as usize * 16;
            [le(&name[o..]), le(&name[o + 4..]), le(&name[o + 8..]), le(&name[o + 12..])]
        }
        // 48-bit physical and virtual addresses.
        0x8000_0008 => [0x3030, 0, 0, 0],
        _ => [0; 4],
    }
}

/// Leaf 4, deterministic cache parameters: 32 KiB L1d/L1i, 1 MiB L2,
/// 8 MiB L3, 64-byte lines. The sizes only steer glibc's memcpy strategy.
fn cache_leaf(sub: u32) -> [u32; 4] {
    // (type: 1 data, 2 instruction, 3 unified; level; ways; sets)
    let (ty, level, ways, sets): (u32, u32, u32, u32) = match sub {
        0 => (1, 1, 8, 64),
        1 => (2, 1, 8, 64),
        2 => (3, 2, 16, 1024),
        3 => (3, 3, 16, 8192),
        _ => return [0; 4],
    };
    let eax = ty | (level << 5) | (1 << 8);
    let ebx = 63 | ((ways - 1) << 22);
    [eax, ebx, sets - 1, 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_and_baseline_features() {
        let r = cpuid(0, 0);
        let mut v = Vec::new();
        for x in [r[1], r[3], r[2]] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        assert_eq!(&v, VENDOR);
        let f = cpuid(1, 0);
        // Exactly the implemented features: bits 0, 4, 8, 15, 19, 23
        // (MMX, which glibc's x86-64 baseline ISA level requires with
        // CMOV, CX8, FPU, FXSR, SSE and SSE2), 24, 25, 26.
        assert_eq!(f[3], (1 << 0) | (1 << 4) | (1 << 8) | (1 << 15) | (1 << 19) | (1 << 23) | (1 << 24) | (1 << 25) | (1 << 26));
        // Nothing beyond what is implemented: no SSE3, SSSE3, SSE4, AVX, etc.
        assert_eq!(f[2] & !ECX1_CX16, 0);
        assert_eq!(cpuid(7, 0), [0; 4]);
    }

    #[test]
    fn cache_sizes() {
        let l1 = cache_leaf(0);
        let size = ((l1[1] >> 22) + 1) * ((l1[1] & 0xfff) + 1) * (l1[2] + 1);
        assert_eq!(size, 32 * 1024);
    }
}
