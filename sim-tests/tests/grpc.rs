//! gRPC under the harness: the shipped `drain-grpc` scenario's clients make
//! unary calls over h2c (on connections of their own, several at once on
//! one connection, a slowly uploaded message, a new call on a kept
//! connection), a stock tonic server answers them, the kubelet's `grpc`
//! probes call its health service, and a server that drops its calls at
//! SIGTERM is found.

use std::path::Path;

use lifecycle_sim::{EventKind, Invariant, Outcome, Scenario, Shard, Verdict, BUILTIN_SCENARIOS};
use sim_tests::{
    finds_a_cut, finds_a_cut_of_an_accepted_request, fixtures, found_within_twenty_cases_median,
    shipped, stock,
};

/// Over 40 cases of `scenario`, calls to the stock tonic server's slow
/// method were read by it and answered OK (a 200), and every case passed:
/// the pass is not a pass of calls never served. Returns the figures.
fn answers_calls(scenario: &str, service: &lifecycle_sim::Service) -> (usize, usize, usize) {
    let scenario = shipped(scenario, service);
    let campaign = &scenario.campaign;
    let (mut slow, mut read, mut answered) = (0, 0, 0);
    for seed in campaign.case_seeds(Shard::ALL).into_iter().take(40) {
        let case = lifecycle_sim::Case {
            seed,
            schedule: campaign.schedule(seed),
        };
        let run = campaign.run_case(&case);
        assert_eq!(run.verdict, Verdict::Pass, "seed {seed:#x}");
        let mut calls = Vec::new();
        for event in &run.events {
            match &event.kind {
                EventKind::Sent { request, path, .. } if path == stock::grpc::SLOW_CALL => {
                    calls.push(*request);
                }
                EventKind::RequestStarted { request, .. } if calls.contains(request) => read += 1,
                EventKind::Observed {
                    request,
                    outcome: Outcome::Status(200),
                } if calls.contains(request) => answered += 1,
                _ => {}
            }
        }
        slow += calls.len();
    }
    println!(
        "40 cases of {}: {slow} slow calls sent, {read} read by the server, {answered} \
         answered OK",
        scenario.name
    );
    assert!(answered > 0, "no slow call was answered OK");
    assert!(read >= answered, "{read} calls read, {answered} answered");
    (slow, read, answered)
}

#[test]
fn a_tonic_server_with_a_bounded_drain_answers_unary_calls_through_it() {
    answers_calls("drain-grpc", &stock::tonic_bounded());
}

#[test]
fn a_stock_tonic_server_hangs_its_drain_on_a_connection_that_never_sent_its_preface() {
    // hyper's HTTP/2 server defers a graceful shutdown that comes during
    // the handshake until the handshake completes, and tonic waits for
    // every connection: a connection that sends nothing holds the stop.
    found_within_twenty_cases_median(
        "drain-grpc",
        &stock::tonic(),
        Invariant::DrainDeadline,
        "requests in flight: []",
    );
}

#[test]
fn the_kubelets_grpc_probes_pass_on_a_stock_tonic_servers_health_service() {
    answers_calls("probes-grpc", &stock::tonic());
    // Readiness put the pod in the endpoints: a `grpc` probe passed, which
    // it does only on SERVING.
    let scenario = shipped("probes-grpc", &stock::tonic());
    let campaign = &scenario.campaign;
    let seed = campaign.case_seeds(Shard::ALL)[0];
    let case = lifecycle_sim::Case {
        seed,
        schedule: campaign.schedule(seed),
    };
    let run = campaign.run_case(&case);
    assert!(
        run.events
            .iter()
            .any(|event| event.kind == EventKind::Endpoint { routed: true }),
        "the readiness probe never passed"
    );
}

#[test]
fn a_server_that_drops_its_calls_at_sigterm_is_found() {
    let (_, shrunk) =
        finds_a_cut_of_an_accepted_request("drain-grpc", &fixtures::drops_calls_at_stop());
    assert!(shrunk.contains("/stock.Stock/Slow"), "{shrunk}");
}

#[test]
fn a_drain_that_ends_its_calls_with_an_error_status_is_a_cut() {
    finds_a_cut(
        "drain-grpc",
        &fixtures::errors_calls_at_stop(),
        "ended with status 500 after SIGTERM",
    );
}

#[test]
fn a_grpc_scenario_calling_a_path_that_is_no_method_is_refused() {
    let text = BUILTIN_SCENARIOS
        .iter()
        .find(|(path, _)| path.ends_with("/drain-grpc.toml"))
        .expect("drain-grpc is shipped")
        .1;
    // A gRPC service declared without its methods keeps the default `/`.
    let service = stock::tonic_bounded().paths(&["/"]);
    let error = Scenario::parse_with(Path::new("drain-grpc.toml"), text, &[service])
        .expect_err("`/` is not a method");
    let shown = error.to_string();
    assert!(shown.contains("generate.paths"), "{shown}");
    assert!(shown.contains("`/` is not a gRPC method"), "{shown}");
}

#[test]
fn grpc_scenarios_apply_to_grpc_services_only() {
    let text = |name: &str| {
        BUILTIN_SCENARIOS
            .iter()
            .find(|(path, _)| path.ends_with(&format!("/{name}.toml")))
            .unwrap_or_else(|| panic!("{name} is shipped"))
    };
    let tonic = stock::tonic();
    for name in ["drain-grpc", "probes-grpc"] {
        assert!(Scenario::applies_to(text(name).1, &tonic), "{name}");
        assert!(
            !Scenario::applies_to(text(name).1, &stock::hyper_auto()),
            "{name}"
        );
    }
    for name in ["drain-h2", "drain", "probes", "startup"] {
        assert!(!Scenario::applies_to(text(name).1, &tonic), "{name}");
    }
    let (path, drain) = text("drain-grpc");
    let error = Scenario::parse_with(Path::new(path), drain, &[stock::hyper_auto()])
        .expect_err("a plain HTTP service cannot run a gRPC scenario");
    let shown = error.to_string();
    assert!(shown.contains("run.protocol"), "{shown}");
}

#[test]
fn a_trace_does_not_depend_on_how_many_tasks_the_process_spawned_before() {
    // tonic spawns its connection tasks with `tokio::spawn`; tokio drops
    // them, at a process's end, in an order set by their ids, which a
    // process-wide counter hands out. Moving that counter between a run
    // and its replay must not change the trace.
    let scenario = shipped("drain-grpc", &fixtures::drops_calls_at_stop());
    let campaign = &scenario.campaign;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let mut compared = 0;
    for seed in campaign.case_seeds(Shard::ALL).into_iter().take(12) {
        let case = lifecycle_sim::Case {
            seed,
            schedule: campaign.schedule(seed),
        };
        let first = lifecycle_sim::render_trace(&campaign.run_case(&case).events);
        for shift in 1..4 {
            // Tasks spawned elsewhere in the process move the counter.
            runtime.block_on(async {
                for _ in 0..shift {
                    let _ = tokio::spawn(async {}).await;
                }
            });
            let again = lifecycle_sim::render_trace(&campaign.run_case(&case).events);
            assert_eq!(first, again, "seed {seed:#x}, {shift} tasks between");
            compared += 1;
        }
    }
    assert_eq!(compared, 36);
}
