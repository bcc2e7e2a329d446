//! Campaigns: many seeded cases against one target, and what a failure becomes.
//!
//! Case `i` of a campaign runs the schedule generated from its case seed. The
//! first case whose verdict is not a pass is a failure: it is run again with
//! the same seed to prove it replays (two traces, compared event by event;
//! on many threads, the worker's trace is compared as text with the re-run),
//! then shrunk with the seed held fixed, keeping only simplifications that
//! fail the same way. The result names the seed, the original and the shrunk
//! schedule, and the shrunk run's trace.
//!
//! Cases are never listed up front: a worker takes the next position of
//! its shard and computes that case's index, seed and schedule then, so a
//! campaign of a billion cases costs what its first failing case costs.
//! An interrupt flag ([`Options::interrupt`]) is read between cases: the
//! cases running finish, and the report covers the cases run so far.
//!
//! The [`runner`] runs the cases, on one thread or many, shard by shard;
//! [`replay`] checks that a failure replays, and shrinks it.

mod confirm;
mod options;
mod replay;
mod runner;
pub use self::options::{Options, Shard};
pub use self::replay::{compare, compare_runs};
mod definition;
pub use self::definition::{
    Campaign, Cases, Completion, Determinism, Divergence, Failure, Report, ShrinkLimits,
};
