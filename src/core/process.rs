//! What the harness hands one process of a simulated service: where it
//! records, its stop signal, and the ports and header every simulated
//! service and client agree on.

use std::io;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use tokio::sync::watch;

use crate::case::trace::Recorder;
use crate::core::net::Net;

/// The port every simulated service serves its traffic on.
pub const PORT: u16 = 8080;
/// The port of the status component, when it is separate.
pub const STATUS_PORT: u16 = 8081;
/// The header through which simulated clients name their requests, so the
/// service's trace events and the client's refer to the same request.
pub const REQUEST_HEADER: &str = "x-lifecycle-request";

/// What the harness hands one run of the service program on its host: where
/// to record, and the stop signal (SIGTERM).
pub struct Process {
    /// The host's name, as trace events carry it.
    pub host: Arc<str>,
    /// Where events go.
    pub recorder: Recorder,
    /// Becomes `true` when a graceful stop is requested.
    pub stop: watch::Receiver<bool>,
    /// A seed for this process's own random choices.
    pub seed: u64,
    /// Numbers connections across every process of the run.
    pub connection_ids: Arc<AtomicU64>,
    /// The other service hosts of a cluster (none for a single host).
    pub peers: Vec<Arc<str>>,
    /// The network it serves on: simulated, or real loopback.
    pub(crate) net: Net,
}

/// A bind's error as a person should read it. turmoil's refusal of a port
/// already bound on the host says only the address (`0.0.0.0:8080`), so a
/// trace read `server failed: 0.0.0.0:8080`; this says the address is in use.
pub(crate) fn bind_error(error: io::Error) -> io::Error {
    let text = error.to_string();
    if error.kind() != io::ErrorKind::AddrInUse || text.contains("in use") {
        return error;
    }
    io::Error::new(io::ErrorKind::AddrInUse, format!("address in use: {text}"))
}
