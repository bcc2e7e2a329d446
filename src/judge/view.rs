//! What the oracles of the shutdown races keep track of: the server's open
//! connections and requests in flight, the requests clients sent and have not
//! seen answered, the current process's SIGTERM, and the network faults in
//! force. The judge keeps one per run, shared by those oracles, and updates
//! it after each event.

use crate::case::http::{health_check_service, GRPC_HEALTH_CHECK};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use crate::case::schedule::{Action, Host, Link};
use crate::case::trace::{Event, EventKind, Milestone, Sending};

/// A request a client sent.
pub(crate) struct Sent {
    pub(crate) host: Arc<str>,
    pub(crate) path: String,
    pub(crate) at: Duration,
    /// The process generation it was sent in.
    pub(crate) generation: u64,
    /// Whether a partition or hold between its client and the server began
    /// while it was pending: turmoil does not retransmit, so its bytes may
    /// be lost for good, which is the network's doing, not the service's.
    pub(crate) faulted: bool,
    /// How it was sent.
    pub(crate) sending: Sending,
}

/// A request the server read off a connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Accepted {
    /// The process generation that read it.
    pub(crate) generation: u64,
    /// The connection it came on.
    pub(crate) connection: u64,
}

/// What became of one process generation: when it was asked to stop, when
/// its serve function returned, and whether something killed it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Life {
    pub(crate) sigterm_at: Option<Duration>,
    pub(crate) stopped_at: Option<Duration>,
    /// Killed, crashed or restarted: what it held was cut by its end, not by
    /// the service.
    pub(crate) killed: bool,
}

/// The one view of a run, shared by its oracles: the director updates it
/// after every oracle has judged an event, so each judges the state before
/// the event, and the work is done once, not once per oracle.
#[derive(Clone)]
pub(crate) struct SharedView(pub(crate) Rc<std::cell::RefCell<View>>);

impl SharedView {
    pub(crate) fn new(health: Option<String>, ready: Option<String>, slack: Duration) -> Self {
        SharedView(Rc::new(std::cell::RefCell::new(View::new(
            health, ready, slack,
        ))))
    }

    /// The view as it stands.
    pub(crate) fn get(&self) -> std::cell::Ref<'_, View> {
        self.0.borrow()
    }
}

impl std::fmt::Debug for SharedView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedView")
    }
}

pub(crate) struct View {
    /// The service's liveness path, if it has one.
    pub(crate) health: Option<String>,
    /// The service's readiness path, if it has one.
    pub(crate) ready: Option<String>,
    /// Open connections of the current process: when each opened.
    pub(crate) connections: BTreeMap<u64, Duration>,
    /// Requests the current process is handling: path and start.
    pub(crate) requests: BTreeMap<u64, (String, Duration)>,
    /// The connection each of those requests came on.
    request_connections: BTreeMap<u64, u64>,
    /// Requests the server accepted (began handling), in any process.
    pub(crate) accepted: BTreeMap<u64, Accepted>,
    /// Each process generation's life, as far as it went.
    pub(crate) lives: BTreeMap<u64, Life>,
    /// Connections on which the server answered with keep-alive after its
    /// stop was requested.
    pub(crate) kept_alive_while_draining: BTreeSet<u64>,
    /// Requests sent and not yet seen answered (forgotten once answered).
    pub(crate) sent: BTreeMap<u64, Sent>,
    /// When the current process got SIGTERM, and the index of that event.
    pub(crate) sigterm: Option<(Duration, usize)>,
    /// Whether the current process finished its stop.
    pub(crate) stopped: bool,
    /// Counts process ends (kills, crashes, restarts): a request sent in
    /// an earlier generation was cut by its process's end, not by the service.
    pub(crate) generation: u64,
    /// Host pairs whose messages are dropped or held.
    pub(crate) faults: BTreeSet<(Host, Host)>,
    /// How long after SIGTERM a service's answers are held to it: a service
    /// notices the signal a moment after it lands ([`Facts::slack`](super::oracle::Facts)).
    signal_slack: Duration,
}

impl View {
    pub(crate) fn new(
        health: Option<String>,
        ready: Option<String>,
        signal_slack: Duration,
    ) -> Self {
        Self {
            signal_slack,
            health,
            ready,
            connections: BTreeMap::new(),
            requests: BTreeMap::new(),
            request_connections: BTreeMap::new(),
            accepted: BTreeMap::new(),
            lives: BTreeMap::new(),
            kept_alive_while_draining: BTreeSet::new(),
            sent: BTreeMap::new(),
            sigterm: None,
            stopped: false,
            generation: 0,
            faults: BTreeSet::new(),
        }
    }

    /// Whether a path is a status endpoint rather than application traffic.
    /// A gRPC health check naming a service (`...Check?service=name`) goes
    /// on the wire, and is read by the server, as the bare method.
    pub(crate) fn is_status(&self, path: &str) -> bool {
        [self.health.as_deref(), self.ready.as_deref()]
            .into_iter()
            .flatten()
            .any(|status| {
                status == path
                    || (path == GRPC_HEALTH_CHECK && health_check_service(status).is_some())
            })
    }

