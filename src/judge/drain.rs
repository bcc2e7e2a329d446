//! The drain invariants (race 3): `drain-deadline` and `request-cut`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::oracle::{Context, Oracle};
use super::view::SharedView;
use crate::case::trace::{Event, EventKind, Outcome, Sending};
use crate::case::verdict::{Invariant, Violation};

/// Checks [`Invariant::DrainDeadline`]: liveness, judged as time passes.
pub(crate) struct DrainDeadline {
    deadline: Duration,
    /// Slack past the drain deadline before a stop counts as late: the
    /// deadline is the service's own timer, and closing what is left takes
    /// a few ticks ([`Facts::slack`](super::oracle::Facts)).
    tolerance: Duration,
    view: SharedView,
    reported: bool,
    /// The connections open when SIGTERM arrived: when each opened, and
    /// when it closed, if it has.
    at_sigterm: BTreeMap<u64, (Duration, Option<Duration>)>,
}

impl DrainDeadline {
    pub(crate) fn new(context: &Context) -> Self {
        Self {
            deadline: context.facts.drain_deadline,
            tolerance: context.facts.slack,
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
        let late = now > sigterm_at + self.deadline + self.tolerance;
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
/// end in a reset unless the process that accepted it was killed (a kill or
/// crash excuses it; the orchestrator's kills are judged by
/// `killed-with-requests-in-flight`). A process whose serve function returned
/// is gone, its connections with it: a request it left unanswered is cut.
/// The reset is judged against the life of the process that accepted the
/// request, whatever process runs by the time the client sees it.
///
/// A connection a client reuses is judged too: if the server answered on it
/// with keep-alive after SIGTERM and then closed it under the next request,
/// that request was cut, since a response sent while draining must say
/// `connection: close`. A half-closing client's request is not owed an
/// answer: servers may take the half-close for the client's going away.
pub(crate) struct RequestCut {
    view: SharedView,
    grpc: bool,
}

impl RequestCut {
    pub(crate) fn new(context: &Context) -> Self {
        Self {
            view: context.view.clone(),
            grpc: context.facts.grpc,
        }
    }

    /// A gRPC call the server read and ended with an error status (a 5xx
    /// by `google.rpc.Code`: `INTERNAL`, `UNKNOWN`, `UNAVAILABLE` with a
    /// message, ...) after its SIGTERM: the drain cut it. Health checks are
    /// not calls: `NOT_SERVING` then is what readiness should say.
    fn errored_in_drain(&self, index: usize, event: &Event) -> Option<Violation> {
        let EventKind::Observed {
            request,
            outcome: outcome @ Outcome::Status(500..=599),
        } = &event.kind
        else {
            return None;
        };
        let view = self.view.get();
        let sent = view.sent.get(request)?;
        let accepted = view.accepted.get(request)?;
        let life = view
            .lives
            .get(&accepted.generation)
            .copied()
            .unwrap_or_default();
        let sigterm_at = life.sigterm_at?;
        if !self.grpc || view.is_status(&sent.path) || life.killed || event.at < sigterm_at {
            return None;
        }
        Some(Violation {
            invariant: Invariant::RequestCut,
            event: index,
            at: event.at,
            reason: format!(
                "call r{request} for {} was read by the server (on c{}) and ended with {outcome} \
                 after SIGTERM at {}ms: a gRPC call the drain ends with an error status is cut",
                sent.path,
                accepted.connection,
                sigterm_at.as_millis()
            ),
        })
    }
}

impl Oracle for RequestCut {
    fn observe(&mut self, index: usize, event: &Event) -> Option<Violation> {
        let EventKind::Observed {
            request,
            outcome: Outcome::Reset,
        } = &event.kind
        else {
            return self.errored_in_drain(index, event);
        };
        let view = self.view.get();
        let sent = view.sent.get(request)?;
        if sent.sending == Sending::HalfClose {
            return None;
        }
        let violation = |reason: String| Violation {
            invariant: Invariant::RequestCut,
            event: index,
            at: event.at,
            reason,
        };
        if let Some(accepted) = view.accepted.get(request) {
            let life = view
                .lives
                .get(&accepted.generation)
                .copied()
                .unwrap_or_default();
            if life.killed {
                return None;
            }
            let phase = match (life.sigterm_at, life.stopped_at) {
                (_, Some(stopped)) => format!(
                    "after the service's process had returned from its stop at {}ms (its \
                     connections end with it)",
                    stopped.as_millis()
                ),
                (Some(sigterm), None) => format!(
                    "while the service drained, after SIGTERM at {}ms",
                    sigterm.as_millis()
                ),
                (None, None) => "while the service was serving, before any stop".into(),
            };
            return Some(violation(format!(
                "request r{request} for {} was accepted by the server (on c{}) but its \
                 connection was reset before a whole response, {phase}",
                sent.path, accepted.connection
            )));
        }
        let Sending::Reused { of } = sent.sending else {
            return None;
        };
        let connection = view.accepted.get(&of)?.connection;
        view.kept_alive_while_draining
            .contains(&connection)
            .then(|| {
                violation(format!(
                    "request r{request} for {} reused c{connection}, which the server had kept \
                     alive in its answer to r{of} after SIGTERM, and the server closed it \
                     under the request: a response sent while draining must say \
                     `connection: close`",
                    sent.path
                ))
            })
    }
}
