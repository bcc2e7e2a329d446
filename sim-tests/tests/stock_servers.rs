//! Stock servers under every shipped black-box scenario: a hyper 1.x service
//! through the hyper adapter, a hyper 1.x server written by hand as
//! hyper-util's graceful-shutdown example shows, an axum 0.8 router
//! through `axum::serve`, and a poem 3 route table through poem's `Server`
//! over a custom acceptor, and a tonic 0.14 server with its drain bounded
//! by its deadline (the stock tonic server's drain hangs: `tests/grpc.rs`),
//! each with graceful shutdown as its documentation shows. In CI each scenario runs the case count its file names (500); the
//! ignored `*_at_ten_thousand_cases` tests run each at 10,000 cases on every
//! core (`cargo test --release -p sim-tests --test sim -- stock_servers::
//! --ignored --test-threads 1 --nocapture` prints each scenario's count and
//! time),
//! the budget a zero-false-alarm claim is made at.

use std::path::Path;

use lifecycle_sim::{check, report, Cases, Options, Scenario, Service, BUILTIN_SCENARIOS};
use sim_tests::stock;

fn must_pass_every_scenario(service: &Service) {
    must_pass_every_scenario_at(service, None);
}

/// Runs every shipped scenario against `service`, at its own case count or
/// at `cases`, on every core.
fn must_pass_every_scenario_at(service: &Service, cases: Option<u64>) {
    let mut failed = Vec::new();
    for (path, text) in BUILTIN_SCENARIOS {
        if !Scenario::applies_to(text, service) {
            continue;
        }
        let mut scenario =
            Scenario::parse_with(Path::new(path), text, std::slice::from_ref(service))
                .unwrap_or_else(|error| panic!("{error}"));
        scenario
            .apply_environment()
            .unwrap_or_else(|error| panic!("{error}"));
        if let (Some(count), Cases::Generated { base_seed, .. }) = (cases, &scenario.campaign.cases)
        {
            scenario.campaign.cases = Cases::Generated {
                base_seed: *base_seed,
                count,
            };
        }
        let jobs = std::thread::available_parallelism().map_or(1, usize::from);
        let options = Options {
            jobs: if cases.is_some() { jobs } else { 1 },
            ..Options::default()
        };
        let checked = check::judge_with(&scenario, &options);
        println!(
            "{} {}",
            service.name(),
            report::summary(&scenario, &checked)
        );
        if let Some(failure) = &checked.report.failure {
            failed.push(report::failure(&scenario, &checked, failure));
        } else if let Cases::Generated { count, .. } = &scenario.campaign.cases {
            // A pass counts only at the budget it reached.
            assert_eq!(checked.report.cases_run, *count, "{path}");
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn a_stock_hyper_server_passes_every_shipped_scenario() {
    must_pass_every_scenario(&stock::hyper());
}

#[test]
fn a_stock_hyper_auto_server_passes_every_shipped_scenario() {
    must_pass_every_scenario(&stock::hyper_auto());
}

#[test]
fn a_stock_axum_server_passes_every_shipped_scenario() {
    must_pass_every_scenario(&stock::axum());
}

#[test]
fn a_stock_poem_server_passes_every_shipped_scenario() {
    must_pass_every_scenario(&stock::poem());
}

#[test]
fn a_hand_written_hyper_server_passes_every_shipped_scenario() {
    must_pass_every_scenario(&stock::hyper_by_hand());
}

/// The budget of the zero-false-alarm runs: `LIFECYCLE_CASES` or 10,000.
fn large_budget() -> u64 {
    std::env::var("LIFECYCLE_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(10_000)
}

#[test]
#[ignore = "10,000 cases a scenario: minutes, outside CI's budget"]
fn the_hyper_adapter_passes_every_shipped_scenario_at_ten_thousand_cases() {
    must_pass_every_scenario_at(&stock::hyper(), Some(large_budget()));
}

#[test]
#[ignore = "10,000 cases a scenario: minutes, outside CI's budget"]
fn a_hand_written_hyper_server_passes_every_shipped_scenario_at_ten_thousand_cases() {
    must_pass_every_scenario_at(&stock::hyper_by_hand(), Some(large_budget()));
}

#[test]
#[ignore = "10,000 cases a scenario: minutes, outside CI's budget"]
fn a_stock_axum_server_passes_every_shipped_scenario_at_ten_thousand_cases() {
    must_pass_every_scenario_at(&stock::axum(), Some(large_budget()));
}

#[test]
#[ignore = "10,000 cases a scenario: minutes, outside CI's budget"]
fn a_stock_poem_server_passes_every_shipped_scenario_at_ten_thousand_cases() {
    must_pass_every_scenario_at(&stock::poem(), Some(large_budget()));
}

#[test]
#[ignore = "10,000 cases a scenario: minutes, outside CI's budget"]
fn a_stock_hyper_auto_server_passes_every_shipped_scenario_at_ten_thousand_cases() {
    must_pass_every_scenario_at(&stock::hyper_auto(), Some(large_budget()));
}

#[test]
#[ignore = "10,000 cases a scenario: minutes, outside CI's budget"]
fn a_stock_axum_server_over_http2_passes_every_shipped_scenario_at_ten_thousand_cases() {
    must_pass_every_scenario_at(&stock::axum_auto(), Some(large_budget()));
}

#[test]
fn a_tonic_server_with_a_bounded_drain_passes_every_shipped_scenario() {
    must_pass_every_scenario(&stock::tonic_bounded());
}

#[test]
#[ignore = "10,000 cases a scenario: minutes, outside CI's budget"]
fn a_tonic_server_with_a_bounded_drain_passes_every_shipped_scenario_at_ten_thousand_cases() {
    must_pass_every_scenario_at(&stock::tonic_bounded(), Some(large_budget()));
}
