//! What the director runs a case on: turmoil's simulation ([`World`]), or
//! real threads and sockets ([`Threaded`]). The director carries out the
//! schedule and the orchestrator's timers, and judges, the same way on
//! either; only how time moves and how a process runs differ.
//!
//! [`World`]: super::world::World
//! [`Threaded`]: super::threads::Threaded

use std::rc::Rc;
use std::time::Duration;

use crate::case::schedule::{Host, Link};
use crate::engine::client::Client;
use crate::engine::kubelet::Pod;

/// The hosts of one case and the time they run in.
pub(crate) trait Stage {
    /// The case's time so far: simulated, or real since its start.
    fn elapsed(&self) -> Duration;
    /// Lets the hosts run for one tick of the case's time; an error ends
    /// the run as crashed.
    fn step(&mut self) -> Result<(), String>;
    /// The service hosts, in order.
    fn servers(&self) -> Vec<Host>;
    /// Whether a service process runs on `host` and has not finished its stop.
    fn alive(&self, host: Host) -> bool;
    /// The number of the current (or last) process on `host`.
    fn launches(&self, host: Host) -> u64;
    /// The current process on `host` is about to be killed (a kill, a
    /// restart, a crash, SIGKILL): called before the kill is recorded.
    /// On real threads, the process's threads run on until their next
    /// poll; from here on only its connections' closes are recorded. In
    /// the simulation nothing runs meanwhile: nothing to do.
    fn ending(&mut self, _host: Host) {}
    /// Replaces a service host's process: with a fresh one, or none.
    fn launch(&mut self, host: Host, run: bool);
    /// Ends the processes whose serve function returned, as a process's
    /// exit does. Returns the hosts emptied.
    fn exit_returned(&mut self) -> Vec<Host>;
    /// Crashes a service host's machine: nothing runs, nothing answers.
    fn crash(&mut self, host: Host);
    /// Sends SIGTERM to the current process on `host`.
    fn sigterm(&self, host: Host);
    /// Changes the network between two hosts; false if it cannot (a host is
    /// absent).
    fn network(&mut self, link: Link, a: Host, b: Host) -> bool;
    /// The client host's handle.
    fn client(&self) -> &Client;
    /// The pod the kubelet runs, if the case has one.
    fn pod(&self) -> Option<&Rc<Pod>>;
}
