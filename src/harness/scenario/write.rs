//! Writing a [`Scenario`] as a file, through the same model that reads it
//! ([`File`]): every value is explicit, so the file reads back as the same
//! campaign whatever the defaults become. A saved failure is the scenario
//! with its one failing case fixed.

use std::time::Duration;

use super::backend::perturbation_names;
use super::definition::{Expect, Scenario, SCHEMA_VERSION};
use super::file::{written, File, GenerateTable, KubeletTable, ProbeTable, RunTable, TargetTable};
use super::size::render_size;
use crate::case::backend::Backend;
use crate::case::schedule::render_duration;
use crate::case::seed::render_seed;
use crate::case::verdict::{Invariant, Verdict};
use crate::case::Case;
use crate::core::target::Target;
use crate::engine::kubelet::{KubeletConfig, ProbeConfig};
use crate::engine::setup::Setup;
use crate::harness::campaign::{Campaign, Cases, Failure};
use crate::harness::generate::Generator;
use crate::harness::printable::printable;

/// The text of a scenario file that replays `failure` exactly: its seed
/// and its shrunk schedule, nothing generated, under a comment that says
/// how to replay it.
pub(super) fn failure_file(scenario: &Scenario, failure: &Failure, replay_command: &str) -> String {
    // A built-in model's failure is a fixture of its race: it expects
    // the violation. A service's is a regression: it fails until fixed.
    let expect = match (&failure.run.verdict, &scenario.campaign.setup.target) {
        (Verdict::Violation(violation), Target::Builtin(_)) => {
            Expect::Violation(violation.invariant)
        }
        _ => Expect::Pass,
    };
    // A fixed case's failure is the case itself (a saved failure run
    // again): it keeps the description that names where it came from.
    let description = match &scenario.campaign.cases {
        Cases::Fixed(_) => scenario.description.clone(),
        _ => format!("shrunk failure of {}", scenario.path.display()),
    };
    let saved = Scenario {
        description,
        expect,
        campaign: Campaign {
            cases: Cases::Fixed(Case {
                seed: failure.seed,
                schedule: failure.shrunk.clone(),
            }),
            ..scenario.campaign.clone()
        },
        ..scenario.clone()
    };
    // A comment holds no control character: one in the command (from a
    // path) is escaped, so the file still reads.
    format!(
        "# A failing case saved by lifecycle-sim, shrunk. Replay it with:\n#   {}\n{}",
        printable(replay_command),
        saved.file_text()
    )
}

impl File {
    /// A scenario as a file. A generated campaign writes its `[generate]`
    /// table and case count; a fixed one its `schedule` (a single generated
    /// seed, its schedule as generated) and, of `[generate]`, only what
    /// reading it back depends on.
    pub(super) fn of(scenario: &Scenario) -> File {
        let campaign = &scenario.campaign;
        let setup = &campaign.setup;
        let (schedule, count, seed, generate) = match &campaign.cases {
            Cases::Generated { base_seed, count } => (
                None,
                Some(*count),
                *base_seed,
                Some(GenerateTable::of(&campaign.generator)),
            ),
            Cases::Seed(seed) => (
                Some(campaign.schedule(*seed)),
                None,
                *seed,
                GenerateTable::rule_of(&campaign.generator, setup),
            ),
            Cases::Fixed(case) => (
                Some(case.schedule.clone()),
                None,
                case.seed,
                GenerateTable::rule_of(&campaign.generator, setup),
            ),
        };
        File {
            schema_version: written(SCHEMA_VERSION),
            name: Some(written(scenario.name.clone())),
            description: Some(scenario.description.clone()),
            expect: written(match scenario.expect {
                Expect::Pass => "pass".to_string(),
                Expect::Violation(invariant) => invariant.name().to_string(),
            }),
            oracles: Some(names(setup.invariants.iter().map(|i| i.name()))),
            schedule: schedule.map(|schedule| schedule.lines().into_iter().map(written).collect()),
            target: TargetTable::of(&setup.target),
            run: Some(RunTable::of(setup, count, seed)),
            generate,
            kubelet: setup.kubelet.as_ref().map(KubeletTable::of),
        }
    }
}

impl TargetTable {
    fn of(target: &Target) -> TargetTable {
        match target {
            Target::Builtin(builtin) => TargetTable {
                model: Some(written(builtin.model.name().to_string())),
                variant: Some(written(builtin.variant.name().to_string())),
                service: None,
                // Always for a cluster: the replay runs on as many nodes.
                nodes: builtin
                    .model
                    .is_cluster()
                    .then(|| written(i64::from(builtin.nodes))),
            },
            Target::Service(service) => TargetTable {
                model: None,
                variant: None,
                service: Some(written(service.name().to_string())),
                nodes: None,
            },
        }
    }
}

