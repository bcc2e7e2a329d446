//! The events of a trace: what a run records, one fact each.

use std::sync::Arc;
use std::time::Duration;

use crate::case::schedule::Action;

/// A milestone in the life of one service process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
    /// A GET sent at once with an earlier request, as another stream of its
    /// HTTP/2 connection.
    Multiplexed {
        /// The request whose connection it shares.
        of: u64,
    },
}

/// A probe of the kubelet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
    pub host: Arc<str>,
    /// What happened.
    pub kind: EventKind,
}
