//! Time to detect, against real time: the drain hang and the startup window
//! reproduced on real loopback sockets with real clocks and real threads
//! (plain tokio + hyper, the same buggy logic as the models), run for a
//! bounded time, side by side with the simulated campaigns that find them.
//!
//! `WIDEN_WINDOW=1` holds the drain's window open for 1 ms in the real-time
//! loop: the control that shows the loop detects a hang when one happens.
//!
//! Run with `cargo bench --bench realtime`. `REAL_SECONDS` bounds each
//! real-time attempt (default 20), `ATTEMPTS` sets how many attempts and
//! simulated base seeds (default 5). Under `cargo test` it runs one short
//! attempt of each as a smoke check.
//!
//! The real-time loops are the models' logic on a multi-threaded runtime:
//! - drain hang: a server counts its live connections; at stop it checks the
//!   count, then waits for the notification the last closing connection
//!   sends with `notify_waiters` (no permit stored). A keep-alive client's
//!   connection is closed by the graceful shutdown on another worker thread;
//!   if that lands between the check and the wait, the stop hangs.
//! - startup window: a server accepts at once and loads its state in the
//!   background (5 ms); a client connects at a random moment in the first
//!   10 ms; a 500 means it read uninitialised state.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use lifecycle_sim::{Cases, Scenario, Verdict};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};

/// How long a stop may take before the real-time loop calls it a hang.
const HANG_AFTER: Duration = Duration::from_millis(500);

fn number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// What one detection attempt found: iterations (or cases) run, wall time,
/// and whether the bug was seen within the bound.
struct Attempt {
    iterations: u64,
    wall: Duration,
    found: bool,
}

/// A client connection's sender, its connection task, and the response
/// to one `GET /` on it.
type Exchange = (
    hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    tokio::task::JoinHandle<hyper::Result<()>>,
    Response<hyper::body::Incoming>,
);

/// Connects to `address` and sends `GET /`; the connection stays open.
async fn get(address: std::net::SocketAddr) -> std::io::Result<Exchange> {
    let stream = TcpStream::connect(address).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
    let connection = tokio::spawn(connection);
    let request = Request::get("/")
        .header(hyper::header::HOST, "localhost")
        .body(Empty::new())
        .map_err(std::io::Error::other)?;
    let response = sender
        .send_request(request)
        .await
        .map_err(std::io::Error::other)?;
    Ok((sender, connection, response))
}

/// One real drain: start, a keep-alive request, stop. True if the stop hung.
async fn real_drain_once(widen: bool) -> std::io::Result<bool> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let live = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(Notify::new());
    let (draining, _) = watch::channel(false);
    let (stop, mut stopping) = watch::channel(false);
    let server = {
        let (live, closed, draining) = (Arc::clone(&live), Arc::clone(&closed), draining.clone());
        tokio::spawn(async move {
            loop {
                let stream = tokio::select! {
                    biased;
                    _ = stopping.wait_for(|stop| *stop) => break,
                    accepted = listener.accept() => match accepted { Ok((stream, _)) => stream, Err(_) => continue },
                };
                live.fetch_add(1, Ordering::SeqCst);
                let (live, closed, mut draining) =
                    (Arc::clone(&live), Arc::clone(&closed), draining.subscribe());
                tokio::spawn(async move {
                    let service = service_fn(|_: Request<hyper::body::Incoming>| async {
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hello"))))
                    });
                    let served =
                        http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    let mut served = std::pin::pin!(served);
                    let drain = tokio::select! {
                        biased;
                        _ = served.as_mut() => false,
                        _ = draining.wait_for(|draining| *draining) => true,
                    };
                    if drain {
                        served.as_mut().graceful_shutdown();
                        let _ = served.await;
                    }
                    live.fetch_sub(1, Ordering::SeqCst);
                    closed.notify_waiters();
                });
            }
            draining.send_replace(true);
            // The bug: check, then wait; the wakeup can fall in between.
            if live.load(Ordering::SeqCst) > 0 {
                if widen {
                    // The control: hold the window open, as the simulation's
                    // preemption point can, to show this loop detects a hang.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                closed.notified().await;
            }
        })
    };
    // A client with a keep-alive connection, idle after its response.
    let (sender, client, response) = get(address).await?;
    response
        .into_body()
        .collect()
        .await
        .map_err(std::io::Error::other)?;
    stop.send_replace(true);
    let hung = tokio::time::timeout(HANG_AFTER, server).await.is_err();
    drop(sender);
    client.abort();
    Ok(hung)
}

