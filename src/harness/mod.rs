//! The harness: many cases of one setup, and the scenario files that
//! describe them.
//!
//! A [`Campaign`](campaign::Campaign) runs generated or fixed cases,
//! shrinks the first failure and checks that it replays; [`generate`] draws
//! the schedules; [`scenario`] reads and writes the TOML files; [`check`]
//! judges a campaign against the scenario's expectation.

pub(crate) mod campaign;
pub(crate) mod check;
pub(crate) mod determinism;
pub(crate) mod generate;
pub(crate) mod input;
pub(crate) mod name;
pub(crate) mod printable;
pub(crate) mod scenario;
pub(crate) mod walk;
