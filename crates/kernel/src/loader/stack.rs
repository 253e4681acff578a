//! The initial process stack, laid out exactly as Linux's
//! create_elf_tables() builds it. From the top down:
//!
//! ```text
//! STACK_TOP   8 zero bytes
//!             execfn string, environment strings, argument strings
//!             (aligned down to 16)
//!             "x86_64\0" (AT_PLATFORM), 16 random bytes (AT_RANDOM)
//!             (aligned so that the final RSP is 16-byte aligned)
//!             auxv pairs ending with AT_NULL
//!             NULL, envp[envc-1] .. envp[0]
//!             NULL, argv[argc-1] .. argv[0]
//! RSP ->      argc
//! ```

use crate::mm::{UserSpace, STACK_SIZE, STACK_TOP};

use super::elf::ExecError;

pub const AT_NULL: u64 = 0;
pub const AT_PHDR: u64 = 3;
pub const AT_PHENT: u64 = 4;
pub const AT_PHNUM: u64 = 5;
pub const AT_PAGESZ: u64 = 6;
pub const AT_BASE: u64 = 7;
pub const AT_FLAGS: u64 = 8;
pub const AT_ENTRY: u64 = 9;
pub const AT_UID: u64 = 11;
pub const AT_EUID: u64 = 12;
pub const AT_GID: u64 = 13;
pub const AT_EGID: u64 = 14;
pub const AT_PLATFORM: u64 = 15;
pub const AT_HWCAP: u64 = 16;
pub const AT_CLKTCK: u64 = 17;
pub const AT_SECURE: u64 = 23;
pub const AT_RANDOM: u64 = 25;
pub const AT_EXECFN: u64 = 31;

/// Everything the auxiliary vector reports besides the stack's own strings.
#[derive(Clone, Debug, Default)]
pub struct AuxInfo {
    pub phdr: u64,
    pub phent: u64,
    pub phnum: u64,
    /// Load address of the interpreter (0 for static executables).
    pub base: u64,
    pub entry: u64,
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
    pub hwcap: u64,
    pub random: [u8; 16],
}

/// What ends up on the initial stack.
pub struct StackArgs<'a> {
    pub argv: &'a [Vec<u8>],
    pub envp: &'a [Vec<u8>],
    pub execfn: &'a [u8],
}

/// Linux refuses argument + environment strings beyond a quarter of the
/// stack limit.
const MAX_ARG_BYTES: u64 = STACK_SIZE / 4;

/// Write the initial stack; returns the initial RSP (pointing at argc).
pub fn build(us: &mut UserSpace, args: &StackArgs, aux: &AuxInfo) -> Result<u64, ExecError> {
    let strings: u64 = args.argv.iter().chain(args.envp).map(|s| s.len() as u64 + 1 + 8).sum::<u64>() + args.execfn.len() as u64 + 1;
    if strings > MAX_ARG_BYTES {
        return Err(ExecError::TooBig);
    }
    let mut sp = STACK_TOP - 8;
    let push = |us: &mut UserSpace, sp: &mut u64, s: &[u8]| -> Result<u64, ExecError> {
        *sp -= s.len() as u64 + 1;
        us.write_bytes(*sp, s).map_err(|_| ExecError::NoMemory)?;
        us.write_bytes(*sp + s.len() as u64, &[0]).map_err(|_| ExecError::NoMemory)?;
        Ok(*sp)
    };
    let execfn = push(us, &mut sp, args.execfn)?;
    // Pushed last-first so that argv[0]'s string is lowest, as Linux
    // copies them.
    let mut envp = args.envp.iter().rev().map(|s| push(us, &mut sp, s)).collect::<Result<Vec<_>, _>>()?;
    envp.reverse();
    let mut argv = args.argv.iter().rev().map(|s| push(us, &mut sp, s)).collect::<Result<Vec<_>, _>>()?;
    argv.reverse();
    sp &= !0xf;
    let platform = push(us, &mut sp, b"x86_64")?;
    sp -= 16;
    let random = sp;
    us.write_bytes(random, &aux.random).map_err(|_| ExecError::NoMemory)?;

    let auxv: [(u64, u64); 18] = [
        (AT_HWCAP, aux.hwcap),
        (AT_PAGESZ, 4096),
        (AT_CLKTCK, 100),
        (AT_PHDR, aux.phdr),
        (AT_PHENT, aux.phent),
        (AT_PHNUM, aux.phnum),
        (AT_BASE, aux.base),
        (AT_FLAGS, 0),
        (AT_ENTRY, aux.entry),
        (AT_UID, aux.uid as u64),
        (AT_EUID, aux.euid as u64),
        (AT_GID, aux.gid as u64),
        (AT_EGID, aux.egid as u64),
        // Set-id programs run in glibc's secure mode (LD_PRELOAD and the
        // like ignored): the ids the exec gave differ from the real ones.
        (AT_SECURE, u64::from(aux.uid != aux.euid || aux.gid != aux.egid)),
        (AT_RANDOM, random),
        (AT_EXECFN, execfn),
        (AT_PLATFORM, platform),
        (AT_NULL, 0),
    ];
    let mut words: Vec<u64> = Vec::with_capacity(3 + argv.len() + envp.len() + auxv.len() * 2);
    words.push(argv.len() as u64);
    words.extend(&argv);
    words.push(0);
    words.extend(&envp);
    words.push(0);
    for (k, v) in auxv {
        words.extend([k, v]);
    }
    sp = (sp - words.len() as u64 * 8) & !0xf;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    us.write_bytes(sp, &bytes).map_err(|_| ExecError::NoMemory)?;
    Ok(sp)
}
