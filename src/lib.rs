//! lifecycle-sim finds the races that live in how a server starts, becomes
//! ready, drains and stops — and replays each one from a single seed.
//!
//! A service runs inside turmoil's simulated network and clock. A seeded
//! [`Schedule`] starts it, sends it requests, stops and kills it; oracles judge
//! the recorded trace as it grows; a failure is a seed plus a shrunk schedule
//! that replays exactly.
//!
//! # What a failure looks like
//!
//! This is the drain hang (race 3) as `lifecycle-sim replay` prints it
//! (abridged; the README has it whole): the schedule shrunk to three steps,
//! the trace, the broken invariant in a sentence, and whether two runs of
//! the seed were identical.
//!
//! ```text
//! schedule:
//!   0ms start
//!   549ms request / keep=1180ms
//!   551ms stop grace=30s
//! timeline:
//!       0ms  director  start
//!       7ms  server    accepting
//!     549ms  client    r1 sent /
//!     550ms  server    c1 opened
//!     551ms  server    SIGTERM
//!     551ms  server    draining
//!     551ms  server    c1 closed
//! verdict: violation: drain-deadline at 10652ms (event #9): server got SIGTERM at
//!   551ms and had not stopped 10101ms later (drain deadline 10000ms) …
//! replays: two runs identical (trace hash 0x8eeac5d034d101bc)
//! ```
//!
//! The last connection closed between the drain's check and its wait; the
//! wakeup was lost and the stop never completed. Here the startup window
//! (race 1: the listener accepts before the state is initialised) is found,
//! shrunk and replayed from its seed alone, through the API:
//!
//! ```
//! use lifecycle_sim::{Campaign, Cases, Case, Generator, Invariant, Model, Setup, ShrinkLimits,
//!     Target, Variant, Verdict};
//!
//! let campaign = Campaign {
//!     setup: Setup::new(Target::builtin(Model::StartupWindow, Variant::Buggy)),
//!     generator: Generator::default(),
//!     cases: Cases::Generated { base_seed: 7, count: 200 },
//!     shrink: ShrinkLimits::default(),
//! };
//! let report = campaign.run();
//! let failure = report.failure.expect("the buggy startup order is found");
//! let Verdict::Violation(violation) = &failure.run.verdict else { panic!("not a violation") };
//! assert_eq!(violation.invariant, Invariant::ServedBeforeInitialised);
//! println!("seed {:#x}, shrunk to:\n{}", failure.seed, failure.shrunk);
//!
//! // The seed and the shrunk schedule replay the same trace, event for event.
//! let case = Case { seed: failure.seed, schedule: failure.shrunk.clone() };
//! let replay = campaign.run_case(&case);
//! assert_eq!(replay.events, failure.run.events);
//! ```
//!
//! # Where to start
//!
//! - Testing your own server: [`Service`] (with [`Launch`], [`Listener`],
//!   [`Stream`]) and [`Suite`], which runs the shipped scenarios in your
//!   `cargo test`; [`preempt`] marks where another thread could run;
//!   [`Allocator`], installed in your test binary, bounds the memory a case
//!   may hold.
//! - Running scenario files: [`Scenario`], [`check`], [`report`], or the
//!   `lifecycle-sim` command.
//! - Campaigns from code: [`Campaign`], [`Setup`], [`Generator`], and the
//!   verdict types ([`Verdict`], [`Violation`], [`Invariant`]).
//! - Races between threads, which one simulated thread cannot open:
//!   [`Backend::Threads`] runs the same schedules on real threads.
//!
//! # Map of the layers
//!
//! Each layer is a folder of `src/` and reads only the layers below it
//! (checked by a test of the crate's own import graph):
//!
//! | layer | what it holds |
//! | --- | --- |
//! | `suite/` | [`Suite`]: one test per scenario file; saving failures so they replay |
//! | `report/` | a result as text, JSON lines, JUnit, and a failure's timeline as SVG |
//! | `harness/` | [`Campaign`]: many cases, shrinking, the replay check; [`Generator`]; scenario files |
//! | `engine/` | one case, in one turmoil simulation or on real threads: the director, the world, clients, the kubelet |
//! | `judge/` | one oracle per [`Invariant`], fed each event as it is recorded |
//! | `core/` | the simulated software: the lifecycle core, the race models, the [`Service`] adapter |
//! | `case/` | the data every layer reads: [`Schedule`], the trace of [`Event`]s, [`Verdict`], the seed |
//!
//! One `u64` seed drives everything: turmoil, tokio's scheduler (under
//! `--cfg tokio_unstable`), the models' choices and the generated schedules;
//! `LIFECYCLE_SEED` and `LIFECYCLE_CASES` set it and the case count.
//! Oracles are the crate's own: they read events only the built-in models
//! record and a view of the run that is not a stable interface, so a
//! scenario chooses among the [`Invariant`]s rather than plugging in its own.
#![deny(missing_docs)]

mod case;
mod core;
mod engine;
mod harness;
mod judge;
pub mod report;
mod suite;

#[cfg(test)]
mod layers;

// The library's own tests count memory as a user's test binary does.
#[cfg(test)]
#[global_allocator]
static ALLOCATOR: Allocator = Allocator;

/// Checking a scenario file: run it, judge it against its expectation, save
/// its failure so it replays, and name the commands that replay it.
pub mod check {
    pub use crate::harness::check::{judge, judge_with, replay_commands, Checked};
    pub use crate::suite::{check, save, FAILURES_DIRECTORY};
}

pub use crate::case::backend::{
    Backend, Perturbation, Threads, CONFIRM_RUNS_MAX, WORKERS_MAX, WORKERS_MIN,
};
pub use crate::case::http::{Http, Protocol, GRPC_HEALTH_CHECK};
pub use crate::case::schedule::{
    Action, Host, Link, Manner, Schedule, Step, StepError, NODES_MAX, STREAMS_MAX,
};
pub use crate::case::seed::{
    case_seed, cases_from_environment, parse_seed, render_seed, SeedError,
};
pub use crate::case::trace::{
    hash as trace_hash, render as render_trace, Event, EventKind, KillReason, Milestone, Outcome,
    ProbeKind, Sending,
};
pub use crate::case::verdict::{
    Blocked, Bound, Invariant, MemoryUse, Needs, Reads, Run, Verdict, Violation,
};
pub use crate::case::{Case, Limits, BACKLOG_DEFAULT, BACKLOG_MAX, MEMORY_MAX_DEFAULT};
pub use crate::core::models::Variant;
pub use crate::core::preempt::preempt;
pub use crate::core::service::{Launch, Listener, Service, Stream};
pub use crate::core::target::{Builtin, Model, Target};
pub use crate::engine::kubelet::{KubeletConfig, ProbeConfig, Probing};
pub use crate::engine::memory::Allocator;
pub use crate::engine::setup::Setup;
pub use crate::harness::campaign::{
    compare, compare_runs, Campaign, Cases, Completion, Determinism, Divergence, Failure, Options,
    Report, Shard, ShrinkLimits,
};
pub use crate::harness::determinism::{replayable, warn_if_not_replayable};
pub use crate::harness::generate::{Behaviour, Fault, Generator, Shrinkable};
pub use crate::harness::input::{SCENARIO_BYTES_MAX, SCHEDULE_STEPS_MAX};
pub use crate::harness::printable::printable;
pub use crate::harness::scenario::{Expect, Replay, Scenario, ScenarioError, BACKEND_VARIABLE};
pub use crate::suite::{write_under, OutputError, Suite, BUILTIN_SCENARIOS, REGRESSIONS_DIRECTORY};
