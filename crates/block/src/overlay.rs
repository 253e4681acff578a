//! Copy-on-write overlays: every write lands here, the base is only read.
//!
//! [`Overlay`] persists its blocks in a log kept in a [`Store`] and is
//! crash-consistent at [`flush`](BlockDevice::flush) granularity: after a
//! crash at any instant, reopening yields exactly the device as it was at
//! some flush, and never loses a flush that returned. [`EphemeralOverlay`]
//! keeps its blocks in memory (for `--ephemeral`).
//!
//! # Log format (all integers little-endian)
//!
//! A log file `overlay-<generation as 16 hex digits>.log` starts with a
//! 64-byte header:
//!
//! | bytes | field |
//! |-------|-------|
//! | 0..8  | magic `OXVMOVL\0` |
//! | 8..12 | format version (1) |
//! | 12..16| block size |
//! | 16..24| generation |
//! | 24..32| base device size |
//! | 32..40| first transaction id in this file |
//! | 40..44| flags (bit 0: written by compaction) |
//! | 44..60| zero |
//! | 60..64| CRC-32 of bytes 0..60 |
//!
//! then records, each a 32-byte header — magic `OVRC`, kind (1 data,
//! 2 commit), transaction id, argument (data: block index; commit: number
//! of data records), payload length, CRC-32 of header bytes 0..28 and the
//! payload — followed by the payload: a data record carries one block; a
//! commit record carries the CRC-32 of its transaction's data-record CRCs in
//! order.
//!
//! # Why a crash leaves a flush-point state
//!
//! Writes between flushes stay in memory (spilling large transactions to
//! the log tail as data records with no commit yet). `flush` appends the
//! remaining data records and one commit record, then syncs. Recovery reads
//! records in order, requires consecutive transaction ids, and applies a
//! transaction's data records only when its commit record is intact and
//! names exactly the records seen (count and CRC of their CRCs). It stops at
//! the first record that fails a check and truncates the file there. So a
//! torn tail — unsynced data records, a half-written commit, garbage — is
//! discarded as a whole, and because a commit's checksum covers every record
//! of its transaction, a commit can only be accepted once all of its data is
//! on disk: one sync per flush is enough even if the host reorders writes.
//!
//! Compaction writes the live blocks as one transaction into a new file of
//! the next generation (flag "compacted"), syncs it, then removes the old
//! file. Recovery takes the newest generation holding a complete state: a
//! compacted file without its commit is an interrupted compaction and is
//! removed in favour of the older file, which is still whole.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use crate::store::{Store, StoreFile};
use crate::{check_range, BlockDevice, BlockError, FetchStats, Result};

const MAGIC: &[u8; 8] = b"OXVMOVL\0";
const VERSION: u32 = 1;
const HEADER_LEN: u64 = 64;
const FLAG_COMPACTED: u32 = 1;
const REC_MAGIC: u32 = u32::from_le_bytes(*b"OVRC");
const REC_HEADER: usize = 32;
const KIND_DATA: u32 = 1;
const KIND_COMMIT: u32 = 2;

/// Tuning of an [`Overlay`].
#[derive(Clone, Debug)]
pub struct OverlayOptions {
    /// Granularity of copy-on-write, a power of two from 512 to 1 MiB.
    pub block_size: u32,
    /// Bytes of uncommitted blocks held in memory before they are written
    /// (uncommitted) to the log tail.
    pub spill_bytes: usize,
    /// Compaction runs when the log exceeds both this size and twice the
    /// live data.
    pub compact_min_bytes: u64,
}

impl Default for OverlayOptions {
    fn default() -> Self {
        OverlayOptions { block_size: 4096, spill_bytes: 8 << 20, compact_min_bytes: 64 << 20 }
    }
}

/// Counters an overlay keeps about itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OverlayStats {
    /// Blocks that differ from the base in the committed state.
    pub committed_blocks: u64,
    /// Current log length in bytes.
    pub log_bytes: u64,
    /// Transactions committed since open.
    pub commits: u64,
    /// Compactions since open.
    pub compactions: u64,
    /// Transactions replayed when the log was opened.
    pub recovered_transactions: u64,
    /// Bytes of torn tail discarded when the log was opened.
    pub discarded_tail_bytes: u64,
}

