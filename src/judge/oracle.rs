//! The oracle: a checker of one invariant, fed the trace as it grows, and
//! what it knows of the service beyond the trace.
//!
//! Oracles only observe: they never reach into the director or the service.
//! They are the crate's own: an oracle reads the built-in models' events and
//! the run's shared view, neither of which is a stable interface, so users
//! choose among the [`Invariant`](crate::Invariant)s rather than write oracles of their own.

use std::time::Duration;

use super::view::SharedView;
use crate::case::trace::Event;
use crate::case::verdict::Violation;

/// What the judge knows of the service beyond the trace.
#[derive(Debug, Clone)]
pub(crate) struct Facts {
    /// How long the service promises a stop takes at most.
    pub(crate) drain_deadline: Duration,
    /// How long a cluster may take to agree on a leader after a change.
    pub(crate) convergence_bound: Duration,
    /// How many service hosts the target has.
    pub(crate) cluster_size: usize,
    /// How long a (re)started service may take before it must serve.
    pub(crate) recovery_bound: Duration,
    /// The service's liveness path, if it has one.
    pub(crate) health_path: Option<String>,
    /// The service's readiness path, if it has one.
    pub(crate) ready_path: Option<String>,
    /// Whether the clients' requests are gRPC calls: an error status that
    /// ends a call the drain caught is a cut.
    pub(crate) grpc: bool,
    /// How late a service may act on time and still be on time: its own
    /// timer past a drain deadline, its noticing a SIGTERM. A few ticks in
    /// the simulation ([`SLACK_SIMULATED`]); on real threads, what a
    /// loaded machine's scheduler may add ([`SLACK_REAL_TIME`]).
    pub(crate) slack: Duration,
}

/// [`Facts::slack`] in the simulation: 100 ms.
pub(crate) const SLACK_SIMULATED: Duration = Duration::from_millis(100);
/// [`Facts::slack`] on real threads: 1 s. A false alarm costs more than
/// a stop that overran its deadline by less than a second going unjudged.
pub(crate) const SLACK_REAL_TIME: Duration = Duration::from_secs(1);

/// What oracles know of the service beyond the trace.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    /// What the judge was told of the service.
    pub(crate) facts: Facts,
    /// What the shutdown and serving oracles keep track of, kept once per
    /// run by the judge and read by each of them.
    pub(crate) view: SharedView,
}

/// A checker of one invariant.
pub(crate) trait Oracle {
    /// Sees one event, in trace order; returns the violation it causes, if any.
    fn observe(&mut self, index: usize, event: &Event) -> Option<Violation>;

    /// Called after the events of each tick: judges the passing of time
    /// (a deadline that ran out) at simulated time `now`.
    fn tick(&mut self, now: Duration) -> Option<Violation> {
        let _ = now;
        None
    }

    /// Called once when the run ends at simulated time `end`, for properties
    /// that can only be judged then.
    fn finish(&mut self, end: Duration) -> Option<Violation> {
        let _ = end;
        None
    }
}
