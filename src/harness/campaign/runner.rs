//! Running a campaign: its cases, in order or on many threads, shard by
//! shard, until the first failure or an interrupt.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use super::definition::{Campaign, Cases, Completion, Determinism, Failure, Report};
use super::options::{Options, Shard};
use super::replay::compare_runs;
use crate::case::backend::Backend;
use crate::case::schedule::Schedule;
use crate::case::seed::case_seed;
use crate::case::verdict::{Bound, Run, Verdict};
use crate::case::Case;
use crate::engine::director::{self};

impl Campaign {
    /// Runs the cases until the first failure, and shrinks it.
    pub fn run(&self) -> Report {
        self.run_with(&Options::default())
    }

    /// How many cases the shard runs, if none fails.
    pub fn case_count(&self, shard: Shard) -> u64 {
        let total = match (&self.cases, &self.setup.backend) {
            (Cases::Generated { count, .. }, _) => *count,
            // On real threads one run of a schedule proves little: a fixed
            // one (a saved failure, say) runs as many times as a failure
            // is confirmed with.
            (Cases::Seed(_) | Cases::Fixed(_), Backend::Threads(threads)) => {
                u64::from(threads.confirm_runs.max(1))
            }
            (Cases::Seed(_) | Cases::Fixed(_), Backend::Simulated) => 1,
        };
        shard.case_count(total)
    }

    /// Runs the shard's cases on `jobs` threads and shrinks the first
    /// failure. The outcome does not depend on `jobs`: the failure reported
    /// is the one with the lowest case index, and `cases_run` counts the
    /// cases up to it, as one thread running them in order would. An
    /// interrupt stops it between cases (see [`Options::interrupt`]).
    pub fn run_with(&self, options: &Options) -> Report {
        let started = Instant::now();
        let shard = options.shard;
        let total = self.case_count(shard);
        // Positions are claimed in order and every claimed one is run, so
        // the cases done are always the shard's first `done` positions.
        let next = AtomicU64::new(0);
        let done = AtomicU64::new(0);
        let found = AtomicU64::new(0);
        // The lowest position (in the shard) of a failing case so far.
        let first = AtomicU64::new(u64::MAX);
        // The lowest failing case so far: its position and its run.
        let lowest: Mutex<Option<(u64, Run)>> = Mutex::new(None);
        // Each worker runs at most `total` cases: it stops at the shard's
        // end, past a failure, or on an interrupt.
        let work = || loop {
            if options.interrupted() {
                return;
            }
            let position = next.fetch_add(1, Ordering::Relaxed);
            if position >= total || position > first.load(Ordering::Relaxed) {
                return;
            }
            let (case, _) = self.case(shard.case_index(position));
            let run = self.run_case(&case);
            let done_now = done.fetch_add(1, Ordering::Relaxed) + 1;
            if run.verdict != Verdict::Pass {
                first.fetch_min(position, Ordering::Relaxed);
                if let Ok(mut lowest) = lowest.lock() {
                    if lowest.as_ref().is_none_or(|(at, _)| position < *at) {
                        *lowest = Some((position, run));
                    }
                }
                found.fetch_add(1, Ordering::Relaxed);
            }
            if let Some(progress) = options.progress {
                progress(done_now, found.load(Ordering::Relaxed));
            }
        };
        // A case on real threads mostly waits on real time: several share
        // a core.
        let jobs = match &self.setup.backend {
            Backend::Simulated => options.jobs.max(1),
            Backend::Threads(threads) => options.jobs.max(threads.cases_at_once),
        };
        if jobs == 1 {
            work();
        } else {
            std::thread::scope(|scope| {
                for _ in 0..jobs {
                    scope.spawn(work);
                }
            });
        }
        let first = first.into_inner();
        let lowest = lowest.into_inner().ok().flatten();
        let failure = (first != u64::MAX).then(|| {
            let (case, generated) = self.case(shard.case_index(first));
            let mut worker = lowest
                .filter(|(position, _)| *position == first)
                .map(|(_, run)| run);
            if let Backend::Threads(threads) = &self.setup.backend {
                let run = worker.unwrap_or_else(|| self.run_case(&case));
                return self.confirm(case, run, generated, threads, options);
            }
            // A blocked run took its bound in wall time, and may have left a
            // thread behind: it is not run again unless asked.
            if let Some(run) = worker
                .take_if(|run| matches!(run.verdict, Verdict::Blocked(_)) && !options.rerun_blocked)
            {
                return Failure::unshrunk(case, run, Determinism::Unchecked);
            }
            // The failing case is run again here; it must fail as it did on
            // its worker (and `fail` compares it with a third run).
            let mut run = self.run_case(&case);
            // A wall-time bound or a blocked step falls where the machine's
            // speed puts it: a run cut by one is no evidence of
            // nondeterminism.
            let comparable = |verdict: &Verdict| {
                !matches!(
                    verdict,
                    Verdict::Bounded(Bound::WallTime(_)) | Verdict::Blocked(_)
                )
            };
            let diverged = worker
                .filter(|worker| comparable(&worker.verdict) && comparable(&run.verdict))
                .and_then(|worker| match compare_runs(&worker, &run) {
                    Determinism::Identical(_) => None,
                    determinism => Some((worker.verdict, determinism)),
                });
            match diverged {
                Some((verdict, determinism)) => {
                    // What was found is the worker's verdict; the run here
                    // shows where the two differ.
                    run.verdict = verdict;
                    Failure::unshrunk(case, run, determinism)
                }
                None => self.fail(case, run, generated, options),
            }
        });
        let cases_run = if failure.is_some() {
            first + 1
        } else {
            done.into_inner()
        };
        // Without a failure, the interrupt cut the campaign if cases were
        // left; with one, it may have cut the shrinking.
        let cut = failure.is_some() || cases_run < total;
        Report {
            cases_run,
            completion: if cut && options.interrupted() {
                Completion::Interrupted
            } else {
                Completion::Complete
            },
            failure,
            wall_time: started.elapsed(),
        }
    }

