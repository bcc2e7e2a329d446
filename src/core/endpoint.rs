//! The HTTP endpoint of the lifecycle core: accept loops, connections, and the
//! answers to requests.
//!
//! The traffic endpoint counts its connections (the count a drain waits on)
//! and, once the drain begins, stops accepting and shuts each connection down
//! gracefully: an idle keep-alive connection closes at once, a busy one after
//! its response, which then carries `connection: close`. The status endpoint,
//! when separate, serves `/health` and `/ready` until its component is stopped.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::rc::Rc;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{watch, Notify};
use tokio::task::AbortHandle;
use turmoil::net::{TcpListener, TcpStream};

use super::policy::{ServiceConfig, StatusPolicy};
use super::process::REQUEST_HEADER;
use super::query::{self, QueryContext};
use crate::case::trace::{EventKind, Recorder};
use crate::case::{HEALTH_PATH, READY_PATH};

/// State shared by the tasks of one process.
pub(crate) struct Shared {
    pub(crate) host: Arc<str>,
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

/// Which endpoint a listener is.
#[derive(Clone)]
pub(crate) enum Role {
    /// The traffic port: tracked, drained.
    Traffic,
    /// The separate status component, serving until `stop` turns true.
    Status { stop: watch::Receiver<bool> },
}

impl Role {
    /// Resolves when this endpoint should stop taking and serving connections.
    async fn stopping(&mut self, shared: &Shared) {
        match self {
            Role::Traffic => {
                let mut draining = shared.draining.subscribe();
                let _ = draining.wait_for(|draining| *draining).await;
            }
            Role::Status { stop } => {
                let _ = stop.wait_for(|stop| *stop).await;
            }
        }
    }
}

/// Takes connections until the endpoint stops; then its listener closes.
pub(crate) async fn accept_loop(shared: Rc<Shared>, listener: TcpListener, mut role: Role) {
    loop {
        let stream = tokio::select! {
            biased;
            _ = role.stopping(&shared) => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::debug!(%error, "accept failed");
                    continue;
                }
            },
        };
        let connection = shared
            .connection_ids
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        shared.record(EventKind::ConnectionOpened { connection });
        let task = tokio::task::spawn_local(serve_connection(
            Rc::clone(&shared),
            stream,
            connection,
            role.clone(),
        ));
        if let Role::Traffic = role {
            shared
                .live_connections
                .set(shared.live_connections.get() + 1);
            shared
                .connections
                .borrow_mut()
                .insert(connection, task.abort_handle());
        }
    }
}

/// Serves one connection until it closes or its endpoint stops.
async fn serve_connection(shared: Rc<Shared>, stream: TcpStream, connection: u64, mut role: Role) {
    let handler = {
        let shared = Rc::clone(&shared);
        let traffic = matches!(role, Role::Traffic);
        service_fn(move |request| respond(Rc::clone(&shared), connection, traffic, request))
    };
    let mut builder = http1::Builder::new();
    builder.auto_date_header(false).timer(TokioTimer::new());
    let served = builder.serve_connection(TokioIo::new(stream), handler);
    let mut served = std::pin::pin!(served);
    let stopping = tokio::select! {
        biased;
        _ = served.as_mut() => false,
        _ = role.stopping(&shared) => true,
    };
    match (&role, stopping) {
        (Role::Traffic, true) => {
            served.as_mut().graceful_shutdown();
            let _ = served.await;
        }
        // A stopped status component is gone: its connections drop with it.
        (Role::Status { .. }, true) => {}
        (_, false) => {}
    }
    shared.record(EventKind::ConnectionClosed { connection });
    if let Role::Traffic = role {
        shared.connections.borrow_mut().remove(&connection);
        let live = shared.live_connections.get() - 1;
        shared.live_connections.set(live);
        if live == 0 {
            // Wakes only a wait that already exists: no permit is stored.
            shared.last_connection_closed.notify_waiters();
        }
    }
}

/// Answers one request: status endpoints, or the application, which reads state.
async fn respond(
    shared: Rc<Shared>,
    connection: u64,
    traffic: bool,
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
    let status_here = !traffic || shared.config.status == StatusPolicy::Shared;
    let (status, body) = match path.as_str() {
        HEALTH_PATH | READY_PATH if !status_here => (StatusCode::NOT_FOUND, "not here"),
        HEALTH_PATH => (StatusCode::OK, "alive"),
        READY_PATH if shared.initialised.get() && !*shared.draining.borrow() => {
            (StatusCode::OK, "ready")
        }
        READY_PATH => (StatusCode::SERVICE_UNAVAILABLE, "not ready"),
        _ if !traffic => (StatusCode::NOT_FOUND, "not here"),
        _ => application(&shared, id, &path).await,
    };
    shared.record(EventKind::RequestFinished {
        request: id,
        status: status.as_u16(),
    });
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    Ok(response)
}

/// The application: reads the state every request needs; `/slow` then works
/// for the configured time.
async fn application(shared: &Shared, request: u64, path: &str) -> (StatusCode, &'static str) {
    let initialised = shared.initialised.get();
    shared.record(EventKind::StateRead {
        request,
        initialised,
    });
    if !initialised {
        return (StatusCode::INTERNAL_SERVER_ERROR, "state not initialised");
    }
    if path == "/slow" {
        tokio::time::sleep(shared.config.slow_duration).await;
    }
    if let (Some(query), Some(_page)) = (&shared.config.query, path.strip_prefix("/page/")) {
        let (status, body) = query::page(
            &shared.host,
            &shared.recorder,
            &shared.query,
            query,
            request,
        )
        .await;
        return (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body,
        );
    }
    (StatusCode::OK, "hello")
}
