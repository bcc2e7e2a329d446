//! The watchdog: one thread for the whole process that sees a run whose
//! step has not returned, and a run past its wall-time bound.
//!
//! A run's thread steps the simulation; a step runs every host for one
//! tick, and a host's code runs inside it. A service that blocks its thread
//! (`std::thread::sleep`, a busy loop, a lock never released) stops the
//! step from returning, and nothing on that thread can see it. So each run
//! has a [`Pulse`]: its thread counts its steps into it, and the watchdog
//! reads the counts. A count that has not moved for
//! [`Limits::blocked_max`](crate::case::Limits) is a blocked run: the
//! watchdog tells the thread waiting for the run, which reports it as
//! blocked and goes on, leaving the run's thread to end when its step
//! returns (it then sees it was given up) or with the process.
//!
//! The watchdog also keeps each run's wall-time bound, so that a run's own
//! thread never reads the wall clock: while a case runs, that thread's
//! clocks show simulated time (see the `intercept` module).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use crate::case::verdict::Run;
use crate::case::Limits;

/// How often the watchdog looks at the runs it watches: a blocked run is
/// seen within its bound plus twice this.
const POLL: Duration = Duration::from_millis(20);

/// What the thread waiting for a run hears, on one channel: the run, from
/// its own thread, or from the watchdog that the run has been blocked this
/// long in one step.
#[derive(Debug)]
pub(crate) enum Ended {
    Ran(Box<Run>),
    Blocked(Duration),
}

/// One run's signs of life, shared by its thread and the watchdog.
#[derive(Debug)]
pub(crate) struct Pulse {
    /// Moves at every step's start and end: odd while a step runs (the
    /// hosts' code), even while the harness judges between steps.
    beats: AtomicU64,
    /// The simulated time of the latest step, in microseconds.
    at_micros: AtomicU64,
    /// Set by the watchdog: the run is past its wall-time bound.
    overtime: AtomicBool,
    /// How long the run had taken when it went past its bound, in
    /// microseconds.
    overtime_micros: AtomicU64,
    /// Set by the watchdog: the run was judged blocked and given up.
    abandoned: AtomicBool,
    /// Set by the run's thread when the run is over.
    finished: AtomicBool,
    blocked_max: Duration,
    wall_time_max: Duration,
}

impl Pulse {
    fn new(limits: &Limits) -> Self {
        Self {
            beats: AtomicU64::new(0),
            at_micros: AtomicU64::new(0),
            overtime: AtomicBool::new(false),
            overtime_micros: AtomicU64::new(0),
            abandoned: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            blocked_max: limits.blocked_max,
            wall_time_max: limits.wall_time_max,
        }
    }

    /// A step at simulated time `at` begins.
    pub(crate) fn step_begins(&self, at: Duration) {
        let micros = u64::try_from(at.as_micros()).unwrap_or(u64::MAX);
        self.at_micros.store(micros, Ordering::Relaxed);
        self.beats.fetch_add(1, Ordering::Relaxed);
    }

