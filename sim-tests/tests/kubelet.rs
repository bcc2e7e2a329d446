//! The kubelet model follows Kubernetes: the startup probe gates the others,
//! thresholds count consecutive results, readiness routes traffic, liveness
//! failures kill, and a stop runs preStop, SIGTERM, the endpoint's removal
//! after its lag, and SIGKILL at the end of the grace period.

use std::time::Duration;

use lifecycle_sim::{
    Case, Event, EventKind, Invariant, KillReason, KubeletConfig, Model, Outcome, ProbeKind,
    Probing, Run, Schedule, Setup, Target, Variant, Verdict,
};

/// Runs a fixed schedule with no oracle, so the run goes on to its end.
fn run(model: Model, variant: Variant, kubelet: KubeletConfig, steps: &[&str]) -> Run {
    let mut setup = Setup::new(Target::builtin(model, variant));
    setup.invariants.clear();
    setup.kubelet = Some(kubelet);
    setup.limits.request_timeout = Duration::from_secs(60);
    let case = Case {
        seed: 1,
        schedule: Schedule::parse_lines(steps).unwrap(),
    };
    setup.run(&case)
}

fn first(events: &[Event], wanted: impl Fn(&EventKind) -> bool) -> &Event {
    events
        .iter()
        .find(|event| wanted(&event.kind))
        .unwrap_or_else(|| panic!("no such event in:\n{}", lifecycle_sim::render_trace(events)))
}

