//! A trace as text: each event's line, the rendering of a whole trace, its
//! hash, and where two traces differ.

use std::fmt;

use super::event::{Event, EventKind, KillReason, Milestone, Outcome, ProbeKind, Sending};
use crate::case::seed::{fnv1a, FNV_OFFSET};

impl fmt::Display for Milestone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Milestone::Bound => "bound",
            Milestone::Accepting => "accepting",
            Milestone::Initialising => "initialising",
            Milestone::Initialised => "initialised",
            Milestone::Draining => "draining",
            Milestone::Stopped => "stopped",
        })
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Status(status) => write!(f, "status {status}"),
            Outcome::Refused => f.write_str("connection refused"),
            Outcome::Reset => f.write_str("connection reset"),
            Outcome::TimedOut => f.write_str("timed out"),
            Outcome::NotRouted => f.write_str("not routed"),
        }
    }
}

impl fmt::Display for ProbeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProbeKind::Startup => "startup",
            ProbeKind::Liveness => "liveness",
            ProbeKind::Readiness => "readiness",
        })
    }
}

impl fmt::Display for KillReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KillReason::GraceExpired => "grace period expired",
            KillReason::Startup => "startup probe failed",
            KillReason::Liveness => "liveness probe failed",
        })
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventKind::Step(action) => write!(f, "{action}"),
            EventKind::Sigterm => f.write_str("SIGTERM"),
            EventKind::Sigkill { reason } => write!(f, "SIGKILL ({reason})"),
            EventKind::ProbeFailed { probe, failures } => {
                write!(f, "{probe} probe failed ({failures} in a row)")
            }
            EventKind::Endpoint { routed: true } => f.write_str("endpoint added: traffic routed"),
            EventKind::Endpoint { routed: false } => {
                f.write_str("endpoint removed: traffic not routed")
            }
            EventKind::Milestone(milestone) => write!(f, "{milestone}"),
            EventKind::ConnectionOpened { connection } => write!(f, "c{connection} opened"),
            EventKind::ConnectionClosed { connection } => write!(f, "c{connection} closed"),
            EventKind::ConnectionAborted { connection } => {
                write!(f, "c{connection} aborted at the drain deadline")
            }
            EventKind::RequestStarted {
                request,
                connection,
                path,
            } => write!(f, "r{request} {path} read on c{connection}"),
            EventKind::StateRead {
                request,
                initialised,
            } => {
                let state = if *initialised {
                    "initialised"
                } else {
                    "NOT initialised"
                };
                write!(f, "r{request} read state ({state})")
            }
            EventKind::RequestFinished { request, status } => {
                write!(f, "r{request} answered {status}")
            }
            EventKind::WorkerStarted { generation } => write!(f, "worker g{generation} started"),
            EventKind::WorkerExited { generation } => write!(f, "worker g{generation} exited"),
            EventKind::HandleUsed {
                request,
                generation,
            } => write!(f, "r{request} called worker g{generation}"),
            EventKind::ComponentStarting { component } => write!(f, "{component} starting"),
            EventKind::ComponentReady { component } => write!(f, "{component} ready"),
            EventKind::ComponentUsed {
                component,
                user,
                detail,
            } => write!(f, "{user} used {component}: {detail}"),
            EventKind::Election { term } => write!(f, "election for term {term}"),
            EventKind::Leader { term } => write!(f, "leader of term {term}"),
            EventKind::SteppedDown { term } => write!(f, "stepped down (term {term})"),
            EventKind::Follows { leader, term } => write!(f, "follows {leader} (term {term})"),
            EventKind::Failed { message } => write!(f, "failed: {message}"),
            EventKind::Sent {
                request,
                path,
                sending,
            } => match sending {
                Sending::Whole => write!(f, "r{request} sent {path}"),
                Sending::SlowBody => write!(f, "r{request} sent {path}, its body in pieces"),
                Sending::HalfClose => write!(f, "r{request} sent {path} and half-closed"),
                Sending::Reused { of } => {
                    write!(f, "r{request} sent {path} on r{of}'s connection")
                }
                Sending::Multiplexed { of } => {
                    write!(f, "r{request} sent {path} beside r{of}, on its connection")
                }
            },
            EventKind::KeptAlive { connection } => {
                write!(f, "c{connection} answered with keep-alive while draining")
            }
            EventKind::Observed { request, outcome } => write!(f, "r{request} saw {outcome}"),
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>7}ms  {:<9} {}",
            self.at.as_millis(),
            self.host,
            self.kind
        )
    }
}

/// The stable text rendering of a trace: one line per event.
pub fn render(events: &[Event]) -> String {
    let mut text = String::new();
    for event in events {
        text.push_str(&event.to_string());
        text.push('\n');
    }
    text
}

/// A stable 64-bit hash of a trace's text rendering (FNV-1a), for comparing runs.
pub fn hash(events: &[Event]) -> u64 {
    events.iter().fold(FNV_OFFSET, |hash, event| {
        let line = event.to_string();
        fnv1a(hash, line.bytes().chain(std::iter::once(b'\n')))
    })
}

/// The index of the first event where two traces differ, if they do.
pub fn first_difference(a: &[Event], b: &[Event]) -> Option<usize> {
    let shared = a.len().min(b.len());
    (0..shared)
        .find(|&index| a[index] != b[index])
        .or((a.len() != b.len()).then_some(shared))
}
