//! The scenario file as TOML holds it: one serde model that reads every
//! scenario and writes every saved failure, so what is written is what is
//! read. Values keep their spans when read, for errors that name the line;
//! written ones have none.
//!
//! Each table is strict (`deny_unknown_fields`); a field that is absent is
//! `None` here and gets its default when the file is read
//! ([`read`](super::read)), and is left out when written.

use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::error::{syntax_error, ScenarioError};

/// A whole scenario file.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    pub(super) schema_version: Spanned<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) name: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) description: Option<String>,
    pub(super) expect: Spanned<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) oracles: Option<Vec<Spanned<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) schedule: Option<Vec<Spanned<String>>>,
    pub(super) target: TargetTable,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) run: Option<RunTable>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) generate: Option<GenerateTable>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) kubelet: Option<KubeletTable>,
}

/// `[target]`: a built-in model and its variant, or a service.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TargetTable {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) model: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) variant: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) service: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) nodes: Option<Spanned<i64>>,
}

/// `[run]`: the cases and the bounds of each run.
#[derive(Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RunTable {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) cases: Option<Spanned<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) seed: Option<Spanned<toml::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) backlog: Option<Spanned<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) settle_max: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) request_timeout: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) wall_time_max: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) tick: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) convergence_bound: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) recovery_bound: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) blocked_max: Option<Spanned<String>>,
    /// An integer of bytes, or a string with a unit (`"512MiB"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) memory_max: Option<Spanned<toml::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) intercept: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) http: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) protocol: Option<Spanned<String>>,
    /// `"simulated"` or `"threads"`; the fields below are the threads
    /// backend's only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) backend: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) workers: Option<Spanned<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) confirm_runs: Option<Spanned<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) cases_at_once: Option<Spanned<i64>>,
    /// Spanned as a whole too: an empty list still has a line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) perturbation: Option<Spanned<Vec<Spanned<String>>>>,
}

/// `[generate]`: how schedules are drawn.
#[derive(Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct GenerateTable {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) horizon: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) cycles_max: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) requests_max: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) paths: Option<Vec<Spanned<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) keep_max: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) stop: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) grace: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) faults: Option<Vec<Spanned<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) faults_max: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) clients: Option<Vec<Spanned<String>>>,
}

/// `[kubelet]`: the orchestrator, and its three probes as sub-tables.
#[derive(Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct KubeletTable {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) probing: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) probe: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) termination_grace_period: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) pre_stop: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) endpoint_removal_lag: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) startup: Option<ProbeTable>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) liveness: Option<ProbeTable>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) readiness: Option<ProbeTable>,
}

/// `[kubelet.startup]`, `[kubelet.liveness]`, `[kubelet.readiness]`.
#[derive(Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct ProbeTable {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) path: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) initial_delay: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) period: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) timeout: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) failure_threshold: Option<Spanned<u32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) success_threshold: Option<Spanned<u32>>,
}

impl File {
    /// Deserialises a scenario's text; `path` names it in errors. Only the
    /// file's shape is checked here: types, known fields, required ones.
    pub(super) fn from_text(path: &Path, text: &str) -> Result<File, ScenarioError> {
        toml::from_str(text).map_err(|error| syntax_error(path, text, &error))
    }

    /// The file's text: tables in the order of the fields above, an array
    /// of two items or more one item a line.
    pub(super) fn to_text(&self) -> String {
        // Every value here is a string, a boolean, an integer or an array of
        // strings, and every absent one is skipped: TOML can write them all.
        toml::to_string_pretty(self).expect("a scenario file is plain TOML")
    }
}

/// A value written into a file: it has no place in a text yet.
pub(super) fn written<T>(value: T) -> Spanned<T> {
    Spanned::new(0..0, value)
}
