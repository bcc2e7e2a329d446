//! The cluster invariants (race 2): `used-before-started` and
//! `cluster-converges`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use super::oracle::Oracle;
use crate::case::schedule::{Action, Host};
use crate::case::trace::{Event, EventKind, Milestone};
use crate::case::verdict::{Invariant, Violation};

/// Which hosts a lifecycle step acts on: the one it names, or every host
/// (`None`).
fn step_hosts(action: &Action) -> Option<Option<Host>> {
    match action {
        Action::Start { host }
        | Action::Stop { host, .. }
        | Action::Kill { host }
        | Action::Restart { host }
        | Action::Crash { host } => Some(*host),
        _ => None,
    }
}

/// Checks [`Invariant::UsedBeforeStarted`]: on each host, a component is used
/// only once it has reported ready. Each process starts with nothing ready.
#[derive(Default)]
pub(crate) struct UsedBeforeStarted {
    ready: BTreeMap<Arc<str>, BTreeSet<String>>,
}

impl Oracle for UsedBeforeStarted {
    fn observe(&mut self, index: usize, event: &Event) -> Option<Violation> {
        match &event.kind {
            EventKind::Milestone(Milestone::Bound) => {
                self.ready.insert(Arc::clone(&event.host), BTreeSet::new());
            }
            EventKind::ComponentReady { component } => {
                self.ready
                    .entry(Arc::clone(&event.host))
                    .or_default()
                    .insert(component.clone());
            }
            EventKind::ComponentUsed {
                component,
                user,
                detail,
            } => {
                let ready = self
                    .ready
                    .get(&event.host)
                    .is_some_and(|ready| ready.contains(component));
                if !ready {
                    return Some(Violation {
                        invariant: Invariant::UsedBeforeStarted,
                        event: index,
                        at: event.at,
                        reason: format!(
                            "on {}, {user} used {component} before {component} was ready: {detail}",
                            event.host
                        ),
                    });
                }
            }
            _ => {}
        }
        None
    }
}

/// What one node last said about leadership.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Belief {
    Unknown,
    Candidate(u64),
    Leader(u64),
    Follows(String, u64),
}

/// Checks [`Invariant::ClusterConverges`]: within `bound` of the last change
/// (a start, stop, kill, restart, crash or network step), the running nodes,
/// if they are a majority of the cluster, have exactly one leader, and every
/// other running node follows it.
pub(crate) struct ClusterConverges {
    bound: Duration,
    cluster_size: usize,
    beliefs: BTreeMap<Arc<str>, Belief>,
    last_change: Option<(Duration, usize)>,
    judged: bool,
}

impl ClusterConverges {
    pub(crate) fn new(bound: Duration, cluster_size: usize) -> Self {
        Self {
            bound,
            cluster_size,
            beliefs: BTreeMap::new(),
            last_change: None,
            judged: true,
        }
    }

    fn converged(&self) -> bool {
        let leaders: Vec<(&Arc<str>, u64)> = self
            .beliefs
            .iter()
            .filter_map(|(node, belief)| match belief {
                Belief::Leader(term) => Some((node, *term)),
                _ => None,
            })
            .collect();
        // Without a majority running, no leader can be elected: nothing to judge.
        if self.beliefs.len() * 2 <= self.cluster_size {
            return true;
        }
        let [(leader, term)] = leaders.as_slice() else {
            return false;
        };
        self.beliefs.iter().all(|(node, belief)| {
            node == *leader
                || matches!(belief, Belief::Follows(followed, followed_term)
                    if followed.as_str() == &***leader && followed_term == term)
        })
    }

    fn describe(&self) -> String {
        let views: Vec<String> = self
            .beliefs
            .iter()
            .map(|(node, belief)| match belief {
                Belief::Unknown => format!("{node}: no leader known"),
                Belief::Candidate(term) => format!("{node}: candidate in term {term}"),
                Belief::Leader(term) => format!("{node}: leader of term {term}"),
                Belief::Follows(leader, term) => format!("{node}: follows {leader} (term {term})"),
            })
            .collect();
        views.join("; ")
    }
}

impl Oracle for ClusterConverges {
    fn observe(&mut self, index: usize, event: &Event) -> Option<Violation> {
        let change = match &event.kind {
            EventKind::Step(action) => {
                if let Some(named) = step_hosts(action) {
                    let down = !matches!(action, Action::Start { .. } | Action::Restart { .. });
                    let hit: Vec<Arc<str>> = self
                        .beliefs
                        .keys()
                        .filter(|node| named.is_none_or(|host| host.name() == &***node))
                        .cloned()
                        .collect();
                    if down {
                        for node in hit {
                            self.beliefs.remove(&node);
                        }
                    }
                }
                !matches!(
                    action,
                    Action::Request { .. } | Action::Connect { .. } | Action::Wait
                )
            }
            EventKind::Milestone(Milestone::Bound) => {
                self.beliefs
                    .insert(Arc::clone(&event.host), Belief::Unknown);
                true
            }
            EventKind::Milestone(Milestone::Stopped) | EventKind::Sigkill { .. } => {
                self.beliefs.remove(&event.host);
                true
            }
            EventKind::Election { term } => {
                self.beliefs
                    .insert(Arc::clone(&event.host), Belief::Candidate(*term));
                false
            }
            EventKind::Leader { term } => {
                self.beliefs
                    .insert(Arc::clone(&event.host), Belief::Leader(*term));
                false
            }
            EventKind::SteppedDown { .. } => {
                self.beliefs
                    .insert(Arc::clone(&event.host), Belief::Unknown);
                false
            }
            EventKind::Follows { leader, term } => {
                self.beliefs.insert(
                    Arc::clone(&event.host),
                    Belief::Follows(leader.clone(), *term),
                );
                false
            }
            _ => false,
        };
        if change {
            self.last_change = Some((event.at, index));
            self.judged = false;
        }
        None
    }

    fn tick(&mut self, now: Duration) -> Option<Violation> {
        let (changed_at, index) = self.last_change?;
        if self.judged || now < changed_at + self.bound {
            return None;
        }
        self.judge(now, changed_at, index)
    }

    fn finish(&mut self, end: Duration) -> Option<Violation> {
        // The run lasts the bound past its last step; a change after that
        // step is judged at the end, if its bound has run out.
        self.tick(end)
    }
}

impl ClusterConverges {
    fn judge(&mut self, now: Duration, changed_at: Duration, index: usize) -> Option<Violation> {
        self.judged = true;
        (!self.converged()).then(|| Violation {
            invariant: Invariant::ClusterConverges,
            event: index,
            at: now,
            reason: format!(
                "{}ms after the last change at {}ms the cluster had not converged on one leader: {}",
                self.bound.as_millis(),
                changed_at.as_millis(),
                self.describe()
            ),
        })
    }
}
