//! oxvm disk images: `oxvm image build` fills an ext2 image from a
//! directory tree or a tar stream, with any ownership and mode and without
//! root, loop devices or Docker; the inspection tools look inside one.

pub mod build;
pub mod ext2_sink;
pub mod inspect;
pub mod source;
