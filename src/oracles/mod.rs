//! The oracles, one file per race's invariants.

mod cluster;
mod drain;
mod handles;
mod probes;
mod serving;
mod startup;
mod view;

pub(crate) use self::cluster::{ClusterConverges, UsedBeforeStarted};
pub(crate) use self::drain::{DrainDeadline, RequestCut};
pub(crate) use self::handles::StaleHandle;
pub(crate) use self::probes::{HealthDuringDrain, KilledWithRequestsInFlight, ReadyAfterStop};
pub(crate) use self::serving::{
    AcceptedRequestFailed, ExitedUnasked, FailedWhileReady, RecoversAfterRestart,
};
pub(crate) use self::startup::ServedBeforeInitialised;
pub(crate) use self::view::SharedView;
