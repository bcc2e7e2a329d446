//! Cases to detect: for every built-in scenario that expects a violation, the
//! number of cases its campaign runs until the oracle sees that violation,
//! over 20 base seeds, with the median and the wall time per detection.
//!
//! Run with `cargo bench --bench detect`. `BASE_SEEDS` sets how many base
//! seeds (default 20). A base seed that finds nothing within the scenario's
//! case budget is printed as `>budget` and counted as the budget plus one.

use std::path::PathBuf;
use std::time::Instant;

use lifecycle_sim::{Cases, Expect, Scenario, Verdict};

fn main() {
    let benchmarking = std::env::args().any(|argument| argument == "--bench");
    let base_seeds: u64 = if benchmarking {
        std::env::var("BASE_SEEDS")
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(20)
    } else {
        1
    };
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .expect("scenarios/ is readable")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "toml")
        })
        .collect();
    files.sort();
    println!("cases to detect over {base_seeds} base seeds (1..={base_seeds})");
    for file in files {
        let scenario = Scenario::load(&file).unwrap_or_else(|error| panic!("{error}"));
        let Expect::Violation(invariant) = scenario.expect else {
            continue;
        };
        let Cases::Generated { count: budget, .. } = scenario.campaign.cases else {
            continue;
        };
        let mut campaign = scenario.campaign.clone();
        campaign.shrink.runs_max = 0;
        let started = Instant::now();
        let mut figures: Vec<u64> = Vec::new();
        let mut shown: Vec<String> = Vec::new();
        for base_seed in 1..=base_seeds {
            campaign.cases = Cases::Generated {
                base_seed,
                count: budget,
            };
            let report = campaign.run();
            let found = report.failure.as_ref().is_some_and(|failure| {
                matches!(&failure.run.verdict, Verdict::Violation(violation) if violation.invariant == invariant)
            });
            if found {
                figures.push(report.cases_run);
                shown.push(report.cases_run.to_string());
            } else {
                figures.push(budget + 1);
                shown.push(format!(">{budget}"));
            }
        }
        let wall_seconds = started.elapsed().as_secs_f64();
        figures.sort_unstable();
        let median = if figures.len() % 2 == 1 {
            figures[figures.len() / 2] as f64
        } else {
            (figures[figures.len() / 2 - 1] + figures[figures.len() / 2]) as f64 / 2.0
        };
        println!(
            "{:<34} {invariant}: median {median} cases; per seed [{}]; {:.2}s wall per detection",
            scenario.name,
            shown.join(", "),
            wall_seconds / base_seeds as f64
        );
    }
}