/// A persistent copy-on-write overlay over a read-only base.
pub struct Overlay<B: BlockDevice> {
    base: B,
    store: Box<dyn Store>,
    opts: OverlayOptions,
    file: Box<dyn StoreFile>,
    generation: u64,
    /// Where the next record goes.
    end: u64,
    /// The id of the transaction being built.
    tx: u64,
    /// Committed state: block index → offset of its data in the log.
    committed: HashMap<u64, u64>,
    /// Blocks of the open transaction held in memory.
    pending: BTreeMap<u64, Box<[u8]>>,
    /// Blocks of the open transaction already written (uncommitted) to the log.
    spilled: HashMap<u64, u64>,
    /// CRC-32s of the open transaction's data records, in log order.
    tx_crcs: Vec<u32>,
    stats: OverlayStats,
    /// Set when writing or syncing the log failed: what reached the disk is
    /// then unknown, so the overlay refuses further work until reopened
    /// (recovery sorts it out).
    failed: bool,
}

struct Header {
    block_size: u32,
    generation: u64,
    base_size: u64,
    first_tx: u64,
    flags: u32,
}

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN as usize] {
        let mut h = [0u8; HEADER_LEN as usize];
        h[0..8].copy_from_slice(MAGIC);
        h[8..12].copy_from_slice(&VERSION.to_le_bytes());
        h[12..16].copy_from_slice(&self.block_size.to_le_bytes());
        h[16..24].copy_from_slice(&self.generation.to_le_bytes());
        h[24..32].copy_from_slice(&self.base_size.to_le_bytes());
        h[32..40].copy_from_slice(&self.first_tx.to_le_bytes());
        h[40..44].copy_from_slice(&self.flags.to_le_bytes());
        let crc = crc32fast::hash(&h[..60]);
        h[60..64].copy_from_slice(&crc.to_le_bytes());
        h
    }

    /// `None` when the header is torn or not ours (an interrupted creation).
    fn decode(h: &[u8; HEADER_LEN as usize]) -> Option<Header> {
        if &h[0..8] != MAGIC || crc32fast::hash(&h[..60]) != le32(&h[60..64]) {
            return None;
        }
        Some(Header {
            block_size: le32(&h[12..16]),
            generation: le64(&h[16..24]),
            base_size: le64(&h[24..32]),
            first_tx: le64(&h[32..40]),
            flags: le32(&h[40..44]),
        })
        .filter(|_| le32(&h[8..12]) == VERSION)
    }
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes(b.try_into().expect("4-byte slice"))
}

fn le64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b.try_into().expect("8-byte slice"))
}

fn log_name(generation: u64) -> String {
    format!("overlay-{generation:016x}.log")
}

fn parse_log_name(name: &str) -> Option<u64> {
    let hex = name.strip_prefix("overlay-")?.strip_suffix(".log")?;
    (hex.len() == 16).then(|| u64::from_str_radix(hex, 16).ok()).flatten()
}

/// Appends one record to `out`; returns its CRC.
fn encode_record(out: &mut Vec<u8>, kind: u32, tx: u64, arg: u64, payload: &[u8]) -> u32 {
    let mut h = [0u8; REC_HEADER];
    h[0..4].copy_from_slice(&REC_MAGIC.to_le_bytes());
    h[4..8].copy_from_slice(&kind.to_le_bytes());
    h[8..16].copy_from_slice(&tx.to_le_bytes());
    h[16..24].copy_from_slice(&arg.to_le_bytes());
    h[24..28].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(&h[..28]);
    crc.update(payload);
    let crc = crc.finalize();
    h[28..32].copy_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(payload);
    crc
}

fn crc_of_crcs(crcs: &[u32]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    for c in crcs {
        h.update(&c.to_le_bytes());
    }
    h.finalize()
}

/// The state recovered from one log file.
struct Replay {
    committed: HashMap<u64, u64>,
    next_tx: u64,
    end: u64,
    transactions: u64,
}

