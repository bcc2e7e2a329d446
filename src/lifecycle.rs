//! The lifecycle core: what a server process does from bind to stop.
//!
//! A process binds its port, initialises its state, accepts connections, serves
//! HTTP/1.1 with hyper over turmoil's simulated network, answers `/health`
//! (liveness) and `/ready` (readiness), tracks its connections and requests,
//! and on a stop request (SIGTERM) drains. Every step it takes is recorded in
//! the trace, so oracles can judge it.
//!
//! The races are *policies* of this core: the same code with the buggy policy
//! reproduces a real bug, with the fixed policy it is the repair.
//!
//! | race | policy | buggy | fixed |
//! | --- | --- | --- | --- |
//! | 1 startup window | [`StartupOrder`] | accept, then initialise | initialise, then accept |
//! | 3 drain hang | [`DrainPolicy`] | check the count, then wait (a lost wakeup) | a wakeup that cannot be lost, and a deadline |
//! | 4 probes during drain | [`StatusPolicy`] | status stops with everything else | status stops last, `/ready` says 503 from SIGTERM |
//! | 5 stale handle | [`HandlePolicy`](crate::query::HandlePolicy) | a re-run reuses the stored worker handle | every run resets its state; handles carry a generation |

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::AbortHandle;
use turmoil::net::TcpListener;

use crate::endpoint::{self, Role};
use crate::preempt::preempt;
use crate::query::{QueryConfig, QueryContext};
use crate::service::bind_error;
use crate::trace::{EventKind, Milestone, Recorder};

/// The port every simulated service serves its traffic on.
pub const PORT: u16 = 8080;
/// The port of the status component, when it is separate.
pub const STATUS_PORT: u16 = 8081;
/// The header through which simulated clients name their requests, so the
/// service's trace events and the client's refer to the same request.
pub const REQUEST_HEADER: &str = "x-lifecycle-request";

/// In which order a process initialises its state and starts accepting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartupOrder {
    /// Start the accept loop, then initialise: requests that land in between
    /// read uninitialised state (the Phoenix bug; race 1's buggy policy).
    AcceptThenInitialise,
    /// Initialise, then start the accept loop: "data ready" and "listening"
    /// are one step as seen from outside (race 1's fix).
    InitialiseThenAccept,
}

/// How a stop waits for the connections to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainPolicy {
    /// Check the live-connection count, then wait for the notification the
    /// last closing connection sends without storing a permit
    /// (`Notify::notify_waiters`). If the last connection closes between the
    /// check and the creation of the wait, the wakeup is lost and the stop
    /// never completes; no deadline saves it (the Salvo and Poem bug).
    CheckThenWait,
    /// Create the wait before each re-check, so no wakeup is lost; at the
    /// drain deadline, close the connections still open and report each one.
    Robust,
}

/// Where `/health` and `/ready` are served, and when they stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusPolicy {
    /// On the traffic port; they go when the listener closes at SIGTERM.
    Shared,
    /// A separate status component on [`STATUS_PORT`] that stops at SIGTERM,
    /// concurrently with everything else, so it is gone while requests still
    /// run (the RoadRunner bug).
    SeparateStopsFirst,
    /// A separate status component that stops after the traffic has drained:
    /// `/ready` answers 503 from SIGTERM, `/health` 200 until the end.
    SeparateStopsLast,
}

/// How one service process behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConfig {
    /// Startup policy.
    pub startup_order: StartupOrder,
    /// How long initialising the state takes, in simulated time.
    pub init_duration: Duration,
    /// Drain policy.
    pub drain: DrainPolicy,
    /// How long a robust stop waits for connections before closing them.
    pub drain_deadline: Duration,
    /// Status component policy.
    pub status: StatusPolicy,
    /// How long a request for `/slow` takes, in simulated time.
    pub slow_duration: Duration,
    /// The paginated query behind `/page/<n>`, if the service has one.
    pub query: Option<QueryConfig>,
}

/// What the harness hands one run of the service program on its host: where
/// to record, and the stop signal (SIGTERM).
pub struct Process {
    /// The host's name, as trace events carry it.
    pub host: Rc<str>,
    /// Where events go.
    pub recorder: Recorder,
    /// Becomes `true` when a graceful stop is requested.
    pub stop: watch::Receiver<bool>,
    /// A seed for this process's own random choices.
    pub seed: u64,
    /// Numbers connections across every process of the run.
    pub connection_ids: Arc<AtomicU64>,
    /// The other service hosts of a cluster (none for a single host).
    pub peers: Vec<Rc<str>>,
}

