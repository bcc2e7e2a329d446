//! The built-in models, one file per race.

pub(crate) mod startup_window;
