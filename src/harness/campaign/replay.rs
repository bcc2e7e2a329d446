//! What a failure becomes: checked to replay identically, then shrunk with
//! its seed held fixed.

use std::time::Instant;

use super::definition::{Campaign, Determinism, Divergence, Failure};
use super::options::Options;
use crate::case::trace::{self, Event};
use crate::case::verdict::{Bound, Reads, Run, Verdict};
use crate::case::Case;
use crate::harness::determinism::replayable;

impl Campaign {
    /// What the failing `case` becomes: run again to check that it replays,
    /// then, if its schedule was generated, shrunk and checked again.
    pub(crate) fn fail(&self, case: Case, run: Run, generated: bool, options: &Options) -> Failure {
        let again = self.run_case(&case);
        let determinism = compare_runs(&run, &again);
        let mut failure = Failure::unshrunk(case, run, determinism);
        if generated && matches!(failure.determinism, Determinism::Identical(_)) {
            self.shrink(&mut failure, options);
            // What is saved and replayed is the shrunk case: prove that it replays too.
            let shrunk = Case {
                seed: failure.seed,
                schedule: failure.shrunk.clone(),
            };
            failure.determinism = compare_runs(&failure.run, &self.run_case(&shrunk));
        }
        failure
    }

    /// Shrinks with the seed fixed, keeping simplifications that fail alike;
    /// an interrupt keeps the smallest found so far.
    fn shrink(&self, failure: &mut Failure, options: &Options) {
        self.shrink_by(failure, options, |case, like, _| {
            let run = self.run_case(case);
            let alike = same_failure(&run.verdict, like);
            (1, alike.then_some(run))
        });
    }

    /// Shrinks `failure` with its seed fixed: `attempt` tries a simpler
    /// schedule (given the verdict to fail like and the runs left) and
    /// says how many runs it took and the run that failed alike, if one
    /// did; that schedule is then kept. Bounded by the campaign's shrink
    /// limits; an interrupt keeps the smallest found so far.
    pub(super) fn shrink_by(
        &self,
        failure: &mut Failure,
        options: &Options,
        mut attempt: impl FnMut(&Case, &Verdict, u32) -> (u32, Option<Run>),
    ) {
        let started = Instant::now();
        let mut tree = self.tree(failure.seed);
        let mut runs = 0;
        let mut more = tree.simplify();
        while more
            && runs < self.shrink.runs_max
            && started.elapsed() < self.shrink.wall_time_max
            && !options.interrupted()
        {
            let case = Case {
                seed: failure.seed,
                schedule: tree.current(),
            };
            let (used, alike) = attempt(&case, &failure.run.verdict, self.shrink.runs_max - runs);
            runs += used.max(1);
            match alike {
                Some(run) => {
                    failure.shrunk = case.schedule;
                    failure.run = run;
                    more = tree.simplify();
                }
                None => more = tree.complicate(),
            }
        }
        failure.shrink_runs = runs;
    }
}

/// Compares the traces of two runs of the same case; if they differ, names
/// the cause as far as the harness can tell (see [`Divergence`]), from
/// what this build is and how the first run read clocks and randomness.
pub fn compare_runs(first: &Run, second: &Run) -> Determinism {
    let mut determinism = compare(&first.events, &second.events);
    if let Determinism::Diverged { cause, .. } = &mut determinism {
        *cause = cause_of(first.reads);
    }
    determinism
}

/// Compares the traces of two runs of the same case. Without the runs'
/// reads, a difference is put down to the scheduler if the build does not
/// seed it, and to an unknown cause otherwise; [`compare_runs`] knows more.
pub fn compare(first: &[Event], second: &[Event]) -> Determinism {
    match trace::first_difference(first, second) {
        None => Determinism::Identical(trace::hash(first)),
        Some(index) => Determinism::Diverged {
            index,
            first: first.get(index).map(Event::to_string),
            second: second.get(index).map(Event::to_string),
            cause: cause_of(Reads {
                simulated: true,
                ..Reads::default()
            }),
        },
    }
}

/// The likeliest cause of a divergence: reads the operating system
/// answered, then an unseeded scheduler.
fn cause_of(reads: Reads) -> Divergence {
    if !reads.simulated && reads.clock + reads.randomness > 0 {
        Divergence::Uncontrolled(reads)
    } else if !replayable() {
        Divergence::SchedulerUnseeded
    } else {
        Divergence::Unknown
    }
}

/// Whether two verdicts are the same kind of failure (same invariant, same bound kind).
pub(super) fn same_failure(candidate: &Verdict, original: &Verdict) -> bool {
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
        // How long a step blocks is the machine's, like a wall-time bound.
        (Verdict::Blocked(_), _) | (_, Verdict::Blocked(_)) => false,
        (Verdict::Memory(_), Verdict::Memory(_)) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn campaign(count: u64) -> Campaign {
        Campaign::passing_for_tests(count)
    }

    #[test]
    fn a_rerun_that_differs_is_reported_where_it_differs_with_its_cause() {
        let campaign = campaign(1);
        let (case, _) = campaign.case(0);
        let run = campaign.run_case(&case);
        assert!(matches!(
            compare_runs(&run, &run),
            Determinism::Identical(_)
        ));
        assert!(run.events.len() > 2, "a run records events");
        let mut other = run.clone();
        other.events.truncate(2);
        let Determinism::Diverged {
            index,
            first,
            second,
            cause,
        } = compare_runs(&run, &other)
        else {
            panic!("the traces differ");
        };
        assert_eq!(index, 2);
        assert_eq!(first, Some(run.events[2].to_string()));
        assert_eq!(second, None);
        assert!(run.reads.simulated || !crate::engine::intercept::compiled_in());
        let expected = if replayable() {
            Divergence::Unknown
        } else {
            Divergence::SchedulerUnseeded
        };
        assert_eq!(cause, expected);
        // Reads the operating system answered come first.
        let mut uncontrolled = run.clone();
        uncontrolled.reads = Reads {
            clock: 3,
            randomness: 1,
            simulated: false,
        };
        let Determinism::Diverged { cause, .. } = compare_runs(&uncontrolled, &other) else {
            panic!("the traces differ");
        };
        assert_eq!(cause, Divergence::Uncontrolled(uncontrolled.reads));
        assert!(cause
            .to_string()
            .contains("a clock 3 times and OS randomness 1 times"));
    }
}
