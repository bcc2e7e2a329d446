//! A listener's backlog: how many connections a service host holds sent
//! but not yet accepted, and the refusal of one more.
//!
//! A kernel queues a listener's incoming connections until the process
//! accepts them, up to the listen backlog; past it, a new connection is not
//! taken. turmoil queues them too, but past its `tcp_capacity` it panics
//! ("server socket buffer full"), which would read as the service crashing.
//! So the harness keeps the count itself, per listener, for the connections
//! its client and kubelet open, and refuses the one that finds the backlog
//! full: the client sees `refused`, as with Linux's
//! `net.ipv4.tcp_abort_on_overflow = 1`. (Linux's default drops it and the
//! client retries its SYN; turmoil has no retransmission, so that would be
//! a timeout after `request_timeout`, later and less legible.) turmoil's own
//! capacity is set past anything a run can reach ([`TCP_CAPACITY`]).
//!
//! A connection counts from its connect until turmoil resolves it
//! (accepted, or refused because nothing listens) or its client gives up on
//! it (the request's timeout).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

/// turmoil's per-host TCP capacity in every run: its accept queues and its
/// streams' windows, in segments. Beyond what memory could hold, so its
/// "server socket buffer full" panic cannot fire; the modelled limit is the
/// backlog. (turmoil's default, 64, is what a burst of 65 connections hit.)
pub(crate) const TCP_CAPACITY: usize = usize::MAX >> 4;

/// A listener: its host's name and its port.
type ListenerAddress = (Arc<str>, u16);

/// The connections pending on each listener of a run, and its backlog.
#[derive(Clone)]
pub(crate) struct Backlog {
    size: usize,
    pending: Rc<RefCell<BTreeMap<ListenerAddress, usize>>>,
}

/// A pending connection's place in its listener's backlog, given back when
/// dropped.
pub(crate) struct Slot {
    backlog: Backlog,
    listener: ListenerAddress,
}

impl Backlog {
    /// An empty backlog of `size` connections per listener.
    pub(crate) fn new(size: usize) -> Self {
        Self {
            size,
            pending: Rc::default(),
        }
    }

    /// A place for one more connection to `host`'s `port`, or `None` when
    /// its backlog is full and the connection is to be refused.
    pub(crate) fn admit(&self, host: &Arc<str>, port: u16) -> Option<Slot> {
        let listener = (Arc::clone(host), port);
        let mut pending = self.pending.borrow_mut();
        let count = pending.entry(listener.clone()).or_insert(0);
        if *count >= self.size {
            return None;
        }
        *count += 1;
        Some(Slot {
            backlog: self.clone(),
            listener,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(count) = self.backlog.pending.borrow_mut().get_mut(&self.listener) {
            *count = count.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_backlog_refuses_until_a_connection_leaves_it() {
        let backlog = Backlog::new(2);
        let host: Arc<str> = "server".into();
        let first = backlog.admit(&host, 80).expect("room");
        let _second = backlog.admit(&host, 80).expect("room");
        assert!(backlog.admit(&host, 80).is_none());
        assert!(backlog.admit(&host, 81).is_some(), "another listener");
        drop(first);
        assert!(backlog.admit(&host, 80).is_some());
    }
}
