//! What a scenario is: its expectation, how its failures replay, and the
//! limits and defaults of the format.

use std::path::PathBuf;

use crate::case::verdict::Invariant;
use crate::harness::campaign::Campaign;

/// The scenario format this build reads.
pub const SCHEMA_VERSION: u32 = 1;
/// The most cycles, requests per cycle and faults a generated schedule may hold.
pub(crate) const CYCLES_MAX: usize = 100;
pub(crate) const REQUESTS_MAX: usize = 1_000;
pub(crate) const FAULTS_MAX: usize = 100;
/// Cases a generated scenario runs when it does not say.
pub const CASES_DEFAULT: u64 = 256;
/// The `target.service` of a scenario that runs against whichever service
/// it is given: the shipped black-box scenarios.
pub const ANY_SERVICE: &str = "*";

/// What a scenario must show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expect {
    /// Every case passes.
    Pass,
    /// A case breaks this invariant within the case budget.
    Violation(Invariant),
}

/// How a scenario's failures are replayed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Replay {
    /// With the `lifecycle-sim` command (built-in models).
    #[default]
    Cli,
    /// By a test of a [`Suite`](crate::Suite) in the user's project.
    Test {
        /// The test binary (`cargo test --test <binary>`).
        binary: String,
        /// The test's name.
        trial: String,
    },
}

/// A parsed scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it came from.
    pub path: PathBuf,
    /// Its name (the file's stem unless it says).
    pub name: String,
    /// One line on what it checks.
    pub description: String,
    /// What must come out.
    pub expect: Expect,
    /// The campaign it runs.
    pub campaign: Campaign,
    /// Invariants the scenario names that do not apply to its service (it
    /// declared no `/health`, say): not checked.
    pub not_applicable: Vec<Invariant>,
    /// How its failures are replayed.
    pub replay: Replay,
}
