//! How wait4(2) and waitid(2) report a child's end.

use super::ExitStatus;

/// The `int *wstatus` wait4 stores: the exit code in bits 8..15 (low byte
/// 0), or the terminating signal in bits 0..6. No core is ever dumped, so
/// bit 7 stays clear.
pub fn wait_status(s: ExitStatus) -> u32 {
    match s {
        ExitStatus::Code(c) => u32::from(c) << 8,
        ExitStatus::Signaled(sig) => u32::from(sig.0) & 0x7f,
    }
}

/// siginfo's si_code for a SIGCHLD: CLD_EXITED or CLD_KILLED.
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;

/// waitid's (si_code, si_status).
pub fn waitid_code(s: ExitStatus) -> (i32, i32) {
    match s {
        ExitStatus::Code(c) => (CLD_EXITED, i32::from(c)),
        ExitStatus::Signaled(sig) => (CLD_KILLED, i32::from(sig.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::Signal;

    // The WIFEXITED/WEXITSTATUS/WIFSIGNALED/WTERMSIG macros as glibc
    // defines them, to check the encoding against the decoding.
    fn wifexited(s: u32) -> bool {
        s & 0x7f == 0
    }
    fn wexitstatus(s: u32) -> u32 {
        (s >> 8) & 0xff
    }
    fn wifsignaled(s: u32) -> bool {
        ((s & 0x7f) + 1) as i8 >> 1 > 0
    }
    fn wtermsig(s: u32) -> u32 {
        s & 0x7f
    }

    #[test]
    fn exit_codes_round_trip() {
        for c in [0u8, 1, 42, 255] {
            let s = wait_status(ExitStatus::Code(c));
            assert!(wifexited(s) && !wifsignaled(s));
            assert_eq!(wexitstatus(s), c as u32);
        }
        assert_eq!(wait_status(ExitStatus::Code(1)), 0x100);
    }

    #[test]
    fn signal_deaths_round_trip() {
        for sig in [1u8, 9, 11, 15, 31] {
            let s = wait_status(ExitStatus::Signaled(Signal(sig)));
            assert!(wifsignaled(s) && !wifexited(s));
            assert_eq!(wtermsig(s), u32::from(sig));
        }
        assert_eq!(waitid_code(ExitStatus::Signaled(Signal(9))), (CLD_KILLED, 9));
        assert_eq!(waitid_code(ExitStatus::Code(3)), (CLD_EXITED, 3));
    }
}
