//! The judge: the oracles of a run's invariants, fed its trace as it grows.
//!
//! The director hands every new event to the [`Judge`] as soon as it is
//! recorded, so a safety violation is reported at its cause and the run
//! stops there; after each tick the oracles judge the passing of time
//! (deadlines), and at the end of a run the properties that can only be
//! judged then (liveness). The oracles of the black-box invariants share one
//! [`view`] of connections, requests and signals, kept here once per run.

mod cluster;
mod drain;
mod handles;
mod oracle;
mod probes;
mod serving;
mod startup;
mod view;

use std::time::Duration;

use self::cluster::{ClusterConverges, UsedBeforeStarted};
use self::drain::{DrainDeadline, RequestCut};
use self::handles::StaleHandle;
use self::oracle::{Context, Oracle};
pub(crate) use self::oracle::{Facts, SLACK_REAL_TIME, SLACK_SIMULATED};
use self::probes::{HealthDuringDrain, KilledWithRequestsInFlight, ReadyAfterStop};
use self::serving::{AcceptedRequestFailed, ExitedUnasked, FailedWhileReady, RecoversAfterRestart};
use self::startup::ServedBeforeInitialised;
use self::view::SharedView;
use crate::case::trace::Event;
use crate::case::verdict::{Invariant, Violation};

/// The oracles of one run, and how far into its trace they have judged.
pub(crate) struct Judge {
    oracles: Vec<Box<dyn Oracle>>,
    /// The view the oracles share, if any of them reads it.
    view: Option<SharedView>,
    /// How many events of the trace have been judged.
    judged: usize,
}

impl Judge {
    /// A judge of these invariants over a service with these facts.
    pub(crate) fn new(invariants: &[Invariant], facts: Facts) -> Self {
        let context = Context {
            view: SharedView::new(
                facts.health_path.clone(),
                facts.ready_path.clone(),
                facts.slack,
            ),
            facts,
        };
        // Only oracles that read the view need it kept.
        let view = invariants
            .iter()
            .any(|invariant| reads_view(*invariant))
            .then(|| context.view.clone());
        Self {
            oracles: invariants
                .iter()
                .map(|invariant| oracle(*invariant, &context))
                .collect(),
            view,
            judged: 0,
        }
    }

    /// Judges the events of `trace` recorded since the last call, in order,
    /// then the passing of time at `now`: the first violation, if any.
    pub(crate) fn judge(&mut self, trace: &[Event], now: Duration) -> Option<Violation> {
        assert!(
            trace.len() >= self.judged,
            "a trace only grows: {} events judged, {} recorded",
            self.judged,
            trace.len()
        );
        let oracles = &mut self.oracles;
        let view = &self.view;
        let verdict = trace[self.judged..]
            .iter()
            .zip(self.judged..)
            .find_map(|(event, index)| {
                let verdict = oracles
                    .iter_mut()
                    .find_map(|oracle| oracle.observe(index, event));
                // Each oracle judged the state before the event; now the
                // shared view takes it in.
                if let Some(view) = view {
                    view.0.borrow_mut().observe(index, event);
                }
                verdict
            });
        self.judged = trace.len();
        verdict.or_else(|| self.oracles.iter_mut().find_map(|oracle| oracle.tick(now)))
    }

    /// Judges, once the run has ended at `end`, the properties that can only
    /// be judged then.
    pub(crate) fn finish(&mut self, end: Duration) -> Option<Violation> {
        self.oracles
            .iter_mut()
            .find_map(|oracle| oracle.finish(end))
    }
}

/// Whether an invariant's oracle reads the run's shared view of
/// connections, requests and signals: the black-box ones do.
fn reads_view(invariant: Invariant) -> bool {
    invariant.black_box()
}

/// A fresh oracle that checks this invariant.
fn oracle(invariant: Invariant, context: &Context) -> Box<dyn Oracle> {
    match invariant {
        Invariant::ServedBeforeInitialised => Box::new(ServedBeforeInitialised::new(context)),
        Invariant::UsedBeforeStarted => Box::<UsedBeforeStarted>::default(),
        Invariant::ClusterConverges => Box::new(ClusterConverges::new(
            context.facts.convergence_bound,
            context.facts.cluster_size,
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