    /// The case seeds the shard runs, in order (a fixed case's own seed).
    /// A list for callers that want one; a campaign never makes it.
    pub fn case_seeds(&self, shard: Shard) -> Vec<u64> {
        (0..self.case_count(shard))
            .map(|position| self.case_seed(shard.case_index(position)))
            .collect()
    }

    /// The seed of case `index`.
    fn case_seed(&self, index: u64) -> u64 {
        match &self.cases {
            Cases::Generated { base_seed, .. } => case_seed(*base_seed, index),
            Cases::Seed(seed) => *seed,
            Cases::Fixed(case) => case.seed,
        }
    }

    /// Case `index`, and whether its schedule was generated (and so can
    /// shrink). Schedules are generated lazily, one per case.
    pub(crate) fn case(&self, index: u64) -> (Case, bool) {
        match &self.cases {
            Cases::Generated { .. } | Cases::Seed(_) => {
                let seed = self.case_seed(index);
                let schedule = self.schedule(seed);
                (Case { seed, schedule }, true)
            }
            Cases::Fixed(case) => (case.clone(), false),
        }
    }

    /// The schedule generated for a case seed, for the target's hosts.
    pub fn schedule(&self, seed: u64) -> Schedule {
        self.tree(seed).current()
    }

    /// The shrinkable schedule of a case seed, for the target's hosts.
    pub(crate) fn tree(&self, seed: u64) -> crate::harness::generate::Shrinkable {
        let nodes = u8::try_from(self.setup.target.hosts().len())
            .expect("a target has at most NODES_MAX hosts");
        self.generator.generate(seed, nodes)
    }

