//! Schedules: what happens to the service, and when, as plain data.
//!
//! A [`Schedule`] is a list of [`Step`]s, each an [`Action`] at a simulated time
//! since the run began. Its text form, one step per line, is what a scenario file
//! holds and what a failure report prints, so a shrunk failure can be saved and
//! replayed without regenerating anything:
//!
//! ```text
//! 0ms start
//! 12ms request /
//! 300ms stop grace=5s
//! ```
//!
//! Requests come in the manners real clients send them (`request / slow=2s`,
//! `request / half-close`, `request / reuse=800ms`), and `connect` opens a
//! connection that sends nothing, or half a request head (`connect partial
//! hold=2s`): a browser's preconnect, a pool warming up, a load balancer's TCP
//! check, a slow client.
//!
//! [`steps`] holds the data; [`text`] reads and writes its text form.

mod text;
#[cfg(test)]
pub(crate) use self::text::DURATION_MAX;
pub use self::text::{check_path, parse_duration, render_duration, StepError};
mod steps;
pub use self::steps::{Action, Host, Link, Manner, Schedule, Step, NODES_MAX, STREAMS_MAX};
