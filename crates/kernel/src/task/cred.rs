//! The credentials beyond the four ids in [`Creds`]: supplementary groups,
//! the filesystem ids (setfsuid/setfsgid) and the capability sets.
//!
//! Capabilities follow the classic root model without file capabilities:
//! a process whose effective uid is 0 has every capability, others none;
//! the uid-change rules of capabilities(7) move the sets as the ids
//! change, and capset(2) may only drop.

use crate::loader::Creds;

/// The highest capability Linux 6.1 knows (CAP_CHECKPOINT_RESTORE).
pub const CAP_LAST_CAP: u32 = 40;
/// Every capability.
pub const CAP_FULL: u64 = (1 << (CAP_LAST_CAP + 1)) - 1;
/// The capabilities that follow the fs uid (CAP_FS_MASK): CHOWN,
/// DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, FSETID, LINUX_IMMUTABLE, MKNOD,
/// MAC_OVERRIDE.
pub const CAP_FS_MASK: u64 = 0x1f | (1 << 9) | (1 << 27) | (1 << 32);
pub const CAP_SETGID: u32 = 6;
pub const CAP_SETUID: u32 = 7;
/// NGROUPS_MAX.
pub const NGROUPS_MAX: usize = 65536;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredExtra {
    /// Supplementary groups, sorted (setgroups sorts them, as Linux).
    pub groups: Vec<u32>,
    pub fsuid: u32,
    pub fsgid: u32,
    /// The saved set-user-ID and set-group-ID: what an unprivileged
    /// process may switch its effective ids back to (set by exec to the
    /// effective ids, so a set-id program can drop and regain them).
    pub suid: u32,
    pub sgid: u32,
    pub cap_effective: u64,
    pub cap_permitted: u64,
    pub cap_inheritable: u64,
    /// The bounding set (PR_CAPBSET_DROP shrinks it; exec's ceiling).
    pub cap_bounding: u64,
    /// The ambient set (PR_CAP_AMBIENT): what a non-root exec keeps.
    pub cap_ambient: u64,
    /// prctl(PR_SET_SECUREBITS) flags (SECBIT_KEEP_CAPS is PR_SET_KEEPCAPS).
    pub securebits: u32,
}

/// SECBIT_NO_SETUID_FIXUP: uid changes leave the capabilities alone.
pub const SECBIT_NO_SETUID_FIXUP: u32 = 1 << 2;
/// SECBIT_KEEP_CAPS: leaving root keeps the permitted set.
pub const SECBIT_KEEP_CAPS: u32 = 1 << 4;
pub const SECBIT_KEEP_CAPS_LOCKED: u32 = 1 << 5;
/// SECBIT_NO_CAP_AMBIENT_RAISE.
pub const SECBIT_NO_CAP_AMBIENT_RAISE: u32 = 1 << 6;

impl CredExtra {
    /// What a process started with `c` has: no supplementary groups, fs
    /// ids equal to the effective ones, root's capabilities for uid 0.
    pub fn new(c: &Creds) -> CredExtra {
        let mut x = CredExtra {
            groups: Vec::new(),
            fsuid: c.euid,
            fsgid: c.egid,
            suid: c.euid,
            sgid: c.egid,
            cap_effective: 0,
            cap_permitted: 0,
            cap_inheritable: 0,
            cap_bounding: CAP_FULL,
            cap_ambient: 0,
            securebits: 0,
        };
        x.exec(c);
        x
    }

    /// Whether capability `cap` is in the effective set.
    pub fn capable(&self, cap: u32) -> bool {
        self.cap_effective & (1 << cap) != 0
    }

    /// Whether `gid` is the effective group or a supplementary one.
    pub fn in_group(&self, egid: u32, gid: u32) -> bool {
        gid == egid || self.groups.binary_search(&gid).is_ok()
    }

    /// exec (no set-id bits, no file capabilities): root (real or
    /// effective) gets the bounding set plus its inheritable ones,
    /// effective when the effective uid is 0, and loses the ambient set;
    /// anyone else keeps just the ambient set. SECBIT_KEEP_CAPS goes.
    pub fn exec(&mut self, c: &Creds) {
        self.fsuid = c.euid;
        self.fsgid = c.egid;
        self.suid = c.euid;
        self.sgid = c.egid;
        if c.uid == 0 || c.euid == 0 {
            self.cap_permitted = self.cap_bounding | self.cap_inheritable;
            self.cap_effective = if c.euid == 0 { self.cap_permitted } else { 0 };
            self.cap_ambient = 0;
        } else {
            self.cap_permitted = self.cap_ambient;
            self.cap_effective = self.cap_ambient;
        }
        self.securebits &= !SECBIT_KEEP_CAPS;
    }

    /// setfsuid moved the fs uid from `old` to `new`: leaving 0 drops the
    /// filesystem capabilities from the effective set, returning to 0
    /// takes the permitted ones back.
    pub fn fsuid_changed(&mut self, old: u32, new: u32) {
        if old == 0 && new != 0 {
            self.cap_effective &= !CAP_FS_MASK;
        } else if old != 0 && new == 0 {
            self.cap_effective |= self.cap_permitted & CAP_FS_MASK;
        }
    }

    /// The uids changed from `old` to `new` (real, effective, saved): the
    /// fs uid follows the effective one, and capabilities(7)'s rules
    /// apply.
    pub fn uids_changed(&mut self, old: [u32; 3], new: [u32; 3]) {
        self.fsuid = new[1];
        self.suid = new[2];
        if self.securebits & SECBIT_NO_SETUID_FIXUP != 0 {
            return;
        }
        let was_root = old.contains(&0);
        let is_root = new.contains(&0);
        if was_root && !is_root {
            if self.securebits & SECBIT_KEEP_CAPS == 0 {
                self.cap_permitted = 0;
                self.cap_effective = 0;
            }
            self.cap_ambient = 0;
        }
        if old[1] == 0 && new[1] != 0 {
            self.cap_effective = 0;
        } else if old[1] != 0 && new[1] == 0 {
            self.cap_effective = self.cap_permitted;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_has_everything_and_loses_it_with_its_uids() {
        let root = Creds { uid: 0, euid: 0, gid: 0, egid: 0 };
        let mut x = CredExtra::new(&root);
        assert_eq!((x.cap_effective, x.cap_permitted), (CAP_FULL, CAP_FULL));
        x.uids_changed([0, 0, 0], [0, 1000, 0]);
        assert_eq!((x.cap_effective, x.cap_permitted, x.fsuid), (0, CAP_FULL, 1000));
        x.uids_changed([0, 1000, 0], [0, 0, 0]);
        assert_eq!(x.cap_effective, CAP_FULL);
        x.uids_changed([0, 0, 0], [1000, 1000, 1000]);
        assert_eq!((x.cap_effective, x.cap_permitted), (0, 0));
        let user = CredExtra::new(&Creds { uid: 1000, euid: 1000, gid: 1000, egid: 1000 });
        assert_eq!(user.cap_permitted, 0);
        assert!(user.in_group(1000, 1000) && !user.in_group(1000, 42));
    }
}
