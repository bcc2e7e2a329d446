//! The kubelet: a model of the orchestrator on its own host.
//!
//! Which kubelet it is, is a setting ([`Probing`]): today's (Kubernetes 1.21
//! and later, the default), where a terminating pod's liveness and startup
//! probes stop and only readiness goes on, or the legacy one, where every
//! probe goes on through the drain and a liveness failure kills the pod.
//!
//! It probes the service with Kubernetes' semantics: a startup probe gates
//! the liveness and readiness probes; a probe passes on an HTTP status from
//! 200 to 399 within its timeout; the failure and success thresholds count
//! consecutive results. Readiness puts the service in the endpoints that route
//! client traffic, or takes it out; a liveness (or startup) failure gets the
//! service killed. On a stop, the director runs the kubelet's termination: the
//! preStop sleep, SIGTERM, probes that go on, the endpoint removed only after
//! a lag (traffic still arrives meanwhile), and SIGKILL when the termination
//! grace period runs out. Every figure is configurable per scenario.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use crate::case::http::Protocol;
use crate::case::schedule::Manner;
use crate::case::trace::{EventKind, KillReason, Outcome, ProbeKind};
use crate::case::{HEALTH_PATH, READY_PATH};
use crate::engine::client::{Order, Sender};

/// One probe's settings; the defaults are Kubernetes'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeConfig {
    /// Whether the probe runs. Default: true.
    pub enabled: bool,
    /// The path probed.
    pub path: String,
    /// Wait before the first probe. Default: 0 s.
    pub initial_delay: Duration,
    /// Time between probes. Default: 10 s.
    pub period: Duration,
    /// How long a probe waits for an answer. Default: 1 s.
    pub timeout: Duration,
    /// Consecutive failures that count as failed. Default: 3.
    pub failure_threshold: u32,
    /// Consecutive successes that count as passed. Default: 1.
    pub success_threshold: u32,
}

impl ProbeConfig {
    fn with_path(path: &str) -> Self {
        Self {
            enabled: true,
            path: path.to_string(),
            initial_delay: Duration::ZERO,
            period: Duration::from_secs(10),
            timeout: Duration::from_secs(1),
            failure_threshold: 3,
            success_threshold: 1,
        }
    }
}

/// Which kubelet's probing is modelled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Probing {
    /// Kubernetes 1.21 and later (kubernetes PR #98571): once a pod is
    /// terminating, the kubelet stops its liveness and startup probes (a
    /// result already on its way is dropped), so they kill nothing; the
    /// readiness probe goes on (kubernetes issue #110309), and only moves
    /// endpoints, which a terminating pod has left anyway.
    #[default]
    Current,
    /// Kubernetes before 1.21, and orchestrators that probe the same way:
    /// every probe goes on through the drain, and a liveness failure kills
    /// the pod, requests in flight and all.
    Legacy,
}

impl Probing {
    /// The name scenario files use.
    pub fn name(self) -> &'static str {
        match self {
            Probing::Current => "current",
            Probing::Legacy => "legacy",
        }
    }

    /// The probing with this name.
    pub fn from_name(name: &str) -> Option<Probing> {
        [Probing::Current, Probing::Legacy]
            .into_iter()
            .find(|probing| probing.name() == name)
    }
}

/// The kubelet's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeletConfig {
    /// Which kubelet's probing: today's or the legacy one. Default: current.
    pub probing: Probing,
    /// The probes' handler: `httpGet` (HTTP/1.1 GETs, a pass on 200 to 399)
    /// or `grpc` (the gRPC Health Checking Protocol's `Check` over HTTP/2,
    /// a pass on `SERVING`, Kubernetes 1.24 and later). Default: HTTP.
    pub probe: Protocol,
    /// Default: `/health`.
    pub startup: ProbeConfig,
    /// Default: `/health`.
    pub liveness: ProbeConfig,
    /// Default: `/ready`.
    pub readiness: ProbeConfig,
    /// From the stop to SIGKILL, the preStop sleep included. Default: 30 s.
    pub termination_grace_period: Duration,
    /// A sleep before SIGTERM (a preStop hook). Default: 0 s.
    pub pre_stop: Duration,
    /// From the stop until client traffic stops arriving. Default: 2 s.
    pub endpoint_removal_lag: Duration,
}

impl Default for KubeletConfig {
    fn default() -> Self {
        Self {
            probing: Probing::Current,
            probe: Protocol::Http,
            startup: ProbeConfig::with_path(HEALTH_PATH),
            liveness: ProbeConfig::with_path(HEALTH_PATH),
            readiness: ProbeConfig::with_path(READY_PATH),
            termination_grace_period: Duration::from_secs(30),
            pre_stop: Duration::ZERO,
            endpoint_removal_lag: Duration::from_secs(2),
        }
    }
}

