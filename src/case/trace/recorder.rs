//! The recorder: the append-only log of one run's events, and the current
//! one of this thread for code that cannot hold it.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::event::{Event, EventKind};

thread_local! {
    /// The recorder of the run on this thread, for code that cannot hold
    /// one: a user's server may move its sockets to tasks of its own.
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

impl Current {
    /// Makes a recorder the current one on this thread for the rest of the
    /// thread's life: a thread of a process's runtime under the threads
    /// backend, which ends with the runtime.
    pub(crate) fn install_for_thread(recorder: &Recorder) {
        CURRENT.with(|current| *current.borrow_mut() = Some(recorder.clone()));
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
            recorder.record(&Arc::from(host), kind);
        }
    });
}

/// No connection: the refused-preface slot's empty value (connection
/// numbers count up from 1).
const NO_CONNECTION: u64 = u64::MAX;

/// Notes, through the current recorder, that the server of `connection`
/// read an HTTP/2 connection preface and did not answer it as HTTP/2 (see
/// [`Recorder::take_refused_http2`]); the first such connection is kept.
pub(crate) fn refuse_http2_current(connection: u64) {
    CURRENT.with(|current| {
        if let Some(recorder) = current.borrow().as_ref() {
            // The first is kept: a later one fails to replace it.
            let _ = recorder.refused_http2.compare_exchange(
                NO_CONNECTION,
                connection,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    });
}

/// A shared, append-only log of events for one run.
///
/// All hosts of a simulation run on one thread, so appends happen in
/// execution order, which is deterministic. The log is behind a mutex so
/// that the thread waiting for a run can read what a run that blocked its
/// thread recorded (see the director): in a simulation the lock is never
/// contended while the run goes on. Under the threads backend a process's
/// threads append too, in the order they take the lock.
#[derive(Clone)]
pub struct Recorder {
    events: Arc<Mutex<Vec<Event>>>,
    /// The instant a real-time run started, under the threads backend:
    /// its events are stamped with the time since. `None`: the simulation's
    /// clock.
    started: Option<Instant>,
    /// A process's fence, under the threads backend: once set (the process
    /// is being killed), it records only its connections' closes, as a
    /// killed process's kernel does. A killed process's threads run on
    /// until their next poll; what they did after the kill is not its.
    fence: Option<Arc<AtomicBool>>,
    /// The first connection since the director last looked whose server
    /// refused HTTP/2's preface: shared, not a thread's, because under the
    /// threads backend the server's streams run on its workers. An atomic
    /// ([`NO_CONNECTION`] for none), not a lock: the director reads it
    /// every step of the simulation loop.
    refused_http2: Arc<AtomicU64>,
}

impl Default for Recorder {
    /// A recorder for a simulated run, stamped with the simulation's clock.
    fn default() -> Self {
        Recorder {
            events: Arc::default(),
            started: None,
            fence: None,
            refused_http2: Arc::new(AtomicU64::new(NO_CONNECTION)),
        }
    }
}

impl Recorder {
    /// A recorder for a run on real threads and real time, which started
    /// at `started`. Its log is appended to from many threads, in the order
    /// they take its lock.
    pub(crate) fn real_time(started: Instant) -> Recorder {
        Recorder {
            started: Some(started),
            ..Recorder::default()
        }
    }

    /// This recorder for one process, behind `fence` (see [`Recorder`]).
    pub(crate) fn fenced(&self, fence: Arc<AtomicBool>) -> Recorder {
        Recorder {
            fence: Some(fence),
            ..self.clone()
        }
    }

    /// The time of the run so far: simulated, or real since its start.
    pub(crate) fn elapsed(&self) -> Duration {
        match self.started {
            Some(started) => started.elapsed(),
            None => turmoil::sim_elapsed().unwrap_or_default(),
        }
    }

    /// Appends an event from inside a simulated host, stamped with the
    /// simulation's clock (or, in a real-time run, with the time since its
    /// start).
    pub fn record(&self, host: &Arc<str>, kind: EventKind) {
        self.record_at(self.elapsed(), host, kind);
    }

    /// Appends an event with a time the caller read (the director's clock).
    ///
    /// Within a tick each host runs on its own clock, up to a tick ahead of
    /// the others; times are kept monotonic so that the trace is in time
    /// order as well as in execution order.
    pub fn record_at(&self, at: Duration, host: &Arc<str>, kind: EventKind) {
        let mut events = self.events();
        // Read under the lock the director records the kill under: an event
        // is before the kill in the trace, or fenced out.
        let fenced = self
            .fence
            .as_ref()
            .is_some_and(|fence| fence.load(Ordering::SeqCst));
        let closing = matches!(
            kind,
            EventKind::ConnectionClosed { .. } | EventKind::ConnectionAborted { .. }
        );
        if fenced && !closing {
            return;
        }
        let at = events.last().map_or(at, |last| at.max(last.at));
        events.push(Event {
            at,
            host: Arc::clone(host),
            kind,
        });
    }

    /// The connection, if any since the last call, whose server read an
    /// HTTP/2 connection preface and answered it with something other than
    /// HTTP/2's SETTINGS frame (an HTTP/1.1 error), or closed it with no
    /// answer, while no stop was requested and its process went on: a
    /// service that declared HTTP/2 and does not serve it, which no oracle
    /// would judge (its streams all end unread).
    pub(crate) fn take_refused_http2(&self) -> Option<u64> {
        // A load first: nearly every step has nothing to take.
        if self.refused_http2.load(Ordering::Relaxed) == NO_CONNECTION {
            return None;
        }
        Some(self.refused_http2.swap(NO_CONNECTION, Ordering::Relaxed))
            .filter(|&connection| connection != NO_CONNECTION)
    }

    /// Lends the log to `read`; nothing may be recorded meanwhile.
    pub fn with_events<T>(&self, read: impl FnOnce(&[Event]) -> T) -> T {
        read(&self.events())
    }

    /// Takes the whole log, leaving it empty.
    pub fn take(&self) -> Vec<Event> {
        std::mem::take(&mut self.events())
    }

    /// A copy of the log so far, read from another thread: `None` if the
    /// run's thread holds the log (it never does while it runs a host's
    /// code, so a blocked run's log can be read).
    pub(crate) fn try_copy(&self) -> Option<Vec<Event>> {
        match self.events.try_lock() {
            Ok(events) => Some(events.clone()),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner().clone()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// The log; a panic while it was held (a user's service panicking in
    /// the middle of a record cannot happen: recording runs no user code)
    /// leaves it whole.
    fn events(&self) -> MutexGuard<'_, Vec<Event>> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
