//! Race 1, the startup window (seen in the Phoenix web framework).
//!
//! The endpoint starts its listener, then runs a warm-up that stores the
//! configuration every request reads. In between, the listener already accepts,
//! and a request that lands in the window fails with a 500. The warm-up takes a
//! simulated time drawn from the process's seed, so the window is real and its
//! width varies from case to case and from restart to restart.

use std::time::Duration;

use super::draw_milliseconds;
use crate::core::models::Variant;
use crate::core::policy::{DrainPolicy, ServiceConfig, StartupOrder, StatusPolicy};

/// How long a stop may drain.
pub(crate) const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// The configuration of one process of the startup-window service.
pub(crate) fn config(variant: Variant, seed: u64) -> ServiceConfig {
    ServiceConfig {
        startup_order: match variant {
            Variant::Buggy => StartupOrder::AcceptThenInitialise,
            Variant::Fixed => StartupOrder::InitialiseThenAccept,
        },
        init_duration: draw_milliseconds(seed, 1..=200),
        drain: DrainPolicy::Robust,
        drain_deadline: DRAIN_DEADLINE,
        status: StatusPolicy::Shared,
        query: None,
        slow_duration: Duration::from_secs(1),
    }
}
