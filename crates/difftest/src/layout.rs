//! The fixed guest memory layout every test case runs in, natively and in
//! oxvm: one code page and a small data region with a read-only page and
//! unmapped guard pages on both sides.

/// The code page (read + execute).
pub const CODE: u64 = 0x6000_0000;
/// Where the instructions under test start.
pub const TEST_ADDR: u64 = CODE + 0x800;
/// The patchable test region: the instructions under test, then the
/// fall-through exit point, then INT3 filler.
pub const TEST_REGION: usize = 0x80;
/// Second and third exit points, for branches: one below the test bytes
/// and one above the test region (both within rel8 reach of TEST_ADDR).
pub const EXIT_BACK: u64 = TEST_ADDR - 0x40;
pub const EXIT_FWD: u64 = TEST_ADDR + TEST_REGION as u64;
/// Longest instruction sequence under test (the fall-through exit point
/// needs [`EXIT_POINT_LEN`] bytes of the region).
pub const MAX_TEST_BYTES: usize = TEST_REGION - EXIT_POINT_LEN;
/// `mov qword [OUT_RIP], imm32` (12 bytes) + `jmp rel32` (5 bytes).
pub const EXIT_POINT_LEN: usize = 17;

/// The data region: [`DATA_PAGES`] mapped pages starting at `DATA`; the
/// last one is read-only; the pages just below and just above are unmapped.
pub const DATA: u64 = 0x6100_0000;
pub const DATA_PAGES: usize = 3;
pub const DATA_LEN: usize = DATA_PAGES * 4096;
pub const RO_PAGE: u64 = DATA + 0x2000;
pub const DATA_END: u64 = DATA + DATA_LEN as u64;

/// Whether the page holding `addr` is mapped read-only in the data region.
pub fn is_ro(addr: u64) -> bool {
    (RO_PAGE..DATA_END).contains(&addr)
}

/// The native harness's private state block (below 2 GiB so the stubs can
/// use absolute `[disp32]` addressing). Not mapped in oxvm.
pub const STATE: u64 = 0x5f00_0000;
pub const STATE_LEN: usize = 0x4000;
pub const IN_GPR: u64 = STATE;
pub const IN_FLAGS: u64 = STATE + 0x80;
pub const OUT_GPR: u64 = STATE + 0x100;
pub const OUT_FLAGS: u64 = STATE + 0x180;
pub const OUT_RIP: u64 = STATE + 0x188;
pub const HOST_RSP: u64 = STATE + 0x190;
/// Nonzero while guest code runs (the signal handler's test for a fault in
/// the guest rather than in the harness).
pub const IN_GUEST: u64 = STATE + 0x198;
pub const IN_FX: u64 = STATE + 0x200;
pub const OUT_FX: u64 = STATE + 0x400;
pub const HOST_FX: u64 = STATE + 0x600;
/// What the signal handler records (see `native.rs`).
pub const SIG_INFO: u64 = STATE + 0x800;
pub const SIG_FX: u64 = STATE + 0xa00;
/// Scratch stack used by the exit stub for PUSHFQ.
pub const SCRATCH_TOP: u64 = STATE + 0x2000;

/// Offsets of the stubs in the code page.
pub const ENTRY_STUB: u64 = CODE;
pub const EXIT_STUB: u64 = CODE + 0x100;
pub const RESTORE_STUB: u64 = CODE + 0x200;
