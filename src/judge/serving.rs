//! The black-box serving invariants: `accepted-request-failed`,
//! `failed-while-ready` and `recovers-after-restart`.
//!
//! They judge any server from what clients see and what crosses its sockets:
//! which requests the service read off an accepted connection, what each
//! client got back, when a stop was requested, and the steps that started,
//! restarted or ended a process. A request cut off by a network fault between
//! its client and the server (in force, or begun while it was pending) is
//! never the service's failure.

use std::time::Duration;

use super::oracle::{Context, Oracle};
use super::view::{Sent, SharedView, View};
use crate::case::schedule::{Action, Host, Link};
use crate::case::trace::{Event, EventKind, Milestone, Outcome, Sending};
use crate::case::verdict::{Invariant, Violation};
use crate::case::READY_PATH;

/// Whether an outcome is a failure the service caused: a 5xx or a reset.
fn broken(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Status(500..=599) | Outcome::Reset)
}

/// The request an observation answers, if the view knows it and it is
/// application traffic from the current process's time that no network
/// fault cut off.
fn judged<'a>(view: &'a View, event: &'a Event) -> Option<(u64, &'a Sent, &'a Outcome)> {
    let EventKind::Observed { request, outcome } = &event.kind else {
        return None;
    };
    let sent = view.sent.get(request)?;
    let current = sent.generation == view.generation;
    // A half-closing client may be taken for gone: its answer is not owed.
    let excused = view.is_status(&sent.path)
        || view.cut_off(&sent.host)
        || sent.faulted
        || sent.sending == Sending::HalfClose;
    (current && !excused).then_some((*request, sent, outcome))
}

/// Checks [`Invariant::AcceptedRequestFailed`]: from listening until a stop
/// is requested, a request the service read gets neither a 5xx nor a reset.
pub(crate) struct AcceptedRequestFailed {
    view: SharedView,
}

impl AcceptedRequestFailed {
    pub(crate) fn new(context: &Context) -> Self {
        Self {
            view: context.view.clone(),
        }
    }
}

impl Oracle for AcceptedRequestFailed {
    fn observe(&mut self, index: usize, event: &Event) -> Option<Violation> {
        let view = self.view.get();
        let violation = judged(&view, event).and_then(|(request, sent, outcome)| {
            let accepted = view.accepted.contains_key(&request);
            let serving = view.sigterm.is_none();
            (accepted && serving && broken(outcome)).then(|| Violation {
                invariant: Invariant::AcceptedRequestFailed,
                event: index,
                at: event.at,
                reason: format!(
                    "request r{request} for {}, sent at {}ms and read by the server, saw {outcome} \
                     before any stop was requested",
                    sent.path,
                    sent.at.as_millis()
                ),
            })
        });
        violation
    }
}

/// Checks [`Invariant::FailedWhileReady`]: a request sent after `/ready`
/// answered 2xx, and before a stop, is not refused, reset or answered 5xx.
pub(crate) struct FailedWhileReady {
    view: SharedView,
    /// When the current process's `/ready` last answered 2xx, if its last
    /// answer was that, and the process generation it was in.
    ready_since: Option<(Duration, u64)>,
}

impl FailedWhileReady {
    pub(crate) fn new(context: &Context) -> Self {
        Self {
            view: context.view.clone(),
            ready_since: None,
        }
    }
}

impl Oracle for FailedWhileReady {
    fn observe(&mut self, index: usize, event: &Event) -> Option<Violation> {
        let view = self.view.get();
        let mut violation = None;
        if let EventKind::Observed { request, outcome } = &event.kind {
            let sent = view.sent.get(request);
            let probe = sent.filter(|sent| Some(sent.path.as_str()) == view.ready.as_deref());
            if let Some(probe) = probe.filter(|probe| probe.generation == view.generation) {
                self.ready_since = match outcome {
                    Outcome::Status(200..=299) => {
                        self.ready_since.or(Some((event.at, probe.generation)))
                    }
                    // A fault between prober and server says nothing of the service.
                    _ if view.cut_off(&probe.host) || probe.faulted => self.ready_since,
                    Outcome::NotRouted => self.ready_since,
                    _ => None,
                };
            }
        }
        let ready_since = self
            .ready_since
            .filter(|(_, generation)| *generation == view.generation);
        if let (Some((since, _)), Some((request, sent, outcome))) =
            (ready_since, judged(&view, event))
        {
            let failed = broken(outcome) || *outcome == Outcome::Refused;
            if failed && sent.at >= since && view.sigterm.is_none() {
                violation = Some(Violation {
                    invariant: Invariant::FailedWhileReady,
                    event: index,
                    at: event.at,
                    reason: format!(
                        "request r{request} for {}, sent at {}ms, saw {outcome} although {} had \
                         answered 2xx at {}ms and no stop was requested",
                        sent.path,
                        sent.at.as_millis(),
                        view.ready.as_deref().unwrap_or(READY_PATH),
                        since.as_millis()
                    ),
                });
            }
        }
        violation
    }
}