impl RunTable {
    /// The case count of generated cases, the seed, then every limit, the
    /// clients' HTTP and the backend.
    fn of(setup: &Setup, count: Option<u64>, seed: u64) -> RunTable {
        let limits = &setup.limits;
        RunTable {
            cases: count.map(written),
            seed: Some(written(toml::Value::String(render_seed(seed)))),
            // The most a file may say is far below `i64::MAX`.
            backlog: Some(written(i64::try_from(limits.backlog).unwrap_or(i64::MAX))),
            settle_max: duration(limits.settle_max),
            request_timeout: duration(limits.request_timeout),
            wall_time_max: duration(limits.wall_time_max),
            tick: duration(limits.tick),
            convergence_bound: duration(limits.convergence_bound),
            recovery_bound: duration(limits.recovery_bound),
            blocked_max: duration(limits.blocked_max),
            memory_max: Some(written(toml::Value::String(render_size(
                limits.memory_max_bytes,
            )))),
            intercept: Some(limits.intercept),
            http: Some(written(setup.http.name().to_string())),
            protocol: Some(written(setup.protocol.name().to_string())),
            ..RunTable::of_backend(&setup.backend)
        }
    }

    /// The backend, and the threads backend's settings under it. Its
    /// longest spin (`Perturbation::spin_max`) has no field: a file's
    /// threads run with the default.
    fn of_backend(backend: &Backend) -> RunTable {
        let threads = backend.threads();
        let count = |number: usize| written(i64::try_from(number).unwrap_or(i64::MAX));
        RunTable {
            backend: Some(written(backend.name().to_string())),
            workers: threads.map(|threads| count(threads.workers)),
            confirm_runs: threads.map(|threads| written(i64::from(threads.confirm_runs))),
            cases_at_once: threads.map(|threads| count(threads.cases_at_once)),
            perturbation: threads.map(|threads| {
                let on = perturbation_names(threads.perturbation);
                written(names(on.into_iter()))
            }),
            ..RunTable::default()
        }
    }
}

impl GenerateTable {
    /// Every field of a generator.
    fn of(generator: &Generator) -> GenerateTable {
        GenerateTable {
            horizon: duration(generator.horizon),
            cycles_max: Some(generator.cycles_max),
            requests_max: Some(generator.requests_max),
            paths: Some(names(generator.paths.iter().map(String::as_str))),
            keep_max: duration(generator.keep_max),
            stop: Some(generator.stop),
            grace: generator.grace.and_then(duration),
            faults: Some(names(generator.faults.iter().map(|fault| fault.name()))),
            faults_max: Some(generator.faults_max),
            clients: Some(names(generator.clients.iter().map(|client| client.name()))),
        }
    }

    /// What a fixed schedule's file needs of `[generate]`: nothing is
    /// generated, but `drain-deadline`'s rule reads the grace period of
    /// generated stops, and without the table it would be the kubelet's.
    /// When that is within the drain deadline, the scenario's `stop` and
    /// `grace` are kept (they passed the rule), so the file reads back.
    fn rule_of(generator: &Generator, setup: &Setup) -> Option<GenerateTable> {
        let kubelet = setup.kubelet.as_ref()?;
        let too_short = setup.invariants.contains(&Invariant::DrainDeadline)
            && kubelet.termination_grace_period <= setup.target.drain_deadline();
        too_short.then(|| GenerateTable {
            stop: Some(generator.stop),
            grace: generator.grace.and_then(duration),
            ..GenerateTable::default()
        })
    }
}

impl KubeletTable {
    /// Every figure, explicit.
    fn of(kubelet: &KubeletConfig) -> KubeletTable {
        KubeletTable {
            probing: Some(written(kubelet.probing.name().to_string())),
            probe: Some(written(kubelet.probe.name().to_string())),
            termination_grace_period: duration(kubelet.termination_grace_period),
            pre_stop: duration(kubelet.pre_stop),
            endpoint_removal_lag: duration(kubelet.endpoint_removal_lag),
            startup: Some(ProbeTable::of(&kubelet.startup)),
            liveness: Some(ProbeTable::of(&kubelet.liveness)),
            readiness: Some(ProbeTable::of(&kubelet.readiness)),
        }
    }
}

impl ProbeTable {
    fn of(probe: &ProbeConfig) -> ProbeTable {
        ProbeTable {
            enabled: Some(probe.enabled),
            path: Some(written(probe.path.clone())),
            initial_delay: duration(probe.initial_delay),
            period: duration(probe.period),
            timeout: duration(probe.timeout),
            failure_threshold: Some(written(probe.failure_threshold)),
            success_threshold: Some(written(probe.success_threshold)),
        }
    }
}

/// A duration as a file writes it (`250ms`, `5s`).
fn duration(value: Duration) -> Option<toml::Spanned<String>> {
    Some(written(render_duration(value)))
}

/// An array of strings.
fn names<'a>(names: impl Iterator<Item = &'a str>) -> Vec<toml::Spanned<String>> {
    names.map(|name| written(name.to_string())).collect()
}