/// One real start: a request at a random moment of the warm-up. True if it
/// got a 500 (it read uninitialised state).
async fn real_startup_once(jitter: &mut u64) -> std::io::Result<bool> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let loaded = Arc::new(AtomicBool::new(false));
    // The bug: accept at once, load the state in the background.
    {
        let loaded = Arc::clone(&loaded);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            loaded.store(true, Ordering::SeqCst);
        });
    }
    let server = {
        let loaded = Arc::clone(&loaded);
        tokio::spawn(async move {
            if let Ok((stream, _)) = listener.accept().await {
                let service = service_fn(move |_: Request<hyper::body::Incoming>| {
                    let loaded = loaded.load(Ordering::SeqCst);
                    async move {
                        let status = if loaded {
                            StatusCode::OK
                        } else {
                            StatusCode::INTERNAL_SERVER_ERROR
                        };
                        let mut response = Response::new(Full::new(Bytes::from_static(b"x")));
                        *response.status_mut() = status;
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            }
        })
    };
    // A cheap xorshift picks the client's moment in the first 10 ms.
    *jitter ^= *jitter << 13;
    *jitter ^= *jitter >> 7;
    *jitter ^= *jitter << 17;
    tokio::time::sleep(Duration::from_micros(*jitter % 10_000)).await;
    let (sender, _, response) = get(address).await?;
    let failed = response.status() == StatusCode::INTERNAL_SERVER_ERROR;
    drop(sender);
    server.abort();
    Ok(failed)
}

/// Runs a real-time loop until it finds the bug or `bound` passes.
fn real_time(bound: Duration, drain: bool, seed: u64) -> Attempt {
    let widen = std::env::var("WIDEN_WINDOW").is_ok();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let started = Instant::now();
        let mut iterations = 0;
        let mut jitter = seed.max(1);
        while started.elapsed() < bound {
            iterations += 1;
            let found = if drain {
                real_drain_once(widen).await
            } else {
                real_startup_once(&mut jitter).await
            };
            if found.unwrap_or(false) {
                return Attempt {
                    iterations,
                    wall: started.elapsed(),
                    found: true,
                };
            }
        }
        Attempt {
            iterations,
            wall: started.elapsed(),
            found: false,
        }
    })
}

/// Runs a buggy scenario's campaign from `base_seed` until its first
/// failure, without shrinking: cases and wall time to detect.
fn simulated(file: &str, base_seed: u64) -> Attempt {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(file);
    let scenario = Scenario::load(&path).unwrap_or_else(|error| panic!("{error}"));
    let mut campaign = scenario.campaign.clone();
    campaign.shrink.runs_max = 0;
    if let Cases::Generated {
        base_seed: base, ..
    } = &mut campaign.cases
    {
        *base = base_seed;
    }
    let started = Instant::now();
    let report = campaign.run();
    let found = report
        .failure
        .as_ref()
        .is_some_and(|failure| matches!(failure.run.verdict, Verdict::Violation(_)));
    Attempt {
        iterations: report.cases_run,
        wall: started.elapsed(),
        found,
    }
}

fn describe(attempt: &Attempt) -> String {
    if attempt.found {
        format!(
            "found after {:>6} iterations in {:>8.3}s",
            attempt.iterations,
            attempt.wall.as_secs_f64()
        )
    } else {
        format!(
            "NOT found in {:>6} iterations, {:>8.3}s (the bound)",
            attempt.iterations,
            attempt.wall.as_secs_f64()
        )
    }
}

fn main() {
    let benchmarking = std::env::args().any(|argument| argument == "--bench");
    let (bound, attempts) = if benchmarking {
        (
            Duration::from_secs(number("REAL_SECONDS", 20)),
            number("ATTEMPTS", 5),
        )
    } else {
        (Duration::from_millis(200), 1)
    };
    for (name, file, drain) in [
        ("drain hang", "drain-hang-buggy.toml", true),
        ("startup window", "startup-window-buggy.toml", false),
    ] {
        println!(
            "{name}: time to detect, real time (bound {}s per attempt) against simulated",
            bound.as_secs_f64()
        );
        let (mut real_total, mut sim_total) = (Duration::ZERO, Duration::ZERO);
        let (mut real_found, mut sim_found) = (0, 0);
        for attempt in 1..=attempts {
            let real = real_time(bound, drain, attempt);
            let sim = simulated(file, attempt);
            println!(
                "  attempt {attempt}: real {}   simulated {}",
                describe(&real),
                describe(&sim)
            );
            real_total += real.wall;
            sim_total += sim.wall;
            real_found += u32::from(real.found);
            sim_found += u32::from(sim.found);
        }
        println!(
            "  found: real time {real_found}/{attempts}, simulated {sim_found}/{attempts}; \
             wall time in all: real {:.3}s, simulated {:.3}s; ratio {:.0}x{}",
            real_total.as_secs_f64(),
            sim_total.as_secs_f64(),
            real_total.as_secs_f64() / sim_total.as_secs_f64().max(1e-9),
            if real_found < attempts as u32 {
                " (at least: the real-time loop hit its bound)"
            } else {
                ""
            }
        );
    }
}
