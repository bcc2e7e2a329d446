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
#[derive(Debug)]
pub(crate) enum ReadError {
    /// It could not be read, or is not UTF-8: why.
    Unreadable(String),
    /// It is larger than [`SCENARIO_BYTES_MAX`]: its first that many bytes
    /// (cut at a character), where the error points.
    TooLarge(String),
}

/// The message of a file larger than [`SCENARIO_BYTES_MAX`].
pub(crate) fn too_large() -> String {
    format!("the file is larger than a scenario may be (at most {SCENARIO_BYTES_MAX} bytes, 1 MiB); refused before parsing")
}

/// The first [`SCENARIO_BYTES_MAX`] bytes of `text`, cut back to a
/// character boundary.
pub(crate) fn within_limit(text: &str) -> &str {
    let mut end = SCENARIO_BYTES_MAX.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Reads a scenario file's text, reading at most one byte past
/// [`SCENARIO_BYTES_MAX`].
pub(crate) fn read_text(path: &Path) -> Result<String, ReadError> {
    let unreadable =
        |error: std::io::Error| ReadError::Unreadable(format!("cannot read the file: {error}"));
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(SCENARIO_BYTES_MAX as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() > SCENARIO_BYTES_MAX {
        let text = String::from_utf8_lossy(&bytes);
        return Err(ReadError::TooLarge(within_limit(&text).to_string()));
    }
    String::from_utf8(bytes).map_err(|error| {
        ReadError::Unreadable(format!(
            "cannot read the file: it is not UTF-8 (at byte {})",
            error.utf8_error().valid_up_to()
        ))
    })
}
