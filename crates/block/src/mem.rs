//! A device held in memory: for tests, and for `--ephemeral` overlays.

use crate::{check_range, BlockDevice, Result};

/// A fixed-size device backed by a byte vector.
#[derive(Clone, Debug)]
pub struct MemDevice {
    bytes: Vec<u8>,
}

impl MemDevice {
    /// A zero-filled device of `size` bytes.
    pub fn new(size: usize) -> Self {
        MemDevice { bytes: vec![0; size] }
    }

    /// A device holding exactly these bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        MemDevice { bytes }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

impl BlockDevice for MemDevice {
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(offset, buf.len(), self.size())?;
        let start = offset as usize;
        buf.copy_from_slice(&self.bytes[start..start + buf.len()]);
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        check_range(offset, data.len(), self.size())?;
        let start = offset as usize;
        self.bytes[start..start + data.len()].copy_from_slice(data);
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BlockError;

    #[test]
    fn reads_back_writes_and_refuses_out_of_range() {
        let mut d = MemDevice::new(100);
        d.write_at(90, b"0123456789").unwrap();
        let mut b = [0u8; 4];
        d.read_at(92, &mut b).unwrap();
        assert_eq!(&b, b"2345");
        assert!(matches!(d.write_at(95, b"0123456789"), Err(BlockError::OutOfRange { .. })));
        assert!(matches!(d.read_at(u64::MAX - 1, &mut b), Err(BlockError::OutOfRange { .. })));
    }
}
