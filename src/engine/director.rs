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

use std::sync::{mpsc, Arc};
use std::time::Duration;

use super::client::{Connection, Order};
use super::intercept;
use super::memory;
use super::panic;
use super::setup::Setup;
use super::stage::Stage;
use super::threads::Threaded;
use super::timers::{Timer, Timers};
use super::watchdog::{Ended, Pulse, Watchdog};
use super::world::{World, DIRECTOR_HOST};
use crate::case::backend::Backend;
use crate::case::http::Protocol;
use crate::case::schedule::{Action, Host};
use crate::case::seed::derive;
use crate::case::trace::{Current, Event, EventKind, KillReason, Recorder};
use crate::case::verdict::{Blocked, Bound, MemoryUse, Reads, Run, Verdict, Violation};
use crate::case::{Case, Limits};
use crate::core::preempt;
use crate::judge::{Facts, Judge, SLACK_REAL_TIME, SLACK_SIMULATED};

/// How long a cluster's run goes on past its last step and the convergence
/// bound, for changes that follow the last step (a node binding, a stop).
const SETTLE_MARGIN: Duration = Duration::from_millis(500);

/// The grace period of a stop that names none, without a kubelet.
pub const GRACE_DEFAULT: Duration = Duration::from_secs(30);

/// Runs one case against the setup's target, checking its invariants.
///
/// The case runs on a thread of its own, started for it: std draws a
/// thread's `HashMap` keys once, at its first `RandomState`, so only a new
/// thread draws them from the case's seed (see the `intercept` module),
/// and a thread the service blocks can be left behind. The watchdog bounds
/// the run in wall time and sees a step that does not return: that run is
/// [`Verdict::Blocked`], reported with what it recorded until then, and
/// its thread is given up. A panic anywhere in the simulation (a user's
/// service, say) is caught and returned as [`Verdict::Crashed`].
pub(crate) fn run(setup: &Setup, case: &Case) -> Run {
    // One channel hears both the run's thread and the watchdog, so the
    // waiting thread sleeps until one of them speaks. Only they hold a
    // sender: if the run's thread ended without a word, the watchdog,
    // seeing no more steps, speaks within `blocked_max`.
    let (ended, outcome) = mpsc::channel();
    let recorder = match setup.backend {
        Backend::Simulated => Recorder::default(),
        Backend::Threads(_) => Recorder::real_time(std::time::Instant::now()),
    };
    let pulse = Watchdog::watch(&watched_limits(setup, case), ended.clone());
    let job = (
        setup.clone(),
        case.clone(),
        recorder.clone(),
        Arc::clone(&pulse),
    );
    let spawned = std::thread::Builder::new()
        .name(format!("case {:#018x}", case.seed))
        .spawn(move || {
            let (setup, case, recorder, pulse) = job;
            // First, before anything on this thread draws randomness.
            // Real threads read the real clocks.
            let simulated = setup.backend == Backend::Simulated;
            let intercepted =
                intercept::Installed::new(case.seed, setup.limits.intercept && simulated);
            memory::reset_thread();
            let mut run = run_here(&setup, &case, recorder, &pulse);
            run.reads = intercepted.reads();
            pulse.finish();
            // The waiting thread may have gone on without this run.
            let _ = ended.send(Ended::Ran(Box::new(run)));
        });
    if let Err(error) = spawned {
        pulse.finish();
        return crashed(
            Vec::new(),
            format!("could not start the case's thread: {error}"),
        );
    }
    match outcome.recv() {
        Ok(Ended::Ran(run)) => *run,
        // The run may have ended as the watchdog spoke: its own verdict wins.
        Ok(Ended::Blocked(still)) => match outcome.try_recv() {
            Ok(Ended::Ran(run)) => *run,
            _ => blocked_run(setup, &recorder, &pulse, still),
        },
        Err(_) => crashed(
            recorder.try_copy().unwrap_or_default(),
            "the case's thread ended without a run".into(),
        ),
    }
}

/// Runs one case on this thread.
fn run_here(setup: &Setup, case: &Case, recorder: Recorder, pulse: &Pulse) -> Run {
    panic::catching(|| match &setup.backend {
        Backend::Simulated => {
            let horizon = case.schedule.end() + setup.limits.settle_max + setup.limits.tick * 2;
            let world = World::new(setup, case.seed, horizon, &recorder);
            Director::new(setup, case, recorder.clone(), pulse, world).run()
        }
        Backend::Threads(threads) => match Threaded::new(setup, case.seed, threads, &recorder) {
            Ok(world) => Director::new(setup, case, recorder.clone(), pulse, world).run(),
            Err(message) => crashed(Vec::new(), message),
        },
    })
    .unwrap_or_else(|message| crashed(recorder.take(), format!("panic: {message}")))
}

/// A run that ended in a crash, with what it recorded.
fn crashed(events: Vec<Event>, message: String) -> Run {
    let elapsed = events.last().map_or(Duration::ZERO, |event| event.at);
    Run {
        events,
        verdict: Verdict::Crashed(message),
        elapsed,
        ticks: 0,
        reads: Reads::default(),
    }
}

