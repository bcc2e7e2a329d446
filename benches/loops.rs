//! Lifecycle loops per second: the standard loop (start → 10 requests →
//! graceful stop) through lifecycle-sim, and the same traffic on bare turmoil
//! with no trace, oracles or director, measured side by side in one run.
//!
//! Each built-in model's fixed variant runs the loop, and so does the bare
//! loop's own server, run as a user's service through the hyper adapter:
//! that line is the harness's overhead proper (the same server on both
//! sides); the models' lines add what the models do beyond a plain server.
//!
//! Run with `cargo bench --bench loops`. `LOOPS_PER_ROUND` and `ROUNDS` set
//! the sample size (defaults 300 and 9, as in the README); the two sides
//! alternate loop by loop so that machine noise falls on both, and each
//! round gives one ratio. `TARGET` picks one line. The harness checks the
//! target's invariants; `ONE_ORACLE=1` checks only the first and
//! `NO_ORACLE=1` none, to separate the oracles' cost from the trace's and
//! the director's.

use std::cell::Cell;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use lifecycle_sim::{
    Case, EventKind, Model, Outcome, Schedule, Service, Setup, Target, Variant, Verdict,
};
use tokio::sync::watch;
use turmoil::net::{TcpListener, TcpStream};

const REQUESTS: u64 = 10;
const FIRST_REQUEST: Duration = Duration::from_millis(250);
const REQUEST_SPACING: Duration = Duration::from_millis(10);
const STOP_AT: Duration = Duration::from_millis(400);
const INIT_DURATION: Duration = Duration::from_millis(100);

fn standard_schedule() -> Schedule {
    let mut lines = vec!["0ms start".to_string()];
    for index in 0..REQUESTS {
        let at = FIRST_REQUEST + REQUEST_SPACING * index as u32;
        lines.push(format!("{}ms request /", at.as_millis()));
    }
    lines.push(format!("{}ms stop grace=5s", STOP_AT.as_millis()));
    Schedule::parse_lines(&lines).expect("the standard loop parses")
}

/// What one loop did: the simulated time it took, and how many requests
/// were answered with a status (the rest were refused, reset or timed out).
struct Done {
    simulated: Duration,
    answered: u64,
}

/// One loop through the harness.
fn harness_loop(setup: &Setup, seed: u64, schedule: &Schedule) -> Done {
    let case = Case {
        seed,
        schedule: schedule.clone(),
    };
    let run = setup.run(&case);
    assert_eq!(run.verdict, Verdict::Pass, "the fixed standard loop passes");
    let answered = run
        .events
        .iter()
        .filter(|event| {
            &*event.host == "client"
                && matches!(
                    event.kind,
                    EventKind::Observed {
                        outcome: Outcome::Status(_),
                        ..
                    }
                )
        })
        .count() as u64;
    Done {
        simulated: run.elapsed,
        answered,
    }
}

