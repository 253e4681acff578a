//! A device that remembers which parts of the layer below were read: the
//! input of a manifest's boot prefetch list (`oxvm run --record-reads`,
//! then `oxvm image publish --prefetch-from`).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::ops::Range;
use std::rc::Rc;

use crate::{BlockDevice, FetchStats, Result};

/// Granularity of the record: 4 KiB, below any chunk size.
pub const RECORD_UNIT: u64 = 4096;

/// The units read so far, shared with whoever writes the record out.
pub type Reads = Rc<RefCell<BTreeSet<u64>>>;

pub struct RecordingDevice<D> {
    inner: D,
    reads: Reads,
}

impl<D: BlockDevice> RecordingDevice<D> {
    pub fn new(inner: D) -> (Self, Reads) {
        let reads = Reads::default();
        (RecordingDevice { inner, reads: reads.clone() }, reads)
    }
}

/// The record as text: one `OFFSET LENGTH` line per run of units read.
pub fn format_reads(reads: &BTreeSet<u64>) -> String {
    let mut out = String::new();
    let mut run: Option<(u64, u64)> = None;
    for &u in reads {
        run = match run {
            Some((start, end)) if end == u => Some((start, u + 1)),
            Some((start, end)) => {
                out += &format!("{} {}\n", start * RECORD_UNIT, (end - start) * RECORD_UNIT);
                Some((u, u + 1))
            }
            None => Some((u, u + 1)),
        };
    }
    if let Some((start, end)) = run {
        out += &format!("{} {}\n", start * RECORD_UNIT, (end - start) * RECORD_UNIT);
    }
    out
}

/// Parse a record back into byte ranges; a malformed line is an error
/// naming it.
pub fn parse_reads(text: &str) -> std::result::Result<Vec<Range<u64>>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut w = line.split_whitespace();
        let parse = |v: Option<&str>| v.and_then(|v| v.parse::<u64>().ok());
        match (parse(w.next()), parse(w.next()), w.next()) {
            (Some(off), Some(len), None) if off.checked_add(len).is_some() => out.push(off..off + len),
            _ => return Err(format!("line {}: expected `OFFSET LENGTH`, got {line:?}", n + 1)),
        }
    }
    Ok(out)
}

impl<D: BlockDevice> BlockDevice for RecordingDevice<D> {
    fn size(&self) -> u64 {
        self.inner.size()
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        // Only what the device could serve is recorded (an access past its
        // end fails below, and must not overflow here).
        crate::check_range(offset, buf.len(), self.inner.size())?;
        if !buf.is_empty() {
            let mut r = self.reads.borrow_mut();
            for u in offset / RECORD_UNIT..=(offset + buf.len() as u64 - 1) / RECORD_UNIT {
                r.insert(u);
            }
        }
        self.inner.read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        self.inner.write_at(offset, data)
    }
    fn flush(&mut self) -> Result<()> {
        self.inner.flush()
    }
    fn read_only(&self) -> bool {
        self.inner.read_only()
    }
    fn prefetch(&mut self, ranges: &[Range<u64>]) {
        self.inner.prefetch(ranges)
    }
    fn stats(&self) -> Option<FetchStats> {
        self.inner.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemDevice;

    #[test]
    fn reads_are_recorded_as_runs_and_parse_back() {
        let (mut d, reads) = RecordingDevice::new(MemDevice::new(1 << 20));
        let mut b = [0u8; 10];
        d.read_at(4090, &mut b).unwrap();
        d.read_at(3 * 4096, &mut b).unwrap();
        let text = format_reads(&reads.borrow());
        assert_eq!(text, "0 8192\n12288 4096\n");
        assert_eq!(parse_reads(&text).unwrap(), vec![0..8192, 12288..16384]);
        assert!(parse_reads("1 2 3\n").is_err());
        assert!(parse_reads("x 2\n").is_err());
        assert!(parse_reads("18446744073709551615 2\n").is_err());
    }
}
