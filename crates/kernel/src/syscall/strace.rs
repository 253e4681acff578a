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
    /// A path name, shown in full (up to PATH_MAX).
    Path,
    /// A directory descriptor for the *at calls (AT_FDCWD by name).
    DirFd,
    /// open(2) flags.
    OpenFlags,
    /// A file mode, in octal.
    Mode,
    /// AT_* flags.
    AtFlags,
    /// lseek's whence.
    Whence,
    /// fcntl's command.
    FcntlCmd,
    /// ioctl's request.
    IoctlCmd,
    /// socket(2)'s address family.
    SockFamily,
    /// socket(2)'s type and SOCK_* flags.
    SockType,
    /// A struct sockaddr the kernel reads; its length is argument `n`.
    SockAddr(usize),
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

fn open_flags(v: u64) -> String {
    use crate::vfs::file::*;
    let acc = match v as u32 & O_ACCMODE {
        O_RDONLY => "O_RDONLY",
        O_WRONLY => "O_WRONLY",
        O_RDWR => "O_RDWR",
        _ => "O_ACCMODE",
    };
    let rest = flags(
        v & !(O_ACCMODE as u64),
        &[
            (O_TMPFILE as u64, "O_TMPFILE"),
            (O_SYNC as u64, "O_SYNC"),
            (O_CREAT as u64, "O_CREAT"),
            (O_EXCL as u64, "O_EXCL"),
            (O_NOCTTY as u64, "O_NOCTTY"),
            (O_TRUNC as u64, "O_TRUNC"),
            (O_APPEND as u64, "O_APPEND"),
            (O_NONBLOCK as u64, "O_NONBLOCK"),
            (O_DSYNC as u64, "O_DSYNC"),
            (O_ASYNC as u64, "O_ASYNC"),
            (O_DIRECT as u64, "O_DIRECT"),
            (O_LARGEFILE as u64, "O_LARGEFILE"),
            (O_DIRECTORY as u64, "O_DIRECTORY"),
            (O_NOFOLLOW as u64, "O_NOFOLLOW"),
            (O_NOATIME as u64, "O_NOATIME"),
            (O_CLOEXEC as u64, "O_CLOEXEC"),
            (O_PATH as u64, "O_PATH"),
        ],
        "",
    );
    if rest.is_empty() {
        acc.into()
    } else {
        format!("{acc}|{rest}")
    }
}

fn at_flags(v: u64) -> String {
    use super::*;
    flags(
        v,
        &[
            (AT_SYMLINK_NOFOLLOW as u64, "AT_SYMLINK_NOFOLLOW"),
            (AT_REMOVEDIR as u64, "AT_REMOVEDIR"),
            (AT_SYMLINK_FOLLOW as u64, "AT_SYMLINK_FOLLOW"),
            (AT_NO_AUTOMOUNT as u64, "AT_NO_AUTOMOUNT"),
            (AT_EMPTY_PATH as u64, "AT_EMPTY_PATH"),
        ],
        "0",
    )
}

fn fcntl_cmd(v: u64) -> String {
    use super::fcntl::*;
    let name = match v {
        F_DUPFD => "F_DUPFD",
        F_GETFD => "F_GETFD",
        F_SETFD => "F_SETFD",
        F_GETFL => "F_GETFL",
        F_SETFL => "F_SETFL",
        F_GETLK => "F_GETLK",
        F_SETLK => "F_SETLK",
        F_SETLKW => "F_SETLKW",
        F_OFD_GETLK => "F_OFD_GETLK",
        F_OFD_SETLK => "F_OFD_SETLK",
        F_OFD_SETLKW => "F_OFD_SETLKW",
        F_DUPFD_CLOEXEC => "F_DUPFD_CLOEXEC",
        F_NOTIFY => "F_NOTIFY",
        F_SETPIPE_SZ => "F_SETPIPE_SZ",
        F_GETPIPE_SZ => "F_GETPIPE_SZ",
        _ => return format!("{v:#x}"),
    };
    name.into()
}

