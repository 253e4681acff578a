//! strace-style rendering of syscalls: `write(1, "hi\n", 3) = 3`.

use super::arch::{ARCH_GET_FS, ARCH_GET_GS, ARCH_SET_FS, ARCH_SET_GS};
use super::mm as m;
use super::table::Entry;
use super::SyscallArgs;
use crate::errno::Errno;
use crate::mm::UserSpace;

/// How to show one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// A C int.
    Int,
    Uint,
    Hex,
    /// An address: NULL or hex.
    Ptr,
    Fd,
    /// A buffer the kernel reads; its length is argument `n`.
    InBuf(usize),
    /// A buffer the kernel fills; shown after the call, as long as the
    /// result says (at most argument `n`).
    OutBuf(usize),
    /// A NUL-terminated string.
    CStr,
    /// mmap/mprotect PROT_* bits.
    Prot,
    /// mmap MAP_* flags.
    MapFlags,
    /// arch_prctl's code.
    ArchCode,
}

/// Longest string shown, as strace's default `-s 32`.
const MAX_STR: usize = 32;

fn quote(bytes: &[u8], truncated: bool) -> String {
    let mut s = String::from("\"");
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\n' => s += "\\n",
            b'\t' => s += "\\t",
            b'\r' => s += "\\r",
            0x0b => s += "\\v",
            0x0c => s += "\\f",
            b'\\' => s += "\\\\",
            b'"' => s += "\\\"",
            0x20..=0x7e => s.push(b as char),
            _ => {
                // Shortest octal form unless a digit follows, which would
                // be read as part of the escape.
                let next_digit = bytes.get(i + 1).is_some_and(|c| (b'0'..=b'7').contains(c));
                if next_digit {
                    s += &format!("\\{b:03o}");
                } else {
                    s += &format!("\\{b:o}");
                }
            }
        }
    }
    s.push('"');
    if truncated {
        s += "...";
    }
    s
}

fn buffer(us: &mut UserSpace, addr: u64, len: u64) -> String {
    let shown = (len as usize).min(MAX_STR);
    let mut buf = vec![0u8; shown];
    match us.read_bytes(addr, &mut buf) {
        Ok(()) => quote(&buf, len as usize > shown),
        Err(_) => ptr(addr),
    }
}

fn ptr(v: u64) -> String {
    if v == 0 {
        "NULL".into()
    } else {
        format!("{v:#x}")
    }
}

