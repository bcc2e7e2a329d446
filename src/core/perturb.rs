//! Perturbation of real threads: where the threads backend makes a
//! service's threads run at moments they otherwise rarely would.
//!
//! A race between two threads needs one of them to run inside the other's
//! window, often a few instructions wide. On an idle machine that is rare
//! (the seeds' drain hang took a median of 1.7 s of looping with logging
//! on, 50 s with it off: the log line inside the window widened it). So at
//! points the harness owns, each thread of a process sometimes spins a few
//! microseconds or gives up its core: in the socket polls, at
//! [`preempt`](crate::preempt), and at every event the service logs through
//! `tracing`. Every choice comes from a per-thread generator seeded from
//! the case's seed; what the kernel does with the time does not, so a case
//! does not replay exactly.
//!
//! Threads the harness did not configure (the simulation's, a user's own)
//! are never perturbed: a point there is a thread-local read and nothing
//! more.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::case::backend::Perturbation;

/// One perturbation point in this many does nothing.
const IDLE_ONE_IN: u32 = 2;
/// The longest spin a point makes, whatever `spin_max` says: a point must
/// not stall a thread for long.
const SPIN_CEILING: Duration = Duration::from_millis(10);

thread_local! {
    /// This thread's perturbation, if the threads backend configured it.
    static THREAD: RefCell<Option<Perturber>> = const { RefCell::new(None) };
}

/// One thread's perturbation: what is on, and its own generator.
struct Perturber {
    perturbation: Perturbation,
    rng: SmallRng,
}

/// Where a perturbation point is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Site {
    /// A poll of the harness's listener or stream, or a `preempt` point.
    Socket,
    /// An event the service logged.
    Log,
}

/// Configures perturbation on this thread for the rest of its life (a
/// thread of a process's runtime): `seed` draws its choices.
pub(crate) fn configure_thread(perturbation: Perturbation, seed: u64) {
    THREAD.with(|thread| {
        *thread.borrow_mut() = Some(Perturber {
            perturbation,
            rng: SmallRng::seed_from_u64(seed),
        });
    });
    // The subscriber's events are points: where spins are on, and where
    // pinning's timer is armed (just after a log line, inside the window
    // it may sit in).
    if (perturbation.tracing && !perturbation.spin_max.is_zero()) || perturbation.pin {
        // Kept for the thread's life: the thread ends with its runtime.
        std::mem::forget(tracing::subscriber::set_default(Logs::default()));
    }
}

/// A perturbation point: on a configured thread, sometimes a short spin
/// or a yield of the core; elsewhere, nothing.
pub(crate) fn point(site: Site) {
    let spin = THREAD.with(|thread| {
        let mut thread = thread.borrow_mut();
        let perturber = thread.as_mut()?;
        let perturbation = perturber.perturbation;
        if perturbation.pin {
            // Preempted a few microseconds on, wherever the thread has got
            // to: inside the window that follows this point, often.
            let after = perturber
                .rng
                .random_range(PREEMPT_AFTER_MIN_US..=PREEMPT_AFTER_MAX_US);
            #[cfg(target_os = "linux")]
            preemption::arm(Duration::from_micros(after));
            #[cfg(not(target_os = "linux"))]
            let _ = after;
        }
        let on = match site {
            Site::Socket => perturbation.sockets,
            Site::Log => perturbation.tracing,
        };
        if !on || perturbation.spin_max.is_zero() || perturber.rng.random_ratio(1, IDLE_ONE_IN) {
            return None;
        }
        // A yield one time in four, else a spin of up to `spin_max`.
        if perturber.rng.random_ratio(1, 4) {
            return Some(Duration::ZERO);
        }
        let spin_max = perturbation.spin_max.min(SPIN_CEILING);
        let micros = u64::try_from(spin_max.as_micros()).unwrap_or(1).max(1);
        Some(Duration::from_micros(
            perturber.rng.random_range(1..=micros),
        ))
    });
    match spin {
        None => {}
        Some(Duration::ZERO) => std::thread::yield_now(),
        Some(spin) => {
            let until = Instant::now() + spin;
            // Bounded by `spin_max`: the clock moves on.
            while Instant::now() < until {
                std::hint::spin_loop();
            }
        }
    }
}

