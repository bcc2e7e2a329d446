//! The director: runs one case in a turmoil simulation and judges it.
//!
//! It owns the simulation's step loop. It executes the schedule's steps at
//! their simulated times, runs the orchestrator's timers (the preStop sleep,
//! SIGTERM, the endpoint's removal, SIGKILL at the end of the grace period),
//! carries out the kubelet's kills, and feeds every new trace event to the
//! oracles, so a run stops at the first violation. It ends the run as soon as
//! the verdict is known: at a violation, or when every step has run, every
//! request has been answered and no stop is pending. Every run is bounded in
//! simulated time, in ticks and in wall time, and says which bound it hit.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::client::{Connection, Order};
use crate::kubelet::KubeletConfig;
use crate::model::Target;
use crate::oracle::{Context, Invariant, Oracle, Violation};
use crate::oracles::SharedView;
use crate::preempt;
use crate::schedule::{Action, Host, Schedule};
use crate::seed::derive;
use crate::trace::{Current, Event, EventKind, KillReason, Recorder};
use crate::world::{World, DIRECTOR_HOST};

/// How long a cluster's run goes on past its last step and the convergence
/// bound, for changes that follow the last step (a node binding, a stop).
const SETTLE_MARGIN: Duration = Duration::from_millis(500);

/// The grace period of a stop that names none, without a kubelet.
pub const GRACE_DEFAULT: Duration = Duration::from_secs(30);

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
    /// The simulation's tick, its unit of simulated time: coarser runs
    /// faster, finer resolves shorter races. Default: 1 ms.
    pub tick: Duration,
    /// How long a cluster may take to agree on a leader after the last
    /// change; a run of a cluster lasts at least this long after its last
    /// step, so that convergence is judged. Default: 15 s.
    pub convergence_bound: Duration,
    /// How long a started or restarted service may take before requests
    /// must be served (`recovers-after-restart`). Default: 10 s.
    pub recovery_bound: Duration,
    /// Connections a service's listener holds sent but not yet accepted, as
    /// a kernel's listen backlog does; one more is refused. Default:
    /// [`BACKLOG_DEFAULT`], at most [`BACKLOG_MAX`].
    pub backlog: usize,
}

/// The listen backlog of a run unless it says: 1,024, what tokio's
/// `TcpListener::bind` asks of the kernel (the listeners of hyper and axum).
pub const BACKLOG_DEFAULT: usize = 1_024;
/// The largest listen backlog: 65,535, Linux's `net.core.somaxconn` ceiling.
pub const BACKLOG_MAX: usize = 65_535;

impl Default for Limits {
    fn default() -> Self {
        Self {
            settle_max: Duration::from_secs(120),
            ticks_max: 2_000_000,
            wall_time_max: Duration::from_secs(60),
            request_timeout: Duration::from_secs(5),
            tick: Duration::from_millis(1),
            convergence_bound: Duration::from_secs(15),
            recovery_bound: Duration::from_secs(10),
            backlog: BACKLOG_DEFAULT,
        }
    }
}

/// What every case of a campaign runs against.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The service under test.
    pub target: Target,
    /// The invariants the oracles check.
    pub invariants: Vec<Invariant>,
    /// The orchestrator, if the scenario has one.
    pub kubelet: Option<KubeletConfig>,
    /// The bounds of each run.
    pub limits: Limits,
}

impl Setup {
    /// A setup with the target's invariants, no kubelet and default limits.
    pub fn new(target: impl Into<Target>) -> Self {
        let target = target.into();
        Self {
            invariants: target.invariants(),
            target,
            kubelet: None,
            limits: Limits::default(),
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

/// Runs one case against the setup's target, checking its invariants.
///
/// A panic anywhere in the simulation (a user's service, say) is caught and
/// returned as [`Verdict::Crashed`].
pub fn run(setup: &Setup, case: &Case) -> Run {
    capture_panics();
    PANIC.with(|panic| *panic.borrow_mut() = Some(None));
    let recorder = Recorder::default();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        Director::new(setup, case, recorder.clone()).run()
    }));
    // The first panic of the run is the cause; tokio may re-panic with its
    // own message when a task's panic shuts the runtime down.
    let first = PANIC.with(|panic| panic.borrow_mut().take().flatten());
    outcome.unwrap_or_else(|payload| {
        let message = first.unwrap_or_else(|| payload_message(payload.as_ref()));
        let events = recorder.take();
        let elapsed = events.last().map_or(Duration::ZERO, |event| event.at);
        Run {
            events,
            verdict: Verdict::Crashed(format!("panic: {message}")),
            elapsed,
            ticks: 0,
        }
    })
}

