//! The verdict of a run: the invariants checked, how one is broken, and how a
//! run ends. Plain data, read by every layer above: the oracles produce
//! [`Violation`]s, the director a [`Verdict`], the reports render both.

use std::fmt;
use std::time::Duration;

use super::trace::Event;

/// The invariants lifecycle-sim checks, by their stable names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Invariant {
    /// No request reads state, and no application request gets a 5xx, before
    /// the service's state is initialised (race 1, the startup window).
    ServedBeforeInitialised,
    /// A component is used only after it reported ready (race 2).
    UsedBeforeStarted,
    /// After the last start and the last fault, the cluster has exactly one
    /// leader that every running node follows, within a bound (race 2).
    ClusterConverges,
    /// After SIGTERM the service stops within its drain deadline (race 3,
    /// liveness).
    DrainDeadline,
    /// Every request the service accepted gets a whole response; none is cut
    /// by a reset while the service lives (race 3, safety).
    RequestCut,
    /// While any request is in flight, `/health` answers 200 (race 4).
    HealthDuringDrain,
    /// From SIGTERM on, `/ready` does not answer 2xx (race 4).
    ReadyAfterStop,
    /// The orchestrator's SIGKILL finds no accepted request unfinished (race 4).
    KilledWithRequestsInFlight,
    /// No call goes through the handle of a worker that has ended, and no
    /// next-page request gets a 5xx (race 5).
    StaleHandle,
    /// An application request the service accepted gets neither a 5xx nor
    /// a reset before a stop is requested (black-box startup and serving).
    AcceptedRequestFailed,
    /// Once `/ready` said 2xx, application requests succeed until a stop is
    /// requested (black-box).
    FailedWhileReady,
    /// After a start or restart the service serves again within a bound
    /// (black-box crash and restart).
    RecoversAfterRestart,
    /// The service's process ends only when asked: its serve function does
    /// not return, nor fail, before SIGTERM (black-box).
    ExitedUnasked,
}

/// What an invariant needs from the service to be judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    /// A liveness endpoint.
    pub health: bool,
    /// A readiness endpoint.
    pub ready: bool,
}

impl Invariant {
    /// Every invariant, in a stable order.
    pub const ALL: [Invariant; 13] = [
        Invariant::ServedBeforeInitialised,
        Invariant::UsedBeforeStarted,
        Invariant::ClusterConverges,
        Invariant::DrainDeadline,
        Invariant::RequestCut,
        Invariant::HealthDuringDrain,
        Invariant::ReadyAfterStop,
        Invariant::KilledWithRequestsInFlight,
        Invariant::StaleHandle,
        Invariant::AcceptedRequestFailed,
        Invariant::FailedWhileReady,
        Invariant::RecoversAfterRestart,
        Invariant::ExitedUnasked,
    ];

    /// The name scenario files and reports use.
    pub fn name(self) -> &'static str {
        match self {
            Invariant::ServedBeforeInitialised => "served-before-initialised",
            Invariant::UsedBeforeStarted => "used-before-started",
            Invariant::ClusterConverges => "cluster-converges",
            Invariant::DrainDeadline => "drain-deadline",
            Invariant::RequestCut => "request-cut",
            Invariant::HealthDuringDrain => "health-during-drain",
            Invariant::ReadyAfterStop => "ready-after-stop",
            Invariant::KilledWithRequestsInFlight => "killed-with-requests-in-flight",
            Invariant::StaleHandle => "stale-handle",
            Invariant::AcceptedRequestFailed => "accepted-request-failed",
            Invariant::FailedWhileReady => "failed-while-ready",
            Invariant::RecoversAfterRestart => "recovers-after-restart",
            Invariant::ExitedUnasked => "exited-unasked",
        }
    }

    /// One sentence on what the invariant demands.
    pub fn description(self) -> &'static str {
        match self {
            Invariant::ServedBeforeInitialised => {
                "no request is handled, and no 5xx is returned on an accepted connection, \
                 before the state it reads is initialised"
            }
            Invariant::UsedBeforeStarted => {
                "a component is used only after every component it depends on reported ready"
            }
            Invariant::ClusterConverges => {
                "after the last start and the last fault, the running nodes agree on exactly one \
                 leader within a bounded simulated time"
            }
            Invariant::DrainDeadline => {
                "after a stop is requested (SIGTERM), the service stops within its drain deadline"
            }
            Invariant::RequestCut => {
                "every request the service accepted gets a whole response or a clean error; \
                 none is cut by a connection reset unless its process was killed, and a \
                 connection answered with keep-alive while draining is not closed under the \
                 next request"
            }
            Invariant::HealthDuringDrain => {
                "the kubelet never kills the pod for a failing /health (liveness or startup) \
                 while requests are in flight"
            }
            Invariant::ReadyAfterStop => "from the moment a stop is requested, /ready answers 503",
            Invariant::KilledWithRequestsInFlight => {
                "the orchestrator's SIGKILL finds no accepted request unfinished"
            }
            Invariant::StaleHandle => {
                "no call is made through a handle whose worker has ended, and no next-page \
                 request gets a 5xx"
            }
            Invariant::AcceptedRequestFailed => {
                "an application request the service read off an accepted connection gets neither \
                 a 5xx nor a connection reset, from listening until a stop is requested"
            }
            Invariant::FailedWhileReady => {
                "once /ready answered 2xx, application requests are not refused, reset or \
                 answered 5xx until a stop is requested"
            }
            Invariant::RecoversAfterRestart => {
                "after a start or restart, a request sent once the recovery bound has passed is \
                 served: not refused, reset, timed out or answered 5xx"
            }
            Invariant::ExitedUnasked => {
                "the service's process ends only when asked: its serve function neither \
                 returns nor fails before SIGTERM"
            }
        }
    }

    /// Whether the invariant is judged from what crosses the service's
    /// sockets and what clients see alone, so it applies to any server. The
    /// others need events only the built-in models record.
    pub fn black_box(self) -> bool {
        !matches!(
            self,
            Invariant::ServedBeforeInitialised
                | Invariant::UsedBeforeStarted
                | Invariant::ClusterConverges
                | Invariant::StaleHandle
        )
    }

    /// What the invariant needs the service to have.
    pub fn needs(self) -> Needs {
        match self {
            Invariant::HealthDuringDrain => Needs {
                health: true,
                ready: false,
            },
            Invariant::ReadyAfterStop | Invariant::FailedWhileReady => Needs {
                health: false,
                ready: true,
            },
            _ => Needs::default(),
        }
    }

    /// The invariant with this name.
    pub fn from_name(name: &str) -> Option<Invariant> {
        Invariant::ALL
            .into_iter()
            .find(|invariant| invariant.name() == name)
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An invariant broken by a specific event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The invariant that was broken.
    pub invariant: Invariant,
    /// The index in the trace of the event that broke it.
    pub event: usize,
    /// The simulated time of that event.
    pub at: Duration,
    /// Why that event breaks the invariant, in one sentence.
    pub reason: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at {}ms (event #{}): {}",
            self.invariant,
            self.at.as_millis(),
            self.event,
            self.reason
        )
    }
}

