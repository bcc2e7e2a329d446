//! What a failure found on real threads becomes: a seed does not replay
//! there, so a failing schedule is run again to count how often it fails,
//! and shrinking keeps a smaller schedule if it fails at least once in as
//! many runs.
//!
//! A simulated failure is checked by one replay that must be identical;
//! under threads the operating system's scheduler is part of every run,
//! so the evidence is a frequency: "fails 7 of 20 runs". A step of
//! shrinking that fails in none of its runs is taken back, so the shrunk
//! schedule is one that was seen to fail, as small as the budget found.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use super::definition::{Campaign, Determinism, Failure};
use super::options::Options;
use super::replay::same_failure;
use crate::case::backend::Threads;
use crate::case::verdict::{Run, Verdict};
use crate::case::Case;

/// How many of a batch of runs of one case failed like a failure.
struct Tally {
    failed: u32,
    runs: u32,
    /// The first run that failed alike, if one did.
    failing: Option<Run>,
}

impl Campaign {
    /// The failure found on real threads in `run` of `case`: confirmed,
    /// then, if its schedule was generated, shrunk and confirmed again.
    pub(crate) fn confirm(
        &self,
        case: Case,
        run: Run,
        generated: bool,
        threads: &Threads,
        options: &Options,
    ) -> Failure {
        let runs = threads.confirm_runs.max(1);
        let tally = self.tally(&case, &run.verdict, runs, false, threads, options);
        // The run that found it counts among the schedule's runs.
        let mut failure = Failure::unshrunk(
            case,
            run,
            Determinism::Repeated {
                failed: tally.failed + 1,
                runs: tally.runs + 1,
            },
        );
        if generated {
            self.shrink_threads(&mut failure, threads, options);
            let shrunk = Case {
                seed: failure.seed,
                schedule: failure.shrunk.clone(),
            };
            let tally = self.tally(&shrunk, &failure.run.verdict, runs, false, threads, options);
            // The run that showed the shrunk schedule failing is one of its
            // runs too: a rare race is not "fails 0 of 20" once seen.
            failure.determinism = Determinism::Repeated {
                failed: tally.failed + 1,
                runs: tally.runs + 1,
            };
        }
        failure
    }

    /// Shrinks with the seed fixed, keeping a simpler schedule if one of
    /// `confirm_runs` runs of it fails alike.
    fn shrink_threads(&self, failure: &mut Failure, threads: &Threads, options: &Options) {
        self.shrink_by(failure, options, |case, like, runs_left| {
            let budget = threads.confirm_runs.max(1).min(runs_left);
            let tally = self.tally(case, like, budget, true, threads, options);
            (tally.runs, tally.failing)
        });
    }

    /// Runs `case` `runs` times, `cases_at_once` at a time, counting the
    /// runs that fail like `like`; with `until_failure`, no new run starts
    /// once one failed.
    fn tally(
        &self,
        case: &Case,
        like: &Verdict,
        runs: u32,
        until_failure: bool,
        threads: &Threads,
        options: &Options,
    ) -> Tally {
        let next = AtomicU32::new(0);
        let done = AtomicU32::new(0);
        let failed = AtomicU32::new(0);
        let failing: Mutex<Option<Run>> = Mutex::new(None);
        let work = || loop {
            if options.interrupted() || (until_failure && failed.load(Ordering::Relaxed) > 0) {
                return;
            }
            if next.fetch_add(1, Ordering::Relaxed) >= runs {
                return;
            }
            let run = self.run_case(case);
            done.fetch_add(1, Ordering::Relaxed);
            if same_failure(&run.verdict, like) {
                failed.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut failing) = failing.lock() {
                    failing.get_or_insert(run);
                }
            }
        };
        let at_once = threads.cases_at_once.clamp(1, runs.max(1) as usize);
        std::thread::scope(|scope| {
            for _ in 0..at_once {
                scope.spawn(work);
            }
        });
        Tally {
            failed: failed.into_inner(),
            runs: done.into_inner(),
            failing: failing.into_inner().ok().flatten(),
        }
    }
}