/// Pins this thread to `core` (Linux); elsewhere, or if the kernel
/// refuses, the thread runs where the kernel puts it.
pub(crate) fn pin_thread(core: usize) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `set` is a zeroed CPU set with one bit set, passed with
        // its own size for the calling thread (pid 0).
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(core % libc::CPU_SETSIZE as usize, &mut set);
            let refused = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
            if refused != 0 {
                tracing::debug!(core, "could not pin a thread to its core");
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = core;
}

/// How long after a perturbation point a pinned thread's timer preempts
/// it, in microseconds: long enough for the thread to have run on past
/// the point into what follows, short enough to land in a window of a few
/// lines. Each point draws its own.
const PREEMPT_AFTER_MIN_US: u64 = 2;
const PREEMPT_AFTER_MAX_US: u64 = 60;

/// Gives this thread its preemption timer (Linux; elsewhere nothing),
/// which each perturbation point then arms: a signal whose handler gives
/// up the core, so that another thread pinned to it runs there, as rr's
/// chaos mode and PCT-style schedulers preempt. Deleted when the thread
/// ends.
pub(crate) fn create_preemption_timer() {
    #[cfg(target_os = "linux")]
    preemption::create();
}

/// The preemption timer (Linux): a one-shot per-thread timer on the
/// monotonic clock (high resolution: a CPU-time clock's timers fire only at
/// the kernel's tick, 4 ms here, as coarse as its own slice) that sends
/// `SIGURG` to its own thread. A periodic timer would wake every idle
/// thread too, hundreds of thousands of times a second across a campaign's
/// processes, and starve the machine; one armed at each perturbation point
/// costs at most one signal a point. `SIGURG` is ignored by default and
/// carries nothing a server needs (Go's runtime preempts with it for the
/// same reason). The handler is installed once per process, with
/// `SA_RESTART`; a thread that blocked in a call the kernel does not
/// restart (`epoll_wait`) before its timer fired is woken with `EINTR`,
/// which tokio's driver retries.
#[cfg(target_os = "linux")]
mod preemption {
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Once;
    use std::time::Duration;

    thread_local! {
        /// This thread's timer, deleted when the thread ends.
        static TIMER: RefCell<Option<Timer>> = const { RefCell::new(None) };
    }

    static HANDLER: Once = Once::new();

    /// Preemptions so far, in the whole process (an atomic add is safe in
    /// a signal handler).
    pub(super) static PREEMPTIONS: AtomicU64 = AtomicU64::new(0);

    struct Timer(libc::timer_t);

    impl Drop for Timer {
        fn drop(&mut self) {
            // SAFETY: the timer was created by `arm` and is deleted once.
            unsafe {
                libc::timer_delete(self.0);
            }
        }
    }

    /// The signal handler: gives up the core. `sched_yield` is one system
    /// call, touching no memory of the interrupted thread.
    extern "C" fn preempted(_: libc::c_int) {
        PREEMPTIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: a system call with no arguments.
        unsafe {
            libc::sched_yield();
        }
    }

