//! The oracles, one file per invariant.

mod startup;

pub(crate) use self::startup::ServedBeforeInitialised;
