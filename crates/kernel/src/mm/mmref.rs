//! A shared handle on a process's memory. Threads share their process's
//! handle; CLONE_VM without CLONE_THREAD (vfork, posix_spawn) gives the
//! child process a clone of the parent's handle, so both see the same
//! pages until the child execs (it then gets a fresh `Mm`) or exits.

use std::cell::{Ref, RefCell, RefMut};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use oxvm_cpu::Memory;

use super::{Mm, UserSpace};

/// A process-wide unique number for an object futexes can live in: an
/// address space (private futexes) or a shared memory object (shared
/// futexes). Never reused, so a stale key matches nothing.
pub fn next_object_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// An `Mm` shared by every process using it (`Process::mm`).
#[derive(Clone)]
pub struct MmRef {
    id: u64,
    inner: Rc<RefCell<Mm>>,
}

impl Default for MmRef {
    fn default() -> Self {
        MmRef::new(Mm::new())
    }
}

impl MmRef {
    pub fn new(mm: Mm) -> MmRef {
        MmRef { id: next_object_id(), inner: Rc::new(RefCell::new(mm)) }
    }

    /// The identity of this address space (the futex key of its private
    /// words).
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn borrow(&self) -> Ref<'_, Mm> {
        self.inner.borrow()
    }

    pub fn borrow_mut(&self) -> RefMut<'_, Mm> {
        self.inner.borrow_mut()
    }

    /// A copy-on-write copy for fork (shared memory stays shared); the
    /// file objects it maps learn of the new address space.
    pub fn fork(&self, mem: &mut Memory) -> MmRef {
        let child = MmRef::new(self.inner.borrow_mut().fork(mem));
        let weak = Rc::downgrade(&child.inner);
        for v in child.borrow().vmas().iter() {
            if let Some(s) = &v.shm {
                s.obj.add_mapper(&weak);
            }
        }
        child
    }

    /// Register this address space with the file object `obj` it maps
    /// (mmap), for write-back to write-protect cleaned pages.
    pub fn add_mapping_of(&self, obj: &super::ShmObject) {
        obj.add_mapper(&Rc::downgrade(&self.inner));
    }

    /// Whether another process uses this address space too (a vfork child
    /// and its parent).
    pub fn is_shared(&self) -> bool {
        Rc::strong_count(&self.inner) > 1
    }

    /// Typed kernel access to this address space.
    pub fn user<'a>(&'a self, mem: &'a mut Memory) -> UserSpace<'a> {
        UserSpace::shared(&self.inner, mem)
    }

    /// Let go of this handle: the memory is freed when it was the last
    /// one (exit, or exec replacing the image of a process that shared
    /// its memory with nobody).
    /// Returns the shared objects it mapped, for `shmem::settle`.
    #[must_use]
    pub fn release(self, mem: &mut Memory) -> Vec<Rc<super::ShmObject>> {
        match Rc::try_unwrap(self.inner) {
            Ok(cell) => {
                let mut mm = cell.into_inner();
                mm.clear(mem);
                mm.take_released()
            }
            Err(_) => Vec::new(),
        }
    }
}
