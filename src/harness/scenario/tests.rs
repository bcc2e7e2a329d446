//! Writing and reading agree: any scenario a file can describe, and any
//! failure saved from one, written and read back, is the same campaign,
//! and written again is the same text.

use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::{select, subsequence, Index};
use proptest::test_runner::FileFailurePersistence;

use super::backend::CASES_AT_ONCE_MAX;
use super::definition::{Expect, Replay, Scenario, CYCLES_MAX, FAULTS_MAX, REQUESTS_MAX};
use super::run::{BLOCKED_MAX_LEAST, MEMORY_MAX_RANGE};
use crate::case::backend::{
    Backend, Perturbation, Threads, CONFIRM_RUNS_MAX, WORKERS_MAX, WORKERS_MIN,
};
use crate::case::http::{Http, Protocol};
use crate::case::schedule::{Schedule, DURATION_MAX, NODES_MAX};
use crate::case::verdict::{Bound, Invariant, Reads, Run, Verdict, Violation};
use crate::case::{Case, Limits, BACKLOG_MAX};
use crate::core::models::Variant;
use crate::core::service::Service;
use crate::core::target::{Builtin, Model, Target};
use crate::engine::kubelet::{KubeletConfig, ProbeConfig, Probing};
use crate::engine::setup::Setup;
use crate::harness::campaign::{Campaign, Cases, Determinism, Failure, ShrinkLimits};
use crate::harness::generate::{Behaviour, Fault, Generator};

/// Scenarios each property is checked on.
const CASES: u32 = 1_024;

/// Paths a request or a probe may name.
/// The clients an HTTP/1.1 scenario may draw: all but HTTP/2's streams.
fn http1_clients() -> Vec<Behaviour> {
    Behaviour::ALL
        .into_iter()
        .filter(|client| *client != Behaviour::Streams)
        .collect()
}

const PATHS: [&str; 6] = ["/", "/ready", "/health", "/page/2", "/a/b?c=d", "/upload"];

/// A duration as files write them, whole milliseconds or seconds, at most
/// `max`; at least 1 ms if `positive`.
fn duration(positive: bool, max: Duration) -> impl Strategy<Value = Duration> {
    let low = u64::from(positive);
    let max_ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
    prop_oneof![
        (low..=max_ms.min(5_000)).prop_map(Duration::from_millis),
        (low..=max_ms).prop_map(Duration::from_millis),
        (low..=max.as_secs()).prop_map(Duration::from_secs),
    ]
}

fn any_duration() -> impl Strategy<Value = Duration> {
    duration(false, DURATION_MAX)
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_-][a-zA-Z0-9._-]{0,63}"
}

fn service() -> impl Strategy<Value = Service> {
    (
        name(),
        proptest::option::of(select(&PATHS[..])),
        proptest::option::of(select(&PATHS[..])),
        duration(false, Duration::from_secs(3_600)),
        proptest::collection::vec(select(&PATHS[..]), 1..4),
    )
        .prop_map(|(name, health, ready, deadline, paths)| {
            // Never run: only what it declares is read.
            let serve = |launch: crate::core::service::Launch| async move {
                let _listener = launch.bind().await?;
                launch.shutdown().await;
                Ok(())
            };
            let mut service = Service::new(&name, serve)
                .drain_deadline(deadline)
                .paths(&paths);
            service = match health {
                Some(path) => service.health(path),
                None => service.no_health(),
            };
            match ready {
                Some(path) => service.ready(path),
                None => service.no_ready(),
            }
        })
}

fn target() -> impl Strategy<Value = Target> {
    let builtin = (
        select(&Model::ALL[..]),
        select(&[Variant::Buggy, Variant::Fixed][..]),
        2..=NODES_MAX,
    )
        .prop_map(|(model, variant, nodes)| {
            Target::Builtin(Builtin {
                model,
                variant,
                nodes: if model.is_cluster() {
                    nodes
                } else {
                    model.nodes_default()
                },
            })
        });
    prop_oneof![3 => builtin, 1 => service().prop_map(Target::Service)]
}

/// A `run.blocked_max`: at least [`BLOCKED_MAX_LEAST`].
fn blocked_max() -> impl Strategy<Value = Duration> {
    duration(true, DURATION_MAX).prop_map(|blocked| blocked.max(BLOCKED_MAX_LEAST))
}

