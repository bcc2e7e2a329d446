//! The black-box oracles against servers of users' kind, each with a real
//! lifecycle bug and its repair: the shipped scenarios must find the bug
//! (the oracle saw the invariant broken, and the failure replays) and pass
//! the repair. The servers are plain hyper code on the harness's listener.

use std::cell::Cell;
use std::convert::Infallible;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use lifecycle_sim::{check, Determinism, Failure, Invariant, Launch, Listener, Service, Verdict};
use sim_tests::shipped;

/// Runs a shipped scenario and returns its failure, asserting that the
/// oracle saw `invariant` broken and that the failure replays identically.
fn must_find(name: &str, service: &Service, invariant: Invariant) -> Failure {
    let scenario = shipped(name, service);
    let checked = check::judge(&scenario);
    let failure = checked.report.failure.unwrap_or_else(|| {
        panic!(
            "{name} against {}: nothing found in {} cases",
            service.name(),
            checked.report.cases_run
        )
    });
    match &failure.run.verdict {
        Verdict::Violation(violation) if violation.invariant == invariant => {}
        other => panic!(
            "{name} against {}: expected {invariant}, got {other}",
            service.name()
        ),
    }
    assert!(
        matches!(failure.determinism, Determinism::Identical(_)),
        "the failure did not replay identically: {:?}",
        failure.determinism
    );
    failure
}

/// Runs a shipped scenario and asserts every case passes.
fn must_pass(name: &str, service: &Service) {
    let scenario = shipped(name, service);
    let checked = check::judge(&scenario);
    if let Some(failure) = &checked.report.failure {
        panic!(
            "{}",
            lifecycle_sim::report::failure(&scenario, &checked, failure)
        );
    }
    assert!(checked.met);
}

/// What a handler sees of its process.
#[derive(Clone)]
struct State {
    /// Whether the state requests read is loaded.
    loaded: Rc<Cell<bool>>,
    /// Whether a stop was requested.
    stopping: Rc<Cell<bool>>,
    /// Whether `/ready` says 503 from SIGTERM on.
    ready_follows_stop: bool,
}

impl State {
    fn new(loaded: bool, ready_follows_stop: bool) -> State {
        State {
            loaded: Rc::new(Cell::new(loaded)),
            stopping: Rc::new(Cell::new(false)),
            ready_follows_stop,
        }
    }
}

/// Ends a drain: tells the connections to finish gracefully, and waits for them.
async fn finish(
    stop: tokio::sync::watch::Sender<bool>,
    connections: Vec<tokio::task::JoinHandle<()>>,
) -> std::io::Result<()> {
    stop.send_replace(true);
    for connection in connections {
        let _ = connection.await;
    }
    Ok(())
}

async fn answer(
    state: State,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match request.uri().path() {
        "/" if !state.loaded.get() => (StatusCode::INTERNAL_SERVER_ERROR, "state not loaded"),
        "/" => (StatusCode::OK, "hello"),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(2)).await;
            (StatusCode::OK, "slow")
        }
        "/health" => (StatusCode::OK, "alive"),
        "/ready" if !state.loaded.get() => (StatusCode::SERVICE_UNAVAILABLE, "loading"),
        "/ready" if state.ready_follows_stop && state.stopping.get() => {
            (StatusCode::SERVICE_UNAVAILABLE, "stopping")
        }
        "/ready" => (StatusCode::OK, "ready"),
        _ => (StatusCode::NOT_FOUND, "not found"),
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    Ok(response)
}

