//! The lifecycle core: what a server process does from bind to stop.
//!
//! A process binds its port, initialises its state, accepts connections, serves
//! HTTP/1.1 with hyper over turmoil's simulated network, answers `/health`
//! (liveness) and `/ready` (readiness), tracks its connections, and on a stop
//! request drains them within a deadline. Every step it takes is recorded in the
//! trace, so oracles can judge it.
//!
//! The races are *policies* of this core: the same code with the buggy policy
//! reproduces a real bug, with the fixed policy it is the repair. The startup
//! window (race 1) is [`StartupOrder`].

use std::cell::Cell;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{watch, Notify};
use turmoil::net::{TcpListener, TcpStream};

use crate::trace::{EventKind, Milestone, Recorder};

/// The port every simulated service listens on.
pub const PORT: u16 = 8080;
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

/// How one service process behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConfig {
    /// Startup policy.
    pub startup_order: StartupOrder,
    /// How long initialising the state takes, in simulated time.
    pub init_duration: Duration,
    /// How long a stop may wait for connections to close before it closes
    /// them and reports each one.
    pub drain_deadline: Duration,
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
    pub connection_ids: Rc<Cell<u64>>,
}

/// State shared by the tasks of one process.
struct Shared {
    host: Rc<str>,
    recorder: Recorder,
    initialised: Cell<bool>,
    draining: watch::Sender<bool>,
    live_connections: Cell<usize>,
    connection_closed: Notify,
    connection_ids: Rc<Cell<u64>>,
}

impl Shared {
    fn record(&self, kind: EventKind) {
        self.recorder.record(&self.host, kind);
    }
}

/// Runs one service process until its graceful stop completes.
///
/// Returns an error only if the port cannot be bound.
pub async fn serve(config: ServiceConfig, mut process: Process) -> std::io::Result<()> {
    let listener = TcpListener::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), PORT)).await?;
    let (draining, _) = watch::channel(false);
    let shared = Rc::new(Shared {
        host: Rc::clone(&process.host),
        recorder: process.recorder.clone(),
        initialised: Cell::new(false),
        draining,
        live_connections: Cell::new(0),
        connection_closed: Notify::new(),
        connection_ids: Rc::clone(&process.connection_ids),
    });
    shared.record(EventKind::Milestone(Milestone::Bound));

    let startup = start(&config, &shared, listener);
    tokio::select! {
        biased;
        _ = process.stop.wait_for(|stop| *stop) => {}
        _ = async { startup.await; std::future::pending::<()>().await } => {}
    }

    shared.record(EventKind::Milestone(Milestone::Draining));
    shared.draining.send_replace(true);
    drain(&shared, config.drain_deadline).await;
    shared.record(EventKind::Milestone(Milestone::Stopped));
    Ok(())
}

/// Initialises the state and starts the accept loop, in the policy's order.
async fn start(config: &ServiceConfig, shared: &Rc<Shared>, listener: TcpListener) {
    let initialise = async {
        shared.record(EventKind::Milestone(Milestone::Initialising));
        tokio::time::sleep(config.init_duration).await;
        shared.initialised.set(true);
        shared.record(EventKind::Milestone(Milestone::Initialised));
    };
    let accept = || {
        tokio::task::spawn_local(accept_loop(Rc::clone(shared), listener));
        shared.record(EventKind::Milestone(Milestone::Accepting));
    };
    match config.startup_order {
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

/// Takes connections until the drain begins; then the listener closes.
async fn accept_loop(shared: Rc<Shared>, listener: TcpListener) {
    let mut draining = shared.draining.subscribe();
    loop {
        let stream = tokio::select! {
            biased;
            _ = draining.wait_for(|draining| *draining) => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::debug!(%error, "accept failed");
                    continue;
                }
            },
        };
        let connection = shared.connection_ids.get() + 1;
        shared.connection_ids.set(connection);
        shared
            .live_connections
            .set(shared.live_connections.get() + 1);
        shared.record(EventKind::ConnectionOpened { connection });
        tokio::task::spawn_local(serve_connection(Rc::clone(&shared), stream, connection));
    }
}

/// Serves one connection; on drain, finishes the request in flight and closes.
async fn serve_connection(shared: Rc<Shared>, stream: TcpStream, connection: u64) {
    let handler = {
        let shared = Rc::clone(&shared);
        service_fn(move |request| respond(Rc::clone(&shared), connection, request))
    };
    let mut builder = http1::Builder::new();
    builder.auto_date_header(false).timer(TokioTimer::new());
    let served = builder.serve_connection(TokioIo::new(stream), handler);
    let mut served = std::pin::pin!(served);
    let mut draining = shared.draining.subscribe();
    let drain_began = tokio::select! {
        biased;
        _ = served.as_mut() => false,
        _ = draining.wait_for(|draining| *draining) => true,
    };
    if drain_began {
        served.as_mut().graceful_shutdown();
        let _ = served.await;
    }
    shared.record(EventKind::ConnectionClosed { connection });
    shared
        .live_connections
        .set(shared.live_connections.get() - 1);
    shared.connection_closed.notify_waiters();
}

/// Waits until every connection has closed, or the deadline passes.
///
/// The wait cannot lose a wakeup: the `Notified` future exists before the
/// count is read again, and the loop re-checks after every wake.
async fn drain(shared: &Shared, deadline: Duration) {
    let expiry = tokio::time::sleep(deadline);
    let mut expiry = std::pin::pin!(expiry);
    while shared.live_connections.get() > 0 {
        let closed = shared.connection_closed.notified();
        if shared.live_connections.get() == 0 {
            break;
        }
        tokio::select! {
            biased;
            _ = closed => {}
            _ = expiry.as_mut() => break,
        }
    }
}

/// Answers one request: status endpoints, or the application, which reads state.
async fn respond(
    shared: Rc<Shared>,
    connection: u64,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let id = request
        .headers()
        .get(REQUEST_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok())
        .unwrap_or(0);
    let path = request.uri().path().to_string();
    shared.record(EventKind::RequestStarted {
        request: id,
        connection,
        path: path.clone(),
    });
    let (status, body) = match path.as_str() {
        "/health" => (StatusCode::OK, "alive"),
        "/ready" if shared.initialised.get() && !*shared.draining.borrow() => {
            (StatusCode::OK, "ready")
        }
        "/ready" => (StatusCode::SERVICE_UNAVAILABLE, "not ready"),
        _ => {
            let initialised = shared.initialised.get();
            shared.record(EventKind::StateRead {
                request: id,
                initialised,
            });
            if initialised {
                (StatusCode::OK, "hello")
            } else {
                (StatusCode::INTERNAL_SERVER_ERROR, "state not initialised")
            }
        }
    };
    shared.record(EventKind::RequestFinished {
        request: id,
        status: status.as_u16(),
    });
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    Ok(response)
}