fn flags(v: u64, names: &[(u64, &str)], zero: &str) -> String {
    if v == 0 {
        return zero.into();
    }
    let mut parts = Vec::new();
    let mut rest = v;
    for &(bit, name) in names {
        if bit != 0 && rest & bit == bit {
            parts.push(name.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    parts.join("|")
}

fn map_flags(v: u64) -> String {
    let ty = match v & 0xf {
        m::MAP_SHARED => "MAP_SHARED".to_string(),
        m::MAP_PRIVATE => "MAP_PRIVATE".to_string(),
        m::MAP_SHARED_VALIDATE => "MAP_SHARED_VALIDATE".to_string(),
        t => format!("{t:#x}"),
    };
    let rest = flags(
        v & !0xf,
        &[
            (m::MAP_FIXED, "MAP_FIXED"),
            (m::MAP_ANONYMOUS, "MAP_ANONYMOUS"),
            (m::MAP_32BIT, "MAP_32BIT"),
            (m::MAP_GROWSDOWN, "MAP_GROWSDOWN"),
            (m::MAP_DENYWRITE, "MAP_DENYWRITE"),
            (m::MAP_EXECUTABLE, "MAP_EXECUTABLE"),
            (m::MAP_LOCKED, "MAP_LOCKED"),
            (m::MAP_NORESERVE, "MAP_NORESERVE"),
            (m::MAP_POPULATE, "MAP_POPULATE"),
            (m::MAP_NONBLOCK, "MAP_NONBLOCK"),
            (m::MAP_STACK, "MAP_STACK"),
            (m::MAP_HUGETLB, "MAP_HUGETLB"),
            (m::MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"),
        ],
        "",
    );
    if rest.is_empty() {
        ty
    } else {
        format!("{ty}|{rest}")
    }
}

fn arg(us: &mut UserSpace, kind: Arg, a: &SyscallArgs, i: usize, ret: Option<u64>) -> String {
    let v = a.arg(i);
    match kind {
        Arg::Int | Arg::Fd => (v as i32).to_string(),
        Arg::Uint => v.to_string(),
        // C's %#x: zero has no prefix.
        Arg::Hex if v == 0 => "0".into(),
        Arg::Hex => format!("{v:#x}"),
        Arg::Ptr => ptr(v),
        Arg::InBuf(n) => buffer(us, v, a.arg(n)),
        Arg::OutBuf(n) => match ret {
            Some(r) if Errno::from_return(r).is_none() => buffer(us, v, r.min(a.arg(n))),
            _ => ptr(v),
        },
        Arg::CStr => match us.read_cstring(v, MAX_STR) {
            Ok(s) => quote(&s, false),
            Err(Errno::ENAMETOOLONG) => buffer(us, v, MAX_STR as u64 + 1),
            Err(_) => ptr(v),
        },
        Arg::Prot => flags(v, &[(m::PROT_READ, "PROT_READ"), (m::PROT_WRITE, "PROT_WRITE"), (m::PROT_EXEC, "PROT_EXEC")], "PROT_NONE"),
        Arg::MapFlags => map_flags(v),
        Arg::ArchCode => match v {
            ARCH_SET_GS => "ARCH_SET_GS".into(),
            ARCH_SET_FS => "ARCH_SET_FS".into(),
            ARCH_GET_FS => "ARCH_GET_FS".into(),
            ARCH_GET_GS => "ARCH_GET_GS".into(),
            _ => format!("{v:#x}"),
        },
    }
}

/// Syscalls whose result is an address.
fn returns_address(name: &str) -> bool {
    matches!(name, "mmap" | "brk")
}

/// One strace line. `ret` is None when the call does not return (exit).
pub fn format(us: &mut UserSpace, entry: Option<&Entry>, a: &SyscallArgs, ret: Option<u64>) -> String {
    let (name, args): (String, Vec<String>) = match entry {
        Some(e) if e.handler.is_some() => (e.name.into(), e.args.iter().enumerate().map(|(i, k)| arg(us, *k, a, i, ret)).collect()),
        Some(e) => (e.name.into(), (0..6).map(|i| format!("{:#x}", a.arg(i))).collect()),
        None => (format!("syscall_{}", a.nr), (0..6).map(|i| format!("{:#x}", a.arg(i))).collect()),
    };
    let result = match ret {
        None => "?".to_string(),
        Some(r) => match Errno::from_return(r) {
            Some(e) => format!("-1 {} ({})", e.name(), e.text()),
            None if entry.is_some_and(|e| returns_address(e.name)) => format!("{r:#x}"),
            None => (r as i64).to_string(),
        },
    };
    format!("{name}({}) = {result}", args.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote(b"hi\n", false), "\"hi\\n\"");
        assert_eq!(quote(b"\x001\x1b[", false), "\"\\0001\\33[\"");
        assert_eq!(quote(b"a\"b\\", true), "\"a\\\"b\\\\\"...");
    }

    #[test]
    fn flag_names() {
        assert_eq!(map_flags(0x22), "MAP_PRIVATE|MAP_ANONYMOUS");
        assert_eq!(map_flags(0x32 | 0x1000_0000), "MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|0x10000000");
        assert_eq!(flags(3, &[(1, "PROT_READ"), (2, "PROT_WRITE")], "PROT_NONE"), "PROT_READ|PROT_WRITE");
        assert_eq!(flags(0, &[], "PROT_NONE"), "PROT_NONE");
    }
}
