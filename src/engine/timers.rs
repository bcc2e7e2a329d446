//! The orchestrator's pending timers: a signal or endpoint change it carries
//! out later, for one process of one host, kept in the order they fire.

use std::time::Duration;

use crate::case::schedule::Host;

/// A signal or endpoint change the orchestrator carries out later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// SIGTERM, after the preStop hook.
    Sigterm,
    /// The pod's endpoint leaves the load balancer.
    RemoveEndpoint,
    /// SIGKILL, when the grace period runs out.
    Sigkill,
}

/// One timer: when it fires, and for which host's which process.
#[derive(Debug, Clone, Copy)]
struct Pending {
    at: Duration,
    timer: Timer,
    host: Host,
    /// The process (launch count of its host) it belongs to.
    process: u64,
}

/// The pending timers, by firing time; timers due at the same time fire in
/// the order they were set.
#[derive(Debug, Default)]
pub(crate) struct Timers(Vec<Pending>);

impl Timers {
    /// Sets a timer for a host's process.
    pub(crate) fn set(&mut self, at: Duration, timer: Timer, host: Host, process: u64) {
        let position = self.0.partition_point(|pending| pending.at <= at);
        self.0.insert(
            position,
            Pending {
                at,
                timer,
                host,
                process,
            },
        );
        debug_assert!(self.0.is_sorted_by_key(|pending| pending.at));
    }

    /// Drops the timers of a host.
    pub(crate) fn forget(&mut self, host: Host) {
        self.0.retain(|pending| pending.host != host);
    }

    /// Keeps only the timers for which `keep(timer, host, process)` holds.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(Timer, Host, u64) -> bool) {
        self.0
            .retain(|pending| keep(pending.timer, pending.host, pending.process));
    }

    /// The first timer due at `now`, taken off the list.
    pub(crate) fn take_due(&mut self, now: Duration) -> Option<(Timer, Host)> {
        let first = self.0.first().filter(|pending| pending.at <= now)?;
        let due = (first.timer, first.host);
        self.0.remove(0);
        Some(due)
    }

    /// Whether no timer is pending.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