/// Checks [`Invariant::RecoversAfterRestart`]: a request sent once the
/// recovery bound has passed since the last start or restart is served.
pub(crate) struct RecoversAfterRestart {
    view: SharedView,
    bound: Duration,
    /// When the service was last started or restarted, while nothing has
    /// stopped it since.
    up_since: Option<Duration>,
    /// Whether a stop is under way: a start then finds the process still
    /// running, and does nothing.
    stopping: bool,
    /// Whether a latency step slowed a link: a timeout proves nothing then.
    slowed: bool,
}

impl RecoversAfterRestart {
    pub(crate) fn new(context: &Context) -> Self {
        Self {
            view: context.view.clone(),
            bound: context.facts.recovery_bound,
            up_since: None,
            stopping: false,
            slowed: false,
        }
    }
}

impl Oracle for RecoversAfterRestart {
    fn observe(&mut self, index: usize, event: &Event) -> Option<Violation> {
        let view = self.view.get();
        let mut violation = None;
        match &event.kind {
            EventKind::Step(Action::Start { .. }) if !self.stopping => {
                self.up_since = self.up_since.or(Some(event.at));
            }
            EventKind::Step(Action::Restart { .. }) => {
                self.up_since = Some(event.at);
                self.stopping = false;
            }
            EventKind::Step(Action::Stop { .. }) | EventKind::Sigterm => {
                self.up_since = None;
                self.stopping = true;
            }
            EventKind::Step(Action::Kill { .. } | Action::Crash { .. })
            | EventKind::Sigkill { .. }
            | EventKind::Milestone(Milestone::Stopped) => {
                self.up_since = None;
                self.stopping = false;
            }
            EventKind::Step(Action::Network {
                link: Link::Latency(_),
                a,
                b,
            }) if *a == Host::Server || *b == Host::Server => self.slowed = true,
            _ => {}
        }
        if let (Some(up_since), Some((request, sent, outcome))) =
            (self.up_since, judged(&view, event))
        {
            // A request the server read and is still answering shows it is
            // up (a slow endpoint); one it never read shows it is not.
            let read = view.accepted.contains_key(&request);
            let timed_out = *outcome == Outcome::TimedOut && !self.slowed && !read;
            let failed = broken(outcome) || *outcome == Outcome::Refused || timed_out;
            if failed && sent.at >= up_since + self.bound {
                violation = Some(Violation {
                    invariant: Invariant::RecoversAfterRestart,
                    event: index,
                    at: event.at,
                    reason: format!(
                        "request r{request} for {}, sent at {}ms, {}ms after the service was \
                         (re)started at {}ms (recovery bound {}ms), saw {outcome}",
                        sent.path,
                        sent.at.as_millis(),
                        sent.at.saturating_sub(up_since).as_millis(),
                        up_since.as_millis(),
                        self.bound.as_millis()
                    ),
                });
            }
        }
        violation
    }
}

/// Checks [`Invariant::ExitedUnasked`]: a process whose serve function
/// returns or fails without a SIGTERM ended unasked: it stopped serving (or
/// never began) with nobody stopping it. A SIGTERM counts from the moment it
/// is sent, even to a process that has not bound yet.
#[derive(Default)]
pub(crate) struct ExitedUnasked {
    /// Whether the current process was sent SIGTERM.
    asked: bool,
}

impl ExitedUnasked {
    pub(crate) fn new(_context: &Context) -> Self {
        Self::default()
    }
}

impl Oracle for ExitedUnasked {
    fn observe(&mut self, index: usize, event: &Event) -> Option<Violation> {
        let how = match &event.kind {
            EventKind::Sigterm => {
                self.asked = true;
                return None;
            }
            // The process is replaced or gone: the next one is unasked.
            EventKind::Step(
                Action::Kill { .. } | Action::Restart { .. } | Action::Crash { .. },
            )
            | EventKind::Sigkill { .. } => {
                self.asked = false;
                return None;
            }
            EventKind::Milestone(Milestone::Stopped) => "returned".to_string(),
            EventKind::Failed { message } => format!("failed ({message})"),
            _ => return None,
        };
        let asked = std::mem::take(&mut self.asked);
        (!asked).then(|| Violation {
            invariant: Invariant::ExitedUnasked,
            event: index,
            at: event.at,
            reason: format!(
                "the service's process on {} {how} at {}ms without being asked to stop: no \
                 SIGTERM had been sent to it",
                event.host,
                event.at.as_millis()
            ),
        })
    }
}
