//! The imports from the JavaScript host (module `oxvm`), wrapped in safe
//! functions. Every pointer handed out points into this module's memory and
//! is valid for the duration of the call.

use serde_json::Value;

#[link(wasm_import_module = "oxvm")]
extern "C" {
    /// Milliseconds (fractional): clock 0 since the Unix epoch, clock 1
    /// since an arbitrary fixed point (monotonic).
    fn host_now(clock: u32) -> f64;
    fn host_random(ptr: *mut u8, len: usize);
    fn host_console_write(fd: i32, ptr: *const u8, len: usize);
    fn host_diag(ptr: *const u8, len: usize);
    /// A synchronous I/O request: `req` is a JSON object naming the
    /// operation, `data` its binary payload. Returns the length of the
    /// result (fetched with `host_io_result`), or -1 when the operation
    /// failed (the result is then the error message, UTF-8).
    fn host_io(req: *const u8, req_len: usize, data: *const u8, data_len: usize) -> f64;
    /// Copies the last `host_io` result to `ptr`.
    fn host_io_result(ptr: *mut u8);
}

pub fn now_ms(monotonic: bool) -> f64 {
    // SAFETY: no pointers are involved.
    unsafe { host_now(u32::from(monotonic)) }
}

pub fn random(buf: &mut [u8]) {
    // SAFETY: the host writes exactly buf.len() bytes at buf's address.
    unsafe { host_random(buf.as_mut_ptr(), buf.len()) }
}

pub fn console_write(fd: i32, data: &[u8]) {
    // SAFETY: the host only reads data.len() bytes from data's address.
    unsafe { host_console_write(fd, data.as_ptr(), data.len()) }
}

pub fn diag(line: &str) {
    // SAFETY: the host only reads line.len() bytes from line's address.
    unsafe { host_diag(line.as_ptr(), line.len()) }
}

/// One I/O call: the result bytes, or the host's error message.
pub fn io(req: &Value, data: &[u8]) -> Result<Vec<u8>, String> {
    let req = req.to_string();
    // SAFETY: the host reads req and data within their lengths.
    let n = unsafe { host_io(req.as_ptr(), req.len(), data.as_ptr(), data.len()) };
    let failed = n < 0.0;
    // The host reports the length of the error message as well, negated
    // and less one, so an empty message still reads as a failure.
    let len = if failed { -n - 1.0 } else { n };
    if !(0.0..=(u32::MAX as f64)).contains(&len) || len.fract() != 0.0 {
        return Err(format!("the host answered an I/O call with a bad length {n}"));
    }
    let mut out = vec![0u8; len as usize];
    // SAFETY: the host writes exactly the length it announced.
    unsafe { host_io_result(out.as_mut_ptr()) };
    if failed {
        return Err(String::from_utf8_lossy(&out).into_owned());
    }
    Ok(out)
}

/// An I/O call whose result is JSON.
pub fn io_json(req: &Value, data: &[u8]) -> Result<Value, String> {
    let out = io(req, data)?;
    serde_json::from_slice(&out).map_err(|e| format!("the host answered {} with bad JSON: {e}", req["op"]))
}