/// The run of a case whose thread the watchdog saw blocked: what it
/// recorded until then, and where it blocked.
fn blocked_run(setup: &Setup, recorder: &Recorder, pulse: &Pulse, still: Duration) -> Run {
    let events = recorder.try_copy().unwrap_or_default();
    let host = if pulse.in_step() {
        // Only a target's hosts run code that is not the harness's.
        let hosts: Vec<&str> = setup
            .target
            .hosts()
            .iter()
            .map(|host| host.name())
            .collect();
        hosts.join(" or ")
    } else {
        "the harness itself, between steps (a defect of lifecycle-sim: please report it)".into()
    };
    Run {
        verdict: Verdict::Blocked(Blocked {
            host,
            at: pulse.at(),
            wall_time: still,
            last_event: events.last().map(Event::to_string),
        }),
        elapsed: pulse.at(),
        ticks: pulse.steps(),
        events,
        reads: Reads::default(),
    }
}

struct Director<'a, W> {
    world: W,
    /// The run's signs of life for the watchdog.
    pulse: &'a Pulse,
    setup: &'a Setup,
    case: &'a Case,
    recorder: Recorder,
    host: Arc<str>,
    judge: Judge,
    /// The orchestrator's pending signals and endpoint changes.
    timers: Timers,
}

impl<'a, W: Stage> Director<'a, W> {
    fn new(
        setup: &'a Setup,
        case: &'a Case,
        recorder: Recorder,
        pulse: &'a Pulse,
        world: W,
    ) -> Self {
        let facts = Facts {
            drain_deadline: setup.target.drain_deadline(),
            convergence_bound: setup.limits.convergence_bound,
            cluster_size: setup.target.hosts().len(),
            recovery_bound: setup.limits.recovery_bound,
            health_path: setup.target.health_path().map(str::to_string),
            ready_path: setup.target.ready_path().map(str::to_string),
            grpc: setup.protocol == Protocol::Grpc,
            slack: match setup.backend {
                Backend::Simulated => SLACK_SIMULATED,
                Backend::Threads(_) => SLACK_REAL_TIME,
            },
        };
        Self {
            judge: Judge::new(&setup.invariants, facts),
            world,
            setup,
            case,
            recorder,
            pulse,
            host: DIRECTOR_HOST.into(),
            timers: Timers::default(),
        }
    }

    fn run(mut self) -> Run {
        let _preemption =
            preempt::Installed::new(derive(self.case.seed, "preempt"), self.setup.limits.tick);
        let _current = Current::install(&self.recorder);
        let steps = self.case.schedule.steps();
        let mut next = 0;
        let mut ticks = 0_u64;
        let verdict = loop {
            let now = self.world.elapsed();
            while let Some(step) = steps.get(next).filter(|step| step.at <= now) {
                self.execute(now, &step.action);
                next += 1;
            }
            self.orchestrate(now);
            if let Some(violation) = self.judge(now) {
                break Verdict::Violation(violation);
            }
            // A cluster runs on past its last step until convergence can be judged.
            let settled = self.world.servers().len() == 1
                || now
                    > self.case.schedule.end()
                        + self.setup.limits.convergence_bound
                        + SETTLE_MARGIN;
            let quiet = self.world.client().in_flight() == 0 && self.timers.is_empty() && settled;
            if next == steps.len() && quiet {
                match self.judge.finish(now) {
                    Some(violation) => break Verdict::Violation(violation),
                    None => break Verdict::Pass,
                }
            }
            if let Some(bound) = self.bound(now, ticks) {
                break Verdict::Bounded(bound);
            }
            self.pulse.step_begins(now);
            intercept::set_elapsed(now);
            let stepped = self.world.step();
            self.pulse.step_ends();
            if let Err(error) = stepped {
                break Verdict::Crashed(error);
            }
            if let Some(connection) = self.recorder.take_refused_http2() {
                // A scenario's rules hold only what the service declared:
                // one that does not serve it would pass unjudged.
                break Verdict::Crashed(format!(
                    "the service declared it serves {} (`Service::http`), and on connection \
                     c{connection} read an HTTP/2 connection preface and answered it with no \
                     HTTP/2 SETTINGS frame, before any stop: it does not serve HTTP/2; \
                     declare what it serves",
                    self.setup.target.http()
                ));
            }
            ticks += 1;
            if let Some(memory) = self.memory_over() {
                break Verdict::Memory(memory);
            }
        };
        Run {
            events: self.recorder.take(),
            verdict,
            elapsed: self.world.elapsed(),
            ticks,
            reads: Reads::default(),
        }
    }

    fn record(&self, now: Duration, kind: EventKind) {
        self.recorder.record_at(now, &self.host, kind);
    }

    /// Records a signal under the host it is delivered to.
    fn signal(&self, now: Duration, host: Host, kind: EventKind) {
        self.recorder.record_at(now, &Arc::from(host.name()), kind);
    }

