//! What every case of a campaign runs against.

use crate::case::backend::Backend;
use crate::case::http::{Http, Protocol};
use crate::case::verdict::Invariant;
use crate::case::Limits;
use crate::core::target::Target;
use crate::engine::kubelet::KubeletConfig;

/// What every case of a campaign runs against.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The service under test.
    pub target: Target,
    /// The invariants the oracles check.
    pub invariants: Vec<Invariant>,
    /// The orchestrator, if the scenario has one.
    pub kubelet: Option<KubeletConfig>,
    /// The bounds of each run.
    pub limits: Limits,
    /// The HTTP the client host sends its requests in. Default: HTTP/1.1.
    pub http: Http,
    /// What the client host's requests carry: plain HTTP requests, or gRPC
    /// calls (over HTTP/2). Default: plain HTTP.
    pub protocol: Protocol,
    /// Where each case runs: turmoil's simulation (the default), or real
    /// threads and sockets.
    pub backend: Backend,
}

impl Setup {
    /// A setup with the target's invariants, no kubelet and default limits.
    pub fn new(target: impl Into<Target>) -> Self {
        let target = target.into();
        Self {
            invariants: target.invariants(),
            target,
            kubelet: None,
            limits: Limits::default(),
            http: Http::One,
            protocol: Protocol::Http,
            backend: Backend::Simulated,
        }
    }
}
