//! The progress bar of the scenario running now, and the log output that
//! prints above it.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

/// The progress bar of the scenario running now, so that logs print above it.
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Log output that suspends the progress bar while it writes.
pub(crate) struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let bar = BAR.lock().ok().and_then(|bar| bar.clone());
        match bar {
            Some(bar) => bar.suspend(|| std::io::stderr().write(bytes)),
            None => std::io::stderr().write(bytes),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Starts the progress bar of a scenario of `total` cases, shown when
/// stderr is a terminal; logs print above it until [`finish`].
pub(crate) fn start(name: String, total: u64) -> ProgressBar {
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:<28} [{bar:30}] {pos}/{len} cases {rate} {msg} [{elapsed}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key(
            "rate",
            |state: &ProgressState, text: &mut dyn std::fmt::Write| {
                let _ = text.write_str(&rate(state.per_sec()));
            },
        )
        .progress_chars("=> "),
    );
    bar.set_prefix(name);
    bar.enable_steady_tick(Duration::from_millis(200));
    if let Ok(mut current) = BAR.lock() {
        *current = Some(bar.clone());
    }
    bar
}

/// Clears the bar: logs print as they come again.
pub(crate) fn finish(bar: &ProgressBar) {
    bar.finish_and_clear();
    if let Ok(mut current) = BAR.lock() {
        *current = None;
    }
}

/// Cases per second as the progress bar shows them: whole numbers, with
/// one decimal below 10 (indicatif's own `{per_sec}` shows four).
fn rate(per_second: f64) -> String {
    if !per_second.is_finite() || per_second < 0.0 {
        "-/s".to_string()
    } else if per_second < 10.0 {
        format!("{per_second:.1}/s")
    } else {
        format!("{per_second:.0}/s")
    }
}

#[cfg(test)]
mod tests {
    use super::rate;

    #[test]
    fn the_progress_rate_shows_at_most_one_decimal() {
        assert_eq!(rate(131.4176), "131/s");
        assert_eq!(rate(9.87), "9.9/s");
        assert_eq!(rate(0.0), "0.0/s");
        assert_eq!(rate(12_345.5), "12346/s");
        assert_eq!(rate(f64::INFINITY), "-/s");
    }
}
