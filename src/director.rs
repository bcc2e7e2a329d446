//! The director: runs one case in a turmoil simulation and judges it.
//!
//! It owns the `turmoil::Sim` and its step loop. It executes the schedule's
//! steps at their simulated times, feeds every new trace event to the oracles
//! (so a run stops at the first violation), and ends the run as soon as the
//! verdict is known: at a violation, or when every step has run, every request
//! has been answered and no stop is pending. Every run is bounded in simulated
//! time, in ticks and in wall time, and says which bound it hit.
//!
//! The service host exists from the start with nothing running, so a request
//! before `start` is refused, as it would be by a machine whose process is not
//! up. A kill restarts the host's software into that idle state (the port
//! closes, peers see their connections end); a start or restart bounces it into
//! a fresh process of the target.

use std::cell::RefCell;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;

use crate::client::{self, Client, Order};
use crate::lifecycle::Process;
use crate::model::Target;
use crate::oracle::{Invariant, Oracle, Violation};
use crate::schedule::{Action, Schedule};
use crate::seed::derive;
use crate::trace::{Event, EventKind, Recorder};

/// The name of the service's host.
pub const SERVER_HOST: &str = "server";
/// The name of the client host.
pub const CLIENT_HOST: &str = "client";
/// The name trace events of the director itself carry.
pub const DIRECTOR_HOST: &str = "director";
/// The simulation's tick: its unit of simulated time.
pub const TICK: Duration = Duration::from_millis(1);
/// The fixed wall-clock epoch of every simulation (2024-01-01T00:00:00Z), so
/// nothing in a run depends on when it ran.
const EPOCH_SECONDS: u64 = 1_704_067_200;

/// One case: a seed and the schedule it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Fixes turmoil, tokio's scheduler and every random choice of the models.
    pub seed: u64,
    /// What happens, and when.
    pub schedule: Schedule,
}

/// The bounds of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Simulated time a run may go on after its last step before it is
    /// stopped as bounded. Default: 120 s.
    pub settle_max: Duration,
    /// Simulation ticks a run may take at most. Default: 2,000,000.
    pub ticks_max: u64,
    /// Wall-clock time a run may take at most. Default: 60 s.
    pub wall_time_max: Duration,
    /// How long a client waits for a response, in simulated time. Default: 5 s.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            settle_max: Duration::from_secs(120),
            ticks_max: 2_000_000,
            wall_time_max: Duration::from_secs(60),
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// Which bound stopped a run before its verdict was known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    /// The run reached this simulated time.
    SimulatedTime(Duration),
    /// The run took this many ticks.
    Ticks(u64),
    /// The run took this much wall-clock time.
    WallTime(Duration),
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every invariant held to the end.
    Pass,
    /// An invariant was broken.
    Violation(Violation),
    /// A bound stopped the run before a verdict.
    Bounded(Bound),
    /// The service or the simulation panicked or failed; the message says how.
    Crashed(String),
}

/// What one run recorded and concluded.
#[derive(Debug, Clone)]
pub struct Run {
    /// Every event, in order.
    pub events: Vec<Event>,
    /// How it ended.
    pub verdict: Verdict,
    /// Simulated time when it ended.
    pub elapsed: Duration,
    /// Ticks it took.
    pub ticks: u64,
}

/// Runs one case against the target, checking these invariants.
///
/// A panic anywhere in the simulation (a user's service, say) is caught and
/// returned as [`Verdict::Crashed`].
pub fn run(target: Target, case: &Case, invariants: &[Invariant], limits: &Limits) -> Run {
    let recorder = Recorder::default();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        Director::new(target, case, invariants, limits, recorder.clone()).run()
    }));
    match outcome {
        Ok(run) => run,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|text| text.to_string()))
                .unwrap_or_else(|| "a panic without a message".to_string());
            let events = recorder.take();
            let elapsed = events.last().map_or(Duration::ZERO, |event| event.at);
            Run {
                events,
                verdict: Verdict::Crashed(format!("panic: {message}")),
                elapsed,
                ticks: 0,
            }
        }
    }
}

