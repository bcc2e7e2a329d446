//! Generating schedules from a seed, and shrinking a failing one.
//!
//! A [`Generator`] is the parameters a scenario gives; its proptest strategy
//! draws cycles of a start, some requests and an optional graceful stop, and
//! optional faults. The random source is seeded from the case
//! seed, so a case seed alone reproduces its schedule. Shrinking uses proptest's
//! value trees: fewer requests and faults, no stop, earlier times, the first
//! path of the list.

use std::time::Duration;

use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::case::schedule::{Action, Host, Link, Manner, Schedule, Step, STREAMS_MAX};
use crate::case::seed::derive;
use crate::case::{HEALTH_PATH, READY_PATH};

/// A fault a generated schedule may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// Kill the service (SIGKILL).
    Kill,
    /// Kill the service and start it again.
    Restart,
    /// Crash the service's machine until the next start.
    Crash,
    /// Partition the client from the server, and repair it later.
    Partition,
    /// Hold the messages between client and server, and release them later.
    Hold,
    /// Set a fixed latency between client and server.
    Latency,
}

impl Fault {
    /// Every fault, in a stable order.
    pub const ALL: [Fault; 6] = [
        Fault::Kill,
        Fault::Restart,
        Fault::Crash,
        Fault::Partition,
        Fault::Hold,
        Fault::Latency,
    ];

    /// The name scenario files use.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Kill => "kill",
            Fault::Restart => "restart",
            Fault::Crash => "crash",
            Fault::Partition => "partition",
            Fault::Hold => "hold",
            Fault::Latency => "latency",
        }
    }

    /// The steps of this fault at `at`; `span` is how long a network fault
    /// lasts (or, for latency, the delay it sets). A process fault hits
    /// `host`; a network fault cuts between the two hosts of `link`.
    fn steps(
        self,
        at: Duration,
        span: Duration,
        host: Option<Host>,
        between: (Host, Host),
    ) -> Vec<Step> {
        let network = |link| Action::Network {
            link,
            a: between.0,
            b: between.1,
        };
        let step = |at, action| Step { at, action };
        match self {
            Fault::Kill => vec![step(at, Action::Kill { host })],
            Fault::Restart => vec![step(at, Action::Restart { host })],
            Fault::Crash => vec![step(at, Action::Crash { host })],
            Fault::Partition => vec![
                step(at, network(Link::Partition)),
                step(at + span, network(Link::Repair)),
            ],
            Fault::Hold => vec![
                step(at, network(Link::Hold)),
                step(at + span, network(Link::Release)),
            ],
            Fault::Latency => {
                // Whole milliseconds, so the schedule's text form is exact.
                let delay = Duration::from_millis(span.as_millis() as u64 / 10);
                vec![step(at, network(Link::Latency(delay)))]
            }
        }
    }
}

/// A behaviour of the clients a generated schedule may draw for a request:
/// the traffic real services see, from browsers, pools, load balancers and
/// slow links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Behaviour {
    /// A GET written at once, answered, the connection closed or kept
    /// (`request /`). The simplest: shrinking moves toward it.
    Whole,
    /// A connection that sends nothing: held for a drawn while, or until the
    /// server closes it (`connect`, `connect hold=…`): a browser's
    /// preconnect, a pool warming up, a load balancer's TCP check.
    Silent,
    /// Half a request head (over HTTP/2, half the connection preface), then
    /// silence for a drawn while (`connect partial hold=…`): a slow client. Always bounded: a client that stalls for
    /// ever is an attack a server meets with timeouts, not a drain.
    Partial,
    /// A POST whose body arrives slowly over a drawn span (`request / slow=…`).
    SlowBody,
    /// A GET, then a half-close of the client's sending side (`request /
    /// half-close`).
    HalfClose,
    /// A GET on a kept connection, then a second on the same connection,
    /// drawn close to the cycle's stop when it has one (`request /
    /// reuse=…`): a pool reusing a connection right at SIGTERM. Over HTTP/2
    /// the second is a new stream on the kept connection.
    Reuse,
    /// Two to [`STREAMS_MAX`] GETs at once as streams of one HTTP/2
    /// connection (`request / streams=…`): requests in flight together on
    /// one connection at a stop. Only for clients that send HTTP/2.
    Streams,
}

impl Behaviour {
    /// Every behaviour, in the order the documentation lists them.
    pub const ALL: [Behaviour; 7] = [
        Behaviour::Whole,
        Behaviour::Silent,
        Behaviour::Partial,
        Behaviour::SlowBody,
        Behaviour::HalfClose,
        Behaviour::Reuse,
        Behaviour::Streams,
    ];

