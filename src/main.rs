//! The `lifecycle-sim` command: list what is built in, run scenarios
//! (sharded, on many threads, with reports for people and for CI), replay a
//! saved failure.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use lifecycle_sim::check::{judge_with, save, Checked, FAILURES_DIRECTORY};
use lifecycle_sim::seed::parse_seed;
use lifecycle_sim::{
    compare, printable, report, write_under, Cases, Determinism, Invariant, Model, Options,
    Scenario, Shard, Verdict, BUILTIN_SCENARIOS,
};

/// Every expectation was met.
const EXIT_MET: u8 = 0;
/// An expectation was not met, or a replayed schedule violates an invariant.
const EXIT_UNMET: u8 = 100;
/// The input could not be used.
const EXIT_BAD_INPUT: u8 = 2;

/// The exit codes, under every command's `--help`.
const EXIT_CODES_HELP: &str = "Exit codes:
  0    every expectation met (replay: the schedule passes and replays identically)
  100  an expectation not met (replay: the schedule violates an invariant or does not replay identically)
  2    bad input: a malformed scenario file, a bad flag value, an unwritable output";

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
    /// Exits 0.
    List,
    /// Run scenario files (or every *.toml under directories) and judge each
    /// against its expectation. LIFECYCLE_SEED runs one case seed;
    /// LIFECYCLE_CASES sets the case count; --seed wins over LIFECYCLE_SEED
    /// and --cases over LIFECYCLE_CASES.
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

fn seed_argument(text: &str) -> Result<u64, String> {
    parse_seed(text).map_err(|error| error.to_string())
}

/// The progress bar of the scenario running now, so that logs print above it.
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Log output that suspends the progress bar while it writes.
struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let bar = BAR.lock().ok().and_then(|bar| bar.clone());
        match bar {
            Some(bar) => bar.suspend(|| std::io::stderr().write(bytes)),
            None => std::io::stderr().write(bytes),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(|| LogWriter)
        .init();
    lifecycle_sim::determinism::warn_if_not_replayable();
    let cli = Cli::parse();
    let code = match cli.command {
        Command::List => list(),
        Command::Run {
            paths,
            failures,
            cases,
            seed,
            jobs,
            shard,
            format,
            out,
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
            };
            run(&paths, &settings)
        }
        Command::Replay { file, timeline } => replay(&file, timeline.as_deref()),
    };
    ExitCode::from(code)
}

fn list() -> u8 {
    println!("models (target.model, with variant buggy or fixed):");
    for model in Model::ALL {
        println!("  {:<22} {}", model.name(), model.description());
    }
    println!("invariants (oracles; * = black-box, applies to any service):");
    for invariant in Invariant::ALL {
        let mark = if invariant.black_box() { "*" } else { " " };
        println!(
            "  {mark}{:<31} {}",
            invariant.name(),
            invariant.description()
        );
    }
    println!("scenarios shipped in the crate (target.service = \"*\", run by a Suite):");
    for (path, text) in BUILTIN_SCENARIOS {
        let description = toml::from_str::<toml::Value>(text)
            .ok()
            .and_then(|value| value.get("description")?.as_str().map(str::to_string))
            .unwrap_or_default();
        println!("  {path:<32} {description}");
    }
    EXIT_MET
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
}

fn run(paths: &[PathBuf], settings: &Settings) -> u8 {
    let scenarios = match load(paths, settings) {
        Ok(scenarios) => scenarios,
        Err(code) => return code,
    };
    // Human lines go to stdout unless stdout carries a machine format.
    let human = settings.format == Format::Human || settings.out.is_some();
    let mut results: Vec<(Scenario, Checked)> = Vec::new();
    let mut json = Vec::new();
    for scenario in scenarios {
        let checked = check(&scenario, settings);
        if human {
            print_human(&scenario, &checked);
        }
        json.extend(report::json_lines(&scenario, &checked));
        results.push((scenario, checked));
    }
    let machine = match settings.format {
        Format::Human => None,
        Format::Json => Some(("lifecycle-sim.jsonl", json.join("\n") + "\n")),
        Format::Junit => {
            let pairs: Vec<(&Scenario, &Checked)> = results
                .iter()
                .map(|(scenario, checked)| (scenario, checked))
                .collect();
            Some(("lifecycle-sim.xml", report::junit(&pairs)))
        }
    };
    if let Some((name, text)) = machine {
        match &settings.out {
            Some(directory) => match write_under(directory, name, &text) {
                Ok(file) => println!("wrote {}", printable(&file.display().to_string())),
                Err(error) => {
                    eprintln!("error: {error}");
                    return EXIT_BAD_INPUT;
                }
            },
            None => print!("{text}"),
        }
    }
    // A failure that could not be saved (an unwritable or unsafe output
    // directory) is bad input: its report said why.
    if let Some(error) = results
        .iter()
        .find_map(|(_, checked)| checked.save_error.as_ref())
    {
        eprintln!("error: {}", printable(error));
        return EXIT_BAD_INPUT;
    }
    if results.iter().all(|(_, checked)| checked.met) {
        EXIT_MET
    } else {
        EXIT_UNMET
    }
}

