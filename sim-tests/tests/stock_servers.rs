//! Stock servers under every shipped black-box scenario: a hyper 1.x service
//! through the hyper adapter, and an axum 0.8 router through `axum::serve`,
//! each with graceful shutdown as its documentation shows. Each scenario runs
//! the case count its file names (500).

use std::path::Path;

use lifecycle_sim::{check, report, Scenario, Service, BUILTIN_SCENARIOS};
use sim_tests::stock;

fn must_pass_every_scenario(service: &Service) {
    let mut failed = Vec::new();
    for (path, text) in BUILTIN_SCENARIOS {
        let mut scenario =
            Scenario::parse_with(Path::new(path), text, std::slice::from_ref(service))
                .unwrap_or_else(|error| panic!("{error}"));
        scenario
            .apply_environment()
            .unwrap_or_else(|error| panic!("{error}"));
        let checked = check::judge(&scenario);
        println!(
            "{} {}",
            service.name(),
            report::summary(&scenario, &checked)
        );
        if let Some(failure) = &checked.report.failure {
            failed.push(report::failure(&scenario, &checked, failure));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn a_stock_hyper_server_passes_every_shipped_scenario() {
    must_pass_every_scenario(&stock::hyper());
}

#[test]
fn a_stock_axum_server_passes_every_shipped_scenario() {
    must_pass_every_scenario(&stock::axum());
}
