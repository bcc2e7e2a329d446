//! The simulated world of one run: the turmoil simulation and its hosts.
//!
//! - `server` runs the service. It exists from the start with nothing
//!   running, so a request before `start` is refused, as by a machine whose
//!   process is not up. Each launch is a bounce of the host into a fresh
//!   process (or into that idle state, for a kill), so peers see the old
//!   process's connections end.
//! - `client` sends the schedule's requests.
//! - `kubelet`, when the scenario has one, probes the service.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use crate::case::http::{Http, Protocol};
use crate::case::schedule::{Host, Link};
use crate::case::seed::derive;
use crate::case::trace::{EventKind, Recorder};
use crate::core::net::Net;
use crate::core::process::Process;
use crate::core::service::{in_connection_order, Closer};
use crate::engine::backlog::{Backlog, TCP_CAPACITY};
use crate::engine::client::{self, Client, Sender};
use crate::engine::kubelet::{self, Pod};
use crate::engine::setup::Setup;
use crate::engine::stage::Stage;

/// The name trace events of the director itself carry.
pub const DIRECTOR_HOST: &str = "director";
/// The fixed wall-clock epoch of every simulation (2024-01-01T00:00:00Z), so
/// nothing in a run depends on when it ran.
pub(crate) const EPOCH_SECONDS: u64 = 1_704_067_200;

/// The server host's software state, shared with its factory.
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
    /// Whether the current process's serve function returned, and the host
    /// has not been emptied of what it left behind yet.
    returned: bool,
}

pub(crate) struct World<'a> {
    pub(crate) sim: turmoil::Sim<'a>,
    /// The service hosts, in order, each with its software state.
    servers: Vec<(Host, Rc<RefCell<Slot>>)>,
    pub(crate) client: Client,
    pub(crate) pod: Option<Rc<Pod>>,
}

impl<'a> World<'a> {
    /// Builds the simulation for a case with this seed, running `horizon` at most.
    pub(crate) fn new(setup: &'a Setup, seed: u64, horizon: Duration, recorder: &Recorder) -> Self {
        let mut sim = turmoil::Builder::new()
            .rng_seed(derive(seed, "turmoil"))
            .epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH_SECONDS))
            .tick_duration(setup.limits.tick)
            .simulation_duration(horizon)
            .tcp_capacity(TCP_CAPACITY)
            .build();
        let hosts = setup.target.hosts();
        let connection_ids = Arc::new(AtomicU64::new(0));
        let servers: Vec<(Host, Rc<RefCell<Slot>>)> = hosts
            .iter()
            .map(|host| {
                let slot = Rc::new(RefCell::new(Slot::default()));
                let peers = hosts.iter().filter(|peer| *peer != host).copied().collect();
                let software = Software {
                    setup,
                    seed,
                    host: *host,
                    peers,
                    connection_ids: Arc::clone(&connection_ids),
                };
                sim.host(host.name(), software.factory(&slot, recorder));
                (*host, slot)
            })
            .collect();

        let callers = callers(setup, recorder, &Net::Simulated);
        for (host, software) in callers.software {
            run_once(&mut sim, host, software);
        }
        Self {
            sim,
            servers,
            client: callers.client,
            pod: callers.pod,
        }
    }

    fn slot(&self, host: Host) -> &Rc<RefCell<Slot>> {
        let (_, slot) = self
            .servers
            .iter()
            .find(|(server, _)| *server == host)
            .expect("the director acts on service hosts only");
        slot
    }
}

