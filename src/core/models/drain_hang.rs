//! Race 3, the drain hang (seen in the Salvo web framework, and in Poem 2.0.1).
//!
//! On stop, the server checks its count of live connections and, if it is not
//! zero, waits for the notification the last closing connection sends — a
//! `notify_waiters`, which stores no permit. If the last connection closes
//! between the check and the creation of the wait, the wakeup is lost and the
//! stop never completes. In production another worker thread closes the
//! connection in that window; here a seeded preemption point opens it. The
//! fix waits without losing wakeups, closes idle keep-alive connections at
//! stop, and gives up at a drain deadline, closing and reporting what is left.

use std::time::Duration;

use super::draw_milliseconds;
use crate::core::models::Variant;
use crate::core::policy::{DrainPolicy, ServiceConfig, StartupOrder, StatusPolicy};

/// How long the fixed stop may drain before it closes what is left.
pub(crate) const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// The configuration of one process of the drain-hang service.
pub(crate) fn config(variant: Variant, seed: u64) -> ServiceConfig {
    ServiceConfig {
        startup_order: StartupOrder::InitialiseThenAccept,
        init_duration: draw_milliseconds(seed, 1..=20),
        drain: match variant {
            Variant::Buggy => DrainPolicy::CheckThenWait,
            Variant::Fixed => DrainPolicy::Robust,
        },
        drain_deadline: DRAIN_DEADLINE,
        status: StatusPolicy::Shared,
        query: None,
        slow_duration: Duration::from_millis(300),
    }
}
