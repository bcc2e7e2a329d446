//! A small tonic gRPC service, `slow.Slow`: `Quick` answers at once and
//! `Wait` after [`WAIT_TIME`], 20 seconds, a long call of the kind a drain
//! must let finish. The gRPC Health Checking service (tonic-health) answers
//! the kubelet's `grpc` probes: the server as a whole (`""`) is `SERVING`
//! while it lives, and `slow.Slow`, what the readiness probe checks, is
//! `SERVING` until SIGTERM.
//!
//! `slow.Slow` is written by hand rather than generated from a `.proto`
//! file: tonic's code generator runs `protoc`, which this project's build
//! machines do not have. [`SlowServer`] has the shape tonic's codegen gives
//! a server (a `tower::Service` over HTTP requests that dispatches by path
//! to `tonic::server::Grpc::unary` with the prost codec), for this proto:
//!
//! ```proto
//! syntax = "proto3";
//! package slow;
//! import "google/protobuf/empty.proto";
//!
//! service Slow {
//!   rpc Quick(google.protobuf.Empty) returns (Reply);
//!   rpc Wait(google.protobuf.Empty) returns (Reply);
//! }
//!
//! message Reply { string message = 1; }
//! ```
//!
//! [`serve`] takes any stream of connections tonic can serve, so production
//! hands it a TCP listener and the tests lifecycle-sim's simulated one.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tonic::body::Body;
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::transport::server::Connected;
use tonic::transport::Server;
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;

/// The gRPC service's full name: what the readiness probe checks.
pub const SERVICE: &str = "slow.Slow";
/// The path of the quick method.
pub const QUICK: &str = "/slow.Slow/Quick";
/// The path of the slow method.
pub const WAIT: &str = "/slow.Slow/Wait";
/// How long a `Wait` call takes.
pub const WAIT_TIME: Duration = Duration::from_secs(20);
/// How long a stop may take at most, from SIGTERM: long enough for a `Wait`
/// call taken just before SIGTERM to finish, short enough for the process to
/// exit within Kubernetes' default grace period (30 s), before the SIGKILL.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(25);

/// What both methods answer (`google.protobuf.Empty`, which they take, is
/// prost's `()`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Reply {
    /// Which method answered.
    #[prost(string, tag = "1")]
    pub message: String,
}

/// Serves until `shutdown` resolves, then drains gracefully: reports
/// `slow.Slow` `NOT_SERVING` (the readiness probe fails, so the pod leaves
/// the endpoints), stops accepting, lets every call in flight finish, and
/// returns when they have, or at [`DRAIN_DEADLINE`] after the signal. With
/// `broken`, it returns at the signal (see the comment in the body).
pub async fn serve<I, IO, IE>(
    incoming: I,
    shutdown: impl Future<Output = ()>,
    broken: bool,
) -> Result<(), tonic::transport::Error>
where
    I: Stream<Item = Result<IO, IE>>,
    IO: AsyncRead + AsyncWrite + Connected + Unpin + Send + 'static,
    IE: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // The reporter starts with the server as a whole (`""`) `SERVING`; it
    // stays so through the drain, since the process still lives.
    let (health, health_server) = tonic_health::server::health_reporter();
    health.set_serving::<SlowServer>().await;
    let router = Server::builder()
        .add_service(health_server)
        .add_service(SlowServer);
    // At the signal: readiness first, then tonic's graceful stop, which
    // drops `incoming` (closing the listener), sends each connection GOAWAY
    // and waits for every call in flight.
    let (stop, mut stopping) = watch::channel(false);
    let draining = async move {
        shutdown.await;
        health.set_not_serving::<SlowServer>().await;
        stop.send_replace(true);
    };
    let served = router.serve_with_incoming_shutdown(incoming, draining);
    // tonic's drain has no deadline of its own, and a connection that never
    // sent its HTTP/2 preface (a TCP check, a pool's spare connection) holds
    // it for as long as the peer keeps it open: hyper delivers the graceful
    // shutdown to a connection only once its handshake is done. So the
    // server is raced against the signal plus the drain deadline.
    //
    // The broken build races it against the signal alone, as
    // `select! { _ = server => {}, _ = ctrl_c() => {} }` in a `main` does:
    // at SIGTERM `serve` returns at once, `main` returns, and the process
    // exits with the calls tonic's connection tasks were running. Their
    // clients see the connection close under them: a `Wait` call accepted
    // before SIGTERM is cut, however long the pod's grace period.
    let grace = if broken {
        Duration::ZERO
    } else {
        DRAIN_DEADLINE
    };
    let bound = async move {
        if stopping.wait_for(|stopping| *stopping).await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            // The server ended before any signal: the other branch won.
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        served = served => served,
        () = bound => Ok(()),
    }
}