    /// Runs one case against the campaign's target and invariants.
    pub fn run_case(&self, case: &Case) -> Run {
        director::run(&self.setup, case)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    use crate::core::models::Variant;
    use crate::core::target::{Model, Target};
    use crate::engine::setup::Setup;

    fn campaign(count: u64) -> Campaign {
        Campaign::passing_for_tests(count)
    }

    #[test]
    fn the_shards_are_disjoint_and_together_the_whole_campaign() {
        for count in [0, 1, 7, 1_000] {
            let campaign = campaign(count);
            let whole = campaign.case_seeds(Shard::ALL);
            assert_eq!(whole.len() as u64, count);
            let mut union: Vec<u64> = Vec::new();
            for index in 1..=4 {
                let shard = Shard::parse(&format!("{index}/4")).unwrap();
                let seeds = campaign.case_seeds(shard);
                assert!(
                    seeds.iter().all(|seed| !union.contains(seed)),
                    "shards overlap"
                );
                union.extend(seeds);
            }
            union.sort_unstable();
            let mut whole_sorted = whole.clone();
            whole_sorted.sort_unstable();
            assert_eq!(union, whole_sorted);
        }
    }

    #[test]
    fn a_shard_counts_and_indexes_its_cases_as_it_owns_them() {
        for total in [0, 1, 2, 3, 7, 10, 100] {
            for count in 1..=5 {
                for index in 0..count {
                    let shard = Shard { index, count };
                    let owned: Vec<u64> = (0..total).filter(|case| shard.owns(*case)).collect();
                    assert_eq!(shard.case_count(total), owned.len() as u64);
                    let computed: Vec<u64> = (0..shard.case_count(total))
                        .map(|position| shard.case_index(position))
                        .collect();
                    assert_eq!(computed, owned, "shard {index}/{count} of {total}");
                }
            }
        }
        // Counting needs no list: the largest campaign counts at once.
        let last = Shard { index: 2, count: 3 };
        assert_eq!(last.case_count(u64::MAX), u64::MAX / 3);
        assert_eq!(Shard::ALL.case_count(u64::MAX), u64::MAX);
    }

    #[test]
    fn a_campaign_of_every_seed_finds_an_early_failure_without_listing_its_cases() {
        // u64::MAX cases cannot be listed: the campaign must take them one by one.
        let mut campaign = campaign(u64::MAX);
        campaign.setup = Setup::new(Target::builtin(Model::StartupWindow, Variant::Buggy));
        campaign.shrink.runs_max = 5;
        let report = campaign.run_with(&Options {
            jobs: 2,
            ..Options::default()
        });
        assert!(report.failure.is_some(), "the buggy startup is found");
        assert!(report.cases_run < 1_000, "{}", report.cases_run);
        assert_eq!(report.completion, Completion::Complete);
    }

    #[test]
    fn an_interrupt_stops_the_campaign_between_cases_and_counts_the_cases_run() {
        let campaign = campaign(1_000);
        let interrupt = AtomicBool::new(false);
        let progress = |done: u64, _found: u64| {
            if done == 5 {
                interrupt.store(true, Ordering::Relaxed);
            }
        };
        let report = campaign.run_with(&Options {
            progress: Some(&progress),
            interrupt: Some(&interrupt),
            ..Options::default()
        });
        assert!(report.failure.is_none());
        assert_eq!(report.cases_run, 5, "one thread stops after the fifth case");
        assert_eq!(report.completion, Completion::Interrupted);

        // On many threads the cases running finish: more, never fewer (how
        // many more depends on the threads' timing, so it is not pinned).
        interrupt.store(false, Ordering::Relaxed);
        let report = campaign.run_with(&Options {
            jobs: 2,
            progress: Some(&progress),
            interrupt: Some(&interrupt),
            ..Options::default()
        });
        assert!(
            (5..1_000).contains(&report.cases_run),
            "{}",
            report.cases_run
        );
        assert_eq!(report.completion, Completion::Interrupted);

        // Set before the first case, nothing runs; a campaign left to end is complete.
        let report = campaign.run_with(&Options {
            interrupt: Some(&interrupt),
            ..Options::default()
        });
        assert_eq!(report.cases_run, 0);
        assert_eq!(report.completion, Completion::Interrupted);
        assert_eq!(campaign.run().completion, Completion::Complete);
    }

    #[test]
    fn a_shard_is_read_as_one_based_i_of_n() {
        assert_eq!(Shard::parse("1/1"), Ok(Shard::ALL));
        assert_eq!(Shard::parse("3/4"), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "1/0", "x/4", "4", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_sharded_run_runs_exactly_its_cases() {
        let campaign = campaign(10);
        let shard = Shard::parse("2/3").unwrap();
        let options = Options {
            jobs: 2,
            shard,
            ..Options::default()
        };
        let report = campaign.run_with(&options);
        assert!(report.failure.is_none());
        assert_eq!(report.cases_run, campaign.case_seeds(shard).len() as u64);
        assert_eq!(report.cases_run, 3);
    }

    #[test]
    fn schedules_name_the_hosts_the_target_has() {
        let mut campaign = campaign(1);
        campaign.setup = Setup::new(Target::Builtin(crate::core::target::Builtin {
            model: Model::InitOrder,
            variant: Variant::Fixed,
            nodes: 5,
        }));
        let (case, _) = campaign.case(0);
        let started: Vec<String> = case
            .schedule
            .lines()
            .into_iter()
            .filter(|line| line.contains(" start "))
            .collect();
        assert_eq!(started.len(), 5, "{started:?}");
        assert!(
            started.iter().any(|line| line.ends_with("node-5")),
            "{started:?}"
        );
    }
}
