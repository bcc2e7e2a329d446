//! The trace: every observable fact of a run, in order, with its simulated time.
//!
//! Events come from three sides. The director records what it did (a step, a
//! kill at the end of a grace period). Clients record what a user would see
//! (black-box: the status, or a refused, reset or timed-out connection). The
//! lifecycle core records what it did inside the service (white-box: phases,
//! connections, requests, reads of initialised state). Oracles judge the trace;
//! its text rendering is what snapshots and reports show, and its hash is what
//! the determinism check compares.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use crate::case::schedule::Action;

/// A milestone in the life of one service process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Milestone {
    /// The listener is bound: connections can reach the port.
    Bound,
    /// The accept loop runs: connections are taken and served.
    Accepting,
    /// Initialisation of the service's state began.
    Initialising,
    /// The service's state is initialised.
    Initialised,
    /// A stop was requested: the service drains its connections.
    Draining,
    /// The service finished its stop.
    Stopped,
}

/// What a client saw of one request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A complete HTTP response with this status.
    Status(u16),
    /// The connection was refused: nothing listened on the port, or its
    /// listen backlog (`run.backlog`) was full.
    Refused,
    /// The connection broke before a whole response arrived.
    Reset,
    /// No response within the client's simulated timeout.
    TimedOut,
    /// Not sent: the kubelet had not put the service in the endpoints (it
    /// was not ready, or it was being stopped).
    NotRouted,
}

/// How a client sent a request, as the oracles need to know it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Sending {
    /// A GET, written at once.
    #[default]
    Whole,
    /// A POST whose body came in pieces.
    SlowBody,
    /// A GET, after which the client shut down its sending half.
    HalfClose,
    /// A GET on the connection of an earlier request, kept open by the client.
    Reused {
        /// The request whose connection it reused.
        of: u64,
    },
}

/// A probe of the kubelet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProbeKind {
    /// Gates the other probes until the service has started.
    Startup,
    /// Failing it gets the service killed.
    Liveness,
    /// Passing it puts the service in the endpoints; failing takes it out.
    Readiness,
}

/// Why a service was killed by its orchestrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KillReason {
    /// A graceful stop outlived its grace period.
    GraceExpired,
    /// The startup probe failed its threshold.
    Startup,
    /// The liveness probe failed its threshold.
    Liveness,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The director executed a schedule step.
    Step(Action),
    /// The service was sent SIGTERM: a graceful stop begins.
    Sigterm,
    /// The orchestrator (the director or the kubelet) killed the service.
    Sigkill {
        /// Why.
        reason: KillReason,
    },
    /// A kubelet probe failed.
    ProbeFailed {
        /// Which probe.
        probe: ProbeKind,
        /// Its consecutive failures so far.
        failures: u32,
    },
    /// The kubelet put the service in, or took it out of, the endpoints that
    /// route client traffic.
    Endpoint {
        /// Whether client requests now reach it.
        routed: bool,
    },
    /// The service reached a milestone.
    Milestone(Milestone),
    /// The service accepted a connection.
    ConnectionOpened {
        /// The connection's number within this run.
        connection: u64,
    },
    /// A connection of the service closed.
    ConnectionClosed {
        /// The connection's number within this run.
        connection: u64,
    },
    /// The service closed a connection it was still draining when its drain
    /// deadline passed.
    ConnectionAborted {
        /// The connection's number within this run.
        connection: u64,
    },
    /// The service began handling a request.
    RequestStarted {
        /// The request's number (the client's, when it sent one).
        request: u64,
        /// The connection it came on.
        connection: u64,
        /// The request path.
        path: String,
    },
    /// A request handler read the service's state.
    StateRead {
        /// The request whose handler read it.
        request: u64,
        /// Whether the state was initialised at that moment.
        initialised: bool,
    },
    /// The service sent a response.
    RequestFinished {
        /// The request's number.
        request: u64,
        /// The response status.
        status: u16,
    },
    /// The service started a worker of this generation.
    WorkerStarted {
        /// The worker's generation: its handles carry it.
        generation: u64,
    },
    /// A worker of the service exited; handles of its generation are stale.
    WorkerExited {
        /// The worker's generation.
        generation: u64,
    },
    /// A request handler called a worker through a handle of this generation.
    HandleUsed {
        /// The request.
        request: u64,
        /// The handle's generation.
        generation: u64,
    },
    /// A component of the service began to start.
    ComponentStarting {
        /// Its name.
        component: String,
    },
    /// A component of the service reported ready.
    ComponentReady {
        /// Its name.
        component: String,
    },
    /// A component of the service was used by another (or by a peer's message).
    ComponentUsed {
        /// The component used.
        component: String,
        /// Who used it.
        user: String,
        /// What for: the call or the message.
        detail: String,
    },
    /// A cluster node began an election in this term.
    Election {
        /// The term.
        term: u64,
    },
    /// A cluster node won the election of this term.
    Leader {
        /// The term.
        term: u64,
    },
    /// A cluster node that led stepped down on seeing a newer term.
    SteppedDown {
        /// The newer term.
        term: u64,
    },
    /// A cluster node follows this leader.
    Follows {
        /// The leader's host.
        leader: String,
        /// The leader's term.
        term: u64,
    },
    /// The service process failed (it could not bind its port, say).
    Failed {
        /// What went wrong.
        message: String,
    },
    /// A client sent a request.
    Sent {
        /// The request's number.
        request: u64,
        /// The request path.
        path: String,
        /// How it was sent.
        sending: Sending,
    },
    /// The service answered a request with a response that keeps the
    /// connection open (no `connection: close`) after its stop was requested.
    KeptAlive {
        /// The connection it answered on.
        connection: u64,
    },
    /// A client saw the end of a request.
    Observed {
        /// The request's number.
        request: u64,
        /// What the client saw.
        outcome: Outcome,
    },
}