/// The `slow.Slow` server, as tonic's codegen would write it: a
/// `tower::Service` that dispatches each call by its path.
#[derive(Clone, Copy, Debug, Default)]
pub struct SlowServer;

impl NamedService for SlowServer {
    const NAME: &'static str = SERVICE;
}

impl tower::Service<http::Request<Body>> for SlowServer {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        match request.uri().path() {
            QUICK => Box::pin(unary(tower::service_fn(quick), request)),
            WAIT => Box::pin(unary(tower::service_fn(wait), request)),
            _ => Box::pin(async { Ok(Status::unimplemented("no such method").into_http()) }),
        }
    }
}

/// One unary call of `slow.Slow`: decodes the `Empty` request, runs the
/// method, encodes its `Reply`.
async fn unary<M>(
    method: M,
    request: http::Request<Body>,
) -> Result<http::Response<Body>, Infallible>
where
    M: UnaryService<(), Response = Reply>,
{
    let mut grpc = Grpc::new(ProstCodec::<Reply, ()>::default());
    Ok(grpc.unary(method, request).await)
}

async fn quick(_request: Request<()>) -> Result<Response<Reply>, Status> {
    Ok(Response::new(Reply {
        message: "quick".into(),
    }))
}

async fn wait(_request: Request<()>) -> Result<Response<Reply>, Status> {
    tokio::time::sleep(WAIT_TIME).await;
    Ok(Response::new(Reply {
        message: "waited".into(),
    }))
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use prost::Message;
    use tower::ServiceExt;

    use super::*;

    /// A unary call to `path` with one empty message, as gRPC frames it: no
    /// compression, length zero.
    fn call(path: &str) -> http::Request<Body> {
        http::Request::post(path)
            .header(http::header::CONTENT_TYPE, "application/grpc")
            .body(Body::new(Full::new(Bytes::from_static(&[0; 5]))))
            .expect("a request")
    }

    /// The reply's message and the call's `grpc-status`.
    async fn answer(response: http::Response<Body>) -> (Option<String>, String) {
        let collected = response.into_body().collect().await.expect("a body");
        let status = collected
            .trailers()
            .and_then(|trailers| trailers.get("grpc-status"))
            .map(|status| status.to_str().expect("ASCII").to_owned())
            .unwrap_or_default();
        let frame = collected.to_bytes();
        let message =
            (frame.len() >= 5).then(|| Reply::decode(&frame[5..]).expect("a Reply").message);
        (message, status)
    }

    #[tokio::test]
    async fn quick_answers_at_once() {
        let response = SlowServer.oneshot(call(QUICK)).await.expect("infallible");
        assert_eq!(answer(response).await, (Some("quick".into()), "0".into()));
    }

    #[tokio::test(start_paused = true)]
    async fn wait_answers_after_its_wait_time() {
        let started = tokio::time::Instant::now();
        let response = SlowServer.oneshot(call(WAIT)).await.expect("infallible");
        assert_eq!(answer(response).await, (Some("waited".into()), "0".into()));
        assert_eq!(started.elapsed(), WAIT_TIME);
    }

    #[tokio::test]
    async fn another_method_is_unimplemented() {
        let response = SlowServer
            .oneshot(call("/slow.Slow/Nothing"))
            .await
            .expect("infallible");
        let status = response.headers().get("grpc-status").expect("a status");
        assert_eq!(status, &(tonic::Code::Unimplemented as i32).to_string());
    }
}
