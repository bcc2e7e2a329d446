//! Targets: the service a scenario puts under the harness.
//!
//! A [`Target`] is a built-in model of one race and its [`Variant`]: `buggy`
//! reproduces the race, `fixed` is the repair. Each model lives in its own file
//! under `models/` and assembles the lifecycle core with the policy of its race.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::lifecycle::Process;
use crate::models;

/// A built-in model of one lifecycle race.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Model {
    /// Race 1: the listener accepts before the state is initialised.
    StartupWindow,
}

/// Which policy a model runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Variant {
    /// Reproduces the race.
    Buggy,
    /// The repair.
    Fixed,
}

/// The service under test: a model and its variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    /// Which model.
    pub model: Model,
    /// Which policy.
    pub variant: Variant,
}

/// The software of one service process, as the director runs it.
pub type Software = Pin<Box<dyn Future<Output = std::io::Result<()>>>>;

impl Model {
    /// Every built-in model, in a stable order.
    pub const ALL: [Model; 1] = [Model::StartupWindow];

    /// The name scenario files use.
    pub fn name(self) -> &'static str {
        match self {
            Model::StartupWindow => "startup-window",
        }
    }

    /// One line on what the model reproduces.
    pub fn description(self) -> &'static str {
        match self {
            Model::StartupWindow => {
                "race 1: the listener accepts before its state is initialised (Phoenix)"
            }
        }
    }

    /// The model with this name.
    pub fn from_name(name: &str) -> Option<Model> {
        Model::ALL.into_iter().find(|model| model.name() == name)
    }
}

impl Variant {
    /// The name scenario files use.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Buggy => "buggy",
            Variant::Fixed => "fixed",
        }
    }

    /// The variant with this name.
    pub fn from_name(name: &str) -> Option<Variant> {
        [Variant::Buggy, Variant::Fixed]
            .into_iter()
            .find(|variant| variant.name() == name)
    }
}

impl Target {
    /// Starts one process of the target's service.
    pub fn software(&self, process: Process) -> Software {
        match self.model {
            Model::StartupWindow => Box::pin(models::startup_window::serve(self.variant, process)),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.model.name(), self.variant.name())
    }
}
