//! One test per scenario file under `scenarios/`: each must meet its
//! expectation. Saved regressions (`scenarios/regressions/`) run first.
//! `LIFECYCLE_SEED` and `LIFECYCLE_CASES` apply, as with the CLI.

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use lifecycle_sim::check::check;
use lifecycle_sim::{report, Scenario};
use sim_tests::scenarios_directory;

fn main() {
    let arguments = Arguments::from_args();
    let root = scenarios_directory();
    let mut files =
        Scenario::files(std::slice::from_ref(&root)).unwrap_or_else(|error| panic!("{error}"));
    assert!(
        !files.is_empty(),
        "no scenario files under {}",
        root.display()
    );
    // Regressions first: a bug that came back should be the first thing seen.
    files.sort_by_key(|file| (!file.starts_with(root.join("regressions")), file.clone()));
    let trials = files
        .into_iter()
        .map(|file| {
            let name = file
                .strip_prefix(&root)
                .unwrap_or(&file)
                .with_extension("")
                .display()
                .to_string();
            Trial::test(name, move || run(&file))
        })
        .collect();
    libtest_mimic::run(&arguments, trials).exit();
}

fn run(file: &Path) -> Result<(), Failed> {
    let mut scenario = Scenario::load(file).map_err(|error| error.to_string())?;
    scenario
        .apply_environment()
        .map_err(|error| error.to_string())?;
    let failures = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lifecycle-sim-failures");
    let checked = check(&scenario, &failures);
    if checked.met {
        return Ok(());
    }
    let mut message = report::summary(&scenario, &checked);
    if let Some(failure) = &checked.report.failure {
        message.push('\n');
        message.push_str(&report::failure(&scenario, &checked, failure));
    }
    Err(message.into())
}