impl<B: BlockDevice> Overlay<B> {
    /// Opens (or creates) the overlay kept in `store` over `base`,
    /// recovering the last committed state.
    pub fn open(base: B, store: Box<dyn Store>, opts: OverlayOptions) -> Result<Self> {
        if !opts.block_size.is_power_of_two() || !(512..=1 << 20).contains(&opts.block_size) {
            return Err(BlockError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("overlay block size {} is not a power of two from 512 to 1 MiB", opts.block_size),
            )));
        }
        let mut generations: Vec<u64> = store.list()?.iter().filter_map(|n| parse_log_name(n)).collect();
        generations.sort_unstable_by(|a, b| b.cmp(a));
        let mut chosen = None;
        let mut damaged = None;
        for &generation in &generations {
            let Some(mut file) = store.open(&log_name(generation), false)? else { continue };
            let mut h = [0u8; HEADER_LEN as usize];
            let header = match file.read_exact_at(0, &mut h) {
                Ok(()) => Header::decode(&h),
                Err(BlockError::Corrupt(_)) => None,
                Err(e) => return Err(e),
            };
            // A file without a valid header is a creation or compaction cut
            // short before its first sync, in which case nothing in it was
            // acknowledged, or damage. With records after it and no older
            // generation to fall back to it can only be damage: refuse
            // rather than silently start afresh (checked below).
            let Some(header) = header.filter(|h| h.generation == generation) else {
                if file.len()? > HEADER_LEN && damaged.is_none() {
                    damaged = Some(log_name(generation));
                }
                continue;
            };
            if header.block_size != opts.block_size || header.base_size != base.size() {
                return Err(BlockError::Corrupt(format!(
                    "overlay {} was made for a base of {} bytes with {}-byte blocks, not {} bytes with {}-byte blocks",
                    log_name(generation),
                    header.base_size,
                    header.block_size,
                    base.size(),
                    opts.block_size
                )));
            }
            let replay = replay(&mut *file, &header, base.size())?;
            if header.flags & FLAG_COMPACTED != 0 && replay.transactions == 0 {
                continue; // an interrupted compaction; the older file is whole
            }
            chosen = Some((generation, file, header, replay));
            break;
        }
        if let (None, Some(name)) = (&chosen, &damaged) {
            return Err(BlockError::Corrupt(format!(
                "overlay log {name} has a damaged header and no older generation to fall back to; move it away to start afresh"
            )));
        }
        let mut stats = OverlayStats::default();
        let (generation, file, replay) = match chosen {
            Some((generation, mut file, _header, replay)) => {
                let len = file.len()?;
                if len > replay.end {
                    stats.discarded_tail_bytes = len - replay.end;
                    file.set_len(replay.end)?;
                    file.sync()?;
                }
                stats.recovered_transactions = replay.transactions;
                (generation, file, replay)
            }
            None => {
                let generation = generations.first().map_or(1, |g| g + 1);
                let header = Header { block_size: opts.block_size, generation, base_size: base.size(), first_tx: 1, flags: 0 };
                let mut file = store.open(&log_name(generation), true)?.expect("created");
                file.set_len(0)?;
                file.write_at(0, &header.encode())?;
                file.sync()?;
                (generation, file, Replay { committed: HashMap::new(), next_tx: 1, end: HEADER_LEN, transactions: 0 })
            }
        };
        // Older generations are superseded, newer ones are interrupted
        // compactions: either way nothing in them is needed any more.
        for g in generations.into_iter().filter(|&g| g != generation) {
            store.remove(&log_name(g))?;
        }
        stats.committed_blocks = replay.committed.len() as u64;
        stats.log_bytes = replay.end;
        let mut overlay = Overlay {
            base,
            store,
            opts,
            file,
            generation,
            end: replay.end,
            tx: replay.next_tx,
            committed: replay.committed,
            pending: BTreeMap::new(),
            spilled: HashMap::new(),
            tx_crcs: Vec::new(),
            stats,
            failed: false,
        };
        overlay.file.sync()?;
        Ok(overlay)
    }

    pub fn stats(&self) -> OverlayStats {
        self.stats
    }

    pub fn base(&self) -> &B {
        &self.base
    }

    fn bs(&self) -> u64 {
        u64::from(self.opts.block_size)
    }

    fn check_usable(&self) -> Result<()> {
        if self.failed {
            return Err(BlockError::Io(std::io::Error::other("an earlier write to the overlay log failed; reopen the overlay")));
        }
        Ok(())
    }

    /// Runs a log update, marking the overlay failed if it errs.
    fn guarded<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.check_usable()?;
        let r = f(self);
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    /// The current content of one block (uncommitted writes included).
    fn read_block(&mut self, block: u64, out: &mut [u8]) -> Result<()> {
        if let Some(data) = self.pending.get(&block) {
            out.copy_from_slice(data);
        } else if let Some(&off) = self.spilled.get(&block).or_else(|| self.committed.get(&block)) {
            self.file.read_exact_at(off, out)?;
        } else {
            let start = block * self.bs();
            let len = self.bs().min(self.base.size() - start) as usize;
            self.base.read_at(start, &mut out[..len])?;
            out[len..].fill(0);
        }
        Ok(())
    }

    /// Writes the pending blocks as data records of the open transaction,
    /// followed by its commit record if `commit`, in one write.
    fn write_pending(&mut self, commit: bool) -> Result<()> {
        let mut buf = Vec::with_capacity((self.pending.len() + 1) * (REC_HEADER + self.opts.block_size as usize));
        let mut locations = Vec::with_capacity(self.pending.len());
        let mut crcs = self.tx_crcs.clone();
        for (&block, data) in &self.pending {
            crcs.push(encode_record(&mut buf, KIND_DATA, self.tx, block, data));
            locations.push((block, self.end + (buf.len() - data.len()) as u64));
        }
        if commit {
            encode_record(&mut buf, KIND_COMMIT, self.tx, crcs.len() as u64, &crc_of_crcs(&crcs).to_le_bytes());
        }
        // State changes only once the write succeeded, so a failed flush
        // can be retried (the records are simply written again).
        self.file.write_at(self.end, &buf)?;
        self.end += buf.len() as u64;
        self.tx_crcs = crcs;
        self.spilled.extend(locations);
        self.pending.clear();
        Ok(())
    }

    fn maybe_compact(&mut self) -> Result<()> {
        let live = self.committed.len() as u64 * (self.bs() + REC_HEADER as u64) + HEADER_LEN + 64;
        if self.end > self.opts.compact_min_bytes && self.end > 2 * live {
            self.compact()?;
        }
        Ok(())
    }

    /// Rewrites the committed state into a fresh log of the next generation.
    /// Only called between transactions.
    pub fn compact(&mut self) -> Result<()> {
        debug_assert!(self.pending.is_empty() && self.spilled.is_empty());
        let generation = self.generation + 1;
        let name = log_name(generation);
        let header =
            Header { block_size: self.opts.block_size, generation, base_size: self.base.size(), first_tx: self.tx, flags: FLAG_COMPACTED };
        let mut new = self.store.open(&name, true)?.expect("created");
        new.set_len(0)?;
        new.write_at(0, &header.encode())?;
        let mut end = HEADER_LEN;
        let mut blocks: Vec<(u64, u64)> = self.committed.iter().map(|(&b, &o)| (b, o)).collect();
        blocks.sort_unstable();
        let mut crcs = Vec::with_capacity(blocks.len());
        let mut committed = HashMap::with_capacity(blocks.len());
        let mut data = vec![0u8; self.opts.block_size as usize];
        let mut buf = Vec::new();
        for (block, off) in blocks {
            self.file.read_exact_at(off, &mut data)?;
            crcs.push(encode_record(&mut buf, KIND_DATA, self.tx, block, &data));
            committed.insert(block, end + (buf.len() - data.len()) as u64);
            if buf.len() >= 4 << 20 {
                new.write_at(end, &buf)?;
                end += buf.len() as u64;
                buf.clear();
            }
        }
        let count = crcs.len() as u64;
        encode_record(&mut buf, KIND_COMMIT, self.tx, count, &crc_of_crcs(&crcs).to_le_bytes());
        new.write_at(end, &buf)?;
        end += buf.len() as u64;
        new.sync()?;
        // The new generation is complete and durable: from here on recovery
        // prefers it, so the old file can go.
        let old = std::mem::replace(&mut self.file, new);
        drop(old);
        let old_generation = std::mem::replace(&mut self.generation, generation);
        self.end = end;
        self.committed = committed;
        self.tx += 1;
        self.stats.compactions += 1;
        self.stats.log_bytes = end;
        // If this fails the next open removes it: it is superseded.
        let _ = self.store.remove(&log_name(old_generation));
        Ok(())
    }
}

