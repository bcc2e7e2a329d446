//! Scenario files: a target, how its cases are made, and what must come out.
//!
//! A scenario is a TOML file, parsed strictly: an unknown field, a wrong type,
//! a bad duration or an unknown model is an error that names the file, the
//! line and the field. `scenarios/README.md` documents every field. A failing
//! case is saved as a scenario too, holding its seed and its shrunk schedule,
//! so it replays without generating anything.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::case::schedule::{
    check_path, parse_duration, render_duration, Action, Host, Schedule, Step, NODES_MAX,
};
use crate::case::seed::{self, derive, parse_seed, render_seed};
use crate::case::verdict::Invariant;
use crate::case::{Case, Limits, BACKLOG_DEFAULT, BACKLOG_MAX};
use crate::core::models::Variant;
use crate::core::service::Service;
use crate::core::target::{Builtin, Model, Target};
use crate::engine::director::GRACE_DEFAULT;
use crate::engine::kubelet::{KubeletConfig, ProbeConfig, Probing};
use crate::engine::setup::Setup;
use crate::harness::campaign::{Campaign, Cases, Failure, ShrinkLimits};
use crate::harness::generate::{Behaviour, Fault, Generator};
use crate::harness::input::{
    read_text, too_large, within_limit, ReadError, SCENARIO_BYTES_MAX, SCHEDULE_STEPS_MAX,
};
use crate::harness::name::check_name;
use crate::harness::printable::printable;

/// The scenario format this build reads.
pub const SCHEMA_VERSION: u32 = 1;
/// The most cycles, requests per cycle and faults a generated schedule may hold.
const CYCLES_MAX: usize = 100;
const REQUESTS_MAX: usize = 1_000;
const FAULTS_MAX: usize = 100;
/// Cases a generated scenario runs when it does not say.
pub const CASES_DEFAULT: u64 = 256;
/// The `target.service` of a scenario that runs against whichever service
/// it is given: the shipped black-box scenarios.
pub const ANY_SERVICE: &str = "*";

/// What a scenario must show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Every case passes.
    Pass,
    /// A case breaks this invariant within the case budget.
    Violation(Invariant),
}

/// How a scenario's failures are replayed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Replay {
    /// With the `lifecycle-sim` command (built-in models).
    #[default]
    Cli,
    /// By a test of a [`Suite`](crate::Suite) in the user's project.
    Test {
        /// The test binary (`cargo test --test <binary>`).
        binary: String,
        /// The test's name.
        trial: String,
    },
}

/// A parsed scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it came from.
    pub path: PathBuf,
    /// Its name (the file's stem unless it says).
    pub name: String,
    /// One line on what it checks.
    pub description: String,
    /// What must come out.
    pub expect: Expect,
    /// The campaign it runs.
    pub campaign: Campaign,
    /// Invariants the scenario names that do not apply to its service (it
    /// declared no `/health`, say): not checked.
    pub not_applicable: Vec<Invariant>,
    /// How its failures are replayed.
    pub replay: Replay,
}

/// A scenario file that cannot be used, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file.
    pub file: PathBuf,
    /// The line (from 1), when the error has one.
    pub line: Option<usize>,
    /// The field, dotted (`target.model`), when the error has one.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    /// One line: control characters the input carried (in a value quoted
    /// back, or in the file's name) are escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", printable(&self.file.display().to_string()))?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{}`", printable(field))?;
        }
        write!(f, ": {}", printable(&self.message))
    }
}

