//! Published framework releases with known lifecycle bugs, wrapped with
//! `Service::new` and run unmodified: each must be found by a shipped
//! scenario within a small budget, the oracle having seen the bug itself,
//! and the release that fixed it must pass the very schedule that found it.

use lifecycle_sim::{check, Case, Determinism, Failure, Invariant, Service, Verdict};
use sim_tests::{published, reset_after_sigterm, shipped, stock};

/// The shipped scenario's failure against `service`, which must be
/// `invariant` found within `budget` cases and replay identically.
fn found_within(name: &str, service: &Service, invariant: Invariant, budget: u64) -> Failure {
    let checked = check::judge(&shipped(name, service));
    let failure = checked.report.failure.unwrap_or_else(|| {
        panic!(
            "{name}: nothing found in {} cases",
            checked.report.cases_run
        )
    });
    println!(
        "{}{name} against {}: {} after {} cases (seed {:#x})",
        lifecycle_sim::report::timeline(&failure.run.events, &failure.run.verdict, "  "),
        service.name(),
        failure.run.verdict,
        checked.report.cases_run,
        failure.seed
    );
    let Verdict::Violation(violation) = &failure.run.verdict else {
        panic!("{name}: {}", failure.run.verdict);
    };
    assert_eq!(violation.invariant, invariant, "{violation}");
    assert!(
        checked.report.cases_run <= budget,
        "{name}: found after {} cases, budget {budget}",
        checked.report.cases_run
    );
    assert!(
        matches!(failure.determinism, Determinism::Identical(_)),
        "{:?}",
        failure.determinism
    );
    failure
}

#[test]
fn poem_2_0_1_cutting_requests_when_shutdown_begins_is_found_and_poem_3_passes_the_same_schedule() {
    let failure = found_within("drain", &published::poem_2_0_1(), Invariant::RequestCut, 50);
    // The race happened: a request the server had read was still running at
    // SIGTERM, and its client saw the connection reset, not an answer.
    let events = &failure.run.events;
    assert!(
        reset_after_sigterm(events),
        "{}",
        lifecycle_sim::render_trace(events)
    );
    // poem 3.0.0's fix, run on the shrunk schedule that found the bug.
    let fixed = shipped("drain", &stock::poem());
    let run = fixed.campaign.run_case(&Case {
        seed: failure.seed,
        schedule: failure.shrunk.clone(),
    });
    assert_eq!(run.verdict, Verdict::Pass, "{}", run.verdict);
}