/// One fact: when, where, what.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Event {
    /// Simulated time since the run began.
    pub at: Duration,
    /// The host it happened on (`director` for the director's own actions).
    pub host: Rc<str>,
    /// What happened.
    pub kind: EventKind,
}

thread_local! {
    /// The recorder of the run on this thread, for code that cannot hold an
    /// `Rc`: a user's server may move its sockets to `Send` tasks.
    static CURRENT: RefCell<Option<Recorder>> = const { RefCell::new(None) };
}

/// Makes a recorder the current one on this thread; removed on drop.
pub(crate) struct Current(());

impl Current {
    pub(crate) fn install(recorder: &Recorder) -> Current {
        CURRENT.with(|current| *current.borrow_mut() = Some(recorder.clone()));
        Current(())
    }
}

impl Drop for Current {
    fn drop(&mut self) {
        CURRENT.with(|current| *current.borrow_mut() = None);
    }
}

/// Records an event from a host through the current recorder; outside a run
/// (a socket dropped with the simulation), nothing is recorded.
pub(crate) fn record_current(host: &str, kind: EventKind) {
    CURRENT.with(|current| {
        if let Some(recorder) = current.borrow().as_ref() {
            recorder.record(&Rc::from(host), kind);
        }
    });
}

/// A shared, append-only log of events for one run.
///
/// All hosts of a simulation run on one thread, so a `Rc<RefCell<_>>` is enough
/// and appends happen in execution order, which is deterministic.
#[derive(Clone, Default)]
pub struct Recorder {
    events: Rc<RefCell<Vec<Event>>>,
}

impl Recorder {
    /// Appends an event from inside a simulated host, stamped with the
    /// simulation's clock.
    pub fn record(&self, host: &Rc<str>, kind: EventKind) {
        let at = turmoil::sim_elapsed().unwrap_or_default();
        self.record_at(at, host, kind);
    }

    /// Appends an event with a time the caller read (the director's clock).
    ///
    /// Within a tick each host runs on its own clock, up to a tick ahead of
    /// the others; times are kept monotonic so that the trace is in time
    /// order as well as in execution order.
    pub fn record_at(&self, at: Duration, host: &Rc<str>, kind: EventKind) {
        let mut events = self.events.borrow_mut();
        let at = events.last().map_or(at, |last| at.max(last.at));
        events.push(Event {
            at,
            host: Rc::clone(host),
            kind,
        });
    }

    /// How many events were recorded so far.
    pub fn len(&self) -> usize {
        self.events.borrow().len()
    }

    /// Whether nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.events.borrow().is_empty()
    }

    /// Lends the log to `read`; nothing may be recorded meanwhile.
    pub fn with_events<T>(&self, read: impl FnOnce(&[Event]) -> T) -> T {
        read(&self.events.borrow())
    }

    /// Takes the whole log, leaving it empty.
    pub fn take(&self) -> Vec<Event> {
        std::mem::take(&mut self.events.borrow_mut())
    }
}

impl fmt::Display for Milestone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Milestone::Bound => "bound",
            Milestone::Accepting => "accepting",
            Milestone::Initialising => "initialising",
            Milestone::Initialised => "initialised",
            Milestone::Draining => "draining",
            Milestone::Stopped => "stopped",
        })
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Status(status) => write!(f, "status {status}"),
            Outcome::Refused => f.write_str("connection refused"),
            Outcome::Reset => f.write_str("connection reset"),
            Outcome::TimedOut => f.write_str("timed out"),
            Outcome::NotRouted => f.write_str("not routed"),
        }
    }
}

