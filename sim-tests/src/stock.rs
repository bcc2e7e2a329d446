//! Stock servers, written as their frameworks' documentation shows, with
//! graceful shutdown: what the black-box scenarios are checked against.
//!
//! Each answers `/` at once, `/slow` after two seconds, and `/health` and
//! `/ready` with 200 while it runs. Neither does anything for the harness.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use lifecycle_sim::{Http, Protocol, Service, GRPC_HEALTH_CHECK};

pub mod grpc;

/// How long `/slow` takes.
pub const SLOW: Duration = Duration::from_secs(2);

/// A hyper 1.x service, served by the harness's hyper adapter (hyper's HTTP/1
/// builder, hyper-util's `GracefulShutdown` bounded by the drain deadline).
pub fn hyper() -> Service {
    Service::hyper("stock-hyper", || hyper::service::service_fn(answer))
        .paths(&["/", "/slow"])
        .drain_deadline(Duration::from_secs(10))
}

/// The same hyper service served by the hyper adapter with hyper-util's
/// auto builder: HTTP/1.1 and HTTP/2 on one port, told apart by the HTTP/2
/// preface, under the same `GracefulShutdown`.
pub fn hyper_auto() -> Service {
    Service::hyper("stock-hyper-auto", || hyper::service::service_fn(answer))
        .http(Http::Auto)
        .paths(&["/", "/slow"])
        .drain_deadline(Duration::from_secs(10))
}

/// The stock axum router, declared as serving HTTP/2 too: `axum::serve`
/// tells the two apart by the preface.
pub fn axum_auto() -> Service {
    axum().http(Http::Auto)
}

/// A tonic 0.14 server as tonic's documentation shows it: the stock gRPC
/// service beside tonic-health's (`""` reported SERVING, as
/// `health_reporter()` starts it), served by the harness's tonic adapter
/// (`serve_with_incoming_shutdown`, which waits for every connection). Its
/// liveness is the server's overall health; it has no readiness of its
/// own.
///
/// Its drain hangs on a connection that has not sent its HTTP/2 preface:
/// hyper's HTTP/2 server (1.12) only notes a graceful shutdown that comes
/// during the handshake (`close_pending`) and delivers it once the
/// handshake completes, and the handshake waits for the preface with no
/// bound; tonic waits for every connection with no deadline.
pub fn tonic() -> Service {
    Service::tonic("stock-tonic", grpc::router)
        .paths(&[grpc::QUICK, grpc::SLOW_CALL])
        .health(GRPC_HEALTH_CHECK)
        .drain_deadline(Duration::from_secs(10))
}

/// The same tonic server with its drain bounded, as a deployment that
/// meets the hang above does: after SIGTERM it waits for its calls at most
/// its drain deadline, then returns, as the hyper adapter and hyper-util's
/// graceful-shutdown example do.
pub fn tonic_bounded() -> Service {
    let deadline = Duration::from_secs(10);
    Service::new("stock-tonic-bounded", move |launch| async move {
        let listener = launch.bind().await?;
        let served =
            grpc::router().serve_with_incoming_shutdown(listener.incoming(), launch.shutdown());
        let bound = async {
            launch.shutdown().await;
            tokio::time::sleep(deadline).await;
        };
        tokio::select! {
            served = served => served.map_err(std::io::Error::other),
            () = bound => Ok(()),
        }
    })
    .http(Http::Two)
    .protocol(Protocol::Grpc)
    .paths(&[grpc::QUICK, grpc::SLOW_CALL])
    .health(GRPC_HEALTH_CHECK)
    .no_ready()
    .drain_deadline(deadline)
}

/// The stock servers' handler: `/`, `/slow`, `/health`, `/ready`.
pub async fn answer(
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match request.uri().path() {
        "/" => (StatusCode::OK, "hello"),
        "/slow" => {
            tokio::time::sleep(SLOW).await;
            (StatusCode::OK, "slow")
        }
        "/health" => (StatusCode::OK, "alive"),
        "/ready" => (StatusCode::OK, "ready"),
        _ => (StatusCode::NOT_FOUND, "not found"),
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    Ok(response)
}

/// An axum 0.8 router, served by `axum::serve` with `with_graceful_shutdown`.
pub fn axum() -> Service {
    use axum::routing::get;
    Service::axum("stock-axum", || {
        axum::Router::new()
            .route("/", get(|| async { "hello" }))
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(SLOW).await;
                    "slow"
                }),
            )
            .route("/health", get(|| async { "alive" }))
            .route("/ready", get(|| async { "ready" }))
    })
    .paths(&["/", "/slow"])
    .drain_deadline(Duration::from_secs(10))
}

