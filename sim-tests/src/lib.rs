//! Helpers shared by the property tests under `tests/`: where the built-in
//! scenarios and fixtures are, and how to load one as a user would.

use std::path::PathBuf;

use lifecycle_sim::Scenario;

/// The repository's `scenarios/` directory.
pub fn scenarios_directory() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// The repository's `fixtures/` directory.
pub fn fixtures_directory() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// Loads a built-in scenario by file name, with `LIFECYCLE_SEED` and
/// `LIFECYCLE_CASES` applied, as the CLI would.
pub fn scenario(file_name: &str) -> Scenario {
    let path = scenarios_directory().join(file_name);
    let mut scenario = Scenario::load(&path).unwrap_or_else(|error| panic!("{error}"));
    scenario
        .apply_environment()
        .unwrap_or_else(|error| panic!("{error}"));
    scenario
}
