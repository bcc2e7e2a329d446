//! The C library's clock and randomness functions, as this crate defines
//! them: each asks the thread's interception (the parent module) first,
//! and calls the C library's own function when it declines.
//!
//! An executable that links this crate defines these symbols itself, so
//! std's `Instant::now()`, `SystemTime::now()` and `RandomState` keys, and
//! other crates' calls through the C library (`rand`'s `getrandom`, for
//! one), land here; the C library's own functions are found once with
//! `dlsym(RTLD_NEXT, ..)`. Every function here is `unsafe` for the reason
//! its C counterpart is: it writes through the caller's pointers, which it
//! checks only for null.

use std::ffi::{c_int, c_uint, c_void, CStr};
use std::sync::atomic::{AtomicUsize, Ordering};

use libc::{clockid_t, size_t, ssize_t, time_t, timespec, timeval};

/// A C library function this crate stands in front of, found on first use.
struct Real {
    name: &'static CStr,
    /// Its address; 0 until found.
    address: AtomicUsize,
}

impl Real {
    const fn new(name: &'static CStr) -> Self {
        Self {
            name,
            address: AtomicUsize::new(0),
        }
    }

    /// The function's address, or 0 if the C library lacks it.
    fn address(&self) -> usize {
        let known = self.address.load(Ordering::Relaxed);
        if known != 0 {
            return known;
        }
        // SAFETY: `name` is a valid C string; RTLD_NEXT asks for the
        // definition after this executable's, the C library's.
        let found = unsafe { libc::dlsym(libc::RTLD_NEXT, self.name.as_ptr()) } as usize;
        self.address.store(found, Ordering::Relaxed);
        found
    }
}

static CLOCK_GETTIME: Real = Real::new(c"clock_gettime");
static GETTIMEOFDAY: Real = Real::new(c"gettimeofday");
static TIME: Real = Real::new(c"time");
static GETRANDOM: Real = Real::new(c"getrandom");
static GETENTROPY: Real = Real::new(c"getentropy");

/// Whether a clock is a wall clock (`Some(true)`), a monotonic one
/// (`Some(false)`), or one the simulation does not answer (CPU time).
fn kind(clock: clockid_t) -> Option<bool> {
    match clock {
        libc::CLOCK_REALTIME | libc::CLOCK_REALTIME_COARSE | libc::CLOCK_TAI => Some(true),
        libc::CLOCK_MONOTONIC
        | libc::CLOCK_MONOTONIC_RAW
        | libc::CLOCK_MONOTONIC_COARSE
        | libc::CLOCK_BOOTTIME => Some(false),
        _ => None,
    }
}

/// The C library's `clock_gettime`, or the system call if it has none.
unsafe fn real_clock_gettime(clock: clockid_t, time: *mut timespec) -> c_int {
    match CLOCK_GETTIME.address() {
        0 => libc::syscall(libc::SYS_clock_gettime, clock, time) as c_int,
        address => {
            // SAFETY: the C library's function of this name has this type.
            let real: unsafe extern "C" fn(clockid_t, *mut timespec) -> c_int =
                std::mem::transmute(address);
            real(clock, time)
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn clock_gettime(clock: clockid_t, time: *mut timespec) -> c_int {
    if !time.is_null() {
        if let Some(reading) = kind(clock).and_then(super::clock) {
            (*time).tv_sec = time_t::try_from(reading.as_secs()).unwrap_or(time_t::MAX);
            (*time).tv_nsec = reading.subsec_nanos().into();
            return 0;
        }
    }
    real_clock_gettime(clock, time)
}

#[no_mangle]
pub unsafe extern "C" fn gettimeofday(time: *mut timeval, zone: *mut c_void) -> c_int {
    if let Some(reading) = super::clock(true) {
        if !time.is_null() {
            (*time).tv_sec = time_t::try_from(reading.as_secs()).unwrap_or(time_t::MAX);
            (*time).tv_usec = reading.subsec_micros().into();
        }
        if !zone.is_null() {
            // The obsolete `struct timezone`: two ints, UTC.
            zone.cast::<[c_int; 2]>().write([0, 0]);
        }
        return 0;
    }
    match GETTIMEOFDAY.address() {
        0 => libc::syscall(libc::SYS_gettimeofday, time, zone) as c_int,
        address => {
            // SAFETY: the C library's function of this name has this type.
            let real: unsafe extern "C" fn(*mut timeval, *mut c_void) -> c_int =
                std::mem::transmute(address);
            real(time, zone)
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn time(out: *mut time_t) -> time_t {
    let seconds = match (super::clock(true), TIME.address()) {
        (Some(reading), _) => time_t::try_from(reading.as_secs()).unwrap_or(time_t::MAX),
        (None, 0) => {
            let mut now = timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            if real_clock_gettime(libc::CLOCK_REALTIME, &mut now) != 0 {
                return -1;
            }
            now.tv_sec
        }
        (None, address) => {
            // SAFETY: the C library's function of this name has this type.
            let real: unsafe extern "C" fn(*mut time_t) -> time_t = std::mem::transmute(address);
            return real(out);
        }
    };
    if !out.is_null() {
        *out = seconds;
    }
    seconds
}

/// Fills `length` bytes at `buffer` from the case's stream, if this
/// thread's randomness is simulated.
unsafe fn simulated_fill(buffer: *mut c_void, length: size_t) -> bool {
    if buffer.is_null() {
        return length == 0 && super::randomness(&mut []);
    }
    // SAFETY: the caller hands `length` writable bytes at `buffer`.
    super::randomness(std::slice::from_raw_parts_mut(buffer.cast::<u8>(), length))
}

#[no_mangle]
pub unsafe extern "C" fn getrandom(buffer: *mut c_void, length: size_t, flags: c_uint) -> ssize_t {
    if simulated_fill(buffer, length) {
        return ssize_t::try_from(length).unwrap_or(ssize_t::MAX);
    }
    match GETRANDOM.address() {
        0 => libc::syscall(libc::SYS_getrandom, buffer, length, flags) as ssize_t,
        address => {
            // SAFETY: the C library's function of this name has this type.
            let real: unsafe extern "C" fn(*mut c_void, size_t, c_uint) -> ssize_t =
                std::mem::transmute(address);
            real(buffer, length, flags)
        }
    }
}

/// The most `getentropy` hands out at once, as POSIX says.
const GETENTROPY_MAX: size_t = 256;

#[no_mangle]
pub unsafe extern "C" fn getentropy(buffer: *mut c_void, length: size_t) -> c_int {
    if length <= GETENTROPY_MAX && simulated_fill(buffer, length) {
        return 0;
    }
    match GETENTROPY.address() {
        0 => {
            let read = libc::syscall(libc::SYS_getrandom, buffer, length, 0);
            if usize::try_from(read) == Ok(length) {
                0
            } else {
                -1
            }
        }
        address => {
            // SAFETY: the C library's function of this name has this type.
            let real: unsafe extern "C" fn(*mut c_void, size_t) -> c_int =
                std::mem::transmute(address);
            real(buffer, length)
        }
    }
}
