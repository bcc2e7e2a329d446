//! Race 4, health and readiness during drain (seen in the RoadRunner server).
//!
//! The service's plugins stop concurrently on SIGTERM; the status plugin has
//! nothing to drain, so it is gone first while a slow request (a 30-second
//! gRPC call, as in the real bug) still runs. `/health` and `/ready` are
//! refused; a kubelet that goes on probing liveness through the drain (before
//! Kubernetes 1.21, or any orchestrator that probes so) counts three failures,
//! 20 to 30 s after SIGTERM, and kills the pod with the call in flight. The
//! fix stops the status component last: `/ready` answers 503 from SIGTERM,
//! `/health` 200 until the traffic has drained.

use std::time::Duration;

use super::draw_milliseconds;
use crate::core::models::Variant;
use crate::core::policy::{DrainPolicy, ServiceConfig, StartupOrder, StatusPolicy};

/// How long the stop may drain: past the slow request, inside the 60 s grace
/// period its scenarios give the pod.
pub(crate) const DRAIN_DEADLINE: Duration = Duration::from_secs(50);
/// How long a request for `/slow` takes: the real bug's 30 s call, longer than
/// the three probe periods a liveness kill takes.
const SLOW_DURATION: Duration = Duration::from_secs(30);

/// The configuration of one process of the probes-during-drain service.
pub(crate) fn config(variant: Variant, seed: u64) -> ServiceConfig {
    ServiceConfig {
        startup_order: StartupOrder::InitialiseThenAccept,
        init_duration: draw_milliseconds(seed, 1..=500),
        drain: DrainPolicy::Robust,
        drain_deadline: DRAIN_DEADLINE,
        status: match variant {
            Variant::Buggy => StatusPolicy::SeparateStopsFirst,
            Variant::Fixed => StatusPolicy::SeparateStopsLast,
        },
        query: None,
        slow_duration: SLOW_DURATION,
    }
}
