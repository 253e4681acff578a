//! ext2 (revision 1), read and write, over an [`oxvm_block::BlockDevice`].
//!
//! Used by the kernel (the root file system of `oxvm run --image`) and by the
//! image builder (`oxvm image build`). Every on-disk structure comes from an
//! untrusted image, so it is parsed through checked views: a corrupt image
//! yields an error, never a panic.
