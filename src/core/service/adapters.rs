//! The [`Service`] type: a user's server as the harness runs it, and the
//! adapters that serve a hyper service or an axum router on the simulated
//! network.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulConnection, GracefulShutdown};

use super::socket::{Launch, Listener, Stream};
use crate::case::http::{Http, Protocol};
use crate::case::trace::{EventKind, Milestone};
use crate::case::{HEALTH_PATH, READY_PATH};
use crate::core::process::{Process, PORT};

type ServeFn = dyn Fn(Launch) -> Pin<Box<dyn Future<Output = io::Result<()>>>> + Send + Sync;

/// A user's server, as the harness runs it: how to start one process of it,
/// and what it declares about itself.
#[derive(Clone)]
pub struct Service {
    name: Arc<str>,
    serve: Arc<ServeFn>,
    port: u16,
    health: Option<String>,
    ready: Option<String>,
    drain_deadline: Duration,
    startup_work: Duration,
    paths: Vec<String>,
    http: Http,
    protocol: Protocol,
}

impl Service {
    /// A service from its own serve function: called once per process with
    /// the process's [`Launch`]; it binds, serves until the shutdown future
    /// resolves, drains, and returns. Returning is the process's exit.
    ///
    /// Defaults: port 8080, `/health` and `/ready`, a 10 s drain deadline, no
    /// startup work, application path `/`.
    ///
    /// `name` names its tests and failure files, so it must be a name
    /// (letters, digits, `-`, `_`, `.`, at most 64); a scenario run against a
    /// service with another name is refused with an error at its
    /// `target.service`.
    pub fn new<F, Fut>(name: &str, serve: F) -> Service
    where
        F: Fn(Launch) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = io::Result<()>> + 'static,
    {
        Service {
            name: name.into(),
            serve: Arc::new(move |launch| Box::pin(serve(launch))),
            port: PORT,
            health: Some(HEALTH_PATH.into()),
            ready: Some(READY_PATH.into()),
            drain_deadline: Duration::from_secs(10),
            startup_work: Duration::ZERO,
            paths: vec!["/".into()],
            http: Http::One,
            protocol: Protocol::Http,
        }
    }

