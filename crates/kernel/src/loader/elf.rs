//! ELF64 parsing through bounds-checked views. Executables come from the
//! guest's filesystem, so every field read is checked and a malformed file
//! is an [`ExecError`], never a panic.

use core::fmt;

use crate::errno::Errno;

pub const ET_EXEC: u16 = 2;
pub const ET_DYN: u16 = 3;
pub const EM_X86_64: u16 = 62;

pub const PT_LOAD: u32 = 1;
pub const PT_INTERP: u32 = 3;
pub const PT_PHDR: u32 = 6;
pub const PT_GNU_STACK: u32 = 0x6474_e551;

pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

const EHDR_SIZE: usize = 64;
pub const PHDR_SIZE: usize = 56;
/// Linux refuses program header tables larger than this.
const MAX_PHDRS_BYTES: usize = 65536;
const PATH_MAX: usize = 4096;

/// Why an executable cannot be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecError {
    /// Not an ELF file at all (no magic).
    NotElf,
    /// An ELF file this loader cannot run (32-bit, other machine, not an
    /// executable...).
    Unsupported(String),
    /// A structurally broken ELF file.
    Malformed(&'static str),
    /// Segments with impossible addresses (Linux fails these with EINVAL).
    BadLayout(&'static str),
    /// A dynamically linked executable.
    NeedsInterpreter(String),
    /// Arguments and environment do not fit the stack.
    TooBig,
    /// Out of guest memory.
    NoMemory,
    /// The PT_INTERP program is unusable.
    BadInterpreter(Box<ExecError>),
    /// The file could not be found or read (execve's errno).
    Io(Errno),
    /// `#!` interpreters nested too deeply.
    TooManyInterpreters,
}

impl ExecError {
    /// The errno execve would return.
    pub fn errno(&self) -> Errno {
        match self {
            ExecError::NotElf | ExecError::Unsupported(_) | ExecError::Malformed(_) => Errno::ENOEXEC,
            ExecError::BadLayout(_) => Errno::EINVAL,
            // Linux would load the interpreter; the file itself is fine.
            ExecError::NeedsInterpreter(_) => Errno::ENOENT,
            ExecError::TooBig => Errno::E2BIG,
            ExecError::NoMemory => Errno::ENOMEM,
            ExecError::BadInterpreter(e) => match **e {
                ExecError::Io(e) => e,
                _ => Errno::ELIBBAD,
            },
            ExecError::Io(e) => *e,
            ExecError::TooManyInterpreters => Errno::ELOOP,
        }
    }
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecError::NotElf => write!(f, "exec format error: not an ELF file"),
            ExecError::Unsupported(why) => write!(f, "exec format error: {why}"),
            ExecError::Malformed(why) => write!(f, "exec format error: malformed ELF: {why}"),
            ExecError::BadLayout(why) => write!(f, "invalid ELF layout: {why}"),
            ExecError::NeedsInterpreter(p) => {
                write!(f, "dynamically linked executable (interpreter {p}): dynamic executables need the Linux personality issue (not supported yet)")
            }
            ExecError::TooBig => write!(f, "argument list too long"),
            ExecError::NoMemory => write!(f, "out of memory"),
            ExecError::BadInterpreter(e) => write!(f, "bad ELF interpreter: {e}"),
            ExecError::Io(e) => write!(f, "{}", e.text()),
            ExecError::TooManyInterpreters => write!(f, "too many levels of #! interpreters"),
        }
    }
}

impl std::error::Error for ExecError {}

type Result<T> = core::result::Result<T, ExecError>;

/// Checked little-endian reads from a byte slice.
#[derive(Clone, Copy)]
struct View<'a>(&'a [u8]);

impl<'a> View<'a> {
    fn bytes(self, off: u64, len: u64, what: &'static str) -> Result<&'a [u8]> {
        let start = usize::try_from(off).map_err(|_| ExecError::Malformed(what))?;
        let len = usize::try_from(len).map_err(|_| ExecError::Malformed(what))?;
        let end = start.checked_add(len).ok_or(ExecError::Malformed(what))?;
        self.0.get(start..end).ok_or(ExecError::Malformed(what))
    }

    fn u16(self, off: usize) -> Result<u16> {
        let b = self.bytes(off as u64, 2, "truncated header")?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(self, off: usize) -> Result<u32> {
        let b = self.bytes(off as u64, 4, "truncated header")?;
        Ok(u32::from_le_bytes(b.try_into().map_err(|_| ExecError::Malformed("truncated header"))?))
    }

    fn u64(self, off: usize) -> Result<u64> {
        let b = self.bytes(off as u64, 8, "truncated header")?;
        Ok(u64::from_le_bytes(b.try_into().map_err(|_| ExecError::Malformed("truncated header"))?))
    }
}

/// The fields of the ELF header the loader uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub e_type: u16,
    pub e_machine: u16,
    pub e_entry: u64,
    pub e_phoff: u64,
    pub e_phentsize: u16,
    pub e_phnum: u16,
}

/// One program header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgramHeader {
    pub p_type: u32,
    pub p_flags: u32,
    pub p_offset: u64,
    pub p_vaddr: u64,
    pub p_filesz: u64,
    pub p_memsz: u64,
    pub p_align: u64,
}

