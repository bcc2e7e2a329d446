//! The trace: every observable fact of a run, in order, with its simulated time.
//!
//! Events come from three sides. The director records what it did (a step, a
//! kill at the end of a grace period). Clients record what a user would see
//! (black-box: the status, or a refused, reset or timed-out connection). The
//! lifecycle core records what it did inside the service (white-box: phases,
//! connections, requests, reads of initialised state). Oracles judge the trace;
//! its text rendering is what snapshots and reports show, and its hash is what
//! the determinism check compares.
//!
//! [`event`] holds the events; [`recorder`] records them as a run goes,
//! and [`text`] renders, hashes and compares traces.

mod recorder;
mod text;
pub use self::recorder::Recorder;
pub(crate) use self::recorder::{record_current, refuse_http2_current, Current};
pub use self::text::{first_difference, hash, render};
mod event;
pub use self::event::{Event, EventKind, KillReason, Milestone, Outcome, ProbeKind, Sending};
