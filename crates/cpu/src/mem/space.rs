//! Address spaces: a 4-level page table over the 48-bit canonical user
//! address range, and the TLB that caches its translations as host pointers.

use super::phys::{FrameId, PhysMem, PAGE_SHIFT, PAGE_SIZE};

/// Page permissions as the page table stores them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Prot(pub u8);

impl Prot {
    pub const NONE: Prot = Prot(0);
    pub const READ: Prot = Prot(PTE_READ as u8);
    pub const WRITE: Prot = Prot(PTE_WRITE as u8);
    pub const EXEC: Prot = Prot(PTE_EXEC as u8);
    pub const RW: Prot = Prot((PTE_READ | PTE_WRITE) as u8);
    pub const RX: Prot = Prot((PTE_READ | PTE_EXEC) as u8);
    pub const RWX: Prot = Prot((PTE_READ | PTE_WRITE | PTE_EXEC) as u8);

    pub fn contains(self, other: Prot) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for Prot {
    type Output = Prot;
    fn bitor(self, rhs: Prot) -> Prot {
        Prot(self.0 | rhs.0)
    }
}

const PTE_PRESENT: u64 = 1;
const PTE_READ: u64 = 2;
const PTE_WRITE: u64 = 4;
const PTE_EXEC: u64 = 8;
/// The frame is shared copy-on-write: the first write copies it.
const PTE_COW: u64 = 16;
/// The frame belongs to shared memory (MAP_SHARED): fork shares it as it
/// is instead of making it copy-on-write, so writes stay visible to every
/// address space mapping it.
const PTE_SHARED: u64 = 32;
const PTE_PROT: u64 = PTE_READ | PTE_WRITE | PTE_EXEC;

/// Lowest non-canonical user address: user space is [0, 2^47).
pub const USER_END: u64 = 1 << 47;

pub fn is_canonical(va: u64) -> bool {
    let top = (va as i64) >> 47;
    top == 0 || top == -1
}

/// A leaf page-table entry, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub frame: FrameId,
    pub prot: Prot,
    pub cow: bool,
    /// Shared memory: never copy-on-write, fork keeps it shared.
    pub shared: bool,
}

fn decode_pte(pte: u64) -> Option<Mapping> {
    (pte & PTE_PRESENT != 0).then_some(Mapping {
        frame: (pte >> PAGE_SHIFT) as FrameId,
        prot: Prot((pte & PTE_PROT) as u8),
        cow: pte & PTE_COW != 0,
        shared: pte & PTE_SHARED != 0,
    })
}

fn encode_pte(m: Mapping) -> u64 {
    ((m.frame as u64) << PAGE_SHIFT)
        | PTE_PRESENT
        | (m.prot.0 as u64 & PTE_PROT)
        | if m.cow { PTE_COW } else { 0 }
        | if m.shared { PTE_SHARED } else { 0 }
}

/// Number of TLB entries (direct-mapped by virtual page number).
pub const TLB_SIZE: usize = 2048;
/// A tag that never equals a real virtual page number (those are < 2^52).
pub const TLB_INVALID: u64 = u64::MAX;

/// One TLB entry. Each access kind has its own tag, so a page can be cached
/// readable but not writable (copy-on-write, code pages, read-only
/// mappings). Layout is part of the JIT ABI.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct TlbEntry {
    pub read_tag: u64,
    pub write_tag: u64,
    pub exec_tag: u64,
    /// Host address of the frame.
    pub host: usize,
    /// Physical frame, used to key the code cache.
    pub frame: FrameId,
}

const EMPTY: TlbEntry = TlbEntry { read_tag: TLB_INVALID, write_tag: TLB_INVALID, exec_tag: TLB_INVALID, host: 0, frame: 0 };

pub struct Tlb {
    pub entries: Box<[TlbEntry; TLB_SIZE]>,
}

impl Default for Tlb {
    fn default() -> Self {
        Tlb { entries: Box::new([EMPTY; TLB_SIZE]) }
    }
}

impl Tlb {
    #[inline(always)]
    pub fn index(va: u64) -> usize {
        (va >> PAGE_SHIFT) as usize & (TLB_SIZE - 1)
    }

    pub fn flush(&mut self) {
        self.entries.fill(EMPTY);
    }

    pub fn flush_page(&mut self, va: u64) {
        let e = &mut self.entries[Self::index(va)];
        if e.read_tag == va >> PAGE_SHIFT || e.write_tag == va >> PAGE_SHIFT || e.exec_tag == va >> PAGE_SHIFT {
            *e = EMPTY;
        }
    }

