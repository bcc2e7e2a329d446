//! The data-driven test harness: one test per scenario file, for your
//! project's `cargo test` and `cargo nextest`.
//!
//! A [`Suite`] holds your services and the scenarios to run against them:
//! the black-box scenarios shipped inside this crate ([`Suite::builtin`]),
//! your own files ([`Suite::directory`], [`Suite::file`]), and the saved
//! regressions, which always run first. Each becomes one test, named after
//! its scenario and service, so a failure names what broke. A failing case is
//! saved under the regressions directory as a scenario file that replays it:
//! commit it, and it runs first from then on, failing until the bug is fixed.
//!
//! ```no_run
//! // tests/lifecycle.rs, with `harness = false` for it in Cargo.toml
//! use lifecycle_sim::{Service, Suite};
//!
//! fn main() {
//!     let service = Service::new("my-api", |launch| async move {
//!         let _listener = launch.bind().await?;
//!         launch.shutdown().await;
//!         Ok(())
//!     });
//!     Suite::new().service(service).builtin().main();
//! }
//! ```

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};

mod output;
mod save;

pub use self::output::{write_under, OutputError};
pub use self::save::{check, save, FAILURES_DIRECTORY};
use crate::core::service::Service;
use crate::harness::check::judge;
use crate::harness::name::check_name;
use crate::harness::printable::printable;
use crate::harness::scenario::{backend_from_environment, BACKEND_VARIABLE};
use crate::harness::scenario::{Replay, Scenario, ANY_SERVICE};
use crate::report;

/// Where failures are saved, and regressions read, unless told otherwise:
/// relative to the package root, where `cargo test` runs tests.
pub const REGRESSIONS_DIRECTORY: &str = "tests/lifecycle-regressions";

/// The black-box scenarios shipped inside the crate: their paths in the
/// crate and their text.
pub const BUILTIN_SCENARIOS: [(&str, &str); 9] = [
    (
        "scenarios/service/startup.toml",
        include_str!("../../scenarios/service/startup.toml"),
    ),
    (
        "scenarios/service/drain.toml",
        include_str!("../../scenarios/service/drain.toml"),
    ),
    (
        "scenarios/service/drain-h2.toml",
        include_str!("../../scenarios/service/drain-h2.toml"),
    ),
    (
        "scenarios/service/drain-grpc.toml",
        include_str!("../../scenarios/service/drain-grpc.toml"),
    ),
    (
        "scenarios/service/probes.toml",
        include_str!("../../scenarios/service/probes.toml"),
    ),
    (
        "scenarios/service/probes-grpc.toml",
        include_str!("../../scenarios/service/probes-grpc.toml"),
    ),
    (
        "scenarios/service/probes-legacy.toml",
        include_str!("../../scenarios/service/probes-legacy.toml"),
    ),
    (
        "scenarios/service/restart.toml",
        include_str!("../../scenarios/service/restart.toml"),
    ),
    (
        "scenarios/service/network.toml",
        include_str!("../../scenarios/service/network.toml"),
    ),
];

/// Where a scenario's text comes from.
#[derive(Debug, Clone)]
enum Source {
    /// Shipped in the crate.
    Builtin(&'static str, &'static str),
    /// A file on disk.
    File(PathBuf),
}

/// Services, the scenarios to run against them, and where regressions live.
#[derive(Debug, Clone)]
pub struct Suite {
    services: Vec<Service>,
    sources: Vec<Source>,
    regressions: PathBuf,
    cases: Option<u64>,
}

impl Default for Suite {
    fn default() -> Self {
        Suite::new()
    }
}

impl Suite {
    /// An empty suite saving failures under [`REGRESSIONS_DIRECTORY`].
    pub fn new() -> Suite {
        Suite {
            services: Vec::new(),
            sources: Vec::new(),
            regressions: PathBuf::from(REGRESSIONS_DIRECTORY),
            cases: None,
        }
    }

    /// Adds a service: scenarios with `service = "*"` run against each, and
    /// scenarios naming it by name run against it.
    pub fn service(mut self, service: Service) -> Self {
        self.services.push(service);
        self
    }

    /// Adds the black-box scenarios shipped inside the crate.
    pub fn builtin(mut self) -> Self {
        self.sources.extend(
            BUILTIN_SCENARIOS
                .iter()
                .map(|(path, text)| Source::Builtin(path, text)),
        );
        self
    }

