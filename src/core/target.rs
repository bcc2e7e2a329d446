//! Targets: the service a scenario puts under the harness.
//!
//! A [`Target`] is either a [`Builtin`] model of one race with its
//! [`Variant`] (`buggy` reproduces the race, `fixed` is the repair; each model
//! lives in its own file under `models/` and assembles the lifecycle core with
//! the policy of its race), or a user's [`Service`], run through an adapter.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use std::time::Duration;

use crate::case::http::{Http, Protocol};
use crate::case::schedule::Host;
use crate::case::verdict::Invariant;
use crate::case::{HEALTH_PATH, READY_PATH};
use crate::core::lifecycle;
use crate::core::models;
use crate::core::models::init_order::CLUSTER_SIZE_DEFAULT;
use crate::core::models::Variant;
use crate::core::policy::{ServiceConfig, StatusPolicy};
use crate::core::process;
use crate::core::process::Process;
use crate::core::service::Service;

/// A built-in model of one lifecycle race.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Model {
    /// Race 1: the listener accepts before the state is initialised.
    StartupWindow,
    /// Race 3: a graceful stop loses the wakeup of the last closing
    /// connection and waits forever.
    DrainHang,
    /// Race 4: the status component stops first, so `/health` and `/ready`
    /// vanish while requests still run.
    ProbesDuringDrain,
    /// Race 5: a re-run reuses the handle of a worker that has exited.
    StaleHandle,
    /// Race 2: in a cluster, consensus uses the HTTP layer before it is up.
    InitOrder,
}

/// A built-in service: a model, its variant, and for a cluster model its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Builtin {
    /// Which model.
    pub model: Model,
    /// Which policy.
    pub variant: Variant,
    /// How many service hosts: 1, or a cluster's nodes (2 to
    /// [`NODES_MAX`](crate::case::schedule::NODES_MAX); init-order's default is 3).
    pub nodes: u8,
}

/// The software of one service process, as the director runs it.
pub(crate) type Software = Pin<Box<dyn Future<Output = std::io::Result<()>>>>;

impl Model {
    /// Every built-in model, in a stable order.
    pub const ALL: [Model; 5] = [
        Model::StartupWindow,
        Model::InitOrder,
        Model::DrainHang,
        Model::ProbesDuringDrain,
        Model::StaleHandle,
    ];

    /// The name scenario files use.
    pub fn name(self) -> &'static str {
        match self {
            Model::StartupWindow => "startup-window",
            Model::DrainHang => "drain-hang",
            Model::ProbesDuringDrain => "probes-during-drain",
            Model::StaleHandle => "stale-handle",
            Model::InitOrder => "init-order",
        }
    }

    /// One line on what the model reproduces.
    pub fn description(self) -> &'static str {
        match self {
            Model::StartupWindow => {
                "race 1: the listener accepts before its state is initialised (Phoenix)"
            }
            Model::DrainHang => {
                "race 3: graceful shutdown waits forever for connections already gone (Salvo, Poem)"
            }
            Model::ProbesDuringDrain => {
                "race 4: /health and /ready vanish while requests still run (RoadRunner)"
            }
            Model::StaleHandle => {
                "race 5: a re-run reuses the handle of a worker that has exited (Ash)"
            }
            Model::InitOrder => {
                "race 2: in a cluster (3 nodes unless `nodes` says), consensus uses the HTTP layer before it is up (OpenZiti)"
            }
        }
    }

    /// The model with this name.
    pub fn from_name(name: &str) -> Option<Model> {
        Model::ALL.into_iter().find(|model| model.name() == name)
    }

    /// How many service hosts the model runs unless told: a cluster's
    /// nodes, or 1.
    pub fn nodes_default(self) -> u8 {
        match self {
            Model::InitOrder => CLUSTER_SIZE_DEFAULT,
            _ => 1,
        }
    }

    /// Whether the model is a cluster, whose size a scenario may set.
    pub fn is_cluster(self) -> bool {
        self.nodes_default() > 1
    }
}

/// The service under test.
#[derive(Debug, Clone)]
pub enum Target {
    /// A built-in model of a race.
    Builtin(Builtin),
    /// A user's server, run through an adapter and judged black-box.
    Service(Service),
}

impl From<Builtin> for Target {
    fn from(builtin: Builtin) -> Self {
        Target::Builtin(builtin)
    }
}

impl From<Service> for Target {
    fn from(service: Service) -> Self {
        Target::Service(service)
    }
}

impl Target {
    /// A built-in model's variant as a target.
    pub fn builtin(model: Model, variant: Variant) -> Target {
        Target::Builtin(Builtin {
            model,
            variant,
            nodes: model.nodes_default(),
        })
    }

    /// Starts one process of the target's service.
    pub(crate) fn software(&self, process: Process) -> Software {
        match self {
            Target::Builtin(builtin) => builtin.software(process),
            Target::Service(service) => Box::pin(service.clone().run(process)),
        }
    }

    /// How long the service promises a stop takes at most: the bound the
    /// `drain-deadline` oracle holds it to.
    pub fn drain_deadline(&self) -> Duration {
        match self {
            Target::Builtin(builtin) => builtin.drain_deadline(),
            Target::Service(service) => service.declared_drain_deadline(),
        }
    }

    /// The invariants checked when a scenario names none: a built-in
    /// model's own; for a user's service, every black-box invariant that
    /// applies to what it declared.
    pub fn invariants(&self) -> Vec<Invariant> {
        match self {
            Target::Builtin(builtin) => builtin.invariants(),
            Target::Service(_) => Invariant::ALL
                .into_iter()
                .filter(|invariant| invariant.black_box() && self.supports(*invariant))
                .collect(),
        }
    }