    fn drop_writes(&mut self) {
        for e in self.entries.iter_mut() {
            e.write_tag = TLB_INVALID;
        }
    }
}

type Node = Box<[u64; 512]>;

/// A process's view of memory.
pub struct AddressSpace {
    /// Radix-tree nodes; node 0 is the root. An interior entry holds a child
    /// node index (0 = none); a leaf entry is a PTE.
    nodes: Vec<Node>,
    pub tlb: Tlb,
    tlb_code_generation: u64,
}

impl Default for AddressSpace {
    fn default() -> Self {
        Self::new()
    }
}

fn level_index(va: u64, level: u32) -> usize {
    ((va >> (PAGE_SHIFT + 9 * level)) & 511) as usize
}

impl AddressSpace {
    pub fn new() -> Self {
        AddressSpace { nodes: vec![Box::new([0; 512])], tlb: Tlb::default(), tlb_code_generation: 0 }
    }

    fn leaf(&self, va: u64) -> Option<u64> {
        if va >= USER_END {
            return None;
        }
        let mut node = 0usize;
        for level in (1..4).rev() {
            let next = self.nodes[node][level_index(va, level)];
            if next == 0 {
                return None;
            }
            node = next as usize;
        }
        Some(self.nodes[node][level_index(va, 0)])
    }

    fn leaf_mut(&mut self, va: u64) -> &mut u64 {
        assert!(va < USER_END, "page table access above user space: {va:#x}");
        let mut node = 0usize;
        for level in (1..4).rev() {
            let idx = level_index(va, level);
            let mut next = self.nodes[node][idx] as usize;
            if next == 0 {
                self.nodes.push(Box::new([0; 512]));
                next = self.nodes.len() - 1;
                self.nodes[node][idx] = next as u64;
            }
            node = next;
        }
        &mut self.nodes[node][level_index(va, 0)]
    }

    /// The mapping of the page holding `va`.
    pub fn lookup(&self, va: u64) -> Option<Mapping> {
        self.leaf(va).and_then(decode_pte)
    }

    /// Map the page at `va` to `frame`, taking over one reference to it. A
    /// frame previously mapped there is released.
    pub fn map(&mut self, phys: &mut PhysMem, va: u64, frame: FrameId, prot: Prot) {
        self.map_page(phys, va, Mapping { frame, prot, cow: false, shared: false });
    }

    /// Map the page at `va` to a frame of shared memory, taking over one
    /// reference to it: writes go to the frame itself, in every address
    /// space mapping it, and fork keeps it shared.
    pub fn map_shared(&mut self, phys: &mut PhysMem, va: u64, frame: FrameId, prot: Prot) {
        self.map_page(phys, va, Mapping { frame, prot, cow: false, shared: true });
    }

    /// Map the page at `va` to `frame` copy-on-write, taking over one
    /// reference to it: reads see the frame (which others may still
    /// change, e.g. a page cache), the first write gives this address
    /// space a private copy.
    pub fn map_cow(&mut self, phys: &mut PhysMem, va: u64, frame: FrameId, prot: Prot) {
        self.map_page(phys, va, Mapping { frame, prot, cow: true, shared: false });
    }

    fn map_page(&mut self, phys: &mut PhysMem, va: u64, m: Mapping) {
        let pte = self.leaf_mut(va);
        let old = decode_pte(*pte);
        *pte = encode_pte(m);
        if let Some(old) = old {
            phys.release(old.frame);
        }
        self.tlb.flush_page(va);
    }

    /// Remove the mapping of the page at `va`, releasing its frame.
    pub fn unmap(&mut self, phys: &mut PhysMem, va: u64) {
        if self.leaf(va).and_then(decode_pte).is_none() {
            return;
        }
        let pte = self.leaf_mut(va);
        if let Some(old) = decode_pte(*pte) {
            phys.release(old.frame);
        }
        *pte = 0;
        self.tlb.flush_page(va);
    }

    /// Change the permissions of a mapped page; unmapped pages are skipped.
    pub fn protect(&mut self, va: u64, prot: Prot) {
        if let Some(m) = self.lookup(va) {
            *self.leaf_mut(va) = encode_pte(Mapping { prot, ..m });
            self.tlb.flush_page(va);
        }
    }