impl std::error::Error for ScenarioError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    schema_version: Spanned<u32>,
    name: Option<Spanned<String>>,
    description: Option<String>,
    expect: Spanned<String>,
    oracles: Option<Vec<Spanned<String>>>,
    schedule: Option<Vec<Spanned<String>>>,
    target: TargetTable,
    run: Option<RunTable>,
    generate: Option<GenerateTable>,
    kubelet: Option<KubeletTable>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct KubeletTable {
    probing: Option<Spanned<String>>,
    termination_grace_period: Option<Spanned<String>>,
    pre_stop: Option<Spanned<String>>,
    endpoint_removal_lag: Option<Spanned<String>>,
    startup: Option<ProbeTable>,
    liveness: Option<ProbeTable>,
    readiness: Option<ProbeTable>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ProbeTable {
    enabled: Option<bool>,
    path: Option<Spanned<String>>,
    initial_delay: Option<Spanned<String>>,
    period: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    failure_threshold: Option<Spanned<u32>>,
    success_threshold: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetTable {
    model: Option<Spanned<String>>,
    variant: Option<Spanned<String>>,
    service: Option<Spanned<String>>,
    nodes: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RunTable {
    cases: Option<Spanned<u64>>,
    seed: Option<Spanned<toml::Value>>,
    backlog: Option<Spanned<i64>>,
    settle_max: Option<Spanned<String>>,
    request_timeout: Option<Spanned<String>>,
    wall_time_max: Option<Spanned<String>>,
    tick: Option<Spanned<String>>,
    convergence_bound: Option<Spanned<String>>,
    recovery_bound: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct GenerateTable {
    horizon: Option<Spanned<String>>,
    cycles_max: Option<usize>,
    requests_max: Option<usize>,
    paths: Option<Vec<Spanned<String>>>,
    keep_max: Option<Spanned<String>>,
    stop: Option<bool>,
    grace: Option<Spanned<String>>,
    faults: Option<Vec<Spanned<String>>>,
    faults_max: Option<usize>,
    clients: Option<Vec<Spanned<String>>>,
}

/// Reads values out of a file, turning spans into lines.
struct Reader<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Reader<'_> {
    fn error(&self, span: std::ops::Range<usize>, field: &str, message: String) -> ScenarioError {
        ScenarioError {
            file: self.path.to_path_buf(),
            line: Some(line_of(self.text, span.start)),
            field: Some(field.to_string()),
            message,
        }
    }

    fn duration(&self, value: &Spanned<String>, field: &str) -> Result<Duration, ScenarioError> {
        parse_duration(value.get_ref()).map_err(|message| self.error(value.span(), field, message))
    }

    fn optional_duration(
        &self,
        value: Option<&Spanned<String>>,
        field: &str,
        default: Duration,
    ) -> Result<Duration, ScenarioError> {
        value.map_or(Ok(default), |value| self.duration(value, field))
    }

    fn invariant(&self, value: &Spanned<String>, field: &str) -> Result<Invariant, ScenarioError> {
        Invariant::from_name(value.get_ref()).ok_or_else(|| {
            self.error(
                value.span(),
                field,
                format!(
                    "unknown invariant `{}`, expected one of: {}",
                    value.get_ref(),
                    Invariant::ALL.map(Invariant::name).join(", ")
                ),
            )
        })
    }

    fn seed(&self, value: &Spanned<toml::Value>) -> Result<u64, ScenarioError> {
        let seed = match value.get_ref() {
            toml::Value::Integer(number) => u64::try_from(*number).ok(),
            toml::Value::String(text) => parse_seed(text).ok(),
            _ => None,
        };
        seed.ok_or_else(|| {
            self.error(
                value.span(),
                "run.seed",
                "expected a non-negative integer or a string such as \"0x5eed\"".into(),
            )
        })
    }
}

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        Scenario::load_with(path, &[])
    }

    /// Reads and checks a scenario file whose target may be one of `services`.
    pub fn load_with(path: &Path, services: &[Service]) -> Result<Scenario, ScenarioError> {
        let text = Scenario::read_text(path)?;
        Scenario::parse_with(path, &text, services)
    }

    /// A scenario file's text, read only up to [`SCENARIO_BYTES_MAX`]: a
    /// larger file is an error before anything of it is parsed.
    pub fn read_text(path: &Path) -> Result<String, ScenarioError> {
        read_text(path).map_err(|error| match error {
            ReadError::Unreadable(message) => ScenarioError {
                file: path.to_path_buf(),
                line: None,
                field: None,
                message,
            },
            ReadError::TooLarge(prefix) => too_large_error(path, &prefix),
        })
    }

    /// Checks a scenario's text; `path` names it in errors. Its target must be
    /// a built-in model.
    pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse_with(path, text, &[])
    }

    /// The `target.service` a scenario's text names, if it names one: such
    /// a scenario runs only where that service is registered (a [`Suite`](crate::Suite)).
    pub fn service_named(text: &str) -> Option<String> {
        let value: toml::Value = toml::from_str(text).ok()?;
        let service = value.get("target")?.get("service")?.as_str()?;
        Some(service.to_string())
    }

    /// Checks a scenario's text whose target may be one of `services`: a
    /// `target.service` names one of them, or is `"*"` for the only one given.
    pub fn parse_with(
        path: &Path,
        text: &str,
        services: &[Service],
    ) -> Result<Scenario, ScenarioError> {
        if text.len() > SCENARIO_BYTES_MAX {
            return Err(too_large_error(path, within_limit(text)));
        }
        let file: File = toml::from_str(text).map_err(|error| {
            let line = error.span().map(|span| line_of(text, span.start));
            ScenarioError {
                file: path.to_path_buf(),
                line,
                field: line.and_then(|line| field_at(text, line, error.message())),
                message: error.message().trim().to_string(),
            }
        })?;
        let reader = Reader { path, text };
        if *file.schema_version.get_ref() != SCHEMA_VERSION {
            return Err(reader.error(
                file.schema_version.span(),
                "schema_version",
                format!(
                    "this build reads schema version {SCHEMA_VERSION}, not {}",
                    file.schema_version.get_ref()
                ),
            ));
        }
        let name = scenario_name(&reader, file.name.as_ref())?;
        let target = target(&reader, &file.target, services)?;
        let expect = match file.expect.get_ref().as_str() {
            "pass" => Expect::Pass,
            _ => Expect::Violation(reader.invariant(&file.expect, "expect").map_err(
                |mut error| {
                    error.message = format!("{}, or `pass`", error.message);
                    error
                },
            )?),
        };
        let named: Vec<Invariant> = match &file.oracles {
            None => target.invariants(),
            Some(names) => names
                .iter()
                .map(|name| {
                    let invariant = reader.invariant(name, "oracles")?;
                    if matches!(target, Target::Service(_)) && !invariant.black_box() {
                        return Err(reader.error(
                            name.span(),
                            "oracles",
                            format!(
                                "`{invariant}` needs events only the built-in models record; a \
                                 service is judged by the black-box invariants: {}",
                                Invariant::ALL
                                    .into_iter()
                                    .filter(|invariant| invariant.black_box())
                                    .map(Invariant::name)
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        ));
                    }
                    Ok(invariant)
                })
                .collect::<Result<_, _>>()?,
        };
        let (invariants, not_applicable): (Vec<Invariant>, Vec<Invariant>) = named
            .into_iter()
            .partition(|invariant| target.supports(*invariant));
        if let Expect::Violation(invariant) = expect {
            if not_applicable.contains(&invariant) {
                return Err(reader.error(
                    file.expect.span(),
                    "expect",
                    format!("expects `{invariant}`, which does not apply to {target}: it lacks the endpoint it needs"),
                ));
            }
            if !invariants.contains(&invariant) {
                return Err(reader.error(
                    file.expect.span(),
                    "expect",
                    format!("expects `{invariant}`, which `oracles` does not check"),
                ));
            }
        }
        let run = file.run.unwrap_or_default();
        let defaults = Limits::default();
        let limits = Limits {
            settle_max: reader.optional_duration(
                run.settle_max.as_ref(),
                "run.settle_max",
                defaults.settle_max,
            )?,
            request_timeout: reader.optional_duration(
                run.request_timeout.as_ref(),
                "run.request_timeout",
                defaults.request_timeout,
            )?,
            wall_time_max: reader.optional_duration(
                run.wall_time_max.as_ref(),
                "run.wall_time_max",
                defaults.wall_time_max,
            )?,
            ticks_max: defaults.ticks_max,
            tick: reader.optional_duration(run.tick.as_ref(), "run.tick", defaults.tick)?,
            convergence_bound: reader.optional_duration(
                run.convergence_bound.as_ref(),
                "run.convergence_bound",
                defaults.convergence_bound,
            )?,
            recovery_bound: reader.optional_duration(
                run.recovery_bound.as_ref(),
                "run.recovery_bound",
                defaults.recovery_bound,
            )?,
            backlog: backlog(&reader, run.backlog.as_ref())?,
        };
        if limits.tick.is_zero() {
            let span = run.tick.as_ref().map_or(0..0, Spanned::span);
            return Err(reader.error(span, "run.tick", "must be at least 1ms".into()));
        }
        let seed = run
            .seed
            .as_ref()
            .map(|seed| reader.seed(seed))
            .transpose()?;
        let mut generator = generator(&reader, file.generate.as_ref())?;
        let paths_named = file
            .generate
            .as_ref()
            .is_some_and(|table| table.paths.is_some());
        if let (Target::Service(service), false) = (&target, paths_named) {
            // A service's own paths, and its status endpoints, as a prober would.
            generator.paths = service.application_paths().to_vec();
            generator.paths.extend(
                [service.ready_path(), service.health_path()]
                    .into_iter()
                    .flatten()
                    .map(str::to_string),
            );
        }
        let kubelet = file
            .kubelet
            .as_ref()
            .map(|table| kubelet(&reader, table, &target))
            .transpose()?;
        if generator.grace.is_none() && kubelet.is_none() {
            // A target's drain deadline may be long (a service's declared one,
            // the probes model's 50s): its stops get a grace period that
            // outlasts it, so a hung stop is judged, not killed.
            generator.grace = Some(GRACE_DEFAULT.max(target.drain_deadline() * 2));
        }
        let grace = generator.grace.unwrap_or_else(|| {
            kubelet
                .as_ref()
                .map_or(GRACE_DEFAULT, |kubelet| kubelet.termination_grace_period)
        });
        let deadline = target.drain_deadline();
        if generator.stop && invariants.contains(&Invariant::DrainDeadline) && grace <= deadline {
            let span = file
                .generate
                .as_ref()
                .and_then(|table| table.grace.as_ref())
                .map_or(0..0, Spanned::span);
            return Err(reader.error(
                span,
                "generate.grace",
                format!(
                    "the grace period ({}) must be longer than the service's drain deadline ({}): \
                     a hung stop would be killed before `drain-deadline` could judge it",
                    render_duration(grace),
                    render_duration(deadline)
                ),
            ));
        }
        if kubelet.is_some() && target.hosts().len() > 1 {
            return Err(ScenarioError {
                file: path.to_path_buf(),
                line: text
                    .lines()
                    .position(|line| line.trim() == "[kubelet]")
                    .map(|index| index + 1),
                field: Some("kubelet".into()),
                message: format!(
                    "the kubelet models one pod; `{}` is a cluster of {} nodes",
                    target,
                    target.hosts().len()
                ),
            });
        }
        let cases = match &file.schedule {
            Some(lines) => {
                if let Some(cases) = &run.cases {
                    return Err(reader.error(
                        cases.span(),
                        "run.cases",
                        "a scenario with a fixed `schedule` runs exactly one case".into(),
                    ));
                }
                let seed = seed.ok_or_else(|| ScenarioError {
                    file: path.to_path_buf(),
                    line: None,
                    field: Some("run.seed".into()),
                    message: "a scenario with a fixed `schedule` needs the seed it ran with".into(),
                })?;
                let steps = fixed_steps(&reader, lines)?;
                // A step naming a host the scenario does not have would be
                // skipped at run time: refuse it here, where it is a typo or
                // a saved failure read against the wrong target.
                for (line, step) in lines.iter().zip(&steps) {
                    if let Some(host) = absent_host(&step.action, &target, kubelet.is_some()) {
                        let hosts: Vec<&str> =
                            target.hosts().iter().map(|host| host.name()).collect();
                        return Err(reader.error(
                            line.span(),
                            "schedule",
                            format!(
                                "`{}` names `{}`, which this scenario does not have (its service hosts: {})",
                                line.get_ref(),
                                host.name(),
                                hosts.join(", ")
                            ),
                        ));
                    }
                }
                Cases::Fixed(Case {
                    seed,
                    schedule: Schedule::new(steps),
                })
            }
            None => {
                if let Some(cases) = run.cases.as_ref().filter(|cases| *cases.get_ref() == 0) {
                    return Err(reader.error(
                        cases.span(),
                        "run.cases",
                        "must be at least 1: a scenario of 0 cases would pass having checked nothing"
                            .into(),
                    ));
                }
                Cases::Generated {
                    base_seed: seed.unwrap_or_else(|| derive(0, &name)),
                    count: run.cases.map_or(CASES_DEFAULT, |cases| *cases.get_ref()),
                }
            }
        };
        Ok(Scenario {
            path: path.to_path_buf(),
            name,
            description: file.description.unwrap_or_default(),
            expect,
            campaign: Campaign {
                setup: Setup {
                    target,
                    invariants,
                    kubelet,
                    limits,
                },
                generator,
                cases,
                shrink: ShrinkLimits::default(),
            },
            not_applicable,
            replay: Replay::Cli,
        })
    }

    /// The scenario files named: files as they are, directories expanded to
    /// every `*.toml` below them, in sorted order (a directory's files before
    /// its subdirectories' only by name). Each file is listed once and each
    /// directory walked once, whatever symbolic links lead to them again.
    /// A path that does not exist is an error.
    pub fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
        crate::harness::walk::scenario_files(paths)
    }

    /// Applies `LIFECYCLE_SEED` (run only that case) and `LIFECYCLE_CASES`
    /// (the case count) to a generated scenario.
    pub fn apply_environment(&mut self) -> Result<(), seed::SeedError> {
        let case_seed = seed::seed_from_environment()?;
        let case_count = seed::cases_from_environment()?;
        if let Cases::Generated { count, .. } = &mut self.campaign.cases {
            if let Some(case_count) = case_count {
                *count = case_count;
            }
            if let Some(case_seed) = case_seed {
                self.campaign.cases = Cases::Seed(case_seed);
            }
        }
        Ok(())
    }

    /// The text of a scenario file that replays `failure` exactly: its seed
    /// and its shrunk schedule, nothing generated.
    pub fn failure_file(&self, failure: &Failure, replay_command: &str) -> String {
        let quote = |text: &str| toml::Value::String(text.to_string()).to_string();
        // A built-in model's failure is a fixture of its race: it expects
        // the violation. A service's is a regression: it fails until fixed.
        let expect = match (&failure.run.verdict, &self.campaign.setup.target) {
            (crate::case::verdict::Verdict::Violation(violation), Target::Builtin(_)) => {
                violation.invariant.name()
            }
            _ => "pass",
        };
        let setup = &self.campaign.setup;
        let mut text = String::new();
        text.push_str("# A failing case saved by lifecycle-sim, shrunk. Replay it with:\n");
        text.push_str(&format!("#   {replay_command}\n"));
        text.push_str(&format!("schema_version = {SCHEMA_VERSION}\n"));
        text.push_str(&format!("name = {}\n", quote(&self.name)));
        text.push_str(&format!(
            "description = {}\n",
            quote(&format!("shrunk failure of {}", self.path.display()))
        ));
        text.push_str(&format!("expect = {}\n", quote(expect)));
        let oracles: Vec<String> = setup.invariants.iter().map(|i| quote(i.name())).collect();
        text.push_str(&format!("oracles = [{}]\n", oracles.join(", ")));
        text.push_str("schedule = [\n");
        for line in failure.shrunk.lines() {
            text.push_str(&format!("  {},\n", quote(&line)));
        }
        text.push_str("]\n\n[target]\n");
        match &setup.target {
            Target::Builtin(builtin) => {
                text.push_str(&format!("model = {}\n", quote(builtin.model.name())));
                text.push_str(&format!("variant = {}\n", quote(builtin.variant.name())));
                // Always for a cluster: the replay runs on as many nodes.
                if builtin.model.is_cluster() {
                    text.push_str(&format!("nodes = {}\n", builtin.nodes));
                }
            }
            Target::Service(service) => {
                text.push_str(&format!("service = {}\n", quote(service.name())));
            }
        }
        text.push_str("\n[run]\n");
        text.push_str(&format!("seed = {}\n", quote(&render_seed(failure.seed))));
        let limits = &setup.limits;
        for (field, value) in [
            ("settle_max", limits.settle_max),
            ("request_timeout", limits.request_timeout),
            ("wall_time_max", limits.wall_time_max),
            ("tick", limits.tick),
            ("convergence_bound", limits.convergence_bound),
            ("recovery_bound", limits.recovery_bound),
        ] {
            text.push_str(&format!("{field} = {}\n", quote(&render_duration(value))));
        }
        text.push_str(&format!("backlog = {}\n", limits.backlog));
        if let Some(kubelet) = &setup.kubelet {
            text.push_str(&render_kubelet(kubelet));
        }
        text
    }
}

