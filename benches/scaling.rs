//! How the harness's cost grows: simulated time per wall second on a
//! scenario dominated by waiting, cases per second by number of hosts and by
//! schedule length, and the cost of shrinking each buggy scenario's first
//! failure. (Threads: `benches/jobs.rs`.)
//!
//! Run with `cargo bench --bench scaling`. `CASES` sets the sample per
//! figure (default 200). Under `cargo test` it runs a few cases of each as a
//! smoke check.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use lifecycle_sim::{Case, Cases, Expect, Model, Scenario, Schedule, Setup, Target, Variant};

fn scenario(file: &str) -> Scenario {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(file);
    Scenario::load(&path).unwrap_or_else(|error| panic!("{error}"))
}

/// Runs `cases` generated cases of a scenario one by one: simulated time
/// covered, wall time spent.
fn simulated_per_wall(file: &str, cases: u64) -> (Duration, Duration) {
    let scenario = scenario(file);
    let campaign = &scenario.campaign;
    let Cases::Generated { base_seed, .. } = campaign.cases else {
        panic!("{file} is not generated");
    };
    let (mut simulated, mut wall) = (Duration::ZERO, Duration::ZERO);
    for index in 0..cases {
        let seed = lifecycle_sim::case_seed(base_seed, index);
        let case = Case {
            seed,
            schedule: campaign.schedule(seed),
        };
        let started = Instant::now();
        let run = campaign.setup.run(&case);
        wall += started.elapsed();
        simulated += run.elapsed;
    }
    (simulated, wall)
}

/// Runs `cases` cases of a scenario (a cluster's with `nodes` nodes) on one
/// thread: cases per second.
fn cases_per_second(file: &str, nodes: Option<u8>, cases: u64) -> f64 {
    let mut scenario = scenario(file);
    if let (Some(nodes), Target::Builtin(builtin)) = (nodes, &mut scenario.campaign.setup.target) {
        // As `target.nodes` in the file would: schedules follow the target.
        builtin.nodes = nodes;
    }
    if let Cases::Generated { count, .. } = &mut scenario.campaign.cases {
        *count = cases;
    }
    let started = Instant::now();
    let report = scenario.campaign.run();
    assert!(report.failure.is_none(), "{file} failed");
    report.cases_run as f64 / started.elapsed().as_secs_f64()
}

/// The standard loop with `requests` requests, 2 ms apart, then a stop.
fn long_schedule(requests: u32) -> Schedule {
    let mut lines = vec!["0ms start".to_string()];
    for index in 0..requests {
        lines.push(format!("{}ms request /", 250 + 2 * index));
    }
    lines.push(format!("{}ms stop grace=30s", 300 + 2 * requests));
    Schedule::parse_lines(&lines).expect("the schedule parses")
}

fn main() {
    let benchmarking = std::env::args().any(|argument| argument == "--bench");
    let cases = if benchmarking {
        std::env::var("CASES")
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(200)
    } else {
        3
    };

    println!("simulated time per wall second ({cases} cases each)");
    for (file, what) in [
        (
            "probes-during-drain-fixed.toml",
            "kubelet, 10s probe periods, 30s grace, 20s requests, 10ms tick",
        ),
        ("drain-hang-fixed.toml", "1s cycles, keep-alive, 1ms tick"),
    ] {
        let (simulated, wall) = simulated_per_wall(file, cases);
        println!(
            "  {file:<34} {:>8.1} simulated s per wall s ({:.1}s simulated in {:.3}s; {what})",
            simulated.as_secs_f64() / wall.as_secs_f64(),
            simulated.as_secs_f64(),
            wall.as_secs_f64()
        );
    }

    println!("cases per second by number of service hosts ({cases} cases each)");
    for (file, nodes) in [
        ("startup-window-fixed.toml", None),
        ("init-order-fixed.toml", Some(3)),
        ("init-order-fixed.toml", Some(5)),
        ("init-order-fixed.toml", Some(10)),
    ] {
        println!(
            "  {:>2} host(s)  {file:<28} {:>8.1} cases/s",
            nodes.unwrap_or(1),
            cases_per_second(file, nodes, cases)
        );
    }

    println!("cost by schedule length (startup-window/fixed, one case each, {cases} runs)");
    let setup = Setup::new(Target::builtin(Model::StartupWindow, Variant::Fixed));
    for requests in [10, 100, 1_000] {
        let schedule = long_schedule(requests);
        let started = Instant::now();
        for seed in 0..cases {
            let run = setup.run(&Case {
                seed,
                schedule: schedule.clone(),
            });
            assert!(
                matches!(run.verdict, lifecycle_sim::Verdict::Pass),
                "{}",
                run.verdict
            );
        }
        let per_case = started.elapsed() / cases as u32;
        println!(
            "  {requests:>5} requests  {:>9.3} ms per case  {:>7.1} µs per request",
            per_case.as_secs_f64() * 1e3,
            per_case.as_secs_f64() * 1e6 / f64::from(requests)
        );
    }

    println!("shrinking each buggy scenario's first failure");
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
    for file in files {
        let scenario = Scenario::load(&file).unwrap_or_else(|error| panic!("{error}"));
        if scenario.expect == Expect::Pass {
            continue;
        }
        let mut finding = scenario.campaign.clone();
        finding.shrink.runs_max = 0;
        let started = Instant::now();
        let found = finding.run();
        let detect = started.elapsed();
        let started = Instant::now();
        let report = scenario.campaign.run();
        let total = started.elapsed();
        let (Some(_), Some(failure)) = (found.failure, report.failure) else {
            println!("  {:<34} nothing found", scenario.name);
            continue;
        };
        println!(
            "  {:<34} {:>3} steps -> {:>2} in {:>4} runs, {:>7.3}s shrinking ({:.3}s to find)",
            scenario.name,
            failure.original.steps().len(),
            failure.shrunk.steps().len(),
            failure.shrink_runs,
            total.saturating_sub(detect).as_secs_f64(),
            detect.as_secs_f64()
        );
    }
}
