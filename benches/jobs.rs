//! Parallel campaigns: cases per second with one thread and with two, on the
//! same cases, side by side in one run, and the speed-up.
//!
//! Run with `cargo bench --bench jobs`. `CASES` sets the campaign size
//! (default 2,000) and `ROUNDS` how often each side runs (default 3,
//! alternating, so machine noise falls on both); each scenario named by
//! `SCENARIOS` (default the fixed drain and startup scenarios) is measured.
//! Under `cargo test` it runs one small round as a smoke check.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use lifecycle_sim::{Cases, Options, Scenario, Shard};

fn main() {
    let benchmarking = std::env::args().any(|argument| argument == "--bench");
    let number = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(default)
    };
    let (cases, rounds) = if benchmarking {
        (number("CASES", 2_000), number("ROUNDS", 3))
    } else {
        (20, 1)
    };
    let names = std::env::var("SCENARIOS")
        .unwrap_or_else(|_| "drain-hang-fixed,startup-window-fixed,stale-handle-fixed".into());
    let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
    println!("cases per second, one thread against two ({cores} cores here), {cases} cases, {rounds} rounds");
    for name in names.split(',') {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(format!("{name}.toml"));
        let mut scenario = Scenario::load(&path).unwrap_or_else(|error| panic!("{error}"));
        if let Cases::Generated { count, .. } = &mut scenario.campaign.cases {
            *count = cases;
        }
        let mut spent = [Duration::ZERO; 2];
        let mut counts = [0_u64; 2];
        for _ in 0..rounds {
            for (side, jobs) in [1_usize, 2].into_iter().enumerate() {
                let options = Options {
                    jobs,
                    shard: Shard::ALL,
                    ..Options::default()
                };
                let started = Instant::now();
                let report = scenario.campaign.run_with(&options);
                spent[side] += started.elapsed();
                assert!(report.failure.is_none(), "{name}: a fixed scenario failed");
                counts[side] += report.cases_run;
            }
        }
        assert_eq!(counts[0], counts[1], "both sides run the same cases");
        let rate = |side: usize| counts[side] as f64 / spent[side].as_secs_f64();
        println!(
            "{name:<24} jobs=1 {:>8.1} cases/s   jobs=2 {:>8.1} cases/s   speed-up {:.2}x",
            rate(0),
            rate(1),
            rate(1) / rate(0)
        );
    }
}
