//! Determinism is the product: the same seed must give a byte-identical trace,
//! for every model, variant and generated schedule, faults included.

use lifecycle_sim::trace::{hash, render};
use lifecycle_sim::{Case, Fault, Generator, Invariant, Limits, Model, Target, Variant};

const SEEDS: u64 = 200;

fn generator() -> Generator {
    Generator {
        faults: Fault::ALL.to_vec(),
        ..Generator::default()
    }
}

#[test]
fn two_hundred_seeds_replay_identical_traces_for_every_target() {
    let generator = generator();
    for model in Model::ALL {
        for variant in [Variant::Buggy, Variant::Fixed] {
            let target = Target { model, variant };
            for seed in 0..SEEDS {
                let case = Case {
                    seed,
                    schedule: generator.generate(seed).current(),
                };
                let run = |case: &Case| {
                    lifecycle_sim::director::run(target, case, &Invariant::ALL, &Limits::default())
                };
                let first = run(&case);
                let second = run(&case);
                assert_eq!(
                    hash(&first.events),
                    hash(&second.events),
                    "{target} seed {seed} diverged:\n--- first\n{}--- second\n{}",
                    render(&first.events),
                    render(&second.events)
                );
                assert_eq!(first.verdict, second.verdict);
            }
        }
    }
}

#[test]
fn different_seeds_give_different_runs() {
    // A seed that changed nothing would make the check above vacuous.
    let generator = generator();
    let target = Target {
        model: Model::StartupWindow,
        variant: Variant::Fixed,
    };
    let mut hashes: Vec<u64> = (0..50)
        .map(|seed| {
            let case = Case {
                seed,
                schedule: generator.generate(seed).current(),
            };
            hash(
                &lifecycle_sim::director::run(target, &case, &Invariant::ALL, &Limits::default())
                    .events,
            )
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
        lifecycle_sim::Schedule::parse_lines(&["0ms start", "10ms request /", "500ms request /"])
            .unwrap();
    let target = Target {
        model: Model::StartupWindow,
        variant: Variant::Fixed,
    };
    let traces: Vec<String> = [1, 2]
        .into_iter()
        .map(|seed| {
            let case = Case {
                seed,
                schedule: schedule.clone(),
            };
            render(
                &lifecycle_sim::director::run(target, &case, &Invariant::ALL, &Limits::default())
                    .events,
            )
        })
        .collect();
    assert_ne!(traces[0], traces[1]);
}
