//! /proc/PID/maps, in Linux's format: `start-end perms offset
//! major:minor inode`, then the name padded to column 73. Pages the kernel
//! loaded from the executable or its interpreter show that file (at the
//! segment's offset), file mappings their file, the brk area `[heap]`, the
//! main stack `[stack]`, shared anonymous memory `/dev/zero (deleted)` as
//! on Linux. Adjacent private anonymous areas with the same permissions
//! are shown as one, as Linux merges them; file areas are not merged
//! (Linux keeps a RELRO part apart from its read-only neighbour, whose
//! pages were never written: their anon_vma differ).
//! oxvm has no vDSO, so there is no [vvar]/[vdso].

use super::ProcInfo;
use crate::mm::{VmProt, Vma, VmaKind};
use crate::vfs::{dev_major, dev_minor, Dentry};

/// One line before merging.
#[derive(Clone, PartialEq)]
struct Line {
    start: u64,
    end: u64,
    prot: VmProt,
    shared: bool,
    offset: u64,
    dev: u64,
    ino: u64,
    name: Vec<u8>,
    /// Whether offsets continue across merged areas (file-backed).
    file: bool,
}

fn file_line(v: &Vma, start: u64, end: u64, d: &Dentry, offset: u64, root: &Dentry) -> Line {
    let st = d.inode().stat().unwrap_or_default();
    Line { start, end, prot: v.prot, shared: false, offset, dev: st.dev, ino: st.ino, name: d.path_from(root), file: true }
}

fn anon_line(v: &Vma, start: u64, end: u64, name: &[u8]) -> Line {
    Line { start, end, prot: v.prot, shared: false, offset: 0, dev: 0, ino: 0, name: name.to_vec(), file: false }
}

/// The lines of one VMA (an image VMA may be part file, part anonymous).
fn lines_of(p: &ProcInfo, v: &Vma, out: &mut Vec<Line>) {
    match v.kind {
        VmaKind::Image => {
            let mut at = v.start;
            for s in p.exec.segs.iter().filter(|s| s.start < v.end && s.end > v.start) {
                let (a, b) = (s.start.max(v.start), s.end.min(v.end));
                if at < a {
                    out.push(anon_line(v, at, a, b""));
                }
                out.push(file_line(v, a, b, &s.file, s.offset + (a - s.start), &p.root));
                at = b;
            }
            if at < v.end {
                out.push(anon_line(v, at, v.end, b""));
            }
        }
        VmaKind::File => match v.file.as_ref().and_then(|f| f.dentry.clone().map(|d| (f, d))) {
            Some((f, d)) => {
                let mut l = file_line(v, v.start, v.end, &d, f.offset, &p.root);
                l.shared = f.shared;
                out.push(l);
            }
            None => out.push(anon_line(v, v.start, v.end, b"")),
        },
        VmaKind::SharedAnon => {
            // Linux backs these with an unlinked shmem file.
            let mut l = anon_line(v, v.start, v.end, b"/dev/zero (deleted)");
            (l.shared, l.dev, l.ino, l.file) = (true, 1, v.start >> 12, true);
            out.push(l);
        }
        VmaKind::Heap => out.push(anon_line(v, v.start, v.end, b"[heap]")),
        VmaKind::Stack => out.push(anon_line(v, v.start, v.end, b"[stack]")),
        VmaKind::Anon => out.push(anon_line(v, v.start, v.end, b"")),
    }
}

/// The lines, merged as Linux's VMA merging would have left them.
fn lines(p: &ProcInfo) -> Vec<Line> {
    let mut raw = Vec::new();
    for v in &p.vmas {
        lines_of(p, v, &mut raw);
    }
    let mut out: Vec<Line> = Vec::new();
    for l in raw {
        if let Some(last) = out.last_mut() {
            let same = last.end == l.start && last.prot == l.prot && last.shared == l.shared && last.name == l.name;
            // The stack is never merged with a neighbour.
            if same && !l.file && !last.file && l.name != b"[stack]" {
                last.end = l.end;
                continue;
            }
        }
        out.push(l);
    }
    out
}

/// The text of /proc/PID/maps.
pub fn render(p: &ProcInfo) -> String {
    let mut s = String::new();
    for l in lines(p) {
        let perms = format!(
            "{}{}{}{}",
            if l.prot.0 & VmProt::ALL != 0 { 'r' } else { '-' },
            if l.prot.contains(VmProt::WRITE) { 'w' } else { '-' },
            if l.prot.contains(VmProt::EXEC) { 'x' } else { '-' },
            if l.shared { 's' } else { 'p' },
        );
        let head =
            format!("{:08x}-{:08x} {perms} {:08x} {:02x}:{:02x} {} ", l.start, l.end, l.offset, dev_major(l.dev), dev_minor(l.dev), l.ino);
        s.push_str(&head);
        if !l.name.is_empty() {
            // The header is padded to 72 columns, then a space: the name
            // starts at column 73 (later if the header is longer).
            for _ in head.len()..72 {
                s.push(' ');
            }
            s.push(' ');
            s.push_str(&String::from_utf8_lossy(&l.name));
        }
        s.push('\n');
    }
    s
}

/// Sizes statm and status report, in pages: (total, text, data+stack,
/// stack, file-backed library pages).
pub struct Sizes {
    pub total: u64,
    pub exe: u64,
    pub data: u64,
    pub stack: u64,
    pub lib: u64,
}

pub fn sizes(p: &ProcInfo) -> Sizes {
    let mut z = Sizes { total: 0, exe: 0, data: 0, stack: 0, lib: 0 };
    let exe_file = p.exec.exe.as_ref().map(|d| d.inode().id());
    for l in lines(p) {
        let pages = (l.end - l.start) / crate::mm::PAGE;
        z.total += pages;
        let w = l.prot.contains(VmProt::WRITE);
        if l.name == b"[stack]" {
            z.stack += pages;
        } else if w && !l.shared {
            z.data += pages;
        } else if l.prot.contains(VmProt::EXEC) {
            if l.file && exe_file.is_some_and(|(d, i)| d == l.dev && i == l.ino) {
                z.exe += pages;
            } else {
                z.lib += pages;
            }
        }
    }
    z
}