/// State shared by the tasks of one process.
pub(crate) struct Shared {
    pub(crate) host: Rc<str>,
    pub(crate) recorder: Recorder,
    pub(crate) config: ServiceConfig,
    pub(crate) initialised: Cell<bool>,
    /// `true` once SIGTERM arrived: readiness fails, connections drain.
    pub(crate) draining: watch::Sender<bool>,
    /// Open traffic connections: how to abort each.
    pub(crate) connections: RefCell<BTreeMap<u64, AbortHandle>>,
    /// The count the drain checks, and the notification the last close sends.
    pub(crate) live_connections: Cell<usize>,
    pub(crate) last_connection_closed: Notify,
    pub(crate) connection_ids: Arc<AtomicU64>,
    /// The paginated query's reusable context.
    pub(crate) query: Rc<RefCell<QueryContext>>,
}

impl Shared {
    pub(crate) fn record(&self, kind: EventKind) {
        self.recorder.record(&self.host, kind);
    }
}

/// Runs one service process until its stop completes.
///
/// Returns an error only if a port cannot be bound.
pub async fn serve(config: ServiceConfig, mut process: Process) -> std::io::Result<()> {
    let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let listener = TcpListener::bind((any, PORT)).await.map_err(bind_error)?;
    let status_listener = match config.status {
        StatusPolicy::Shared => None,
        _ => Some(
            TcpListener::bind((any, STATUS_PORT))
                .await
                .map_err(bind_error)?,
        ),
    };
    let shared = Rc::new(Shared {
        host: Rc::clone(&process.host),
        recorder: process.recorder.clone(),
        config,
        initialised: Cell::new(false),
        draining: watch::channel(false).0,
        connections: RefCell::default(),
        live_connections: Cell::new(0),
        last_connection_closed: Notify::new(),
        connection_ids: Arc::clone(&process.connection_ids),
        query: Rc::default(),
    });
    shared.record(EventKind::Milestone(Milestone::Bound));

    // The status component serves from the start, until it is stopped.
    let (status_stop, status_stopped) = watch::channel(false);
    if let Some(status_listener) = status_listener {
        let role = Role::Status {
            stop: status_stopped,
        };
        tokio::task::spawn_local(endpoint::accept_loop(
            Rc::clone(&shared),
            status_listener,
            role,
        ));
    }

    let startup = start(&shared, listener);
    tokio::select! {
        biased;
        _ = process.stop.wait_for(|stop| *stop) => {}
        _ = async { startup.await; std::future::pending::<()>().await } => {}
    }

    shared.record(EventKind::Milestone(Milestone::Draining));
    shared.draining.send_replace(true);
    if shared.config.status == StatusPolicy::SeparateStopsFirst {
        status_stop.send_replace(true);
    }
    drain(&shared).await;
    status_stop.send_replace(true);
    shared.record(EventKind::Milestone(Milestone::Stopped));
    Ok(())
}

/// Initialises the state and starts the accept loop, in the policy's order.
async fn start(shared: &Rc<Shared>, listener: TcpListener) {
    let initialise = async {
        shared.record(EventKind::Milestone(Milestone::Initialising));
        tokio::time::sleep(shared.config.init_duration).await;
        shared.initialised.set(true);
        shared.record(EventKind::Milestone(Milestone::Initialised));
    };
    let accept = || {
        tokio::task::spawn_local(endpoint::accept_loop(
            Rc::clone(shared),
            listener,
            Role::Traffic,
        ));
        shared.record(EventKind::Milestone(Milestone::Accepting));
    };
    match shared.config.startup_order {
        StartupOrder::AcceptThenInitialise => {
            accept();
            initialise.await;
        }
        StartupOrder::InitialiseThenAccept => {
            initialise.await;
            accept();
        }
    }
}

/// Waits for the traffic connections to close, by the drain policy.
async fn drain(shared: &Shared) {
    match shared.config.drain {
        DrainPolicy::CheckThenWait => {
            if shared.live_connections.get() > 0 {
                // A worker thread could close the last connection right here.
                preempt("drain: after the connection count, before the wait").await;
                shared.last_connection_closed.notified().await;
            }
        }
        DrainPolicy::Robust => {
            let expiry = tokio::time::sleep(shared.config.drain_deadline);
            let mut expiry = std::pin::pin!(expiry);
            while shared.live_connections.get() > 0 {
                let closed = shared.last_connection_closed.notified();
                preempt("drain: after the connection count, before the wait").await;
                if shared.live_connections.get() == 0 {
                    break;
                }
                tokio::select! {
                    biased;
                    _ = closed => {}
                    _ = expiry.as_mut() => {
                        abort_connections(shared);
                        break;
                    }
                }
            }
        }
    }
}

/// Closes every connection still open at the drain deadline, reporting each.
fn abort_connections(shared: &Shared) {
    let open = std::mem::take(&mut *shared.connections.borrow_mut());
    for (connection, handle) in open {
        shared.record(EventKind::ConnectionAborted { connection });
        handle.abort();
    }
    shared.live_connections.set(0);
}
