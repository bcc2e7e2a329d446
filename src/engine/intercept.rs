//! Std's clocks and the operating system's randomness, answered from the
//! simulation while a case runs on a thread.
//!
//! A user's server is not written for simulation: it reads
//! `std::time::Instant::now()` and `SystemTime::now()` (rate limiters,
//! `Date` headers, libraries' own timeouts) and draws OS randomness
//! (`HashMap`'s `RandomState`, `rand::rng()`, request ids). Left alone,
//! each makes a seed replay differently. So, on Linux with glibc and the
//! default-on `intercept` feature, the crate defines the C library's
//! `clock_gettime`, `gettimeofday`, `time`, `getrandom` and `getentropy`
//! (see `overrides`). While an [`Installed`] guard lives on a thread, those
//! calls on that thread answer:
//!
//! - the monotonic clocks: [`MONOTONIC_BASE`] plus the simulated time
//!   elapsed, so an `Instant` minus a minute never underflows;
//! - the wall clocks: the simulation's epoch plus the time elapsed;
//! - randomness: a stream drawn from the case's seed (`seed::derive`).
//!
//! Everywhere else, on other threads and outside a case, the calls go to
//! the C library's own functions. The guard also counts the reads, so a
//! case that does not replay can say whether it read clocks or randomness
//! the harness did not answer (interception off, or not compiled in).
//!
//! Std draws a thread's `RandomState` keys once, at its first use, and
//! then counts them up; a case therefore runs on a fresh thread, so that
//! its keys come from its own seed wherever and however often it runs.
//!
//! What is not covered: threads the service starts itself
//! (`spawn_blocking`, `std::thread::spawn`), other platforms (the calls go
//! to the operating system; `compiled_in` says so), and code that makes the
//! system calls directly rather than through the C library.

#[cfg(all(feature = "intercept", target_os = "linux", target_env = "gnu"))]
mod overrides;

use std::cell::Cell;
use std::marker::PhantomData;
use std::thread::LocalKey;
use std::time::Duration;

use super::world::EPOCH_SECONDS;
use crate::case::seed::derive;
use crate::case::verdict::Reads;

/// Where the simulated monotonic clock starts: ten years, so that code
/// subtracting a duration from an early `Instant` does not underflow.
pub(crate) const MONOTONIC_BASE: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// How a thread's clock and randomness reads are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// By the operating system, uncounted: no case runs on this thread.
    Through,
    /// By the operating system, counted: a case runs with interception off.
    Counted,
    /// From the simulation, counted.
    Simulated,
}

// Const-initialised and free of destructors, so the overrides can read them
// at any point of a thread's life without allocating or registering.
thread_local! {
    static MODE: Cell<Mode> = const { Cell::new(Mode::Through) };
    static ELAPSED_NANOS: Cell<u64> = const { Cell::new(0) };
    static RANDOM_STATE: Cell<u64> = const { Cell::new(0) };
    static CLOCK_READS: Cell<u64> = const { Cell::new(0) };
    static RANDOM_READS: Cell<u64> = const { Cell::new(0) };
}

/// Interception on this thread for one case, until dropped.
#[derive(Debug)]
pub(crate) struct Installed {
    /// The reads happen on the thread that installed it.
    _thread: PhantomData<*const ()>,
}

impl Installed {
    /// Answers this thread's clock and randomness reads from the case's
    /// `seed` and simulated time if `intercepting` (and compiled in);
    /// otherwise passes them through, counting them.
    pub(crate) fn new(seed: u64, intercepting: bool) -> Self {
        let mode = if intercepting && compiled_in() {
            Mode::Simulated
        } else {
            Mode::Counted
        };
        MODE.set(mode);
        ELAPSED_NANOS.set(0);
        RANDOM_STATE.set(derive(seed, "os-randomness"));
        CLOCK_READS.set(0);
        RANDOM_READS.set(0);
        Self {
            _thread: PhantomData,
        }
    }

    /// The reads counted on this thread since it was installed.
    pub(crate) fn reads(&self) -> Reads {
        Reads {
            clock: CLOCK_READS.get(),
            randomness: RANDOM_READS.get(),
            simulated: MODE.get() == Mode::Simulated,
        }
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        MODE.set(Mode::Through);
    }
}

/// Whether the overrides are part of this build: the `intercept` feature,
/// on Linux with glibc.
pub(crate) const fn compiled_in() -> bool {
    cfg!(all(
        feature = "intercept",
        target_os = "linux",
        target_env = "gnu"
    ))
}

