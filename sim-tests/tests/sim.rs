//! The property tests of lifecycle-sim, one test binary: each module was a
//! test file of its own, and links into this one binary once. `scenarios.rs`,
//! a `Suite` with a `main` of its own, stays a binary of its own.

// Counts the bytes each case holds, as a user's test binary does, so the
// memory bound is judged here too.
#[global_allocator]
static ALLOCATOR: lifecycle_sim::Allocator = lifecycle_sim::Allocator;

/// Asserts a snapshot under the file name it had when each test file was a
/// binary of its own, `<file>__<test>.snap`, not this binary's
/// `sim__<file>__<test>.snap`: the snapshots under `tests/snapshots/` keep
/// their names.
macro_rules! assert_snapshot_named {
    ($name:literal, $value:expr) => {
        insta::with_settings!({ prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

mod burst;
mod determinism;
mod drain_hang;
mod grpc;
mod http2;
mod init_order;
mod kubelet;
mod parser_fuzz;
mod probes_during_drain;
mod published_bugs;
mod real_clients;
mod scenario_errors;
mod scenario_schema;
mod services;
mod stale_handle;
mod startup_window;
mod stock_servers;
mod suite;
mod threads;
mod unmodified;
