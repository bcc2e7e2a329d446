//! `served-before-initialised`: race 1, the startup window.
//!
//! The service's state must be initialised before any request reads it. Two
//! signs show that it was not: the white-box one, a handler reading state that
//! is not yet initialised; and the symptom users see, a 5xx answered to an
//! application request (not a status probe: `/ready` *should* answer 503 while
//! the service initialises) before the service reported its state initialised.
//! Each service process starts uninitialised: a bind, a kill or a restart
//! resets the judgement for its host.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::oracle::{Context, Oracle};
use crate::case::schedule::Action;
use crate::case::trace::{Event, EventKind, Milestone};
use crate::case::verdict::{Invariant, Violation};

/// What one process of the service has done so far.
#[derive(Default)]
struct Process {
    initialised: bool,
    /// Requests in flight: their path, to tell status probes from application requests.
    paths: BTreeMap<u64, String>,
}

/// Checks [`Invariant::ServedBeforeInitialised`].
pub(crate) struct ServedBeforeInitialised {
    processes: BTreeMap<Arc<str>, Process>,
    /// The service's status paths: a probe of one is not application traffic.
    status_paths: Vec<String>,
}

impl ServedBeforeInitialised {
    pub(crate) fn new(context: &Context) -> Self {
        let facts = &context.facts;
        Self {
            processes: BTreeMap::new(),
            status_paths: [&facts.health_path, &facts.ready_path]
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
        }
    }

    fn violation(index: usize, event: &Event, reason: String) -> Option<Violation> {
        Some(Violation {
            invariant: Invariant::ServedBeforeInitialised,
            event: index,
            at: event.at,
            reason,
        })
    }
}

impl Oracle for ServedBeforeInitialised {
    fn observe(&mut self, index: usize, event: &Event) -> Option<Violation> {
        match &event.kind {
            EventKind::Step(
                Action::Kill { .. } | Action::Restart { .. } | Action::Crash { .. },
            )
            | EventKind::Sigkill { .. } => {
                // The director acts on every service host; each begins again.
                self.processes.clear();
            }
            EventKind::Milestone(Milestone::Bound) => {
                self.processes
                    .insert(Arc::clone(&event.host), Process::default());
            }
            EventKind::Milestone(Milestone::Initialised) => {
                self.processes
                    .entry(Arc::clone(&event.host))
                    .or_default()
                    .initialised = true;
            }
            EventKind::RequestStarted { request, path, .. } => {
                self.processes
                    .entry(Arc::clone(&event.host))
                    .or_default()
                    .paths
                    .insert(*request, path.clone());
            }
            EventKind::StateRead {
                request,
                initialised: false,
            } => {
                return Self::violation(
                    index,
                    event,
                    format!(
                        "{} handled request r{request}, which read state that was not initialised yet",
                        event.host
                    ),
                );
            }
            EventKind::RequestFinished { request, status } => {
                let process = self.processes.entry(Arc::clone(&event.host)).or_default();
                let path = process.paths.remove(request).unwrap_or_default();
                let is_status_probe = self.status_paths.contains(&path);
                if *status >= 500 && !process.initialised && !is_status_probe {
                    return Self::violation(
                        index,
                        event,
                        format!(
                            "{} answered {status} to request r{request} for {path} before its state was initialised",
                            event.host
                        ),
                    );
                }
            }
            _ => {}
        }
        None
    }
}