    /// The name scenario files use.
    pub fn name(self) -> &'static str {
        match self {
            Behaviour::Whole => "whole",
            Behaviour::Silent => "silent",
            Behaviour::Partial => "partial",
            Behaviour::SlowBody => "slow-body",
            Behaviour::HalfClose => "half-close",
            Behaviour::Reuse => "reuse",
            Behaviour::Streams => "streams",
        }
    }

    /// The behaviour with this name.
    pub fn from_name(name: &str) -> Option<Behaviour> {
        Behaviour::ALL
            .into_iter()
            .find(|behaviour| behaviour.name() == name)
    }

    /// The action of a request drawn with this behaviour at `at_ms`: `span_ms`
    /// is its drawn hold, body span or reuse delay, `forever` whether a
    /// silent connection is held until the server closes it, `stop_ms` the
    /// cycle's stop.
    fn action(
        self,
        path: String,
        keep: Option<Duration>,
        draw: (u64, u64, bool),
        stop_ms: Option<u64>,
    ) -> Action {
        let (at_ms, span_ms, forever) = draw;
        let span = Duration::from_millis(span_ms);
        let request = |manner| Action::Request {
            path: path.clone(),
            keep,
            manner,
        };
        match self {
            Behaviour::Whole => request(Manner::Whole),
            Behaviour::Silent => Action::Connect {
                partial: false,
                hold: (!forever).then_some(span),
            },
            Behaviour::Partial => Action::Connect {
                partial: true,
                hold: Some(span),
            },
            Behaviour::SlowBody => request(Manner::SlowBody(span)),
            Behaviour::HalfClose => Action::Request {
                path,
                keep: None,
                manner: Manner::HalfClose,
            },
            Behaviour::Reuse => {
                // Aim the second request within 50ms of the stop, if that
                // lies ahead; else a short while after the first.
                let aim = stop_ms
                    .map(|stop| (stop + span_ms % 101).saturating_sub(50))
                    .filter(|aim| *aim > at_ms);
                let after_ms = aim.map_or(1 + span_ms % 500, |aim| aim - at_ms);
                request(Manner::Reuse(Duration::from_millis(after_ms)))
            }
            Behaviour::Streams => {
                let extra = span_ms % u64::from(STREAMS_MAX - 1);
                request(Manner::Streams(2 + extra as u16))
            }
        }
    }
}

/// The parameters of generated schedules.
///
/// A schedule is one or more *cycles* of the service's life, each `horizon`
/// long: a start early in the cycle, requests, and perhaps a graceful stop —
/// the start → requests → stop → start again loop that finds drain races.
/// Faults fall anywhere in the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generator {
    /// How long one cycle lasts; its start falls in its first quarter. Default: 1 s.
    pub horizon: Duration,
    /// At most this many cycles. Default: 1.
    pub cycles_max: usize,
    /// At most this many requests per cycle. Default: 8.
    pub requests_max: usize,
    /// Requests pick among these paths; the first is the simplest. Default:
    /// `/`, `/ready`, `/health`.
    pub paths: Vec<String>,
    /// The longest a request's connection is kept open, idle, after its
    /// response; zero sends no keep-alive connections. Default: zero.
    pub keep_max: Duration,
    /// Whether a cycle may hold a graceful stop. Default: true.
    pub stop: bool,
    /// The grace period of a generated stop; none leaves it to the kubelet
    /// (or 30 s). Default: none.
    pub grace: Option<Duration>,
    /// Faults a schedule may contain. Default: none.
    pub faults: Vec<Fault>,
    /// At most this many faults. Default: 2.
    pub faults_max: usize,
    /// The client behaviours a request may be drawn with. A failure shrinks
    /// toward the first one listed, so list the plainest first. Default:
    /// `whole` alone.
    pub clients: Vec<Behaviour>,
}

impl Default for Generator {
    fn default() -> Self {
        Self {
            horizon: Duration::from_secs(1),
            cycles_max: 1,
            requests_max: 8,
            paths: vec!["/".into(), READY_PATH.into(), HEALTH_PATH.into()],
            keep_max: Duration::ZERO,
            stop: true,
            grace: None,
            faults: Vec::new(),
            faults_max: 2,
            clients: vec![Behaviour::Whole],
        }
    }
}

/// A generated schedule that can shrink.
pub struct Shrinkable {
    tree: Box<dyn ValueTree<Value = Schedule>>,
}

impl Shrinkable {
    /// The schedule as it stands.
    pub fn current(&self) -> Schedule {
        self.tree.current()
    }

    /// Tries a simpler schedule; false when there is none left to try.
    pub fn simplify(&mut self) -> bool {
        self.tree.simplify()
    }

    /// Backs off the last simplification, which passed; false when there is
    /// nothing between it and the last failing schedule.
    pub fn complicate(&mut self) -> bool {
        self.tree.complicate()
    }
}

