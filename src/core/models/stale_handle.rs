//! Race 5, the stale handle (seen in the Ash framework, 3.5.24).
//!
//! A query context stores the handle of a concurrency-limiter worker. Each run
//! of the query (each page) uses the worker and stops it when the run ends;
//! the worker winds down for a moment, then exits. The next page re-runs the
//! query with the stored context: the buggy variant reuses the stored handle,
//! and when the previous worker has already exited the call fails ("worker is
//! not alive") and the page gets a 500. The fix resets per-run state: every
//! run gets a live worker of its own generation. The wind-down time is drawn
//! from the process seed, so the window varies.

use std::time::Duration;

use super::draw_milliseconds;
use crate::core::models::Variant;
use crate::core::policy::{DrainPolicy, ServiceConfig, StartupOrder, StatusPolicy};
use crate::core::query::{HandlePolicy, QueryConfig};

/// How long a stop may drain.
pub(crate) const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// The configuration of one process of the stale-handle service.
pub(crate) fn config(variant: Variant, seed: u64) -> ServiceConfig {
    ServiceConfig {
        startup_order: StartupOrder::InitialiseThenAccept,
        init_duration: draw_milliseconds(seed, 1..=20),
        drain: DrainPolicy::Robust,
        drain_deadline: DRAIN_DEADLINE,
        status: StatusPolicy::Shared,
        query: Some(QueryConfig {
            policy: match variant {
                Variant::Buggy => HandlePolicy::ReuseStored,
                Variant::Fixed => HandlePolicy::FreshPerRun,
            },
            worker_linger: draw_milliseconds(seed ^ 0x5eed, 5..=150),
        }),
        slow_duration: Duration::from_millis(300),
    }
}