/// Reads the records of one log file, applying every transaction whose
/// commit is intact, and stops at the first record that is not.
fn replay(file: &mut dyn StoreFile, header: &Header, base_size: u64) -> Result<Replay> {
    let bs = u64::from(header.block_size);
    let blocks = base_size.div_ceil(bs);
    let len = file.len()?;
    let mut pos = HEADER_LEN;
    let mut committed = HashMap::new();
    let mut next_tx = header.first_tx;
    let mut end = HEADER_LEN;
    let mut transactions = 0;
    let mut tx_records: Vec<(u64, u64)> = Vec::new();
    let mut tx_crcs: Vec<u32> = Vec::new();
    let mut h = [0u8; REC_HEADER];
    let mut payload = vec![0u8; bs as usize];
    while pos + REC_HEADER as u64 <= len {
        file.read_exact_at(pos, &mut h)?;
        let (kind, tx, arg, plen, crc) = (le32(&h[4..8]), le64(&h[8..16]), le64(&h[16..24]), le32(&h[24..28]) as usize, le32(&h[28..32]));
        let plen_ok = match kind {
            KIND_DATA => plen as u64 == bs && arg < blocks,
            KIND_COMMIT => plen == 4,
            _ => false,
        };
        if le32(&h[0..4]) != REC_MAGIC || tx != next_tx || !plen_ok || pos + (REC_HEADER + plen) as u64 > len {
            break;
        }
        let payload = &mut payload[..plen];
        file.read_exact_at(pos + REC_HEADER as u64, payload)?;
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&h[..28]);
        hasher.update(payload);
        if hasher.finalize() != crc {
            break;
        }
        let data_at = pos + REC_HEADER as u64;
        pos = data_at + plen as u64;
        if kind == KIND_DATA {
            tx_records.push((arg, data_at));
            tx_crcs.push(crc);
        } else {
            if arg != tx_records.len() as u64 || le32(payload) != crc_of_crcs(&tx_crcs) {
                break;
            }
            committed.extend(tx_records.drain(..));
            tx_crcs.clear();
            next_tx += 1;
            transactions += 1;
            end = pos;
        }
    }
    Ok(Replay { committed, next_tx, end, transactions })
}