/// A file over the size limit, pointing at the line where it crosses it
/// and the field being written there (`prefix` is the part within it).
fn too_large_error(path: &Path, prefix: &str) -> ScenarioError {
    let line = line_of(prefix, prefix.len());
    ScenarioError {
        file: path.to_path_buf(),
        line: Some(line),
        field: field_at(prefix, line, ""),
        message: too_large(),
    }
}

/// The scenario's name: its `name`, else its file's stem; either must be a
/// name ([`check_name`]), since it names the failure files written for it.
fn scenario_name(reader: &Reader, name: Option<&Spanned<String>>) -> Result<String, ScenarioError> {
    match name {
        Some(name) => check_name(name.get_ref())
            .map(|()| name.get_ref().clone())
            .map_err(|reason| reader.error(name.span(), "name", reason)),
        None => {
            let stem = reader.path.file_stem().map_or_else(
                || "scenario".into(),
                |stem| stem.to_string_lossy().into_owned(),
            );
            check_name(&stem)
                .map(|()| stem)
                .map_err(|reason| ScenarioError {
                    file: reader.path.to_path_buf(),
                    line: Some(1),
                    field: Some("name".into()),
                    message: format!(
                        "the file's stem names the scenario when it gives no `name`: {reason}; \
                     give a `name` or rename the file"
                    ),
                })
        }
    }
}

