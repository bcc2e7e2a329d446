//! The oracle: a checker of one invariant, fed the trace as it grows, and
//! what it knows of the service beyond the trace.
//!
//! Oracles only observe: they never reach into the director or the service.
//! They are the crate's own: an oracle reads the built-in models' events and
//! the run's shared view, neither of which is a stable interface, so users
//! choose among the [`Invariant`]s rather than write oracles of their own.

use std::time::Duration;

use super::view::SharedView;
use super::{
    AcceptedRequestFailed, ClusterConverges, DrainDeadline, ExitedUnasked, FailedWhileReady,
    HealthDuringDrain, KilledWithRequestsInFlight, ReadyAfterStop, RecoversAfterRestart,
    RequestCut, ServedBeforeInitialised, StaleHandle, UsedBeforeStarted,
};
use crate::case::trace::Event;
use crate::case::verdict::{Invariant, Violation};

/// What oracles know of the service beyond the trace.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    /// How long the service promises a stop takes at most.
    pub(crate) drain_deadline: Duration,
    /// How long a cluster may take to agree on a leader after a change.
    pub(crate) convergence_bound: Duration,
    /// How many service hosts the target has.
    pub(crate) cluster_size: usize,
    /// How long a (re)started service may take before it must serve.
    pub(crate) recovery_bound: Duration,
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

/// Whether an invariant's oracle reads the run's shared view of
/// connections, requests and signals: the black-box ones do.
pub(crate) fn reads_view(invariant: Invariant) -> bool {
    invariant.black_box()
}

/// A fresh oracle that checks this invariant.
pub(crate) fn oracle(invariant: Invariant, context: &Context) -> Box<dyn Oracle> {
    match invariant {
        Invariant::ServedBeforeInitialised => Box::<ServedBeforeInitialised>::default(),
        Invariant::UsedBeforeStarted => Box::<UsedBeforeStarted>::default(),
        Invariant::ClusterConverges => Box::new(ClusterConverges::new(
            context.convergence_bound,
            context.cluster_size,
        )),
        Invariant::DrainDeadline => Box::new(DrainDeadline::new(context)),
        Invariant::RequestCut => Box::new(RequestCut::new(context)),
        Invariant::HealthDuringDrain => Box::new(HealthDuringDrain::new(context)),
        Invariant::ReadyAfterStop => Box::new(ReadyAfterStop::new(context)),
        Invariant::KilledWithRequestsInFlight => Box::new(KilledWithRequestsInFlight::new(context)),
        Invariant::StaleHandle => Box::<StaleHandle>::default(),
        Invariant::AcceptedRequestFailed => Box::new(AcceptedRequestFailed::new(context)),
        Invariant::FailedWhileReady => Box::new(FailedWhileReady::new(context)),
        Invariant::RecoversAfterRestart => Box::new(RecoversAfterRestart::new(context)),
        Invariant::ExitedUnasked => Box::new(ExitedUnasked::new(context)),
    }
}