fn ioctl_cmd(v: u64) -> String {
    use crate::tty::*;
    let name = match v as u32 {
        TCGETS => "TCGETS",
        TCSETS => "TCSETS",
        TCSETSW => "TCSETSW",
        TCSETSF => "TCSETSF",
        TCSBRK => "TCSBRK",
        TCXONC => "TCXONC",
        TCFLSH => "TCFLSH",
        TIOCSCTTY => "TIOCSCTTY",
        TIOCGPGRP => "TIOCGPGRP",
        TIOCSPGRP => "TIOCSPGRP",
        TIOCOUTQ => "TIOCOUTQ",
        TIOCGWINSZ => "TIOCGWINSZ",
        TIOCSWINSZ => "TIOCSWINSZ",
        FIONREAD => "FIONREAD",
        TIOCNOTTY => "TIOCNOTTY",
        TIOCGSID => "TIOCGSID",
        TIOCGPTN => "TIOCGPTN",
        TIOCSPTLCK => "TIOCSPTLCK",
        TIOCGPTLCK => "TIOCGPTLCK",
        TIOCGPTPEER => "TIOCGPTPEER",
        super::ioctl::FIOCLEX => "FIOCLEX",
        super::ioctl::FIONCLEX => "FIONCLEX",
        super::ioctl::FIONBIO => "FIONBIO",
        _ => return format!("{v:#x}"),
    };
    name.into()
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
        Arg::Path => match us.read_cstring(v, crate::vfs::PATH_MAX) {
            Ok(s) => quote(&s, false),
            Err(_) => ptr(v),
        },
        Arg::DirFd if v as i32 == super::AT_FDCWD => "AT_FDCWD".into(),
        Arg::DirFd => (v as i32).to_string(),
        Arg::OpenFlags => open_flags(v),
        Arg::Mode => format!("0{:o}", v as u32),
        Arg::AtFlags => at_flags(v),
        Arg::Whence => match v {
            0 => "SEEK_SET".into(),
            1 => "SEEK_CUR".into(),
            2 => "SEEK_END".into(),
            3 => "SEEK_DATA".into(),
            4 => "SEEK_HOLE".into(),
            _ => v.to_string(),
        },
        Arg::FcntlCmd => fcntl_cmd(v),
        Arg::SockFamily => crate::net::addr::family_name(v),
        Arg::SockType => crate::net::addr::type_name(v),
        Arg::SockAddr(n) => {
            let len = (a.arg(n) as u32 as usize).min(128);
            let mut b = vec![0u8; len];
            match us.read_bytes(v, &mut b) {
                Ok(()) if v != 0 => crate::net::addr::describe(&b),
                _ => ptr(v),
            }
        }
        Arg::IoctlCmd => ioctl_cmd(v),
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
    matches!(name, "mmap" | "mremap" | "brk")
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
    fn file_flag_names() {
        assert_eq!(open_flags(0o2000000 | 0o100 | 1), "O_WRONLY|O_CREAT|O_CLOEXEC");
        assert_eq!(open_flags(0), "O_RDONLY");
        assert_eq!(at_flags(0x100), "AT_SYMLINK_NOFOLLOW");
        assert_eq!(at_flags(0), "0");
        assert_eq!(fcntl_cmd(1030), "F_DUPFD_CLOEXEC");
        assert_eq!(ioctl_cmd(0x5401), "TCGETS");
    }

    #[test]
    fn flag_names() {
        assert_eq!(map_flags(0x22), "MAP_PRIVATE|MAP_ANONYMOUS");
        assert_eq!(map_flags(0x32 | 0x1000_0000), "MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS|0x10000000");
        assert_eq!(flags(3, &[(1, "PROT_READ"), (2, "PROT_WRITE")], "PROT_NONE"), "PROT_READ|PROT_WRITE");
        assert_eq!(flags(0, &[], "PROT_NONE"), "PROT_NONE");
    }
}
