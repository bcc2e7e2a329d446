//! The `lifecycle-sim` command's tests, one test binary: each module was a
//! test file of its own.

mod cli;
mod untrusted_input;
