//! `run`: scenario files judged against their expectations, reported for
//! people, as JSON lines or as JUnit XML.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use lifecycle_sim::check::{judge_with, save, Checked};
use lifecycle_sim::{printable, report, write_under, Cases, Options, Scenario};

use crate::interrupt::INTERRUPT;
use crate::output::{say, write_stdout};
use crate::{progress, Format, Settings, EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_MET, EXIT_UNMET};

/// Runs the scenario files named (or every `*.toml` under directories) and
/// reports them; the exit code.
pub(crate) fn run(paths: &[PathBuf], settings: &Settings) -> u8 {
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
                if crate::apply_backend(&mut scenario, settings.backend).is_err() {
                    bad = true;
                    continue;
                }
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
    let bar = progress::start(scenario.name.clone(), total);
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
        rerun_blocked: settings.rerun_blocked,
    };
    let mut checked = judge_with(scenario, &options);
    progress::finish(&bar);
    save(scenario, &mut checked, &settings.failures);
    checked
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
    } else if !checked.met {
        // A failure's report names it; a scenario that found nothing it
        // expected has only this line.
        if let Some(peak) = report::peak_rss(checked) {
            say!("     {peak}");
        }
    }
}
