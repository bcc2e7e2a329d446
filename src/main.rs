//! The `lifecycle-sim` command: list what is built in, run scenarios
//! (sharded, on many threads, with reports for people and for CI), replay a
//! saved failure.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use lifecycle_sim::check::{judge_with, save, Checked, FAILURES_DIRECTORY};
use lifecycle_sim::parse_seed;
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
/// `run` was interrupted (Ctrl-C): it reported the cases run before it.
/// 128 + SIGINT, as a shell reports a command that SIGINT ended.
const EXIT_INTERRUPTED: u8 = 130;

/// The exit codes, under every command's `--help`.
const EXIT_CODES_HELP: &str = "Exit codes:
  0    every expectation met (replay: the schedule passes and replays identically)
  100  an expectation not met (replay: the schedule violates an invariant or does not replay identically)
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

/// Set by the first Ctrl-C during `run`: campaigns start no more cases.
static INTERRUPT: AtomicBool = AtomicBool::new(false);

/// What became of stdout: [`STDOUT_OPEN`], [`STDOUT_CLOSED`] or [`STDOUT_FAILED`].
static STDOUT: AtomicU8 = AtomicU8::new(STDOUT_OPEN);
/// Every write so far went through.
const STDOUT_OPEN: u8 = 0;
/// The reader went away (`| head`): the rest is dropped, the exit code stands.
const STDOUT_CLOSED: u8 = 1;
/// A write failed otherwise (a full disk): said once on stderr, and exit 2.
const STDOUT_FAILED: u8 = 2;

/// Writes `text` to stdout. `println!` panics on a closed pipe (exit 101);
/// a reader that stops early has read what it wanted, so the rest is
/// dropped and the command ends as it would have.
fn write_stdout(text: &str) {
    if STDOUT.load(Ordering::Relaxed) != STDOUT_OPEN {
        return;
    }
    let written = std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .and_then(|()| std::io::stdout().flush());
    match written {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT.store(STDOUT_CLOSED, Ordering::Relaxed);
        }
        Err(error) => {
            STDOUT.store(STDOUT_FAILED, Ordering::Relaxed);
            eprintln!("error: cannot write to stdout: {error}");
        }
    }
}

/// `println!` through [`write_stdout`].
macro_rules! say {
    ($($argument:tt)*) => {
        write_stdout(&format!("{}\n", format_args!($($argument)*)))
    };
}

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
    lifecycle_sim::warn_if_not_replayable();
    let cli = Cli::parse();
    if matches!(cli.command, Command::Run { .. }) {
        catch_interrupts();
    }
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
    if STDOUT.load(Ordering::Relaxed) == STDOUT_FAILED {
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    ExitCode::from(code)
}

/// Catches Ctrl-C on a thread of its own: the first sets [`INTERRUPT`], so
/// the cases running finish (each is bounded in simulated and wall time)
/// and `run` reports what ran; the second exits at once. If the handler
/// cannot be installed, Ctrl-C ends the command as the default handler does.
#[cfg(unix)]
fn catch_interrupts() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build();
    // Installed here, before any case runs; one stream for both presses,
    // so a second that comes quickly is not lost between them.
    let interrupts = runtime.and_then(|runtime| {
        let interrupts = {
            let _context = runtime.enter();
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?
        };
        Ok((runtime, interrupts))
    });
    let (runtime, mut interrupts) = match interrupts {
        Ok(installed) => installed,
        Err(error) => {
            tracing::warn!(%error, "Ctrl-C will end the run without a report");
            return;
        }
    };
    std::thread::spawn(move || {
        runtime.block_on(async {
            if interrupts.recv().await.is_none() {
                return;
            }
            INTERRUPT.store(true, Ordering::Relaxed);
            let _ = LogWriter.write_all(
                b"interrupted: finishing the cases running, then reporting (Ctrl-C again to exit at once)\n",
            );
            if interrupts.recv().await.is_some() {
                std::process::exit(i32::from(EXIT_INTERRUPTED));
            }
        });
    });
}

/// Elsewhere Ctrl-C ends the command at once, without a report.
#[cfg(not(unix))]
fn catch_interrupts() {}

