//! Ctrl-C during `run`: the first press lets the cases running finish and
//! the run report, the second exits at once.

use std::sync::atomic::AtomicBool;
#[cfg(unix)]
use std::{io::Write, sync::atomic::Ordering};

#[cfg(unix)]
use crate::progress::LogWriter;
#[cfg(unix)]
use crate::EXIT_INTERRUPTED;

/// Set by the first Ctrl-C during `run`: campaigns start no more cases.
pub(crate) static INTERRUPT: AtomicBool = AtomicBool::new(false);

/// Catches Ctrl-C on a thread of its own: the first sets [`INTERRUPT`], so
/// the cases running finish (each is bounded in simulated and wall time)
/// and `run` reports what ran; the second exits at once. If the handler
/// cannot be installed, Ctrl-C ends the command as the default handler does.
#[cfg(unix)]
pub(crate) fn catch_interrupts() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build();
    // Installed here, before any case runs; one stream for both presses,
    // so a second that comes quickly is not lost between them.
    let interrupts = runtime.and_then(|runtime| {
        let interrupts = {
            let _context = runtime.enter();
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?
        };
        Ok((runtime, interrupts))
    });
    let (runtime, mut interrupts) = match interrupts {
        Ok(installed) => installed,
        Err(error) => {
            tracing::warn!(%error, "Ctrl-C will end the run without a report");
            return;
        }
    };
    std::thread::spawn(move || {
        runtime.block_on(async {
            if interrupts.recv().await.is_none() {
                return;
            }
            // Said before the flag is set: once it is, the run may report
            // and exit before this thread writes again.
            let _ = LogWriter.write_all(
                b"interrupted: finishing the cases running, then reporting (Ctrl-C again to exit at once)\n",
            );
            INTERRUPT.store(true, Ordering::Relaxed);
            if interrupts.recv().await.is_some() {
                std::process::exit(i32::from(EXIT_INTERRUPTED));
            }
        });
    });
}

/// Elsewhere Ctrl-C ends the command at once, without a report.
#[cfg(not(unix))]
pub(crate) fn catch_interrupts() {}