    /// Every mapped page, in address order, as (virtual page address, mapping).
    pub fn pages(&self) -> Vec<(u64, Mapping)> {
        let mut out = Vec::new();
        self.collect(0, 3, 0, &mut out);
        out
    }

    fn collect(&self, node: usize, level: u32, base: u64, out: &mut Vec<(u64, Mapping)>) {
        for (i, &e) in self.nodes[node].iter().enumerate() {
            if e == 0 {
                continue;
            }
            let va = base | ((i as u64) << (PAGE_SHIFT + 9 * level));
            if level == 0 {
                if let Some(m) = decode_pte(e) {
                    out.push((va, m));
                }
            } else {
                self.collect(e as usize, level - 1, va, out);
            }
        }
    }

    /// A copy-on-write duplicate of this address space (for fork): every
    /// page is shared, and writable private pages become copy-on-write in
    /// both (shared-memory pages stay as they are).
    pub fn fork(&mut self, phys: &mut PhysMem) -> AddressSpace {
        let mut child = AddressSpace::new();
        for (va, m) in self.pages() {
            phys.add_ref(m.frame);
            let m = if m.shared { m } else { Mapping { cow: m.cow || m.prot.contains(Prot::WRITE), ..m } };
            *self.leaf_mut(va) = encode_pte(m);
            *child.leaf_mut(va) = encode_pte(m);
        }
        self.tlb.flush();
        child
    }

    /// Release every frame (the address space is being torn down or
    /// replaced by execve).
    pub fn clear(&mut self, phys: &mut PhysMem) {
        for (_, m) in self.pages() {
            phys.release(m.frame);
        }
        self.nodes.truncate(1);
        self.nodes[0].fill(0);
        self.tlb.flush();
    }

    /// Drop TLB write entries for frames that have become code frames since
    /// this address space last looked (writes to them must take the slow
    /// path, which invalidates the decoded blocks).
    pub fn sync_code_generation(&mut self, phys: &PhysMem) {
        if self.tlb_code_generation != phys.code_generation {
            self.tlb.drop_writes();
            self.tlb_code_generation = phys.code_generation;
        }
    }

    /// Resolve `va` for an access, breaking copy-on-write on writes, and
    /// install the translation in the TLB. Returns the TLB entry index.
    pub(crate) fn translate(&mut self, phys: &mut PhysMem, va: u64, access: crate::Access) -> crate::Result<usize> {
        use crate::{Access, Fault};
        if !is_canonical(va) {
            return Err(Fault::GeneralProtection);
        }
        self.sync_code_generation(phys);
        let fault = |present| Fault::Page { addr: va, access, present };
        let Some(mut m) = self.lookup(va) else { return Err(fault(false)) };
        let needed = match access {
            Access::Read => Prot::READ,
            Access::Write => Prot::WRITE,
            Access::Exec => Prot::EXEC,
        };
        if !m.prot.contains(needed) {
            return Err(fault(true));
        }
        if access == Access::Write && m.cow {
            if phys.refs(m.frame) > 1 {
                let copy = phys.alloc_copy(m.frame);
                phys.release(m.frame);
                m.frame = copy;
            }
            m.cow = false;
            *self.leaf_mut(va) = encode_pte(m);
            self.tlb.flush_page(va);
        }
        let vpn = va >> PAGE_SHIFT;
        let idx = Tlb::index(va);
        let host = phys.host_addr(m.frame);
        let e = &mut self.tlb.entries[idx];
        let stale = |tag: u64| tag != TLB_INVALID && tag != vpn;
        if stale(e.read_tag) || stale(e.write_tag) || stale(e.exec_tag) || e.frame != m.frame {
            *e = EMPTY;
        }
        e.host = host;
        e.frame = m.frame;
        if m.prot.contains(Prot::READ) {
            e.read_tag = vpn;
        }
        if m.prot.contains(Prot::WRITE) && !m.cow && !phys.is_code(m.frame) {
            e.write_tag = vpn;
        }
        if m.prot.contains(Prot::EXEC) {
            e.exec_tag = vpn;
        }
        Ok(idx)
    }

    /// Host address and frame for `va` after a permission-checked translation.
    pub(crate) fn host_page(&mut self, phys: &mut PhysMem, va: u64, access: crate::Access) -> crate::Result<(usize, FrameId)> {
        let idx = self.translate(phys, va, access)?;
        let e = &self.tlb.entries[idx];
        Ok((e.host, e.frame))
    }
}

pub const fn page_floor(va: u64) -> u64 {
    va & !(PAGE_SIZE as u64 - 1)
}
