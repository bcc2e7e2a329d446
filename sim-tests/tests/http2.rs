//! HTTP/2 under the harness: the shipped `drain-h2` scenario's clients send
//! h2c streams (one at a time, several at once on one connection, a slow
//! upload, a new stream on a kept connection, half a preface), a stock
//! hyper auto server answers them, and a server whose graceful shutdown
//! waits for connections still in their preface is found.

use std::path::Path;

use lifecycle_sim::{
    EventKind, Invariant, Outcome, Scenario, Sending, Shard, Verdict, BUILTIN_SCENARIOS,
};
use sim_tests::{
    finds_a_cut_of_an_accepted_request, fixtures, found_within_twenty_cases_median, shipped, stock,
};

#[test]
fn a_stock_hyper_auto_server_answers_streams_sent_at_once_on_one_connection() {
    answers_streams_sent_at_once(&stock::hyper_auto());
}

#[test]
fn a_stock_axum_server_answers_streams_sent_at_once_on_one_connection() {
    answers_streams_sent_at_once(&stock::axum_auto());
}

/// Over 40 cases of `drain-h2`, streams sent beside another on one
/// connection were read by `service` and answered 200, and every case
/// passed: the scenario's pass is not a pass of streams never served.
fn answers_streams_sent_at_once(service: &lifecycle_sim::Service) {
    let scenario = shipped("drain-h2", service);
    let campaign = &scenario.campaign;
    let (mut multiplexed, mut answered, mut refused, mut read) = (0, 0, 0, 0);
    for seed in campaign.case_seeds(Shard::ALL).into_iter().take(40) {
        let case = lifecycle_sim::Case {
            seed,
            schedule: campaign.schedule(seed),
        };
        let run = campaign.run_case(&case);
        assert_eq!(run.verdict, Verdict::Pass, "seed {seed:#x}");
        let sent_multiplexed: Vec<u64> = run
            .events
            .iter()
            .filter_map(|event| match &event.kind {
                EventKind::Sent {
                    request,
                    sending: Sending::Multiplexed { .. },
                    ..
                } => Some(*request),
                _ => None,
            })
            .collect();
        multiplexed += sent_multiplexed.len();
        for event in &run.events {
            if let EventKind::RequestStarted { request, .. } = &event.kind {
                // The server read the stream's HEADERS: the recording
                // stream decoded them.
                read += usize::from(sent_multiplexed.contains(request));
            }
            if let EventKind::Observed { request, outcome } = &event.kind {
                match outcome {
                    Outcome::Status(200) if sent_multiplexed.contains(request) => answered += 1,
                    Outcome::Refused => refused += 1,
                    _ => {}
                }
            }
        }
    }
    println!(
        "40 cases: {multiplexed} streams sent beside another, {read} read by the server, \
         {answered} answered 200; {refused} requests refused"
    );
    assert!(multiplexed > 0, "no case sent streams at once");
    assert!(answered > 0, "no stream sent beside another was answered");
    assert!(read >= answered, "{read} streams read, {answered} answered");
}

#[test]
fn a_drain_that_waits_for_unfinished_prefaces_is_found_within_twenty_cases_median() {
    // The stop waited on a connection that carried no request.
    found_within_twenty_cases_median(
        "drain-h2",
        &fixtures::ignores_unfinished_prefaces(),
        Invariant::DrainDeadline,
        "requests in flight: []",
    );
}

#[test]
fn a_stop_that_returns_under_streams_in_flight_is_a_cut() {
    finds_a_cut_of_an_accepted_request("drain-h2", &fixtures::returns_under_streams());
}

#[test]
fn an_http2_scenario_does_not_apply_to_a_service_that_serves_only_http1() {
    let (path, text) = BUILTIN_SCENARIOS
        .iter()
        .find(|(path, _)| path.ends_with("drain-h2.toml"))
        .expect("drain-h2 is shipped");
    let http1 = stock::hyper();
    assert!(!Scenario::applies_to(text, &http1));
    assert!(Scenario::applies_to(text, &stock::hyper_auto()));
    let error = Scenario::parse_with(Path::new(path), text, std::slice::from_ref(&http1))
        .expect_err("an HTTP/1.1 service cannot run an HTTP/2 scenario");
    let shown = error.to_string();
    assert!(shown.contains("run.http"), "{shown}");
    assert!(shown.contains("Service::http"), "{shown}");
}

#[test]
fn a_service_that_declares_http2_and_serves_http1_only_is_told_so() {
    // hyper's HTTP/1 builder reads the preface and closes the connection
    // (or answers an HTTP/1.1 error): without this check every stream
    // would end unread, and pass.
    let misdeclared = stock::hyper_by_hand().http(lifecycle_sim::Http::Two);
    let scenario = shipped("drain-h2", &misdeclared);
    let checked = lifecycle_sim::check::judge(&scenario);
    let failure = checked.report.failure.expect("the first case fails");
    assert_eq!(checked.report.cases_run, 1);
    let Verdict::Crashed(message) = &failure.run.verdict else {
        panic!("{}", failure.run.verdict);
    };
    assert!(message.contains("does not serve HTTP/2"), "{message}");
    assert!(message.contains("Service::http"), "{message}");
}
