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
use lifecycle_sim::Service;

/// How long `/slow` takes.
pub const SLOW: Duration = Duration::from_secs(2);

/// A hyper 1.x service, served by the harness's hyper adapter (hyper's HTTP/1
/// builder, hyper-util's `GracefulShutdown` bounded by the drain deadline).
pub fn hyper() -> Service {
    Service::hyper("stock-hyper", || hyper::service::service_fn(answer))
        .paths(&["/", "/slow"])
        .drain_deadline(Duration::from_secs(10))
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
