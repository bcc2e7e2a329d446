//! The policies of the lifecycle core: the same process with the buggy
//! policy reproduces a real bug, with the fixed policy it is the repair.
//!
//! A process binds its port, initialises its state, accepts connections, serves
//! HTTP/1.1 with hyper over turmoil's simulated network, answers `/health`
//! (liveness) and `/ready` (readiness), tracks its connections and requests,
//! and on a stop request (SIGTERM) drains. Every step it takes is recorded in
//! the trace, so oracles can judge it.
//!
//! The process itself is [`serve`](super::lifecycle::serve).
//!
//! | race | policy | buggy | fixed |
//! | --- | --- | --- | --- |
//! | 1 startup window | [`StartupOrder`] | accept, then initialise | initialise, then accept |
//! | 3 drain hang | [`DrainPolicy`] | check the count, then wait (a lost wakeup) | a wakeup that cannot be lost, and a deadline |
//! | 4 probes during drain | [`StatusPolicy`] | status stops with everything else | status stops last, `/ready` says 503 from SIGTERM |
//! | 5 stale handle | [`HandlePolicy`](super::query::HandlePolicy) | a re-run reuses the stored worker handle | every run resets its state; handles carry a generation |

use std::time::Duration;

use super::query::QueryConfig;

/// In which order a process initialises its state and starts accepting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartupOrder {
    /// Start the accept loop, then initialise: requests that land in between
    /// read uninitialised state (the Phoenix bug; race 1's buggy policy).
    AcceptThenInitialise,
    /// Initialise, then start the accept loop: "data ready" and "listening"
    /// are one step as seen from outside (race 1's fix).
    InitialiseThenAccept,
}

/// How a stop waits for the connections to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainPolicy {
    /// Check the live-connection count, then wait for the notification the
    /// last closing connection sends without storing a permit
    /// (`Notify::notify_waiters`). If the last connection closes between the
    /// check and the creation of the wait, the wakeup is lost and the stop
    /// never completes; no deadline saves it (the Salvo and Poem bug).
    CheckThenWait,
    /// Create the wait before each re-check, so no wakeup is lost; at the
    /// drain deadline, close the connections still open and report each one.
    Robust,
}

/// Where `/health` and `/ready` are served, and when they stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusPolicy {
    /// On the traffic port; they go when the listener closes at SIGTERM.
    Shared,
    /// A separate status component on [`STATUS_PORT`](super::process::STATUS_PORT) that stops at SIGTERM,
    /// concurrently with everything else, so it is gone while requests still
    /// run (the RoadRunner bug).
    SeparateStopsFirst,
    /// A separate status component that stops after the traffic has drained:
    /// `/ready` answers 503 from SIGTERM, `/health` 200 until the end.
    SeparateStopsLast,
}

/// How one service process behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConfig {
    /// Startup policy.
    pub startup_order: StartupOrder,
    /// How long initialising the state takes, in simulated time.
    pub init_duration: Duration,
    /// Drain policy.
    pub drain: DrainPolicy,
    /// How long a robust stop waits for connections before closing them.
    pub drain_deadline: Duration,
    /// Status component policy.
    pub status: StatusPolicy,
    /// How long a request for `/slow` takes, in simulated time.
    pub slow_duration: Duration,
    /// The paginated query behind `/page/<n>`, if the service has one.
    pub query: Option<QueryConfig>,
}
