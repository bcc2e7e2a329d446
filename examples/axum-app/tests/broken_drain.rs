//! The harness catches the broken app's drain hang: a stop while a stream
//! runs waits for the stream, past the drain deadline.

use std::path::Path;
use std::time::Duration;

use lifecycle_sim::{check, Determinism, Invariant, Scenario, Service, Verdict, BUILTIN_SCENARIOS};

#[test]
fn the_drain_scenario_catches_a_stream_that_ignores_shutdown() {
    let broken = Service::new("axum-app-broken", |launch| async move {
        let listener = launch.bind().await?;
        axum_app::serve(listener, launch.shutdown(), true).await
    })
    .paths(&["/", "/slow", "/stream"])
    .drain_deadline(Duration::from_secs(5));
    let (path, text) = BUILTIN_SCENARIOS
        .iter()
        .find(|(path, _)| path.ends_with("/drain.toml"))
        .expect("the shipped drain scenario");
    let scenario = Scenario::parse_with(Path::new(path), text, &[broken]).expect("it parses");
    let checked = check::judge(&scenario);
    let failure = checked.report.failure.expect("the drain hang is found");
    let Verdict::Violation(violation) = &failure.run.verdict else {
        panic!("not a violation: {}", failure.run.verdict);
    };
    assert_eq!(violation.invariant, Invariant::DrainDeadline, "{violation}");
    assert!(matches!(failure.determinism, Determinism::Identical(_)));
    // The shrunk schedule keeps the stream that held the stop open.
    assert!(
        failure
            .shrunk
            .lines()
            .iter()
            .any(|line| line.contains("/stream")),
        "{}",
        failure.shrunk
    );
}