/// A hyper 1.x server written by hand as hyper-util's graceful-shutdown
/// example shows it: an accept loop, each connection served by hyper's
/// HTTP/1 builder on its own task and watched by `GracefulShutdown`; at
/// SIGTERM the listener is dropped and the stop waits for the connections at
/// most the drain deadline. Unlike the adapter, it sets no timer (so no
/// header-read timeout) and spawns with `tokio::spawn`.
pub fn hyper_by_hand() -> Service {
    Service::new("hand-hyper", |launch| async move {
        let mut listener = launch.bind().await?;
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let shutdown = launch.shutdown();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, _) = accepted?;
                    let connection = hyper::server::conn::http1::Builder::new().serve_connection(
                        hyper_util::rt::TokioIo::new(stream),
                        hyper::service::service_fn(answer),
                    );
                    let connection = graceful.watch(connection);
                    tokio::spawn(async move {
                        let _ = connection.await;
                    });
                }
                () = &mut shutdown => break,
            }
        }
        drop(listener);
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(Duration::from_secs(10)) => {}
        }
        Ok(())
    })
    .paths(&["/", "/slow"])
    .drain_deadline(Duration::from_secs(10))
}

/// A poem 3 route table, served by poem's `Server` over the harness's
/// listener through poem's documented extension point for custom listeners
/// (`Server::new_with_acceptor`), with `run_with_graceful_shutdown` and a
/// 10s timeout, as poem's graceful-shutdown example shows. Poem counts its
/// live connections and, at the signal, lets hyper close the idle ones and
/// waits for the rest (poem 2.0.1 lost that wakeup; 3.0 fixed it).
pub fn poem() -> Service {
    crate::poem_service!(poem, "stock-poem", PoemAcceptor)
}

/// The stock app on poem, for whichever poem release `$poem` names: the
/// code is the same for poem 2 and 3, their types are not. `$acceptor`
/// wraps the harness's listener as that release's `Acceptor`.
#[macro_export]
macro_rules! poem_service {
    ($poem:ident, $name:literal, $acceptor:ident) => {
        lifecycle_sim::Service::new($name, |launch| async move {
            use $poem::endpoint::{make, make_sync};
            use $poem::{get, Route, Server};
            let listener = launch.bind().await?;
            let app = Route::new()
                .at("/", get(make_sync(|_| "hello")))
                .at(
                    "/slow",
                    get(make(|_| async {
                        tokio::time::sleep($crate::stock::SLOW).await;
                        "slow"
                    })),
                )
                .at("/health", get(make_sync(|_| "alive")))
                .at("/ready", get(make_sync(|_| "ready")));
            Server::new_with_acceptor($acceptor(listener))
                .run_with_graceful_shutdown(
                    app,
                    launch.shutdown(),
                    Some(std::time::Duration::from_secs(10)),
                )
                .await
        })
        .paths(&["/", "/slow"])
        .drain_deadline(std::time::Duration::from_secs(10))
    };
}

/// The harness's listener as a poem acceptor: what a user writes to run poem
/// on a listener poem does not know.
struct PoemAcceptor(lifecycle_sim::Listener);

impl poem::listener::Acceptor for PoemAcceptor {
    type Io = lifecycle_sim::Stream;

    fn local_addr(&self) -> Vec<poem::web::LocalAddr> {
        self.0
            .local_addr()
            .map(|address| poem::web::LocalAddr(poem::Addr::SocketAddr(address)))
            .into_iter()
            .collect()
    }

    async fn accept(
        &mut self,
    ) -> std::io::Result<(
        Self::Io,
        poem::web::LocalAddr,
        poem::web::RemoteAddr,
        poem::http::uri::Scheme,
    )> {
        let (stream, peer) = self.0.accept().await?;
        let local = self.0.local_addr()?;
        Ok((
            stream,
            poem::web::LocalAddr(poem::Addr::SocketAddr(local)),
            poem::web::RemoteAddr(poem::Addr::SocketAddr(peer)),
            poem::http::uri::Scheme::HTTP,
        ))
    }
}