    pub(crate) fn observe(&mut self, index: usize, event: &Event) {
        match &event.kind {
            EventKind::Step(
                Action::Kill { .. } | Action::Restart { .. } | Action::Crash { .. },
            )
            | EventKind::Sigkill { .. } => self.end_process(true),
            EventKind::Step(Action::Network { link, a, b }) => {
                let pair = ((*a).min(*b), (*a).max(*b));
                match link {
                    Link::Partition | Link::Hold => {
                        self.faults.insert(pair);
                        let touched = |host: &str| {
                            (a.name() == host && *b == Host::Server)
                                || (b.name() == host && *a == Host::Server)
                        };
                        for sent in self.sent.values_mut() {
                            sent.faulted |= touched(&sent.host);
                        }
                    }
                    Link::Repair | Link::Release => {
                        self.faults.remove(&pair);
                    }
                    Link::Latency(_) => {}
                }
            }
            EventKind::Milestone(Milestone::Bound) => {
                self.end_process(false);
            }
            // A service acts on its SIGTERM a moment after it arrives: an
            // answer written meanwhile was already on its way.
            EventKind::KeptAlive { connection }
                if self
                    .sigterm
                    .is_some_and(|(sigterm_at, _)| event.at >= sigterm_at + self.signal_slack) =>
            {
                self.kept_alive_while_draining.insert(*connection);
            }
            EventKind::Milestone(Milestone::Stopped) => {
                self.life().stopped_at.get_or_insert(event.at);
                self.stopped = true;
                self.connections.clear();
                self.requests.clear();
                self.request_connections.clear();
            }
            // A second stop does not move the deadline of the first.
            EventKind::Sigterm if self.sigterm.is_none() => {
                self.sigterm = Some((event.at, index));
                self.life().sigterm_at = Some(event.at);
            }
            EventKind::ConnectionOpened { connection } => {
                self.connections.insert(*connection, event.at);
            }
            EventKind::ConnectionClosed { connection }
            | EventKind::ConnectionAborted { connection } => {
                // A request whose connection closed is no longer handled,
                // answered or not.
                self.connections.remove(connection);
                let ended: Vec<u64> = self
                    .request_connections
                    .iter()
                    .filter(|(_, on)| *on == connection)
                    .map(|(request, _)| *request)
                    .collect();
                for request in ended {
                    self.requests.remove(&request);
                    self.request_connections.remove(&request);
                }
            }
            EventKind::RequestStarted {
                request,
                path,
                connection,
            } => {
                let accepted = Accepted {
                    generation: self.generation,
                    connection: *connection,
                };
                self.accepted.insert(*request, accepted);
                self.requests.insert(*request, (path.clone(), event.at));
                self.request_connections.insert(*request, *connection);
            }
            EventKind::RequestFinished { request, .. } => {
                self.requests.remove(request);
                self.request_connections.remove(request);
            }
            // An answered request is no longer pending, nor in flight at the
            // server (whose end a black-box service does not report); oracles
            // judge the answer before the view forgets it.
            EventKind::Observed { request, .. } => {
                self.sent.remove(request);
                self.requests.remove(request);
                self.request_connections.remove(request);
            }
            EventKind::Sent {
                request,
                path,
                sending,
            } => {
                let sent = Sent {
                    host: Arc::clone(&event.host),
                    path: path.clone(),
                    at: event.at,
                    generation: self.generation,
                    faulted: false,
                    sending: *sending,
                };
                self.sent.insert(*request, sent);
            }
            _ => {}
        }
    }

    /// The current process generation's life.
    fn life(&mut self) -> &mut Life {
        self.lives.entry(self.generation).or_default()
    }

    /// Forgets what a process held when it ends; `killed` says whether
    /// something ended it (a kill, a crash, a restart), not its own return.
    fn end_process(&mut self, killed: bool) {
        if killed {
            self.life().killed = true;
        }
        self.generation += 1;
        self.connections.clear();
        self.requests.clear();
        self.request_connections.clear();
        self.sigterm = None;
        self.stopped = false;
    }

    /// Application requests (not status probes) the server is handling.
    pub(crate) fn traffic_in_flight(&self) -> impl Iterator<Item = (&u64, &(String, Duration))> {
        self.requests
            .iter()
            .filter(|(_, (path, _))| !self.is_status(path))
    }

    /// Whether messages between `host` and the server are dropped or held.
    pub(crate) fn cut_off(&self, host: &str) -> bool {
        self.faults.iter().any(|(a, b)| {
            (a.name() == host && *b == Host::Server) || (b.name() == host && *a == Host::Server)
        })
    }

    /// The requests in flight and connections open at `now`, with their ages.
    pub(crate) fn describe_open(&self, now: Duration) -> String {
        let age = |since: Duration| format!("{}ms", now.saturating_sub(since).as_millis());
        let requests: Vec<String> = self
            .requests
            .iter()
            .map(|(request, (path, since))| format!("r{request} {path} (running {})", age(*since)))
            .collect();
        let connections: Vec<String> = self
            .connections
            .iter()
            .map(|(connection, since)| format!("c{connection} (open {})", age(*since)))
            .collect();
        match (requests.is_empty(), connections.is_empty()) {
            (true, true) => "no connection and no request is open".into(),
            _ => format!(
                "requests in flight: [{}]; connections open: [{}]",
                requests.join(", "),
                connections.join(", ")
            ),
        }
    }
}
