//! The threads backend's stage: a case on real threads, real loopback
//! sockets and real time.
//!
//! The service's host runs one process at a time, each on a
//! multi-threaded runtime of its own ([`process`]); it binds an ephemeral
//! loopback port and publishes it on the case's [`Board`], where the
//! harness's client and kubelet connect. Those run as they do in the
//! simulation, on the case's own thread (a current-thread runtime), so
//! every black-box oracle judges the same events. The director's tick is
//! real time here: it sleeps a tick, lets the callers run, and looks.
//!
//! What a machine's loopback cannot do is not offered: a network step
//! (partition, hold, latency) is skipped, and a crash is a kill (a crashed
//! machine's peers hear nothing; a killed process's peers hear its kernel
//! close the sockets). Scenario files are told so when they are read.

mod process;

use std::rc::Rc;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use self::process::Running;
use super::client::Client;
use super::kubelet::Pod;
use super::setup::Setup;
use super::stage::Stage;
use super::world::callers;
use crate::case::backend::Threads;
use crate::case::schedule::{Host, Link};
use crate::case::seed::derive;
use crate::case::trace::Recorder;
use crate::core::net::{Board, Net};
use crate::core::process::Process;
use crate::core::service::Service;
use crate::core::target::Target;

/// A case on real threads.
pub(crate) struct Threaded {
    recorder: Recorder,
    /// The callers' runtime, on the case's thread.
    runtime: tokio::runtime::Runtime,
    /// The callers' tasks.
    local: tokio::task::LocalSet,
    board: Arc<Board>,
    service: Service,
    threads: Threads,
    seed: u64,
    tick: Duration,
    connection_ids: Arc<AtomicU64>,
    /// Processes launched so far.
    launches: u64,
    /// The current process, if one was launched and not replaced.
    process: Option<Running>,
    /// Whether the current process's return was handled.
    exited: bool,
    client: Client,
    pod: Option<Rc<Pod>>,
}

impl Threaded {
    /// The stage of a case with this seed; an error says why the setup
    /// cannot run on real threads.
    pub(crate) fn new(
        setup: &Setup,
        seed: u64,
        threads: &Threads,
        recorder: &Recorder,
    ) -> Result<Threaded, String> {
        let Target::Service(service) = &setup.target else {
            return Err(format!(
                "the threads backend runs a user's `Service`; {} is a built-in model of the \
                 simulation: run it with the simulated backend",
                setup.target
            ));
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| format!("could not build the callers' runtime: {error}"))?;
        let board = Arc::new(Board::default());
        let local = tokio::task::LocalSet::new();
        let callers = callers(setup, recorder, &Net::Real(Arc::clone(&board)));
        for (_, software) in callers.software {
            local.spawn_local(software);
        }
        Ok(Threaded {
            recorder: recorder.clone(),
            runtime,
            local,
            board,
            service: service.clone(),
            threads: *threads,
            seed,
            tick: setup.limits.tick,
            connection_ids: Arc::new(AtomicU64::new(0)),
            launches: 0,
            process: None,
            exited: false,
            client: callers.client,
            pod: callers.pod,
        })
    }

    /// Kills the current process, if any. Its listener is withdrawn at
    /// once, as a dead process's kernel closes it; its threads end on their
    /// own, their sockets' closes recorded as they come (the director does
    /// not wait: a kill never stalls the clients or the clock).
    fn end_process(&mut self) {
        self.board.publish(None);
        if let Some(mut running) = self.process.take() {
            running.fence();
            running.kill();
        }
    }
}

impl Stage for Threaded {
    fn elapsed(&self) -> Duration {
        self.recorder.elapsed()
    }

    fn step(&mut self) -> Result<(), String> {
        let tick = self.tick;
        let tick_passes = async move { tokio::time::sleep(tick).await };
        self.runtime.block_on(self.local.run_until(tick_passes));
        match self.process.as_ref().and_then(Running::failure) {
            Some(failure) => Err(failure),
            None => Ok(()),
        }
    }

    fn servers(&self) -> Vec<Host> {
        vec![Host::Server]
    }

    fn alive(&self, _: Host) -> bool {
        self.process
            .as_ref()
            .is_some_and(|running| !running.returned())
    }

    fn launches(&self, _: Host) -> u64 {
        self.launches
    }

    fn ending(&mut self, _: Host) {
        if let Some(running) = &self.process {
            running.fence();
        }
    }

    fn launch(&mut self, host: Host, run: bool) {
        self.end_process();
        self.exited = false;
        if run {
            self.launches += 1;
            let (stop, signal) = watch::channel(false);
            let label = format!("process-{}", self.launches);
            let process = Process {
                host: host.name().into(),
                recorder: self.recorder.clone(),
                stop: signal,
                seed: derive(self.seed, &label),
                connection_ids: Arc::clone(&self.connection_ids),
                peers: Vec::new(),
                net: Net::Real(Arc::clone(&self.board)),
            };
            self.process = Some(Running::start(
                self.service.clone(),
                process,
                self.threads,
                stop,
            ));
        }
        if let Some(pod) = &self.pod {
            pod.terminating.set(false);
            pod.routed.set(false);
            pod.kill.set(None);
            pod.container.send_replace(run.then_some(self.launches));
        }
    }

    fn exit_returned(&mut self) -> Vec<Host> {
        let returned = self.process.as_ref().is_some_and(Running::returned);
        if !returned || self.exited {
            return Vec::new();
        }
        self.exited = true;
        self.board.publish(None);
        if let Some(pod) = &self.pod {
            pod.container.send_replace(None);
        }
        vec![Host::Server]
    }

    fn crash(&mut self, host: Host) {
        self.launch(host, false);
    }

    fn sigterm(&self, _: Host) {
        if let Some(running) = &self.process {
            running.sigterm();
        }
    }

    fn network(&mut self, _: Link, _: Host, _: Host) -> bool {
        false
    }

    fn client(&self) -> &Client {
        &self.client
    }

    fn pod(&self) -> Option<&Rc<Pod>> {
        self.pod.as_ref()
    }
}

impl Drop for Threaded {
    fn drop(&mut self) {
        // The run is judged: its process is killed and left to end on its
        // own thread.
        self.end_process();
    }
}
