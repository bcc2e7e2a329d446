//! Checking a scenario: run its campaign, judge it against its expectation,
//! and name the commands that replay its failure.

use std::path::{Path, PathBuf};

use crate::case::backend::Backend;
use crate::case::seed::{render_seed, SEED_VARIABLE};
use crate::case::verdict::Verdict;
use crate::engine::memory::peak_rss_bytes;
use crate::harness::campaign::{Completion, Determinism, Options, Report};
use crate::harness::scenario::BACKEND_VARIABLE;
use crate::harness::scenario::{Expect, Replay, Scenario};

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
    /// The most memory the process had held resident when the campaign
    /// ended, in bytes: the whole process's so far (every scenario run
    /// before this one in it, every thread), not this campaign's alone.
    /// `None` where the operating system does not say (Linux does).
    pub peak_rss_bytes: Option<u64>,
}

/// Runs a scenario and judges it against its expectation; saves nothing.
pub fn judge(scenario: &Scenario) -> Checked {
    judge_with(scenario, &Options::default())
}

/// [`judge`], running the campaign with `options` (threads, shard, progress).
pub fn judge_with(scenario: &Scenario, options: &Options) -> Checked {
    let report = scenario.campaign.run_with(options);
    // Read once, as the campaign ends: a peak only grows, so this is the
    // most the campaign could have taken the process to.
    let peak_rss_bytes = peak_rss_bytes();
    let met = expectation_met(scenario.expect, &report);
    Checked {
        report,
        met,
        saved: None,
        save_error: None,
        peak_rss_bytes,
    }
}

/// Whether a campaign's report is what the scenario expects. A found
/// violation counts only if it replayed identically; a pass only if every
/// case ran (an interrupted campaign has not shown it).
pub fn expectation_met(expect: Expect, report: &Report) -> bool {
    match (expect, &report.failure) {
        (Expect::Pass, None) => report.completion == Completion::Complete,
        (Expect::Violation(expected), Some(failure)) => {
            // On real threads a failure is evidence if its schedule failed
            // again in one of its confirming runs.
            let replayed = match failure.determinism {
                Determinism::Identical(_) => true,
                Determinism::Repeated { failed, .. } => failed > 0,
                _ => false,
            };
            let found = matches!(&failure.run.verdict, Verdict::Violation(violation) if violation.invariant == expected);
            replayed && found
        }
        _ => false,
    }
}

/// The command that replays a saved failure file with the `lifecycle-sim`
/// command, as this binary was built or installed.
pub fn replay_command(file: &Path) -> String {
    format!("{} replay {}", command_line(), file.display())
}

/// The commands that replay a scenario's failure with this seed: the saved
/// file first, when there is one, then the seed against the scenario. Each
/// works where the user is: the installed command or `cargo run` with the
/// build profile of this run; for a [`Suite`](crate::Suite) test, `cargo
/// test` of the user's own package and binary with this run's profile, and
/// `--exact`, so it runs that one test and no other. A failure found on real
/// threads gets one more: the same case against the simulated backend.
pub fn replay_commands(scenario: &Scenario, seed: u64, saved: Option<&Path>) -> Vec<String> {
    let seed = format!("{SEED_VARIABLE}={}", render_seed(seed));
    let threads = scenario.campaign.setup.backend != Backend::Simulated;
    match &scenario.replay {
        Replay::Cli => {
            let run = format!("{} run", command_line());
            let path = scenario.path.display();
            let mut commands: Vec<String> = saved.map(replay_command).into_iter().collect();
            commands.push(format!("{seed} {run} {path}"));
            if threads {
                // Found on real threads: the simulation may open the same
                // window, and would replay it exactly.
                commands.push(format!("{seed} {run} --backend simulated {path}"));
            }
            commands
        }
        Replay::Test { binary, trial } => {
            let cargo_test = cargo_test(binary);
            let mut commands: Vec<String> = saved
                .map(|file| {
                    let stem = file
                        .file_stem()
                        .map_or_else(String::new, |stem| stem.to_string_lossy().into_owned());
                    format!("{cargo_test} -- regression::{stem} --exact")
                })
                .into_iter()
                .collect();
            commands.push(format!("{seed} {cargo_test} -- {trial} --exact"));
            if threads {
                commands.push(format!(
                    "{BACKEND_VARIABLE}=simulated {seed} {cargo_test} -- {trial} --exact"
                ));
            }
            commands
        }
    }
}

/// `cargo test` of the running test binary: its package (cargo and nextest
/// set `CARGO_PKG_NAME` for the tests they run), its build profile, and its
/// test target.
fn cargo_test(binary: &str) -> String {
    let package = std::env::var("CARGO_PKG_NAME")
        .ok()
        .filter(|name| !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(String::new, |name| format!(" -p {name}"));
    let profile = cargo_profile_flag().unwrap_or_default();
    format!("cargo test{package}{profile} --test {binary}")
}

/// How to run the `lifecycle-sim` command as this one was run: `cargo run`
/// with this build's profile when it is a build in a cargo target directory
/// (a checkout of lifecycle-sim), else the installed command.
fn command_line() -> String {
    match cargo_profile_flag() {
        Some(profile) => format!("cargo run{profile} --"),
        None => "lifecycle-sim".to_string(),
    }
}

/// The cargo flag that selects the running executable's build profile:
/// empty for the dev (and test) profile's `debug` directory, ` --release`,
/// or ` --profile NAME`. Cargo puts a build of profile `P` in `<target>/P/`
/// (test binaries in `<target>/P/deps/`), a directory that holds cargo's
/// `.fingerprint` records; `None` for an executable elsewhere (installed).
fn cargo_profile_flag() -> Option<String> {
    let executable = std::env::current_exe().ok()?;
    let mut directory = executable.parent()?;
    if directory.file_name().is_some_and(|name| name == "deps") {
        directory = directory.parent()?;
    }
    if !directory.join(".fingerprint").is_dir() {
        return None;
    }
    Some(match directory.file_name()?.to_string_lossy().as_ref() {
        "debug" => String::new(),
        "release" => " --release".to_string(),
        other => format!(" --profile {other}"),
    })
}