/// Loads the scenarios named, with the environment and the flags applied;
/// a scenario for a user's service is skipped with a line saying why.
fn load(paths: &[PathBuf], settings: &Settings) -> Result<Vec<Scenario>, u8> {
    let files = Scenario::files(paths).map_err(|message| {
        eprintln!("error: {message}");
        EXIT_BAD_INPUT
    })?;
    let mut scenarios = Vec::new();
    let mut bad = false;
    for file in &files {
        // Read once, bounded: a file too large is refused by `load` below.
        let text = Scenario::read_text(file).unwrap_or_default();
        if let Some(service) = Scenario::service_named(&text) {
            // Written to stderr, so a machine format on stdout stays clean.
            eprintln!(
                "skip {}: runs against a registered service (`{}`), from a Suite in your tests",
                printable(&file.display().to_string()),
                printable(&service)
            );
            continue;
        }
        match Scenario::load(file) {
            Ok(mut scenario) => {
                let as_written = scenario.campaign.cases.clone();
                if let Err(error) = scenario.apply_environment() {
                    eprintln!("error: {error}");
                    return Err(EXIT_BAD_INPUT);
                }
                // --seed wins over LIFECYCLE_SEED: the campaign stays generated.
                if let (Some(_), Cases::Seed(_), Cases::Generated { base_seed, count }) =
                    (settings.seed, &scenario.campaign.cases, as_written)
                {
                    let count = lifecycle_sim::seed::cases_from_environment()
                        .ok()
                        .flatten()
                        .unwrap_or(count);
                    scenario.campaign.cases = Cases::Generated { base_seed, count };
                }
                if let Cases::Generated { base_seed, count } = &mut scenario.campaign.cases {
                    *count = settings.cases.unwrap_or(*count);
                    *base_seed = settings.seed.unwrap_or(*base_seed);
                    if *count == 0 {
                        // Only LIFECYCLE_CASES can say 0 here: the file and --cases cannot.
                        eprintln!(
                            "error: LIFECYCLE_CASES=0: a run of 0 cases would pass having checked nothing"
                        );
                        return Err(EXIT_BAD_INPUT);
                    }
                }
                scenarios.push(scenario);
            }
            Err(error) => {
                eprintln!("error: {error}");
                bad = true;
            }
        }
    }
    if bad {
        Err(EXIT_BAD_INPUT)
    } else {
        Ok(scenarios)
    }
}

/// Runs one scenario with a progress bar (when stderr is a terminal) and
/// saves its failure.
fn check(scenario: &Scenario, settings: &Settings) -> Checked {
    let total = scenario.campaign.case_seeds(settings.shard).len() as u64;
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:<28} [{bar:30}] {pos}/{len} cases {per_sec} {msg} [{elapsed}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(scenario.name.clone());
    bar.enable_steady_tick(Duration::from_millis(200));
    if let Ok(mut current) = BAR.lock() {
        *current = Some(bar.clone());
    }
    let progress = |done: u64, found: u64| {
        bar.set_position(done);
        bar.set_message(format!("violations {found}"));
    };
    let options = Options {
        jobs: settings.jobs,
        shard: settings.shard,
        progress: Some(&progress),
    };
    let mut checked = judge_with(scenario, &options);
    bar.finish_and_clear();
    if let Ok(mut current) = BAR.lock() {
        *current = None;
    }
    save(scenario, &mut checked, &settings.failures);
    checked
}

fn print_human(scenario: &Scenario, checked: &Checked) {
    println!("{}", report::summary(scenario, checked));
    if let Some(failure) = &checked.report.failure {
        if checked.met {
            if let Some(saved) = &checked.saved {
                println!("     saved: {}", saved.display());
            }
        } else {
            print!("{}", report::failure(scenario, checked, failure));
        }
    }
}

fn replay(file: &Path, timeline: Option<&Path>) -> u8 {
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
        printable(&scenario.name),
        campaign.setup.target,
        case.seed
    );
    println!("schedule:");
    for line in case.schedule.lines() {
        println!("  {line}");
    }
    println!("timeline:");
    print!("{}", lifecycle_sim::trace::render(&first.events));
    println!("verdict: {}", printable(&first.verdict.to_string()));
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
    if let Some(picture) = timeline {
        let title = format!("{}: seed {:#018x}", scenario.name, case.seed);
        let svg = lifecycle_sim::svg::render(&first.events, &first.verdict, &title);
        if let Err(error) = std::fs::write(picture, svg) {
            eprintln!("error: cannot write {}: {error}", picture.display());
            return EXIT_BAD_INPUT;
        }
        println!("timeline picture: {}", picture.display());
    }
    if first.verdict == Verdict::Pass && identical {
        EXIT_MET
    } else {
        EXIT_UNMET
    }
}
