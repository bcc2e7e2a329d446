//! `list`: the built-in models, the invariants and the scenarios shipped
//! in the crate.

use lifecycle_sim::{Invariant, Model, BUILTIN_SCENARIOS};

use crate::output::say;
use crate::EXIT_MET;

/// Lists what is built in; the exit code.
pub(crate) fn list() -> u8 {
    say!("models (target.model, with variant buggy or fixed):");
    for model in Model::ALL {
        say!("  {:<22} {}", model.name(), model.description());
    }
    say!("invariants (oracles; * = black-box, applies to any service):");
    for invariant in Invariant::ALL {
        let mark = if invariant.black_box() { "*" } else { " " };
        say!(
            "  {mark}{:<31} {}",
            invariant.name(),
            invariant.description()
        );
    }
    say!("scenarios shipped in the crate (target.service = \"*\", run by a Suite):");
    for (path, text) in BUILTIN_SCENARIOS {
        let description = toml::from_str::<toml::Value>(text)
            .ok()
            .and_then(|value| value.get("description")?.as_str().map(str::to_string))
            .unwrap_or_default();
        say!("  {path:<32} {description}");
    }
    EXIT_MET
}