/// Sets the simulated time this thread's clocks show, as the case's
/// simulation advances.
pub(crate) fn set_elapsed(elapsed: Duration) {
    ELAPSED_NANOS.set(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
}

/// What a clock read on this thread answers: `Some` simulated time since
/// the clock's origin if the read is simulated, `None` to ask the system.
/// Counts the read while a case runs.
#[cfg_attr(not(test), allow(dead_code))]
fn clock(wall: bool) -> Option<Duration> {
    if !simulated(&CLOCK_READS) {
        return None;
    }
    let elapsed = Duration::from_nanos(ELAPSED_NANOS.try_with(Cell::get).unwrap_or(0));
    let origin = if wall {
        Duration::from_secs(EPOCH_SECONDS)
    } else {
        MONOTONIC_BASE
    };
    Some(origin + elapsed)
}

/// Fills `bytes` from the case's stream if this thread's randomness is
/// simulated, and says whether it did. Counts the draw while a case runs.
#[cfg_attr(not(test), allow(dead_code))]
fn randomness(bytes: &mut [u8]) -> bool {
    if !simulated(&RANDOM_READS) {
        return false;
    }
    let Ok(mut state) = RANDOM_STATE.try_with(Cell::get) else {
        return false;
    };
    for chunk in bytes.chunks_mut(8) {
        let word = splitmix(&mut state).to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    let _ = RANDOM_STATE.try_with(|stream| stream.set(state));
    true
}

/// Whether this thread's read is the simulation's to answer; counts it
/// in `reads` while a case runs, answered by the simulation or not.
fn simulated(reads: &'static LocalKey<Cell<u64>>) -> bool {
    let mode = MODE.try_with(Cell::get).unwrap_or(Mode::Through);
    if mode != Mode::Through {
        let _ = reads.try_with(|reads| reads.set(reads.get() + 1));
    }
    mode == Mode::Simulated
}

/// SplitMix64: one word of the stream, and the stream moved on. Small,
/// allocation-free and well mixed; the stream only has to replay, not to
/// be secret.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use std::collections::hash_map::RandomState;
    use std::hash::BuildHasher;
    use std::time::{Instant, SystemTime};

    use super::*;

    /// Runs `f` on a fresh thread, as a case runs.
    fn on_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::spawn(f).join().expect("the thread ran")
    }

    fn keys_hash(seed: u64, intercepting: bool) -> u64 {
        on_thread(move || {
            let _installed = Installed::new(seed, intercepting);
            RandomState::new().hash_one("a key")
        })
    }

    #[test]
    fn std_clocks_show_simulated_time_while_installed() {
        if !compiled_in() {
            return;
        }
        let (monotonic, wall, reads) = on_thread(|| {
            let installed = Installed::new(1, true);
            let start = Instant::now();
            set_elapsed(Duration::from_millis(1_500));
            let monotonic = Instant::now() - start;
            let wall = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .expect("after the epoch");
            // A minute before the simulation's start is still an instant.
            let _ = start
                .checked_sub(Duration::from_secs(60))
                .expect("no underflow");
            (monotonic, wall, installed.reads())
        });
        assert_eq!(monotonic, Duration::from_millis(1_500));
        assert_eq!(
            wall,
            Duration::from_secs(EPOCH_SECONDS) + Duration::from_millis(1_500)
        );
        assert_eq!(reads.clock, 3);
    }

    #[test]
    fn clocks_pass_through_outside_a_case_and_when_switched_off() {
        fn real(wall: SystemTime) -> bool {
            wall.duration_since(SystemTime::UNIX_EPOCH)
                .expect("after the epoch")
                > Duration::from_secs(EPOCH_SECONDS + 365 * 24 * 3600)
        }
        assert!(real(SystemTime::now()));
        let (wall, reads) = on_thread(|| {
            let installed = Installed::new(1, false);
            (SystemTime::now(), installed.reads())
        });
        assert!(real(wall));
        assert_eq!(reads.clock, u64::from(compiled_in()));
        assert!(on_thread(|| {
            drop(Installed::new(1, true));
            real(SystemTime::now())
        }));
    }

    #[test]
    fn random_state_keys_come_from_the_seed_on_a_fresh_thread() {
        if !compiled_in() {
            return;
        }
        assert_eq!(keys_hash(7, true), keys_hash(7, true));
        assert_ne!(keys_hash(7, true), keys_hash(8, true));
        assert_ne!(keys_hash(7, false), keys_hash(7, false));
    }

    /// Why each case needs a thread of its own: std draws a thread's keys
    /// once and counts them up, so the same seed installed again on the
    /// same thread does not see the same keys.
    #[test]
    fn random_state_keys_are_drawn_once_per_thread() {
        if !compiled_in() {
            return;
        }
        let (first, second) = on_thread(|| {
            let first = {
                let _installed = Installed::new(7, true);
                RandomState::new().hash_one("a key")
            };
            let _installed = Installed::new(7, true);
            (first, RandomState::new().hash_one("a key"))
        });
        assert_eq!(first, keys_hash(7, true));
        assert_ne!(first, second);
    }

    #[test]
    fn os_randomness_follows_the_seed_and_is_counted() {
        let draw = |seed: u64| {
            on_thread(move || {
                let installed = Installed::new(seed, true);
                let mut bytes = [0_u8; 13];
                let filled = randomness(&mut bytes);
                (filled, bytes, installed.reads().randomness)
            })
        };
        let (filled, bytes, reads) = draw(3);
        assert_eq!(filled, compiled_in());
        assert_eq!(reads, 1);
        if filled {
            assert_eq!(draw(3).1, bytes);
            assert_ne!(draw(4).1, bytes);
        }
        let mut bytes = [0_u8; 4];
        assert!(!randomness(&mut bytes), "no case runs on the test's thread");
        assert_eq!(clock(true), None);
    }
}
