//! The command's stdout: written so that a reader that goes away early
//! (`| head`) ends nothing, and a write that fails otherwise is said once.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

/// What became of stdout: [`STDOUT_OPEN`], [`STDOUT_CLOSED`] or [`STDOUT_FAILED`].
pub(crate) static STDOUT: AtomicU8 = AtomicU8::new(STDOUT_OPEN);
/// Every write so far went through.
const STDOUT_OPEN: u8 = 0;
/// The reader went away (`| head`): the rest is dropped, the exit code stands.
const STDOUT_CLOSED: u8 = 1;
/// A write failed otherwise (a full disk): said once on stderr, and exit 2.
pub(crate) const STDOUT_FAILED: u8 = 2;

/// Writes `text` to stdout. `println!` panics on a closed pipe (exit 101);
/// a reader that stops early has read what it wanted, so the rest is
/// dropped and the command ends as it would have.
pub(crate) fn write_stdout(text: &str) {
    if STDOUT.load(Ordering::Relaxed) != STDOUT_OPEN {
        return;
    }
    let written = std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .and_then(|()| std::io::stdout().flush());
    match written {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT.store(STDOUT_CLOSED, Ordering::Relaxed);
        }
        Err(error) => {
            STDOUT.store(STDOUT_FAILED, Ordering::Relaxed);
            eprintln!("error: cannot write to stdout: {error}");
        }
    }
}

/// `println!` through [`write_stdout`].
macro_rules! say {
    ($($argument:tt)*) => {
        $crate::output::write_stdout(&format!("{}\n", format_args!($($argument)*)))
    };
}
pub(crate) use say;