fn path_sent<'a>(events: &'a [Event], host: &str) -> Vec<&'a str> {
    events
        .iter()
        .filter(|event| &*event.host == host)
        .filter_map(|event| match &event.kind {
            EventKind::Sent { path, .. } => Some(path.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_startup_probe_gates_readiness_and_readiness_routes_traffic() {
    let run = run(
        Model::ProbesDuringDrain,
        Variant::Fixed,
        KubeletConfig::default(),
        &["0ms start", "25s wait"],
    );
    let sent = path_sent(&run.events, "kubelet");
    assert_eq!(
        sent.first(),
        Some(&"/health"),
        "the startup probe goes first"
    );
    let added = first(&run.events, |kind| {
        *kind == EventKind::Endpoint { routed: true }
    });
    let first_ready = first(
        &run.events,
        |kind| matches!(kind, EventKind::Sent { path, .. } if path == "/ready"),
    );
    assert!(first_ready.at <= added.at);
    // Probes every 10 s: startup at 0 s, then liveness and readiness at once, 10 s, 20 s.
    assert_eq!(sent.len(), 7, "{sent:?}");
}

#[test]
fn liveness_failures_at_the_threshold_kill_the_pod_with_its_request() {
    let mut kubelet = KubeletConfig::default();
    kubelet.liveness.period = Duration::from_secs(2);
    kubelet.probing = Probing::Legacy;
    let run = run(
        Model::ProbesDuringDrain,
        Variant::Buggy,
        kubelet,
        &["0ms start", "15s request /slow", "16s stop"],
    );
    let kill = first(&run.events, |kind| {
        matches!(kind, EventKind::Sigkill { .. })
    });
    assert_eq!(
        kill.kind,
        EventKind::Sigkill {
            reason: KillReason::Liveness
        }
    );
    let failures = run
        .events
        .iter()
        .filter(|event| {
            matches!(
                event.kind,
                EventKind::ProbeFailed {
                    probe: ProbeKind::Liveness,
                    ..
                }
            )
        })
        .count();
    assert_eq!(failures, 3);
}

#[test]
fn todays_kubelet_stops_liveness_probes_at_termination_and_kills_only_at_the_grace_period() {
    let mut kubelet = KubeletConfig::default();
    kubelet.liveness.period = Duration::from_secs(2);
    assert_eq!(
        kubelet.probing,
        Probing::Current,
        "today's kubelet is the default"
    );
    let run = run(
        Model::ProbesDuringDrain,
        Variant::Buggy,
        kubelet,
        &["0ms start", "15s request /slow", "16s stop"],
    );
    let stop_at = Duration::from_secs(16);
    let liveness_after_stop = run
        .events
        .iter()
        .filter(|event| event.at > stop_at && &*event.host == "kubelet")
        .filter(|event| matches!(&event.kind, EventKind::Sent { path, .. } if path == "/health"))
        .count();
    assert_eq!(
        liveness_after_stop,
        0,
        "{}",
        lifecycle_sim::render_trace(&run.events)
    );
    let readiness_after_stop = run
        .events
        .iter()
        .filter(|event| event.at > stop_at && &*event.host == "kubelet")
        .filter(|event| matches!(&event.kind, EventKind::Sent { path, .. } if path == "/ready"))
        .count();
    assert!(
        readiness_after_stop > 0,
        "readiness goes on through termination"
    );
    assert!(!run.events.iter().any(|event| matches!(
        event.kind,
        EventKind::ProbeFailed {
            probe: ProbeKind::Liveness,
            ..
        }
    )));
    assert!(
        !run.events.iter().any(|event| matches!(
            event.kind,
            EventKind::Sigkill {
                reason: KillReason::Liveness
            }
        )),
        "no liveness kill: {}",
        lifecycle_sim::render_trace(&run.events)
    );
}

#[test]
fn the_kill_is_judged_with_the_request_still_in_flight() {
    let mut kubelet = KubeletConfig::default();
    kubelet.liveness.period = Duration::from_secs(2);
    kubelet.probing = Probing::Legacy;
    let mut setup = Setup::new(Target::builtin(Model::ProbesDuringDrain, Variant::Buggy));
    setup.kubelet = Some(kubelet);
    setup.invariants = vec![Invariant::KilledWithRequestsInFlight];
    setup.limits.request_timeout = Duration::from_secs(60);
    let case = Case {
        seed: 1,
        schedule: Schedule::parse_lines(&["0ms start", "15s request /slow", "16s stop"]).unwrap(),
    };
    let run = setup.run(&case);
    let Verdict::Violation(violation) = &run.verdict else {
        panic!("expected a violation, got {}", run.verdict);
    };
    assert_eq!(violation.invariant, Invariant::KilledWithRequestsInFlight);
    assert!(
        violation.reason.contains("liveness probe failed"),
        "{}",
        violation.reason
    );
    assert!(violation.reason.contains("/slow"), "{}", violation.reason);
}

#[test]
fn a_stop_runs_pre_stop_then_sigterm_and_sigkill_at_the_grace_period() {
    let kubelet = KubeletConfig {
        pre_stop: Duration::from_secs(3),
        termination_grace_period: Duration::from_secs(8),
        ..KubeletConfig::default()
    };
    // The buggy drain can hang; a held slow request keeps even the fixed one busy.
    let run = run(
        Model::ProbesDuringDrain,
        Variant::Fixed,
        kubelet,
        &["0ms start", "12s request /slow", "13s stop"],
    );
    let sigterm = first(&run.events, |kind| *kind == EventKind::Sigterm);
    assert_eq!(
        sigterm.at,
        Duration::from_secs(16),
        "SIGTERM after the 3 s preStop"
    );
    let sigkill = first(&run.events, |kind| {
        matches!(kind, EventKind::Sigkill { .. })
    });
    assert_eq!(
        sigkill.kind,
        EventKind::Sigkill {
            reason: KillReason::GraceExpired
        }
    );
    assert_eq!(
        sigkill.at,
        Duration::from_secs(21),
        "SIGKILL 8 s after the stop"
    );
}

#[test]
fn traffic_still_arrives_until_the_endpoint_removal_lag_has_passed() {
    let run = run(
        Model::ProbesDuringDrain,
        Variant::Fixed,
        KubeletConfig::default(),
        &["0ms start", "12s stop", "13s request /", "15s request /"],
    );
    let outcomes: Vec<&Outcome> = run
        .events
        .iter()
        .filter(|event| &*event.host == "client")
        .filter_map(|event| match &event.kind {
            EventKind::Observed { outcome, .. } => Some(outcome),
            _ => None,
        })
        .collect();
    // At 13 s the endpoint is still there (the drain refuses the connection);
    // at 15 s, past the 2 s lag, the request is no longer routed.
    assert_eq!(outcomes, [&Outcome::Refused, &Outcome::NotRouted]);
}