thread_local! {
    /// While a run is on this thread: `Some`, holding its first panic's
    /// message once there is one.
    static PANIC: std::cell::RefCell<Option<Option<String>>> = const { std::cell::RefCell::new(None) };
}

/// Installs, once per process, a panic hook that keeps the first panic of a
/// run on its thread (message and place) for the verdict, instead of
/// printing it; panics outside runs go to the hook that was there before.
fn capture_panics() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let captured = PANIC.with(|panic| match &mut *panic.borrow_mut() {
                Some(first) => {
                    if first.is_none() {
                        let place = info.location().map_or_else(String::new, |at| {
                            format!(
                                " (at {}:{}:{})",
                                crate_relative(at.file()),
                                at.line(),
                                at.column()
                            )
                        });
                        *first = Some(format!("{}{place}", payload_message(info.payload())));
                    }
                    true
                }
                None => false,
            });
            if !captured {
                previous(info);
            }
        }));
    });
}

/// A source file's path from its crate's directory on: a verdict names no
/// directory of the machine that built it. `/home/me/.cargo/registry/src/
/// index…/turmoil-0.7.2/src/host.rs` becomes `turmoil-0.7.2/src/host.rs`,
/// `/home/me/app/src/main.rs` becomes `app/src/main.rs`; a path already
/// relative (a workspace member's `src/lib.rs`) is kept.
pub(crate) fn crate_relative(file: &str) -> String {
    let file = file.replace('\\', "/");
    let absolute = file.starts_with('/') || file.get(1..2) == Some(":");
    if !absolute {
        return file;
    }
    match file.rfind("/src/") {
        Some(at) => {
            let crate_directory = file[..at].rsplit('/').next().unwrap_or_default();
            format!("{crate_directory}{}", &file[at..])
        }
        None => file.rsplit('/').next().unwrap_or_default().to_string(),
    }
}

/// A panic payload's message.
fn payload_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|text| text.to_string()))
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// A signal or endpoint change the orchestrator carries out later, for one
/// process of one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    Sigterm,
    RemoveEndpoint,
    Sigkill,
}

struct Director<'a> {
    world: World<'a>,
    setup: &'a Setup,
    case: &'a Case,
    recorder: Recorder,
    host: Rc<str>,
    oracles: Vec<Box<dyn Oracle>>,
    /// The view the oracles share, if any of them reads it.
    view: Option<SharedView>,
    judged: usize,
    /// Pending timers: when, what, and for which host's which process.
    timers: Vec<(Duration, Timer, Host, u64)>,
}

impl<'a> Director<'a> {
    fn new(setup: &'a Setup, case: &'a Case, recorder: Recorder) -> Self {
        let horizon = case.schedule.end() + setup.limits.settle_max + setup.limits.tick * 2;
        let context = Context {
            drain_deadline: setup.target.drain_deadline(),
            convergence_bound: setup.limits.convergence_bound,
            cluster_size: setup.target.hosts().len(),
            recovery_bound: setup.limits.recovery_bound,
            health_path: setup.target.health_path().map(str::to_string),
            ready_path: setup.target.ready_path().map(str::to_string),
            view: SharedView::new(
                setup.target.health_path().map(str::to_string),
                setup.target.ready_path().map(str::to_string),
            ),
        };
        // Only oracles that read the view need it kept.
        let view = setup
            .invariants
            .iter()
            .any(|invariant| invariant.reads_view())
            .then(|| context.view.clone());
        Self {
            view,
            world: World::new(setup, case.seed, horizon, &recorder),
            setup,
            case,
            recorder,
            host: DIRECTOR_HOST.into(),
            oracles: setup
                .invariants
                .iter()
                .map(|invariant| invariant.oracle(&context))
                .collect(),
            judged: 0,
            timers: Vec::new(),
        }
    }

