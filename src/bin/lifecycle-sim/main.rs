//! The `lifecycle-sim` command: list what is built in, run scenarios
//! (sharded, on many threads, with reports for people and for CI), replay a
//! saved failure.
//!
//! This file reads the command line; [`list`], [`run`] and [`replay`] are the
//! commands, [`output`] writes stdout, [`progress`] draws the progress bar
//! and routes the logs, and [`interrupt`] catches Ctrl-C.

mod interrupt;
mod list;
mod output;
mod progress;
mod replay;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use clap::{Parser, Subcommand, ValueEnum};
use lifecycle_sim::check::FAILURES_DIRECTORY;
use lifecycle_sim::parse_seed;
use lifecycle_sim::{Backend, Scenario, Shard};

use self::interrupt::catch_interrupts;
use self::output::{STDOUT, STDOUT_FAILED};
use self::progress::LogWriter;

// Counts the bytes each case holds, so a case is judged against its
// `memory_max` (see `lifecycle_sim::Allocator`).
#[global_allocator]
static ALLOCATOR: lifecycle_sim::Allocator = lifecycle_sim::Allocator;

/// Every expectation was met.
const EXIT_MET: u8 = 0;
/// An expectation was not met, or a replayed schedule violates an invariant.
const EXIT_UNMET: u8 = 100;
/// The input could not be used.
const EXIT_BAD_INPUT: u8 = 2;
/// `run` was interrupted (Ctrl-C): it reported the cases run before it.
/// 128 + SIGINT, as a shell reports a command that SIGINT ended.
const EXIT_INTERRUPTED: u8 = 130;

/// The exit codes, under every command's `--help`.
const EXIT_CODES_HELP: &str = "Exit codes:
  0    every expectation met (replay: the schedule passes and replays identically)
  100  an expectation not met, among them a run judged blocked or over memory_max (replay: the
       schedule violates an invariant or does not replay identically)
  2    bad input: a malformed scenario file, a bad flag value, an unwritable output
  130  interrupted (run: the first Ctrl-C lets the cases running finish and reports the cases run;
       a second Ctrl-C exits at once)";

/// Deterministic simulation testing of service lifecycle races.
///
/// Logs go to stderr, filtered by RUST_LOG.
#[derive(Parser)]
#[command(version, about, long_about, after_help = EXIT_CODES_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the built-in models and their variants, the invariants, and the
    /// scenarios shipped in the crate, each with one line on what it is.
    /// Exits 0, also when its reader stops early (`| head`).
    List,
    /// Run scenario files (or every *.toml under directories) and judge each
    /// against its expectation. LIFECYCLE_SEED runs one case seed;
    /// LIFECYCLE_CASES sets the case count; --seed wins over LIFECYCLE_SEED
    /// and --cases over LIFECYCLE_CASES. Ctrl-C stops it between cases and
    /// reports the cases run (exit 130).
    #[command(after_help = EXIT_CODES_HELP)]
    Run {
        /// Scenario files or directories.
        #[arg(default_value = "scenarios")]
        paths: Vec<PathBuf>,
        /// Where failing cases are saved as replayable scenario files (with
        /// an SVG timeline beside each).
        #[arg(long, default_value = FAILURES_DIRECTORY)]
        failures: PathBuf,
        /// Cases each generated scenario runs: at least 1 (0 would pass
        /// having checked nothing, and is refused).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        cases: Option<u64>,
        /// The base seed of each generated scenario (decimal or 0x hex);
        /// case seeds derive from it.
        #[arg(long, value_parser = seed_argument)]
        seed: Option<u64>,
        /// Threads, one simulation each. Default: every core. Results do not
        /// depend on it.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
        jobs: Option<u64>,
        /// Run share I of N (1-based) of each scenario's cases: case i
        /// belongs to share i mod N, so N machines together run every case once.
        #[arg(long, value_parser = Shard::parse)]
        shard: Option<Shard>,
        /// What to print: human lines, JSON lines, or a JUnit XML document.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Write the JSON lines (lifecycle-sim.jsonl) or JUnit XML
        /// (lifecycle-sim.xml) here, and print the human lines.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Run a case judged blocked again, to check that it replays and to
        /// shrink it. Off by default: each run of it takes its `blocked_max`
        /// in wall time and may leave a thread behind.
        #[arg(long)]
        rerun_blocked: bool,
        #[arg(long, value_enum, help = BACKEND_HELP)]
        backend: Option<BackendName>,
    },
    /// Run a saved failure's fixed schedule twice: print its timeline and
    /// verdict, and whether the two runs were identical.
    #[command(after_help = EXIT_CODES_HELP)]
    Replay {
        /// A scenario file with a fixed `schedule` and `run.seed`.
        file: PathBuf,
        /// Also draw the timeline as an SVG picture into this file.
        #[arg(long)]
        timeline: Option<PathBuf>,
        #[arg(long, value_enum, help = BACKEND_HELP)]
        backend: Option<BackendName>,
    },
}