impl Generator {
    /// The schedule of the case with this seed for a target of `nodes`
    /// service hosts, ready to shrink. With one, steps name no host; with
    /// more (a cluster), the nodes start one by one in any order, and faults
    /// hit single nodes and the links between them.
    pub fn generate(&self, case_seed: u64, nodes: u8) -> Shrinkable {
        let mut seed_bytes = [0_u8; 32];
        for (index, chunk) in seed_bytes.chunks_mut(8).enumerate() {
            let word = derive(case_seed, &format!("schedule-{index}"));
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
        let mut runner = TestRunner::new_with_rng(Config::default(), rng);
        let tree = self
            .strategy(nodes)
            .new_tree(&mut runner)
            .expect("schedule strategies never reject");
        Shrinkable { tree }
    }

    fn strategy(&self, nodes: u8) -> BoxedStrategy<Schedule> {
        let milliseconds =
            |duration: Duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        let cycle_ms = milliseconds(self.horizon).max(1);
        let keep_ms = milliseconds(self.keep_max);
        let time = move |limit_ms: u64| (0..limit_ms.max(1)).prop_map(Duration::from_millis);
        let keep = move || {
            if keep_ms == 0 {
                Just(None).boxed()
            } else {
                prop::option::of((1..=keep_ms).prop_map(Duration::from_millis)).boxed()
            }
        };
        let path_count = self.paths.len().max(1);
        let stop = if self.stop {
            prop::option::of(time(cycle_ms)).boxed()
        } else {
            Just(None).boxed()
        };
        let nodes = nodes.max(1);
        // A single host keeps the simplest shapes, so its seeds keep drawing
        // the schedules they always drew.
        let starts = if nodes == 1 {
            time(cycle_ms / 4 + 1).prop_map(|start| vec![start]).boxed()
        } else {
            prop::collection::vec(time(cycle_ms / 4 + 1), usize::from(nodes)).boxed()
        };
        // With `whole` alone, requests draw what they always drew, so
        // existing seeds keep their schedules.
        let behaviours = self.clients.clone();
        let behaviour_count = behaviours.len().max(1);
        let plain = behaviours.is_empty() || behaviours == [Behaviour::Whole];
        let request = move || {
            let shape = if plain {
                Just((0, 1, false)).boxed()
            } else {
                (0..behaviour_count, 1..=cycle_ms, any::<bool>()).boxed()
            };
            (time(cycle_ms), 0..path_count, keep(), shape)
        };
        let cycle = (
            starts,
            prop::collection::vec(request(), 0..=self.requests_max),
            stop,
        );
        let cycles = prop::collection::vec(cycle, 1..=self.cycles_max.max(1));
        let run_ms = cycle_ms.saturating_mul(self.cycles_max.max(1) as u64);
        let fault_count = if self.faults.is_empty() {
            0
        } else {
            self.faults_max
        };
        let fault_kinds_count = self.faults.len().max(1);
        let fault = if nodes == 1 {
            (time(run_ms), 0..fault_kinds_count, time(cycle_ms))
                .prop_map(|(at, kind, span)| (at, kind, span, 1, 1))
                .boxed()
        } else {
            (
                time(run_ms),
                0..fault_kinds_count,
                time(cycle_ms),
                1..=nodes,
                1..nodes,
            )
                .boxed()
        };
        let faults = prop::collection::vec(fault, 0..=fault_count);
        let (paths, fault_kinds, grace) = (self.paths.clone(), self.faults.clone(), self.grace);
        let cycle_length = Duration::from_millis(cycle_ms);
        let node = move |index: u8| (nodes > 1).then_some(Host::Node(index));
        (cycles, faults)
            .prop_map(move |(cycles, faults)| {
                let mut steps = Vec::new();
                for (index, (starts, requests, stop)) in cycles.into_iter().enumerate() {
                    let offset = cycle_length * index as u32;
                    steps.extend(starts.into_iter().zip(1..).map(|(start, index)| Step {
                        at: offset + start,
                        action: Action::Start { host: node(index) },
                    }));
                    let stop_ms = stop.map(|stop| stop.as_millis() as u64);
                    steps.extend(requests.into_iter().map(|(at, path, keep, shape)| {
                        let (behaviour, span_ms, forever) = shape;
                        let behaviour = behaviours
                            .get(behaviour)
                            .copied()
                            .unwrap_or(Behaviour::Whole);
                        let path = paths.get(path).cloned().unwrap_or_else(|| "/".into());
                        let draw = (at.as_millis() as u64, span_ms, forever);
                        Step {
                            at: offset + at,
                            action: behaviour.action(path, keep, draw, stop_ms),
                        }
                    }));
                    steps.extend(stop.map(|at| Step {
                        at: offset + at,
                        action: Action::Stop { host: None, grace },
                    }));
                }
                for (at, fault, span, first, distance) in faults {
                    let Some(fault) = fault_kinds.get(fault) else {
                        continue;
                    };
                    let second = (first - 1 + distance) % nodes + 1;
                    let between = match node(first).zip(node(second)) {
                        Some(pair) => pair,
                        None => (Host::Client, Host::Server),
                    };
                    steps.extend(fault.steps(at, span, node(first), between));
                }
                Schedule::new(steps)
            })
            .boxed()
    }
}
