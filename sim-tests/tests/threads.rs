//! The threads backend: the same scenarios on real threads and sockets.
//!
//! The check-then-wait fixture (`sim_tests::check_then_wait`) loses its
//! drain's wakeup only when two threads interleave inside a window with no
//! `.await` in it: the simulation never opens it, real threads do.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lifecycle_sim::{
    render_trace, Backend, Case, Cases, Determinism, EventKind, Invariant, Milestone, Options,
    Perturbation, Report, Run, Scenario, Service, Threads, Variant, Verdict, BUILTIN_SCENARIOS,
};
use sim_tests::{check_then_wait, published, reset_after_sigterm, shipped, stock};

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

/// The fixture's lost wakeup in simulation: `count` cases, all passing.
fn never_opens_in_simulation(count: u64) {
    let mut scenario = fixture(Variant::Buggy, Backend::Simulated);
    cases(count)(&mut scenario);
    let report = scenario.campaign.run_with(&Options {
        jobs: 2,
        ..Options::default()
    });
    assert!(
        report.failure.is_none(),
        "{:?}",
        report.failure.map(|f| f.run.verdict)
    );
    assert_eq!(report.cases_run, count);
}

#[test]
fn the_check_then_wait_hang_never_opens_in_simulation() {
    never_opens_in_simulation(2_000);
}

/// The budget the issue names: `cargo test --release -p sim-tests --test
/// sim -- threads:: --ignored --nocapture`.
#[test]
#[ignore = "10,000 simulated cases: run by hand"]
fn the_check_then_wait_hang_never_opens_in_simulation_at_ten_thousand_cases() {
    never_opens_in_simulation(10_000);
}

