//! Your server under the harness: adapters that run a real serve loop on the
//! simulated network.
//!
//! A [`Service`] is a user's server as the harness runs it. Each process of
//! it gets a [`Launch`]: a way to bind its [`Listener`] on the simulated
//! network, and a shutdown future that resolves at SIGTERM. The user's code
//! runs as in production, unmodified except for where its listener comes
//! from. Three forms:
//!
//! - [`Service::new`]: bring your own accept loop. Anything that can accept
//!   on a custom listener, or serve any `AsyncRead + AsyncWrite` stream.
//! - [`Service::hyper`]: any hyper 1.x service, served with hyper's HTTP/1
//!   connection builder and hyper-util's `GracefulShutdown`, bounded by the
//!   declared drain deadline, as hyper-util's documentation shows.
//! - `Service::axum` (cargo feature `axum`): an axum 0.8 `Router` under
//!   `axum::serve(..).with_graceful_shutdown(..)`, as axum's documentation
//!   shows; [`Listener`] implements `axum::serve::Listener`, so your own
//!   `axum::serve` call can take it too.
//!
//! The service is judged black-box: the harness sees what crosses its sockets
//! (connections accepted and closed, request heads read), what clients see
//! (statuses, refused, reset and timed-out connections), and when the
//! process returns. Nothing in the user's code is instrumented.
//!
//! ```
//! use std::time::Duration;
//! use lifecycle_sim::Service;
//!
//! // Your own accept loop: take connections until SIGTERM, then return.
//! let service = Service::new("echo", |launch| async move {
//!     let mut listener = launch.bind().await?;
//!     let shutdown = launch.shutdown();
//!     tokio::pin!(shutdown);
//!     loop {
//!         tokio::select! {
//!             accepted = listener.accept() => drop(accepted?),
//!             () = &mut shutdown => return Ok(()),
//!         }
//!     }
//! })
//! .paths(&["/"])
//! .no_health()
//! .no_ready()
//! .drain_deadline(Duration::from_secs(5));
//! assert_eq!(service.name(), "echo");
//! ```
//!
//! [`socket`] holds what a process gets and the simulated sockets it serves
//! on ([`Launch`], [`Listener`], [`Stream`]); [`adapters`] holds the
//! [`Service`] type and its serve loops.

mod adapters;
pub use self::adapters::Service;
mod h2;
mod socket;
pub use self::socket::{Launch, Listener, Stream};
mod teardown;
pub(crate) use self::teardown::{in_connection_order, Closer};
