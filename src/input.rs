//! Scenario files as untrusted input: how much of one is read, and how
//! large a fixed schedule may be.
//!
//! Teams run scenario files they did not write. A file is read only up to
//! [`SCENARIO_BYTES_MAX`], so a huge one is refused before it is parsed (and
//! before it is held in memory whole), and a fixed schedule holds at most
//! [`SCHEDULE_STEPS_MAX`] steps, so one file cannot make a run of unbounded
//! size. Each limit is a clear error naming the file.

use std::io::Read;
use std::path::Path;

/// The largest scenario file read, in bytes: 1 MiB. The shipped ones are
/// under 4 KiB; a saved failure of [`SCHEDULE_STEPS_MAX`] steps is under 400 KiB.
pub const SCENARIO_BYTES_MAX: usize = 1 << 20;

/// The most steps a fixed `schedule` may hold: 10,000.
pub const SCHEDULE_STEPS_MAX: usize = 10_000;

/// Why a scenario file's text could not be had.
pub(crate) fn too_large(bytes: usize) -> String {
    format!(
        "the file is larger than a scenario may be ({bytes} bytes or more; at most {SCENARIO_BYTES_MAX})"
    )
}

/// Reads a scenario file's text, refusing one larger than
/// [`SCENARIO_BYTES_MAX`] after reading one byte past the limit. The error
/// is the message of a [`ScenarioError`](crate::ScenarioError) without a line.
pub(crate) fn read_text(path: &Path) -> Result<String, String> {
    let file =
        std::fs::File::open(path).map_err(|error| format!("cannot read the file: {error}"))?;
    let mut bytes = Vec::new();
    file.take(SCENARIO_BYTES_MAX as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| format!("cannot read the file: {error}"))?;
    if bytes.len() > SCENARIO_BYTES_MAX {
        return Err(too_large(bytes.len()));
    }
    String::from_utf8(bytes).map_err(|error| {
        format!(
            "cannot read the file: it is not UTF-8 (at byte {})",
            error.utf8_error().valid_up_to()
        )
    })
}