/// A `run.memory_max`: sizes a file writes in each kind of unit, and any
/// count of bytes in range.
fn memory_max_bytes() -> impl Strategy<Value = u64> {
    let (least, most) = (*MEMORY_MAX_RANGE.start(), *MEMORY_MAX_RANGE.end());
    prop_oneof![
        (1..=1_u64 << 20).prop_map(|mebibytes| mebibytes << 20),
        (1..=1_000_000_u64).prop_map(|megabytes| megabytes * 1_000_000),
        least..=most,
    ]
}

fn limits() -> impl Strategy<Value = Limits> {
    (
        (
            any_duration(),
            any_duration(),
            any_duration(),
            duration(true, DURATION_MAX),
            any_duration(),
            any_duration(),
        ),
        1..=BACKLOG_MAX,
        blocked_max(),
        memory_max_bytes(),
        any::<bool>(),
    )
        .prop_map(
            |(
                (settle_max, request_timeout, wall_time_max, tick, convergence, recovery),
                backlog,
                blocked_max,
                memory_max_bytes,
                intercept,
            )| Limits {
                settle_max,
                request_timeout,
                wall_time_max,
                tick,
                convergence_bound: convergence,
                recovery_bound: recovery,
                backlog,
                blocked_max,
                memory_max_bytes,
                intercept,
                ..Limits::default()
            },
        )
}

fn generator() -> impl Strategy<Value = Generator> {
    (
        (
            duration(true, DURATION_MAX),
            0..=CYCLES_MAX,
            0..=REQUESTS_MAX,
            proptest::collection::vec(select(&PATHS[..]), 1..4),
            any_duration(),
            any::<bool>(),
        ),
        (
            proptest::option::of(any_duration()),
            proptest::collection::vec(select(&Fault::ALL[..]), 0..4),
            0..=FAULTS_MAX,
            // The written scenarios' clients send HTTP/1.1: no streams.
            subsequence(http1_clients(), 1..=http1_clients().len()),
        ),
    )
        .prop_map(
            |((horizon, cycles_max, requests_max, paths, keep_max, stop), rest)| {
                let (grace, faults, faults_max, mut clients) = rest;
                // As the reader keeps them: simplest first, once each.
                clients.sort();
                clients.dedup();
                Generator {
                    horizon,
                    cycles_max,
                    requests_max,
                    paths: paths.into_iter().map(str::to_string).collect(),
                    keep_max,
                    stop,
                    grace,
                    faults,
                    faults_max,
                    clients,
                }
            },
        )
}

/// Where a target's cases run: a service's on either backend (the
/// threads one with any settings a file can give), a built-in model's in
/// simulation.
fn backend(target: &Target) -> BoxedStrategy<Backend> {
    if !matches!(target, Target::Service(_)) {
        return Just(Backend::Simulated).boxed();
    }
    let threads = (
        WORKERS_MIN..=WORKERS_MAX,
        (any::<bool>(), any::<bool>(), any::<bool>()),
        1..=CONFIRM_RUNS_MAX,
        1..=CASES_AT_ONCE_MAX,
    )
        .prop_map(
            |(workers, (sockets, tracing, pin), confirm_runs, cases_at_once)| {
                Backend::Threads(Threads {
                    workers,
                    perturbation: Perturbation {
                        sockets,
                        tracing,
                        pin,
                        ..Perturbation::default()
                    },
                    confirm_runs,
                    cases_at_once,
                })
            },
        );
    prop_oneof![Just(Backend::Simulated), threads].boxed()
}

fn probe() -> impl Strategy<Value = ProbeConfig> {
    (
        any::<bool>(),
        select(&PATHS[..]),
        any_duration(),
        duration(true, DURATION_MAX),
        any_duration(),
        1..=u32::MAX,
        1..=u32::MAX,
    )
        .prop_map(
            |(enabled, path, initial_delay, period, timeout, failures, successes)| ProbeConfig {
                enabled,
                path: path.to_string(),
                initial_delay,
                period,
                timeout,
                failure_threshold: failures,
                success_threshold: successes,
            },
        )
}

fn kubelet() -> impl Strategy<Value = KubeletConfig> {
    (
        select(&[Probing::Current, Probing::Legacy][..]),
        (probe(), probe(), probe()),
        (any_duration(), any_duration(), any_duration()),
    )
        .prop_map(
            |(probing, (startup, liveness, readiness), (grace, pre_stop, lag))| KubeletConfig {
                probing,
                probe: Protocol::Http,
                startup,
                liveness,
                readiness,
                termination_grace_period: grace,
                pre_stop,
                endpoint_removal_lag: lag,
            },
        )
}

