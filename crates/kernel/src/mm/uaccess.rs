//! Typed, fallible access to user memory for the kernel. Every syscall
//! reaches guest memory through here: a bad pointer is EFAULT, and pages
//! not touched yet are faulted in exactly as a guest access would.

use core::marker::PhantomData;
use std::cell::RefCell;

use oxvm_cpu::{Bus, Fault, Memory};

use super::{page_down, Mm};
use crate::errno::Errno;

/// A plain value that can be copied to and from guest memory
/// (little-endian, no padding, any bit pattern valid).
pub trait UserValue: Sized {
    const SIZE: usize;
    fn from_bytes(b: &[u8]) -> Self;
    fn to_bytes(&self, out: &mut [u8]);
}

macro_rules! int_user_value {
    ($($t:ty),*) => {$(
        impl UserValue for $t {
            const SIZE: usize = core::mem::size_of::<$t>();
            fn from_bytes(b: &[u8]) -> Self {
                let mut a = [0u8; core::mem::size_of::<$t>()];
                a.copy_from_slice(&b[..Self::SIZE]);
                <$t>::from_le_bytes(a)
            }
            fn to_bytes(&self, out: &mut [u8]) {
                out[..Self::SIZE].copy_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}

int_user_value!(u8, u16, u32, u64, i32, i64);

/// A guest pointer to a `T`. It is only an address: dereferencing goes
/// through a [`UserSpace`] and can fail.
pub struct UserPtr<T> {
    addr: u64,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for UserPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for UserPtr<T> {}

impl<T> core::fmt::Debug for UserPtr<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "UserPtr({:#x})", self.addr)
    }
}

impl<T: UserValue> UserPtr<T> {
    pub fn new(addr: u64) -> Self {
        UserPtr { addr, _t: PhantomData }
    }

    pub fn addr(self) -> u64 {
        self.addr
    }

    pub fn is_null(self) -> bool {
        self.addr == 0
    }

    /// The pointer `n` elements further on.
    pub fn offset(self, n: u64) -> Result<Self, Errno> {
        let off = n.checked_mul(T::SIZE as u64).ok_or(Errno::EFAULT)?;
        self.addr.checked_add(off).map(Self::new).ok_or(Errno::EFAULT)
    }

    pub fn read(self, us: &mut UserSpace) -> Result<T, Errno> {
        us.read_val(self.addr)
    }

    pub fn write(self, us: &mut UserSpace, v: &T) -> Result<(), Errno> {
        us.write_val(self.addr, v)
    }
}

/// The address space a [`UserSpace`] works on: borrowed directly (the
/// loader, tests) or through a process's shared handle. The handle is
/// borrowed only for the length of each access, so a `UserSpace` has no
/// drop glue and ends its borrow of the `Ctx` where it is last used.
enum MmAccess<'a> {
    Direct(&'a mut Mm),
    Shared(&'a RefCell<Mm>),
}

/// The kernel's view of one process's memory.
pub struct UserSpace<'a> {
    mm: MmAccess<'a>,
    mem: &'a mut Memory,
}

impl<'a> UserSpace<'a> {
    pub fn new(mm: &'a mut Mm, mem: &'a mut Memory) -> Self {
        UserSpace { mm: MmAccess::Direct(mm), mem }
    }

    /// Through a shared handle (`MmRef::user`).
    pub fn shared(mm: &'a RefCell<Mm>, mem: &'a mut Memory) -> Self {
        UserSpace { mm: MmAccess::Shared(mm), mem }
    }

    /// Run `op` on a bus, faulting in pages it touches for the first time.
    fn with_faults<T>(&mut self, op: impl FnMut(&mut Bus) -> Result<T, Fault>) -> Result<T, Errno> {
        match &mut self.mm {
            MmAccess::Direct(mm) => faulting(mm, self.mem, op),
            MmAccess::Shared(cell) => faulting(&mut cell.borrow_mut(), self.mem, op),
        }
    }

    pub fn read_bytes(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        if buf.is_empty() {
            return Ok(());
        }
        addr.checked_add(buf.len() as u64).ok_or(Errno::EFAULT)?;
        self.with_faults(|bus| bus.read_bytes(addr, buf))
    }

    pub fn write_bytes(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        if data.is_empty() {
            return Ok(());
        }
        addr.checked_add(data.len() as u64).ok_or(Errno::EFAULT)?;
        self.with_faults(|bus| bus.write_bytes(addr, data))
    }

    pub fn read_val<T: UserValue>(&mut self, addr: u64) -> Result<T, Errno> {
        let mut buf = [0u8; 64];
        let b = buf.get_mut(..T::SIZE).expect("UserValue types are at most 64 bytes");
        self.read_bytes(addr, b)?;
        Ok(T::from_bytes(b))
    }

    pub fn write_val<T: UserValue>(&mut self, addr: u64, v: &T) -> Result<(), Errno> {
        let mut buf = [0u8; 64];
        let b = buf.get_mut(..T::SIZE).expect("UserValue types are at most 64 bytes");
        v.to_bytes(b);
        self.write_bytes(addr, b)
    }

    /// A NUL-terminated string of at most `max` bytes (without the NUL);
    /// ENAMETOOLONG if there is no NUL within `max`.
    pub fn read_cstring(&mut self, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
        self.with_faults(|bus| bus.read_cstr(addr, max))?.ok_or(Errno::ENAMETOOLONG)
    }
}

/// Run `op` on a bus over `mm`, faulting in pages it touches for the
/// first time (a page that faults twice in a row is EFAULT).
fn faulting<T>(mm: &mut Mm, mem: &mut Memory, mut op: impl FnMut(&mut Bus) -> Result<T, Fault>) -> Result<T, Errno> {
    let mut last_page = None;
    loop {
        let mut bus = Bus::new(&mut mm.space, mem);
        match op(&mut bus) {
            Ok(v) => return Ok(v),
            Err(Fault::Page { addr, access, .. }) if last_page != Some(page_down(addr)) => {
                mm.handle_fault(mem, addr, access).map_err(|_| Errno::EFAULT)?;
                last_page = Some(page_down(addr));
            }
            Err(_) => return Err(Errno::EFAULT),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::{Placement, VmProt, VmaKind, PAGE};

    #[test]
    fn faults_in_and_rejects_bad_pointers() {
        let mut mem = Memory::new();
        let mut mm = Mm::new();
        let a = mm.map(&mut mem, Placement::Fixed(0x40_0000), 2 * PAGE, VmProt::RW, VmaKind::Anon).unwrap();
        let mut us = mm.user(&mut mem);
        // Straddles both pages, neither touched yet.
        us.write_bytes(a + PAGE - 3, b"hello\0").unwrap();
        assert_eq!(us.read_cstring(a + PAGE - 3, 100).unwrap(), b"hello");
        let p = UserPtr::<u64>::new(a + 8);
        p.write(&mut us, &0x1122_3344_5566_7788).unwrap();
        assert_eq!(p.read(&mut us).unwrap(), 0x1122_3344_5566_7788);
        assert_eq!(us.read_val::<u32>(a + 8).unwrap(), 0x5566_7788);
        assert_eq!(us.write_bytes(a + 2 * PAGE - 2, b"abc"), Err(Errno::EFAULT));
        assert_eq!(us.read_val::<u8>(0), Err(Errno::EFAULT));
        assert_eq!(us.read_val::<u8>(u64::MAX), Err(Errno::EFAULT));
        assert_eq!(us.read_cstring(a + PAGE - 3, 3), Err(Errno::ENAMETOOLONG));
    }

    #[test]
    fn read_only_pages_refuse_writes() {
        let mut mem = Memory::new();
        let mut mm = Mm::new();
        let a = mm.map(&mut mem, Placement::Fixed(0x40_0000), PAGE, VmProt::READ, VmaKind::Anon).unwrap();
        let mut us = mm.user(&mut mem);
        assert_eq!(us.read_val::<u64>(a).unwrap(), 0);
        assert_eq!(us.write_val(a, &1u64), Err(Errno::EFAULT));
    }
}
