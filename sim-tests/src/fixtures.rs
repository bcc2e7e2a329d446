//! Servers with real shutdown bugs of the kinds the shipped scenarios must
//! find, each a few lines of plain hyper on the harness's listener.
//!
//! - [`ignores_silent_connections`]: its graceful shutdown tells only the
//!   connections that have sent something to finish, and waits for all of
//!   them: a connection that was opened and never spoke (a preconnect, a
//!   warm pool, a TCP health check) holds its stop for ever.
//! - [`returns_while_live`]: its shutdown returns at once, while the
//!   connection tasks it spawned are still answering.
//! - [`returns_at_once`]: its serve function returns `Ok(())` without ever
//!   binding.
//! - [`ignores_unfinished_prefaces`]: an HTTP/2 server whose graceful
//!   shutdown skips connections that have not sent the whole connection
//!   preface yet, and waits for every connection: the bug of hyper-util's
//!   auto server before 0.1.4 ("graceful shutdown hanging on reading the
//!   HTTP version").
//! - [`returns_under_streams`]: an HTTP/2 server whose shutdown returns at
//!   once, ending the process under the streams it is answering.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulConnection;
use lifecycle_sim::{Http, Protocol, Service, Stream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;

use crate::stock;

/// A stream that counts the bytes its client has sent.
struct Spoken {
    inner: Stream,
    read_bytes: Arc<AtomicU64>,
}

impl AsyncRead for Spoken {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = (buf.filled().len() - before) as u64;
        self.read_bytes.fetch_add(read, Ordering::Relaxed);
        polled
    }
}

impl AsyncWrite for Spoken {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A hyper 1.x server whose graceful shutdown skips connections that have
/// not sent a request yet, then waits for every connection to end.
pub fn ignores_silent_connections() -> Service {
    tells_only_after("ignores-silent", Http::One, 1)
}

/// A server whose graceful shutdown tells a connection to finish only once
/// its client has sent `bytes_before_told` bytes, and then waits for every
/// connection to end: a connection that sent fewer holds the stop for ever.
/// It serves HTTP/1.1 or HTTP/2 (`http`) with hyper's own builders.
fn tells_only_after(name: &str, http: Http, bytes_before_told: u64) -> Service {
    Service::new(name, move |launch| async move {
        let mut listener = launch.bind().await?;
        let (stop, stopping) = watch::channel(false);
        let (open, mut all_closed) = tokio::sync::mpsc::channel::<()>(1);
        let shutdown = launch.shutdown();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, _) = accepted?;
                    let read_bytes = Arc::new(AtomicU64::new(0));
                    let io = TokioIo::new(Spoken { inner: stream, read_bytes: Arc::clone(&read_bytes) });
                    let told_after = move || read_bytes.load(Ordering::Relaxed) >= bytes_before_told;
                    let service = hyper::service::service_fn(stock::answer);
                    let (stopping, open) = (stopping.clone(), open.clone());
                    if http == Http::Two {
                        let connection = hyper::server::conn::http2::Builder::new(LocalExecutor)
                            .serve_connection(io, service);
                        tokio::task::spawn_local(serve_until_told(connection, stopping, told_after, open));
                    } else {
                        let connection = hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, service);
                        tokio::task::spawn_local(serve_until_told(connection, stopping, told_after, open));
                    }
                }
                () = &mut shutdown => break,
            }
        }
        drop(listener);
        let _ = stop.send(true);
        drop(open);
        // Every connection task holds a sender: this ends when all have.
        let _ = all_closed.recv().await;
        Ok(())
    })
    .http(http)
    .paths(&["/", "/slow"])
    .drain_deadline(Duration::from_secs(10))
}