    fn execute(&mut self, now: Duration, action: &Action) {
        if let Action::Kill { host } | Action::Restart { host } | Action::Crash { host } = action {
            for host in self.hosts(*host) {
                self.world.ending(host);
            }
        }
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
            Action::Request { path, keep, manner } => self.world.client().send(Order {
                path: path.clone(),
                port: self.setup.target.port(),
                keep: *keep,
                manner: *manner,
            }),
            Action::Connect { partial, hold } => self.world.client().connect(Connection {
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
            .into_iter()
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
            .set(now + pre_stop, Timer::Sigterm, host, process);
        self.timers.set(now + grace, Timer::Sigkill, host, process);
        if let (Some(kubelet), Some(pod)) = (kubelet, self.world.pod()) {
            pod.terminating.set(true);
            let lag = kubelet.endpoint_removal_lag;
            self.timers
                .set(now + lag, Timer::RemoveEndpoint, host, process);
        }
    }

    /// Restarts a host into a fresh process, or idle; pending timers belong
    /// to its old process and go with it.
    fn launch(&mut self, host: Host, run: bool) {
        self.forget_timers(host);
        self.world.launch(host, run);
    }

    /// Drops the pending timers of a host whose process is replaced or gone.
    fn forget_timers(&mut self, host: Host) {
        self.timers.forget(host);
    }

    /// Fires due timers and carries out the kubelet's kills.
    fn orchestrate(&mut self, now: Duration) {
        self.world.exit_returned();
        if let Some(reason) = self.world.pod().and_then(|pod| pod.kill.take()) {
            for host in self.hosts(None) {
                self.world.ending(host);
                self.signal(now, host, EventKind::Sigkill { reason });
                self.launch(host, false);
            }
        }
        // A process that is gone gets no signals; its endpoint still goes.
        let world = &self.world;
        self.timers.retain(|timer, host, process| {
            let current = world.launches(host) == process;
            current && (world.alive(host) || timer == Timer::RemoveEndpoint)
        });
        while let Some((timer, host)) = self.timers.take_due(now) {
            match timer {
                Timer::Sigterm => {
                    self.signal(now, host, EventKind::Sigterm);
                    self.world.sigterm(host);
                }
                Timer::RemoveEndpoint => {
                    if let Some(pod) = self.world.pod() {
                        if pod.routed.replace(false) {
                            let kubelet = Arc::from(Host::Kubelet.name());
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
                    self.world.ending(host);
                    self.signal(now, host, EventKind::Sigkill { reason });
                    self.launch(host, false);
                }
            }
        }
    }

    /// Feeds the events recorded since the last call to the judge, then
    /// lets it judge the passing of time.
    fn judge(&mut self, now: Duration) -> Option<Violation> {
        let judge = &mut self.judge;
        self.recorder.with_events(|events| judge.judge(events, now))
    }

    /// The case's peak allocation, if it is over its bound: counted on
    /// this thread, where every host runs, by [`memory::Allocator`] when
    /// the binary installed it.
    fn memory_over(&self) -> Option<MemoryUse> {
        let limit_bytes = self.setup.limits.memory_max_bytes;
        let bytes = memory::thread_peak_bytes();
        (memory::installed() && bytes > limit_bytes).then_some(MemoryUse { bytes, limit_bytes })
    }

    fn bound(&self, now: Duration, ticks: u64) -> Option<Bound> {
        let limits = &self.setup.limits;
        if now > self.case.schedule.end() + limits.settle_max {
            return Some(Bound::SimulatedTime(now));
        }
        if ticks >= limits.ticks_max {
            return Some(Bound::Ticks(ticks));
        }
        // The watchdog keeps the wall-time bound: this thread's clocks show
        // simulated time. A run it gave up as blocked ends here too, unread.
        self.pulse.overdue().map(Bound::WallTime).or_else(|| {
            self.pulse
                .abandoned()
                .then_some(Bound::WallTime(self.setup.limits.blocked_max))
        })
    }
}

/// The limits the watchdog holds a run of `case` to. On real threads a
/// case takes its schedule's length in wall time: its wall-time bound
/// counts from the end of that (and of the settling after it, which the
/// simulated-time bound already ends), or every schedule longer than the
/// bound would end inconclusive, on a server that did nothing wrong.
fn watched_limits(setup: &Setup, case: &Case) -> Limits {
    let mut limits = setup.limits.clone();
    if setup.backend != Backend::Simulated {
        limits.wall_time_max = limits
            .wall_time_max
            .saturating_add(case.schedule.end())
            .saturating_add(limits.settle_max);
    }
    limits
}

impl Setup {
    /// Runs one case against this setup's target, checking its invariants:
    /// what a campaign does for each of its cases. A panic anywhere in the
    /// simulation (a user's service, say) is caught and returned as
    /// [`Verdict::Crashed`].
    pub fn run(&self, case: &Case) -> Run {
        run(self, case)
    }
}