/// `run.backlog`: connections a listener holds unaccepted, 1 to [`BACKLOG_MAX`].
fn backlog(reader: &Reader, value: Option<&Spanned<i64>>) -> Result<usize, ScenarioError> {
    let Some(value) = value else {
        return Ok(BACKLOG_DEFAULT);
    };
    usize::try_from(*value.get_ref())
        .ok()
        .filter(|backlog| (1..=BACKLOG_MAX).contains(backlog))
        .ok_or_else(|| {
            reader.error(
                value.span(),
                "run.backlog",
                format!(
                    "{}: a listen backlog is 1 to {BACKLOG_MAX}",
                    value.get_ref()
                ),
            )
        })
}

/// A fixed schedule's steps, parsed: at most [`SCHEDULE_STEPS_MAX`], each
/// no earlier than the one before it (a file out of order is a mistake, or
/// an edit that changed what runs first; it is not re-sorted silently).
fn fixed_steps(reader: &Reader, lines: &[Spanned<String>]) -> Result<Vec<Step>, ScenarioError> {
    if let Some(over) = lines.get(SCHEDULE_STEPS_MAX) {
        return Err(reader.error(
            over.span(),
            "schedule",
            format!(
                "{} steps: a fixed schedule holds at most {SCHEDULE_STEPS_MAX}",
                lines.len()
            ),
        ));
    }
    let mut steps: Vec<Step> = Vec::with_capacity(lines.len());
    for line in lines {
        let step = line
            .get_ref()
            .parse::<Step>()
            .map_err(|error| reader.error(line.span(), "schedule", error.to_string()))?;
        if let Some(before) = steps.last().filter(|before| before.at > step.at) {
            return Err(reader.error(
                line.span(),
                "schedule",
                format!(
                    "`{}` comes after `{before}` but is earlier: a schedule lists its steps in time order",
                    line.get_ref()
                ),
            ));
        }
        steps.push(step);
    }
    Ok(steps)
}

