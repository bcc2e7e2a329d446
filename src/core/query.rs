//! A paginated query whose runs go through a concurrency-limiter worker: the
//! mechanism of race 5, the stale handle (seen in the Ash framework).
//!
//! Each run of the query (a page) starts a limiter worker, keeps the worker's
//! handle in the query's reusable context, asks the worker for a permit, and
//! stops the worker when the run ends; the worker takes a little while to
//! wind down, then exits. The next page re-runs the query with the stored
//! context. Whether it reuses the stored handle or resets the run's state is
//! the [`HandlePolicy`].

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::case::trace::{EventKind, Recorder};

/// What a re-run does with the worker handle stored in the query context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandlePolicy {
    /// Reuse the stored handle: if the previous run's worker has exited, the
    /// call fails ("worker is not alive") and surfaces as a 500 (the Ash bug).
    ReuseStored,
    /// Reset the run's state: every run starts its own worker, and a handle
    /// whose generation is not the current run's is never used (the fix).
    FreshPerRun,
}

/// A message to the limiter worker.
enum Message {
    /// Grant one permit.
    Permit(oneshot::Sender<()>),
    /// The run ended: wind down and exit.
    Stop,
}

/// A handle on one limiter worker, with the generation it was started in.
#[derive(Clone)]
struct Handle {
    generation: u64,
    messages: mpsc::UnboundedSender<Message>,
}

/// The query's reusable context.
#[derive(Default)]
pub(crate) struct QueryContext {
    handle: Option<Handle>,
    generations: u64,
}

/// How the query behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryConfig {
    /// What a re-run does with the stored handle.
    pub policy: HandlePolicy,
    /// How long a stopped worker takes to wind down before it exits.
    pub worker_linger: Duration,
}

/// Runs one page of the query; returns the HTTP status and body.
pub(crate) async fn page(
    host: &Arc<str>,
    recorder: &Recorder,
    context: &Rc<RefCell<QueryContext>>,
    config: &QueryConfig,
    request: u64,
) -> (u16, &'static str) {
    let handle = {
        let mut context = context.borrow_mut();
        match (config.policy, &context.handle) {
            (HandlePolicy::ReuseStored, Some(handle)) => handle.clone(),
            _ => {
                context.generations += 1;
                let handle =
                    start_worker(host, recorder, context.generations, config.worker_linger);
                context.handle = Some(handle.clone());
                handle
            }
        }
    };
    recorder.record(
        host,
        EventKind::HandleUsed {
            request,
            generation: handle.generation,
        },
    );
    let (permit, granted) = oneshot::channel();
    let answered = handle.messages.send(Message::Permit(permit)).is_ok() && granted.await.is_ok();
    // The run ends: its worker is stopped (it exits after winding down).
    let _ = handle.messages.send(Message::Stop);
    if answered {
        (200, "page")
    } else {
        (500, "worker is not alive")
    }
}

fn start_worker(host: &Arc<str>, recorder: &Recorder, generation: u64, linger: Duration) -> Handle {
    let (messages, mut inbox) = mpsc::unbounded_channel();
    recorder.record(host, EventKind::WorkerStarted { generation });
    let host = Arc::clone(host);
    let recorder = recorder.clone();
    tokio::task::spawn_local(async move {
        while let Some(message) = inbox.recv().await {
            match message {
                Message::Permit(permit) => {
                    let _ = permit.send(());
                }
                Message::Stop => {
                    tokio::time::sleep(linger).await;
                    break;
                }
            }
        }
        // Dropping the inbox closes every handle on this worker.
        drop(inbox);
        recorder.record(&host, EventKind::WorkerExited { generation });
    });
    Handle {
        generation,
        messages,
    }
}