fn list() -> u8 {
    say!("models (target.model, with variant buggy or fixed):");
    for model in Model::ALL {
        say!("  {:<22} {}", model.name(), model.description());
    }
    say!("invariants (oracles; * = black-box, applies to any service):");
    for invariant in Invariant::ALL {
        let mark = if invariant.black_box() { "*" } else { " " };
        say!(
            "  {mark}{:<31} {}",
            invariant.name(),
            invariant.description()
        );
    }
    say!("scenarios shipped in the crate (target.service = \"*\", run by a Suite):");
    for (path, text) in BUILTIN_SCENARIOS {
        let description = toml::from_str::<toml::Value>(text)
            .ok()
            .and_then(|value| value.get("description")?.as_str().map(str::to_string))
            .unwrap_or_default();
        say!("  {path:<32} {description}");
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
    let count = scenarios.len();
    for scenario in scenarios {
        if INTERRUPT.load(Ordering::Relaxed) {
            break;
        }
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
                Ok(file) => say!("wrote {}", printable(&file.display().to_string())),
                Err(error) => {
                    eprintln!("error: {error}");
                    return EXIT_BAD_INPUT;
                }
            },
            None => write_stdout(&text),
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
    if INTERRUPT.load(Ordering::Relaxed) {
        let line = format!(
            "interrupted (Ctrl-C): {} of {} reported, each with the cases it ran",
            results.len(),
            report::count(count as u64, "scenario")
        );
        // A machine format on stdout stays clean.
        if human {
            say!("{line}");
        } else {
            eprintln!("{line}");
        }
        return EXIT_INTERRUPTED;
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
                    let count = lifecycle_sim::cases_from_environment()
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
    let total = scenario.campaign.case_count(settings.shard);
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:<28} [{bar:30}] {pos}/{len} cases {rate} {msg} [{elapsed}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key(
            "rate",
            |state: &ProgressState, text: &mut dyn std::fmt::Write| {
                let _ = text.write_str(&rate(state.per_sec()));
            },
        )
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
        // Off a terminal the bar is hidden: `RUST_LOG=lifecycle_sim::progress=debug`
        // follows the campaign case by case instead.
        tracing::debug!(target: "lifecycle_sim::progress", scenario = %scenario.name, done, found, "case done");
    };
    let options = Options {
        jobs: settings.jobs,
        shard: settings.shard,
        progress: Some(&progress),
        interrupt: Some(&INTERRUPT),
    };
    let mut checked = judge_with(scenario, &options);
    bar.finish_and_clear();
    if let Ok(mut current) = BAR.lock() {
        *current = None;
    }
    save(scenario, &mut checked, &settings.failures);
    checked
}

/// Cases per second as the progress bar shows them: whole numbers, with
/// one decimal below 10 (indicatif's own `{per_sec}` shows four).
fn rate(per_second: f64) -> String {
    if !per_second.is_finite() || per_second < 0.0 {
        "-/s".to_string()
    } else if per_second < 10.0 {
        format!("{per_second:.1}/s")
    } else {
        format!("{per_second:.0}/s")
    }
}

fn print_human(scenario: &Scenario, checked: &Checked) {
    say!("{}", report::summary(scenario, checked));
    if let Some(failure) = &checked.report.failure {
        if checked.met {
            if let Some(saved) = &checked.saved {
                say!("     saved: {}", saved.display());
            }
        } else {
            write_stdout(&report::failure(scenario, checked, failure));
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
    say!(
        "{}: {} (seed {:#018x})",
        printable(&scenario.name),
        campaign.setup.target,
        case.seed
    );
    say!("schedule:");
    for line in case.schedule.lines() {
        say!("  {line}");
    }
    say!("timeline:");
    write_stdout(&lifecycle_sim::render_trace(&first.events));
    say!("verdict: {}", printable(&first.verdict.to_string()));
    let identical = match compare(&first.events, &second.events) {
        Determinism::Identical(hash) => {
            say!("replays: two runs identical (trace hash {hash:#018x})");
            true
        }
        Determinism::Diverged { index, .. } => {
            say!("replays: NONDETERMINISM: the two runs differ at event #{index}");
            false
        }
    };
    if let Some(picture) = timeline {
        let title = format!("{}: seed {:#018x}", scenario.name, case.seed);
        let svg = lifecycle_sim::report::svg(&first.events, &first.verdict, &title);
        if let Err(error) = std::fs::write(picture, svg) {
            eprintln!("error: cannot write {}: {error}", picture.display());
            return EXIT_BAD_INPUT;
        }
        say!("timeline picture: {}", picture.display());
    }
    if first.verdict == Verdict::Pass && identical {
        EXIT_MET
    } else {
        EXIT_UNMET
    }
}

#[cfg(test)]
mod tests {
    use super::rate;

    #[test]
    fn the_progress_rate_shows_at_most_one_decimal() {
        assert_eq!(rate(131.4176), "131/s");
        assert_eq!(rate(9.87), "9.9/s");
        assert_eq!(rate(0.0), "0.0/s");
        assert_eq!(rate(12_345.5), "12346/s");
        assert_eq!(rate(f64::INFINITY), "-/s");
    }
}
