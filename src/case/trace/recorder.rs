//! The recorder: the append-only log of one run's events, and the current
//! one of this thread for code that cannot hold it.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use super::event::{Event, EventKind};

thread_local! {
    /// The recorder of the run on this thread, for code that cannot hold an
    /// `Rc`: a user's server may move its sockets to `Send` tasks.
    static CURRENT: RefCell<Option<Recorder>> = const { RefCell::new(None) };
}

/// Makes a recorder the current one on this thread; removed on drop.
pub(crate) struct Current(());

impl Current {
    pub(crate) fn install(recorder: &Recorder) -> Current {
        CURRENT.with(|current| *current.borrow_mut() = Some(recorder.clone()));
        Current(())
    }
}

impl Drop for Current {
    fn drop(&mut self) {
        CURRENT.with(|current| *current.borrow_mut() = None);
    }
}

/// Records an event from a host through the current recorder; outside a run
/// (a socket dropped with the simulation), nothing is recorded.
pub(crate) fn record_current(host: &str, kind: EventKind) {
    CURRENT.with(|current| {
        if let Some(recorder) = current.borrow().as_ref() {
            recorder.record(&Rc::from(host), kind);
        }
    });
}

/// A shared, append-only log of events for one run.
///
/// All hosts of a simulation run on one thread, so a `Rc<RefCell<_>>` is enough
/// and appends happen in execution order, which is deterministic.
#[derive(Clone, Default)]
pub struct Recorder {
    events: Rc<RefCell<Vec<Event>>>,
}

impl Recorder {
    /// Appends an event from inside a simulated host, stamped with the
    /// simulation's clock.
    pub fn record(&self, host: &Rc<str>, kind: EventKind) {
        let at = turmoil::sim_elapsed().unwrap_or_default();
        self.record_at(at, host, kind);
    }

    /// Appends an event with a time the caller read (the director's clock).
    ///
    /// Within a tick each host runs on its own clock, up to a tick ahead of
    /// the others; times are kept monotonic so that the trace is in time
    /// order as well as in execution order.
    pub fn record_at(&self, at: Duration, host: &Rc<str>, kind: EventKind) {
        let mut events = self.events.borrow_mut();
        let at = events.last().map_or(at, |last| at.max(last.at));
        events.push(Event {
            at,
            host: Rc::clone(host),
            kind,
        });
    }

    /// Lends the log to `read`; nothing may be recorded meanwhile.
    pub fn with_events<T>(&self, read: impl FnOnce(&[Event]) -> T) -> T {
        read(&self.events.borrow())
    }

    /// Takes the whole log, leaving it empty.
    pub fn take(&self) -> Vec<Event> {
        std::mem::take(&mut self.events.borrow_mut())
    }
}
