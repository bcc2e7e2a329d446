//! Race 4, health and readiness during drain: with the status component
//! stopping first, the kubelet's /health probe must be seen failing while a
//! slow request still runs; with it stopping last, every probe stays truthful
//! and the slow request finishes inside the grace period.

use lifecycle_sim::{EventKind, Invariant, KillReason, Outcome, Verdict};
use sim_tests::{
    edited_scenario, expected_cases, file_cases, must_find, must_pass, must_pass_scenario,
    pinned_failure, shrunk_timeline, twin_run, violation,
};

/// The case seed of the first failure the buggy scenario's campaign finds.
const PINNED_BUGGY_SEED: u64 = 0x72c9_bb31_8f16_ee33;

#[test]
fn status_stopping_first_is_found_failing_health_during_drain() {
    let failure = must_find(
        "probes-during-drain-buggy.toml",
        Invariant::HealthDuringDrain,
    );
    let events = &failure.run.events;
    let violation = violation(&failure);
    // The violating event is the kill the legacy kubelet's liveness probe
    // causes: SIGKILL after SIGTERM, while the server still handled an
    // application request, and only after /health had really been refused.
    let event = &events[violation.event];
    assert_eq!(&*event.host, "server");
    assert!(
        event.kind
            == EventKind::Sigkill {
                reason: KillReason::Liveness
            },
        "{event:?}"
    );
    let sigterm = events[..violation.event]
        .iter()
        .position(|event| event.kind == EventKind::Sigterm)
        .expect("a SIGTERM before the kill");
    assert!(events[sigterm..violation.event].iter().any(|event| {
        &*event.host == "kubelet"
            && matches!(
                event.kind,
                EventKind::Observed {
                    outcome: Outcome::Refused | Outcome::Reset,
                    ..
                }
            )
    }));
    assert!(violation.reason.contains("/slow"), "{}", violation.reason);
}

#[test]
fn status_stopping_last_passes_every_case() {
    assert!(file_cases("probes-during-drain-fixed.toml") >= 1000);
    assert_eq!(
        must_pass("probes-during-drain-fixed.toml"),
        expected_cases("probes-during-drain-fixed.toml")
    );
}

#[test]
fn pinned_seed_twin_passes_with_the_status_component_stopping_last() {
    let run = twin_run(
        "probes-during-drain-buggy.toml",
        "probes-during-drain-fixed.toml",
        PINNED_BUGGY_SEED,
    );
    assert_eq!(run.verdict, Verdict::Pass);
    // The fix's readiness semantics held: /ready answered 503 after SIGTERM.
    let sigterm = run
        .events
        .iter()
        .position(|event| event.kind == EventKind::Sigterm)
        .unwrap();
    assert!(run.events[sigterm..]
        .iter()
        .any(|event| matches!(event.kind, EventKind::RequestFinished { status: 503, .. })));
}

#[test]
fn shrunk_probes_timeline_of_the_pinned_seed() {
    let failure = pinned_failure(
        "probes-during-drain-buggy.toml",
        PINNED_BUGGY_SEED,
        Invariant::HealthDuringDrain,
    );
    assert_snapshot_named!(
        "probes_during_drain__shrunk_probes_timeline_of_the_pinned_seed",
        shrunk_timeline(&failure)
    );
}

#[test]
fn status_stopping_last_passes_under_the_legacy_kubelet_too() {
    // The fix holds whichever kubelet probes it: the shipped fixed scenario
    // runs today's; here the one before 1.21, which probes liveness through
    // the drain, runs the same campaign.
    let file = "probes-during-drain-fixed.toml";
    let mut scenario = edited_scenario(file, |text| {
        let text = text.replace("[kubelet]\n", "[kubelet]\nprobing = \"legacy\"\n");
        assert!(text.contains("probing = \"legacy\""));
        text
    });
    scenario
        .apply_environment()
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(file_cases(file) >= 1000);
    assert_eq!(must_pass_scenario(&scenario), expected_cases(file));
}