/// Serves one connection; at the stop, tells it to finish only if
/// `told_after` says so (the bug), and waits for it either way.
async fn serve_until_told<C: GracefulConnection>(
    connection: C,
    mut stopping: watch::Receiver<bool>,
    told_after: impl Fn() -> bool,
    open: tokio::sync::mpsc::Sender<()>,
) {
    tokio::pin!(connection);
    let mut told = false;
    loop {
        tokio::select! {
            _ = connection.as_mut() => break,
            changed = stopping.changed(), if !told => {
                told = true;
                if changed.is_ok() && told_after() {
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
    drop(open);
}

/// A hyper 1.x server whose shutdown returns at once, leaving its
/// connection tasks to answer after the process is gone.
pub fn returns_while_live() -> Service {
    returns_at_stop("returns-while-live", Http::One)
}

/// A hyper 1.x server, HTTP/1.1 or HTTP/2 (`http`), whose shutdown returns
/// at once: the process ends under the requests it is answering.
fn returns_at_stop(name: &str, http: Http) -> Service {
    Service::new(name, move |launch| async move {
        let mut listener = launch.bind().await?;
        let shutdown = launch.shutdown();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, _) = accepted?;
                    let io = TokioIo::new(stream);
                    let service = hyper::service::service_fn(stock::answer);
                    tokio::task::spawn_local(async move {
                        let _ = if http == Http::Two {
                            hyper::server::conn::http2::Builder::new(LocalExecutor)
                                .serve_connection(io, service)
                                .await
                        } else {
                            hyper::server::conn::http1::Builder::new()
                                .serve_connection(io, service)
                                .await
                        };
                    });
                }
                () = &mut shutdown => return Ok(()),
            }
        }
    })
    .http(http)
    .paths(&["/", "/slow"])
    .drain_deadline(Duration::from_secs(10))
}

/// A tonic server whose stop does not wait for its calls: it serves with
/// `serve_with_incoming` (no shutdown signal) raced against SIGTERM, a
/// common way to stop a server that has no graceful shutdown wired in.
/// At SIGTERM the process returns under the calls in flight.
pub fn drops_calls_at_stop() -> Service {
    grpc_fixture(Service::new("drops-calls-at-stop", |launch| async move {
        let listener = launch.bind().await?;
        let incoming = listener.incoming();
        let router = stock::grpc::router();
        tokio::select! {
            served = router.serve_with_incoming(incoming) => served.map_err(std::io::Error::other),
            () = launch.shutdown() => Ok(()),
        }
    }))
}

/// A tonic server whose drain ends its slow calls with `INTERNAL`
/// ("shutting down") rather than finish them, and then stops: each call
/// in flight at SIGTERM is answered, with an error.
pub fn errors_calls_at_stop() -> Service {
    grpc_fixture(Service::new("errors-calls-at-stop", |launch| async move {
        let listener = launch.bind().await?;
        let (stopping, stop_seen) = tokio::sync::watch::channel(false);
        let router = stock::grpc::router_of(stock::grpc::Stock::aborting_at(stop_seen));
        let shutdown = launch.shutdown();
        let signal = async move {
            shutdown.await;
            stopping.send_replace(true);
        };
        router
            .serve_with_incoming_shutdown(listener.incoming(), signal)
            .await
            .map_err(std::io::Error::other)
    }))
}

/// What the gRPC fixtures declare: the stock service's methods over HTTP/2,
/// no HTTP status endpoints, a 10 s drain deadline.
fn grpc_fixture(service: Service) -> Service {
    service
        .http(Http::Two)
        .protocol(Protocol::Grpc)
        .no_health()
        .no_ready()
        .paths(&[stock::grpc::QUICK, stock::grpc::SLOW_CALL])
        .drain_deadline(Duration::from_secs(10))
}

/// A serve function that returns `Ok(())` at once, never binding.
pub fn returns_at_once() -> Service {
    Service::new("returns-at-once", |_launch| async move { Ok(()) })
        .paths(&["/", "/slow"])
        .drain_deadline(Duration::from_secs(10))
}

/// The HTTP/2 connection preface's length: what a client sends first.
const PREFACE_BYTES: u64 = 24;

/// Runs HTTP/2's stream tasks on the host's own task set.
#[derive(Clone, Copy)]
struct LocalExecutor;

impl<F: std::future::Future + 'static> hyper::rt::Executor<F> for LocalExecutor {
    fn execute(&self, future: F) {
        tokio::task::spawn_local(future);
    }
}

/// A hyper 1.x HTTP/2 server whose graceful shutdown tells only the
/// connections that have sent the whole connection preface to finish, and
/// waits for every connection to end: one still in its preface (silent, or
/// a slow client's half) holds the stop for ever.
pub fn ignores_unfinished_prefaces() -> Service {
    tells_only_after("ignores-prefaces", Http::Two, PREFACE_BYTES)
}

/// A hyper 1.x HTTP/2 server whose shutdown returns at once, without
/// GOAWAY or a wait: the process ends under the streams in flight.
pub fn returns_under_streams() -> Service {
    returns_at_stop("returns-under-streams", Http::Two)
}
