//! What a campaign is (its setup, cases and limits) and what it reports.

use std::fmt;
use std::time::Duration;

use crate::case::schedule::Schedule;
use crate::case::verdict::{Reads, Run};
use crate::case::Case;
use crate::engine::intercept::compiled_in;
use crate::engine::setup::Setup;
use crate::harness::generate::Generator;

/// Which cases a campaign runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cases {
    /// `count` cases whose seeds derive from `base_seed`.
    Generated {
        /// The campaign's base seed.
        base_seed: u64,
        /// How many cases.
        count: u64,
    },
    /// The one case with this seed, its schedule generated from it.
    Seed(u64),
    /// One fixed schedule with its seed: nothing is generated.
    Fixed(Case),
}

/// How hard shrinking may try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShrinkLimits {
    /// Runs at most. Default: 500.
    pub runs_max: u32,
    /// Wall-clock time at most. Default: 60 s.
    pub wall_time_max: Duration,
}

impl Default for ShrinkLimits {
    fn default() -> Self {
        Self {
            runs_max: 500,
            wall_time_max: Duration::from_secs(60),
        }
    }
}

/// Everything a campaign needs.
#[derive(Debug, Clone)]
pub struct Campaign {
    /// What every case runs against: target, invariants, kubelet, limits.
    pub setup: Setup,
    /// How schedules are generated.
    pub generator: Generator,
    /// Which cases run.
    pub cases: Cases,
    /// The bounds of shrinking.
    pub shrink: ShrinkLimits,
}

/// Whether a failing case replayed identically.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Determinism {
    /// Both runs recorded the same trace, with this hash.
    Identical(u64),
    /// The runs differ first at this event index.
    #[non_exhaustive]
    Diverged {
        /// Index of the first differing event.
        index: usize,
        /// That event of the first run as a trace line, if it had one.
        first: Option<String>,
        /// That event of the second run as a trace line, if it had one.
        second: Option<String>,
        /// What the harness knows of why.
        cause: Divergence,
    },
    /// The case was not run again: its run was
    /// [`Blocked`](crate::case::verdict::Verdict::Blocked), and a blocked
    /// case runs again only when asked ([`Options::rerun_blocked`](super::Options)).
    Unchecked,
    /// Found on real threads ([`Backend::Threads`](crate::Backend)), where a
    /// seed does not replay exactly: of `runs` runs of the (shrunk)
    /// schedule, `failed` failed alike. The runs are the one that showed it
    /// failing and [`Threads::confirm_runs`](crate::Threads) more.
    Repeated {
        /// Runs that failed alike.
        failed: u32,
        /// Runs made.
        runs: u32,
    },
}

/// Why two runs of one case differed, as far as the harness can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Divergence {
    /// The service read std's clocks or OS randomness and the operating
    /// system answered: interception was off (`run.intercept = false`) or
    /// is not compiled in. The counts are the first run's.
    Uncontrolled(Reads),
    /// The build lacks `--cfg tokio_unstable`, so tokio's scheduler is not
    /// seeded.
    SchedulerUnseeded,
    /// Neither: something else outside the seed, such as a thread the
    /// service started, state kept across cases in a `static`, or real I/O.
    Unknown,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Divergence::Uncontrolled(reads) => write!(
                f,
                "the case's thread read a clock {} times and OS randomness {} times, answered by \
                 the operating system rather than the simulation ({})",
                reads.clock,
                reads.randomness,
                if compiled_in() {
                    "interception is off: `run.intercept = false`"
                } else {
                    "interception is not compiled in: it needs Linux with glibc and the `intercept` feature"
                }
            ),
            Divergence::SchedulerUnseeded => f.write_str(
                "this build lacks `--cfg tokio_unstable`, so tokio's scheduler is not seeded \
                 (README, \"Use it in your CI\", step 2)",
            ),
            Divergence::Unknown => f.write_str(
                "unknown: clocks, randomness and the scheduler were the simulation's; look for \
                 threads the service starts, state kept in a `static` across cases, or real I/O",
            ),
        }
    }
}

/// A case that did not pass, shrunk.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The case's seed: replays it.
    pub seed: u64,
    /// The schedule as generated (or as given).
    pub original: Schedule,
    /// The smallest schedule found that fails the same way.
    pub shrunk: Schedule,
    /// The run of the shrunk schedule.
    pub run: Run,
    /// Runs spent shrinking.
    pub shrink_runs: u32,
    /// Whether the failing case replayed identically: the original case, and
    /// once that held, the shrunk one.
    pub determinism: Determinism,
}

/// How much of its work a campaign did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Completion {
    /// It ran its cases to the end or to the first failure, and shrank
    /// that failure within its limits.
    Complete,
    /// The interrupt flag stopped it: `cases_run` counts the cases run
    /// before it (the lowest positions of the shard, as one thread would
    /// have run them), and a failure found is shrunk only as far as it got.
    Interrupted,
}

/// What a campaign found.
#[derive(Debug, Clone)]
pub struct Report {
    /// Cases run, the failing one included.
    pub cases_run: u64,
    /// Whether the campaign did all of its work or was interrupted.
    pub completion: Completion,
    /// The first failure, if any.
    pub failure: Option<Failure>,
    /// Wall-clock time the campaign took.
    pub wall_time: Duration,
}

impl Failure {
    /// A failing case as it was found, not shrunk.
    pub(crate) fn unshrunk(case: Case, run: Run, determinism: Determinism) -> Self {
        Self {
            seed: case.seed,
            original: case.schedule.clone(),
            shrunk: case.schedule,
            run,
            shrink_runs: 0,
            determinism,
        }
    }
}

#[cfg(test)]
impl Campaign {
    /// A campaign of `count` generated cases of the fixed startup window,
    /// which passes them all: what the campaign's own tests run.
    pub(crate) fn passing_for_tests(count: u64) -> Campaign {
        use crate::core::models::Variant;
        use crate::core::target::{Model, Target};
        Campaign {
            setup: Setup::new(Target::builtin(Model::StartupWindow, Variant::Fixed)),
            generator: Generator::default(),
            cases: Cases::Generated {
                base_seed: 0x5eed,
                count,
            },
            shrink: ShrinkLimits::default(),
        }
    }
}
