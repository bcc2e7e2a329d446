//! The status invariants (race 4): `health-during-drain`, `ready-after-stop`
//! and `killed-with-requests-in-flight`.

use super::oracle::{Context, Oracle};
use super::view::SharedView;
use crate::case::schedule::Host;
use crate::case::trace::{Event, EventKind, KillReason, Outcome};
use crate::case::verdict::{Invariant, Violation};
use crate::case::HEALTH_PATH;

fn passed(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Status(200..=399))
}

/// Checks [`Invariant::HealthDuringDrain`] by its consequence: a failing
/// `/health` matters where the kubelet acts on it. When its liveness (or
/// startup) probe reaches its failure threshold and it kills the pod while
/// requests are in flight, those requests are lost to a lying health check.
/// Today's kubelet stops those probes once a pod terminates, so a drain can
/// trip this only under `probing = "legacy"`; a service whose `/health` fails
/// under load trips it under either. A single refused probe, with no kill,
/// is not a violation. Probes cut off by a network fault count as the
/// kubelet counts them: they are failures too, as in a real cluster.
pub(crate) struct HealthDuringDrain {
    view: SharedView,
    /// The last failed `/health` probe: its number and what it saw.
    last_failed: Option<(u64, Outcome)>,
}

impl HealthDuringDrain {
    pub(crate) fn new(context: &Context) -> Self {
        Self {
            view: context.view.clone(),
            last_failed: None,
        }
    }
}

impl Oracle for HealthDuringDrain {
    fn observe(&mut self, index: usize, event: &Event) -> Option<Violation> {
        let view = self.view.get();
        match &event.kind {
            EventKind::Observed { request, outcome } if !passed(outcome) => {
                let health = view.sent.get(request).is_some_and(|sent| {
                    Some(sent.path.as_str()) == view.health.as_deref()
                        && &*sent.host == Host::Kubelet.name()
                });
                if health {
                    self.last_failed = Some((*request, outcome.clone()));
                }
                None
            }
            EventKind::Sigkill {
                reason: reason @ (KillReason::Liveness | KillReason::Startup),
            } => {
                let busy: Vec<String> = view
                    .traffic_in_flight()
                    .map(|(request, (path, _))| format!("r{request} {path}"))
                    .collect();
                if busy.is_empty() {
                    return None;
                }
                let last = self
                    .last_failed
                    .as_ref()
                    .map_or_else(String::new, |(probe, seen)| {
                        format!(" (its last probe, r{probe}, saw {seen})")
                    });
                Some(Violation {
                    invariant: Invariant::HealthDuringDrain,
                    event: index,
                    at: event.at,
                    reason: format!(
                        "the kubelet killed the pod ({reason}) because {} kept failing{last} \
                         while the server was still handling {}",
                        view.health.as_deref().unwrap_or(HEALTH_PATH),
                        busy.join(", ")
                    ),
                })
            }
            _ => None,
        }
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
