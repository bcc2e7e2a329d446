//! Race 2, init ordering: started in parallel, a node's consensus layer must
//! be found using its HTTP layer before it is ready (the failure names the
//! node, the component and the message); started in dependency order, every
//! component is ready before use, and a cluster restarted in any order, with
//! partitions and latency, agrees on one leader within the bound.

use lifecycle_sim::{Case, EventKind, Invariant, Verdict};
use sim_tests::{
    edited_scenario, expected_cases, file_cases, must_find, must_pass, pinned_failure, scenario,
    shrunk_timeline, twin_run, violation,
};

/// The case seed of the first failure the buggy scenario's campaign finds.
const PINNED_BUGGY_SEED: u64 = 0x272f_85e0_d585_b596;

#[test]
fn parallel_start_is_found_using_a_component_before_it_is_ready() {
    let failure = must_find("init-order-buggy.toml", Invariant::UsedBeforeStarted);
    let events = &failure.run.events;
    let violation = violation(&failure);
    let event = &events[violation.event];
    let EventKind::ComponentUsed { component, .. } = &event.kind else {
        panic!("the violating event is a use: {event}");
    };
    // The component used reported ready only later on that node, if at all.
    let ready_before = events[..violation.event].iter().any(|earlier| {
        earlier.host == event.host
            && earlier.kind
                == EventKind::ComponentReady {
                    component: component.clone(),
                }
    });
    assert!(!ready_before);
}

#[test]
fn the_shrunk_failure_names_the_node_the_component_and_the_message() {
    let failure = pinned_failure(
        "init-order-buggy.toml",
        PINNED_BUGGY_SEED,
        Invariant::UsedBeforeStarted,
    );
    let reason = &violation(&failure).reason;
    assert!(reason.starts_with("on node-"), "{reason}");
    assert!(
        reason.contains("used http before http was ready"),
        "{reason}"
    );
    assert!(reason.contains("RequestVote(term 1)"), "{reason}");
}

#[test]
fn dependency_order_passes_and_converges() {
    assert!(file_cases("init-order-fixed.toml") >= 1000);
    assert_eq!(
        must_pass("init-order-fixed.toml"),
        expected_cases("init-order-fixed.toml")
    );
}

#[test]
fn dependency_order_converges_under_restarts_partitions_and_latency() {
    must_pass("init-order-fixed-faults.toml");
}

#[test]
fn pinned_seed_twin_elects_one_leader_in_dependency_order() {
    let run = twin_run(
        "init-order-buggy.toml",
        "init-order-fixed.toml",
        PINNED_BUGGY_SEED,
    );
    assert_eq!(run.verdict, Verdict::Pass);
    assert!(run
        .events
        .iter()
        .any(|event| matches!(event.kind, EventKind::Leader { .. })));
}

#[test]
fn shrunk_init_order_timeline_of_the_pinned_seed() {
    let failure = pinned_failure(
        "init-order-buggy.toml",
        PINNED_BUGGY_SEED,
        Invariant::UsedBeforeStarted,
    );
    assert_snapshot_named!(
        "init_order__shrunk_init_order_timeline_of_the_pinned_seed",
        shrunk_timeline(&failure)
    );
}

#[test]
fn the_race_depends_on_the_drawn_start_up_times() {
    // Not every parallel start goes wrong: only when consensus is ready
    // before the HTTP layer, or a peer's message lands in between.
    let campaign = scenario("init-order-buggy.toml").campaign;
    let failing = (0..100)
        .filter(|seed| {
            let case = Case {
                seed: *seed,
                schedule: campaign.schedule(*seed),
            };
            match campaign.run_case(&case).verdict {
                Verdict::Pass => false,
                Verdict::Violation(violation) => {
                    assert_eq!(
                        violation.invariant,
                        Invariant::UsedBeforeStarted,
                        "seed {seed}: {violation}"
                    );
                    true
                }
                other => panic!("seed {seed}: {other}"),
            }
        })
        .count();
    assert!((1..100).contains(&failing), "{failing} of 100 cases failed");
}

/// A shipped init-order scenario with `nodes` set and `cases` cases.
fn with_nodes(file_name: &str, nodes: u8, cases: u64) -> lifecycle_sim::Scenario {
    let scenario = edited_scenario(file_name, |text| {
        text.replace("[target]\n", &format!("[target]\nnodes = {nodes}\n"))
            .lines()
            .map(|line| {
                if line.starts_with("cases = ") {
                    format!("cases = {cases}")
                } else {
                    line.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    assert_eq!(
        scenario.campaign.setup.target.hosts().len(),
        usize::from(nodes)
    );
    assert_eq!(
        scenario
            .campaign
            .case_seeds(lifecycle_sim::Shard::ALL)
            .len() as u64,
        cases
    );
    scenario
}

#[test]
fn a_ten_node_cluster_in_dependency_order_converges_under_faults() {
    let scenario = with_nodes("init-order-fixed-faults.toml", 10, 40);
    let report = scenario.campaign.run();
    if let Some(failure) = &report.failure {
        panic!("case seed {:#x}: {}", failure.seed, failure.run.verdict);
    }
    assert_eq!(report.cases_run, 40);
    // Every node ran: the tenth node's components reported ready.
    let seed = scenario.campaign.case_seeds(lifecycle_sim::Shard::ALL)[0];
    let schedule = scenario.campaign.schedule(seed);
    let run = scenario.campaign.run_case(&Case { seed, schedule });
    assert!(
        run.events.iter().any(|event| &*event.host == "node-10"
            && matches!(event.kind, EventKind::ComponentReady { .. })),
        "{}",
        lifecycle_sim::render_trace(&run.events)
    );
}

#[test]
fn a_ten_node_cluster_started_in_parallel_is_found_using_a_component_before_it_is_ready() {
    let report = with_nodes("init-order-buggy.toml", 10, 200).campaign.run();
    let failure = report.failure.expect("the race is found");
    let Verdict::Violation(violation) = &failure.run.verdict else {
        panic!("{}", failure.run.verdict);
    };
    assert_eq!(violation.invariant, Invariant::UsedBeforeStarted);
}

#[test]
fn a_saved_failure_of_a_ten_node_cluster_replays_on_ten_nodes() {
    let scenario = with_nodes("init-order-buggy.toml", 10, 200);
    let failure = scenario.campaign.run().failure.expect("the race is found");
    let text = scenario.failure_file(&failure, "replay");
    assert!(text.contains("\nnodes = 10\n"), "{text}");
    let saved = lifecycle_sim::Scenario::parse(std::path::Path::new("saved.toml"), &text)
        .unwrap_or_else(|error| panic!("{error}\n{text}"));
    assert_eq!(saved.campaign.setup.target.hosts().len(), 10);
    let lifecycle_sim::Cases::Fixed(case) = &saved.campaign.cases else {
        panic!("a saved failure is a fixed case");
    };
    let replayed = saved.campaign.run_case(case);
    assert_eq!(replayed.verdict, failure.run.verdict);
    assert_eq!(
        lifecycle_sim::compare(&replayed.events, &failure.run.events),
        lifecycle_sim::compare(&failure.run.events, &failure.run.events)
    );
}
