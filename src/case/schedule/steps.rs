//! A schedule's steps as data: the hosts, actions and times a case runs.

use std::time::Duration;

/// A host of the simulated world that network faults can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Host {
    /// The host that sends the schedule's requests.
    Client,
    /// The service's host, for single-node models.
    Server,
    /// The orchestrator's host, when the scenario has one.
    Kubelet,
    /// Node `n` (1 to [`NODES_MAX`]) of a cluster model.
    Node(u8),
}

/// The most nodes a cluster may have.
pub const NODES_MAX: u8 = 16;

/// The most streams one [`Manner::Streams`] request sends at once: well
/// under any server's limit of concurrent streams (hyper's default is 200).
pub const STREAMS_MAX: u16 = 8;

/// The names of cluster nodes, so that every host name is static.
const NODE_NAMES: [&str; NODES_MAX as usize] = [
    "node-1", "node-2", "node-3", "node-4", "node-5", "node-6", "node-7", "node-8", "node-9",
    "node-10", "node-11", "node-12", "node-13", "node-14", "node-15", "node-16",
];

impl Host {
    /// The host's name in turmoil, in schedules and in the trace.
    pub fn name(self) -> &'static str {
        match self {
            Host::Client => "client",
            Host::Server => "server",
            Host::Kubelet => "kubelet",
            Host::Node(n) => {
                assert!(
                    (1..=NODES_MAX).contains(&n),
                    "nodes are numbered 1 to {NODES_MAX}, not {n}"
                );
                NODE_NAMES[usize::from(n) - 1]
            }
        }
    }

    /// The host with this name.
    pub fn from_name(name: &str) -> Result<Host, String> {
        match name {
            "client" => Ok(Host::Client),
            "server" => Ok(Host::Server),
            "kubelet" => Ok(Host::Kubelet),
            _ => NODE_NAMES
                .iter()
                .position(|node| *node == name)
                .map(|index| Host::Node(index as u8 + 1))
                .ok_or_else(|| {
                    format!("unknown host `{name}`: expected client, server, kubelet or node-1 to node-16")
                }),
        }
    }
}

/// A change to the network between two hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Link {
    /// Drop every message between them.
    Partition,
    /// Undo a partition.
    Repair,
    /// Hold every message between them until released.
    Hold,
    /// Deliver held messages and stop holding.
    Release,
    /// Delay every message between them by exactly this much.
    Latency(Duration),
}

/// One thing the director does to the simulated world.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Action {
    /// Start the service process if it is not running (on `host`, or on
    /// every service host).
    Start {
        /// The service host; none means every one.
        host: Option<Host>,
    },
    /// Send one HTTP request for `path` on a new connection from the
    /// client host.
    Request {
        /// The request path, starting with `/`.
        path: String,
        /// How long the client keeps the connection open, idle, after the
        /// (last) response (a keep-alive connection); none closes it at once.
        keep: Option<Duration>,
        /// How the client sends it.
        manner: Manner,
    },
    /// Open a connection from the client host and send nothing on it, or
    /// only the first half of a request head: it is never a request the
    /// server could answer.
    Connect {
        /// Whether half a request head is sent (a slow client) rather than
        /// nothing (a preconnect, a warm pool, a TCP health check).
        partial: bool,
        /// How long the client holds the connection before closing it; none
        /// holds it until the server closes it.
        hold: Option<Duration>,
    },
    /// Keep the run going until this step's time, even if all else is quiet.
    Wait,
    /// Ask the service to stop gracefully (SIGTERM); kill it if it has not
    /// stopped after `grace` (by default the kubelet's termination grace
    /// period, or 30 s).
    Stop {
        /// The service host; none means every one.
        host: Option<Host>,
        /// How long the service may drain before it is killed.
        grace: Option<Duration>,
    },
    /// Kill the service process at once (SIGKILL); its port closes.
    Kill {
        /// The service host; none means every one.
        host: Option<Host>,
    },
    /// Kill the service process and start it again (a bounce).
    Restart {
        /// The service host; none means every one.
        host: Option<Host>,
    },
    /// Crash the service's machine: nothing answers, not even a refusal,
    /// until a start or restart.
    Crash {
        /// The service host; none means every one.
        host: Option<Host>,
    },
    /// Change the network between two hosts.
    Network {
        /// What changes.
        link: Link,
        /// One end.
        a: Host,
        /// The other end.
        b: Host,
    },
}

/// How a client sends a request: the manners real clients have.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Manner {
    /// A GET, written at once (`request /`).
    #[default]
    Whole,
    /// A POST whose body arrives in four pieces spread over this long
    /// (`request / slow=2s`): an upload on a slow link.
    SlowBody(Duration),
    /// A GET, then the client shuts down its sending half and waits for the
    /// answer (`request / half-close`). Servers may take the half-close for
    /// the client's going away (hyper does, by default), so the answer is
    /// not owed; the stop still is.
    HalfClose,
    /// A GET on a connection the client keeps, then a second GET on the same
    /// connection this long after the first was sent (`request / reuse=800ms`),
    /// as a connection pool reuses it; a new connection if the server said
    /// `connection: close` or closed it (over HTTP/2: sent GOAWAY).
    /// Generated schedules aim the second request at the stop.
    Reuse(Duration),
    /// This many GETs at once, as streams of one HTTP/2 connection
    /// (`request / streams=3`): requests in flight together on one
    /// connection when a stop comes. HTTP/1.1 has no streams: there it is
    /// one GET, and a scenario whose clients send HTTP/1.1 may not draw it.
    Streams(u16),
}

/// An [`Action`] at a simulated time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Step {
    /// Simulated time since the run began.
    pub at: Duration,
    /// What happens then.
    pub action: Action,
}

/// Steps in the order they run: by time, ties in list order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Schedule {
    pub(super) steps: Vec<Step>,
}

impl Schedule {
    /// A schedule of these steps, put in time order (stable for equal times).
    pub fn new(mut steps: Vec<Step>) -> Self {
        steps.sort_by_key(|step| step.at);
        Self { steps }
    }

    /// The steps in the order they run.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The time of the last step, or zero for an empty schedule.
    pub fn end(&self) -> Duration {
        self.steps.last().map_or(Duration::ZERO, |step| step.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_run_in_time_order_and_keep_ties_in_list_order() {
        let schedule = Schedule::parse_lines(&["5ms kill", "0ms start", "5ms start"]).unwrap();
        assert_eq!(schedule.lines(), ["0ms start", "5ms kill", "5ms start"]);
    }
}