    /// Whether the target gives an invariant what it needs to be judged:
    /// the white-box events only built-in models record, a `/health` or a
    /// `/ready` endpoint.
    pub fn supports(&self, invariant: Invariant) -> bool {
        let needs = invariant.needs();
        match self {
            Target::Builtin(_) => true,
            Target::Service(service) => {
                invariant.black_box()
                    && (!needs.health || service.health_path().is_some())
                    && (!needs.ready || service.ready_path().is_some())
            }
        }
    }

    /// The service hosts: one `server`, or the nodes of a cluster.
    pub fn hosts(&self) -> Vec<Host> {
        match self {
            Target::Builtin(builtin) => builtin.hosts(),
            Target::Service(_) => vec![Host::Server],
        }
    }

    /// The port that carries the service's traffic.
    pub fn port(&self) -> u16 {
        match self {
            Target::Builtin(_) => process::PORT,
            Target::Service(service) => service.listen_port(),
        }
    }

    /// The port where the service answers its status endpoints.
    pub fn status_port(&self) -> u16 {
        match self {
            Target::Builtin(builtin) => builtin.status_port(),
            Target::Service(service) => service.listen_port(),
        }
    }

    /// The HTTP it serves: the built-in models serve HTTP/1.1.
    pub fn http(&self) -> Http {
        match self {
            Target::Builtin(_) => Http::One,
            Target::Service(service) => service.speaks(),
        }
    }

    /// What its requests carry: the built-in models serve plain HTTP.
    pub fn protocol(&self) -> Protocol {
        match self {
            Target::Builtin(_) => Protocol::Http,
            Target::Service(service) => service.protocol_served(),
        }
    }

    /// The liveness path, if the service has one.
    pub fn health_path(&self) -> Option<&str> {
        match self {
            Target::Builtin(_) => Some(HEALTH_PATH),
            Target::Service(service) => service.health_path(),
        }
    }

    /// The readiness path, if the service has one.
    pub fn ready_path(&self) -> Option<&str> {
        match self {
            Target::Builtin(_) => Some(READY_PATH),
            Target::Service(service) => service.ready_path(),
        }
    }

    /// The built-in model, if the target is one.
    pub fn as_builtin(&self) -> Option<Builtin> {
        match self {
            Target::Builtin(builtin) => Some(*builtin),
            Target::Service(_) => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Builtin(builtin) => write!(f, "{builtin}"),
            Target::Service(service) => write!(f, "service {}", service.name()),
        }
    }
}

impl Builtin {
    /// The lifecycle-core configuration of a process with this seed (for a
    /// cluster model, that of the HTTP endpoint every node shares).
    pub(crate) fn config(&self, process_seed: u64) -> ServiceConfig {
        match self.model {
            Model::StartupWindow => models::startup_window::config(self.variant, process_seed),
            Model::InitOrder => models::startup_window::config(Variant::Fixed, process_seed),
            Model::DrainHang => models::drain_hang::config(self.variant, process_seed),
            Model::ProbesDuringDrain => {
                models::probes_during_drain::config(self.variant, process_seed)
            }
            Model::StaleHandle => models::stale_handle::config(self.variant, process_seed),
        }
    }

    /// Starts one process of the target's service.
    pub(crate) fn software(&self, process: Process) -> Software {
        match self.model {
            Model::InitOrder => {
                let config = models::init_order::config(self.variant, process.seed, self.nodes);
                Box::pin(crate::core::cluster::serve(config, process))
            }
            _ => Box::pin(lifecycle::serve(self.config(process.seed), process)),
        }
    }

    /// How long the service promises a stop takes at most: the bound the
    /// `drain-deadline` oracle holds it to.
    pub fn drain_deadline(&self) -> Duration {
        self.config(0).drain_deadline
    }

    /// The invariants that apply to the target, checked when a scenario
    /// names none: the cluster's for a cluster, the others for one host.
    pub fn invariants(&self) -> Vec<Invariant> {
        let cluster = [Invariant::UsedBeforeStarted, Invariant::ClusterConverges];
        // The serving invariants were made for users' services; the models'
        // races have their own.
        let serving = [
            Invariant::AcceptedRequestFailed,
            Invariant::FailedWhileReady,
            Invariant::RecoversAfterRestart,
            Invariant::ExitedUnasked,
        ];
        let is_cluster = self.hosts().len() > 1;
        Invariant::ALL
            .into_iter()
            .filter(|invariant| cluster.contains(invariant) == is_cluster)
            .filter(|invariant| !serving.contains(invariant))
            .collect()
    }

    /// The service hosts: one `server`, or the nodes of a cluster.
    pub fn hosts(&self) -> Vec<Host> {
        match self.model {
            Model::InitOrder => (1..=self.nodes.clamp(1, crate::case::schedule::NODES_MAX))
                .map(Host::Node)
                .collect(),
            _ => vec![Host::Server],
        }
    }

    /// The port where the service answers `/health` and `/ready`.
    pub fn status_port(&self) -> u16 {
        match self.config(0).status {
            StatusPolicy::Shared => process::PORT,
            StatusPolicy::SeparateStopsFirst | StatusPolicy::SeparateStopsLast => {
                process::STATUS_PORT
            }
        }
    }
}

impl fmt::Display for Builtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.model.name(), self.variant.name())?;
        if self.nodes != self.model.nodes_default() {
            write!(f, " ({} nodes)", self.nodes)?;
        }
        Ok(())
    }
}
