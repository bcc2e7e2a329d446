//! Helpers shared by the property tests under `tests/`.
