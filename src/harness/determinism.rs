//! Whether this build replays exactly.
//!
//! One seed fixes turmoil, the harness's own choices and the schedule; tokio's
//! scheduler takes its seed only when tokio is built with
//! `--cfg tokio_unstable`. Without it, tasks ready at the same moment may run
//! in another order on a replay, so a failure may not reproduce. That flag
//! has to be in *your* project's build: rustflags apply to every crate of a
//! build, so this crate sees the same `cfg` tokio was built with.

use std::sync::Once;

/// What to add to a project's `.cargo/config.toml` so that it replays exactly.
pub const CONFIG_LINES: &str = "[build]\nrustflags = [\"--cfg\", \"tokio_unstable\"]";

/// The note added to results of a build that does not replay exactly.
pub const NOT_REPLAYABLE: &str =
    "\nnote: built without `--cfg tokio_unstable`: tokio's scheduler is \
not seeded, so this result is not guaranteed to replay";

/// Whether tokio's scheduler is seeded in this build (`--cfg tokio_unstable`).
pub fn replayable() -> bool {
    cfg!(tokio_unstable)
}

/// The warning a build without `--cfg tokio_unstable` gets, with the lines
/// that fix it.
pub fn warning() -> String {
    format!(
        "warning: lifecycle-sim: this build lacks `--cfg tokio_unstable`, so tokio's scheduler \
         is not seeded and results are not guaranteed to replay from their seed.\n\
         Add to your project's .cargo/config.toml:\n\n{CONFIG_LINES}\n\n\
         (an exported RUSTFLAGS replaces that setting: unset it, or add `--cfg tokio_unstable` to it)"
    )
}

/// Prints the warning once per process when the build does not replay exactly.
pub fn warn_if_not_replayable() {
    static WARNED: Once = Once::new();
    if !replayable() {
        WARNED.call_once(|| eprintln!("{}", warning()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warning_gives_the_exact_config_lines() {
        let warning = warning();
        assert!(warning.contains("rustflags = [\"--cfg\", \"tokio_unstable\"]"));
        assert!(warning.contains(".cargo/config.toml"));
    }

    #[test]
    fn this_workspace_builds_with_the_flag() {
        // .cargo/config.toml sets it; CI refuses a RUSTFLAGS that would drop it.
        assert!(replayable());
    }
}