    fn run(mut self) -> Run {
        let _preemption =
            preempt::Installed::new(derive(self.case.seed, "preempt"), self.setup.limits.tick);
        let _current = Current::install(&self.recorder);
        let started = Instant::now();
        let steps = self.case.schedule.steps();
        let mut next = 0;
        let mut ticks = 0_u64;
        let verdict = loop {
            let now = self.world.sim.elapsed();
            while let Some(step) = steps.get(next).filter(|step| step.at <= now) {
                self.execute(now, &step.action);
                next += 1;
            }
            self.orchestrate(now);
            if let Some(violation) = self.judge(now) {
                break Verdict::Violation(violation);
            }
            // A cluster runs on past its last step until convergence can be judged.
            let settled = self.world.servers().count() == 1
                || now
                    > self.case.schedule.end()
                        + self.setup.limits.convergence_bound
                        + SETTLE_MARGIN;
            let quiet = self.world.client.in_flight() == 0 && self.timers.is_empty() && settled;
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
            if let Err(error) = self.world.sim.step() {
                break Verdict::Crashed(error.to_string());
            }
            ticks += 1;
        };
        Run {
            events: self.recorder.take(),
            verdict,
            elapsed: self.world.sim.elapsed(),
            ticks,
        }
    }

    fn record(&self, now: Duration, kind: EventKind) {
        self.recorder.record_at(now, &self.host, kind);
    }

    /// Records a signal under the host it is delivered to.
    fn signal(&self, now: Duration, host: Host, kind: EventKind) {
        self.recorder.record_at(now, &Rc::from(host.name()), kind);
    }

    fn execute(&mut self, now: Duration, action: &Action) {
        self.record(now, EventKind::Step(action.clone()));
        match action {
            Action::Start { host } => {
                for host in self.hosts(*host) {
                    if !self.world.alive(host) {
                        self.launch(host, true);
                    }
                }
            }
            Action::Wait => {}
            Action::Request { path, keep, manner } => self.world.client.send(Order {
                path: path.clone(),
                port: self.setup.target.port(),
                keep: *keep,
                manner: *manner,
            }),
            Action::Connect { partial, hold } => self.world.client.connect(Connection {
                port: self.setup.target.port(),
                partial: *partial,
                hold: *hold,
            }),
            Action::Stop { host, grace } => {
                for host in self.hosts(*host) {
                    self.stop(now, host, *grace);
                }
            }
            Action::Kill { host } => {
                for host in self.hosts(*host) {
                    self.launch(host, false);
                }
            }
            Action::Restart { host } => {
                for host in self.hosts(*host) {
                    self.launch(host, true);
                }
            }
            Action::Crash { host } => {
                for host in self.hosts(*host) {
                    self.forget_timers(host);
                    self.world.crash(host);
                }
            }
            Action::Network { link, a, b } => {
                if !self.world.network(*link, *a, *b) {
                    tracing::debug!(%action, "a host of this step is not in the scenario: skipped");
                }
            }
        }
    }

    /// The service hosts a step acts on: the one it names, or all of them. A
    /// named host that is not a service host of the target is skipped.
    fn hosts(&self, named: Option<Host>) -> Vec<Host> {
        self.world
            .servers()
            .filter(|host| named.is_none_or(|named| named == *host))
            .collect()
    }

    /// Starts a graceful stop of a host's running process, as the
    /// orchestrator would.
    fn stop(&mut self, now: Duration, host: Host, grace: Option<Duration>) {
        if !self.world.alive(host) {
            return;
        }
        let process = self.world.launches(host);
        let kubelet = self.setup.kubelet.as_ref();
        let grace = grace
            .or(kubelet.map(|kubelet| kubelet.termination_grace_period))
            .unwrap_or(GRACE_DEFAULT);
        let pre_stop = kubelet.map_or(Duration::ZERO, |kubelet| kubelet.pre_stop);
        self.timers
            .push((now + pre_stop, Timer::Sigterm, host, process));
        self.timers
            .push((now + grace, Timer::Sigkill, host, process));
        if let (Some(kubelet), Some(pod)) = (kubelet, &self.world.pod) {
            pod.terminating.set(true);
            let lag = kubelet.endpoint_removal_lag;
            self.timers
                .push((now + lag, Timer::RemoveEndpoint, host, process));
        }
        self.timers.sort_by_key(|(at, _, _, _)| *at);
    }

