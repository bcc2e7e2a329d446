//! One test per built-in model scenario under `scenarios/`, through the same
//! `Suite` users run: each must meet its expectation. A failure is saved
//! under `scenarios/regressions/`, which holds none today; once committed
//! there, a regression runs first. `LIFECYCLE_SEED` and
//! `LIFECYCLE_CASES` apply, as with the CLI. The shipped black-box scenarios
//! (`scenarios/service/`) run against stock servers in `stock_servers.rs`.

use lifecycle_sim::Suite;
use sim_tests::{scenario_files, scenarios_directory};

// A `Suite`'s binary installs the allocator as the README tells users to,
// so each scenario's cases are judged against their `memory_max`.
#[global_allocator]
static ALLOCATOR: lifecycle_sim::Allocator = lifecycle_sim::Allocator;

fn main() {
    let root = scenarios_directory();
    let files = scenario_files();
    assert!(
        !files.is_empty(),
        "no scenario files under {}",
        root.display()
    );
    files
        .into_iter()
        .fold(Suite::new(), |suite, file| suite.file(root.join(file)))
        .regressions(root.join("regressions"))
        .main()
}
