//! A case and its vocabulary: the leaf layer every other layer reads.
//!
//! A [`Case`] is a seed and a [`Schedule`]; running it
//! records a [`trace`] of [`Event`](trace::Event)s and ends in a
//! [`Verdict`](verdict::Verdict), within [`Limits`]. Nothing here runs
//! anything: these are the plain data the engine produces and the judge,
//! the harness and the reports read.

pub(crate) mod backend;
pub(crate) mod http;
pub(crate) mod schedule;
pub(crate) mod seed;
pub(crate) mod trace;
pub(crate) mod verdict;

use std::time::Duration;

use self::schedule::Schedule;

/// The liveness path of the built-in models, and a
/// [`Service`](crate::Service)'s and the kubelet's default.
pub(crate) const HEALTH_PATH: &str = "/health";
/// The readiness path of the built-in models, and a
/// [`Service`](crate::Service)'s and the kubelet's default.
pub(crate) const READY_PATH: &str = "/ready";

/// One case: a seed and the schedule it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Fixes turmoil, tokio's scheduler and every random choice of the models.
    pub seed: u64,
    /// What happens, and when.
    pub schedule: Schedule,
}

/// The bounds of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Simulated time a run may go on after its last step before it is
    /// stopped as bounded. Default: 120 s.
    pub settle_max: Duration,
    /// Simulation ticks a run may take at most. Default: 2,000,000.
    pub ticks_max: u64,
    /// Wall-clock time a run may take at most. Default: 60 s. On real
    /// threads, where a case takes its schedule's length in wall time,
    /// this much beyond the schedule's end and `settle_max`.
    pub wall_time_max: Duration,
    /// How long a client waits for a response, in simulated time. Default: 5 s.
    pub request_timeout: Duration,
    /// The simulation's tick, its unit of simulated time: coarser runs
    /// faster, finer resolves shorter races. Default: 1 ms.
    pub tick: Duration,
    /// How long a cluster may take to agree on a leader after the last
    /// change; a run of a cluster lasts at least this long after its last
    /// step, so that convergence is judged. Default: 15 s.
    pub convergence_bound: Duration,
    /// How long a started or restarted service may take before requests
    /// must be served (`recovers-after-restart`). Default: 10 s.
    pub recovery_bound: Duration,
    /// Connections a service's listener holds sent but not yet accepted, as
    /// a kernel's listen backlog does; one more is refused. Default:
    /// [`BACKLOG_DEFAULT`], at most [`BACKLOG_MAX`].
    pub backlog: usize,
    /// Wall-clock time one simulation step may take before the run is
    /// judged [`Blocked`](verdict::Verdict::Blocked): a step runs every
    /// host for one tick, so a step this long means the service blocked
    /// its thread (a `std::thread::sleep`, a busy loop, a blocking lock).
    /// Default: 2 s.
    pub blocked_max: Duration,
    /// Bytes a case may hold allocated at once before the run is judged
    /// [`Memory`](verdict::Verdict::Memory). Counted only in a binary that
    /// installs [`Allocator`](crate::Allocator) as its global allocator.
    /// Default: [`MEMORY_MAX_DEFAULT`] (1 GiB).
    pub memory_max_bytes: u64,
    /// Whether the service's reads of std's clocks and of OS randomness
    /// are answered from simulated time and the case's seed (see the
    /// README, "Clocks and randomness"). Off, they pass through to the
    /// operating system and the case may not replay. Default: on.
    pub intercept: bool,
}

/// The allocation bound of a case unless it says: 1 GiB.
pub const MEMORY_MAX_DEFAULT: u64 = 1 << 30;

/// The listen backlog of a run unless it says: 1,024, what tokio's
/// `TcpListener::bind` asks of the kernel (the listeners of hyper and axum).
pub const BACKLOG_DEFAULT: usize = 1_024;
/// The largest listen backlog: 65,535, Linux's `net.core.somaxconn` ceiling.
pub const BACKLOG_MAX: usize = 65_535;

impl Default for Limits {
    fn default() -> Self {
        Self {
            settle_max: Duration::from_secs(120),
            ticks_max: 2_000_000,
            wall_time_max: Duration::from_secs(60),
            request_timeout: Duration::from_secs(5),
            tick: Duration::from_millis(1),
            convergence_bound: Duration::from_secs(15),
            recovery_bound: Duration::from_secs(10),
            backlog: BACKLOG_DEFAULT,
            blocked_max: Duration::from_secs(2),
            memory_max_bytes: MEMORY_MAX_DEFAULT,
            intercept: true,
        }
    }
}