    /// A hyper 1.x service: `make` builds it once per process; each
    /// connection is served with hyper's HTTP/1 builder, or with
    /// hyper-util's auto builder for [`Service::http`] `Two` (HTTP/2 only)
    /// or `Auto` (both, told apart by the HTTP/2 preface), and watched by
    /// hyper-util's `GracefulShutdown`. At SIGTERM the listener closes, idle
    /// connections are closed (HTTP/2 ones get a GOAWAY), and the stop waits
    /// for the others at most the declared drain deadline, as hyper-util's
    /// graceful-shutdown example does.
    pub fn hyper<F, S, B>(name: &str, make: F) -> Service
    where
        F: Fn() -> S + Send + Sync + 'static,
        S: hyper::service::Service<
                hyper::Request<hyper::body::Incoming>,
                Response = hyper::Response<B>,
            > + Clone
            + 'static,
        S::Future: 'static,
        S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        B: hyper::body::Body + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        Service::new(name, move |launch| serve_hyper(launch, make()))
    }

    /// An axum 0.8 router, served by `axum::serve` over the simulated
    /// listener with `with_graceful_shutdown`, as axum's documentation shows:
    /// at SIGTERM it stops accepting and waits for every connection to end.
    /// `axum::serve` tells HTTP/1.1 from HTTP/2 itself (with axum's `http2`
    /// feature, which this adapter turns on): declare
    /// `.http(Http::Auto)` to run the HTTP/2 scenarios against it too.
    #[cfg(feature = "axum")]
    pub fn axum<F>(name: &str, make: F) -> Service
    where
        F: Fn() -> axum::Router + Send + Sync + 'static,
    {
        Service::new(name, move |launch| {
            let router = make();
            async move {
                let listener = launch.bind().await?;
                launch.startup_work().await;
                axum::serve(listener, router)
                    .with_graceful_shutdown(launch.shutdown())
                    .await
            }
        })
    }

    /// A tonic gRPC server: `make` builds its `Router` once per process
    /// (`Server::builder().add_service(..)`, with whatever settings the
    /// production server has), served by tonic's own
    /// `serve_with_incoming_shutdown` over the simulated listener, as
    /// tonic's graceful-shutdown example does: at SIGTERM it stops
    /// accepting, sends each connection GOAWAY, and waits for every call in
    /// flight to end, with no deadline of its own. With hyper 1.12 that wait
    /// includes connections that never sent their HTTP/2 preface (hyper
    /// delivers a graceful shutdown only once a handshake completes), so
    /// the shipped `drain-grpc` finds this adapter's stop hanging: bound
    /// yours in a serve function of your own over
    /// [`Listener::incoming`] (README, "gRPC and HTTP/2").
    ///
    /// Declares [`Protocol::Grpc`] over [`Http::Two`] (tonic serves HTTP/2
    /// only unless the router accepts HTTP/1), and no status endpoints:
    /// declare the gRPC health checks the kubelet's `grpc` probes call with
    /// [`Service::health`] and [`Service::ready`], written as
    /// [`GRPC_HEALTH_CHECK`](crate::GRPC_HEALTH_CHECK) for the server as a
    /// whole, or with `?service=` and the name the health service reports.
    /// The application paths are the methods the scenarios call, such as
    /// `/echo.Echo/Slow`: each call sends one empty message.
    #[cfg(feature = "tonic")]
    pub fn tonic<F>(name: &str, make: F) -> Service
    where
        F: Fn() -> tonic::transport::server::Router + Send + Sync + 'static,
    {
        Service::new(name, move |launch| {
            let router = make();
            async move {
                let listener = launch.bind().await?;
                launch.startup_work().await;
                router
                    .serve_with_incoming_shutdown(listener.incoming(), launch.shutdown())
                    .await
                    .map_err(io::Error::other)
            }
        })
        .http(Http::Two)
        .protocol(Protocol::Grpc)
        .no_health()
        .no_ready()
    }

    /// The port the service listens on. Default: 8080.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Where the service answers liveness (200 while it lives). Default: `/health`.
    pub fn health(mut self, path: &str) -> Self {
        self.health = Some(path.into());
        self
    }

    /// The service has no liveness endpoint: invariants about it do not apply.
    pub fn no_health(mut self) -> Self {
        self.health = None;
        self
    }

    /// Where the service answers readiness (2xx when it takes traffic, not
    /// from SIGTERM on). Default: `/ready`.
    pub fn ready(mut self, path: &str) -> Self {
        self.ready = Some(path.into());
        self
    }

    /// The service has no readiness endpoint: invariants about it do not apply.
    pub fn no_ready(mut self) -> Self {
        self.ready = None;
        self
    }

    /// How long the service promises a stop takes at most, from SIGTERM to
    /// the process's return: what `drain-deadline` holds it to. Default: 10 s.
    pub fn drain_deadline(mut self, deadline: Duration) -> Self {
        self.drain_deadline = deadline;
        self
    }

    /// Simulated time the ready-made adapters spend between binding and
    /// serving, standing for the service's startup work (loading state,
    /// connecting to its stores). Your own serve function can call
    /// [`Launch::startup_work`] where its startup work happens. Default: none.
    pub fn startup_work(mut self, duration: Duration) -> Self {
        self.startup_work = duration;
        self
    }

    /// The application paths the scenarios' requests use when a scenario
    /// names none, such as `/` and a slow endpoint. Default: `/`.
    pub fn paths(mut self, paths: &[&str]) -> Self {
        self.paths = paths.iter().map(|path| path.to_string()).collect();
        self
    }

    /// Which HTTP it serves: scenarios whose clients send another do not
    /// run against it, and [`Service::hyper`] serves with the matching
    /// builder. Default: [`Http::One`].
    pub fn http(mut self, http: Http) -> Self {
        self.http = http;
        self
    }

    /// The HTTP it serves.
    pub fn speaks(&self) -> Http {
        self.http
    }

    /// What its requests carry: scenarios whose clients send another do
    /// not run against it. Default: [`Protocol::Http`]; `Service::tonic`
    /// declares [`Protocol::Grpc`].
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// What its requests carry.
    pub fn protocol_served(&self) -> Protocol {
        self.protocol
    }

    /// The name scenario files refer to it by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The port it listens on.
    pub fn listen_port(&self) -> u16 {
        self.port
    }

    /// Its liveness path, if it has one.
    pub fn health_path(&self) -> Option<&str> {
        self.health.as_deref()
    }

    /// Its readiness path, if it has one.
    pub fn ready_path(&self) -> Option<&str> {
        self.ready.as_deref()
    }

    /// The drain deadline it declared.
    pub fn declared_drain_deadline(&self) -> Duration {
        self.drain_deadline
    }

    /// The application paths it declared.
    pub fn application_paths(&self) -> &[String] {
        &self.paths
    }

    /// Runs one process of the service on its simulated host: the process's
    /// return is its exit (a `stopped` milestone, or a `failed` event).
    pub(crate) async fn run(self, process: Process) -> io::Result<()> {
        let launch = Launch {
            host: Arc::from(&*process.host),
            port: self.port,
            stop: process.stop.clone(),
            seed: process.seed,
            connection_ids: Arc::clone(&process.connection_ids),
            startup_work: self.startup_work,
            drain_deadline: self.drain_deadline,
            http: self.http,
            net: process.net.clone(),
        };
        (self.serve)(launch).await?;
        process
            .recorder
            .record(&process.host, EventKind::Milestone(Milestone::Stopped));
        Ok(())
    }
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("name", &self.name)
            .field("port", &self.port)
            .field("health", &self.health)
            .field("ready", &self.ready)
            .field("drain_deadline", &self.drain_deadline)
            .field("startup_work", &self.startup_work)
            .field("paths", &self.paths)
            .field("http", &self.http)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

