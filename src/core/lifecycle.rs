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
//! | 5 stale handle | [`HandlePolicy`](crate::core::query::HandlePolicy) | a re-run reuses the stored worker handle | every run resets its state; handles carry a generation |

use std::cell::{Cell, RefCell};
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use std::sync::Arc;

use tokio::sync::{watch, Notify};
use turmoil::net::TcpListener;

use super::endpoint::{self, Role, Shared};
use super::policy::{DrainPolicy, ServiceConfig, StartupOrder, StatusPolicy};
use super::preempt::preempt;
use super::process::{bind_error, Process, PORT, STATUS_PORT};
use crate::case::trace::{EventKind, Milestone};

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
        host: Arc::clone(&process.host),
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
