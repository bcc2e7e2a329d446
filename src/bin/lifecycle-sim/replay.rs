//! `replay`: a saved failure's fixed schedule, run twice, its timeline
//! printed and drawn.

use std::path::Path;

use lifecycle_sim::{compare_runs, printable, Cases, Determinism, Scenario, Verdict};

use crate::output::{say, write_stdout};
use crate::{apply_backend, BackendName, EXIT_BAD_INPUT, EXIT_MET, EXIT_UNMET};

/// Replays a saved failure twice and compares the runs; the exit code.
pub(crate) fn replay(file: &Path, timeline: Option<&Path>, backend: Option<BackendName>) -> u8 {
    let mut scenario = match Scenario::load(file) {
        Ok(scenario) => scenario,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_BAD_INPUT;
        }
    };
    if let Err(code) = apply_backend(&mut scenario, backend) {
        return code;
    }
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
    let identical = match compare_runs(&first, &second) {
        Determinism::Identical(hash) => {
            say!("replays: two runs identical (trace hash {hash:#018x})");
            true
        }
        Determinism::Diverged { index, cause, .. } => {
            say!("replays: NONDETERMINISM: the two runs differ at event #{index}; the cause: {cause}");
            false
        }
        _ => {
            say!("replays: not compared");
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
