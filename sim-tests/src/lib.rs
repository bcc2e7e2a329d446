//! Helpers shared by the property tests under `tests/`: where the built-in
//! scenarios and fixtures are, and how to load one as a user would.

use std::path::{Path, PathBuf};

pub mod check_then_wait;
pub mod fixtures;
pub mod published;
pub mod stock;

use lifecycle_sim::{
    cases_from_environment, parse_seed, Case, Cases, Determinism, Failure, Invariant, Run,
    Scenario, Service, Verdict, Violation, BUILTIN_SCENARIOS,
};

/// Whether, after SIGTERM, a client saw its connection reset rather than
/// answered: the cut a drain that drops its connections makes.
pub fn reset_after_sigterm(events: &[lifecycle_sim::Event]) -> bool {
    use lifecycle_sim::{EventKind, Outcome};
    let Some(sigterm) = events
        .iter()
        .position(|event| event.kind == EventKind::Sigterm)
    else {
        return false;
    };
    events[sigterm..].iter().any(|event| {
        matches!(
            event.kind,
            EventKind::Observed {
                outcome: Outcome::Reset,
                ..
            }
        )
    })
}

/// The repository's `scenarios/` directory.
pub fn scenarios_directory() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// The repository's `fixtures/` directory.
pub fn fixtures_directory() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// The file names of every built-in scenario directly under `scenarios/`, sorted.
pub fn scenario_files() -> Vec<String> {
    let root = scenarios_directory();
    Scenario::files(std::slice::from_ref(&root))
        .unwrap_or_else(|error| panic!("{error}"))
        .into_iter()
        .filter(|file| file.parent() == Some(root.as_path()))
        .filter_map(|file| {
            file.file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .collect()
}

/// Loads a built-in scenario by file name, with `LIFECYCLE_SEED` and
/// `LIFECYCLE_CASES` applied, as the CLI would.
pub fn scenario(file_name: &str) -> Scenario {
    let mut scenario = edited_scenario(file_name, |text| text);
    scenario
        .apply_environment()
        .unwrap_or_else(|error| panic!("{error}"));
    scenario
}

/// Loads a built-in scenario by file name, its text first changed by `edit`
/// (a test's variation of a shipped file), without the environment applied.
/// Errors name the built-in file.
pub fn edited_scenario(file_name: &str, edit: impl FnOnce(String) -> String) -> Scenario {
    let path = scenarios_directory().join(file_name);
    let text = Scenario::read_text(&path).unwrap_or_else(|error| panic!("{error}"));
    Scenario::parse(&path, &edit(text)).unwrap_or_else(|error| panic!("{error}"))
}

/// The case count a built-in scenario's file names, without the environment.
pub fn file_cases(file_name: &str) -> u64 {
    match edited_scenario(file_name, |text| text).campaign.cases {
        Cases::Generated { count, .. } => count,
        _ => panic!("{file_name}: not a generated scenario"),
    }
}

/// The cases a passing run of a built-in generated scenario must reach, as
/// `scenario` loads it: one under `LIFECYCLE_SEED`, `LIFECYCLE_CASES` if set,
/// else the count its file names.
pub fn expected_cases(file_name: &str) -> u64 {
    // Read here, not through the harness, so the harness's precedence is checked.
    let seed = std::env::var("LIFECYCLE_SEED").ok();
    let cases = cases_from_environment().unwrap_or_else(|error| panic!("{error}"));
    match (seed, cases) {
        (Some(seed), _) => {
            parse_seed(&seed).unwrap_or_else(|error| panic!("{error}"));
            1
        }
        (None, Some(cases)) => cases,
        (None, None) => file_cases(file_name),
    }
}

/// Runs a buggy scenario and returns its failure, asserting that the oracle
/// saw `invariant` broken (not merely that something failed) and that the
/// failure replays identically.
pub fn must_find(file_name: &str, invariant: Invariant) -> Failure {
    let report = scenario(file_name).campaign.run();
    let failure = report
        .failure
        .unwrap_or_else(|| panic!("{file_name}: nothing found in {} cases", report.cases_run));
    assert_broke(&failure, invariant, file_name);
    assert!(
        matches!(failure.determinism, Determinism::Identical(_)),
        "{file_name}: the failure did not replay identically: {:?}",
        failure.determinism
    );
    failure
}

/// A shipped black-box scenario (`scenarios/service/<name>.toml`) against
/// `service`, with `LIFECYCLE_SEED` and `LIFECYCLE_CASES` applied.
pub fn shipped(name: &str, service: &Service) -> Scenario {
    let (path, text) = BUILTIN_SCENARIOS
        .iter()
        .find(|(path, _)| Path::new(path).file_stem().is_some_and(|stem| stem == name))
        .unwrap_or_else(|| panic!("no shipped scenario {name}"));
    let mut scenario = Scenario::parse_with(Path::new(path), text, std::slice::from_ref(service))
        .unwrap_or_else(|error| panic!("{error}"));
    scenario
        .apply_environment()
        .unwrap_or_else(|error| panic!("{error}"));
    scenario
}

/// Runs a fixed scenario and asserts every case passed; returns the cases run.
pub fn must_pass(file_name: &str) -> u64 {
    must_pass_scenario(&scenario(file_name))
}

/// Runs a loaded scenario's campaign and asserts every case passed, showing
/// the failing case's trace otherwise; returns the cases run.
pub fn must_pass_scenario(scenario: &Scenario) -> u64 {
    let report = scenario.campaign.run();
    if let Some(failure) = &report.failure {
        panic!(
            "{}: case seed {:#x} failed: {}\n{}",
            scenario.name,
            failure.seed,
            failure.run.verdict,
            lifecycle_sim::render_trace(&failure.run.events)
        );
    }
    report.cases_run
}

/// Runs one pinned case seed of a scenario and returns its shrunk failure,
/// asserting that the oracle saw `invariant` broken (not merely that
/// something failed).
pub fn pinned_failure(file_name: &str, seed: u64, invariant: Invariant) -> Failure {
    let mut campaign = scenario(file_name).campaign;
    campaign.cases = Cases::Seed(seed);
    let failure = campaign
        .run()
        .failure
        .unwrap_or_else(|| panic!("{file_name}: pinned seed {seed:#x} no longer fails"));
    assert_broke(
        &failure,
        invariant,
        &format!("{file_name}: pinned seed {seed:#x}"),
    );
    failure
}

/// Asserts that the oracle saw `invariant` broken in `failure`, not merely
/// that something failed; `what` names the run in the message.
fn assert_broke(failure: &Failure, invariant: Invariant, what: &str) {
    match &failure.run.verdict {
        Verdict::Violation(violation) if violation.invariant == invariant => {}
        other => panic!("{what}: expected {invariant}, got {other}"),
    }
}

/// Runs the schedule a buggy scenario generates for `seed` against its fixed
/// twin (the same seed, the repaired variant): the twin test of a found bug.
pub fn twin_run(buggy_file: &str, fixed_file: &str, seed: u64) -> Run {
    let buggy = scenario(buggy_file).campaign;
    let case = Case {
        seed,
        schedule: buggy.schedule(seed),
    };
    scenario(fixed_file).campaign.run_case(&case)
}

/// The shrunk schedule and the timeline of a failure, as snapshots hold them.
pub fn shrunk_timeline(failure: &Failure) -> String {
    format!(
        "schedule:\n{}timeline:\n{}",
        failure.shrunk,
        lifecycle_sim::report::timeline(&failure.run.events, &failure.run.verdict, "  ")
    )
}

/// The violation of a failure, which must be one.
pub fn violation(failure: &Failure) -> &Violation {
    match &failure.run.verdict {
        Verdict::Violation(violation) => violation,
        other => panic!("not a violation: {other}"),
    }
}

/// Asserts the shipped scenario `name` finds `invariant` in `service`
/// within 20 cases, median over the base seeds 1 to 20 (200 cases at most
/// each): every one must find it, its reason saying `reason_has`. Prints
/// and returns the sorted cases each took.
pub fn found_within_twenty_cases_median(
    name: &str,
    service: &Service,
    invariant: lifecycle_sim::Invariant,
    reason_has: &str,
) -> Vec<u64> {
    let mut cases = Vec::new();
    for base_seed in 1..=20_u64 {
        let mut scenario = shipped(name, service);
        scenario.campaign.cases = lifecycle_sim::Cases::Generated {
            base_seed,
            count: 200,
        };
        let report = scenario.campaign.run();
        let failure = report
            .failure
            .unwrap_or_else(|| panic!("base seed {base_seed}: not found in 200 cases"));
        let lifecycle_sim::Verdict::Violation(violation) = &failure.run.verdict else {
            panic!("base seed {base_seed}: {}", failure.run.verdict);
        };
        assert_eq!(
            violation.invariant,
            invariant,
            "{violation}\n{}{}",
            failure.shrunk,
            lifecycle_sim::render_trace(&failure.run.events)
        );
        assert!(
            violation.reason.contains(reason_has),
            "{}",
            violation.reason
        );
        cases.push(report.cases_run);
    }
    cases.sort_unstable();
    let median = (cases[9] + cases[10]) / 2;
    println!("cases to find, base seeds 1..=20: {cases:?}; median {median}");
    assert!(median <= 20, "median {median}: {cases:?}");
    cases
}

/// Runs the shipped scenario `name` against `service` and checks that it
/// finds `request-cut` of a request the server accepted, and that the
/// failure replays identically. Returns the cases run and the shrunk
/// schedule, printed too.
pub fn finds_a_cut_of_an_accepted_request(name: &str, service: &Service) -> (u64, String) {
    finds_a_cut(name, service, "accepted by the server")
}

/// [`finds_a_cut_of_an_accepted_request`], for a cut whose reason says
/// `reason_has`.
pub fn finds_a_cut(name: &str, service: &Service, reason_has: &str) -> (u64, String) {
    let scenario = shipped(name, service);
    let checked = lifecycle_sim::check::judge(&scenario);
    let failure = checked
        .report
        .failure
        .unwrap_or_else(|| panic!("nothing found in {} cases", checked.report.cases_run));
    let lifecycle_sim::Verdict::Violation(violation) = &failure.run.verdict else {
        panic!("{}", failure.run.verdict);
    };
    assert_eq!(
        violation.invariant,
        lifecycle_sim::Invariant::RequestCut,
        "{violation}"
    );
    assert!(
        violation.reason.contains(reason_has),
        "{}",
        violation.reason
    );
    assert!(
        matches!(
            failure.determinism,
            lifecycle_sim::Determinism::Identical(_)
        ),
        "{:?}",
        failure.determinism
    );
    let shrunk = failure.shrunk.to_string();
    println!(
        "found in {} cases; shrunk to:\n{shrunk}",
        checked.report.cases_run
    );
    (checked.report.cases_run, shrunk)
}
