//! The app under lifecycle-sim's shipped scenarios: one test per scenario
//! that applies to a gRPC service, saved regressions
//! (tests/lifecycle-regressions/) first.
//!
//! `cargo test` checks the app; `cargo test --features broken` checks the
//! app with its drain bug, and fails with `request-cut`.

mod common;

use lifecycle_sim::Suite;

fn main() {
    let service = common::service("tonic-app", cfg!(feature = "broken"));
    Suite::new().service(service).builtin().main()
}
