//! Campaigns: many seeded cases against one target, and what a failure becomes.
//!
//! Case `i` of a campaign runs the schedule generated from its case seed. The
//! first case whose verdict is not a pass is a failure: it is run again with
//! the same seed to prove it replays (two traces, compared event by event),
//! then shrunk with the seed held fixed, keeping only simplifications that
//! fail the same way. The result names the seed, the original and the shrunk
//! schedule, and the shrunk run's trace.

use std::time::{Duration, Instant};

use crate::director::{self, Bound, Case, Run, Setup, Verdict};
use crate::generate::Generator;
use crate::schedule::Schedule;
use crate::seed::case_seed;
use crate::trace::{self, Event};

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
pub enum Determinism {
    /// Both runs recorded the same trace, with this hash.
    Identical(u64),
    /// The runs differ first at this event index.
    Diverged {
        /// Index of the first differing event.
        index: usize,
        /// That event in the first run, if it had one.
        first: Option<Box<Event>>,
        /// That event in the second run, if it had one.
        second: Option<Box<Event>>,
    },
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

/// What a campaign found.
#[derive(Debug, Clone)]
pub struct Report {
    /// Cases run, the failing one included.
    pub cases_run: u64,
    /// The first failure, if any.
    pub failure: Option<Failure>,
    /// Wall-clock time the campaign took.
    pub wall_time: Duration,
}

impl Campaign {
    /// Runs the cases until the first failure, and shrinks it.
    pub fn run(&self) -> Report {
        let started = Instant::now();
        let mut cases_run = 0;
        let mut failure = None;
        for (case, generated) in self.cases() {
            cases_run += 1;
            let run = self.run_case(&case);
            if run.verdict != Verdict::Pass {
                failure = Some(self.fail(case, run, generated));
                break;
            }
        }
        Report {
            cases_run,
            failure,
            wall_time: started.elapsed(),
        }
    }

    /// Runs one case against the campaign's target and invariants.
    pub fn run_case(&self, case: &Case) -> Run {
        director::run(&self.setup, case)
    }

    /// The cases in order, each with whether its schedule was generated
    /// (and so can shrink). Schedules are generated lazily, one per case.
    fn cases(&self) -> Box<dyn Iterator<Item = (Case, bool)> + '_> {
        let generate = move |seed| Case {
            seed,
            schedule: self.generator.generate(seed).current(),
        };
        match &self.cases {
            Cases::Generated { base_seed, count } => {
                let base_seed = *base_seed;
                Box::new(
                    (0..*count).map(move |index| (generate(case_seed(base_seed, index)), true)),
                )
            }
            Cases::Seed(seed) => Box::new(std::iter::once((generate(*seed), true))),
            Cases::Fixed(case) => Box::new(std::iter::once((case.clone(), false))),
        }
    }

    fn fail(&self, case: Case, run: Run, generated: bool) -> Failure {
        let again = self.run_case(&case);
        let determinism = compare(&run.events, &again.events);
        let mut failure = Failure {
            seed: case.seed,
            original: case.schedule.clone(),
            shrunk: case.schedule.clone(),
            run,
            shrink_runs: 0,
            determinism,
        };
        if generated && matches!(failure.determinism, Determinism::Identical(_)) {
            self.shrink(&mut failure);
            // What is saved and replayed is the shrunk case: prove that it replays too.
            let shrunk = Case {
                seed: failure.seed,
                schedule: failure.shrunk.clone(),
            };
            failure.determinism = compare(&failure.run.events, &self.run_case(&shrunk).events);
        }
        failure
    }

    /// Shrinks with the seed fixed, keeping simplifications that fail alike.
    fn shrink(&self, failure: &mut Failure) {
        let started = Instant::now();
        let mut tree = self.generator.generate(failure.seed);
        let mut runs = 0;
        let mut more = tree.simplify();
        while more && runs < self.shrink.runs_max && started.elapsed() < self.shrink.wall_time_max {
            let case = Case {
                seed: failure.seed,
                schedule: tree.current(),
            };
            let run = self.run_case(&case);
            runs += 1;
            if same_failure(&run.verdict, &failure.run.verdict) {
                failure.shrunk = case.schedule;
                failure.run = run;
                more = tree.simplify();
            } else {
                more = tree.complicate();
            }
        }
        failure.shrink_runs = runs;
    }
}

/// Compares the traces of two runs of the same case.
pub fn compare(first: &[Event], second: &[Event]) -> Determinism {
    match trace::first_difference(first, second) {
        None => Determinism::Identical(trace::hash(first)),
        Some(index) => Determinism::Diverged {
            index,
            first: first.get(index).cloned().map(Box::new),
            second: second.get(index).cloned().map(Box::new),
        },
    }
}

/// Whether two verdicts are the same kind of failure (same invariant, same bound kind).
fn same_failure(candidate: &Verdict, original: &Verdict) -> bool {
    match (candidate, original) {
        (Verdict::Violation(a), Verdict::Violation(b)) => a.invariant == b.invariant,
        // A wall-time bound depends on the machine, not on the schedule: it
        // never counts as the same failure.
        (Verdict::Bounded(Bound::WallTime(_)), _) | (_, Verdict::Bounded(Bound::WallTime(_))) => {
            false
        }
        (Verdict::Bounded(a), Verdict::Bounded(b)) => {
            std::mem::discriminant(a) == std::mem::discriminant(b)
        }
        (Verdict::Crashed(_), Verdict::Crashed(_)) => true,
        _ => false,
    }
}
