//! memfd_create(2): an anonymous regular file in memory. It is a tmpfs
//! file no directory holds (the kernel's internal tmpfs, `Vfs::anon_tmpfs`),
//! named `memfd:NAME` for /proc/PID/fd ("/memfd:NAME (deleted)"), mode
//! 0777 and owned by the caller, open for reading and writing; it can be
//! read, written, truncated and mapped like any file, and lives while a
//! descriptor or mapping holds it.
//!
//! Not offered: file seals (MFD_ALLOW_SEALING is accepted, but F_ADD_SEALS
//! and F_GET_SEALS fail with EINVAL as on files without seals) and huge
//! pages (MFD_HUGETLB: EINVAL, there is no hugetlbfs).

use super::{ret, Ctx, SyscallArgs, SyscallResult};
use crate::errno::Errno;
use crate::fs::tmpfs;
use crate::vfs::file::{O_LARGEFILE, O_RDWR};
use crate::vfs::{Dentry, OpenFile};

const MFD_CLOEXEC: u64 = 1;
const MFD_ALLOW_SEALING: u64 = 2;
const MFD_HUGETLB: u64 = 4;
/// The huge page size bits (MFD_HUGE_MASK << MFD_HUGE_SHIFT).
const MFD_HUGE_SIZES: u64 = 0x3f << 26;
/// NAME_MAX less the `memfd:` prefix.
const NAME_MAX: usize = 249;

pub fn sys_memfd_create(ctx: &mut Ctx, a: &SyscallArgs) -> SyscallResult {
    let (uname, flags) = (a.arg(0), a.arg(1) & 0xffff_ffff);
    let known = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB;
    let allowed = if flags & MFD_HUGETLB != 0 { known | MFD_HUGE_SIZES } else { known };
    if flags & !allowed != 0 {
        return Err(Errno::EINVAL);
    }
    let name = ctx.user().read_cstring(uname, NAME_MAX + 1).map_err(|e| if e == Errno::ENAMETOOLONG { Errno::EINVAL } else { e })?;
    if flags & MFD_HUGETLB != 0 {
        return Err(Errno::EINVAL);
    }
    let root = ctx.process.fs.vfs.anon_tmpfs.clone().ok_or(Errno::ENOSYS)?;
    let inode = tmpfs::new_unlinked_file(&root, 0o777)?;
    let mut label = b"memfd:".to_vec();
    label.extend_from_slice(&name);
    let dentry = Dentry::root(root).anon_child(&label, inode.clone());
    let ops = inode.open(O_RDWR)?;
    let file = OpenFile::new(ops, Some(dentry), O_RDWR | O_LARGEFILE);
    let fd = ctx.process.files.borrow_mut().insert(file, flags & MFD_CLOEXEC != 0)?;
    ret(fd as u64)
}