    /// The step that began has returned.
    pub(crate) fn step_ends(&self) {
        self.beats.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether the run should end now: it was given up as blocked, or it
    /// is past its wall-time bound (how long it had taken, then).
    pub(crate) fn overdue(&self) -> Option<Duration> {
        self.overtime
            .load(Ordering::Acquire)
            .then(|| Duration::from_micros(self.overtime_micros.load(Ordering::Relaxed)))
    }

    /// Whether the watchdog gave the run up as blocked.
    pub(crate) fn abandoned(&self) -> bool {
        self.abandoned.load(Ordering::Relaxed)
    }

    /// The run is over; the watchdog forgets it.
    pub(crate) fn finish(&self) {
        self.finished.store(true, Ordering::Relaxed);
    }

    /// The simulated time of the latest step.
    pub(crate) fn at(&self) -> Duration {
        Duration::from_micros(self.at_micros.load(Ordering::Relaxed))
    }

    /// Steps begun so far.
    pub(crate) fn steps(&self) -> u64 {
        self.beats.load(Ordering::Relaxed).div_ceil(2)
    }

    /// Whether the run blocked inside a step (a host's code) rather than
    /// in the harness's own work between steps.
    pub(crate) fn in_step(&self) -> bool {
        self.beats.load(Ordering::Relaxed) % 2 == 1
    }
}

/// One watched run, as the watchdog last saw it.
struct Watched {
    pulse: Arc<Pulse>,
    waiter: Sender<Ended>,
    started: Instant,
    beats: u64,
    beats_seen: Instant,
}

/// The process's watchdog thread and the runs it watches.
pub(crate) struct Watchdog {
    watched: Mutex<Vec<Watched>>,
    /// Wakes the watchdog when a run is added to an empty list.
    added: Condvar,
}

impl Watchdog {
    /// The process's watchdog, its thread started on first use.
    fn get() -> &'static Watchdog {
        static WATCHDOG: OnceLock<&'static Watchdog> = OnceLock::new();
        WATCHDOG.get_or_init(|| {
            let watchdog: &'static Watchdog = Box::leak(Box::new(Watchdog {
                watched: Mutex::new(Vec::new()),
                added: Condvar::new(),
            }));
            // Without its thread no run is bounded in wall time: a process
            // that cannot start one thread cannot start a run's either.
            let _ = std::thread::Builder::new()
                .name("lifecycle-sim watchdog".into())
                .spawn(move || watchdog.watch_forever());
            watchdog
        })
    }

    /// Watches a new run with `limits`: the returned pulse is the run's to
    /// beat; `waiter` hears if the run blocks.
    pub(crate) fn watch(limits: &Limits, waiter: Sender<Ended>) -> Arc<Pulse> {
        let pulse = Arc::new(Pulse::new(limits));
        let now = Instant::now();
        let watchdog = Self::get();
        let mut watched = watchdog.lock();
        watched.push(Watched {
            pulse: Arc::clone(&pulse),
            waiter,
            started: now,
            beats: 0,
            beats_seen: now,
        });
        watchdog.added.notify_one();
        pulse
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Watched>> {
        self.watched.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn watch_forever(&self) {
        let mut watched = self.lock();
        loop {
            if watched.is_empty() {
                watched = self
                    .added
                    .wait(watched)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            let now = Instant::now();
            watched.retain_mut(|run| run.look(now));
            drop(watched);
            std::thread::sleep(POLL);
            watched = self.lock();
        }
    }
}

impl Watched {
    /// Looks at the run; whether to go on watching it.
    fn look(&mut self, now: Instant) -> bool {
        let pulse = &self.pulse;
        if pulse.finished.load(Ordering::Relaxed) {
            return false;
        }
        let beats = pulse.beats.load(Ordering::Relaxed);
        if beats != self.beats {
            self.beats = beats;
            self.beats_seen = now;
        }
        let still = now.saturating_duration_since(self.beats_seen);
        if still > pulse.blocked_max {
            pulse.abandoned.store(true, Ordering::Relaxed);
            let _ = self.waiter.send(Ended::Blocked(still));
            return false;
        }
        let taken = now.saturating_duration_since(self.started);
        if taken > pulse.wall_time_max && !pulse.overtime.load(Ordering::Relaxed) {
            let micros = u64::try_from(taken.as_micros()).unwrap_or(u64::MAX);
            pulse.overtime_micros.store(micros, Ordering::Relaxed);
            pulse.overtime.store(true, Ordering::Release);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn limits(blocked_max: Duration, wall_time_max: Duration) -> Limits {
        Limits {
            blocked_max,
            wall_time_max,
            ..Limits::default()
        }
    }

    #[test]
    fn a_run_that_stops_beating_is_reported_blocked_and_one_that_beats_is_not() {
        let (sender, receiver) = mpsc::channel();
        let limits = limits(Duration::from_millis(100), Duration::from_secs(60));
        let beating = Watchdog::watch(&limits, sender.clone());
        let stuck = Watchdog::watch(&limits, sender);
        stuck.step_begins(Duration::from_millis(7));
        let started = Instant::now();
        // The beating run beats for longer than the bound; the stuck one does not.
        while started.elapsed() < Duration::from_millis(400) {
            beating.step_begins(Duration::ZERO);
            beating.step_ends();
            std::thread::sleep(Duration::from_millis(5));
        }
        let Ok(Ended::Blocked(still)) = receiver.recv_timeout(Duration::from_secs(5)) else {
            panic!("the stuck run is reported blocked");
        };
        assert!(still >= Duration::from_millis(100), "{still:?}");
        assert!(stuck.abandoned() && stuck.in_step());
        assert_eq!(stuck.at(), Duration::from_millis(7));
        assert!(!beating.abandoned(), "a beating run is not blocked");
        beating.finish();
        assert!(
            receiver.recv_timeout(Duration::from_millis(200)).is_err(),
            "only the stuck run was reported"
        );
    }

    #[test]
    fn a_run_past_its_wall_time_is_told_so_and_not_abandoned() {
        let (sender, _receiver) = mpsc::channel();
        let limits = limits(Duration::from_secs(60), Duration::from_millis(50));
        let pulse = Watchdog::watch(&limits, sender);
        let started = Instant::now();
        while pulse.overdue().is_none() && started.elapsed() < Duration::from_secs(5) {
            pulse.step_begins(Duration::ZERO);
            pulse.step_ends();
            std::thread::sleep(Duration::from_millis(5));
        }
        let taken = pulse.overdue().expect("the bound is seen");
        assert!(taken >= Duration::from_millis(50), "{taken:?}");
        assert!(!pulse.abandoned());
        pulse.finish();
    }
}
