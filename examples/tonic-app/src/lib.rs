//! A small tonic gRPC service, `slow.Slow`: `Quick` answers at once and
//! `Wait` after [`WAIT_TIME`], 30 seconds, a long call of the kind a drain
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
pub const WAIT_TIME: Duration = Duration::from_secs(30);

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
/// the endpoints), stops accepting, and lets every call in flight finish
/// before returning. With `broken`, it returns at once instead (see the
/// comment in the body).
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
    let draining = async move {
        shutdown.await;
        health.set_not_serving::<SlowServer>().await;
    };
    if broken {
        // The bug: the server future is raced with the signal, in the belief
        // that dropping tonic's server stops it gracefully. Dropping it does
        // stop the accept loop, and `serve` returns at once; but the calls in
        // flight run on the tasks tonic spawned for their connections, and
        // when `main` returns the process exits and they die with it. Their
        // clients see the connection reset: a `Wait` call accepted before
        // SIGTERM is cut, however long the pod's grace period.
        tokio::select! {
            served = router.serve_with_incoming(incoming) => served,
            () = draining => Ok(()),
        }
    } else {
        // tonic's graceful stop: at the signal it drops `incoming` (closing
        // the listener), sends each connection GOAWAY, and returns once
        // every call in flight has answered.
        router
            .serve_with_incoming_shutdown(incoming, draining)
            .await
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
    async fn wait_answers_after_thirty_seconds() {
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
