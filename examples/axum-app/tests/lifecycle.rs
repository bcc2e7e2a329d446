//! The app under lifecycle-sim's shipped scenarios: one test per scenario,
//! saved regressions (tests/lifecycle-regressions/) first.
//!
//! `cargo test` checks the app; `cargo test --features broken` checks the
//! app with its drain bug, and fails with `drain-deadline`.

use std::time::Duration;

use lifecycle_sim::{Service, Suite};

fn main() {
    let service = Service::new("axum-app", |launch| async move {
        let listener = launch.bind().await?;
        axum_app::serve(listener, launch.shutdown(), cfg!(feature = "broken")).await
    })
    .paths(&["/", "/slow", "/stream"])
    .drain_deadline(Duration::from_secs(5));
    Suite::new().service(service).builtin().main()
}
