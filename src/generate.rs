//! Generating schedules from a seed, and shrinking a failing one.
//!
//! A [`Generator`] is the parameters a scenario gives; its proptest strategy
//! draws a start, some requests, an optional graceful stop and optional faults,
//! each at a time within the horizon. The random source is seeded from the case
//! seed, so a case seed alone reproduces its schedule. Shrinking uses proptest's
//! value trees: fewer requests and faults, no stop, earlier times, the first
//! path of the list.

use std::time::Duration;

use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::schedule::{Action, Schedule, Step};
use crate::seed::derive;

/// A fault a generated schedule may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// Kill the service (SIGKILL).
    Kill,
    /// Kill the service and start it again.
    Restart,
}

impl Fault {
    /// Every fault, in a stable order.
    pub const ALL: [Fault; 2] = [Fault::Kill, Fault::Restart];

    /// The name scenario files use.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Kill => "kill",
            Fault::Restart => "restart",
        }
    }

    fn action(self) -> Action {
        match self {
            Fault::Kill => Action::Kill,
            Fault::Restart => Action::Restart,
        }
    }
}

/// The parameters of generated schedules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generator {
    /// Every step falls before this simulated time. Default: 1 s.
    pub horizon: Duration,
    /// At most this many requests. Default: 8.
    pub requests_max: usize,
    /// Requests pick among these paths; the first is the simplest. Default:
    /// `/`, `/ready`, `/health`.
    pub paths: Vec<String>,
    /// Whether a schedule may end with a graceful stop. Default: true.
    pub stop: bool,
    /// The grace period of a generated stop. Default: 5 s.
    pub grace: Duration,
    /// Faults a schedule may contain. Default: none.
    pub faults: Vec<Fault>,
    /// At most this many faults. Default: 2.
    pub faults_max: usize,
}

impl Default for Generator {
    fn default() -> Self {
        Self {
            horizon: Duration::from_secs(1),
            requests_max: 8,
            paths: vec!["/".into(), "/ready".into(), "/health".into()],
            stop: true,
            grace: Duration::from_secs(5),
            faults: Vec::new(),
            faults_max: 2,
        }
    }
}

/// A generated schedule that can shrink.
pub struct Shrinkable {
    tree: Box<dyn ValueTree<Value = Schedule>>,
}

impl Shrinkable {
    /// The schedule as it stands.
    pub fn current(&self) -> Schedule {
        self.tree.current()
    }

    /// Tries a simpler schedule; false when there is none left to try.
    pub fn simplify(&mut self) -> bool {
        self.tree.simplify()
    }

    /// Backs off the last simplification, which passed; false when there is
    /// nothing between it and the last failing schedule.
    pub fn complicate(&mut self) -> bool {
        self.tree.complicate()
    }
}

impl Generator {
    /// The schedule of the case with this seed, ready to shrink.
    pub fn generate(&self, case_seed: u64) -> Shrinkable {
        let mut seed_bytes = [0_u8; 32];
        for (index, chunk) in seed_bytes.chunks_mut(8).enumerate() {
            let word = derive(case_seed, &format!("schedule-{index}"));
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
        let mut runner = TestRunner::new_with_rng(Config::default(), rng);
        let tree = self
            .strategy()
            .new_tree(&mut runner)
            .expect("schedule strategies never reject");
        Shrinkable { tree }
    }

    fn strategy(&self) -> BoxedStrategy<Schedule> {
        let horizon_ms = u64::try_from(self.horizon.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let time = move || (0..horizon_ms).prop_map(Duration::from_millis);
        let start = (0..=horizon_ms / 4).prop_map(Duration::from_millis);
        let paths = self.paths.clone();
        let path_count = paths.len().max(1);
        let requests = prop::collection::vec((time(), 0..path_count), 0..=self.requests_max);
        let stop = if self.stop {
            prop::option::of(time()).boxed()
        } else {
            Just(None).boxed()
        };
        let faults = self.faults.clone();
        let fault_count = if faults.is_empty() {
            0
        } else {
            self.faults_max
        };
        let fault_steps = prop::collection::vec((time(), 0..faults.len().max(1)), 0..=fault_count);
        let grace = self.grace;
        (start, requests, stop, fault_steps)
            .prop_map(move |(start, requests, stop, fault_steps)| {
                let mut steps = vec![Step {
                    at: start,
                    action: Action::Start,
                }];
                steps.extend(requests.into_iter().map(|(at, path)| Step {
                    at,
                    action: Action::Request {
                        path: paths.get(path).cloned().unwrap_or_else(|| "/".into()),
                    },
                }));
                steps.extend(stop.map(|at| Step {
                    at,
                    action: Action::Stop { grace },
                }));
                steps.extend(fault_steps.into_iter().filter_map(|(at, fault)| {
                    faults.get(fault).map(|fault| Step {
                        at,
                        action: fault.action(),
                    })
                }));
                Schedule::new(steps)
            })
            .boxed()
    }
}
