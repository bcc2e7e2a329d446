//! Race 3, the drain hang: the check-then-wait stop must be found hanging
//! (the oracle saw the stop outlive its drain deadline after the last
//! connection closed in the window), and the robust drain must pass the same
//! start → requests → stop loop, a thousand loops over, without nondeterminism.

use lifecycle_sim::trace_hash as hash;
use lifecycle_sim::{Case, EventKind, Invariant, Milestone, Verdict};
use sim_tests::{
    expected_cases, file_cases, must_find, must_pass, pinned_failure, scenario, shrunk_timeline,
    twin_run, violation,
};

/// The case seed of the first failure the buggy scenario's campaign finds.
const PINNED_BUGGY_SEED: u64 = 0x3388_7b12_1f70_185c;

/// The stop loops the robust drain must run through.
const STOP_LOOPS: usize = 1000;
/// The cases the robust drain may take to run `STOP_LOOPS` stop loops (749
/// today): a generator that stopped drawing stops fails the test, not hangs it.
const STOP_LOOP_CASES_MAX: u64 = 2_000;

#[test]
fn check_then_wait_stop_is_found_hanging() {
    let failure = must_find("drain-hang-buggy.toml", Invariant::DrainDeadline);
    let events = &failure.run.events;
    let violation = violation(&failure);
    // The clock started at SIGTERM, and the process never reported stopped.
    assert_eq!(events[violation.event].kind, EventKind::Sigterm);
    assert!(!events[violation.event..]
        .iter()
        .any(|event| event.kind == EventKind::Milestone(Milestone::Stopped)));
    // The lost wakeup: every connection open at SIGTERM closed, yet the stop waits.
    assert!(
        violation
            .reason
            .contains("no connection and no request is open"),
        "{}",
        violation.reason
    );
    assert!(violation.reason.contains("closed"), "{}", violation.reason);
}

#[test]
fn the_report_lists_the_connections_the_stop_waited_on() {
    let failure = pinned_failure(
        "drain-hang-buggy.toml",
        PINNED_BUGGY_SEED,
        Invariant::DrainDeadline,
    );
    let reason = &violation(&failure).reason;
    assert!(
        reason.contains("connections open at SIGTERM: c1 (opened"),
        "{reason}"
    );
}

#[test]
fn robust_drain_passes_every_case() {
    assert!(file_cases("drain-hang-fixed.toml") >= 1000);
    assert_eq!(
        must_pass("drain-hang-fixed.toml"),
        expected_cases("drain-hang-fixed.toml")
    );
}

#[test]
fn robust_drain_runs_a_thousand_stop_loops_without_violation_or_nondeterminism() {
    let campaign = scenario("drain-hang-fixed.toml").campaign;
    let mut loops = 0;
    let mut seeds = 0..STOP_LOOP_CASES_MAX;
    while loops < STOP_LOOPS {
        let seed = seeds.next().unwrap_or_else(|| {
            panic!("only {loops} of {STOP_LOOPS} stop loops in {STOP_LOOP_CASES_MAX} cases")
        });
        let case = Case {
            seed,
            schedule: campaign.schedule(seed),
        };
        let first = campaign.run_case(&case);
        let second = campaign.run_case(&case);
        assert_eq!(first.verdict, Verdict::Pass, "seed {seed}");
        assert_eq!(hash(&first.events), hash(&second.events), "seed {seed}");
        loops += first
            .events
            .iter()
            .filter(|event| event.kind == EventKind::Milestone(Milestone::Stopped))
            .count();
    }
}

#[test]
fn pinned_seed_twin_passes_against_the_robust_drain() {
    let run = twin_run(
        "drain-hang-buggy.toml",
        "drain-hang-fixed.toml",
        PINNED_BUGGY_SEED,
    );
    assert!(run
        .events
        .iter()
        .any(|event| event.kind == EventKind::Sigterm));
    assert_eq!(run.verdict, Verdict::Pass);
}

#[test]
fn shrunk_drain_hang_timeline_of_the_pinned_seed() {
    let failure = pinned_failure(
        "drain-hang-buggy.toml",
        PINNED_BUGGY_SEED,
        Invariant::DrainDeadline,
    );
    assert_snapshot_named!(
        "drain_hang__shrunk_drain_hang_timeline_of_the_pinned_seed",
        shrunk_timeline(&failure)
    );
}

#[test]
fn the_seed_decides_the_preemption_point() {
    // The same schedule hangs under some seeds and stops under others: the
    // window between check and wait opens only where the seed yields there.
    let campaign = scenario("drain-hang-buggy.toml").campaign;
    let schedule = campaign.schedule(PINNED_BUGGY_SEED);
    let hangs = (0..40)
        .filter(|seed| {
            let case = Case {
                seed: *seed,
                schedule: schedule.clone(),
            };
            match campaign.run_case(&case).verdict {
                Verdict::Pass => false,
                Verdict::Violation(violation) => {
                    assert_eq!(
                        violation.invariant,
                        Invariant::DrainDeadline,
                        "seed {seed}: {violation}"
                    );
                    true
                }
                other => panic!("seed {seed}: {other}"),
            }
        })
        .count();
    assert!((1..40).contains(&hangs), "{hangs} of 40 seeds hung");
}