fn target(
    reader: &Reader,
    table: &TargetTable,
    services: &[Service],
) -> Result<Target, ScenarioError> {
    if let (Some(nodes), Some(_)) = (&table.nodes, &table.service) {
        return Err(reader.error(
            nodes.span(),
            "target.nodes",
            "a service runs on one host; only a cluster model (init-order) has nodes".into(),
        ));
    }
    match (&table.model, &table.variant, &table.service) {
        (Some(model), Some(variant), None) => builtin(reader, model, variant, table.nodes.as_ref()),
        (None, None, Some(name)) => service(reader, name, services),
        (_, _, Some(name)) => Err(reader.error(
            name.span(),
            "target.service",
            "a target is a built-in `model` with its `variant`, or a `service`, not both".into(),
        )),
        (Some(model), None, None) => Err(reader.error(
            model.span(),
            "target.variant",
            "missing field `variant`: a built-in model needs its variant, `buggy` or `fixed`"
                .into(),
        )),
        (None, Some(variant), None) => Err(reader.error(
            variant.span(),
            "target.model",
            format!(
                "missing field `model`: a variant needs its model, one of {}",
                Model::ALL.map(Model::name).join(", ")
            ),
        )),
        (None, None, None) => Err(ScenarioError {
            file: reader.path.to_path_buf(),
            line: reader
                .text
                .lines()
                .position(|line| line.trim() == "[target]")
                .map(|index| index + 1),
            field: Some("target".into()),
            message: "names no target: give `model` and `variant`, or `service`".into(),
        }),
    }
}

