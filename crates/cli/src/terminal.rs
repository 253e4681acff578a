//! The host terminal when the guest's console is one: raw mode while the
//! guest runs (the guest kernel's line discipline does echo, editing and
//! Ctrl-C), restored on every way out (return, panic, a fatal signal), and
//! SIGWINCH noticed so the new size reaches the guest.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use oxvm_kernel::ConsoleTerminal;

/// The descriptor in raw mode and its settings before.
static SAVED: OnceLock<(i32, libc::termios)> = OnceLock::new();
/// Set by the SIGWINCH handler.
static RESIZED: AtomicBool = AtomicBool::new(false);

fn isatty(fd: i32) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

/// The host terminal's size (rows, cols, xpixel, ypixel) on `fd`.
pub fn winsize(fd: i32) -> Option<[u16; 4]> {
    let mut ws = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one struct winsize into `ws`.
    let r = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (r == 0).then_some([ws.ws_row, ws.ws_col, ws.ws_xpixel, ws.ws_ypixel])
}

/// What the guest's console terminal starts as: the streams that are our
/// terminal, its current settings (the kernel's struct termios) and size.
/// The console is a terminal when one of stdin, stdout, stderr is one.
pub fn describe() -> Option<ConsoleTerminal> {
    let streams = (0..3).filter(|&fd| isatty(fd)).fold(0u8, |m, fd| m | 1 << fd);
    let fd = terminal_fd(streams)?;
    let mut t = [0u8; 36];
    // SAFETY: TCGETS writes a kernel struct termios (36 bytes on x86-64).
    let ok = unsafe { libc::ioctl(fd, libc::TCGETS, t.as_mut_ptr()) } == 0;
    Some(ConsoleTerminal { streams, termios: ok.then_some(t), winsize: winsize(fd).unwrap_or([24, 80, 0, 0]) })
}

/// Our descriptor on the terminal: the first of 0, 1, 2 that is one.
pub fn terminal_fd(streams: u8) -> Option<i32> {
    (0..3).find(|&fd| streams & (1 << fd) != 0)
}

fn restore() {
    if let Some((fd, t)) = SAVED.get() {
        // SAFETY: tcsetattr reads the saved struct termios; async-signal-safe.
        unsafe { libc::tcsetattr(*fd, libc::TCSAFLUSH, t) };
    }
}

extern "C" fn on_fatal(sig: i32) {
    restore();
    // SAFETY: back to the default action and re-raised, so we end as the
    // signal would have ended us; both calls are async-signal-safe.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

extern "C" fn on_winch(_sig: i32) {
    RESIZED.store(true, Ordering::Relaxed);
}

/// Raw mode on our terminal (descriptor `fd`) until dropped.
pub struct RawMode {
    pub fd: i32,
}

impl RawMode {
    pub fn enter(fd: i32) -> Option<RawMode> {
        // SAFETY: a zeroed termios is a valid buffer for tcgetattr.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: tcgetattr fills `t`.
        if unsafe { libc::tcgetattr(fd, &mut t) } != 0 {
            return None;
        }
        if SAVED.set((fd, t)).is_err() {
            return None;
        }
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            prev(info);
        }));
        // SAFETY: installing plain handlers; they only touch atomics and
        // async-signal-safe calls. SIGWINCH without SA_RESTART so a poll
        // wakes up for it.
        unsafe {
            for sig in [libc::SIGTERM, libc::SIGHUP, libc::SIGINT, libc::SIGQUIT] {
                libc::signal(sig, on_fatal as *const () as libc::sighandler_t);
            }
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_winch as *const () as libc::sighandler_t;
            libc::sigaction(libc::SIGWINCH, &sa, std::ptr::null_mut());
        }
        let mut raw = t;
        // SAFETY: cfmakeraw edits the struct; tcsetattr applies it.
        unsafe {
            libc::cfmakeraw(&mut raw);
            libc::tcsetattr(fd, libc::TCSAFLUSH, &raw);
        }
        Some(RawMode { fd })
    }

    /// Whether the window changed size since the last call.
    pub fn resized(&self) -> bool {
        RESIZED.swap(false, Ordering::Relaxed)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        restore();
    }
}

/// Wait until stdin has input (or hangs up) or `timeout_ms` passes (-1:
/// no limit; a signal also ends the wait). Returns poll's revents (0 on
/// timeout or interruption).
pub fn wait_stdin(timeout_ms: i32) -> i16 {
    let mut p = libc::pollfd { fd: 0, events: libc::POLLIN, revents: 0 };
    // SAFETY: one pollfd, which `p` is.
    let r = unsafe { libc::poll(&mut p, 1, timeout_ms) };
    if r > 0 {
        p.revents
    } else {
        0
    }
}

/// Read what stdin has now (after `wait_stdin` said so): None at end of
/// file or error.
pub fn read_stdin(buf: &mut [u8]) -> Option<usize> {
    // SAFETY: reads at most buf.len() bytes into buf.
    let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
    (n > 0).then_some(n as usize)
}