impl<B: BlockDevice> BlockDevice for Overlay<B> {
    fn size(&self) -> u64 {
        self.base.size()
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(offset, buf.len(), self.size())?;
        let bs = self.bs();
        let mut block_buf = vec![0u8; bs as usize];
        // Runs of blocks the overlay does not hold go to the base in one
        // read, so the base sees the caller's access pattern (readahead).
        let mut base_run: Option<Range<u64>> = None;
        let mut pos = offset;
        let end = offset + buf.len() as u64;
        while pos < end {
            let block = pos / bs;
            let in_block = pos % bs;
            let n = (bs - in_block).min(end - pos);
            let held = self.pending.contains_key(&block) || self.spilled.contains_key(&block) || self.committed.contains_key(&block);
            if held {
                if let Some(run) = base_run.take() {
                    let dst = &mut buf[(run.start - offset) as usize..(run.end - offset) as usize];
                    self.base.read_at(run.start, dst)?;
                }
                self.read_block(block, &mut block_buf)?;
                let dst = (pos - offset) as usize;
                buf[dst..dst + n as usize].copy_from_slice(&block_buf[in_block as usize..(in_block + n) as usize]);
            } else {
                base_run = Some(base_run.map_or(pos..pos + n, |r| r.start..pos + n));
            }
            pos += n;
        }
        if let Some(run) = base_run {
            let dst = &mut buf[(run.start - offset) as usize..(run.end - offset) as usize];
            self.base.read_at(run.start, dst)?;
        }
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        self.check_usable()?;
        check_range(offset, data.len(), self.size())?;
        let bs = self.bs();
        let mut pos = offset;
        let end = offset + data.len() as u64;
        while pos < end {
            let block = pos / bs;
            let in_block = (pos % bs) as usize;
            let n = (bs as usize - in_block).min((end - pos) as usize);
            let src = &data[(pos - offset) as usize..][..n];
            if !self.pending.contains_key(&block) {
                let mut fresh = vec![0u8; bs as usize].into_boxed_slice();
                if n < bs as usize {
                    self.read_block(block, &mut fresh)?;
                }
                self.pending.insert(block, fresh);
            }
            self.pending.get_mut(&block).expect("inserted above")[in_block..in_block + n].copy_from_slice(src);
            pos += n as u64;
        }
        if self.pending.len() * bs as usize > self.opts.spill_bytes {
            self.guarded(|o| o.write_pending(false))?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.check_usable()?;
        if self.pending.is_empty() && self.tx_crcs.is_empty() {
            return Ok(());
        }
        self.guarded(|o| {
            o.write_pending(true)?;
            o.file.sync()
        })?;
        self.committed.extend(self.spilled.drain());
        self.tx_crcs.clear();
        self.tx += 1;
        self.stats.commits += 1;
        self.stats.committed_blocks = self.committed.len() as u64;
        self.stats.log_bytes = self.end;
        // The commit is durable; a compaction that fails before switching
        // files leaves the current log in use, so it only costs space.
        if self.maybe_compact().is_err() {
            let _ = self.store.remove(&log_name(self.generation + 1));
        }
        Ok(())
    }

    fn read_only(&self) -> bool {
        false
    }

    fn prefetch(&mut self, ranges: &[Range<u64>]) {
        self.base.prefetch(ranges)
    }

    fn stats(&self) -> Option<FetchStats> {
        self.base.stats()
    }
}

/// A copy-on-write overlay held in memory: writes are visible until the
/// process ends, the base is never modified, nothing persists.
pub struct EphemeralOverlay<B: BlockDevice> {
    base: B,
    block_size: u64,
    blocks: HashMap<u64, Box<[u8]>>,
}

impl<B: BlockDevice> EphemeralOverlay<B> {
    pub fn new(base: B) -> Self {
        EphemeralOverlay { base, block_size: 4096, blocks: HashMap::new() }
    }

