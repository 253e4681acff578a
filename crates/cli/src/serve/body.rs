//! Response bodies streamed from a file: only the requested bytes are read,
//! a chunk at a time, so a range of a multi-gigabyte image costs what the
//! range costs.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use axum::body::{Body, Bytes};

/// How much is read per step: large enough for throughput, small enough
/// that a slow client holds little memory.
const CHUNK: u64 = 256 * 1024;

/// A piece of a response body.
pub enum Part {
    Bytes(Bytes),
    /// `len` bytes of the file from `offset`.
    File {
        offset: u64,
        len: u64,
    },
}

impl Part {
    pub fn len(&self) -> u64 {
        match self {
            Part::Bytes(b) => b.len() as u64,
            Part::File { len, .. } => *len,
        }
    }
}

/// A body made of `parts`, reading the file parts from `file` as the client
/// takes them. Positional reads (`pread`) need no shared cursor. A file that
/// shrank under us ends the stream with an error, which aborts the
/// connection rather than sending fewer bytes than Content-Length said.
pub fn stream(file: File, parts: Vec<Part>) -> Body {
    let file = Arc::new(file);
    let state = (file, parts.into_iter(), None::<(u64, u64)>);
    let s = futures_util::stream::unfold(state, |(file, mut parts, mut pending)| async move {
        loop {
            if let Some((offset, left)) = pending.take() {
                if left == 0 {
                    continue;
                }
                let n = left.min(CHUNK);
                let f = Arc::clone(&file);
                let read = tokio::task::spawn_blocking(move || {
                    let mut buf = vec![0u8; n as usize];
                    f.read_exact_at(&mut buf, offset).map(|()| buf)
                })
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e)));
                return Some(match read {
                    Ok(buf) => (Ok(Bytes::from(buf)), (file, parts, Some((offset + n, left - n)))),
                    // Nothing more after an error: an empty iterator ends the stream.
                    Err(e) => (Err(e), (file, Vec::new().into_iter(), None)),
                });
            }
            match parts.next()? {
                Part::Bytes(b) => return Some((Ok(b), (file, parts, None))),
                Part::File { offset, len } => pending = Some((offset, len)),
            }
        }
    });
    Body::from_stream(s)
}
