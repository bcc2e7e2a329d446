//! The status invariants (race 4): `health-during-drain`, `ready-after-stop`
//! and `killed-with-requests-in-flight`.

use super::view::SharedView;
use crate::oracle::{Context, Invariant, Oracle, Violation};
use crate::trace::{Event, EventKind, Outcome};

fn passed(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Status(200..=399))
}

/// Checks [`Invariant::HealthDuringDrain`]. A probe cut off by a network
/// fault (a partition or hold between prober and server) is not the
/// service's failure and is not judged.
pub(crate) struct HealthDuringDrain {
    view: SharedView,
}

impl HealthDuringDrain {
    pub(crate) fn new(context: &Context) -> Self {
        Self {
            view: context.view.clone(),
        }
    }
}

impl Oracle for HealthDuringDrain {
    fn observe(&mut self, index: usize, event: &Event) -> Option<Violation> {
        let view = self.view.get();
        let mut violation = None;
        if let EventKind::Observed { request, outcome } = &event.kind {
            let sent = view.sent.get(request);
            let health =
                sent.is_some_and(|sent| Some(sent.path.as_str()) == view.health.as_deref());
            let excused = matches!(outcome, Outcome::NotRouted)
                || sent.is_some_and(|sent| view.cut_off(&sent.host) || sent.faulted);
            let busy = view.traffic_in_flight().next().is_some();
            if health && !excused && !passed(outcome) && busy {
                let busy: Vec<String> = view
                    .traffic_in_flight()
                    .map(|(request, (path, _))| format!("r{request} {path}"))
                    .collect();
                violation = Some(Violation {
                    invariant: Invariant::HealthDuringDrain,
                    event: index,
                    at: event.at,
                    reason: format!(
                        "{} probe r{request} of {} saw {outcome} while the server was still \
                         handling {}",
                        event.host,
                        view.health.as_deref().unwrap_or("/health"),
                        busy.join(", ")
                    ),
                });
            }
        }
        violation
    }
}

/// Checks [`Invariant::ReadyAfterStop`]: a `/ready` request sent after
/// SIGTERM must not be answered 2xx. A refused or failed probe is "not ready"
/// to the orchestrator, which is what the invariant protects, so only a 2xx
/// breaks it.
pub(crate) struct ReadyAfterStop {
    view: SharedView,
}

impl ReadyAfterStop {
    pub(crate) fn new(context: &Context) -> Self {
        Self {
            view: context.view.clone(),
        }
    }
}

impl Oracle for ReadyAfterStop {
    fn observe(&mut self, index: usize, event: &Event) -> Option<Violation> {
        let view = self.view.get();
        let mut violation = None;
        if let EventKind::Observed { request, outcome } = &event.kind {
            let sent = view.sent.get(request);
            if let (Some(sent), Some((sigterm_at, _))) = (sent, view.sigterm) {
                let ready = Some(sent.path.as_str()) == view.ready.as_deref()
                    && matches!(outcome, Outcome::Status(200..=299));
                if ready && sent.at >= sigterm_at {
                    violation = Some(Violation {
                        invariant: Invariant::ReadyAfterStop,
                        event: index,
                        at: event.at,
                        reason: format!(
                            "{} request r{request} sent at {}ms, after SIGTERM at {}ms, was \
                             answered {outcome}",
                            sent.path,
                            sent.at.as_millis(),
                            sigterm_at.as_millis()
                        ),
                    });
                }
            }
        }
        violation
    }
}

/// Checks [`Invariant::KilledWithRequestsInFlight`]: at the orchestrator's
/// SIGKILL (grace expired, or a failed probe), no application request may be
/// unfinished. Kills a schedule injects as faults are not judged.
pub(crate) struct KilledWithRequestsInFlight {
    view: SharedView,
}

impl KilledWithRequestsInFlight {
    pub(crate) fn new(context: &Context) -> Self {
        Self {
            view: context.view.clone(),
        }
    }
}

impl Oracle for KilledWithRequestsInFlight {
    fn observe(&mut self, index: usize, event: &Event) -> Option<Violation> {
        let view = self.view.get();
        let mut violation = None;
        if let EventKind::Sigkill { reason } = &event.kind {
            let unfinished: Vec<String> = view
                .traffic_in_flight()
                .map(|(request, (path, since))| {
                    format!(
                        "r{request} {path} (running {}ms)",
                        event.at.saturating_sub(*since).as_millis()
                    )
                })
                .collect();
            if !unfinished.is_empty() {
                violation = Some(Violation {
                    invariant: Invariant::KilledWithRequestsInFlight,
                    event: index,
                    at: event.at,
                    reason: format!(
                        "SIGKILL ({reason}) found accepted requests unfinished: {}",
                        unfinished.join(", ")
                    ),
                });
            }
        }
        violation
    }
}
