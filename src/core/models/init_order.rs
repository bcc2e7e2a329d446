//! Race 2, init ordering (seen in the OpenZiti controller).
//!
//! Each node (three unless a scenario sets `target.nodes`) runs an HTTP layer and a consensus layer that talks to
//! its peers through it. Started in parallel, consensus can read the peer
//! table before the HTTP layer has filled it (and keep the empty table for
//! good), and the router dispatches peer messages to a consensus layer that
//! has not started. The fix starts the HTTP layer first, waits for it to be
//! ready, then starts consensus, whose routes answer only once it is ready.
//! Both start-up times are drawn from the process seed, so the race varies.

use std::time::Duration;

use super::draw_milliseconds;
use crate::core::cluster::NodeConfig;
use crate::core::component::StartPolicy;
use crate::core::models::Variant;

/// How many nodes the cluster has unless a scenario says otherwise.
pub(crate) const CLUSTER_SIZE_DEFAULT: u8 = 3;

/// The configuration of one process of one node of a cluster of `nodes`.
pub(crate) fn config(variant: Variant, seed: u64, nodes: u8) -> NodeConfig {
    NodeConfig {
        start: match variant {
            Variant::Buggy => StartPolicy::Parallel,
            Variant::Fixed => StartPolicy::DependencyOrder,
        },
        cluster_size: usize::from(nodes),
        http_init: draw_milliseconds(seed, 1..=300),
        raft_load: draw_milliseconds(seed ^ 0x7a7f, 1..=300),
        // A peer message costs a connection and an exchange, four one-way
        // latencies of up to 100 ms each: timeouts leave room for that.
        election_timeout_min_ms: 1000,
        election_timeout_max_ms: 3000,
        heartbeat: Duration::from_millis(250),
        message_timeout: Duration::from_secs(1),
    }
}