    /// Restarts a host into a fresh process, or idle; pending timers belong
    /// to its old process and go with it.
    fn launch(&mut self, host: Host, run: bool) {
        self.forget_timers(host);
        self.world.launch(host, run);
    }

    /// Drops the pending timers of a host whose process is replaced or gone.
    fn forget_timers(&mut self, host: Host) {
        self.timers.retain(|(_, _, owner, _)| *owner != host);
    }

    /// Fires due timers and carries out the kubelet's kills.
    fn orchestrate(&mut self, now: Duration) {
        self.world.exit_returned();
        if let Some(reason) = self.world.pod.as_ref().and_then(|pod| pod.kill.take()) {
            for host in self.hosts(None) {
                self.signal(now, host, EventKind::Sigkill { reason });
                self.launch(host, false);
            }
        }
        // A process that is gone gets no signals; its endpoint still goes.
        let world = &self.world;
        self.timers.retain(|(_, timer, host, process)| {
            let current = world.launches(*host) == *process;
            current && (world.alive(*host) || *timer == Timer::RemoveEndpoint)
        });
        while self.timers.first().is_some_and(|(at, _, _, _)| *at <= now) {
            let (_, timer, host, _) = self.timers.remove(0);
            match timer {
                Timer::Sigterm => {
                    self.signal(now, host, EventKind::Sigterm);
                    self.world.sigterm(host);
                }
                Timer::RemoveEndpoint => {
                    if let Some(pod) = &self.world.pod {
                        if pod.routed.replace(false) {
                            let kubelet = Rc::from(Host::Kubelet.name());
                            self.recorder.record_at(
                                now,
                                &kubelet,
                                EventKind::Endpoint { routed: false },
                            );
                        }
                    }
                }
                Timer::Sigkill => {
                    let reason = KillReason::GraceExpired;
                    self.signal(now, host, EventKind::Sigkill { reason });
                    self.launch(host, false);
                }
            }
        }
    }

    /// Feeds the events recorded since the last call to every oracle, then
    /// lets each judge the passing of time.
    fn judge(&mut self, now: Duration) -> Option<Violation> {
        let total = self.recorder.len();
        if total == self.judged {
            return self.oracles.iter_mut().find_map(|oracle| oracle.tick(now));
        }
        let oracles = &mut self.oracles;
        let view = &self.view;
        let judged = self.judged;
        let verdict = self.recorder.with_events(|events| {
            events[judged..total]
                .iter()
                .zip(judged..)
                .find_map(|(event, index)| {
                    let verdict = oracles
                        .iter_mut()
                        .find_map(|oracle| oracle.observe(index, event));
                    // Each oracle judged the state before the event; now the
                    // shared view takes it in.
                    if let Some(view) = view {
                        view.0.borrow_mut().observe(index, event);
                    }
                    verdict
                })
        });
        self.judged = total;
        verdict.or_else(|| self.oracles.iter_mut().find_map(|oracle| oracle.tick(now)))
    }

    fn bound(&self, now: Duration, ticks: u64, started: Instant) -> Option<Bound> {
        let limits = &self.setup.limits;
        if now > self.case.schedule.end() + limits.settle_max {
            return Some(Bound::SimulatedTime(now));
        }
        if ticks >= limits.ticks_max {
            return Some(Bound::Ticks(ticks));
        }
        // Reading the wall clock costs little, but not nothing: look every 256 ticks.
        if ticks % 256 == 0 && started.elapsed() > limits.wall_time_max {
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
            Bound::WallTime(spent) => {
                write!(
                    f,
                    "wall-time bound reached after {:.1}s",
                    spent.as_secs_f64()
                )
            }
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

#[cfg(test)]
mod tests {
    use super::crate_relative;

    #[test]
    fn a_panic_place_is_named_from_its_crate_on() {
        assert_eq!(
            crate_relative("/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/turmoil-0.7.2/src/host.rs"),
            "turmoil-0.7.2/src/host.rs"
        );
        assert_eq!(
            crate_relative("/home/me/app/src/main.rs"),
            "app/src/main.rs"
        );
        assert_eq!(
            crate_relative("C:\\work\\app\\src\\lib.rs"),
            "app/src/lib.rs"
        );
        assert_eq!(crate_relative("src/service.rs"), "src/service.rs");
        assert_eq!(crate_relative("/build/generated.rs"), "generated.rs");
    }
}