/// The first host a step names that the scenario does not have: a
/// lifecycle step acts on a service host; a network step joins the client,
/// the kubelet (when there is one) and the service hosts.
fn absent_host(action: &Action, target: &Target, kubelet: bool) -> Option<Host> {
    let service_hosts = target.hosts();
    match action {
        Action::Start { host }
        | Action::Stop { host, .. }
        | Action::Kill { host }
        | Action::Restart { host }
        | Action::Crash { host } => host.filter(|host| !service_hosts.contains(host)),
        Action::Network { a, b, .. } => [*a, *b].into_iter().find(|host| match host {
            Host::Client => false,
            Host::Kubelet => !kubelet,
            _ => !service_hosts.contains(host),
        }),
        Action::Request { .. } | Action::Connect { .. } | Action::Wait => None,
    }
}

fn builtin(
    reader: &Reader,
    model: &Spanned<String>,
    variant: &Spanned<String>,
    nodes: Option<&Spanned<i64>>,
) -> Result<Target, ScenarioError> {
    let model_named = Model::from_name(model.get_ref()).ok_or_else(|| {
        reader.error(
            model.span(),
            "target.model",
            format!(
                "unknown model `{}`, expected one of: {}",
                model.get_ref(),
                Model::ALL.map(Model::name).join(", ")
            ),
        )
    })?;
    let variant_named = Variant::from_name(variant.get_ref()).ok_or_else(|| {
        reader.error(
            variant.span(),
            "target.variant",
            format!(
                "unknown variant `{}`, expected `buggy` or `fixed`",
                variant.get_ref()
            ),
        )
    })?;
    let mut builtin = Builtin {
        model: model_named,
        variant: variant_named,
        nodes: model_named.nodes_default(),
    };
    if let Some(nodes) = nodes {
        if !model_named.is_cluster() {
            return Err(reader.error(
                nodes.span(),
                "target.nodes",
                format!(
                    "`{}` runs one service host; only a cluster model (init-order) has nodes",
                    model_named.name()
                ),
            ));
        }
        builtin.nodes = u8::try_from(*nodes.get_ref())
            .ok()
            .filter(|count| (2..=NODES_MAX).contains(count))
            .ok_or_else(|| {
                reader.error(
                    nodes.span(),
                    "target.nodes",
                    format!("{} nodes: a cluster has 2 to {NODES_MAX}", nodes.get_ref()),
                )
            })?;
    }
    Ok(Target::Builtin(builtin))
}

