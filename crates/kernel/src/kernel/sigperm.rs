//! Who may signal whom (kill(2)'s "Permissions" paragraph): a sender with
//! CAP_KILL, or whose real or effective uid is the target's real or saved
//! uid (oxvm keeps the saved uid equal to the effective one), or SIGCONT
//! within one session. kill and pidfd_send_signal check it.

use super::Kernel;
use crate::task::Pid;

const CAP_KILL: u32 = 5;
const SIGCONT: u64 = 18;

impl Kernel {
    /// Whether process `me` may send `sig` to process `target`.
    pub(super) fn may_signal(&self, me: Pid, target: Pid, sig: u64) -> bool {
        let (Some(s), Some(t)) = (self.processes.get(&me), self.processes.get(&target)) else { return true };
        if s.cred.capable(CAP_KILL) || me == target {
            return true;
        }
        let (sc, tc) = (&s.creds, &t.creds);
        if [sc.uid, sc.euid].iter().any(|u| *u == tc.uid || *u == tc.euid) {
            return true;
        }
        sig == SIGCONT && s.job.sid == t.job.sid
    }
}
