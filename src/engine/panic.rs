//! Panics in a run: the first one on the run's thread is its verdict's
//! cause, named by its place in its crate, and printed nowhere else.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `run`, catching a panic in it: the first panic's message and place
/// on this thread while it ran, or the panic's own payload.
pub(crate) fn catching<T>(run: impl FnOnce() -> T) -> Result<T, String> {
    capture_panics();
    PANIC.with(|panic| *panic.borrow_mut() = Some(None));
    let outcome = catch_unwind(AssertUnwindSafe(run));
    // The first panic of the run is the cause; tokio may re-panic with its
    // own message when a task's panic shuts the runtime down.
    let first = PANIC.with(|panic| panic.borrow_mut().take().flatten());
    outcome.map_err(|payload| first.unwrap_or_else(|| payload_message(payload.as_ref())))
}

thread_local! {
    /// While a run is on this thread: `Some`, holding its first panic's
    /// message once there is one.
    static PANIC: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

/// Installs, once per process, a panic hook that keeps the first panic of a
/// run on its thread (message and place) for the verdict, instead of
/// printing it; panics outside runs go to the hook that was there before.
fn capture_panics() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let captured = PANIC.with(|panic| match &mut *panic.borrow_mut() {
                Some(first) => {
                    if first.is_none() {
                        let place = info.location().map_or_else(String::new, |at| {
                            format!(
                                " (at {}:{}:{})",
                                crate_relative(at.file()),
                                at.line(),
                                at.column()
                            )
                        });
                        *first = Some(format!("{}{place}", payload_message(info.payload())));
                    }
                    true
                }
                None => false,
            });
            if !captured {
                previous(info);
            }
        }));
    });
}

/// A source file's path from its crate's directory on: a verdict names no
/// directory of the machine that built it. `/home/me/.cargo/registry/src/
/// index…/turmoil-0.7.2/src/host.rs` becomes `turmoil-0.7.2/src/host.rs`,
/// `/home/me/app/src/main.rs` becomes `app/src/main.rs`; a path already
/// relative (a workspace member's `src/lib.rs`) is kept.
pub(crate) fn crate_relative(file: &str) -> String {
    let file = file.replace('\\', "/");
    let absolute = file.starts_with('/') || file.get(1..2) == Some(":");
    if !absolute {
        return file;
    }
    match file.rfind("/src/") {
        Some(at) => {
            let crate_directory = file[..at].rsplit('/').next().unwrap_or_default();
            format!("{crate_directory}{}", &file[at..])
        }
        None => file.rsplit('/').next().unwrap_or_default().to_string(),
    }
}

/// A panic payload's message.
fn payload_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|text| text.to_string()))
        .unwrap_or_else(|| "a panic without a message".to_string())
}

#[cfg(test)]
mod tests {
    use super::crate_relative;

    #[test]
    fn a_panic_place_is_named_from_its_crate_on() {
        assert_eq!(
            crate_relative("/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/turmoil-0.7.2/src/host.rs"),
            "turmoil-0.7.2/src/host.rs"
        );
        assert_eq!(
            crate_relative("/home/me/app/src/main.rs"),
            "app/src/main.rs"
        );
        assert_eq!(
            crate_relative("C:\\work\\app\\src\\lib.rs"),
            "app/src/lib.rs"
        );
        assert_eq!(crate_relative("src/service.rs"), "src/service.rs");
        assert_eq!(crate_relative("/build/generated.rs"), "generated.rs");
    }
}
