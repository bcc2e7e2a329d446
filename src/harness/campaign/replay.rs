//! What a failure becomes: checked to replay identically, then shrunk with
//! its seed held fixed.

use std::time::Instant;

use super::definition::{Campaign, Determinism, Failure};
use super::options::Options;
use crate::case::trace::{self, Event};
use crate::case::verdict::{Bound, Run, Verdict};
use crate::case::Case;

impl Campaign {
    /// What the failing `case` becomes: run again to check that it replays,
    /// then, if its schedule was generated, shrunk and checked again.
    pub(crate) fn fail(&self, case: Case, run: Run, generated: bool, options: &Options) -> Failure {
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
            self.shrink(&mut failure, options);
            // What is saved and replayed is the shrunk case: prove that it replays too.
            let shrunk = Case {
                seed: failure.seed,
                schedule: failure.shrunk.clone(),
            };
            failure.determinism = compare(&failure.run.events, &self.run_case(&shrunk).events);
        }
        failure
    }

    /// Shrinks with the seed fixed, keeping simplifications that fail alike;
    /// an interrupt keeps the smallest found so far.
    fn shrink(&self, failure: &mut Failure, options: &Options) {
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

/// Where a run's trace differs from an earlier run's trace, given as one
/// line per event, if it does.
pub(crate) fn diverged_from(earlier: &[String], events: &[Event]) -> Option<Determinism> {
    let later: Vec<String> = events.iter().map(Event::to_string).collect();
    let shared = earlier.len().min(later.len());
    let index = (0..shared)
        .find(|&index| earlier[index] != later[index])
        .or((earlier.len() != later.len()).then_some(shared))?;
    Some(Determinism::Diverged {
        index,
        first: earlier.get(index).cloned(),
        second: later.get(index).cloned(),
    })
}

/// Compares the traces of two runs of the same case.
pub fn compare(first: &[Event], second: &[Event]) -> Determinism {
    match trace::first_difference(first, second) {
        None => Determinism::Identical(trace::hash(first)),
        Some(index) => Determinism::Diverged {
            index,
            first: first.get(index).map(Event::to_string),
            second: second.get(index).map(Event::to_string),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn campaign(count: u64) -> Campaign {
        Campaign::passing_for_tests(count)
    }

    #[test]
    fn a_rerun_that_differs_from_its_worker_run_is_reported_where_it_differs() {
        let campaign = campaign(1);
        let (case, _) = campaign.case(0);
        let run = campaign.run_case(&case);
        let lines: Vec<String> = run.events.iter().map(Event::to_string).collect();
        assert_eq!(diverged_from(&lines, &run.events), None);
        assert!(lines.len() > 2, "a run records events");
        let mut earlier = lines.clone();
        earlier[2] = "a different event".to_string();
        let Some(Determinism::Diverged {
            index,
            first,
            second,
        }) = diverged_from(&earlier, &run.events)
        else {
            panic!("the traces differ");
        };
        assert_eq!(index, 2);
        assert_eq!(first.as_deref(), Some("a different event"));
        assert_eq!(second, Some(run.events[2].to_string()));
        // A shorter earlier run differs where it ended.
        let diverged = diverged_from(&lines[..1], &run.events);
        assert!(matches!(
            diverged,
            Some(Determinism::Diverged {
                index: 1,
                first: None,
                ..
            })
        ));
    }
}
