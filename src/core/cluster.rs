//! A cluster node: an HTTP layer and a consensus layer that talks to its peers
//! through it — the shape of the OpenZiti controller (xweb and RAFT).
//!
//! The HTTP layer binds at once but takes a while to configure its router and
//! its table of peer addresses. The consensus layer loads its state, reads the
//! peer table from the HTTP layer, and runs a small leader election: terms,
//! one vote per term, a majority of the cluster, heartbeats from the leader.
//! Peer messages are HTTP requests: `/raft/vote/<term>/<from>` and
//! `/raft/heartbeat/<term>/<from>`, answered `granted|denied|ok|stale <term>`.
//!
//! The start policy is the race: in parallel, the consensus layer can read an
//! empty peer table (and cache it for good), and the router dispatches peer
//! messages to a consensus layer that has not started. In dependency order the
//! HTTP layer is ready before consensus starts, and the consensus routes are
//! served only once consensus is ready (503 before).

use std::cell::{Cell, RefCell};
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use turmoil::net::{TcpListener, TcpStream};

use crate::case::trace::{EventKind, Milestone, Recorder};
use crate::case::HEALTH_PATH;
use crate::core::component::{start_order, ComponentSpec, StartPolicy};
use crate::core::process::bind_error;
use crate::core::process::{Process, PORT};
use tokio::sync::Notify;
use tokio::task::AbortHandle;

/// The node's components: consensus uses the HTTP layer.
pub const COMPONENTS: [ComponentSpec; 2] = [
    ComponentSpec {
        name: "http",
        depends_on: &[],
    },
    ComponentSpec {
        name: "raft",
        depends_on: &["http"],
    },
];

/// How one node behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    /// In which order the components start.
    pub start: StartPolicy,
    /// How many nodes the cluster has (a majority of it elects a leader).
    pub cluster_size: usize,
    /// How long the HTTP layer takes to configure its router and peer table.
    pub http_init: Duration,
    /// How long the consensus layer takes to load its state.
    pub raft_load: Duration,
    /// The shortest election timeout, in milliseconds.
    pub election_timeout_min_ms: u64,
    /// The longest election timeout, in milliseconds.
    pub election_timeout_max_ms: u64,
    /// How often a leader sends heartbeats.
    pub heartbeat: Duration,
    /// How long a peer message waits for its answer.
    pub message_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Follower,
    Candidate,
    Leader,
}

struct Raft {
    term: u64,
    voted_for: Option<Arc<str>>,
    role: Role,
    leader: Option<Arc<str>>,
    /// The peers' addresses, once looked up.
    peers: Option<Vec<Arc<str>>>,
    /// When the node last heard from a leader or granted a vote.
    heard: Duration,
}

struct Node {
    host: Arc<str>,
    recorder: Recorder,
    peers: Vec<Arc<str>>,
    config: NodeConfig,
    /// The node's background tasks, ended with its process.
    tasks: RefCell<Vec<AbortHandle>>,
    http_ready: Cell<bool>,
    raft_ready: Cell<bool>,
    peer_table: RefCell<Vec<Arc<str>>>,
    raft: RefCell<Raft>,
    rng: RefCell<StdRng>,
    /// Wakes the consensus loop when the node wins an election.
    won: Notify,
}

fn now() -> Duration {
    turmoil::sim_elapsed().unwrap_or_default()
}

impl Node {
    fn spawn(&self, task: impl std::future::Future<Output = ()> + 'static) {
        let handle = tokio::task::spawn_local(task);
        self.tasks.borrow_mut().push(handle.abort_handle());
    }

    fn record(&self, kind: EventKind) {
        self.recorder.record(&self.host, kind);
    }

    fn used(&self, component: &str, user: &str, detail: String) {
        self.record(EventKind::ComponentUsed {
            component: component.to_string(),
            user: user.to_string(),
            detail,
        });
    }

    async fn start_http(&self) {
        self.record(EventKind::ComponentStarting {
            component: "http".into(),
        });
        tokio::time::sleep(self.config.http_init).await;
        *self.peer_table.borrow_mut() = self.peers.clone();
        self.http_ready.set(true);
        self.record(EventKind::ComponentReady {
            component: "http".into(),
        });
    }

    async fn start_raft(self: &Rc<Self>) {
        self.record(EventKind::ComponentStarting {
            component: "raft".into(),
        });
        tokio::time::sleep(self.config.raft_load).await;
        *self.raft.borrow_mut() = Raft::new(now());
        self.raft_ready.set(true);
        self.record(EventKind::ComponentReady {
            component: "raft".into(),
        });
        // A node that knows no leader campaigns at once (a bootstrap).
        self.campaign();
        self.spawn(Rc::clone(self).elect());
    }

