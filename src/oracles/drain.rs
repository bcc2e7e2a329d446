//! The drain invariants (race 3): `drain-deadline` and `request-cut`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::view::SharedView;
use crate::oracle::{Context, Invariant, Oracle, Violation};
use crate::trace::{Event, EventKind, Outcome};

/// Slack past the drain deadline before a stop counts as late: the deadline
/// is the service's own timer, and closing what is left takes a few ticks.
const DEADLINE_TOLERANCE: Duration = Duration::from_millis(100);

/// Checks [`Invariant::DrainDeadline`]: liveness, judged as time passes.
pub(crate) struct DrainDeadline {
    deadline: Duration,
    view: SharedView,
    reported: bool,
    /// The connections open when SIGTERM arrived: when each opened, and
    /// when it closed, if it has.
    at_sigterm: BTreeMap<u64, (Duration, Option<Duration>)>,
}

impl DrainDeadline {
    pub(crate) fn new(context: &Context) -> Self {
        Self {
            deadline: context.drain_deadline,
            view: context.view.clone(),
            reported: false,
            at_sigterm: BTreeMap::new(),
        }
    }
}

impl Oracle for DrainDeadline {
    fn observe(&mut self, _index: usize, event: &Event) -> Option<Violation> {
        let view = self.view.get();
        match &event.kind {
            EventKind::Sigterm => {
                self.at_sigterm = view
                    .connections
                    .iter()
                    .map(|(connection, opened)| (*connection, (*opened, None)))
                    .collect();
            }
            EventKind::ConnectionClosed { connection }
            | EventKind::ConnectionAborted { connection } => {
                if let Some((_, closed)) = self.at_sigterm.get_mut(connection) {
                    *closed = Some(event.at);
                }
            }
            _ => {}
        }
        None
    }

    fn tick(&mut self, now: Duration) -> Option<Violation> {
        let view = self.view.get();
        let (sigterm_at, sigterm_event) = view.sigterm?;
        let late = now > sigterm_at + self.deadline + DEADLINE_TOLERANCE;
        if view.stopped || !late || self.reported {
            return None;
        }
        self.reported = true;
        Some(Violation {
            invariant: Invariant::DrainDeadline,
            event: sigterm_event,
            at: now,
            reason: format!(
                "server got SIGTERM at {}ms and had not stopped {}ms later (drain deadline {}ms); \
                 it was still waiting on: {}; connections open at SIGTERM: {}",
                sigterm_at.as_millis(),
                now.saturating_sub(sigterm_at).as_millis(),
                self.deadline.as_millis(),
                view.describe_open(now),
                self.describe_at_sigterm(),
            ),
        })
    }
}

impl DrainDeadline {
    fn describe_at_sigterm(&self) -> String {
        if self.at_sigterm.is_empty() {
            return "none".into();
        }
        let connections: Vec<String> = self
            .at_sigterm
            .iter()
            .map(|(connection, (opened, closed))| match closed {
                Some(closed) => format!(
                    "c{connection} (opened {}ms, closed {}ms)",
                    opened.as_millis(),
                    closed.as_millis()
                ),
                None => format!(
                    "c{connection} (opened {}ms, still open)",
                    opened.as_millis()
                ),
            })
            .collect();
        connections.join(", ")
    }
}

/// Checks [`Invariant::RequestCut`]: a request the server accepted must not
/// end in a reset while its process lives (a kill or crash excuses it; the
/// orchestrator's kills are judged by `killed-with-requests-in-flight`).
pub(crate) struct RequestCut {
    view: SharedView,
}

impl RequestCut {
    pub(crate) fn new(context: &Context) -> Self {
        Self {
            view: context.view.clone(),
        }
    }
}

impl Oracle for RequestCut {
    fn observe(&mut self, index: usize, event: &Event) -> Option<Violation> {
        let view = self.view.get();
        let violation = match &event.kind {
            EventKind::Observed {
                request,
                outcome: Outcome::Reset,
            } => {
                let sent = view.sent.get(request);
                let same_process = sent.is_some_and(|sent| sent.generation == view.generation);
                (view.accepted.contains(request) && same_process).then(|| Violation {
                    invariant: Invariant::RequestCut,
                    event: index,
                    at: event.at,
                    reason: format!(
                        "request r{request} for {} was accepted by the server but its connection \
                         was reset before a whole response, while the service was alive",
                        sent.map_or("?", |sent| sent.path.as_str())
                    ),
                })
            }
            _ => None,
        };
        violation
    }
}