/// The same loop on bare turmoil: the same server shape and client traffic,
/// nothing recorded or judged. `date_header` as the server compared with:
/// hyper's default (on) for `Service::hyper`, off for the built-in models.
fn bare_loop(seed: u64, date_header: bool) -> Done {
    let mut sim = turmoil::Builder::new()
        .rng_seed(seed)
        .epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_067_200))
        .tick_duration(Duration::from_millis(1))
        .simulation_duration(Duration::from_secs(60))
        .build();
    let (stop, stop_signal) = watch::channel(false);
    let stopped = Rc::new(Cell::new(false));
    let answered = Rc::new(Cell::new(0_u64));
    let client_answered = Rc::clone(&answered);
    let server_stopped = Rc::clone(&stopped);
    sim.host("server", move || {
        let mut stop_signal = stop_signal.clone();
        let stopped = Rc::clone(&server_stopped);
        async move {
            let listener = TcpListener::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), 8080)).await?;
            tokio::time::sleep(INIT_DURATION).await;
            let (draining, _) = watch::channel(false);
            let live = Rc::new(Cell::new(0_usize));
            let closed = Rc::new(tokio::sync::Notify::new());
            loop {
                let stream = tokio::select! {
                    biased;
                    _ = stop_signal.wait_for(|stop| *stop) => break,
                    accepted = listener.accept() => accepted?.0,
                };
                live.set(live.get() + 1);
                let (live, closed, mut draining) =
                    (Rc::clone(&live), Rc::clone(&closed), draining.subscribe());
                tokio::task::spawn_local(async move {
                    let service = service_fn(|_: Request<hyper::body::Incoming>| async {
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hello"))))
                    });
                    let mut builder = http1::Builder::new();
                    builder
                        .auto_date_header(date_header)
                        .timer(TokioTimer::new());
                    let served = builder.serve_connection(TokioIo::new(stream), service);
                    let mut served = std::pin::pin!(served);
                    let drain_began = tokio::select! {
                        biased;
                        _ = served.as_mut() => false,
                        _ = draining.wait_for(|draining| *draining) => true,
                    };
                    if drain_began {
                        served.as_mut().graceful_shutdown();
                        let _ = served.await;
                    }
                    live.set(live.get() - 1);
                    closed.notify_waiters();
                });
            }
            drop(listener);
            draining.send_replace(true);
            while live.get() > 0 {
                let notified = closed.notified();
                if live.get() == 0 {
                    break;
                }
                notified.await;
            }
            stopped.set(true);
            std::future::pending::<()>().await;
            Ok(())
        }
    });
    sim.client("client", async move {
        tokio::time::sleep(FIRST_REQUEST).await;
        let mut requests = Vec::new();
        for index in 0..REQUESTS {
            let due = FIRST_REQUEST + REQUEST_SPACING * index as u32;
            let now = turmoil::sim_elapsed().unwrap_or_default();
            tokio::time::sleep(due.saturating_sub(now)).await;
            let answered = Rc::clone(&client_answered);
            requests.push(tokio::task::spawn_local(async move {
                let stream = TcpStream::connect(("server", 8080)).await?;
                let (mut sender, connection) =
                    hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
                        .await?;
                tokio::task::spawn_local(connection);
                let request = Request::get("/")
                    .header(hyper::header::HOST, "server")
                    .body(Empty::new())?;
                let response = sender.send_request(request).await?;
                response.into_body().collect().await?;
                answered.set(answered.get() + 1);
                Ok::<_, Box<dyn std::error::Error>>(())
            }));
        }
        // The loop is over when every request has its answer (or its
        // error), as the harness's is: the same traffic on both sides.
        for request in requests {
            let _ = request.await;
        }
        Ok(())
    });
    let mut stop = Some(stop);
    loop {
        if sim.elapsed() >= STOP_AT {
            if let Some(stop) = stop.take() {
                stop.send_replace(true);
            }
        }
        let clients_done = sim.step().expect("the bare loop runs");
        if clients_done && stopped.get() {
            return Done {
                simulated: sim.elapsed(),
                answered: answered.get(),
            };
        }
    }
}

