//! The defaults that depend on other fields: what a file leaves out is
//! filled from its target, its name or its kubelet. The defaults of one
//! field alone are the types' own (`Limits::default()`, `Generator::default()`,
//! `KubeletConfig::default()`).

use std::time::Duration;

use crate::case::seed::derive;
use crate::core::service::Service;
use crate::core::target::Target;
use crate::engine::director::GRACE_DEFAULT;
use crate::engine::kubelet::KubeletConfig;

/// The base seed of a generated scenario that names none: its name's.
pub(super) fn base_seed(name: &str) -> u64 {
    derive(0, name)
}

/// The paths a service's requests pick from when `generate.paths` is not
/// given: its own paths, and its status endpoints, as a prober would.
pub(super) fn service_paths(service: &Service) -> Vec<String> {
    let mut paths = service.application_paths().to_vec();
    paths.extend(
        [service.ready_path(), service.health_path()]
            .into_iter()
            .flatten()
            .map(str::to_string),
    );
    paths
}

/// The grace period of a generated stop when neither `generate.grace` nor
/// a kubelet gives one. A target's drain deadline may be long (a service's
/// declared one, the probes model's 50s): its stops get a grace period
/// that outlasts it, so a hung stop is judged, not killed.
pub(super) fn grace(target: &Target) -> Duration {
    GRACE_DEFAULT.max(target.drain_deadline() * 2)
}

/// The kubelet's settings before `[kubelet]` is read: probes go to the
/// target's own endpoints, with the handler its protocol has (`grpc` for a
/// gRPC service); one it lacks is not probed unless the scenario names a
/// path.
pub(super) fn kubelet(target: &Target) -> KubeletConfig {
    let mut defaults = KubeletConfig {
        probe: target.protocol(),
        ..KubeletConfig::default()
    };
    for (probe, path) in [
        (&mut defaults.startup, target.health_path()),
        (&mut defaults.liveness, target.health_path()),
        (&mut defaults.readiness, target.ready_path()),
    ] {
        match path {
            Some(path) => probe.path = path.to_string(),
            None => probe.enabled = false,
        }
    }
    defaults
}