impl fmt::Display for ProbeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProbeKind::Startup => "startup",
            ProbeKind::Liveness => "liveness",
            ProbeKind::Readiness => "readiness",
        })
    }
}

impl fmt::Display for KillReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KillReason::GraceExpired => "grace period expired",
            KillReason::Startup => "startup probe failed",
            KillReason::Liveness => "liveness probe failed",
        })
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventKind::Step(action) => write!(f, "{action}"),
            EventKind::Sigterm => f.write_str("SIGTERM"),
            EventKind::Sigkill { reason } => write!(f, "SIGKILL ({reason})"),
            EventKind::ProbeFailed { probe, failures } => {
                write!(f, "{probe} probe failed ({failures} in a row)")
            }
            EventKind::Endpoint { routed: true } => f.write_str("endpoint added: traffic routed"),
            EventKind::Endpoint { routed: false } => {
                f.write_str("endpoint removed: traffic not routed")
            }
            EventKind::Milestone(milestone) => write!(f, "{milestone}"),
            EventKind::ConnectionOpened { connection } => write!(f, "c{connection} opened"),
            EventKind::ConnectionClosed { connection } => write!(f, "c{connection} closed"),
            EventKind::ConnectionAborted { connection } => {
                write!(f, "c{connection} aborted at the drain deadline")
            }
            EventKind::RequestStarted {
                request,
                connection,
                path,
            } => write!(f, "r{request} GET {path} started on c{connection}"),
            EventKind::StateRead {
                request,
                initialised,
            } => {
                let state = if *initialised {
                    "initialised"
                } else {
                    "NOT initialised"
                };
                write!(f, "r{request} read state ({state})")
            }
            EventKind::RequestFinished { request, status } => {
                write!(f, "r{request} answered {status}")
            }
            EventKind::WorkerStarted { generation } => write!(f, "worker g{generation} started"),
            EventKind::WorkerExited { generation } => write!(f, "worker g{generation} exited"),
            EventKind::HandleUsed {
                request,
                generation,
            } => write!(f, "r{request} called worker g{generation}"),
            EventKind::ComponentStarting { component } => write!(f, "{component} starting"),
            EventKind::ComponentReady { component } => write!(f, "{component} ready"),
            EventKind::ComponentUsed {
                component,
                user,
                detail,
            } => write!(f, "{user} used {component}: {detail}"),
            EventKind::Election { term } => write!(f, "election for term {term}"),
            EventKind::Leader { term } => write!(f, "leader of term {term}"),
            EventKind::SteppedDown { term } => write!(f, "stepped down (term {term})"),
            EventKind::Follows { leader, term } => write!(f, "follows {leader} (term {term})"),
            EventKind::Failed { message } => write!(f, "failed: {message}"),
            EventKind::Sent {
                request,
                path,
                sending,
            } => match sending {
                Sending::Whole => write!(f, "r{request} sent GET {path}"),
                Sending::SlowBody => write!(f, "r{request} sent POST {path} (body in pieces)"),
                Sending::HalfClose => write!(f, "r{request} sent GET {path} and half-closed"),
                Sending::Reused { of } => {
                    write!(f, "r{request} sent GET {path} on r{of}'s connection")
                }
            },
            EventKind::KeptAlive { connection } => {
                write!(f, "c{connection} answered with keep-alive while draining")
            }
            EventKind::Observed { request, outcome } => write!(f, "r{request} saw {outcome}"),
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>7}ms  {:<9} {}",
            self.at.as_millis(),
            self.host,
            self.kind
        )
    }
}

/// The stable text rendering of a trace: one line per event.
pub fn render(events: &[Event]) -> String {
    let mut text = String::new();
    for event in events {
        text.push_str(&event.to_string());
        text.push('\n');
    }
    text
}

/// A stable 64-bit hash of a trace's text rendering (FNV-1a), for comparing runs.
pub fn hash(events: &[Event]) -> u64 {
    events
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, event| {
            let line = event.to_string();
            line.bytes()
                .chain(std::iter::once(b'\n'))
                .fold(hash, |hash, byte| {
                    (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
                })
        })
}

/// The index of the first event where two traces differ, if they do.
pub fn first_difference(a: &[Event], b: &[Event]) -> Option<usize> {
    let shared = a.len().min(b.len());
    (0..shared)
        .find(|&index| a[index] != b[index])
        .or((a.len() != b.len()).then_some(shared))
}
