//! `stale-handle` (race 5): no call goes through the handle of a worker that
//! has ended, and no next-page request gets a 5xx.
//!
//! White-box, through the generation every handle carries: a call through a
//! handle of a generation whose worker already exited breaks it. Black-box,
//! for what users see: a 5xx answered to `/page/<n>` with `n` above 1 (a
//! re-run of a paginated query) breaks it too. Generations count per process,
//! so a new process starts the judgement afresh.

use std::collections::{BTreeMap, BTreeSet};

use super::oracle::Oracle;
use crate::case::schedule::Action;
use crate::case::trace::{Event, EventKind, Milestone, Outcome};
use crate::case::verdict::{Invariant, Violation};

/// Checks [`Invariant::StaleHandle`].
#[derive(Default)]
pub(crate) struct StaleHandle {
    exited: BTreeSet<u64>,
    sent: BTreeMap<u64, String>,
}

fn next_page(path: &str) -> bool {
    path.strip_prefix("/page/")
        .and_then(|page| page.parse::<u64>().ok())
        .is_some_and(|page| page > 1)
}

impl Oracle for StaleHandle {
    fn observe(&mut self, index: usize, event: &Event) -> Option<Violation> {
        let violation = |reason: String| {
            Some(Violation {
                invariant: Invariant::StaleHandle,
                event: index,
                at: event.at,
                reason,
            })
        };
        match &event.kind {
            EventKind::Milestone(Milestone::Bound)
            | EventKind::Step(
                Action::Kill { .. } | Action::Restart { .. } | Action::Crash { .. },
            ) => {
                self.exited.clear();
            }
            EventKind::WorkerExited { generation } => {
                self.exited.insert(*generation);
            }
            EventKind::HandleUsed {
                request,
                generation,
            } if self.exited.contains(generation) => {
                return violation(format!(
                    "{} request r{request} called worker g{generation} through a stored handle, \
                     but that worker had already exited",
                    event.host
                ));
            }
            EventKind::Sent { request, path, .. } => {
                self.sent.insert(*request, path.clone());
            }
            EventKind::Observed { request, outcome } => {
                let path = self.sent.remove(request).unwrap_or_default();
                if let (true, Outcome::Status(status @ 500..=599)) = (next_page(&path), outcome) {
                    return violation(format!(
                        "next-page request r{request} for {path} got {status}"
                    ));
                }
            }
            _ => {}
        }
        None
    }
}