/// Serves one connection with hyper until it ends, or, if `graceful`, until
/// `stop` resolves and the connection finishes gracefully.
fn spawn_connection(
    stream: lifecycle_sim::Stream,
    state: State,
    graceful: Option<tokio::sync::watch::Receiver<bool>>,
) -> tokio::task::JoinHandle<()> {
    tokio::task::spawn_local(async move {
        let service = hyper::service::service_fn(move |request| answer(state.clone(), request));
        let connection = hyper::server::conn::http1::Builder::new()
            .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
        tokio::pin!(connection);
        match graceful {
            None => {
                let _ = connection.await;
            }
            Some(mut stop) => {
                tokio::select! {
                    _ = connection.as_mut() => return,
                    _ = stop.wait_for(|stop| *stop) => {}
                }
                connection.as_mut().graceful_shutdown();
                let _ = connection.await;
            }
        }
    })
}

/// Accepts until SIGTERM; returns the listener (still open) and the
/// connections' tasks. The loop cannot hang a test if the stop never
/// comes: it awaits inside the simulation, whose run ends at its `Limits`
/// (simulated time, ticks, wall time) with a verdict.
async fn accept_until_stop(
    launch: &Launch,
    listener: &mut Listener,
    state: &State,
    graceful: Option<&tokio::sync::watch::Receiver<bool>>,
) -> std::io::Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut connections = Vec::new();
    let shutdown = launch.shutdown();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = accepted?;
                connections.push(spawn_connection(stream, state.clone(), graceful.cloned()));
            }
            () = &mut shutdown => return Ok(connections),
        }
    }
}

/// Race 1 in a user's server: it listens, then loads its state in the
/// background (buggy), or loads it first (fixed).
fn startup(load_first: bool) -> Service {
    let name = if load_first {
        "load-then-listen"
    } else {
        "listen-then-load"
    };
    Service::new(name, move |launch| async move {
        let state = State::new(false, true);
        let load = {
            let loaded = Rc::clone(&state.loaded);
            async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                loaded.set(true);
            }
        };
        let load = if load_first {
            load.await;
            None
        } else {
            Some(load)
        };
        let mut listener = launch.bind().await?;
        if let Some(load) = load {
            tokio::task::spawn_local(load);
        }
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let connections = accept_until_stop(&launch, &mut listener, &state, Some(&stopped)).await?;
        drop(listener);
        finish(stop, connections).await
    })
    .paths(&["/", "/slow"])
}

#[test]
fn a_server_that_listens_before_loading_its_state_is_found() {
    let failure = must_find("startup", &startup(false), Invariant::AcceptedRequestFailed);
    assert!(failure.shrunk.steps().len() <= failure.original.steps().len());
}

#[test]
fn a_server_that_loads_its_state_first_passes() {
    must_pass("startup", &startup(true));
}

/// Race 3 in a user's server: at SIGTERM it stops accepting and waits for
/// its connections, but never tells idle keep-alive connections to close
/// (buggy), or shuts each connection down gracefully (fixed).
fn drain(graceful: bool) -> Service {
    let name = if graceful {
        "graceful-drain"
    } else {
        "waits-for-idle-keep-alive"
    };
    Service::new(name, move |launch| async move {
        let state = State::new(true, true);
        let mut listener = launch.bind().await?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let graceful = graceful.then_some(&stopped);
        let connections = accept_until_stop(&launch, &mut listener, &state, graceful).await?;
        drop(listener);
        finish(stop, connections).await
    })
    .paths(&["/", "/slow"])
    .drain_deadline(Duration::from_secs(3))
}

#[test]
fn a_drain_that_waits_for_idle_keep_alive_connections_is_found() {
    must_find("drain", &drain(false), Invariant::DrainDeadline);
}

#[test]
fn a_drain_that_closes_idle_connections_passes() {
    must_pass("drain", &drain(true));
}

