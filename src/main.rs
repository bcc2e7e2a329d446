//! The `lifecycle-sim` command: run scenarios, replay a saved failure.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lifecycle_sim::check::{check, FAILURES_DIRECTORY};
use lifecycle_sim::{compare, report, Cases, Determinism, Scenario, Verdict};

/// Every expectation was met.
const EXIT_MET: u8 = 0;
/// An expectation was not met, or a replayed schedule violates an invariant.
const EXIT_UNMET: u8 = 100;
/// The input could not be used.
const EXIT_BAD_INPUT: u8 = 2;

/// Deterministic simulation testing of service lifecycle races.
///
/// Exit codes: 0 every expectation met (replay: the schedule passes);
/// 100 an expectation not met (replay: the schedule violates an invariant or
/// does not replay identically); 2 bad input.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenario files (or every *.toml under directories) and judge each
    /// against its expectation. LIFECYCLE_SEED runs one case seed;
    /// LIFECYCLE_CASES sets the case count.
    Run {
        /// Scenario files or directories.
        #[arg(default_value = "scenarios")]
        paths: Vec<PathBuf>,
        /// Where failing cases are saved as replayable scenario files.
        #[arg(long, default_value = FAILURES_DIRECTORY)]
        failures: PathBuf,
    },
    /// Run a saved failure's fixed schedule twice: print its timeline and
    /// verdict, and whether the two runs were identical.
    Replay {
        /// A scenario file with a fixed `schedule` and `run.seed`.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    lifecycle_sim::determinism::warn_if_not_replayable();
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run { paths, failures } => run(&paths, &failures),
        Command::Replay { file } => replay(&file),
    };
    ExitCode::from(code)
}

fn run(paths: &[PathBuf], failures: &Path) -> u8 {
    let files = match Scenario::files(paths) {
        Ok(files) => files,
        Err(message) => {
            eprintln!("error: {message}");
            return EXIT_BAD_INPUT;
        }
    };
    let mut scenarios = Vec::new();
    let mut bad = false;
    for file in &files {
        // A scenario for a user's service runs where the service is: in
        // that project's tests, through a `Suite`.
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if let Some(service) = Scenario::service_named(&text) {
            println!(
                "skip {}: runs against a registered service (`{service}`), from a Suite in your tests",
                file.display()
            );
            continue;
        }
        match Scenario::load(file) {
            Ok(mut scenario) => match scenario.apply_environment() {
                Ok(()) => scenarios.push(scenario),
                Err(error) => {
                    eprintln!("error: {error}");
                    return EXIT_BAD_INPUT;
                }
            },
            Err(error) => {
                eprintln!("error: {error}");
                bad = true;
            }
        }
    }
    if bad {
        return EXIT_BAD_INPUT;
    }
    let mut all_met = true;
    for scenario in &scenarios {
        let checked = check(scenario, failures);
        println!("{}", report::summary(scenario, &checked));
        if let Some(failure) = &checked.report.failure {
            if checked.met {
                if let Some(saved) = &checked.saved {
                    println!("     saved: {}", saved.display());
                }
            } else {
                print!("{}", report::failure(scenario, &checked, failure));
            }
        }
        all_met &= checked.met;
    }
    if all_met {
        EXIT_MET
    } else {
        EXIT_UNMET
    }
}

fn replay(file: &Path) -> u8 {
    let scenario = match Scenario::load(file) {
        Ok(scenario) => scenario,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_BAD_INPUT;
        }
    };
    let campaign = &scenario.campaign;
    let Cases::Fixed(case) = &campaign.cases else {
        eprintln!(
            "error: {}: not a saved schedule (it has no `schedule` field); run it with `lifecycle-sim run`",
            file.display()
        );
        return EXIT_BAD_INPUT;
    };
    let first = campaign.run_case(case);
    let second = campaign.run_case(case);
    println!(
        "{}: {} (seed {:#018x})",
        scenario.name, campaign.setup.target, case.seed
    );
    println!("schedule:");
    for line in case.schedule.lines() {
        println!("  {line}");
    }
    println!("timeline:");
    print!("{}", lifecycle_sim::trace::render(&first.events));
    println!("verdict: {}", first.verdict);
    let identical = match compare(&first.events, &second.events) {
        Determinism::Identical(hash) => {
            println!("replays: two runs identical (trace hash {hash:#018x})");
            true
        }
        Determinism::Diverged { index, .. } => {
            println!("replays: NONDETERMINISM: the two runs differ at event #{index}");
            false
        }
    };
    if first.verdict == Verdict::Pass && identical {
        EXIT_MET
    } else {
        EXIT_UNMET
    }
}