/// What the kubelet and the director share about the pod.
pub(crate) struct Pod {
    /// The running container's launch number; `None` when none runs.
    pub(crate) container: watch::Sender<Option<u64>>,
    /// Whether client traffic reaches the service.
    pub(crate) routed: Rc<Cell<bool>>,
    /// Set once a stop began: readiness no longer adds the endpoint.
    pub(crate) terminating: Cell<bool>,
    /// A kill the kubelet asks the director to carry out.
    pub(crate) kill: Cell<Option<KillReason>>,
}

impl Pod {
    pub(crate) fn new(routed: Rc<Cell<bool>>) -> Self {
        Self {
            container: watch::channel(None).0,
            routed,
            terminating: Cell::new(false),
            kill: Cell::new(None),
        }
    }

    pub(crate) fn set_routed(&self, sender: &Sender, routed: bool) {
        if self.routed.replace(routed) != routed {
            sender
                .recorder
                .record(&sender.host, EventKind::Endpoint { routed });
        }
    }
}

/// The kubelet host's software: probes each container while it runs.
pub(crate) async fn kubelet(config: KubeletConfig, pod: Rc<Pod>, sender: Sender, port: u16) {
    let mut container = pod.container.subscribe();
    loop {
        if container.borrow_and_update().is_some() {
            tokio::select! {
                biased;
                _ = container.changed() => continue,
                _ = probe_container(&config, &pod, &sender, port) => {}
            }
        }
        if container.changed().await.is_err() {
            return;
        }
    }
}

/// Probes one container until it must be killed (then waits to be cancelled).
async fn probe_container(config: &KubeletConfig, pod: &Pod, sender: &Sender, port: u16) {
    if config.startup.enabled {
        let passed = probe_until(config, ProbeKind::Startup, pod, sender, port, |_| {}).await;
        if !passed {
            pod.kill.set(Some(KillReason::Startup));
            return std::future::pending().await;
        }
    }
    let readiness = async {
        if !config.readiness.enabled {
            // Without a readiness probe, a started container is ready.
            pod.set_routed(sender, !pod.terminating.get());
        } else {
            probe_until(config, ProbeKind::Readiness, pod, sender, port, |ready| {
                pod.set_routed(sender, ready && !pod.terminating.get());
            })
            .await;
        }
        std::future::pending::<()>().await
    };
    let liveness = async {
        if config.liveness.enabled
            && !probe_until(config, ProbeKind::Liveness, pod, sender, port, |_| {}).await
        {
            pod.kill.set(Some(KillReason::Liveness));
        }
        std::future::pending::<()>().await
    };
    tokio::join!(readiness, liveness);
}

/// Probes every period. A startup probe ends at its first pass (true) or at
/// its failure threshold (false); a liveness probe runs until its failure
/// threshold (false); a readiness probe runs on, reporting each change of
/// state through `changed`. Under [`Probing::Current`], a terminating pod's
/// liveness and startup probes stop: nothing more is sent, and a result
/// that comes back after the termination began is dropped.
async fn probe_until(
    kubelet: &KubeletConfig,
    kind: ProbeKind,
    pod: &Pod,
    sender: &Sender,
    port: u16,
    mut changed: impl FnMut(bool),
) -> bool {
    let config = match kind {
        ProbeKind::Startup => &kubelet.startup,
        ProbeKind::Liveness => &kubelet.liveness,
        ProbeKind::Readiness => &kubelet.readiness,
    };
    let stops_at_termination = kind != ProbeKind::Readiness && kubelet.probing == Probing::Current;
    let stopped = || stops_at_termination && pod.terminating.get();
    let mut sender = sender.clone();
    sender.timeout = config.timeout;
    tokio::time::sleep(config.initial_delay).await;
    let mut ticks = tokio::time::interval(config.period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let (mut failures, mut successes) = (0, 0);
    loop {
        ticks.tick().await;
        if stopped() {
            // The container is terminating: this probe is over (the
            // kubelet's worker is cancelled until the container is replaced).
            return std::future::pending().await;
        }
        let order = Order {
            path: config.path.clone(),
            port,
            keep: None,
            manner: Manner::Whole,
        };
        let routed = Cell::new(true);
        let outcome = sender.send(order, true, &routed).await;
        if stopped() {
            return std::future::pending().await;
        }
        let passed = matches!(outcome, Outcome::Status(200..=399));
        if passed {
            failures = 0;
            successes += 1;
            if successes >= config.success_threshold {
                changed(true);
                if kind == ProbeKind::Startup {
                    return true;
                }
            }
        } else {
            successes = 0;
            failures += 1;
            sender.recorder.record(
                &sender.host,
                EventKind::ProbeFailed {
                    probe: kind,
                    failures,
                },
            );
            if failures >= config.failure_threshold {
                changed(false);
                if kind != ProbeKind::Readiness {
                    return false;
                }
            }
        }
    }
}
