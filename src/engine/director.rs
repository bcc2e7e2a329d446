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

use std::rc::Rc;
use std::time::{Duration, Instant};

use super::client::{Connection, Order};
use super::panic;
use super::setup::Setup;
use super::timers::{Timer, Timers};
use super::world::{World, DIRECTOR_HOST};
use crate::case::schedule::{Action, Host};
use crate::case::seed::derive;
use crate::case::trace::{Current, EventKind, KillReason, Recorder};
use crate::case::verdict::{Bound, Run, Verdict, Violation};
use crate::case::Case;
use crate::core::preempt;
use crate::judge::{Facts, Judge};

/// How long a cluster's run goes on past its last step and the convergence
/// bound, for changes that follow the last step (a node binding, a stop).
const SETTLE_MARGIN: Duration = Duration::from_millis(500);

/// The grace period of a stop that names none, without a kubelet.
pub const GRACE_DEFAULT: Duration = Duration::from_secs(30);

/// Runs one case against the setup's target, checking its invariants.
///
/// A panic anywhere in the simulation (a user's service, say) is caught and
/// returned as [`Verdict::Crashed`].
pub(crate) fn run(setup: &Setup, case: &Case) -> Run {
    let recorder = Recorder::default();
    panic::catching(|| Director::new(setup, case, recorder.clone()).run()).unwrap_or_else(
        |message| {
            let events = recorder.take();
            let elapsed = events.last().map_or(Duration::ZERO, |event| event.at);
            Run {
                events,
                verdict: Verdict::Crashed(format!("panic: {message}")),
                elapsed,
                ticks: 0,
            }
        },
    )
}

struct Director<'a> {
    world: World<'a>,
    setup: &'a Setup,
    case: &'a Case,
    recorder: Recorder,
    host: Rc<str>,
    judge: Judge,
    /// The orchestrator's pending signals and endpoint changes.
    timers: Timers,
}

impl<'a> Director<'a> {
    fn new(setup: &'a Setup, case: &'a Case, recorder: Recorder) -> Self {
        let horizon = case.schedule.end() + setup.limits.settle_max + setup.limits.tick * 2;
        let facts = Facts {
            drain_deadline: setup.target.drain_deadline(),
            convergence_bound: setup.limits.convergence_bound,
            cluster_size: setup.target.hosts().len(),
            recovery_bound: setup.limits.recovery_bound,
            health_path: setup.target.health_path().map(str::to_string),
            ready_path: setup.target.ready_path().map(str::to_string),
        };
        Self {
            judge: Judge::new(&setup.invariants, facts),
            world: World::new(setup, case.seed, horizon, &recorder),
            setup,
            case,
            recorder,
            host: DIRECTOR_HOST.into(),
            timers: Timers::default(),
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
                match self.judge.finish(now) {
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
            .set(now + pre_stop, Timer::Sigterm, host, process);
        self.timers.set(now + grace, Timer::Sigkill, host, process);
        if let (Some(kubelet), Some(pod)) = (kubelet, &self.world.pod) {
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
        if let Some(reason) = self.world.pod.as_ref().and_then(|pod| pod.kill.take()) {
            for host in self.hosts(None) {
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

    /// Feeds the events recorded since the last call to the judge, then
    /// lets it judge the passing of time.
    fn judge(&mut self, now: Duration) -> Option<Violation> {
        let judge = &mut self.judge;
        self.recorder.with_events(|events| judge.judge(events, now))
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

impl Setup {
    /// Runs one case against this setup's target, checking its invariants:
    /// what a campaign does for each of its cases. A panic anywhere in the
    /// simulation (a user's service, say) is caught and returned as
    /// [`Verdict::Crashed`].
    pub fn run(&self, case: &Case) -> Run {
        run(self, case)
    }
}
