//! lifecycle-sim finds the races that live in how a server starts, becomes
//! ready, drains and stops — and replays each one from a single seed.
//!
//! A service runs inside turmoil's simulated network and clock. A seeded
//! [`Schedule`] starts it, sends it requests, stops and kills it; oracles judge
//! the recorded trace; a failure is a seed plus a shrunk schedule that replays
//! exactly. Here the startup window (race 1: the listener accepts before the
//! state is initialised) is found, shrunk, and replayed from its seed alone:
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
//! # Map
//!
//! - [`Schedule`], [`Step`], [`Action`]: what happens and when, as data with a text form.
//! - [`Generator`]: seeded schedules from a scenario's parameters, and their shrinking.
//! - [`director::run`]: one case in one simulation, bounded, judged as it goes,
//!   with the orchestrator's signals and the kubelet's probes ([`KubeletConfig`]).
//! - [`lifecycle`]: the lifecycle core a simulated service is built from; each
//!   race is a policy of it.
//! - [`preempt`]: a seeded preemption point, where another thread could run.
//! - [`Target`], [`Model`], [`Variant`]: the built-in models of the races, or
//!   your own server as a [`Service`] (hyper, axum, or your own accept loop).
//! - [`Event`] and the trace: every observable fact, in order, rendered and hashed.
//! - [`Invariant`], [`Oracle`], [`Violation`]: the checks, one invariant each.
//! - [`Campaign`]: many cases, the first failure shrunk and checked for replay.
//! - [`Scenario`]: the TOML file format; [`check`](check::check) runs one and saves its failure.
//! - [`Suite`]: one test per scenario file in your project's `cargo test`, saved
//!   regressions first; [`determinism`]: whether your build replays exactly.
//! - [`seed`]: the one `u64` everything derives from, and the `LIFECYCLE_SEED` /
//!   `LIFECYCLE_CASES` variables.
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

/// Checking a scenario file: run it, judge it against its expectation, save
/// its failure so it replays, and name the commands that replay it.
pub mod check {
    pub use crate::harness::check::{
        expectation_met, judge, judge_with, replay_command, replay_commands, Checked,
    };
    pub use crate::suite::{check, save, FAILURES_DIRECTORY};
}

pub use crate::case::schedule::{
    parse_duration, render_duration, Action, Host, Link, Manner, Schedule, Step, StepError,
};
pub use crate::case::seed::{
    case_seed, cases_from_environment, parse_seed, render_seed, seed_from_environment, SeedError,
    CASES_VARIABLE, SEED_VARIABLE,
};
pub use crate::case::trace::{
    first_difference, hash as trace_hash, render as render_trace, Event, EventKind, KillReason,
    Milestone, Outcome, ProbeKind, Sending,
};
pub use crate::case::verdict::{Bound, Invariant, Needs, Run, Verdict, Violation};
pub use crate::case::{Case, Limits, BACKLOG_DEFAULT, BACKLOG_MAX};
pub use crate::core::models::Variant;
pub use crate::core::preempt::preempt;
pub use crate::core::service::{Launch, Listener, Service, Stream};
pub use crate::core::target::{Builtin, Model, Target};
pub use crate::engine::kubelet::{KubeletConfig, ProbeConfig, Probing};
pub use crate::engine::setup::Setup;
pub use crate::harness::campaign::{
    compare, Campaign, Cases, Completion, Determinism, Failure, Options, Report, Shard,
    ShrinkLimits,
};
pub use crate::harness::determinism::{replayable, warn_if_not_replayable};
pub use crate::harness::generate::{Behaviour, Fault, Generator, Shrinkable};
pub use crate::harness::input::{SCENARIO_BYTES_MAX, SCHEDULE_STEPS_MAX};
pub use crate::harness::name::{check_name, NAME_LENGTH_MAX};
pub use crate::harness::printable::printable;
pub use crate::harness::scenario::{
    Expect, Replay, Scenario, ScenarioError, ANY_SERVICE, SCHEMA_VERSION,
};
pub use crate::suite::{write_under, OutputError, Suite, BUILTIN_SCENARIOS, REGRESSIONS_DIRECTORY};