/// How the cases are chosen; a fixed schedule is generated from its seed.
#[derive(Debug, Clone)]
enum CaseChoice {
    Generated { base_seed: u64, count: u64 },
    Fixed(u64),
    Seed(u64),
}

fn case_choice() -> impl Strategy<Value = CaseChoice> {
    // TOML integers are signed 64-bit: a file holds at most `i64::MAX` cases.
    let count_max = u64::try_from(i64::MAX).unwrap_or(u64::MAX);
    prop_oneof![
        (any::<u64>(), 1..=count_max)
            .prop_map(|(base_seed, count)| CaseChoice::Generated { base_seed, count }),
        any::<u64>().prop_map(CaseChoice::Fixed),
        any::<u64>().prop_map(CaseChoice::Seed),
    ]
}

/// A generator that draws schedules a file may hold (at most
/// `SCHEDULE_STEPS_MAX` steps), and quickly: a few cycles of few requests.
fn small(generator: &Generator) -> Generator {
    Generator {
        cycles_max: generator.cycles_max.min(3),
        requests_max: generator.requests_max.min(12),
        faults_max: generator.faults_max.min(4),
        horizon: generator.horizon.min(Duration::from_secs(60)),
        ..generator.clone()
    }
}

/// A scenario any file could describe, with the services it runs against.
fn scenario() -> impl Strategy<Value = (Scenario, Vec<Service>)> {
    target()
        .prop_flat_map(|target| {
            let allowed: Vec<Invariant> = Invariant::ALL
                .into_iter()
                .filter(|invariant| match &target {
                    Target::Builtin(_) => true,
                    Target::Service(_) => invariant.black_box() && target.supports(*invariant),
                })
                .collect();
            let single_host = target.hosts().len() == 1;
            let kubelet = if single_host {
                proptest::option::of(kubelet()).boxed()
            } else {
                Just(None).boxed()
            };
            let count = allowed.len();
            let backend = backend(&target);
            (
                Just(target),
                subsequence(allowed, 0..=count),
                proptest::option::of(any::<Index>()),
                (name(), any::<String>()),
                limits(),
                generator(),
                kubelet,
                case_choice(),
                backend,
            )
        })
        .prop_map(
            |(
                target,
                invariants,
                expected,
                (name, description),
                limits,
                mut generator,
                kubelet,
                choice,
                backend,
            )| {
                let expect = match expected {
                    Some(index) if !invariants.is_empty() => {
                        Expect::Violation(invariants[index.index(invariants.len())])
                    }
                    _ => Expect::Pass,
                };
                // As the reader leaves it: without a kubelet, a generated
                // stop always has a grace period, and when `drain-deadline`
                // is checked it outlasts the drain deadline.
                if kubelet.is_none() && generator.grace.is_none() {
                    generator.grace = Some(super::defaults::grace(&target));
                }
                let grace = generator.grace.unwrap_or_else(|| {
                    kubelet
                        .as_ref()
                        .map_or(Duration::ZERO, |kubelet| kubelet.termination_grace_period)
                });
                let deadline = target.drain_deadline();
                if generator.stop
                    && invariants.contains(&Invariant::DrainDeadline)
                    && grace <= deadline
                {
                    generator.grace = Some(deadline + Duration::from_millis(1));
                }
                // The threads backend draws no network fault.
                if backend.threads().is_some() {
                    generator.faults.retain(|fault| {
                        matches!(fault, Fault::Kill | Fault::Restart | Fault::Crash)
                    });
                }
                let services = match &target {
                    Target::Service(service) => vec![service.clone()],
                    Target::Builtin(_) => Vec::new(),
                };
                let mut campaign = Campaign {
                    setup: Setup {
                        target,
                        invariants,
                        kubelet,
                        limits,
                        http: Http::One,
                        protocol: Protocol::Http,
                        backend,
                    },
                    generator,
                    cases: Cases::Seed(0),
                    shrink: ShrinkLimits::default(),
                };
                campaign.cases = match choice {
                    CaseChoice::Generated { base_seed, count } => {
                        Cases::Generated { base_seed, count }
                    }
                    CaseChoice::Fixed(seed) => Cases::Fixed(Case {
                        seed,
                        schedule: schedule_of(&campaign, seed),
                    }),
                    CaseChoice::Seed(seed) => {
                        campaign.generator = small(&campaign.generator);
                        Cases::Seed(seed)
                    }
                };
                let scenario = Scenario {
                    path: "scenarios/generated.toml".into(),
                    name,
                    description,
                    expect,
                    campaign,
                    not_applicable: Vec::new(),
                    replay: Replay::Cli,
                };
                (scenario, services)
            },
        )
}

