//! Where a case runs: inside turmoil's simulation, or on real threads.
//!
//! turmoil runs every host on one thread, so a race whose window lies
//! between two lines with no `.await` between them (a check of an atomic,
//! then the wait it guards) never opens in simulation. The threads backend
//! runs the same service, schedules and oracles on a multi-threaded tokio
//! runtime over real loopback sockets and real time, where such a window
//! opens as it does in production. It trades the exact replay for that: a
//! seed fixes the schedule and the perturbation's choices, not the
//! operating system's scheduler.

use std::fmt;
use std::time::Duration;

/// Where each case of a campaign runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// turmoil's simulated network and clock, one thread: a seed replays
    /// a case exactly. The default.
    #[default]
    Simulated,
    /// A multi-threaded tokio runtime per process, real loopback sockets
    /// and real time: opens the windows between threads that simulation
    /// cannot, and does not replay exactly.
    Threads(Threads),
}

impl Backend {
    /// The backend's name in scenario files and on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Simulated => "simulated",
            Backend::Threads(_) => "threads",
        }
    }

    /// The real-threads settings, if this is that backend.
    pub fn threads(&self) -> Option<&Threads> {
        match self {
            Backend::Simulated => None,
            Backend::Threads(threads) => Some(threads),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the threads backend runs each process of the service, and how a
/// failure it finds is confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threads {
    /// tokio worker threads of each process's runtime, from
    /// [`WORKERS_MIN`] to [`WORKERS_MAX`]. Default: 2.
    pub workers: usize,
    /// What perturbs the threads' timing. Default: spins and yields in the
    /// socket polls and at every event the service logs; no pinning.
    pub perturbation: Perturbation,
    /// How many times a failing schedule is run again, to report how often
    /// it fails and to keep a shrinking step only if it fails at least once
    /// in that many runs, from 1 to [`CONFIRM_RUNS_MAX`]. Default: 20.
    pub confirm_runs: u32,
    /// Cases a campaign runs at once, or its `jobs` if more: a case on
    /// real threads mostly waits on real time, so several share a core.
    /// Default: 8.
    pub cases_at_once: usize,
}

/// The fewest worker threads a process gets under the threads backend.
pub const WORKERS_MIN: usize = 2;
/// The most worker threads a process gets under the threads backend.
pub const WORKERS_MAX: usize = 4;
/// The most runs a failure is confirmed with.
pub const CONFIRM_RUNS_MAX: u32 = 1_000;

impl Default for Threads {
    fn default() -> Self {
        Self {
            workers: WORKERS_MIN,
            perturbation: Perturbation::default(),
            confirm_runs: 20,
            cases_at_once: 8,
        }
    }
}

/// What perturbs the timing of a service's threads under the threads
/// backend, without touching its code. Each choice is drawn from the
/// case's seed, per thread; the operating system's scheduler is not, so a
/// seed does not replay exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perturbation {
    /// Short random spins and yields in the harness's `Listener` and
    /// `Stream` polls, and at each [`preempt`](crate::preempt) point.
    /// Default: on.
    pub sockets: bool,
    /// A `tracing` subscriber on the service's threads that spins or
    /// yields a random few microseconds at every event the service logs:
    /// a log line inside a race's window widens it. It replaces any
    /// thread-local subscriber on those threads (a global one of yours
    /// still sees nothing from them). Default: on.
    pub tracing: bool,
    /// Pins every thread of a process to one core, so that preemption, not
    /// parallelism, interleaves them, and preempts a thread a random 2 to
    /// 60 µs after each perturbation point (each socket poll, `preempt`
    /// point and event the service logs, through the subscriber
    /// [`tracing`](Self::tracing) describes) with a timer signal (`SIGURG`,
    /// which its handler answers by yielding the core; a call the kernel
    /// does not restart, such as `epoll_wait`, returns `EINTR`). Linux
    /// only; ignored elsewhere. Default: off.
    pub pin: bool,
    /// The longest spin a perturbation point makes, at most 10 ms (a
    /// longer one spins 10 ms); zero spins and yields nothing. Default: 50 µs.
    pub spin_max: Duration,
}

impl Perturbation {
    /// No perturbation at all: the threads run as the machine runs them.
    pub const OFF: Perturbation = Perturbation {
        sockets: false,
        tracing: false,
        pin: false,
        spin_max: Duration::ZERO,
    };

    /// Whether anything is perturbed.
    pub fn any(&self) -> bool {
        (self.sockets || self.tracing) && !self.spin_max.is_zero() || self.pin
    }
}

impl Default for Perturbation {
    fn default() -> Self {
        Self {
            sockets: true,
            tracing: true,
            pin: false,
            spin_max: Duration::from_micros(50),
        }
    }
}
