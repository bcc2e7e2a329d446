//! The built-in models, one file per race. Each turns a variant and a process
//! seed into a configuration of the lifecycle core.

use std::ops::RangeInclusive;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub(crate) mod drain_hang;
pub(crate) mod init_order;
pub(crate) mod probes_during_drain;
pub(crate) mod stale_handle;
pub(crate) mod startup_window;

/// A duration in whole milliseconds drawn from `seed`.
fn draw_milliseconds(seed: u64, milliseconds: RangeInclusive<u64>) -> Duration {
    Duration::from_millis(StdRng::seed_from_u64(seed).random_range(milliseconds))
}

/// Which policy a model runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Variant {
    /// Reproduces the race.
    Buggy,
    /// The repair.
    Fixed,
}

impl Variant {
    /// The name scenario files use.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Buggy => "buggy",
            Variant::Fixed => "fixed",
        }
    }

    /// The variant with this name.
    pub fn from_name(name: &str) -> Option<Variant> {
        [Variant::Buggy, Variant::Fixed]
            .into_iter()
            .find(|variant| variant.name() == name)
    }
}
