//! Oracles: one invariant each, judged over the trace as it grows.
//!
//! The director hands every new event to every oracle as soon as it is
//! recorded, so a safety violation is reported at its cause, and the run stops
//! there. At the end of a run each oracle gets a final call for the properties
//! that can only be judged then (liveness). Oracles only observe: they never
//! reach into the director or the service.

use std::fmt;
use std::time::Duration;

use crate::oracles::ServedBeforeInitialised;
use crate::trace::Event;

/// The invariants lifecycle-sim checks, by their stable names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Invariant {
    /// No request reads state, and no application request gets a 5xx, before
    /// the service's state is initialised (race 1, the startup window).
    ServedBeforeInitialised,
}

impl Invariant {
    /// Every invariant, in a stable order.
    pub const ALL: [Invariant; 1] = [Invariant::ServedBeforeInitialised];

    /// The name scenario files and reports use.
    pub fn name(self) -> &'static str {
        match self {
            Invariant::ServedBeforeInitialised => "served-before-initialised",
        }
    }

    /// One sentence on what the invariant demands.
    pub fn description(self) -> &'static str {
        match self {
            Invariant::ServedBeforeInitialised => {
                "no request is handled, and no 5xx is returned on an accepted connection, \
                 before the state it reads is initialised"
            }
        }
    }

    /// The invariant with this name.
    pub fn from_name(name: &str) -> Option<Invariant> {
        Invariant::ALL
            .into_iter()
            .find(|invariant| invariant.name() == name)
    }

    /// A fresh oracle that checks this invariant.
    pub fn oracle(self) -> Box<dyn Oracle> {
        match self {
            Invariant::ServedBeforeInitialised => Box::<ServedBeforeInitialised>::default(),
        }
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An invariant broken by a specific event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The invariant that was broken.
    pub invariant: Invariant,
    /// The index in the trace of the event that broke it.
    pub event: usize,
    /// The simulated time of that event.
    pub at: Duration,
    /// Why that event breaks the invariant, in one sentence.
    pub reason: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at {}ms (event #{}): {}",
            self.invariant,
            self.at.as_millis(),
            self.event,
            self.reason
        )
    }
}

/// A checker of one invariant.
pub trait Oracle {
    /// Sees one event, in trace order; returns the violation it causes, if any.
    fn observe(&mut self, index: usize, event: &Event) -> Option<Violation>;

    /// Called once when the run ends at simulated time `end`, for properties
    /// that can only be judged then.
    fn finish(&mut self, end: Duration) -> Option<Violation> {
        let _ = end;
        None
    }
}