/// Which bound stopped a run before its verdict was known.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Bound {
    /// The run reached this simulated time.
    SimulatedTime(Duration),
    /// The run took this many ticks.
    Ticks(u64),
    /// The run took this much wall-clock time.
    WallTime(Duration),
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Every invariant held to the end.
    Pass,
    /// An invariant was broken.
    Violation(Violation),
    /// A bound stopped the run before a verdict.
    Bounded(Bound),
    /// The service or the simulation panicked or failed; the message says how.
    Crashed(String),
    /// A step did not return within [`Limits::blocked_max`](crate::Limits)
    /// of wall-clock time: the service blocked its thread.
    Blocked(Blocked),
    /// The case held more bytes allocated than
    /// [`Limits::memory_max_bytes`](crate::Limits).
    Memory(MemoryUse),
}

/// Where and how long a run's thread was blocked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The host whose software was running: the one that can run a
    /// user's code.
    pub host: String,
    /// The simulated time of the step that blocked.
    pub at: Duration,
    /// How long the step had not returned when it was judged blocked.
    pub wall_time: Duration,
    /// The last event recorded before it, as a trace line.
    pub last_event: Option<String>,
}

/// How much a case held allocated, against its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUse {
    /// The bytes the case held allocated when it was judged.
    pub bytes: u64,
    /// Its bound.
    pub limit_bytes: u64,
}

/// What one run recorded and concluded.
#[derive(Debug, Clone)]
pub struct Run {
    /// Every event, in order.
    pub events: Vec<Event>,
    /// How it ended.
    pub verdict: Verdict,
    /// Simulated time when it ended.
    pub elapsed: Duration,
    /// Ticks it took.
    pub ticks: u64,
    /// How its thread read std's clocks and OS randomness.
    pub reads: Reads,
}

/// How often a run's thread read std's clocks and OS randomness, and
/// whether the simulation answered (README, "Clocks and randomness").
/// Reads the operating system answered are why a case may not replay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reads {
    /// Reads of a clock: `clock_gettime`, `gettimeofday`, `time`.
    pub clock: u64,
    /// Draws of randomness: `getrandom`, `getentropy`.
    pub randomness: u64,
    /// Whether the simulation answered them: interception on and compiled
    /// in. If not, the counts are of reads the operating system answered
    /// (none are counted where interception is not compiled in).
    pub simulated: bool,
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::SimulatedTime(at) => {
                write!(f, "simulated time bound reached at {}ms", at.as_millis())
            }
            Bound::Ticks(ticks) => write!(f, "tick bound reached after {ticks} ticks"),
            Bound::WallTime(spent) => {
                write!(
                    f,
                    "wall-time bound reached after {:.1}s",
                    spent.as_secs_f64()
                )
            }
        }
    }
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a step on {} at {}ms had not returned after {:.1}s of wall-clock time",
            self.host,
            self.at.as_millis(),
            self.wall_time.as_secs_f64()
        )?;
        match &self.last_event {
            Some(event) => write!(f, " (last event: {event})"),
            None => f.write_str(" (no event recorded)"),
        }
    }
}

impl fmt::Display for MemoryUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = |bytes: u64| bytes as f64 / f64::from(1_u32 << 20);
        write!(
            f,
            "the case held {:.1} MiB allocated, over its memory_max of {:.1} MiB",
            mib(self.bytes),
            mib(self.limit_bytes)
        )
    }
}

impl Verdict {
    /// The verdict's kind, as machines read it: `pass`, the broken
    /// invariant's name, `inconclusive`, `crashed`, `blocked` or
    /// `memory-max`.
    pub fn kind(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Violation(violation) => violation.invariant.name(),
            Verdict::Bounded(_) => "inconclusive",
            Verdict::Crashed(_) => "crashed",
            Verdict::Blocked(_) => "blocked",
            Verdict::Memory(_) => "memory-max",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Pass => f.write_str("pass"),
            Verdict::Violation(violation) => write!(f, "violation: {violation}"),
            Verdict::Bounded(bound) => write!(f, "inconclusive: {bound}"),
            Verdict::Crashed(message) => write!(f, "crashed: {message}"),
            Verdict::Blocked(blocked) => write!(f, "blocked: {blocked}"),
            Verdict::Memory(memory) => write!(f, "memory-max: {memory}"),
        }
    }
}
