//! The harness catches the broken app's drain: a stop while a `Wait` call
//! runs returns at once, and the process's exit cuts the call.

mod common;

use std::path::Path;

use lifecycle_sim::{check, Determinism, Invariant, Scenario, Verdict, BUILTIN_SCENARIOS};

#[test]
fn the_grpc_drain_scenario_catches_a_server_dropped_at_sigterm() {
    let broken = common::service("tonic-app-broken", true);
    let (path, text) = BUILTIN_SCENARIOS
        .iter()
        .find(|(path, _)| path.ends_with("/drain-grpc.toml"))
        .expect("the shipped gRPC drain scenario");
    let scenario = Scenario::parse_with(Path::new(path), text, &[broken]).expect("it parses");
    let checked = check::judge(&scenario);
    let failure = checked.report.failure.expect("the cut call is found");
    let Verdict::Violation(violation) = &failure.run.verdict else {
        panic!("not a violation: {}", failure.run.verdict);
    };
    assert_eq!(violation.invariant, Invariant::RequestCut, "{violation}");
    assert!(matches!(failure.determinism, Determinism::Identical(_)));
    // The shrunk schedule keeps the long call the stop cut.
    assert!(
        failure
            .shrunk
            .lines()
            .iter()
            .any(|line| line.contains(tonic_app::WAIT)),
        "{}",
        failure.shrunk
    );
}
