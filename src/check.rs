//! Checking a scenario: run its campaign, judge it against its expectation,
//! and save a failure so it replays.

use std::path::{Path, PathBuf};

use crate::campaign::{Determinism, Report};
use crate::director::Verdict;
use crate::scenario::{Expect, Scenario};
use crate::seed::render_seed;

/// Where failures are saved unless told otherwise, relative to the working directory.
pub const FAILURES_DIRECTORY: &str = "target/lifecycle-sim/failures";

/// A scenario's campaign, judged.
#[derive(Debug, Clone)]
pub struct Checked {
    /// What the campaign found.
    pub report: Report,
    /// Whether that is what the scenario expects.
    pub met: bool,
    /// The saved failure file, if the campaign failed and it could be written.
    pub saved: Option<PathBuf>,
    /// Why the failure could not be saved, if it could not.
    pub save_error: Option<String>,
}

/// Runs a scenario and saves its failure, if any, under `failures`.
pub fn check(scenario: &Scenario, failures: &Path) -> Checked {
    let report = scenario.campaign.run();
    let met = expectation_met(scenario.expect, &report);
    let mut checked = Checked {
        report,
        met,
        saved: None,
        save_error: None,
    };
    if let Some(failure) = &checked.report.failure {
        let file = failures.join(format!(
            "{}-{}.toml",
            scenario.name,
            render_seed(failure.seed)
        ));
        let text = scenario.failure_file(failure, &replay_command(&file));
        let written = std::fs::create_dir_all(failures).and_then(|()| std::fs::write(&file, text));
        match written {
            Ok(()) => checked.saved = Some(file),
            Err(error) => {
                checked.save_error = Some(format!("cannot write {}: {error}", file.display()))
            }
        }
    }
    checked
}

/// Whether a campaign's report is what the scenario expects. A found
/// violation counts only if it replayed identically.
pub fn expectation_met(expect: Expect, report: &Report) -> bool {
    match (expect, &report.failure) {
        (Expect::Pass, None) => true,
        (Expect::Violation(expected), Some(failure)) => {
            let replayed = matches!(failure.determinism, Determinism::Identical(_));
            let found = matches!(&failure.run.verdict, Verdict::Violation(violation) if violation.invariant == expected);
            replayed && found
        }
        _ => false,
    }
}

/// The command that replays a saved failure file.
pub fn replay_command(file: &Path) -> String {
    format!("cargo run --release -- replay {}", file.display())
}
