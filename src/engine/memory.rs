//! Memory: the bytes a case holds, counted by a global allocator, and the
//! process's peak resident set.
//!
//! A case runs on a thread of its own (see the director), and everything
//! it runs, turmoil, tokio and the service, allocates on that thread. So
//! [`Allocator`] counts bytes per thread: the thread that runs a case
//! resets its count as the case begins, and its count then is what the
//! case holds, without a lock or a shared counter on any allocation. A
//! count is what a thread allocated less what it freed, never below zero:
//! a thread may free what another allocated (a case's trace handed back,
//! a value allocated before the reset), and that frees none of its own.
//!
//! Counting needs the allocator installed in the binary that runs cases,
//! and only the binary can install it (`#[global_allocator]`); without it,
//! [`installed`] says so and the counts stay zero. The peak resident set
//! ([`peak_rss_bytes`]) needs nothing installed: the operating system
//! keeps it, for the whole process.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

/// A global allocator that counts, per thread, the bytes allocated and not
/// yet freed, so a run can be judged for the memory it holds
/// ([`Limits::memory_max_bytes`](crate::Limits)). It allocates through
/// [`System`], std's default, and adds two thread-local additions to each
/// allocation: a few nanoseconds.
///
/// Install it in each binary that runs cases (a test binary of a
/// [`Suite`](crate::Suite), say) with these two lines:
///
/// ```
/// #[global_allocator]
/// static ALLOC: lifecycle_sim::Allocator = lifecycle_sim::Allocator;
/// # fn main() {}
/// ```
///
/// A binary without it runs as before: its cases are never judged for
/// their memory.
#[derive(Debug, Clone, Copy, Default)]
pub struct Allocator;

/// Set at the first allocation through [`Allocator`]: a binary allocates
/// before `main`, so by the time a case runs it is set if the allocator is
/// installed at all.
static INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    // `const` and without a destructor: reading them allocates nothing
    // and registers nothing, so the allocator may use them.
    /// Bytes this thread allocated and has not freed since its reset.
    static HELD_BYTES: Cell<u64> = const { Cell::new(0) };
    /// The most `HELD_BYTES` has been since the reset.
    static PEAK_BYTES: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every allocation and release is `System`'s, with the caller's