/// The state of the service host's software, shared with its factory.
#[derive(Default)]
struct Slot {
    /// Whether the next (re)start of the host runs a process.
    run: bool,
    /// Whether a process runs now and has not finished its stop.
    alive: bool,
    /// Processes launched so far.
    launches: u64,
    /// The current process's stop signal.
    stop: Option<watch::Sender<bool>>,
}

struct Director<'a> {
    sim: turmoil::Sim<'a>,
    case: &'a Case,
    limits: &'a Limits,
    slot: Rc<RefCell<Slot>>,
    client: Client,
    recorder: Recorder,
    host: Rc<str>,
    oracles: Vec<Box<dyn Oracle>>,
    judged: usize,
    kill_deadline: Option<Duration>,
    requests: u64,
}

impl<'a> Director<'a> {
    fn new(
        target: Target,
        case: &'a Case,
        invariants: &[Invariant],
        limits: &'a Limits,
        recorder: Recorder,
    ) -> Self {
        let horizon = case.schedule.end() + limits.settle_max + TICK * 2;
        let mut sim = turmoil::Builder::new()
            .rng_seed(derive(case.seed, "turmoil"))
            .epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH_SECONDS))
            .tick_duration(TICK)
            .simulation_duration(horizon)
            .build();

        let slot = Rc::new(RefCell::new(Slot::default()));
        let server: Rc<str> = SERVER_HOST.into();
        let connection_ids = Rc::default();
        let factory = {
            let slot = Rc::clone(&slot);
            let recorder = recorder.clone();
            let seed = case.seed;
            move || {
                let process = {
                    let mut slot = slot.borrow_mut();
                    slot.stop = None;
                    slot.alive = slot.run;
                    slot.run.then(|| {
                        slot.launches += 1;
                        let (stop, signal) = watch::channel(false);
                        slot.stop = Some(stop);
                        Process {
                            host: Rc::clone(&server),
                            recorder: recorder.clone(),
                            stop: signal,
                            seed: derive(seed, &format!("process-{}", slot.launches)),
                            connection_ids: Rc::clone(&connection_ids),
                        }
                    })
                };
                let slot = Rc::clone(&slot);
                let host = Rc::clone(&server);
                let recorder = recorder.clone();
                async move {
                    if let Some(process) = process {
                        if let Err(error) = target.software(process).await {
                            recorder.record(
                                &host,
                                EventKind::Failed {
                                    message: error.to_string(),
                                },
                            );
                        }
                        slot.borrow_mut().alive = false;
                    }
                    // A host whose software returns freezes its sockets: keep it up.
                    std::future::pending::<()>().await;
                    Ok(())
                }
            }
        };
        sim.host(SERVER_HOST, factory);

        let (client, software) = client::client(client::Setup {
            host: CLIENT_HOST.into(),
            server: SERVER_HOST.into(),
            recorder: recorder.clone(),
            timeout: limits.request_timeout,
        });
        let software = RefCell::new(Some(software));
        sim.host(CLIENT_HOST, move || {
            let software = software.borrow_mut().take();
            async move {
                if let Some(software) = software {
                    software.await;
                }
                std::future::pending::<()>().await;
                Ok(())
            }
        });

        Self {
            sim,
            case,
            limits,
            slot,
            client,
            recorder,
            host: DIRECTOR_HOST.into(),
            oracles: invariants
                .iter()
                .map(|invariant| invariant.oracle())
                .collect(),
            judged: 0,
            kill_deadline: None,
            requests: 0,
        }
    }

    fn run(mut self) -> Run {
        let started = Instant::now();
        let steps = self.case.schedule.steps();
        let mut next = 0;
        let mut ticks = 0_u64;
        let verdict = loop {
            let now = self.sim.elapsed();
            while let Some(step) = steps.get(next).filter(|step| step.at <= now) {
                self.execute(now, &step.action);
                next += 1;
            }
            self.enforce_grace(now);
            if let Some(violation) = self.judge() {
                break Verdict::Violation(violation);
            }
            let quiet = self.client.in_flight() == 0 && self.kill_deadline.is_none();
            if next == steps.len() && quiet {
                match self
                    .oracles
                    .iter_mut()
                    .find_map(|oracle| oracle.finish(now))
                {
                    Some(violation) => break Verdict::Violation(violation),
                    None => break Verdict::Pass,
                }
            }
            if let Some(bound) = self.bound(now, ticks, started) {
                break Verdict::Bounded(bound);
            }
            if let Err(error) = self.sim.step() {
                break Verdict::Crashed(error.to_string());
            }
            ticks += 1;
        };
        Run {
            events: self.recorder.take(),
            verdict,
            elapsed: self.sim.elapsed(),
            ticks,
        }
    }

    fn execute(&mut self, now: Duration, action: &Action) {
        self.recorder
            .record_at(now, &self.host, EventKind::Step(action.clone()));
        match action {
            Action::Start => {
                if !self.slot.borrow().alive {
                    self.launch(true);
                }
            }
            Action::Request { path } => {
                self.requests += 1;
                self.client.send(Order {
                    request: self.requests,
                    path: path.clone(),
                });
            }
            Action::Wait => {}
            Action::Stop { grace } => {
                let slot = self.slot.borrow();
                if let (true, Some(stop)) = (slot.alive, &slot.stop) {
                    stop.send_replace(true);
                    self.kill_deadline = Some(now + *grace);
                }
            }
            Action::Kill => self.launch(false),
            Action::Restart => self.launch(true),
        }
    }

    /// Restarts the service host's software: a new process, or none.
    fn launch(&mut self, run: bool) {
        self.slot.borrow_mut().run = run;
        self.sim.bounce(SERVER_HOST);
        self.kill_deadline = None;
    }

    /// Kills the service when a graceful stop outlives its grace period.
    fn enforce_grace(&mut self, now: Duration) {
        let Some(deadline) = self.kill_deadline else {
            return;
        };
        if !self.slot.borrow().alive {
            self.kill_deadline = None;
        } else if now >= deadline {
            self.recorder
                .record_at(now, &self.host, EventKind::GraceExpired);
            self.launch(false);
        }
    }

    /// Feeds the events recorded since the last call to every oracle.
    fn judge(&mut self) -> Option<Violation> {
        let total = self.recorder.len();
        let oracles = &mut self.oracles;
        let verdict = self.recorder.with_events(|events| {
            events[self.judged..total]
                .iter()
                .zip(self.judged..)
                .find_map(|(event, index)| {
                    oracles
                        .iter_mut()
                        .find_map(|oracle| oracle.observe(index, event))
                })
        });
        self.judged = total;
        verdict
    }

    fn bound(&self, now: Duration, ticks: u64, started: Instant) -> Option<Bound> {
        if now > self.case.schedule.end() + self.limits.settle_max {
            return Some(Bound::SimulatedTime(now));
        }
        if ticks >= self.limits.ticks_max {
            return Some(Bound::Ticks(ticks));
        }
        // Reading the wall clock costs little, but not nothing: look every 256 ticks.
        if ticks % 256 == 0 && started.elapsed() > self.limits.wall_time_max {
            return Some(Bound::WallTime(started.elapsed()));
        }
        None
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::SimulatedTime(at) => {
                write!(f, "simulated time bound reached at {}ms", at.as_millis())
            }
            Bound::Ticks(ticks) => write!(f, "tick bound reached after {ticks} ticks"),
            Bound::WallTime(spent) => write!(
                f,
                "wall-time bound reached after {:.1}s",
                spent.as_secs_f64()
            ),
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Pass => f.write_str("pass"),
            Verdict::Violation(violation) => write!(f, "violation: {violation}"),
            Verdict::Bounded(bound) => write!(f, "inconclusive: {bound}"),
            Verdict::Crashed(message) => write!(f, "crashed: {message}"),
        }
    }
}
