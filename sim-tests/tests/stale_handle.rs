//! Race 5, the stale handle: a re-run that reuses the stored handle of an
//! exited worker must be found (the oracle saw the call through the exited
//! generation), and resetting per-run state must pass.

use lifecycle_sim::{EventKind, Invariant, Verdict};
use sim_tests::{
    expected_cases, file_cases, must_find, must_pass, pinned_failure, shrunk_timeline, twin_run,
    violation,
};

/// The case seed of the first failure the buggy scenario's campaign finds.
const PINNED_BUGGY_SEED: u64 = 0xaaab_610f_301c_0d81;

#[test]
fn a_call_through_the_handle_of_an_exited_worker_is_found() {
    let failure = must_find("stale-handle-buggy.toml", Invariant::StaleHandle);
    let events = &failure.run.events;
    let violation = violation(&failure);
    let EventKind::HandleUsed { generation, .. } = events[violation.event].kind else {
        panic!(
            "the violating event is a call through a handle: {}",
            events[violation.event]
        );
    };
    // The worker of that generation exited before the call: the race happened.
    assert!(events[..violation.event]
        .iter()
        .any(|event| event.kind == EventKind::WorkerExited { generation }));
}

#[test]
fn a_fresh_worker_per_run_passes_every_case() {
    assert!(file_cases("stale-handle-fixed.toml") >= 1000);
    assert_eq!(
        must_pass("stale-handle-fixed.toml"),
        expected_cases("stale-handle-fixed.toml")
    );
}

#[test]
fn pinned_seed_twin_passes_with_a_fresh_worker_per_run() {
    let run = twin_run(
        "stale-handle-buggy.toml",
        "stale-handle-fixed.toml",
        PINNED_BUGGY_SEED,
    );
    assert_eq!(run.verdict, Verdict::Pass);
    // Every run used a worker of its own generation.
    let calls = run
        .events
        .iter()
        .filter(|event| matches!(event.kind, EventKind::HandleUsed { .. }))
        .count();
    let workers = run
        .events
        .iter()
        .filter(|event| matches!(event.kind, EventKind::WorkerStarted { .. }))
        .count();
    assert!(calls > 1);
    assert_eq!(calls, workers);
}

#[test]
fn shrunk_stale_handle_timeline_of_the_pinned_seed() {
    let failure = pinned_failure(
        "stale-handle-buggy.toml",
        PINNED_BUGGY_SEED,
        Invariant::StaleHandle,
    );
    assert_snapshot_named!(
        "stale_handle__shrunk_stale_handle_timeline_of_the_pinned_seed",
        shrunk_timeline(&failure)
    );
}
