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