    /// Adds one scenario file.
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.sources.push(Source::File(path.into()));
        self
    }

    /// Adds every `*.toml` below a directory (read when the tests are listed;
    /// a missing directory is a failing test, not a silent pass).
    pub fn directory(mut self, path: impl AsRef<Path>) -> Self {
        match Scenario::files(&[path.as_ref().to_path_buf()]) {
            Ok(files) => self.sources.extend(files.into_iter().map(Source::File)),
            Err(_) => self.sources.push(Source::File(path.as_ref().to_path_buf())),
        }
        self
    }

    /// Where failures are saved as regression files, and read back from to
    /// run first. Default: [`REGRESSIONS_DIRECTORY`].
    pub fn regressions(mut self, path: impl Into<PathBuf>) -> Self {
        self.regressions = path.into();
        self
    }

    /// Runs this many cases of every generated scenario instead of what each
    /// file says (`LIFECYCLE_CASES` still wins).
    pub fn cases(mut self, cases: u64) -> Self {
        self.cases = Some(cases);
        self
    }

    /// The tests: saved regressions first, then each scenario against each
    /// service it applies to. Each test's closure owns what it needs.
    pub fn trials(&self) -> Vec<Trial> {
        let binary = test_binary();
        let regressions = Scenario::files(std::slice::from_ref(&self.regressions))
            .unwrap_or_default()
            .into_iter()
            .map(|path| Spec {
                name: format!("regression::{}", label_of(&path)),
                source: Source::File(path),
                service: None,
            });
        let scenarios = self.sources.iter().flat_map(|source| {
            let label = source.label();
            let text = source.read().ok();
            let any = text
                .as_deref()
                .and_then(Scenario::service_named)
                .is_some_and(|name| name == ANY_SERVICE);
            if !any {
                // A built-in model, a named service, or a file that cannot
                // be read: one test, which reports what is wrong.
                return vec![Spec {
                    name: label,
                    source: source.clone(),
                    service: None,
                }];
            }
            // A scenario whose clients send an HTTP the service does not
            // serve is not one of its tests (`Scenario::applies_to`).
            self.services
                .iter()
                .filter(|service| {
                    text.as_deref()
                        .is_none_or(|text| Scenario::applies_to(text, service))
                })
                .map(|service| Spec {
                    name: format!("{label}::{}", service.name()),
                    source: source.clone(),
                    service: Some(service.clone()),
                })
                .collect()
        });
        regressions
            .chain(scenarios)
            .map(|spec| {
                let suite = self.clone();
                let replay = Replay::Test {
                    binary: binary.clone(),
                    trial: spec.name.clone(),
                };
                Trial::test(spec.name.clone(), move || suite.run_one(&spec, replay))
            })
            .collect()
    }

    /// Runs the suite as a test binary's `main`: parses libtest's
    /// arguments (filters, `--list`, `--test-threads`, nextest's), runs, and
    /// exits with the tests' status.
    pub fn main(self) -> ! {
        crate::harness::determinism::warn_if_not_replayable();
        let (arguments, filters) = arguments(std::env::args().skip(1));
        let trials = self
            .trials()
            .into_iter()
            .filter(|trial| selected(&filters, trial.name()))
            .collect();
        libtest_mimic::run(&arguments, trials).exit()
    }

    /// Runs one test: loads the scenario against its service, checks it, and
    /// saves a failure as a regression.
    fn run_one(&self, spec: &Spec, replay: Replay) -> Result<(), Failed> {
        let text = spec.source.read().map_err(Failed::from)?;
        // A `"*"` scenario runs against the one service of its test.
        let services = match &spec.service {
            Some(service) => std::slice::from_ref(service),
            None => self.services.as_slice(),
        };
        let mut scenario = Scenario::parse_with(&spec.source.path(), &text, services)
            .map_err(|error| error.to_string())?;
        if let (Some(cases), crate::harness::campaign::Cases::Generated { count, .. }) =
            (self.cases, &mut scenario.campaign.cases)
        {
            *count = cases;
        }
        scenario
            .apply_environment()
            .map_err(|error| error.to_string())?;
        let backend = &scenario.campaign.setup.backend;
        if let Some(backend) = backend_from_environment(backend)? {
            scenario
                .set_backend(backend)
                .map_err(|error| format!("{BACKEND_VARIABLE}: {error}"))?;
        }
        if spec.service.is_some() {
            // The test's name names its failure files: it must be a name
            // too (the file's stem and the service's name are checked apart).
            let name = spec.name.replace("::", "-");
            check_name(&name).map_err(|reason| {
                format!(
                    "{}: the test `{}`: {reason}",
                    spec.source.path().display(),
                    printable(&spec.name)
                )
            })?;
            scenario.name = name;
        }
        scenario.replay = replay;
        let mut checked = judge(&scenario);
        if checked.met {
            return Ok(());
        }
        // Only an unmet expectation is a regression worth keeping.
        save(&scenario, &mut checked, &self.regressions);
        let mut message = report::summary(&scenario, &checked);
        match &checked.report.failure {
            // The failure's report names the peak resident set itself.
            Some(failure) => {
                message.push('\n');
                message.push_str(&report::failure(&scenario, &checked, failure));
            }
            None => {
                if let Some(peak) = report::peak_rss(&checked) {
                    message.push_str(&format!("\n  memory:    {peak}\n"));
                }
            }
        }
        if !crate::harness::determinism::replayable() {
            message.push_str(crate::harness::determinism::NOT_REPLAYABLE);
        }
        Err(message.into())
    }
}