/// A parsed ELF64 executable: header and program headers checked against
/// the file's size.
pub struct ElfFile<'a> {
    data: &'a [u8],
    pub header: Header,
    pub phdrs: Vec<ProgramHeader>,
}

impl<'a> ElfFile<'a> {
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        let v = View(data);
        if data.get(..4) != Some(b"\x7fELF") {
            return Err(ExecError::NotElf);
        }
        if data.len() < EHDR_SIZE {
            return Err(ExecError::Malformed("file shorter than the ELF header"));
        }
        match data[4] {
            2 => {}
            1 => return Err(ExecError::Unsupported("32-bit ELF executables are not supported".into())),
            c => return Err(ExecError::Unsupported(format!("unknown ELF class {c}"))),
        }
        if data[5] != 1 {
            return Err(ExecError::Unsupported("big-endian ELF".into()));
        }
        if data[6] != 1 || v.u32(20)? != 1 {
            return Err(ExecError::Malformed("unknown ELF version"));
        }
        let header = Header {
            e_type: v.u16(16)?,
            e_machine: v.u16(18)?,
            e_entry: v.u64(24)?,
            e_phoff: v.u64(32)?,
            e_phentsize: v.u16(54)?,
            e_phnum: v.u16(56)?,
        };
        if header.e_type != ET_EXEC && header.e_type != ET_DYN {
            return Err(ExecError::Unsupported(format!("ELF type {} is not an executable", header.e_type)));
        }
        if header.e_machine != EM_X86_64 {
            return Err(ExecError::Unsupported(format!("ELF machine {} is not x86-64", header.e_machine)));
        }
        if header.e_phentsize as usize != PHDR_SIZE {
            return Err(ExecError::Malformed("program header entry size is not 56"));
        }
        let table_len = header.e_phnum as usize * PHDR_SIZE;
        if header.e_phnum == 0 || table_len > MAX_PHDRS_BYTES {
            return Err(ExecError::Malformed("bad program header count"));
        }
        let table = View(v.bytes(header.e_phoff, table_len as u64, "program headers outside the file")?);
        let phdrs = (0..header.e_phnum as usize)
            .map(|i| {
                let o = i * PHDR_SIZE;
                Ok(ProgramHeader {
                    p_type: table.u32(o)?,
                    p_flags: table.u32(o + 4)?,
                    p_offset: table.u64(o + 8)?,
                    p_vaddr: table.u64(o + 16)?,
                    p_filesz: table.u64(o + 32)?,
                    p_memsz: table.u64(o + 40)?,
                    p_align: table.u64(o + 48)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ElfFile { data, header, phdrs })
    }

    /// The file bytes of a segment, checked against the file's size.
    pub fn segment_data(&self, ph: &ProgramHeader) -> Result<&'a [u8]> {
        View(self.data).bytes(ph.p_offset, ph.p_filesz, "segment data outside the file")
    }

    pub fn loads(&self) -> impl Iterator<Item = &ProgramHeader> {
        self.phdrs.iter().filter(|p| p.p_type == PT_LOAD)
    }

    /// The PT_INTERP path, if the executable is dynamically linked.
    pub fn interpreter(&self) -> Result<Option<String>> {
        let Some(ph) = self.phdrs.iter().find(|p| p.p_type == PT_INTERP) else {
            return Ok(None);
        };
        if ph.p_filesz < 2 || ph.p_filesz as usize > PATH_MAX {
            return Err(ExecError::Malformed("bad PT_INTERP size"));
        }
        let raw = self.segment_data(ph)?;
        let path = match raw.split_last() {
            Some((0, path)) if !path.contains(&0) => path,
            _ => return Err(ExecError::Malformed("PT_INTERP is not a NUL-terminated path")),
        };
        Ok(Some(String::from_utf8_lossy(path).into_owned()))
    }

    /// Whether PT_GNU_STACK asks for an executable stack. Without the
    /// header, x86-64 Linux gives a non-executable stack.
    pub fn exec_stack(&self) -> bool {
        self.phdrs.iter().find(|p| p.p_type == PT_GNU_STACK).is_some_and(|p| p.p_flags & PF_X != 0)
    }
}