    /// Bytes held in memory.
    pub fn held_bytes(&self) -> u64 {
        self.blocks.len() as u64 * self.block_size
    }
}

impl<B: BlockDevice> BlockDevice for EphemeralOverlay<B> {
    fn size(&self) -> u64 {
        self.base.size()
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(offset, buf.len(), self.size())?;
        let bs = self.block_size;
        let end = offset + buf.len() as u64;
        let mut run: Option<Range<u64>> = None;
        let mut pos = offset;
        while pos <= end {
            let block = pos / bs;
            let n = if pos == end { 0 } else { (bs - pos % bs).min(end - pos) };
            let held = if n == 0 { None } else { self.blocks.get(&block) };
            if n == 0 || held.is_some() {
                if let Some(r) = run.take() {
                    self.base.read_at(r.start, &mut buf[(r.start - offset) as usize..(r.end - offset) as usize])?;
                }
            }
            if n == 0 {
                break;
            }
            match self.blocks.get(&block) {
                Some(data) => {
                    let i = (pos % bs) as usize;
                    let dst = (pos - offset) as usize;
                    buf[dst..dst + n as usize].copy_from_slice(&data[i..i + n as usize]);
                }
                None => run = Some(run.map_or(pos..pos + n, |r| r.start..pos + n)),
            }
            pos += n;
        }
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        check_range(offset, data.len(), self.size())?;
        let bs = self.block_size;
        let end = offset + data.len() as u64;
        let mut pos = offset;
        while pos < end {
            let block = pos / bs;
            let i = (pos % bs) as usize;
            let n = (bs as usize - i).min((end - pos) as usize);
            if !self.blocks.contains_key(&block) {
                let mut fresh = vec![0u8; bs as usize].into_boxed_slice();
                let start = block * bs;
                let len = bs.min(self.base.size() - start) as usize;
                self.base.read_at(start, &mut fresh[..len])?;
                self.blocks.insert(block, fresh);
            }
            let src = &data[(pos - offset) as usize..][..n];
            self.blocks.get_mut(&block).expect("inserted above")[i..i + n].copy_from_slice(src);
            pos += n as u64;
        }
        Ok(())
    }

    /// Nothing is durable by design.
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }

    fn prefetch(&mut self, ranges: &[Range<u64>]) {
        self.base.prefetch(ranges)
    }

    fn stats(&self) -> Option<FetchStats> {
        self.base.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemDevice, MemStore};

    /// A small deterministic generator (xorshift) so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    const SIZE: usize = 256 * 1024 + 1000; // not a multiple of the block size

    fn base() -> MemDevice {
        MemDevice::from_bytes((0..SIZE).map(|i| (i * 7 % 251) as u8).collect())
    }

    fn small_opts() -> OverlayOptions {
        OverlayOptions { block_size: 4096, spill_bytes: 16 * 1024, compact_min_bytes: u64::MAX }
    }

    fn open(store: &MemStore, opts: &OverlayOptions) -> Overlay<MemDevice> {
        Overlay::open(base(), Box::new(store.clone()), opts.clone()).unwrap()
    }

    fn contents(d: &mut dyn BlockDevice) -> Vec<u8> {
        let mut v = vec![0; d.size() as usize];
        d.read_at(0, &mut v).unwrap();
        v
    }

    /// One random transaction applied to both devices.
    fn random_tx(rng: &mut Rng, a: &mut dyn BlockDevice, b: &mut dyn BlockDevice) {
        for _ in 0..1 + rng.below(6) {
            let max = if rng.below(4) == 0 { 40_000 } else { 5000 };
            let len = 1 + rng.below(max) as usize;
            let off = rng.below((SIZE - len) as u64);
            let fill = rng.next() as u8;
            let data: Vec<u8> = (0..len).map(|i| fill.wrapping_add(i as u8)).collect();
            a.write_at(off, &data).unwrap();
            b.write_at(off, &data).unwrap();
        }
    }

    #[test]
    fn matches_a_model_across_flushes_reopens_spills_and_compactions() {
        let store = MemStore::new();
        let opts = OverlayOptions { compact_min_bytes: 200 * 1024, ..small_opts() };
        let mut model = base();
        let mut rng = Rng(0x9e3779b97f4a7c15);
        let mut compactions = 0;
        for round in 0..8 {
            let mut o = open(&store, &opts);
            assert_eq!(contents(&mut o), model.bytes(), "after reopen {round}");
            for _ in 0..25 {
                random_tx(&mut rng, &mut o, &mut model);
                let off = rng.below(SIZE as u64 - 100);
                let (mut x, mut y) = ([0u8; 100], [0u8; 100]);
                o.read_at(off, &mut x).unwrap();
                model.read_at(off, &mut y).unwrap();
                assert_eq!(x, y);
                o.flush().unwrap();
            }
            compactions += o.stats().compactions;
            assert_eq!(o.base().bytes(), base().bytes(), "the base is never written");
        }
        assert!(compactions > 0, "the workload should trigger compaction");
        assert_eq!(store.list().unwrap().len(), 1, "old generations are removed");
    }