/// One test: a scenario, and the service a `"*"` scenario runs against.
struct Spec {
    name: String,
    source: Source,
    service: Option<Service>,
}

impl Source {
    /// The scenario's text.
    fn read(&self) -> Result<String, String> {
        match self {
            Source::Builtin(_, text) => Ok(text.to_string()),
            Source::File(path) => Scenario::read_text(path).map_err(|error| error.to_string()),
        }
    }

    fn label(&self) -> String {
        label_of(&self.path())
    }

    fn path(&self) -> PathBuf {
        match self {
            Source::Builtin(path, _) => PathBuf::from(path),
            Source::File(path) => path.clone(),
        }
    }
}

/// A test's label: the scenario file's stem.
fn label_of(path: &Path) -> String {
    path.file_stem().map_or_else(
        || "scenario".into(),
        |stem| stem.to_string_lossy().into_owned(),
    )
}

/// The name `cargo test --test <name>` knows this test binary by: the
/// executable's name without the hash cargo appends.
fn test_binary() -> String {
    let stem = std::env::current_exe()
        .ok()
        .and_then(|path| {
            path.file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    match stem.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            name.to_string()
        }
        _ => stem,
    }
}

/// The flags of libtest's command line that take a value as the next
/// argument: what follows them is no filter.
const FLAGS_WITH_VALUE: [&str; 6] = [
    "--test-threads",
    "--logfile",
    "--skip",
    "--color",
    "--format",
    "-Z",
];

/// A test name filter, as libtest reads one: a substring, or with `--exact`
/// the whole name.
struct Filter {
    text: String,
    exact: bool,
}

impl Filter {
    fn matches(&self, name: &str) -> bool {
        if self.exact {
            name == self.text
        } else {
            name.contains(self.text.as_str())
        }
    }
}

/// Whether the test `name` runs: every test with no filters, else a test
/// some filter matches.
fn selected(filters: &[Filter], name: &str) -> bool {
    filters.is_empty() || filters.iter().any(|filter| filter.matches(name))
}

/// libtest's arguments, taking any number of name filters as libtest does
/// (`-- a b` runs the tests matching `a` or `b`); libtest-mimic alone takes
/// one. With several, they are returned to apply here and libtest-mimic
/// gets none; with one or none, libtest-mimic gets it and none is returned.
fn arguments(raw: impl Iterator<Item = String>) -> (Arguments, Vec<Filter>) {
    let raw: Vec<String> = raw.collect();
    let mut flags = Vec::new();
    let mut texts = Vec::new();
    let mut position = 0;
    while position < raw.len() {
        let argument = &raw[position];
        if FLAGS_WITH_VALUE.contains(&argument.as_str()) {
            flags.extend(raw[position..(position + 2).min(raw.len())].iter().cloned());
            position += 2;
            continue;
        }
        if argument.starts_with('-') {
            flags.push(argument.clone());
        } else {
            texts.push(argument.clone());
        }
        position += 1;
    }
    if texts.len() <= 1 {
        // libtest-mimic filters (and counts what it filtered out) itself.
        let arguments = Arguments::from_iter(std::iter::once("test".to_string()).chain(raw));
        return (arguments, Vec::new());
    }
    let arguments = Arguments::from_iter(std::iter::once("test".to_string()).chain(flags));
    let exact = arguments.exact;
    let filters = texts
        .into_iter()
        .map(|text| Filter { text, exact })
        .collect();
    (arguments, filters)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_run(arguments_text: &str) -> Vec<&'static str> {
        let (_, filters) = arguments(arguments_text.split_whitespace().map(str::to_string));
        [
            "drain::a",
            "drain::b",
            "probes::a",
            "regression::drain-a-0x1",
        ]
        .into_iter()
        .filter(|name| selected(&filters, name))
        .collect()
    }

    #[test]
    fn several_filters_run_the_tests_matching_any_of_them() {
        assert_eq!(names_run("probes drain::b"), ["drain::b", "probes::a"]);
        assert_eq!(
            names_run("--exact drain::a probes::a --test-threads 1"),
            ["drain::a", "probes::a"]
        );
        // A flag's value is no filter.
        assert_eq!(
            names_run("--skip probes drain::a regression"),
            ["drain::a", "regression::drain-a-0x1"]
        );
    }

    #[test]
    fn one_filter_or_none_is_left_to_libtest_mimic() {
        let (arguments, _) = arguments(["drain", "--exact"].into_iter().map(str::to_string));
        assert_eq!(arguments.filter.as_deref(), Some("drain"));
        assert!(arguments.exact);
        assert_eq!(names_run("").len(), 4);
    }
}