impl Stage for World<'_> {
    fn elapsed(&self) -> Duration {
        self.sim.elapsed()
    }

    fn step(&mut self) -> Result<(), String> {
        self.sim
            .step()
            .map(|_| ())
            .map_err(|error| error.to_string())
    }

    fn servers(&self) -> Vec<Host> {
        self.servers.iter().map(|(host, _)| *host).collect()
    }

    fn client(&self) -> &Client {
        &self.client
    }

    fn pod(&self) -> Option<&Rc<Pod>> {
        self.pod.as_ref()
    }

    /// Whether a service process runs on `host` and has not finished its stop.
    fn alive(&self, host: Host) -> bool {
        self.slot(host).borrow().alive
    }

    /// The number of the current (or last) process on `host`.
    fn launches(&self, host: Host) -> u64 {
        self.slot(host).borrow().launches
    }

    /// Restarts a service host's software: into a fresh process, or idle.
    fn launch(&mut self, host: Host, run: bool) {
        {
            // The process that returned is replaced here: emptying the host
            // later would end the new one.
            let mut slot = self.slot(host).borrow_mut();
            slot.run = run;
            slot.returned = false;
        }
        let sim = &mut self.sim;
        in_connection_order(|| sim.bounce(host.name()));
        if let Some(pod) = &self.pod {
            pod.terminating.set(false);
            pod.routed.set(false);
            pod.kill.set(None);
            pod.container
                .send_replace(run.then(|| self.slot(host).borrow().launches));
        }
    }

    /// Ends the processes whose serve function returned, as a process's exit
    /// does: the tasks it spawned stop and its sockets close. Without this,
    /// connection tasks a server left behind would go on answering after its
    /// stop. Returns the hosts emptied.
    fn exit_returned(&mut self) -> Vec<Host> {
        let returned: Vec<Host> = self
            .servers
            .iter()
            .filter(|(_, slot)| std::mem::take(&mut slot.borrow_mut().returned))
            .map(|(host, _)| *host)
            .collect();
        for host in &returned {
            self.slot(*host).borrow_mut().run = false;
            let sim = &mut self.sim;
            in_connection_order(|| sim.bounce(host.name()));
            if let Some(pod) = &self.pod {
                // The container exited: the kubelet has nothing to probe.
                pod.container.send_replace(None);
            }
        }
        returned
    }

    /// Crashes a service host's machine: nothing runs, nothing answers.
    fn crash(&mut self, host: Host) {
        {
            let mut slot = self.slot(host).borrow_mut();
            slot.run = false;
            slot.alive = false;
            slot.stop = None;
            slot.returned = false;
        }
        let sim = &mut self.sim;
        in_connection_order(|| sim.crash(host.name()));
        if let Some(pod) = &self.pod {
            pod.container.send_replace(None);
        }
    }

    /// Sends SIGTERM to the current process on `host`.
    fn sigterm(&self, host: Host) {
        if let Some(stop) = &self.slot(host).borrow().stop {
            stop.send_replace(true);
        }
    }

    /// Changes the network between two hosts; false if one of them is absent.
    fn network(&mut self, link: Link, a: Host, b: Host) -> bool {
        let present = |host: Host| match host {
            Host::Client => true,
            Host::Kubelet => self.pod.is_some(),
            _ => self.servers.iter().any(|(server, _)| *server == host),
        };
        if !present(a) || !present(b) {
            return false;
        }
        let (a, b) = (a.name(), b.name());
        match link {
            Link::Partition => self.sim.partition(a, b),
            Link::Repair => self.sim.repair(a, b),
            Link::Hold => self.sim.hold(a, b),
            Link::Release => self.sim.release(a, b),
            Link::Latency(delay) => self.sim.set_link_latency(a, b, delay),
        }
        true
    }
}

/// The hosts that call the service: the client, and the kubelet if the
/// setup has one. Their software runs on whatever runs the case.
pub(crate) struct Callers {
    pub(crate) client: Client,
    pub(crate) pod: Option<Rc<Pod>>,
    /// Each caller's host and its software, to run once.
    pub(crate) software: Vec<(Host, CallerSoftware)>,
}

/// A caller's software: it runs on the case's thread, so need not be `Send`.
pub(crate) type CallerSoftware = Pin<Box<dyn Future<Output = ()>>>;