    #[test]
    fn unflushed_writes_vanish_on_reopen() {
        let store = MemStore::new();
        let mut o = open(&store, &small_opts());
        o.write_at(10, b"kept").unwrap();
        o.flush().unwrap();
        o.write_at(10, b"lost").unwrap();
        o.write_at(100_000, &vec![1; 60_000]).unwrap(); // spills, never committed
        drop(o);
        let mut o = open(&store, &small_opts());
        let mut expect = base().into_bytes();
        expect[10..14].copy_from_slice(b"kept");
        assert_eq!(contents(&mut o), expect);
        assert!(o.stats().discarded_tail_bytes > 60_000);
    }

    /// Cuts the log at every length in the last transactions and at a
    /// stride before them: each cut must recover exactly the state of the
    /// last commit wholly inside it.
    #[test]
    fn every_truncation_recovers_a_flush_point() {
        let store = MemStore::new();
        let opts = small_opts();
        let mut o = open(&store, &opts);
        let mut model = base();
        let mut rng = Rng(7);
        let mut states = vec![(HEADER_LEN, model.bytes().to_vec())];
        for _ in 0..12 {
            random_tx(&mut rng, &mut o, &mut model);
            o.flush().unwrap();
            states.push((o.stats().log_bytes, model.bytes().to_vec()));
        }
        drop(o);
        let name = store.list().unwrap().pop().unwrap();
        let log = store.contents(&name).unwrap();
        let tail_from = states[states.len() - 3].0 as usize;
        // Every byte of the final commit record and its neighbourhood, a
        // fine stride over the last transactions, a coarse one before.
        let fine = (HEADER_LEN as usize..tail_from).step_by(997).chain((tail_from..log.len()).step_by(13));
        let cuts = fine.chain(log.len() - 200..=log.len());
        let mut checked = 0;
        for cut in cuts {
            let s = MemStore::new();
            s.set_contents(&name, log[..cut].to_vec());
            let mut o = open(&s, &opts);
            let expect = &states.iter().rev().find(|(end, _)| *end as usize <= cut).unwrap().1;
            assert!(contents(&mut o) == *expect, "cut at {cut}");
            checked += 1;
        }
        assert!(checked > 500, "{checked} cuts");
    }

    #[test]
    fn damaged_records_end_the_log_there() {
        let store = MemStore::new();
        let opts = small_opts();
        let mut o = open(&store, &opts);
        o.write_at(0, b"first").unwrap();
        o.flush().unwrap();
        let first_end = o.stats().log_bytes as usize;
        o.write_at(0, b"second").unwrap();
        o.flush().unwrap();
        drop(o);
        let name = store.list().unwrap().pop().unwrap();
        let log = store.contents(&name).unwrap();
        // Flip one bit anywhere in the second transaction: it must be dropped whole.
        for at in (first_end..log.len()).step_by(131) {
            let mut bad = log.clone();
            bad[at] ^= 0x10;
            let s = MemStore::new();
            s.set_contents(&name, bad);
            let mut o = open(&s, &opts);
            let mut b = [0u8; 6];
            o.read_at(0, &mut b).unwrap();
            assert_eq!(&b[..5], b"first", "flip at {at}");
        }
        // A damaged header over records is refused, not silently dropped;
        // a bare header cut short is a creation that never finished.
        let mut bad = log.clone();
        bad[3] ^= 1;
        let s = MemStore::new();
        s.set_contents(&name, bad);
        let err = Overlay::open(base(), Box::new(s.clone()), opts.clone()).err().unwrap();
        assert!(matches!(&err, BlockError::Corrupt(m) if m.contains("damaged header")), "{err}");
        s.set_contents(&name, log[..40].to_vec());
        let mut o = open(&s, &opts);
        assert_eq!(contents(&mut o), base().bytes());
        assert_eq!(s.list().unwrap().len(), 1);
    }

    #[test]
    fn interrupted_compaction_falls_back_to_the_old_generation() {
        let store = MemStore::new();
        let opts = small_opts();
        let mut o = open(&store, &opts);
        let mut model = base();
        let mut rng = Rng(99);
        for _ in 0..5 {
            random_tx(&mut rng, &mut o, &mut model);
            o.flush().unwrap();
        }
        let old_name = log_name(o.generation);
        let old = store.contents(&old_name).unwrap();
        o.compact().unwrap();
        let new_name = log_name(o.generation);
        let new = store.contents(&new_name).unwrap();
        assert!(store.contents(&old_name).is_none());
        assert!(new.len() < old.len());
        for cut in (0..=new.len()).step_by(1009).chain([new.len() - 1, new.len()]) {
            let s = MemStore::new();
            s.set_contents(&old_name, old.clone());
            s.set_contents(&new_name, new[..cut].to_vec());
            let mut o = open(&s, &opts);
            assert!(contents(&mut o) == model.bytes(), "compaction cut at {cut}");
            let left = s.list().unwrap();
            assert_eq!(left, [if cut == new.len() { new_name.clone() } else { old_name.clone() }]);
        }
    }

