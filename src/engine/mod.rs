//! The engine: one case, in one turmoil simulation or on real threads.
//!
//! The [`director`] steps the simulation, carries out the schedule, the
//! orchestrator's signals ([`timers`]) and the [`kubelet`]'s probes and
//! kills, drives the simulated [`client`]s, and hands every recorded event
//! to the [`Judge`](crate::judge::Judge), the same on either [`stage`]:
//! the [`world`] of turmoil's hosts, or [`threads`], real threads and
//! loopback sockets. [`memory`] counts the bytes a case's thread holds.

pub(crate) mod backlog;
pub(crate) mod client;
pub(crate) mod director;
pub(crate) mod intercept;
pub(crate) mod kubelet;
pub(crate) mod memory;
mod panic;
pub(crate) mod setup;
pub(crate) mod stage;
pub(crate) mod threads;
mod timers;
pub(crate) mod watchdog;
pub(crate) mod world;
