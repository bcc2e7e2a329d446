//! The threads backend: the same scenarios on real threads and sockets.

use lifecycle_sim::{render_trace, Backend, Cases, Options, Threads};
use sim_tests::{shipped, stock};

#[test]
fn smoke_stock_servers_pass_drain_under_threads() {
    for service in [stock::hyper_by_hand(), stock::axum(), stock::hyper()] {
        for name in ["drain", "startup"] {
            let mut scenario = shipped(name, &service);
            scenario.campaign.setup.backend = Backend::Threads(Threads::default());
            scenario.campaign.cases = Cases::Generated {
                base_seed: 1,
                count: 16,
            };
            let started = std::time::Instant::now();
            let report = scenario.campaign.run_with(&Options {
                jobs: 8,
                ..Options::default()
            });
            println!(
                "{} {name}: {} cases in {:?}",
                service.name(),
                report.cases_run,
                started.elapsed()
            );
            if let Some(failure) = &report.failure {
                panic!(
                    "{}\n{}\n{}",
                    failure.run.verdict,
                    failure.shrunk,
                    render_trace(&failure.run.events)
                );
            }
        }
    }
}

#[test]
fn probe_one_case() {
    let service = stock::hyper_by_hand();
    let mut scenario = shipped("drain", &service);
    scenario.campaign.setup.backend = Backend::Threads(Threads::default());
    for index in 0..4 {
        let (case, _) = (scenario.campaign.schedule(index), ());
        let case = lifecycle_sim::Case {
            seed: index,
            schedule: case,
        };
        let started = std::time::Instant::now();
        let run = scenario.campaign.run_case(&case);
        println!(
            "wall {:?} elapsed {:?} {}\n{}\n{}",
            started.elapsed(),
            run.elapsed,
            run.verdict,
            case.schedule,
            render_trace(&run.events)
        );
    }
}
