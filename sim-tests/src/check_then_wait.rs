//! A drain that loses its wakeup between two threads: the race simulation
//! cannot open and the threads backend exists for.
//!
//! The server counts its live connections in a std atomic. At SIGTERM it
//! closes its listener, tells every connection to finish, and, if the
//! count is above zero, logs that it waits and creates a `Notified` to
//! wait on. Each connection task, as it ends, takes itself off the count
//! and, if it was the last, calls `Notify::notify_waiters`. Nothing awaits
//! between the load of the count and the `Notified`'s creation: on one
//! thread (turmoil's) no task can run in between, so the wakeup is never
//! lost. On a multi-threaded runtime the last connection can end on
//! another worker inside that window; `notify_waiters` then wakes no one,
//! and the drain waits for ever. That is the shape of the drain hang the
//! seeds found in real crates, log line inside the window included; there
//! is no `preempt` point in it.
//!
//! The fixed twin creates the `Notified` (and enables it) before it loads
//! the count, and loads it again after each wakeup: a notification that
//! comes between them is kept.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use lifecycle_sim::{Service, Variant};
use tokio::sync::{watch, Notify};

/// The drain deadline it declares: a drain that has not ended this long
/// after SIGTERM is a hang.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(1);

/// How many drains, of either variant, found connections still live and
/// went to wait for them: the window was reached (a count for tests to
/// prove the race was exercised, not something the harness reads).
pub static WAITS: AtomicU64 = AtomicU64::new(0);

/// The check-then-wait server, buggy (the wakeup can be lost) or fixed.
pub fn service(variant: Variant) -> Service {
    let name = match variant {
        Variant::Buggy => "check-then-wait",
        Variant::Fixed => "check-then-wait-fixed",
    };
    Service::new(name, move |launch| async move {
        let mut listener = launch.bind().await?;
        let live = Arc::new(AtomicUsize::new(0));
        let closed = Arc::new(Notify::new());
        let (finish, finishing) = watch::channel(false);
        let shutdown = launch.shutdown();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, _) = accepted?;
                    live.fetch_add(1, Ordering::SeqCst);
                    let connection = serve(stream, finishing.clone());
                    let (live, closed) = (Arc::clone(&live), Arc::clone(&closed));
                    tokio::spawn(async move {
                        connection.await;
                        if live.fetch_sub(1, Ordering::SeqCst) == 1 {
                            closed.notify_waiters();
                        }
                    });
                }
                () = &mut shutdown => break,
            }
        }
        drop(listener);
        finish.send_replace(true);
        match variant {
            Variant::Buggy => {
                if live.load(Ordering::SeqCst) > 0 {
                    WAITS.fetch_add(1, Ordering::Relaxed);
                    tracing::info!("waiting for all connections to close");
                    closed.notified().await;
                }
            }
            Variant::Fixed => loop {
                let notified = closed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if live.load(Ordering::SeqCst) == 0 {
                    break;
                }
                WAITS.fetch_add(1, Ordering::Relaxed);
                tracing::info!("waiting for all connections to close");
                notified.await;
            },
        }
        Ok(())
    })
    .paths(&["/"])
    .no_health()
    .no_ready()
    .drain_deadline(DRAIN_DEADLINE)
}

/// Serves one HTTP/1.1 connection until its client closes it, or, once
/// `finishing` turns true, until hyper's graceful shutdown has ended it.
async fn serve(stream: lifecycle_sim::Stream, mut finishing: watch::Receiver<bool>) {
    let connection = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), hyper::service::service_fn(hello));
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = finishing.wait_for(|finishing| *finishing) => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

async fn hello(_: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"hello"))))
}

/// The scenario it is judged by: starts and stops with requests whose
/// connections are kept open, idle, across the stop; judged on its drain.
pub const SCENARIO: &str = r#"
schema_version = 1
description = "stops with idle keep-alive connections: the drain must end within its deadline"
expect = "pass"
oracles = ["drain-deadline", "exited-unasked"]

[target]
service = "*"

[run]
cases = 200
seed = "0x7e4d"
request_timeout = "5s"

[generate]
horizon = "100ms"
cycles_max = 2
requests_max = 4
keep_max = "1s"
stop = true
clients = ["whole"]
"#;
