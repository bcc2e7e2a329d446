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
//! is stuck in a call that never yields is left behind, detached (its
//! listener withdrawn so that no client reaches it, its records fenced
//! out), and [`LIVE_PROCESSES_MAX`] of them end every later case as
//! crashed rather than let them take the machine.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use crate::case::backend::Threads;
use crate::case::seed::derive;
use crate::case::trace::{Current, EventKind, Recorder};
use crate::core::perturb;
use crate::core::process::Process;
use crate::core::service::Service;
use crate::engine::panic;

/// How long a process's runtime may take to drop its tasks once its serve
/// function returned or it was killed; past it, they are left behind.
const SHUTDOWN_WAIT: Duration = Duration::from_millis(200);
/// Process threads of this test binary still running at most: a process
/// whose thread does not end after its kill (a serve function stuck in a
/// call that never yields) is left behind, and this many of them mean the
/// runs that follow would be measured on a machine they have taken over.
const LIVE_PROCESSES_MAX: usize = 256;

/// Process threads running now, in every case of the binary.
static LIVE_PROCESSES: AtomicUsize = AtomicUsize::new(0);

/// A running process, as the stage holds it.
pub(super) struct Running {
    /// Its SIGTERM.
    stop: watch::Sender<bool>,
    /// Its SIGKILL: taken when sent.
    kill: Option<oneshot::Sender<()>>,
    /// Set when its serve function returned (or was killed).
    returned: Arc<AtomicBool>,
    /// Set once it is being killed: see [`Recorder::fenced`].
    fence: Arc<AtomicBool>,
    /// Why the harness could not run it, or the panic that ended its serve
    /// function: the case ends crashed, as a simulated one would.
    failure: Arc<Mutex<Option<String>>>,
}

impl Running {
    /// Starts a process of `service` on a thread of its own.
    pub(super) fn start(
        service: Service,
        mut process: Process,
        threads: Threads,
        stop: watch::Sender<bool>,
    ) -> Running {
        let (kill, killed) = oneshot::channel();
        let fence = Arc::new(AtomicBool::new(false));
        process.recorder = process.recorder.fenced(Arc::clone(&fence));
        let running = Running {
            stop,
            kill: Some(kill),
            returned: Arc::new(AtomicBool::new(false)),
            fence,
            failure: Arc::new(Mutex::new(None)),
        };
        let live = LIVE_PROCESSES.fetch_add(1, Ordering::SeqCst) + 1;
        let end = End {
            returned: Arc::clone(&running.returned),
        };
        if live > LIVE_PROCESSES_MAX {
            running.fail(format!(
                "{live} service processes of this binary are running, more than {LIVE_PROCESSES_MAX}: \
                 processes killed in earlier cases did not end (a serve function stuck in a call \
                 that never yields?), and later runs would not be measured fairly"
            ));
            drop(end);
            return running;
        }
        let main = Main {
            service,
            process,
            threads,
            killed,
            failure: Arc::clone(&running.failure),
            end,
        };
        let name = format!("{} main", main.process.host);
        if let Err(error) = std::thread::Builder::new()
            .name(name)
            .spawn(move || main.run())
        {
            // The closure, and its `End`, were dropped with the error.
            running.fail(format!("could not start the process's thread: {error}"));
        }
        running
    }

    /// Records why the harness could not run it.
    fn fail(&self, message: String) {
        if let Ok(mut failure) = self.failure.lock() {
            failure.get_or_insert(message);
        }
    }

    /// Why the harness could not run it, or how its serve function
    /// panicked, if it did.
    pub(super) fn failure(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|failure| failure.clone())
    }

    /// Fences what it records: it is about to be killed.
    pub(super) fn fence(&self) {
        self.fence.store(true, Ordering::SeqCst);
    }

    /// Whether its serve function returned.
    pub(super) fn returned(&self) -> bool {
        self.returned.load(Ordering::Acquire)
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
}

/// What a process's main thread runs.
struct Main {
    service: Service,
    process: Process,
    threads: Threads,
    killed: oneshot::Receiver<()>,
    failure: Arc<Mutex<Option<String>>>,
    end: End,
}

/// Marks a process returned, and counts its thread out, however the
/// thread ends (a panic included).
struct End {
    returned: Arc<AtomicBool>,
}

impl Drop for End {
    fn drop(&mut self) {
        self.returned.store(true, Ordering::Release);
        LIVE_PROCESSES.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Main {
    fn run(self) {
        let Main {
            service,
            process,
            threads,
            killed,
            failure,
            end,
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
        let runtime = match runtime {
            Ok(runtime) => runtime,
            Err(error) => {
                let message = format!("could not build the process's runtime: {error}");
                record_failure(&failure, message);
                return;
            }
        };
        let served = panic::catching(|| {
            runtime.block_on(async {
                let local = tokio::task::LocalSet::new();
                local
                    .run_until(async {
                        tokio::select! {
                            served = service.run(process) => Some(served),
                            _ = killed => None,
                        }
                    })
                    .await
            })
        });
        match served {
            Ok(Some(Err(error))) => {
                let message = error.to_string();
                recorder.record(&host, EventKind::Failed { message });
            }
            Ok(_) => {}
            Err(message) => record_failure(&failure, format!("panic: {message}")),
        }
        end.returned.store(true, Ordering::Release);
        // The process exits: the tasks it spawned end and their sockets
        // close.
        runtime.shutdown_timeout(SHUTDOWN_WAIT);
        drop(end);
    }
}

fn record_failure(failure: &Mutex<Option<String>>, message: String) {
    if let Ok(mut failure) = failure.lock() {
        failure.get_or_insert(message);
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
        perturb::create_preemption_timer();
    }
}

/// The cores this machine offers.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
