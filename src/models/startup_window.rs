//! Race 1, the startup window (seen in the Phoenix web framework).
//!
//! The endpoint starts its listener, then runs a warm-up that stores the
//! configuration every request reads. In between, the listener already accepts,
//! and a request that lands in the window fails with a 500. The warm-up takes a
//! simulated time drawn from the process's seed, so the window is real and its
//! width varies from case to case and from restart to restart.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::lifecycle::{self, Process, ServiceConfig, StartupOrder};
use crate::model::Variant;

/// The shortest warm-up a process draws, in milliseconds.
const INIT_MILLISECONDS_MIN: u64 = 1;
/// The longest warm-up a process draws, in milliseconds.
const INIT_MILLISECONDS_MAX: u64 = 200;
/// How long a stop may drain.
const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// Runs one process of the startup-window service.
pub(crate) async fn serve(variant: Variant, process: Process) -> std::io::Result<()> {
    let mut rng = StdRng::seed_from_u64(process.seed);
    let init_duration =
        Duration::from_millis(rng.random_range(INIT_MILLISECONDS_MIN..=INIT_MILLISECONDS_MAX));
    let startup_order = match variant {
        Variant::Buggy => StartupOrder::AcceptThenInitialise,
        Variant::Fixed => StartupOrder::InitialiseThenAccept,
    };
    let config = ServiceConfig {
        startup_order,
        init_duration,
        drain_deadline: DRAIN_DEADLINE,
    };
    lifecycle::serve(config, process).await
}