/// A schedule the campaign's generator could draw for `seed`, kept small.
fn schedule_of(campaign: &Campaign, seed: u64) -> Schedule {
    Campaign {
        generator: small(&campaign.generator),
        ..campaign.clone()
    }
    .schedule(seed)
}

fn read(path: &Path, text: &str, services: &[Service]) -> Scenario {
    Scenario::parse_with(path, text, services)
        .unwrap_or_else(|error| panic!("{error}\n--- the file written:\n{text}"))
}

/// What a fixed case's campaign is: the target, invariants, kubelet and
/// limits it runs against, and its case. Its generator draws nothing.
fn fixed_part(campaign: &Campaign) -> String {
    format!("{:?} {:?}", campaign.setup, campaign.cases)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: CASES,
        // A failing case is kept beside this file, not at the crate's root.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_scenario_written_and_read_back_is_the_same_campaign((scenario, services) in scenario()) {
        let text = scenario.file_text();
        let back = read(&scenario.path, &text, &services);
        prop_assert_eq!(back.file_text(), text.clone(), "written again");
        prop_assert_eq!(&back.name, &scenario.name);
        prop_assert_eq!(&back.description, &scenario.description);
        prop_assert_eq!(back.expect, scenario.expect);
        prop_assert!(back.not_applicable.is_empty());
        let campaign = &scenario.campaign;
        match &campaign.cases {
            Cases::Generated { .. } => {
                // Every field: setup, generator, cases and shrink limits.
                prop_assert_eq!(format!("{:?}", back.campaign), format!("{campaign:?}"), "{}", text);
            }
            Cases::Fixed(_) => {
                prop_assert_eq!(fixed_part(&back.campaign), fixed_part(campaign), "{}", text);
            }
            Cases::Seed(seed) => {
                // One case of a generated campaign: its schedule, as generated.
                let fixed = Campaign {
                    cases: Cases::Fixed(Case { seed: *seed, schedule: campaign.schedule(*seed) }),
                    ..campaign.clone()
                };
                prop_assert_eq!(fixed_part(&back.campaign), fixed_part(&fixed), "{}", text);
            }
        }
    }

    #[test]
    fn a_saved_failure_read_back_replays_the_same_case(
        (scenario, services) in scenario(),
        seed in any::<u64>(),
        verdict in 0..4_usize,
        chosen in any::<Index>(),
        replay in any::<String>(),
    ) {
        let campaign = &scenario.campaign;
        let shrunk = schedule_of(campaign, seed);
        let invariants = &campaign.setup.invariants;
        let verdict = match verdict {
            0 if !invariants.is_empty() => Verdict::Violation(Violation {
                invariant: invariants[chosen.index(invariants.len())],
                event: 0,
                at: Duration::ZERO,
                reason: "broken".into(),
            }),
            1 => Verdict::Bounded(Bound::Ticks(7)),
            2 => Verdict::Crashed("panicked".into()),
            _ => Verdict::Pass,
        };
        let expect = match (&verdict, &campaign.setup.target) {
            (Verdict::Violation(violation), Target::Builtin(_)) => Expect::Violation(violation.invariant),
            _ => Expect::Pass,
        };
        let failure = Failure {
            seed,
            original: shrunk.clone(),
            shrunk: shrunk.clone(),
            run: Run { events: Vec::new(), verdict, elapsed: Duration::ZERO, ticks: 0, reads: Reads::default() },
            shrink_runs: 0,
            determinism: Determinism::Identical(0),
        };
        let text = scenario.failure_file(&failure, &replay);
        prop_assert!(text.starts_with("# A failing case saved by lifecycle-sim, shrunk. Replay it with:\n#   "));
        let saved = read(&scenario.path, &text, &services);
        prop_assert_eq!(saved.failure_file(&failure, &replay), text.clone(), "written again");
        prop_assert_eq!(&saved.name, &scenario.name);
        // A saved failure run again keeps the description naming its origin.
        let description = match &scenario.campaign.cases {
            Cases::Fixed(_) => scenario.description.clone(),
            _ => format!("shrunk failure of {}", scenario.path.display()),
        };
        prop_assert_eq!(&saved.description, &description);
        prop_assert_eq!(saved.expect, expect);
        let replayed = Campaign {
            cases: Cases::Fixed(Case { seed, schedule: shrunk }),
            ..campaign.clone()
        };
        prop_assert_eq!(fixed_part(&saved.campaign), fixed_part(&replayed), "{}", text);
    }
}