    /// A store whose writes start failing when told to (a full disk).
    #[derive(Clone)]
    struct Failing(MemStore, std::sync::Arc<std::sync::atomic::AtomicBool>);
    struct FailingFile(Box<dyn StoreFile>, std::sync::Arc<std::sync::atomic::AtomicBool>);
    impl Store for Failing {
        fn open(&self, name: &str, create: bool) -> Result<Option<Box<dyn StoreFile>>> {
            Ok(self.0.open(name, create)?.map(|f| Box::new(FailingFile(f, self.1.clone())) as Box<dyn StoreFile>))
        }
        fn list(&self) -> Result<Vec<String>> {
            self.0.list()
        }
        fn remove(&self, name: &str) -> Result<()> {
            self.0.remove(name)
        }
    }
    impl StoreFile for FailingFile {
        fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<usize> {
            self.0.read_at(offset, buf)
        }
        fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
            if self.1.load(std::sync::atomic::Ordering::SeqCst) {
                // Half the bytes land, then the disk is full.
                self.0.write_at(offset, &data[..data.len() / 2])?;
                return Err(BlockError::Io(std::io::Error::other("no space left")));
            }
            self.0.write_at(offset, data)
        }
        fn len(&self) -> Result<u64> {
            self.0.len()
        }
        fn set_len(&mut self, len: u64) -> Result<()> {
            self.0.set_len(len)
        }
        fn sync(&mut self) -> Result<()> {
            self.0.sync()
        }
    }

    #[test]
    fn a_failed_log_write_stops_the_overlay_until_reopened() {
        let mem = MemStore::new();
        let full = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let store = Failing(mem.clone(), full.clone());
        let mut o = Overlay::open(base(), Box::new(store.clone()), small_opts()).unwrap();
        o.write_at(0, b"durable").unwrap();
        o.flush().unwrap();
        full.store(true, std::sync::atomic::Ordering::SeqCst);
        o.write_at(0, b"doomed!").unwrap();
        assert!(o.flush().is_err());
        assert!(o.write_at(0, b"x").is_err() && o.flush().is_err(), "refuses work after a failed write");
        full.store(false, std::sync::atomic::Ordering::SeqCst);
        drop(o);
        let mut o = open(&mem, &small_opts());
        let mut b = [0u8; 7];
        o.read_at(0, &mut b).unwrap();
        assert_eq!(&b, b"durable");
        o.write_at(0, b"again!!").unwrap();
        o.flush().unwrap();
        drop(o);
        open(&mem, &small_opts()).read_at(0, &mut b).unwrap();
        assert_eq!(&b, b"again!!");
    }

    #[test]
    fn refuses_an_overlay_made_for_another_base() {
        let store = MemStore::new();
        let mut o = open(&store, &small_opts());
        o.write_at(0, b"x").unwrap();
        o.flush().unwrap();
        drop(o);
        let err = Overlay::open(MemDevice::new(SIZE + 4096), Box::new(store.clone()), small_opts()).err().unwrap();
        assert!(matches!(err, BlockError::Corrupt(ref m) if m.contains("made for a base")), "{err}");
        let bad_bs = OverlayOptions { block_size: 3000, ..small_opts() };
        assert!(Overlay::open(base(), Box::new(store), bad_bs).is_err());
    }

    #[test]
    fn ephemeral_overlay_matches_a_model_and_spares_the_base() {
        let mut o = EphemeralOverlay::new(base());
        let mut model = base();
        let mut rng = Rng(3);
        for _ in 0..50 {
            random_tx(&mut rng, &mut o, &mut model);
            let off = rng.below(SIZE as u64 - 9000);
            let (mut x, mut y) = (vec![0u8; 9000], vec![0u8; 9000]);
            o.read_at(off, &mut x).unwrap();
            model.read_at(off, &mut y).unwrap();
            assert_eq!(x, y);
        }
        assert_eq!(contents(&mut o), model.bytes());
        assert_eq!(o.base.bytes(), base().bytes());
        assert!(o.write_at(SIZE as u64 - 1, b"ab").is_err());
    }
}
