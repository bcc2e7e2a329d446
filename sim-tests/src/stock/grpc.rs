//! The stock gRPC service: `stock.Stock` with a quick method and a slow
//! one, written as tonic's code generator writes a service (a tower
//! service routing by path to tonic's unary handler with prost's codec),
//! by hand, so the tests need no `protoc`. Both methods take and return
//! the empty message.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::watch;
use tonic::body::Body;
use tonic::codegen::http;
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Request, Response, Status};

use super::SLOW;

/// The stock gRPC server's router: tonic-health's service (`""` reported
/// SERVING, as `health_reporter()` starts it) and [`Stock`].
pub fn router() -> tonic::transport::server::Router {
    router_of(Stock::default())
}

/// The router with `stock` as its gRPC service.
pub fn router_of(stock: Stock) -> tonic::transport::server::Router {
    let (_, health) = tonic_health::server::health_reporter();
    tonic::transport::Server::builder()
        .add_service(health)
        .add_service(stock)
}

/// The methods' paths.
pub const QUICK: &str = "/stock.Stock/Quick";
pub const SLOW_CALL: &str = "/stock.Stock/Slow";

type Boxed<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'static>>;

/// The service: routes a call by its path.
#[derive(Debug, Clone, Default)]
pub struct Stock {
    /// Set for a service that ends its slow calls with `INTERNAL` once
    /// this says a stop began, rather than finish them.
    aborting: Option<watch::Receiver<bool>>,
}

impl Stock {
    /// A service whose slow calls end with `INTERNAL` ("shutting down")
    /// once `stopping` turns true: a drain that errors its calls.
    pub fn aborting_at(stopping: watch::Receiver<bool>) -> Stock {
        Stock {
            aborting: Some(stopping),
        }
    }
}

impl NamedService for Stock {
    const NAME: &'static str = "stock.Stock";
}

impl tower_service::Service<http::Request<Body>> for Stock {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Boxed<Self::Response, Infallible>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let method = match request.uri().path() {
            QUICK => Method::Quick,
            SLOW_CALL => Method::Slow(self.aborting.clone()),
            _ => {
                return Box::pin(async { Ok(Status::unimplemented("no such method").into_http()) })
            }
        };
        Box::pin(async move {
            let mut grpc = Grpc::new(tonic_prost::ProstCodec::<(), ()>::default());
            Ok(grpc.unary(method, request).await)
        })
    }
}

/// One method's handler: the slow one may abort at a stop.
#[derive(Debug, Clone)]
enum Method {
    Quick,
    Slow(Option<watch::Receiver<bool>>),
}

impl UnaryService<()> for Method {
    type Response = ();
    type Future = Boxed<Response<()>, Status>;

    fn call(&mut self, _: Request<()>) -> Self::Future {
        let method = self.clone();
        Box::pin(async move {
            match method {
                Method::Quick => {}
                Method::Slow(None) => tokio::time::sleep(SLOW).await,
                Method::Slow(Some(mut stopping)) => tokio::select! {
                    () = tokio::time::sleep(SLOW) => {}
                    _ = stopping.wait_for(|stopping| *stopping) => {
                        return Err(Status::internal("shutting down"));
                    }
                },
            }
            Ok(Response::new(()))
        })
    }
}
