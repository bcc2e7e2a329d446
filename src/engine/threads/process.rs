//! One process of a service under the threads backend: a thread of its
//! own running a multi-threaded tokio runtime, as a `#[tokio::main]`
//! would.
//!
//! The serve function runs on the process's main thread (`block_on`, so
//! it need not be `Send`, inside a `LocalSet` for the adapters that spawn
//! locally); what it spawns with `tokio::spawn` runs on the runtime's
//! workers. Every thread of the runtime records into the case's trace and
//! is perturbed as the backend says. A kill ends the serve function at its
//! next poll and shuts the runtime down, bounded: a process whose thread
//! is stuck in a call that never yields is left behind, detached, and its
//! listener is withdrawn so that no client reaches it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};

use crate::case::backend::Threads;
use crate::case::seed::derive;
use crate::case::trace::{Current, EventKind, Recorder};
use crate::core::perturb;
use crate::core::process::Process;
use crate::core::service::Service;

/// How long a process's runtime may take to drop its tasks once its serve
/// function returned or it was killed; past it, they are left behind.
const SHUTDOWN_WAIT: Duration = Duration::from_millis(200);
/// How often a wait for a process's end looks.
const END_POLL: Duration = Duration::from_millis(1);

/// A running process, as the stage holds it.
pub(super) struct Running {
    /// Its SIGTERM.
    stop: watch::Sender<bool>,
    /// Its SIGKILL: taken when sent.
    kill: Option<oneshot::Sender<()>>,
    /// Set when its serve function returned (or was killed).
    returned: Arc<AtomicBool>,
    /// Set when its thread is done: its runtime's tasks are dropped and
    /// their sockets closed.
    ended: Arc<AtomicBool>,
}

impl Running {
    /// Starts a process of `service` on a thread of its own.
    pub(super) fn start(
        service: Service,
        process: Process,
        threads: Threads,
        stop: watch::Sender<bool>,
    ) -> Running {
        let (kill, killed) = oneshot::channel();
        let returned = Arc::new(AtomicBool::new(false));
        let ended = Arc::new(AtomicBool::new(false));
        let main = Main {
            service,
            process,
            threads,
            killed,
            returned: Arc::clone(&returned),
            ended: Arc::clone(&ended),
        };
        let name = format!("{} main", main.process.host);
        let recorder = main.process.recorder.clone();
        let host = Arc::clone(&main.process.host);
        if let Err(error) = std::thread::Builder::new()
            .name(name)
            .spawn(move || main.run())
        {
            let message = format!("could not start the process's thread: {error}");
            recorder.record(&host, EventKind::Failed { message });
            returned.store(true, Ordering::Release);
            ended.store(true, Ordering::Release);
        }
        Running {
            stop,
            kill: Some(kill),
            returned,
            ended,
        }
    }

    /// Whether its serve function returned.
    pub(super) fn returned(&self) -> bool {
        self.returned.load(Ordering::Acquire)
    }

    /// Whether its thread is done.
    pub(super) fn ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// Sends it SIGTERM.
    pub(super) fn sigterm(&self) {
        self.stop.send_replace(true);
    }

    /// Sends it SIGKILL: its serve function is dropped at its next poll
    /// and its runtime shut down.
    pub(super) fn kill(&mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
    }

    /// Waits, at most `wait`, for its thread to be done.
    pub(super) fn wait_ended(&self, wait: Duration) -> bool {
        let until = Instant::now() + wait;
        // Bounded by `wait`.
        while !self.ended() {
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(END_POLL);
        }
        true
    }
}

/// What a process's main thread runs.
struct Main {
    service: Service,
    process: Process,
    threads: Threads,
    killed: oneshot::Receiver<()>,
    returned: Arc<AtomicBool>,
    ended: Arc<AtomicBool>,
}

impl Main {
    fn run(self) {
        let Main {
            service,
            process,
            threads,
            killed,
            returned,
            ended,
        } = self;
        let recorder = process.recorder.clone();
        let host = Arc::clone(&process.host);
        let seed = process.seed;
        configure(&recorder, threads, seed, "main");
        let started = AtomicUsize::new(0);
        let on_start = recorder.clone();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.workers)
            .thread_name(format!("{host} worker"))
            .enable_all()
            .on_thread_start(move || {
                let index = started.fetch_add(1, Ordering::Relaxed);
                configure(&on_start, threads, seed, &format!("thread-{index}"));
            })
            .build();
        match runtime {
            Ok(runtime) => {
                let served = runtime.block_on(async {
                    let local = tokio::task::LocalSet::new();
                    local
                        .run_until(async {
                            tokio::select! {
                                served = service.run(process) => Some(served),
                                _ = killed => None,
                            }
                        })
                        .await
                });
                if let Some(Err(error)) = served {
                    let message = error.to_string();
                    recorder.record(&host, EventKind::Failed { message });
                }
                returned.store(true, Ordering::Release);
                // The process exits: the tasks it spawned end and their
                // sockets close.
                runtime.shutdown_timeout(SHUTDOWN_WAIT);
            }
            Err(error) => {
                let message = format!("could not build the process's runtime: {error}");
                recorder.record(&host, EventKind::Failed { message });
                returned.store(true, Ordering::Release);
            }
        }
        ended.store(true, Ordering::Release);
    }
}

/// Readies a thread of a process: it records into the case's trace, is
/// perturbed with its own seed, and is pinned if asked.
fn configure(recorder: &Recorder, threads: Threads, seed: u64, label: &str) {
    Current::install_for_thread(recorder);
    let perturbation = threads.perturbation;
    perturb::configure_thread(perturbation, derive(seed, label));
    if perturbation.pin {
        perturb::pin_thread(usize::try_from(derive(seed, "core")).unwrap_or_default() % cores());
    }
}

/// The cores this machine offers.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