    fn install_handler() -> bool {
        let mut installed = true;
        HANDLER.call_once(|| {
            // SAFETY: a zeroed `sigaction` with an empty mask and a handler
            // of the signature `sa_handler` expects.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = preempted as extern "C" fn(libc::c_int) as usize;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                installed = libc::sigaction(libc::SIGURG, &action, std::ptr::null_mut()) == 0;
            }
        });
        installed
    }

    // `c_long` is 32 bits on some targets, where the conversion can fail.
    #[allow(clippy::unnecessary_fallible_conversions)]
    fn timespec(duration: Duration) -> libc::timespec {
        libc::timespec {
            tv_sec: libc::time_t::try_from(duration.as_secs()).unwrap_or(0),
            tv_nsec: libc::c_long::try_from(duration.subsec_nanos()).unwrap_or(0),
        }
    }

    pub(super) fn create() {
        if !install_handler() {
            tracing::debug!("could not install the preemption signal's handler");
            return;
        }
        // SAFETY: `event` is a zeroed `sigevent` naming this thread; the
        // created timer is kept in this thread's `TIMER` and deleted once.
        unsafe {
            let mut event: libc::sigevent = std::mem::zeroed();
            event.sigev_notify = libc::SIGEV_THREAD_ID;
            event.sigev_signo = libc::SIGURG;
            event.sigev_notify_thread_id = libc::gettid();
            let mut timer: libc::timer_t = std::ptr::null_mut();
            if libc::timer_create(libc::CLOCK_MONOTONIC, &mut event, &mut timer) != 0 {
                tracing::debug!("could not create a thread's preemption timer");
                return;
            }
            TIMER.with(|slot| *slot.borrow_mut() = Some(Timer(timer)));
        }
    }

    /// Arms this thread's timer, if it has one, to fire once `after` from
    /// now (replacing a shot not yet fired).
    pub(super) fn arm(after: Duration) {
        TIMER.with(|slot| {
            if let Some(timer) = slot.borrow().as_ref() {
                let spec = libc::itimerspec {
                    it_interval: timespec(Duration::ZERO),
                    it_value: timespec(after),
                };
                // SAFETY: a live timer of this thread's, a valid spec.
                unsafe {
                    libc::timer_settime(timer.0, 0, &spec, std::ptr::null_mut());
                }
            }
        });
    }
}

/// The `tracing` subscriber of a process's threads: it records nothing,
/// and perturbs at every event the service logs.
#[derive(Debug, Default)]
struct Logs {
    spans: AtomicU64,
}

impl tracing::Subscriber for Logs {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(self.spans.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, _: &tracing::Event<'_>) {
        point(Site::Log);
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_the_backend_did_not_configure_is_not_perturbed() {
        let started = Instant::now();
        for _ in 0..10_000 {
            point(Site::Socket);
        }
        // Nothing spins: ten thousand points are thread-local reads.
        assert!(started.elapsed() < Duration::from_millis(500));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_pinned_thread_is_preempted_after_its_points_and_runs_on() {
        // Each point arms the timer; a thread that runs on past it is
        // preempted, and the handler only yields: the work finishes.
        let before = preemption::PREEMPTIONS.load(Ordering::Relaxed);
        let summed = std::thread::spawn(|| {
            configure_thread(
                Perturbation {
                    pin: true,
                    ..Perturbation::OFF
                },
                3,
            );
            create_preemption_timer();
            let mut sum = 0_u64;
            for _ in 0..100 {
                point(Site::Socket);
                let started = Instant::now();
                // 200 µs of work after the point, past its longest delay.
                while started.elapsed() < Duration::from_micros(200) {
                    sum = sum.wrapping_add(std::hint::black_box(1));
                }
            }
            sum
        })
        .join()
        .expect("the thread runs");
        assert!(summed > 0);
        let preempted = preemption::PREEMPTIONS.load(Ordering::Relaxed) - before;
        assert!(preempted >= 50, "{preempted} preemptions after 100 points");
    }

    #[test]
    fn a_configured_thread_spins_within_its_bound_and_sees_its_logs() {
        let spun = std::thread::spawn(|| {
            let perturbation = Perturbation {
                spin_max: Duration::from_micros(200),
                ..Perturbation::default()
            };
            configure_thread(perturbation, 7);
            let started = Instant::now();
            for _ in 0..100 {
                tracing::info!("a log line inside a window");
            }
            started.elapsed()
        })
        .join()
        .expect("the thread runs");
        // About half of 100 events spin, each up to 200 µs: well above
        // nothing, well below 100 × 200 µs.
        assert!(spun > Duration::from_micros(500), "{spun:?}");
        assert!(spun < Duration::from_millis(500), "{spun:?}");
    }
}