// layout unchanged; the counting around them neither allocates nor
// unwinds (`try_with` returns an error on a thread being torn down).
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc`, passed on.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            grow(layout.size());
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc_zeroed`, passed on.
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            grow(layout.size());
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc`: `pointer` came from
        // this allocator, that is from `System`, with `layout`.
        unsafe { System.dealloc(pointer, layout) };
        shrink(layout.size());
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `realloc`, passed on.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            if new_size >= layout.size() {
                grow(new_size - layout.size());
            } else {
                shrink(layout.size() - new_size);
            }
        }
        moved
    }
}

/// Counts `bytes` allocated on this thread.
#[inline]
fn grow(bytes: usize) {
    // A load first: once set, the flag's cache line is only read, not
    // written by every thread at every allocation.
    if !INSTALLED.load(Ordering::Relaxed) {
        INSTALLED.store(true, Ordering::Relaxed);
    }
    let _ = HELD_BYTES.try_with(|held| {
        let now = held.get().saturating_add(bytes as u64);
        held.set(now);
        let _ = PEAK_BYTES.try_with(|peak| {
            if now > peak.get() {
                peak.set(now);
            }
        });
    });
}

/// Counts `bytes` freed on this thread: at most what it holds, as a
/// thread may free what another allocated.
#[inline]
fn shrink(bytes: usize) {
    let _ = HELD_BYTES.try_with(|held| held.set(held.get().saturating_sub(bytes as u64)));
}

/// Whether this binary installed [`Allocator`]: without it, the counts
/// are zero and say nothing.
pub(crate) fn installed() -> bool {
    INSTALLED.load(Ordering::Relaxed)
}

/// Bytes this thread holds: allocated and not freed since its last
/// [`reset_thread`] (or its start).
#[cfg(test)]
pub(crate) fn thread_bytes() -> u64 {
    HELD_BYTES.try_with(Cell::get).unwrap_or(0)
}

/// The most [`thread_bytes`] has been since the last [`reset_thread`].
pub(crate) fn thread_peak_bytes() -> u64 {
    PEAK_BYTES.try_with(Cell::get).unwrap_or(0)
}

/// Starts this thread's counts again from zero: a case's thread calls it
/// as the case begins, so what was allocated before is not the case's.
pub(crate) fn reset_thread() {
    let _ = HELD_BYTES.try_with(|held| held.set(0));
    let _ = PEAK_BYTES.try_with(|peak| peak.set(0));
}

/// The most memory the process has held resident so far (Linux's
/// `VmHWM`, in `/proc/self/status`): the whole process's, every thread
/// and every case, whether or not [`Allocator`] is installed. `None` where
/// the operating system does not say.
pub(crate) fn peak_rss_bytes() -> Option<u64> {
    if cfg!(target_os = "linux") {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        high_water_mark(&status)
    } else {
        None
    }
}

/// The `VmHWM:` line of a `/proc/<pid>/status` text, in bytes (the file
/// says kB, meaning KiB).
fn high_water_mark(status: &str) -> Option<u64> {
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?;
    let kibibytes = line.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()?;
    kibibytes.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use std::hint::black_box;
    use std::time::Instant;

    use super::*;

    const MIB: usize = 1 << 20;

    #[test]
    fn the_test_binary_installs_the_allocator() {
        // `lib.rs` installs it for the library's tests.
        drop(black_box(vec![0_u8; 16]));
        assert!(installed());
    }

    #[test]
    fn a_thread_counts_what_it_holds_and_its_peak() {
        reset_thread();
        assert_eq!(thread_bytes(), 0);
        assert_eq!(thread_peak_bytes(), 0);
        let block = black_box(vec![1_u8; MIB]);
        assert!(thread_bytes() >= MIB as u64, "{}", thread_bytes());
        drop(block);
        assert!(thread_bytes() < MIB as u64, "{}", thread_bytes());
        assert!(thread_peak_bytes() >= MIB as u64, "{}", thread_peak_bytes());
    }

    #[test]
    fn a_reset_forgets_what_was_held_before() {
        let before = black_box(vec![1_u8; MIB]);
        reset_thread();
        assert_eq!(thread_bytes(), 0);
        assert_eq!(thread_peak_bytes(), 0);
        // Freeing what was allocated before the reset frees none of the
        // thread's count since: it stays at zero, not below.
        drop(before);
        assert_eq!(thread_bytes(), 0);
    }

    #[test]
    fn a_growing_buffer_is_counted_at_its_size() {
        reset_thread();
        let mut buffer: Vec<u8> = Vec::with_capacity(16);
        buffer.resize(4 * MIB, 1);
        let held = thread_bytes();
        assert!(held >= (4 * MIB) as u64, "{held}");
        buffer.truncate(16);
        buffer.shrink_to_fit();
        assert!(thread_bytes() < MIB as u64, "{}", thread_bytes());
        assert!(thread_peak_bytes() >= (4 * MIB) as u64);
    }

    #[test]
    fn freeing_on_another_thread_does_not_underflow_either_count() {
        let (sender, receiver) = std::sync::mpsc::channel();
        let allocating = std::thread::spawn(move || {
            reset_thread();
            sender.send(vec![1_u8; MIB]).unwrap();
            thread_bytes()
        });
        let freeing = std::thread::spawn(move || {
            reset_thread();
            drop(receiver.recv().unwrap());
            thread_bytes()
        });
        // The allocating thread still counts the block it gave away; the
        // freeing thread, which allocated little, is not wrapped around
        // to nearly 2^64.
        assert!(allocating.join().unwrap() >= MIB as u64);
        assert!(freeing.join().unwrap() < MIB as u64);
    }

    #[test]
    fn a_new_thread_starts_from_zero() {
        let counts = std::thread::spawn(|| (thread_bytes(), thread_peak_bytes()))
            .join()
            .unwrap();
        // What the thread's start allocated (its name, its output capture).
        assert!(counts.0 < MIB as u64 && counts.1 < MIB as u64, "{counts:?}");
    }

    #[test]
    fn the_peak_resident_set_covers_memory_written() {
        let Some(before) = peak_rss_bytes() else {
            // Only Linux says; elsewhere there is nothing to check.
            assert_ne!(std::env::consts::OS, "linux", "Linux has /proc/self/status");
            return;
        };
        assert!(before > 0);
        // Written, so resident; the peak covers it whatever other tests do.
        let block = black_box(vec![1_u8; 16 * MIB]);
        let after = peak_rss_bytes().expect("read before");
        assert!(after >= before && after >= (16 * MIB) as u64, "{after}");
        drop(block);
    }

    #[test]
    fn the_high_water_mark_is_read_in_bytes() {
        let status = "Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    1234 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(high_water_mark(status), Some(1234 * 1024));
        assert_eq!(high_water_mark("VmRSS:\t1 kB\n"), None);
        assert_eq!(high_water_mark("VmHWM:\tlots kB\n"), None);
    }

    /// What counting costs an allocation and its release, against
    /// `System`'s own. Ad hoc, not a check (timings vary by machine):
    /// `cargo test --release --lib memory::tests::cost -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement: run it by name with --ignored --nocapture"]
    fn cost_of_counting_an_allocation() {
        const ROUNDS: u32 = 4_000_000;
        const REPEATS: usize = 9;
        fn time<A: GlobalAlloc>(allocator: &A, size: usize) -> f64 {
            let layout = Layout::from_size_align(size, 8).unwrap();
            let started = Instant::now();
            for _ in 0..ROUNDS {
                // SAFETY: a non-zero layout, freed with the same layout.
                unsafe {
                    let pointer = allocator.alloc(black_box(layout));
                    allocator.dealloc(black_box(pointer), layout);
                }
            }
            started.elapsed().as_nanos() as f64 / f64::from(ROUNDS)
        }
        for size in [16, 256, 4096] {
            // The sides alternate, so neither gains by going first, and
            // the fastest of each is kept: noise only ever adds time.
            let (mut system, mut counted) = (f64::MAX, f64::MAX);
            for _ in 0..REPEATS {
                system = system.min(time(&System, size));
                counted = counted.min(time(&Allocator, size));
            }
            println!(
                "{size:>5} B: System {system:.1} ns, Allocator {counted:.1} ns \
                 (alloc+free; counting {:+.1} ns)",
                counted - system
            );
        }
    }
}