/// Builds the callers of a case: their connections go over `net`.
pub(crate) fn callers(setup: &Setup, recorder: &Recorder, net: &Net) -> Callers {
    let hosts = setup.target.hosts();
    let request_ids = Rc::new(Cell::new(0));
    let backlog = Backlog::new(setup.limits.backlog);
    let sender = |host: Host, timeout, http, protocol| Sender {
        host: host.name().into(),
        server: hosts[0].name().into(),
        recorder: recorder.clone(),
        timeout,
        request_ids: Rc::clone(&request_ids),
        backlog: backlog.clone(),
        http,
        protocol,
        net: net.clone(),
    };
    let routed = Rc::new(Cell::new(setup.kubelet.is_none()));
    let (client, software) = client::client(
        sender(
            Host::Client,
            setup.limits.request_timeout,
            setup.http,
            setup.protocol,
        ),
        Rc::clone(&routed),
    );
    let mut callers = Callers {
        client,
        pod: None,
        software: vec![(Host::Client, Box::pin(software))],
    };
    if let Some(config) = &setup.kubelet {
        let pod = Rc::new(Pod::new(routed));
        let software = kubelet::kubelet(
            config.clone(),
            Rc::clone(&pod),
            // The kubelet's `httpGet` probes are HTTP/1.1, as
            // Kubernetes' are; its `grpc` probes HTTP/2.
            match config.probe {
                Protocol::Grpc => sender(
                    Host::Kubelet,
                    config.liveness.timeout,
                    Http::Two,
                    Protocol::Grpc,
                ),
                _ => sender(
                    Host::Kubelet,
                    config.liveness.timeout,
                    Http::One,
                    Protocol::Http,
                ),
            },
            setup.target.status_port(),
        );
        callers.software.push((Host::Kubelet, Box::pin(software)));
        callers.pod = Some(pod);
    }
    callers
}

/// What a service host's processes are made from.
struct Software<'a> {
    setup: &'a Setup,
    seed: u64,
    host: Host,
    peers: Vec<Host>,
    connection_ids: Arc<AtomicU64>,
}

impl<'a> Software<'a> {
    /// The host's software factory: each call is one process (or none).
    fn factory(
        self,
        slot: &Rc<RefCell<Slot>>,
        recorder: &Recorder,
    ) -> impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = turmoil::Result>>> + 'a
    {
        let slot = Rc::clone(slot);
        let recorder = recorder.clone();
        let name: Arc<str> = self.host.name().into();
        let target = self.setup.target.clone();
        move || {
            let process = {
                let mut slot = slot.borrow_mut();
                slot.stop = None;
                slot.alive = slot.run;
                slot.run.then(|| {
                    slot.launches += 1;
                    let (stop, signal) = watch::channel(false);
                    slot.stop = Some(stop);
                    let label = match self.host {
                        Host::Server => format!("process-{}", slot.launches),
                        host => format!("{}-process-{}", host.name(), slot.launches),
                    };
                    Process {
                        host: Arc::clone(&name),
                        recorder: recorder.clone(),
                        stop: signal,
                        seed: derive(self.seed, &label),
                        connection_ids: Arc::clone(&self.connection_ids),
                        peers: self.peers.iter().map(|peer| peer.name().into()).collect(),
                        net: Net::Simulated,
                    }
                })
            };
            let (slot, host, recorder) = (Rc::clone(&slot), Arc::clone(&name), recorder.clone());
            let software = process.map(|process| target.software(process));
            Box::pin(async move {
                // Dropped as the host is emptied: closes the streams the
                // process's tasks held, in connection order.
                let _closer = Closer;
                if let Some(software) = software {
                    if let Err(error) = software.await {
                        let message = error.to_string();
                        recorder.record(&host, EventKind::Failed { message });
                    }
                    let mut slot = slot.borrow_mut();
                    slot.alive = false;
                    slot.returned = true;
                }
                // A host whose software returns freezes its sockets: keep it
                // up until the director empties it.
                std::future::pending::<()>().await;
                Ok(())
            })
        }
    }
}

/// Registers a host that runs `software` once and then idles.
fn run_once(
    sim: &mut turmoil::Sim,
    host: Host,
    software: impl std::future::Future<Output = ()> + 'static,
) {
    let software = RefCell::new(Some(Box::pin(software)));
    sim.host(host.name(), move || {
        let software = software.borrow_mut().take();
        async move {
            if let Some(software) = software {
                software.await;
            }
            std::future::pending::<()>().await;
            Ok(())
        }
    });
}
