//! Time to find a race between two threads, with the threads backend's
//! perturbation on and off, side by side in one run.
//!
//! The race is the check-then-wait fixture's lost wakeup
//! (`sim_tests::check_then_wait`): the drain loads its live-connection
//! count, logs, and only then creates the `Notified` it waits on; the last
//! connection, ending on another worker, can notify in between. For each
//! base seed, the fixture's scenario runs under `backend = "threads"` with
//! the default perturbation (spins and yields in the socket polls and at
//! each logged event), with pinning and timer preemption alone, and with
//! `Perturbation::OFF`, rotating which goes first, each until its first
//! failure or its bound. Detection only: a
//! found failure is confirmed by one run and not shrunk.
//!
//! `cargo bench -p sim-tests --bench perturbation`. `ATTEMPTS` sets the
//! base seeds (default 10), `BOUND_SECONDS` each side's bound (default
//! 60). Under `cargo test` it runs one short attempt of each side as a
//! smoke check.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lifecycle_sim::{
    Backend, Cases, Invariant, Options, Perturbation, Scenario, Threads, Variant, Verdict,
};
use sim_tests::check_then_wait;

fn number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// One side's attempt: when its first failure was seen, if within the
/// bound, and the cases run.
struct Attempt {
    found_after: Option<Duration>,
    cases: u64,
}

fn attempt(base_seed: u64, perturbation: Perturbation, bound: Duration) -> Attempt {
    let service = check_then_wait::service(Variant::Buggy);
    let mut scenario = Scenario::parse_with(
        Path::new("check-then-wait.toml"),
        check_then_wait::SCENARIO,
        std::slice::from_ref(&service),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    scenario.campaign.setup.backend = Backend::Threads(Threads {
        perturbation,
        confirm_runs: 1,
        ..Threads::default()
    });
    scenario.campaign.cases = Cases::Generated {
        base_seed,
        count: u64::MAX,
    };
    scenario.campaign.shrink.runs_max = 0;
    let started = Instant::now();
    let interrupt = AtomicBool::new(false);
    let found: Mutex<Option<Duration>> = Mutex::new(None);
    let progress = |_done: u64, failures: u64| {
        if failures > 0 {
            if let Ok(mut found) = found.lock() {
                found.get_or_insert_with(|| started.elapsed());
            }
        }
        if started.elapsed() >= bound {
            interrupt.store(true, Ordering::Relaxed);
        }
    };
    let report = scenario.campaign.run_with(&Options {
        progress: Some(&progress),
        interrupt: Some(&interrupt),
        ..Options::default()
    });
    // Only the race itself counts as found.
    let hang = report.failure.as_ref().is_some_and(|failure| {
        matches!(&failure.run.verdict, Verdict::Violation(violation)
            if violation.invariant == Invariant::DrainDeadline)
    });
    // A case that was running when the bound came may still fail after
    // it: past the bound is not found within it.
    let found_after = found
        .into_inner()
        .ok()
        .flatten()
        .filter(|after| hang && *after <= bound);
    Attempt {
        found_after,
        cases: report.cases_run,
    }
}

fn describe(attempt: &Attempt) -> String {
    match attempt.found_after {
        Some(after) => format!(
            "found after {:.2}s ({} cases)",
            after.as_secs_f64(),
            attempt.cases
        ),
        None => format!("not found ({} cases)", attempt.cases),
    }
}

/// The median of the times, a side's misses counted at the bound (so the
/// median is "at least" when a miss reaches it).
fn median(attempts: &[Attempt], bound: Duration) -> Duration {
    let mut times: Vec<Duration> = attempts
        .iter()
        .map(|attempt| attempt.found_after.unwrap_or(bound))
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// The sides measured: the default perturbation, pinning with timer
/// preemption alone, and none.
fn sides() -> [(&'static str, Perturbation); 3] {
    [
        ("sockets+tracing", Perturbation::default()),
        (
            "pin+timer",
            Perturbation {
                pin: true,
                ..Perturbation::OFF
            },
        ),
        ("off", Perturbation::OFF),
    ]
}

fn main() {
    let benchmarking = std::env::args().any(|argument| argument == "--bench");
    let (attempts, bound) = if benchmarking {
        (
            number("ATTEMPTS", 10),
            Duration::from_secs(number("BOUND_SECONDS", 60)),
        )
    } else {
        (1, Duration::from_secs(3))
    };
    let sides = sides();
    println!(
        "check-then-wait lost wakeup under threads: time to find, by perturbation ({attempts} \
         base seeds, bound {}s a side)",
        bound.as_secs()
    );
    let mut results: Vec<Vec<Attempt>> = sides.iter().map(|_| Vec::new()).collect();
    for base_seed in 1..=attempts {
        // Rotate which side runs first, so none always gets the machine
        // warm (or busy).
        let first = usize::try_from(base_seed).unwrap_or(0) % sides.len();
        for offset in 0..sides.len() {
            let side = (first + offset) % sides.len();
            let result = attempt(base_seed, sides[side].1, bound);
            results[side].push(result);
        }
        let line: Vec<String> = sides
            .iter()
            .zip(&results)
            .map(|((name, _), side)| format!("{name} {}", describe(&side[side.len() - 1])))
            .collect();
        println!("  seed {base_seed}: {}", line.join("   "));
    }
    let medians: Vec<Duration> = results.iter().map(|side| median(side, bound)).collect();
    let summary: Vec<String> = sides
        .iter()
        .zip(&results)
        .zip(&medians)
        .map(|(((name, _), side), median)| {
            let found = side.iter().filter(|a| a.found_after.is_some()).count();
            format!(
                "{name}: found {found}/{attempts}, median {}{:.2}s",
                if *median >= bound { "at least " } else { "" },
                median.as_secs_f64()
            )
        })
        .collect();
    println!("  {}", summary.join("; "));
    let off = medians[sides.len() - 1].as_secs_f64();
    let ratios: Vec<String> = sides[..sides.len() - 1]
        .iter()
        .zip(&medians)
        .map(|((name, _), median)| {
            format!("off/{name} {:.1}x", off / median.as_secs_f64().max(1e-9))
        })
        .collect();
    println!("  ratio of medians: {}", ratios.join(", "));
}