    /// The consensus loop: heartbeats as leader, elections on a timeout.
    async fn elect(self: Rc<Self>) {
        loop {
            if self.raft.borrow().role == Role::Leader {
                let term = self.raft.borrow().term;
                let peers = self.peers(&format!("Heartbeat(term {term})"));
                for peer in peers {
                    let node = Rc::clone(&self);
                    self.spawn(async move {
                        let path = format!("/raft/heartbeat/{term}/{}", node.host);
                        if let Some(reply_term) = node.send(&peer, &path).await.map(|(_, t)| t) {
                            node.observe_term(reply_term);
                        }
                    });
                }
                tokio::time::sleep(self.config.heartbeat).await;
                continue;
            }
            let timeout = Duration::from_millis(self.rng.borrow_mut().random_range(
                self.config.election_timeout_min_ms..=self.config.election_timeout_max_ms,
            ));
            // The timeout runs from the last time the node heard from a
            // leader (or granted a vote): a heartbeat restarts it.
            loop {
                let wait = (self.raft.borrow().heard + timeout).saturating_sub(now());
                if wait.is_zero() {
                    break;
                }
                tokio::select! {
                    biased;
                    _ = self.won.notified() => break,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            if self.raft.borrow().role != Role::Leader {
                self.campaign();
            }
        }
    }

    /// The peers' addresses, looked up in the HTTP layer's table the first
    /// time a message goes out, then cached for good: a lookup before the
    /// table is filled caches an empty set (the follow-up bug).
    fn peers(&self, message: &str) -> Vec<Arc<str>> {
        if let Some(peers) = &self.raft.borrow().peers {
            return peers.clone();
        }
        self.used(
            "http",
            "raft",
            format!("look up the peers to send {message}"),
        );
        let peers = self.peer_table.borrow().clone();
        self.raft.borrow_mut().peers = Some(peers.clone());
        peers
    }

    fn campaign(self: &Rc<Self>) {
        let term = {
            let mut raft = self.raft.borrow_mut();
            raft.term += 1;
            raft.role = Role::Candidate;
            raft.voted_for = Some(Arc::clone(&self.host));
            raft.leader = None;
            raft.heard = now();
            raft.term
        };
        self.record(EventKind::Election { term });
        let peers = self.peers(&format!("RequestVote(term {term})"));
        let votes = Rc::new(Cell::new(1_usize));
        self.win_if_majority(term, votes.get());
        for peer in peers {
            let (node, votes) = (Rc::clone(self), Rc::clone(&votes));
            self.spawn(async move {
                let path = format!("/raft/vote/{term}/{}", node.host);
                let Some((answer, reply_term)) = node.send(&peer, &path).await else {
                    return;
                };
                node.observe_term(reply_term);
                if answer == "granted" {
                    votes.set(votes.get() + 1);
                    node.win_if_majority(term, votes.get());
                }
            });
        }
    }

    fn win_if_majority(&self, term: u64, votes: usize) {
        let mut raft = self.raft.borrow_mut();
        if raft.role == Role::Candidate && raft.term == term && votes * 2 > self.config.cluster_size
        {
            raft.role = Role::Leader;
            raft.leader = Some(Arc::clone(&self.host));
            drop(raft);
            self.record(EventKind::Leader { term });
            self.won.notify_one();
        }
    }

    /// A higher term seen in an answer makes this node a follower of it.
    fn observe_term(&self, term: u64) {
        let mut raft = self.raft.borrow_mut();
        if term > raft.term {
            let was_leader = raft.role == Role::Leader;
            raft.term = term;
            raft.role = Role::Follower;
            raft.voted_for = None;
            raft.leader = None;
            drop(raft);
            if was_leader {
                self.record(EventKind::SteppedDown { term });
            }
        }
    }

    /// Sends one peer message; the answer's word and term, if one came.
    async fn send(&self, peer: &str, path: &str) -> Option<(String, u64)> {
        let exchange = async {
            let stream = TcpStream::connect((peer, PORT)).await.ok()?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
                    .await
                    .ok()?;
            tokio::task::spawn_local(connection);
            let request = Request::get(path)
                .header(hyper::header::HOST, peer)
                .body(Empty::new())
                .ok()?;
            let response = sender.send_request(request).await.ok()?;
            if !response.status().is_success() {
                return None;
            }
            let body = response.into_body().collect().await.ok()?.to_bytes();
            let text = String::from_utf8_lossy(&body).into_owned();
            let (word, term) = text.split_once(' ')?;
            Some((word.to_string(), term.parse().ok()?))
        };
        tokio::time::timeout(self.config.message_timeout, exchange)
            .await
            .ok()
            .flatten()
    }

    /// Answers one HTTP request to the node.
    fn answer(&self, path: &str) -> (u16, String) {
        if path == HEALTH_PATH {
            return (200, "alive".into());
        }
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let ["raft", kind, term, from] = parts.as_slice() else {
            return (404, "no such route".into());
        };
        if !self.http_ready.get() {
            return (503, "router not ready".into());
        }
        let Ok(term) = term.parse::<u64>() else {
            return (400, "bad term".into());
        };
        let message = match *kind {
            "vote" => format!("RequestVote(term {term}) from {from}"),
            _ => format!("Heartbeat(term {term}) from {from}"),
        };
        // The fix serves the consensus routes only once consensus is ready.
        if self.config.start == StartPolicy::DependencyOrder && !self.raft_ready.get() {
            return (503, "consensus not started".into());
        }
        self.used("raft", "http", message);
        let from: Arc<str> = (*from).into();
        self.observe_term(term);
        let mut raft = self.raft.borrow_mut();
        let current = raft.term;
        match *kind {
            "vote" => {
                let free = raft.voted_for.as_ref().is_none_or(|voted| *voted == from);
                if term == current && free {
                    raft.voted_for = Some(from);
                    raft.heard = now();
                    (200, format!("granted {current}"))
                } else {
                    (200, format!("denied {current}"))
                }
            }
            "heartbeat" if term >= current => {
                let was_leader = raft.role == Role::Leader;
                raft.role = Role::Follower;
                raft.heard = now();
                let changed = raft.leader.as_ref() != Some(&from);
                raft.leader = Some(Arc::clone(&from));
                drop(raft);
                if was_leader {
                    self.record(EventKind::SteppedDown { term });
                }
                if changed {
                    self.record(EventKind::Follows {
                        leader: from.to_string(),
                        term,
                    });
                }
                (200, format!("ok {current}"))
            }
            "heartbeat" => (200, format!("stale {current}")),
            _ => (404, "no such route".into()),
        }
    }
}

impl Raft {
    fn new(now: Duration) -> Self {
        Self {
            term: 0,
            voted_for: None,
            role: Role::Follower,
            leader: None,
            peers: None,
            heard: now,
        }
    }
}

/// Runs one node process until its stop completes.
pub async fn serve(config: NodeConfig, mut process: Process) -> std::io::Result<()> {
    let listener = TcpListener::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), PORT))
        .await
        .map_err(bind_error)?;
    let node = Rc::new(Node {
        host: Arc::clone(&process.host),
        rng: RefCell::new(StdRng::seed_from_u64(process.seed)),
        raft: RefCell::new(Raft::new(now())),
        http_ready: Cell::new(false),
        raft_ready: Cell::new(false),
        peer_table: RefCell::default(),
        config,
        recorder: process.recorder.clone(),
        peers: process.peers.clone(),
        tasks: RefCell::default(),
        won: Notify::new(),
    });
    node.record(EventKind::Milestone(Milestone::Bound));
    node.spawn(accept_loop(Rc::clone(&node), listener));
    let startup = async {
        match node.config.start {
            StartPolicy::Parallel => {
                tokio::join!(node.start_http(), node.start_raft());
            }
            StartPolicy::DependencyOrder => {
                let order = start_order(&COMPONENTS).expect("the node's components are acyclic");
                for component in order {
                    match component {
                        "http" => node.start_http().await,
                        _ => node.start_raft().await,
                    }
                }
            }
        }
        std::future::pending::<()>().await
    };
    tokio::select! {
        biased;
        _ = process.stop.wait_for(|stop| *stop) => {}
        _ = startup => {}
    }
    node.record(EventKind::Milestone(Milestone::Draining));
    for task in node.tasks.take() {
        task.abort();
    }
    node.record(EventKind::Milestone(Milestone::Stopped));
    Ok(())
}

async fn accept_loop(node: Rc<Node>, listener: TcpListener) {
    while let Ok((stream, _)) = listener.accept().await {
        let served = Rc::clone(&node);
        node.spawn(async move {
            let node = served;
            let handler = service_fn(move |request: Request<hyper::body::Incoming>| {
                let (status, body) = node.answer(request.uri().path());
                let mut response = Response::new(Full::new(Bytes::from(body)));
                *response.status_mut() = hyper::StatusCode::from_u16(status)
                    .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
                async move { Ok::<_, Infallible>(response) }
            });
            let mut builder = http1::Builder::new();
            builder.auto_date_header(false).timer(TokioTimer::new());
            let _ = builder
                .serve_connection(TokioIo::new(stream), handler)
                .await;
        });
    }
}