#[test]
fn the_check_then_wait_hang_is_found_on_real_threads() {
    let threads = Threads {
        confirm_runs: 3,
        ..Threads::default()
    };
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
        assert!(
            lost_wakeup(&failure.run),
            "not the lost wakeup's signature:\n{}",
            render_trace(&failure.run.events)
        );
        assert!(matches!(
            failure.determinism,
            Determinism::Repeated {
                failed: 1..,
                runs: 4
            }
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

/// Whether a run that broke `drain-deadline` shows the lost wakeup: a
/// connection was open at SIGTERM, and every connection had closed before
/// the deadline passed, so the drain waited for nothing.
fn lost_wakeup(run: &Run) -> bool {
    let Verdict::Violation(violation) = &run.verdict else {
        return false;
    };
    let (mut open, mut at_sigterm) = (0_i64, None);
    for event in &run.events {
        if event.at > violation.at {
            break;
        }
        match &event.kind {
            EventKind::ConnectionOpened { .. } => open += 1,
            EventKind::ConnectionClosed { .. } => open -= 1,
            // The stop that hung is the first one its process was sent.
            EventKind::Sigterm => {
                at_sigterm.get_or_insert(open);
            }
            EventKind::Milestone(Milestone::Stopped) => at_sigterm = None,
            _ => {}
        }
    }
    at_sigterm.is_some_and(|open| open > 0) && open == 0
}

/// What one run of the fixed fixture exercised: the processes it stopped
/// (each a start, requests and a stop, its drain ended), and of those the
/// ones that had a connection open at their SIGTERM, whose drain had to
/// wait for it.
fn loops(run: &Run) -> (u64, u64) {
    let (mut open, mut at_sigterm) = (0_i64, None);
    let (mut stopped, mut waited) = (0, 0);
    for event in &run.events {
        match &event.kind {
            EventKind::ConnectionOpened { .. } => open += 1,
            EventKind::ConnectionClosed { .. } => open -= 1,
            EventKind::Sigterm => at_sigterm = Some(open),
            EventKind::Milestone(Milestone::Stopped) => {
                stopped += 1;
                waited += u64::from(at_sigterm.take().is_some_and(|open| open > 0));
            }
            _ => {}
        }
    }
    (stopped, waited)
}

/// The fixed twin on real threads, loop after loop until `target` stops,
/// `at_once` cases at a time: every run must pass.
fn fixed_twin_passes(target: u64, at_once: usize) -> (u64, u64, u64) {
    let scenario = fixture(Variant::Fixed, Backend::Threads(Threads::default()));
    let campaign = &scenario.campaign;
    let next = std::sync::atomic::AtomicU64::new(0);
    let totals = Mutex::new((0_u64, 0_u64, 0_u64));
    let work = || loop {
        let (_, stopped, _) = *totals.lock().expect("no test thread panics holding it");
        if stopped >= target {
            return;
        }
        let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let seed = lifecycle_sim::case_seed(0x7e4d, index);
        let case = Case {
            seed,
            schedule: campaign.schedule(seed),
        };
        let run = campaign.run_case(&case);
        assert_eq!(
            run.verdict,
            Verdict::Pass,
            "case {seed:#x}\n{}\n{}",
            case.schedule,
            render_trace(&run.events)
        );
        let (stopped, waited) = loops(&run);
        let mut totals = totals.lock().expect("no test thread panics holding it");
        *totals = (totals.0 + 1, totals.1 + stopped, totals.2 + waited);
    };
    std::thread::scope(|scope| {
        for _ in 0..at_once {
            scope.spawn(work);
        }
    });
    totals.into_inner().expect("no test thread panicked")
}

#[test]
fn the_fixed_check_then_wait_passes_on_real_threads() {
    let waits = check_then_wait::WAITS.load(std::sync::atomic::Ordering::Relaxed);
    let (cases, stopped, waited) = fixed_twin_passes(300, 8);
    let waits = check_then_wait::WAITS.load(std::sync::atomic::Ordering::Relaxed) - waits;
    println!(
        "fixed twin: {cases} cases, {stopped} stops, {waited} with a connection open at \
         SIGTERM, {waits} drains that went to wait"
    );
    // The drain's load saw live connections and waited: the window was
    // reached, and the fix held.
    assert!(waits > 0, "no drain waited: the race was not exercised");
}

/// `LIFECYCLE_LOOPS` (default 100,000) stops of the fixed twin on real
/// threads: `cargo test --release -p sim-tests --test sim --
/// threads::the_fixed_check_then_wait_passes_a_hundred_thousand_loops
/// --ignored --nocapture`.
#[test]
#[ignore = "100,000 loops on real threads: run by hand"]
fn the_fixed_check_then_wait_passes_a_hundred_thousand_loops_on_real_threads() {
    let target = std::env::var("LIFECYCLE_LOOPS")
        .ok()
        .and_then(|loops| loops.parse().ok())
        .unwrap_or(100_000);
    let started = Instant::now();
    let (cases, stopped, waited) = fixed_twin_passes(target, 16);
    let waits = check_then_wait::WAITS.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "fixed twin: {cases} cases, {stopped} stops, {waited} with a connection open at \
         SIGTERM, {waits} drains that went to wait, in {:?}",
        started.elapsed()
    );
    assert!(stopped >= target);
}

/// The stock servers under the shipped drain and startup scenarios (and
/// their HTTP/2 and gRPC kin) on real threads, `count` cases each.
fn stock_servers_pass_on_real_threads(
    servers: &[Service],
    count: u64,
    at_once: usize,
    perturbation: Perturbation,
) {
    let drain_or_startup = |stem: &str| stem.starts_with("drain") || stem == "startup";
    stock_servers_pass_scenarios_on_real_threads(
        servers,
        drain_or_startup,
        count,
        at_once,
        perturbation,
    );
}

/// The stock servers under the shipped scenarios whose stem `chosen`
/// picks, on real threads, `count` cases each.
fn stock_servers_pass_scenarios_on_real_threads(
    servers: &[Service],
    chosen: impl Fn(&str) -> bool,
    count: u64,
    at_once: usize,
    perturbation: Perturbation,
) {
    let mut failed = Vec::new();
    for service in servers {
        for (path, text) in BUILTIN_SCENARIOS {
            let stem = Path::new(path)
                .file_stem()
                .map(|stem| stem.to_string_lossy());
            let Some(stem) = stem.filter(|stem| chosen(stem)) else {
                continue;
            };
            if !Scenario::applies_to(text, service) {
                continue;
            }
            let mut scenario =
                Scenario::parse_with(Path::new(path), text, std::slice::from_ref(service))
                    .unwrap_or_else(|error| panic!("{error}"));
            scenario.campaign.setup.backend = Backend::Threads(Threads {
                cases_at_once: at_once,
                perturbation,
                ..Threads::default()
            });
            cases(count)(&mut scenario);
            let report = scenario.campaign.run_with(&Options::default());
            println!(
                "{} {stem} on real threads{}: {} cases in {:.1}s, {}",
                service.name(),
                if perturbation.pin { ", pinned" } else { "" },
                report.cases_run,
                report.wall_time.as_secs_f64(),
                if report.failure.is_some() {
                    "FAILED"
                } else {
                    "passed"
                }
            );
            match report.failure {
                Some(failure) => failed.push(format!(
                    "{} {stem}: {}\n{}\n{}",
                    service.name(),
                    failure.run.verdict,
                    failure.shrunk,
                    render_trace(&failure.run.events)
                )),
                None => assert_eq!(report.cases_run, count),
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn stock_servers_pass_drain_and_startup_on_real_threads() {
    stock_servers_pass_on_real_threads(
        &[stock::hyper_by_hand(), stock::axum()],
        16,
        8,
        Perturbation::default(),
    );
}

/// Every stock server, by perturbation.
fn stock_servers() -> [Service; 7] {
    [
        stock::hyper(),
        stock::hyper_by_hand(),
        stock::axum(),
        stock::poem(),
        stock::hyper_auto(),
        stock::axum_auto(),
        stock::tonic_bounded(),
    ]
}

/// Every stock server at 2,000 cases of each: `cargo test --release -p
/// sim-tests --test sim -- threads::stock --ignored --nocapture`.
#[test]
#[ignore = "2,000 cases a scenario on real threads: run by hand"]
fn stock_servers_pass_drain_and_startup_on_real_threads_at_two_thousand_cases() {
    let count = lifecycle_sim::cases_from_environment()
        .ok()
        .flatten()
        .unwrap_or(2_000);
    stock_servers_pass_on_real_threads(&stock_servers(), count, 48, Perturbation::default());
}

/// Every stock server under the shipped probe and restart scenarios (the
/// kubelet's probes, kills and restarts on real time; a crash is a kill),
/// 200 cases of each.
#[test]
#[ignore = "200 cases a scenario on real threads: run by hand"]
fn stock_servers_pass_probes_and_restart_on_real_threads() {
    let count = lifecycle_sim::cases_from_environment()
        .ok()
        .flatten()
        .unwrap_or(200);
    let probes_or_restart = |stem: &str| stem.starts_with("probes") || stem == "restart";
    stock_servers_pass_scenarios_on_real_threads(
        &stock_servers(),
        probes_or_restart,
        count,
        48,
        Perturbation::default(),
    );
}

/// The same, pinned and preempted by the timer (whose signal interrupts
/// the servers' own system calls), 500 cases of each.
#[test]
#[ignore = "500 cases a scenario on real threads, pinned: run by hand"]
fn stock_servers_pass_drain_and_startup_on_real_threads_pinned() {
    let count = lifecycle_sim::cases_from_environment()
        .ok()
        .flatten()
        .unwrap_or(500);
    let pinned = Perturbation {
        pin: true,
        ..Perturbation::default()
    };
    stock_servers_pass_on_real_threads(&stock_servers(), count, 48, pinned);
}

#[test]
fn a_service_that_panics_on_real_threads_is_reported_crashed() {
    let service = Service::new("panics", |launch| async move {
        let _listener = launch.bind().await?;
        panic!("the service's own panic");
    })
    .paths(&["/"])
    .no_health()
    .no_ready();
    let mut scenario = fixture(Variant::Buggy, Backend::Threads(Threads::default()));
    scenario.campaign.setup.target = service.into();
    let case = Case {
        seed: 1,
        schedule: lifecycle_sim::Schedule::parse_lines(&[
            "0ms start",
            "50ms request /",
            "100ms stop",
        ])
        .expect("a schedule"),
    };
    let run = scenario.campaign.run_case(&case);
    let Verdict::Crashed(message) = &run.verdict else {
        panic!("{}\n{}", run.verdict, render_trace(&run.events));
    };
    assert!(message.contains("the service's own panic"), "{message}");
}

#[test]
fn a_service_that_declares_http2_and_serves_http1_only_is_told_so_on_real_threads() {
    // The server's streams run on its workers, not on the case's thread:
    // their refusal of the preface must still reach the director.
    let misdeclared = stock::hyper_by_hand().http(lifecycle_sim::Http::Two);
    let mut scenario = shipped("drain-h2", &misdeclared);
    scenario.campaign.setup.backend = Backend::Threads(Threads {
        confirm_runs: 1,
        cases_at_once: 2,
        ..Threads::default()
    });
    cases(2)(&mut scenario);
    scenario.campaign.shrink.runs_max = 0;
    let report = scenario.campaign.run_with(&Options::default());
    let failure = report.failure.expect("the first cases fail");
    let Verdict::Crashed(message) = &failure.run.verdict else {
        panic!(
            "{}\n{}",
            failure.run.verdict,
            render_trace(&failure.run.events)
        );
    };
    assert!(message.contains("does not serve HTTP/2"), "{message}");
}

#[test]
fn poem_2_0_1_cutting_requests_is_found_on_real_threads_and_poem_3_passes_the_same_schedule() {
    let mut scenario = shipped("drain", &published::poem_2_0_1());
    let threads = Threads {
        confirm_runs: 4,
        ..Threads::default()
    };
    scenario.campaign.setup.backend = Backend::Threads(threads);
    cases(16)(&mut scenario);
    scenario.campaign.shrink.runs_max = 0;
    let report = scenario.campaign.run_with(&Options::default());
    let failure = report.failure.unwrap_or_else(|| {
        panic!(
            "poem 2.0.1: nothing found in {} cases on real threads",
            report.cases_run
        )
    });
    println!(
        "poem 2.0.1 drain on real threads: {} after {} cases in {:.1}s, {:?}",
        failure.run.verdict,
        report.cases_run,
        report.wall_time.as_secs_f64(),
        failure.determinism
    );
    let events = &failure.run.events;
    let Verdict::Violation(violation) = &failure.run.verdict else {
        panic!("{}\n{}", failure.run.verdict, render_trace(events));
    };
    assert_eq!(violation.invariant, Invariant::RequestCut, "{violation}");
    // The race happened: after SIGTERM a client saw its connection reset.
    assert!(reset_after_sigterm(events), "{}", render_trace(events));
    assert!(
        matches!(
            failure.determinism,
            Determinism::Repeated {
                failed: 1..,
                runs: 5
            }
        ),
        "{:?}",
        failure.determinism
    );
    // poem 3's fix, on the schedule that found the bug: a fixed schedule
    // runs `confirm_runs` times, and passes only if every run does.
    let mut fixed = shipped("drain", &stock::poem());
    fixed.campaign.setup.backend = Backend::Threads(threads);
    fixed.campaign.cases = Cases::Fixed(Case {
        seed: failure.seed,
        schedule: failure.shrunk.clone(),
    });
    let report = fixed.campaign.run_with(&Options::default());
    assert_eq!(report.cases_run, u64::from(threads.confirm_runs));
    assert!(
        report.failure.is_none(),
        "{:?}",
        report.failure.map(|failure| failure.run.verdict)
    );
}

#[test]
fn a_failure_on_real_threads_is_shrunk_to_a_schedule_that_still_fails() {
    // A serve function that returns at once exits unasked in every run:
    // every simpler schedule that still starts it fails alike, so
    // shrinking must keep simpler ones, each confirmed by a failing run.
    let mut scenario = fixture(
        Variant::Buggy,
        Backend::Threads(Threads {
            confirm_runs: 2,
            ..Threads::default()
        }),
    );
    scenario.campaign.setup.target = sim_tests::fixtures::returns_at_once().into();
    cases(8)(&mut scenario);
    scenario.campaign.shrink.runs_max = 40;
    let report = scenario.campaign.run_with(&Options::default());
    let failure = report
        .failure
        .expect("a serve function that returns is found");
    println!(
        "{}: shrunk from {} to {} steps in {} runs, {:?}",
        failure.run.verdict,
        failure.original.steps().len(),
        failure.shrunk.steps().len(),
        failure.shrink_runs,
        failure.determinism
    );
    let Verdict::Violation(violation) = &failure.run.verdict else {
        panic!("{}", failure.run.verdict);
    };
    assert_eq!(violation.invariant, Invariant::ExitedUnasked);
    assert!(failure.shrink_runs > 0);
    assert!(
        failure.shrunk.steps().len() < failure.original.steps().len(),
        "{}\n->\n{}",
        failure.original,
        failure.shrunk
    );
    // The shrunk schedule was confirmed again: it fails, its run included.
    assert!(
        matches!(
            failure.determinism,
            Determinism::Repeated {
                failed: 1..,
                runs: 3
            }
        ),
        "{:?}",
        failure.determinism
    );
}

#[test]
fn a_schedule_longer_than_the_wall_time_bound_runs_to_its_end_on_real_threads() {
    // On real threads a case takes its schedule's length in wall time: the
    // wall-time bound counts from the schedule's end, or every long
    // schedule would end inconclusive on a correct server.
    let mut scenario = fixture(Variant::Fixed, Backend::Threads(Threads::default()));
    scenario.campaign.setup.limits.wall_time_max = Duration::from_millis(500);
    let case = Case {
        seed: 1,
        schedule: lifecycle_sim::Schedule::parse_lines(&[
            "0ms start",
            "100ms request /",
            "1500ms request /",
            "1600ms stop",
        ])
        .expect("a schedule"),
    };
    let run = scenario.campaign.run_case(&case);
    assert_eq!(
        run.verdict,
        Verdict::Pass,
        "{}\n{}",
        run.verdict,
        render_trace(&run.events)
    );
}
