//! Physical frames: the pool of 4 KiB pages that back every address space.

pub const PAGE_SIZE: usize = 4096;
pub const PAGE_SHIFT: u32 = 12;

/// Index of a physical frame.
pub type FrameId = u32;

/// The frame pool, shared by all address spaces (fork shares frames
/// copy-on-write). Frames are individually boxed so they never move: TLB
/// entries hold their host addresses.
#[derive(Default)]
pub struct PhysMem {
    frames: Vec<Option<Box<[u8; PAGE_SIZE]>>>,
    refs: Vec<u32>,
    /// Frames holding decoded guest code: writes to them must invalidate the
    /// decoded blocks, so TLBs never cache write access to them.
    code: Vec<bool>,
    free: Vec<FrameId>,
    /// Code frames that were freed and handed out again: the code cache
    /// must drop their blocks before it trusts a lookup.
    pub(crate) reused_code: Vec<FrameId>,
    /// Bumped whenever a frame becomes a code frame, so address spaces know
    /// to drop write entries their TLBs may hold for it.
    pub(crate) code_generation: u64,
}

impl PhysMem {
    pub fn new() -> Self {
        Self::default()
    }

    /// A new zero-filled frame with one reference.
    pub fn alloc(&mut self) -> FrameId {
        let zero = || -> Box<[u8; PAGE_SIZE]> {
            vec![0u8; PAGE_SIZE].into_boxed_slice().try_into().expect("a PAGE_SIZE slice converts to a page")
        };
        if let Some(id) = self.free.pop() {
            let i = id as usize;
            match &mut self.frames[i] {
                Some(frame) => frame.fill(0),
                slot => *slot = Some(zero()),
            }
            self.refs[i] = 1;
            if self.code[i] {
                self.code[i] = false;
                self.reused_code.push(id);
            }
            id
        } else {
            self.frames.push(Some(zero()));
            self.refs.push(1);
            self.code.push(false);
            (self.frames.len() - 1) as FrameId
        }
    }

    /// A new frame holding a copy of `src`.
    pub fn alloc_copy(&mut self, src: FrameId) -> FrameId {
        let id = self.alloc();
        let data = *self.bytes(src);
        self.bytes_mut(id).copy_from_slice(&data);
        id
    }

    pub fn add_ref(&mut self, id: FrameId) {
        self.refs[id as usize] += 1;
    }

    /// Drop one reference; the frame returns to the pool at zero.
    pub fn release(&mut self, id: FrameId) {
        let r = &mut self.refs[id as usize];
        assert!(*r > 0, "releasing free frame {id}");
        *r -= 1;
        if *r == 0 {
            self.free.push(id);
        }
    }

    pub fn refs(&self, id: FrameId) -> u32 {
        self.refs[id as usize]
    }

    pub fn bytes(&self, id: FrameId) -> &[u8; PAGE_SIZE] {
        self.frames[id as usize].as_deref().expect("frame is allocated")
    }

    pub fn bytes_mut(&mut self, id: FrameId) -> &mut [u8; PAGE_SIZE] {
        self.frames[id as usize].as_deref_mut().expect("frame is allocated")
    }

    pub(crate) fn host_addr(&mut self, id: FrameId) -> usize {
        self.bytes_mut(id).as_mut_ptr() as usize
    }

    pub fn is_code(&self, id: FrameId) -> bool {
        self.code[id as usize]
    }

    pub(crate) fn set_code(&mut self, id: FrameId, on: bool) {
        if on && !self.code[id as usize] {
            self.code_generation += 1;
        }
        self.code[id as usize] = on;
    }

    /// Frames in use (for memory accounting).
    pub fn frames_in_use(&self) -> usize {
        self.frames.len() - self.free.len()
    }
}
