//! The simulated software: the lifecycle core the built-in models are made
//! of, their cluster, and the [`Service`](service::Service) adapter a user's
//! own server runs through.
//!
//! A process gets a [`Process`](process::Process) from the engine (its
//! host, recorder and stop signal) and records what it does in the trace.
//! Nothing here judges or schedules: it is the thing under test.

pub(crate) mod cluster;
pub(crate) mod component;
pub(crate) mod endpoint;
pub(crate) mod lifecycle;
pub(crate) mod models;
pub(crate) mod net;
pub(crate) mod perturb;
pub(crate) mod policy;
pub(crate) mod preempt;
pub(crate) mod process;
pub(crate) mod query;
pub(crate) mod service;
pub(crate) mod target;
