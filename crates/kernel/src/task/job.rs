//! Job control state of a process: its process group and session, whether
//! it has exec'd (setpgid on a child that did fails with EACCES), and
//! whether it is stopped, with the change its parent's wait has not
//! collected yet.

use super::Pid;

/// A stop or continue its parent has not waited for yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobReport {
    /// Stopped by this signal (wait4 WUNTRACED, waitid WSTOPPED).
    Stopped(u8),
    /// Resumed by SIGCONT (WCONTINUED).
    Continued,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Job {
    pub pgid: Pid,
    pub sid: Pid,
    /// Set by a successful execve.
    pub execed: bool,
    /// Every thread of the process is stopped (the scheduler skips them)
    /// until SIGCONT or SIGKILL.
    pub stopped: bool,
    pub report: Option<JobReport>,
}

impl Job {
    /// The first process leads its own group and session.
    pub fn leader(pid: Pid) -> Job {
        Job { pgid: pid, sid: pid, ..Default::default() }
    }

    /// What a child inherits: the group and session, nothing else.
    pub fn child(&self) -> Job {
        Job { pgid: self.pgid, sid: self.sid, ..Default::default() }
    }
}

/// wait4's status for a stop (WIFSTOPPED: low byte 0x7f, the signal
/// above) and for a continue (WIFCONTINUED: 0xffff).
pub fn report_status(r: JobReport) -> u32 {
    match r {
        JobReport::Stopped(sig) => (u32::from(sig) << 8) | 0x7f,
        JobReport::Continued => 0xffff,
    }
}

/// siginfo's si_code for a SIGCHLD or waitid report.
pub const CLD_STOPPED: i32 = 5;
pub const CLD_CONTINUED: i32 = 6;

/// waitid's (si_code, si_status) for a report.
pub fn report_code(r: JobReport) -> (i32, i32) {
    match r {
        JobReport::Stopped(sig) => (CLD_STOPPED, i32::from(sig)),
        JobReport::Continued => (CLD_CONTINUED, 18),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_and_continue_statuses_decode_as_glibc_does() {
        // WIFSTOPPED(s): (s & 0xff) == 0x7f; WSTOPSIG(s): (s >> 8) & 0xff;
        // WIFCONTINUED(s): s == 0xffff.
        let s = report_status(JobReport::Stopped(20));
        assert_eq!(s & 0xff, 0x7f);
        assert_eq!((s >> 8) & 0xff, 20);
        assert_eq!(report_status(JobReport::Continued), 0xffff);
        assert_eq!(report_code(JobReport::Stopped(19)), (CLD_STOPPED, 19));
        assert_eq!(report_code(JobReport::Continued), (CLD_CONTINUED, 18));
    }
}