fn service(
    reader: &Reader,
    name: &Spanned<String>,
    services: &[Service],
) -> Result<Target, ScenarioError> {
    let registered = || {
        if services.is_empty() {
            "none is registered here: run it from a `Suite` your test builds with \
             `.service(..)` (see the README, \"Use it in your CI\")"
                .to_string()
        } else {
            format!(
                "registered: {}",
                services
                    .iter()
                    .map(Service::name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    };
    let found = if name.get_ref() == ANY_SERVICE {
        match services {
            [only] => Some(only),
            _ => None,
        }
    } else {
        services
            .iter()
            .find(|service| service.name() == name.get_ref())
    };
    if let Some(service) = found {
        check_name(service.name()).map_err(|reason| {
            reader.error(
                name.span(),
                "target.service",
                format!("the service registered for it has a bad name: {reason}"),
            )
        })?;
    }
    found
        .map(|service| Target::Service(service.clone()))
        .ok_or_else(|| {
            reader.error(
                name.span(),
                "target.service",
                format!(
                    "no service `{}` to run against; {}",
                    name.get_ref(),
                    registered()
                ),
            )
        })
}

fn generator(reader: &Reader, table: Option<&GenerateTable>) -> Result<Generator, ScenarioError> {
    let defaults = Generator::default();
    let Some(table) = table else {
        return Ok(defaults);
    };
    let horizon =
        reader.optional_duration(table.horizon.as_ref(), "generate.horizon", defaults.horizon)?;
    let keep_max = reader.optional_duration(
        table.keep_max.as_ref(),
        "generate.keep_max",
        defaults.keep_max,
    )?;
    let grace = table
        .grace
        .as_ref()
        .map(|grace| reader.duration(grace, "generate.grace"))
        .transpose()?;
    if horizon.is_zero() {
        let span = table.horizon.as_ref().map_or(0..0, Spanned::span);
        return Err(reader.error(span, "generate.horizon", "must be longer than 0ms".into()));
    }
    let paths = match &table.paths {
        None => defaults.paths,
        Some(paths) if paths.is_empty() => {
            return Err(ScenarioError {
                file: reader.path.to_path_buf(),
                line: None,
                field: Some("generate.paths".into()),
                message: "needs at least one path".into(),
            })
        }
        Some(paths) => paths
            .iter()
            .map(|path| {
                check_path(path.get_ref())
                    .map(|()| path.get_ref().clone())
                    .map_err(|reason| reader.error(path.span(), "generate.paths", reason))
            })
            .collect::<Result<_, _>>()?,
    };
    let faults = match &table.faults {
        None => defaults.faults,
        Some(names) => names
            .iter()
            .map(|name| {
                Fault::ALL
                    .into_iter()
                    .find(|fault| fault.name() == name.get_ref())
                    .ok_or_else(|| {
                        reader.error(
                            name.span(),
                            "generate.faults",
                            format!(
                                "unknown fault `{}`, expected one of {}",
                                name.get_ref(),
                                Fault::ALL.map(Fault::name).join(", ")
                            ),
                        )
                    })
            })
            .collect::<Result<_, _>>()?,
    };
    let clients = match &table.clients {
        None => defaults.clients,
        Some(names) if names.is_empty() => {
            return Err(ScenarioError {
                file: reader.path.to_path_buf(),
                line: None,
                field: Some("generate.clients".into()),
                message: "needs at least one client behaviour, e.g. `whole`".into(),
            })
        }
        Some(names) => {
            let mut clients = names
                .iter()
                .map(|name| {
                    Behaviour::from_name(name.get_ref()).ok_or_else(|| {
                        let known: Vec<&str> =
                            Behaviour::ALL.iter().map(|client| client.name()).collect();
                        reader.error(
                            name.span(),
                            "generate.clients",
                            format!(
                                "unknown client behaviour `{}`, expected one of {}",
                                name.get_ref(),
                                known.join(", ")
                            ),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            // Simplest first, whatever the file's order: shrinking moves
            // toward the first.
            clients.sort();
            clients.dedup();
            clients
        }
    };
    for (field, value, max) in [
        ("generate.cycles_max", table.cycles_max, CYCLES_MAX),
        ("generate.requests_max", table.requests_max, REQUESTS_MAX),
        ("generate.faults_max", table.faults_max, FAULTS_MAX),
    ] {
        if value.is_some_and(|value| value > max) {
            return Err(ScenarioError {
                file: reader.path.to_path_buf(),
                line: None,
                field: Some(field.into()),
                message: format!("at most {max}"),
            });
        }
    }
    Ok(Generator {
        horizon,
        cycles_max: table.cycles_max.unwrap_or(defaults.cycles_max),
        requests_max: table.requests_max.unwrap_or(defaults.requests_max),
        paths,
        keep_max,
        stop: table.stop.unwrap_or(defaults.stop),
        grace: grace.or(defaults.grace),
        faults,
        faults_max: table.faults_max.unwrap_or(defaults.faults_max),
        clients,
    })
}

fn kubelet(
    reader: &Reader,
    table: &KubeletTable,
    target: &Target,
) -> Result<KubeletConfig, ScenarioError> {
    let mut defaults = KubeletConfig::default();
    // Probes go to the target's own endpoints; one it lacks is not probed
    // unless the scenario names a path.
    for (probe, path) in [
        (&mut defaults.startup, target.health_path()),
        (&mut defaults.liveness, target.health_path()),
        (&mut defaults.readiness, target.ready_path()),
    ] {
        match path {
            Some(path) => probe.path = path.to_string(),
            None => probe.enabled = false,
        }
    }
    let duration = |value: &Option<Spanned<String>>, field: &str, default| {
        reader.optional_duration(value.as_ref(), &format!("kubelet.{field}"), default)
    };
    let probing = match &table.probing {
        None => defaults.probing,
        Some(name) => Probing::from_name(name.get_ref()).ok_or_else(|| {
            reader.error(
                name.span(),
                "kubelet.probing",
                format!(
                    "unknown probing `{}`, expected `current` (Kubernetes 1.21 on) or `legacy` \
                     (before 1.21)",
                    name.get_ref()
                ),
            )
        })?,
    };
    Ok(KubeletConfig {
        probing,
        startup: probe(reader, table.startup.as_ref(), "startup", defaults.startup)?,
        liveness: probe(
            reader,
            table.liveness.as_ref(),
            "liveness",
            defaults.liveness,
        )?,
        readiness: probe(
            reader,
            table.readiness.as_ref(),
            "readiness",
            defaults.readiness,
        )?,
        termination_grace_period: duration(
            &table.termination_grace_period,
            "termination_grace_period",
            defaults.termination_grace_period,
        )?,
        pre_stop: duration(&table.pre_stop, "pre_stop", defaults.pre_stop)?,
        endpoint_removal_lag: duration(
            &table.endpoint_removal_lag,
            "endpoint_removal_lag",
            defaults.endpoint_removal_lag,
        )?,
    })
}

fn probe(
    reader: &Reader,
    table: Option<&ProbeTable>,
    name: &str,
    defaults: ProbeConfig,
) -> Result<ProbeConfig, ScenarioError> {
    let Some(table) = table else {
        return Ok(defaults);
    };
    let field = |field: &str| format!("kubelet.{name}.{field}");
    let duration = |value: &Option<Spanned<String>>, key: &str, default| {
        reader.optional_duration(value.as_ref(), &field(key), default)
    };
    let threshold = |value: &Option<Spanned<u32>>, key: &str, default: u32| match value {
        None => Ok(default),
        Some(value) if *value.get_ref() == 0 => {
            Err(reader.error(value.span(), &field(key), "must be at least 1".into()))
        }
        Some(value) => Ok(*value.get_ref()),
    };
    let path = match &table.path {
        None => defaults.path,
        Some(path) => {
            check_path(path.get_ref())
                .map_err(|reason| reader.error(path.span(), &field("path"), reason))?;
            path.get_ref().clone()
        }
    };
    let period = duration(&table.period, "period", defaults.period)?;
    if period.is_zero() {
        let span = table.period.as_ref().map_or(0..0, Spanned::span);
        return Err(reader.error(span, &field("period"), "must be longer than 0ms".into()));
    }
    Ok(ProbeConfig {
        enabled: table
            .enabled
            .unwrap_or(defaults.enabled || table.path.is_some()),
        path,
        initial_delay: duration(
            &table.initial_delay,
            "initial_delay",
            defaults.initial_delay,
        )?,
        period,
        timeout: duration(&table.timeout, "timeout", defaults.timeout)?,
        failure_threshold: threshold(
            &table.failure_threshold,
            "failure_threshold",
            defaults.failure_threshold,
        )?,
        success_threshold: threshold(
            &table.success_threshold,
            "success_threshold",
            defaults.success_threshold,
        )?,
    })
}

/// The `[kubelet]` tables of a saved failure: every figure, explicit.
fn render_kubelet(kubelet: &KubeletConfig) -> String {
    let quote = |text: &str| toml::Value::String(text.to_string()).to_string();
    let duration = |value: Duration| quote(&render_duration(value));
    let mut text = format!(
        "\n[kubelet]\nprobing = {}\ntermination_grace_period = {}\npre_stop = {}\n\
         endpoint_removal_lag = {}\n",
        quote(kubelet.probing.name()),
        duration(kubelet.termination_grace_period),
        duration(kubelet.pre_stop),
        duration(kubelet.endpoint_removal_lag)
    );
    for (name, probe) in [
        ("startup", &kubelet.startup),
        ("liveness", &kubelet.liveness),
        ("readiness", &kubelet.readiness),
    ] {
        text.push_str(&format!(
            "\n[kubelet.{name}]\nenabled = {}\npath = {}\ninitial_delay = {}\nperiod = {}\n\
             timeout = {}\nfailure_threshold = {}\nsuccess_threshold = {}\n",
            probe.enabled,
            quote(&probe.path),
            duration(probe.initial_delay),
            duration(probe.period),
            duration(probe.timeout),
            probe.failure_threshold,
            probe.success_threshold
        ));
    }
    text
}

/// The line (from 1) of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&byte| byte == b'\n')
        .count()
        + 1
}

/// The dotted field a parse error at `line` is about: a field the message
/// names as missing, else the key assigned on that line (or on the line that
/// opens the array it is in), under the table header in effect there.
fn field_at(text: &str, line: usize, message: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let upto = &lines[..line.min(lines.len())];
    let table = upto.iter().rev().find_map(|line| {
        let line = line.trim();
        (line.starts_with('[') && !line.starts_with("[[")).then(|| {
            line.trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_string()
        })
    });
    let named = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
        .map(str::to_string);
    let key = named.or_else(|| {
        upto.iter().rev().find_map(|line| {
            let line = line.trim();
            if line.starts_with('[') && !line.contains('=') {
                return Some(None);
            }
            line.split_once('=')
                .map(|(key, _)| Some(key.trim().trim_matches('"').to_string()))
        })?
    });
    match (table, key) {
        (Some(table), Some(key)) => Some(format!("{table}.{key}")),
        (None, Some(key)) => Some(key),
        (Some(table), None) => Some(table),
        (None, None) => None,
    }
}
