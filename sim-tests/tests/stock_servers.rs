//! The stock hyper and axum servers under every shipped black-box scenario.

use lifecycle_sim::{report, Scenario, BUILTIN_SCENARIOS};
use sim_tests::stock;
use std::path::Path;

#[test]
fn survey() {
    for service in [stock::hyper(), stock::axum()] {
        for (path, text) in BUILTIN_SCENARIOS {
            let mut scenario = Scenario::parse_with(Path::new(path), text, std::slice::from_ref(&service)).unwrap();
            scenario.apply_environment().unwrap();
            let checked = lifecycle_sim::check::judge(&scenario);
            println!("{} {}", service.name(), report::summary(&scenario, &checked));
            if let Some(failure) = &checked.report.failure {
                println!("{}", report::failure(&scenario, &checked, failure));
            }
        }
    }
}

#[test]
fn trace_of_one() {
    use lifecycle_sim::{Case, Schedule, Setup};
    let schedule = Schedule::parse_lines(&["0ms start", "10ms request /slow keep=1s", "20ms request /", "500ms request /health", "1000ms stop grace=30s", "1100ms request /health", "1200ms request /ready"]).unwrap();
    for service in [stock::hyper(), stock::axum()] {
        let setup = Setup::new(service);
        let run = lifecycle_sim::director::run(&setup, &Case { seed: 1, schedule: schedule.clone() });
        println!("{}\n{}", lifecycle_sim::trace::render(&run.events), run.verdict);
    }
}
