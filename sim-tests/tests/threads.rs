//! The threads backend: the same scenarios on real threads and sockets.
//!
//! The check-then-wait fixture (`sim_tests::check_then_wait`) loses its
//! drain's wakeup only when two threads interleave inside a window with no
//! `.await` in it: the simulation never opens it, real threads do.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lifecycle_sim::{
    render_trace, Backend, Cases, Determinism, Invariant, Options, Report, Scenario, Service,
    Threads, Variant, Verdict,
};
use sim_tests::check_then_wait;

/// The fixture's scenario against `variant`, on `backend`.
fn fixture(variant: Variant, backend: Backend) -> Scenario {
    let service = check_then_wait::service(variant);
    let mut scenario = Scenario::parse_with(
        Path::new("check-then-wait.toml"),
        check_then_wait::SCENARIO,
        std::slice::from_ref(&service),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    scenario.campaign.setup.backend = backend;
    scenario
}

/// Runs a campaign, returning its report and when its first failure was
/// seen (before confirming and shrinking it).
fn run_timed(scenario: &Scenario, options: Options) -> (Report, Option<Duration>) {
    let started = Instant::now();
    let found: Mutex<Option<Duration>> = Mutex::new(None);
    let progress = |_done: u64, failures: u64| {
        if failures > 0 {
            if let Ok(mut found) = found.lock() {
                found.get_or_insert_with(|| started.elapsed());
            }
        }
    };
    let report = scenario.campaign.run_with(&Options {
        progress: Some(&progress),
        ..options
    });
    (report, found.into_inner().ok().flatten())
}

fn cases(count: u64) -> impl Fn(&mut Scenario) {
    move |scenario| {
        if let Cases::Generated { base_seed, .. } = scenario.campaign.cases {
            scenario.campaign.cases = Cases::Generated { base_seed, count };
        }
    }
}

#[test]
fn the_check_then_wait_hang_never_opens_in_simulation() {
    let mut scenario = fixture(Variant::Buggy, Backend::Simulated);
    cases(2_000)(&mut scenario);
    let report = scenario.campaign.run_with(&Options {
        jobs: 2,
        ..Options::default()
    });
    assert!(
        report.failure.is_none(),
        "{:?}",
        report.failure.map(|f| f.run.verdict)
    );
    assert_eq!(report.cases_run, 2_000);
}

#[test]
fn the_check_then_wait_hang_is_found_on_real_threads() {
    let mut threads = Threads::default();
    threads.confirm_runs = 3;
    let mut found = Vec::new();
    for base_seed in 1..=10_u64 {
        let mut scenario = fixture(Variant::Buggy, Backend::Threads(threads));
        scenario.campaign.cases = Cases::Generated {
            base_seed,
            count: 2_000,
        };
        scenario.campaign.shrink.runs_max = 0;
        let (report, at) = run_timed(&scenario, Options::default());
        let failure = report.failure.expect("the lost wakeup is found");
        let Verdict::Violation(violation) = &failure.run.verdict else {
            panic!(
                "{}\n{}",
                failure.run.verdict,
                render_trace(&failure.run.events)
            );
        };
        assert_eq!(violation.invariant, Invariant::DrainDeadline);
        assert!(matches!(
            failure.determinism,
            Determinism::Repeated { runs: 3, .. }
        ));
        found.push((at.expect("a failure was seen"), report.cases_run));
    }
    let mut times: Vec<Duration> = found.iter().map(|(at, _)| *at).collect();
    times.sort();
    println!(
        "found after (wall, cases): {found:?}; median {:?}",
        times[4]
    );
    assert!(times[4] <= Duration::from_secs(10), "{found:?}");
}

#[test]
fn smoke() {
    let mut scenario = fixture(Variant::Fixed, Backend::Threads(Threads::default()));
    cases(200)(&mut scenario);
    let (report, _) = run_timed(&scenario, Options::default());
    println!("{} cases in {:?}", report.cases_run, report.wall_time);
    if let Some(failure) = report.failure {
        panic!(
            "{}\n{}",
            failure.run.verdict,
            render_trace(&failure.run.events)
        );
    }
    let _ = Service::name;
}
