//! Saving a failure so it replays: a scenario file that pins its seed and
//! shrunk schedule, and its timeline as a picture beside it.

use std::path::Path;

use super::output::write_under;
use crate::case::seed::render_seed;
use crate::harness::check::{judge, replay_commands, Checked};
use crate::harness::scenario::Scenario;

/// Where failures are saved unless told otherwise, relative to the working directory.
pub const FAILURES_DIRECTORY: &str = "target/lifecycle-sim/failures";

/// Runs a scenario and saves its failure, if any, under `failures`.
pub fn check(scenario: &Scenario, failures: &Path) -> Checked {
    let mut checked = judge(scenario);
    save(scenario, &mut checked, failures);
    checked
}

/// Saves a checked scenario's failure, if it has one, as a scenario file
/// under `failures` that replays it.
pub fn save(scenario: &Scenario, checked: &mut Checked, failures: &Path) {
    let Some(failure) = &checked.report.failure else {
        return;
    };
    // The name is checked when the scenario is read; `write_under` keeps
    // the files inside `failures` whatever it is.
    let stem = format!("{}-{}", scenario.name, render_seed(failure.seed));
    let file = failures.join(format!("{stem}.toml"));
    let replay = replay_commands(scenario, failure.seed, Some(&file));
    let text = scenario.failure_file(failure, &replay[0]);
    // The timeline as a picture, next to the file that replays it.
    let picture = crate::report::svg(
        &failure.run.events,
        &failure.run.verdict,
        &format!("{}: seed {}", scenario.name, render_seed(failure.seed)),
    );
    let written = write_under(failures, &format!("{stem}.toml"), &text)
        .and_then(|saved| write_under(failures, &format!("{stem}.svg"), &picture).map(|_| saved));
    match written {
        Ok(saved) => checked.saved = Some(saved),
        Err(error) => checked.save_error = Some(error.to_string()),
    }
}
