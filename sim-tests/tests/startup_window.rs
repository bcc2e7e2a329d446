//! Race 1, the startup window: the buggy order must be found (the oracle saw a
//! request read uninitialised state), shrunk to a start and a request or two,
//! and replayed exactly; the fixed order must pass.

use lifecycle_sim::{
    Action, Case, Cases, Determinism, EventKind, Invariant, Milestone, Scenario, Verdict,
};
use sim_tests::{
    expected_cases, file_cases, fixtures_directory, must_pass, pinned_failure, scenario,
    shrunk_timeline,
};

/// The case seed of the first failure the buggy scenario's campaign finds.
const PINNED_BUGGY_SEED: u64 = 0x5dd5_759b_972a_6397;

#[test]
fn buggy_startup_order_is_found_within_the_default_budget() {
    let scenario = scenario("startup-window-buggy.toml");
    let report = scenario.campaign.run();
    let failure = report
        .failure
        .expect("the buggy startup order must be found within the scenario's budget");
    let Verdict::Violation(violation) = &failure.run.verdict else {
        panic!("expected a violation, got {}", failure.run.verdict);
    };
    assert_eq!(violation.invariant, Invariant::ServedBeforeInitialised);

    // The race really happened: the violating event is a handler reading
    // state that was not initialised, after the process began accepting and
    // before it reported its state initialised.
    let events = &failure.run.events;
    assert!(matches!(
        events[violation.event].kind,
        EventKind::StateRead {
            initialised: false,
            ..
        }
    ));
    let milestones: Vec<Milestone> = events[..violation.event]
        .iter()
        .filter_map(|event| match event.kind {
            EventKind::Milestone(milestone) => Some(milestone),
            _ => None,
        })
        .collect();
    assert_eq!(milestones.last(), Some(&Milestone::Initialising));
    assert!(milestones.contains(&Milestone::Accepting));

    assert!(matches!(failure.determinism, Determinism::Identical(_)));
}

#[test]
fn shrunk_failure_is_a_start_and_at_most_two_requests() {
    let scenario = scenario("startup-window-buggy.toml");
    let failure = scenario.campaign.run().failure.expect("found");
    let steps = failure.shrunk.steps();
    let starts = steps
        .iter()
        .filter(|step| matches!(step.action, Action::Start { .. }))
        .count();
    let requests = steps
        .iter()
        .filter(|step| matches!(step.action, Action::Request { .. }))
        .count();
    assert_eq!(starts, 1, "shrunk schedule:\n{}", failure.shrunk);
    assert!(
        (1..=2).contains(&requests),
        "shrunk schedule:\n{}",
        failure.shrunk
    );
    assert_eq!(
        steps.len(),
        starts + requests,
        "shrunk schedule:\n{}",
        failure.shrunk
    );
}

#[test]
fn fixed_startup_order_passes_a_thousand_cases() {
    assert!(file_cases("startup-window-fixed.toml") >= 1000);
    assert_eq!(
        must_pass("startup-window-fixed.toml"),
        expected_cases("startup-window-fixed.toml")
    );
}

#[test]
fn pinned_seed_twin_finds_the_same_violation() {
    let mut campaign = scenario("startup-window-buggy.toml").campaign;
    campaign.cases = Cases::Seed(PINNED_BUGGY_SEED);
    let failure = campaign.run().failure.expect("the pinned seed fails");
    let Verdict::Violation(violation) = &failure.run.verdict else {
        panic!("expected a violation, got {}", failure.run.verdict);
    };
    assert_eq!(violation.invariant, Invariant::ServedBeforeInitialised);
}

#[test]
fn pinned_seed_passes_against_the_fixed_order() {
    let buggy = scenario("startup-window-buggy.toml").campaign;
    let mut fixed = scenario("startup-window-fixed.toml").campaign;
    let schedule = buggy.schedule(PINNED_BUGGY_SEED);
    fixed.cases = Cases::Fixed(Case {
        seed: PINNED_BUGGY_SEED,
        schedule,
    });
    let report = fixed.run();
    assert!(
        report.failure.is_none(),
        "{:?}",
        report.failure.map(|f| f.run.verdict)
    );
}

#[test]
fn saved_failure_file_replays_without_generating() {
    let path = fixtures_directory().join("startup-window-buggy-failure.toml");
    let scenario = Scenario::load(&path).unwrap_or_else(|error| panic!("{error}"));
    let Cases::Fixed(case) = &scenario.campaign.cases else {
        panic!("a saved failure holds a fixed schedule");
    };
    let first = scenario.campaign.run_case(case);
    let second = scenario.campaign.run_case(case);
    let Verdict::Violation(violation) = &first.verdict else {
        panic!("expected a violation, got {}", first.verdict);
    };
    assert_eq!(violation.invariant, Invariant::ServedBeforeInitialised);
    assert_eq!(
        lifecycle_sim::render_trace(&first.events),
        lifecycle_sim::render_trace(&second.events)
    );
}

#[test]
fn shrunk_failing_timeline_of_the_pinned_seed() {
    let failure = pinned_failure(
        "startup-window-buggy.toml",
        PINNED_BUGGY_SEED,
        Invariant::ServedBeforeInitialised,
    );
    assert_snapshot_named!(
        "startup_window__shrunk_failing_timeline_of_the_pinned_seed",
        shrunk_timeline(&failure)
    );
}