/// A saved failure whose kubelet's grace period is within the drain
/// deadline keeps the scenario's own `stop` and `grace`: without them the
/// file would read back as breaking `drain-deadline`'s rule.
#[test]
fn a_saved_failure_keeps_the_grace_period_its_kubelet_would_cut_short() {
    let text = "schema_version = 1\nexpect = \"pass\"\noracles = [\"drain-deadline\"]\n\
                [target]\nmodel = \"drain-hang\"\nvariant = \"fixed\"\n\
                [generate]\ngrace = \"2m\"\n[kubelet]\ntermination_grace_period = \"1s\"\n";
    let path = Path::new("scenarios/short-kubelet.toml");
    let scenario = read(path, text, &[]);
    let shrunk = Schedule::parse_lines(&["0ms start", "10ms request /", "20ms stop"]).unwrap();
    let failure = crashed(7, &shrunk);
    let saved = scenario.failure_file(&failure, "lifecycle-sim replay x.toml");
    assert!(
        saved.contains("\n[generate]\nstop = true\ngrace = \"120s\"\n"),
        "{saved}"
    );
    let back = read(path, &saved, &[]);
    assert_eq!(
        back.campaign.cases,
        Cases::Fixed(Case {
            seed: 7,
            schedule: shrunk
        })
    );
    assert_eq!(
        back.campaign.generator.grace,
        Some(Duration::from_secs(120))
    );
}

/// A threads scenario written and read back runs on threads with the same
/// settings, and so does a failure saved from it: its replay runs where
/// the failure was found, not in simulation.
#[test]
fn a_threads_scenario_and_its_saved_failure_keep_every_threads_setting() {
    let serve = |launch: crate::core::service::Launch| async move {
        let _listener = launch.bind().await?;
        launch.shutdown().await;
        Ok(())
    };
    let services = [Service::new("api", serve)];
    let text = "schema_version = 1\nexpect = \"pass\"\n[target]\nservice = \"api\"\n\
                [run]\nbackend = \"threads\"\nworkers = 3\nconfirm_runs = 5\n\
                cases_at_once = 2\nperturbation = [\"pin\", \"sockets\"]\n\
                [generate]\nfaults = [\"kill\", \"crash\"]\n";
    let path = Path::new("scenarios/threads.toml");
    let scenario = read(path, text, &services);
    let threads = Backend::Threads(Threads {
        workers: 3,
        perturbation: Perturbation {
            sockets: true,
            tracing: false,
            pin: true,
            ..Perturbation::default()
        },
        confirm_runs: 5,
        cases_at_once: 2,
    });
    assert_eq!(scenario.campaign.setup.backend, threads);
    let written = scenario.file_text();
    assert!(written.contains("backend = \"threads\"\n"), "{written}");
    assert_eq!(
        read(path, &written, &services).campaign.setup.backend,
        threads
    );
    let shrunk = Schedule::parse_lines(&["0ms start", "10ms request /", "20ms crash"]).unwrap();
    let saved = scenario.failure_file(&crashed(3, &shrunk), "replay");
    assert_eq!(
        read(path, &saved, &services).campaign.setup.backend,
        threads
    );
}

/// A failure of `shrunk` at `seed` whose run crashed.
fn crashed(seed: u64, shrunk: &Schedule) -> Failure {
    Failure {
        seed,
        original: shrunk.clone(),
        shrunk: shrunk.clone(),
        run: Run {
            events: Vec::new(),
            verdict: Verdict::Crashed("panicked".into()),
            elapsed: Duration::ZERO,
            ticks: 0,
            reads: Reads::default(),
        },
        shrink_runs: 0,
        determinism: Determinism::Identical(0),
    }
}