fn environment_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// The same server as the bare loop's, run by the harness as a user's
/// service through the hyper adapter: the harness's own overhead.
fn stock_hyper() -> Service {
    Service::hyper("stock-hyper", || {
        service_fn(|_: Request<hyper::body::Incoming>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hello"))))
        })
    })
    .startup_work(INIT_DURATION)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not. Under
    // test, run one loop of each side as a smoke check.
    let benchmarking = std::env::args().any(|argument| argument == "--bench");
    let loops_per_round = if benchmarking {
        environment_number("LOOPS_PER_ROUND", 300)
    } else {
        1
    };
    let rounds = if benchmarking {
        environment_number("ROUNDS", 9)
    } else {
        1
    };
    let schedule = standard_schedule();
    let targets: Vec<(&str, Target)> = vec![
        ("service stock-hyper", stock_hyper().into()),
        (
            "startup-window/fixed",
            Target::builtin(Model::StartupWindow, Variant::Fixed),
        ),
        (
            "drain-hang/fixed",
            Target::builtin(Model::DrainHang, Variant::Fixed),
        ),
        (
            "probes-during-drain/fixed",
            Target::builtin(Model::ProbesDuringDrain, Variant::Fixed),
        ),
        (
            "stale-handle/fixed",
            Target::builtin(Model::StaleHandle, Variant::Fixed),
        ),
    ];
    let only = std::env::var("TARGET").ok();
    println!(
        "standard loop: start -> {REQUESTS} requests -> graceful stop, {} loops per side, \
         alternating loop by loop with bare turmoil",
        loops_per_round * rounds
    );
    for (name, target) in targets {
        if only.as_deref().is_some_and(|only| only != name) {
            continue;
        }
        let mut setup = Setup::new(target);
        if std::env::var("ONE_ORACLE").is_ok() {
            setup.invariants.truncate(1);
        }
        if std::env::var("NO_ORACLE").is_ok() {
            setup.invariants.clear();
        }
        // The same server on both sides: `Service::hyper` serves with hyper's
        // defaults (a Date header); the built-in models' endpoint sends none.
        let date_header = matches!(setup.target, Target::Service(_));
        let (mut harness_time, mut bare_time) = (Duration::ZERO, Duration::ZERO);
        // What each side did in all: the same traffic, the same simulated time.
        let mut harness_side = Done {
            simulated: Duration::ZERO,
            answered: 0,
        };
        let mut bare_side = Done {
            simulated: Duration::ZERO,
            answered: 0,
        };
        // The machine's speed drifts: each round's ratio is taken side by
        // side, and the median round is reported with the spread.
        let mut ratios = Vec::new();
        for round in 0..rounds {
            // Loop by loop, one side then the other: noise falls on both.
            let (mut harness_round, mut bare_round) = (Duration::ZERO, Duration::ZERO);
            for index in 0..loops_per_round {
                let seed = round * loops_per_round + index;
                let harness = || {
                    let started = Instant::now();
                    let done = harness_loop(&setup, seed, &schedule);
                    (done, started.elapsed())
                };
                let bare = || {
                    let started = Instant::now();
                    let done = bare_loop(seed, date_header);
                    (done, started.elapsed())
                };
                // Each side goes first every other loop, so that what one
                // leaves in caches and the allocator falls on both.
                let ((harness_done, harness_wall), (bare_done, bare_wall)) = if index % 2 == 0 {
                    let first = harness();
                    (first, bare())
                } else {
                    let first = bare();
                    (harness(), first)
                };
                harness_round += harness_wall;
                bare_round += bare_wall;
                for (side, done) in [
                    (&mut harness_side, harness_done),
                    (&mut bare_side, bare_done),
                ] {
                    side.simulated += done.simulated;
                    side.answered += done.answered;
                }
            }
            ratios.push(harness_round.as_secs_f64() / bare_round.as_secs_f64());
            harness_time += harness_round;
            bare_time += bare_round;
        }
        ratios.sort_by(f64::total_cmp);
        let loops = (loops_per_round * rounds) as f64;
        let harness_rate = loops / harness_time.as_secs_f64();
        let bare_rate = loops / bare_time.as_secs_f64();
        println!(
            "  {name:<26} {harness_rate:>8.1} loops/s   bare turmoil {bare_rate:>8.1} loops/s   \
             ratio {:.2}x (median round; rounds {:.2}-{:.2})   {} invariants   \
             per loop: simulated ms {:.1} / {:.1}, answered {:.2} / {:.2}",
            ratios[ratios.len() / 2],
            ratios[0],
            ratios[ratios.len() - 1],
            setup.invariants.len(),
            harness_side.simulated.as_secs_f64() * 1000.0 / loops,
            bare_side.simulated.as_secs_f64() * 1000.0 / loops,
            harness_side.answered as f64 / loops,
            bare_side.answered as f64 / loops,
        );
    }
}
