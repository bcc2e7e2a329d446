//! Determinism is the product: the same seed must give a byte-identical trace,
//! for every built-in scenario (so every model, variant, kubelet and fault
//! setting it holds), over 200 generated seeds each.

use lifecycle_sim::{render_trace as render, trace_hash as hash};
use lifecycle_sim::{Case, Cases, Model, Schedule, Setup, Target, Variant};
use sim_tests::{scenario, scenario_files};

const SEEDS: u64 = 200;

#[test]
fn two_hundred_seeds_replay_identical_traces_for_every_scenario() {
    let files = scenario_files();
    assert!(!files.is_empty());
    for file in files {
        let campaign = scenario(&file).campaign;
        if let Cases::Fixed(_) = campaign.cases {
            continue;
        }
        for seed in 0..SEEDS {
            let case = Case {
                seed,
                schedule: campaign.schedule(seed),
            };
            let first = campaign.run_case(&case);
            let second = campaign.run_case(&case);
            assert_eq!(
                hash(&first.events),
                hash(&second.events),
                "{file} seed {seed} diverged:\n--- first\n{}--- second\n{}",
                render(&first.events),
                render(&second.events)
            );
            assert_eq!(first.verdict, second.verdict);
        }
    }
}

#[test]
fn different_seeds_give_different_runs() {
    // A seed that changed nothing would make the check above vacuous.
    let campaign = scenario("startup-window-fixed.toml").campaign;
    let mut hashes: Vec<u64> = (0..50)
        .map(|seed| {
            let case = Case {
                seed,
                schedule: campaign.schedule(seed),
            };
            hash(&campaign.run_case(&case).events)
        })
        .collect();
    hashes.sort_unstable();
    hashes.dedup();
    assert!(
        hashes.len() > 45,
        "only {} distinct traces of 50 seeds",
        hashes.len()
    );
}

#[test]
fn the_same_schedule_under_another_seed_draws_other_timings() {
    // The seed, not only the schedule, fixes the world: the warm-up time and
    // the network's latencies come from it.
    let schedule =
        Schedule::parse_lines(&["0ms start", "10ms request /", "500ms request /"]).unwrap();
    let setup = Setup::new(Target::builtin(Model::StartupWindow, Variant::Fixed));
    let traces: Vec<String> = [1, 2]
        .into_iter()
        .map(|seed| {
            let case = Case {
                seed,
                schedule: schedule.clone(),
            };
            render(&setup.run(&case).events)
        })
        .collect();
    assert_ne!(traces[0], traces[1]);
}

#[test]
fn every_generated_schedule_survives_its_text_form_exactly() {
    // A saved failure replays from text: the text must lose nothing.
    for file in scenario_files() {
        let campaign = scenario(&file).campaign;
        for seed in 0..SEEDS {
            let schedule = campaign.schedule(seed);
            let reread = Schedule::parse_lines(&schedule.lines()).unwrap();
            assert_eq!(reread, schedule, "{file} seed {seed}");
        }
    }
}
