//! Real clients' traffic against servers with real shutdown bugs: silent
//! connections, serve functions that return too early. Each bug must be
//! found by a shipped scenario, the oracle having seen it; the stock servers
//! pass the same scenarios (`stock_servers.rs`).

use lifecycle_sim::{
    check, Behaviour, Determinism, Failure, Generator, Invariant, Scenario, Verdict,
};
use sim_tests::{fixtures, found_within_twenty_cases_median, shipped};

fn found(scenario: &Scenario, invariant: Invariant) -> Failure {
    let checked = check::judge(scenario);
    let failure = checked
        .report
        .failure
        .unwrap_or_else(|| panic!("nothing found in {} cases", checked.report.cases_run));
    match &failure.run.verdict {
        Verdict::Violation(violation) if violation.invariant == invariant => {}
        other => panic!("expected {invariant}, got {other}"),
    }
    assert!(
        matches!(failure.determinism, Determinism::Identical(_)),
        "{:?}",
        failure.determinism
    );
    failure
}

fn reason(failure: &Failure) -> &str {
    match &failure.run.verdict {
        Verdict::Violation(violation) => &violation.reason,
        _ => unreachable!("found() checked it"),
    }
}

#[test]
fn a_drain_that_waits_for_silent_connections_is_found_within_twenty_cases_median() {
    // The stop waited on a connection that carried no request.
    found_within_twenty_cases_median(
        "drain",
        &fixtures::ignores_silent_connections(),
        Invariant::DrainDeadline,
        "requests in flight: []",
    );
}

#[test]
fn a_shutdown_that_returns_while_connections_still_serve_is_a_cut() {
    let failure = found(
        &shipped("drain", &fixtures::returns_while_live()),
        Invariant::RequestCut,
    );
    assert!(
        reason(&failure).contains("after the service's process had returned from its stop"),
        "{}",
        reason(&failure)
    );
}

#[test]
fn a_serve_function_that_returns_at_once_exited_unasked() {
    let failure = found(
        &shipped("startup", &fixtures::returns_at_once()),
        Invariant::ExitedUnasked,
    );
    assert!(
        reason(&failure).contains("without being asked to stop"),
        "{}",
        reason(&failure)
    );
}

#[test]
fn the_generator_draws_every_client_behaviour_and_its_text_form_replays() {
    let generator = Generator {
        clients: Behaviour::ALL.to_vec(),
        keep_max: std::time::Duration::from_secs(2),
        ..Generator::default()
    };
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..400_u64 {
        let schedule = generator.generate(seed, 1).current();
        let lines = schedule.lines();
        let again = lifecycle_sim::Schedule::parse_lines(&lines).expect("the text form reads back");
        assert_eq!(again, schedule, "seed {seed}");
        for line in lines {
            for (mark, name) in [
                (" connect", "connect"),
                ("connect partial", "partial"),
                (" slow=", "slow"),
                (" half-close", "half-close"),
                (" reuse=", "reuse"),
            ] {
                if line.contains(mark) {
                    seen.insert(name);
                }
            }
        }
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
}