/// What `run` prints.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// One line per scenario, and a report for each unmet expectation.
    Human,
    /// One JSON record per scenario and per failure.
    Json,
    /// A JUnit XML document: one test case per scenario.
    Junit,
}

/// `--backend`'s help, on each command that has it.
const BACKEND_HELP: &str = "Run on this backend, whatever the scenario file says: simulated \
    (turmoil's simulation, which replays a seed exactly) or threads (a user's service on real \
    threads, sockets and time, with the file's threads settings or their defaults). A scenario \
    that cannot run there (threads: a built-in model, a network fault) is bad input (exit 2)";

/// Where the cases run, as `--backend` names it.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendName {
    /// turmoil's simulation.
    Simulated,
    /// real threads, sockets and time.
    Threads,
}

/// Puts `scenario` on the backend `--backend` names, if it names one: the
/// threads backend keeps the settings the file gave it, or gets the
/// defaults. A scenario that cannot run there is bad input, reported.
fn apply_backend(scenario: &mut Scenario, name: Option<BackendName>) -> Result<(), u8> {
    let backend = match name {
        None => return Ok(()),
        Some(BackendName::Simulated) => Backend::Simulated,
        Some(BackendName::Threads) => Backend::Threads(
            scenario
                .campaign
                .setup
                .backend
                .threads()
                .copied()
                .unwrap_or_default(),
        ),
    };
    scenario.set_backend(backend).map_err(|error| {
        eprintln!("error: --backend {}: {error}", backend.name());
        EXIT_BAD_INPUT
    })
}

fn seed_argument(text: &str) -> Result<u64, String> {
    parse_seed(text).map_err(|error| error.to_string())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(|| LogWriter)
        .init();
    lifecycle_sim::warn_if_not_replayable();
    let cli = Cli::parse();
    if matches!(cli.command, Command::Run { .. }) {
        catch_interrupts();
    }
    let code = match cli.command {
        Command::List => list::list(),
        Command::Run {
            paths,
            failures,
            cases,
            seed,
            jobs,
            shard,
            format,
            out,
            rerun_blocked,
            backend,
        } => {
            let jobs = jobs.map_or_else(
                || std::thread::available_parallelism().map_or(1, |cores| cores.get()),
                |jobs| jobs as usize,
            );
            let settings = Settings {
                failures,
                cases,
                seed,
                jobs,
                shard: shard.unwrap_or(Shard::ALL),
                format,
                out,
                rerun_blocked,
                backend,
            };
            run::run(&paths, &settings)
        }
        Command::Replay {
            file,
            timeline,
            backend,
        } => replay::replay(&file, timeline.as_deref(), backend),
    };
    if STDOUT.load(Ordering::Relaxed) == STDOUT_FAILED {
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    ExitCode::from(code)
}

/// How `run` runs and reports.
struct Settings {
    failures: PathBuf,
    cases: Option<u64>,
    seed: Option<u64>,
    jobs: usize,
    shard: Shard,
    format: Format,
    out: Option<PathBuf>,
    rerun_blocked: bool,
    backend: Option<BackendName>,
}