/// Race 4 in a user's server: at SIGTERM it keeps its listener open for a
/// drain window so in-flight work finishes and probes are answered, but
/// `/ready` still says 200 (buggy), or says 503 from SIGTERM (fixed).
fn linger(ready_follows_stop: bool) -> Service {
    let name = if ready_follows_stop {
        "ready-503-on-stop"
    } else {
        "ready-200-on-stop"
    };
    Service::new(name, move |launch| async move {
        let state = State::new(true, ready_follows_stop);
        let mut listener = launch.bind().await?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let connections = accept_until_stop(&launch, &mut listener, &state, Some(&stopped)).await?;
        state.stopping.set(true);
        // The drain window: still accepting, so probes are answered. It
        // ends with the window's simulated 8 s (or, like every loop of a
        // simulated service, with the run's `Limits`).
        let window = tokio::time::sleep(Duration::from_secs(8));
        tokio::pin!(window);
        let mut lingering = Vec::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, _) = accepted?;
                    lingering.push(spawn_connection(stream, state.clone(), Some(stopped.clone())));
                }
                () = &mut window => break,
            }
        }
        drop(listener);
        finish(stop, connections.into_iter().chain(lingering).collect()).await
    })
    .paths(&["/", "/slow"])
    .drain_deadline(Duration::from_secs(12))
}

#[test]
fn ready_that_stays_200_after_sigterm_is_found() {
    must_find("probes", &linger(false), Invariant::ReadyAfterStop);
}

#[test]
fn ready_that_turns_503_at_sigterm_passes() {
    must_pass("probes", &linger(true));
}

/// Crash and restart in a user's server: its startup blocks on a dependency
/// for a minute (buggy), or a moment (fixed), through the hyper adapter.
fn restart(startup_work: Duration) -> Service {
    Service::hyper("restarting", move || {
        hyper::service::service_fn(|request| {
            let state = State::new(true, false);
            answer(state, request)
        })
    })
    .paths(&["/", "/slow"])
    .startup_work(startup_work)
}

#[test]
fn a_server_that_takes_a_minute_to_come_back_is_found() {
    must_find(
        "restart",
        &restart(Duration::from_secs(60)),
        Invariant::RecoversAfterRestart,
    );
}

#[test]
fn a_server_that_comes_back_at_once_passes() {
    must_pass("restart", &restart(Duration::from_millis(100)));
}

#[test]
fn a_service_that_panics_is_reported_with_its_seed() {
    let service = Service::new("panics", |launch| async move {
        let _listener = launch.bind().await?;
        tokio::time::sleep(Duration::from_millis(5)).await;
        panic!("the service's own bug");
    });
    let scenario = shipped("startup", &service);
    let checked = check::judge(&scenario);
    let failure = checked
        .report
        .failure
        .as_ref()
        .expect("a panic is a failure");
    match &failure.run.verdict {
        Verdict::Crashed(message) => {
            assert!(message.contains("the service's own bug"), "{message}")
        }
        other => panic!("expected a crash, got {other}"),
    }
    let report = lifecycle_sim::report::failure(&scenario, &checked, failure);
    let seed = lifecycle_sim::render_seed(failure.seed);
    assert!(report.contains(&seed), "{report}");
    assert!(
        report.contains(&format!("LIFECYCLE_SEED={seed}")),
        "{report}"
    );
}

#[test]
fn a_port_bound_twice_is_reported_as_an_address_in_use() {
    // turmoil's refusal names only the address; the trace must say why.
    let service = Service::new("binds-twice", |launch| async move {
        let _first = launch.bind().await?;
        let _second = launch.bind().await?;
        launch.shutdown().await;
        Ok(())
    });
    let case = lifecycle_sim::Case {
        seed: 1,
        schedule: lifecycle_sim::Schedule::parse_lines(&["0ms start", "100ms request /"]).unwrap(),
    };
    let run = lifecycle_sim::Setup::new(service).run(&case);
    let failed: Vec<String> = run
        .events
        .iter()
        .filter(|event| matches!(event.kind, lifecycle_sim::EventKind::Failed { .. }))
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        failed.len(),
        1,
        "{}",
        lifecycle_sim::render_trace(&run.events)
    );
    assert!(
        failed[0].contains("failed: address in use: 0.0.0.0:8080"),
        "{failed:?}"
    );
}