/// The hyper adapter's serve loop: binds, does the startup work, and
/// serves with the builder for the HTTP the service declared.
async fn serve_hyper<S, B>(launch: Launch, service: S) -> io::Result<()>
where
    S: hyper::service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = hyper::Response<B>,
        > + Clone
        + 'static,
    S::Future: 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = launch.bind().await?;
    launch.startup_work().await;
    if launch.http() == Http::One {
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new());
        let connect = |io| builder.serve_connection(io, service.clone());
        return serve_connections(&launch, listener, connect).await;
    }
    let mut builder = hyper_util::server::conn::auto::Builder::new(LocalExecutor);
    builder.http1().timer(TokioTimer::new());
    builder.http2().timer(TokioTimer::new());
    if launch.http() == Http::Two {
        builder = builder.http2_only();
    }
    let connect = |io| builder.serve_connection(io, service.clone()).into_owned();
    serve_connections(&launch, listener, connect).await
}

/// Accepts until SIGTERM, serving each connection on a task of its own
/// under one `GracefulShutdown`; then closes the listener and waits for
/// the connections at most the declared drain deadline.
async fn serve_connections<C>(
    launch: &Launch,
    mut listener: Listener,
    mut connect: impl FnMut(TokioIo<Stream>) -> C,
) -> io::Result<()>
where
    C: GracefulConnection + 'static,
    C::Error: std::fmt::Display,
{
    let graceful = GracefulShutdown::new();
    let shutdown = launch.shutdown();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = accepted?;
                let connection = graceful.watch(connect(TokioIo::new(stream)));
                tokio::task::spawn_local(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(launch.drain_deadline(), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::debug!("drain deadline passed with connections still open");
    }
    Ok(())
}

/// Runs HTTP/2's per-stream tasks on the host's own task set, so a user's
/// service need not be `Send`: every host of a simulation runs on one
/// thread.
#[derive(Debug, Clone, Copy)]
struct LocalExecutor;

impl<F> hyper::rt::Executor<F> for LocalExecutor
where
    F: Future + 'static,
{
    fn execute(&self, future: F) {
        tokio::task::spawn_local(future);
    }
}
