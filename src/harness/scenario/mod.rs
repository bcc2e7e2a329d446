//! Scenario files: a target, how its cases are made, and what must come out.
//!
//! A scenario is a TOML file, parsed strictly: an unknown field, a wrong type,
//! a bad duration or an unknown model is an error that names the file, the
//! line and the field. `scenarios/README.md` documents every field. A failing
//! case is saved as a scenario too, holding its seed and its shrunk schedule,
//! so it replays without generating anything.
//!
//! One serde model, [`file`](mod@file), both reads files and writes them. Reading
//! ([`read`]) deserialises a file, reads each table ([`tables`], and
//! [`run`](mod@run) for `[run]`'s limits, its sizes in [`size`], its
//! backend in [`backend`](mod@backend)), checks the
//! rules that join fields ([`rules`], one function each) and fills the
//! defaults that depend on other fields ([`defaults`]); writing ([`write`](mod@write))
//! turns a scenario back into the model, every value explicit. [`error`]
//! says where in a file each error is.

mod backend;
pub(crate) use self::backend::backend_from_environment;
pub use self::backend::BACKEND_VARIABLE;
mod defaults;
mod definition;
mod error;
mod file;
mod read;
mod rules;
mod run;
mod size;
mod tables;
#[cfg(test)]
mod tests;
mod write;

use std::path::{Path, PathBuf};

pub use self::definition::{Expect, Replay, Scenario, ANY_SERVICE};
pub use self::error::ScenarioError;
use self::error::{too_large_error, Reader};
use self::file::File;
use crate::case::backend::Backend;
use crate::case::http::{Http, Protocol};
use crate::case::seed;
use crate::core::service::Service;
use crate::harness::campaign::{Cases, Failure};
use crate::harness::input::{read_text, within_limit, ReadError, SCENARIO_BYTES_MAX};

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        Scenario::load_with(path, &[])
    }

    /// Reads and checks a scenario file whose target may be one of `services`.
    pub fn load_with(path: &Path, services: &[Service]) -> Result<Scenario, ScenarioError> {
        let text = Scenario::read_text(path)?;
        Scenario::parse_with(path, &text, services)
    }

    /// A scenario file's text, read only up to [`SCENARIO_BYTES_MAX`]: a
    /// larger file is an error before anything of it is parsed.
    pub fn read_text(path: &Path) -> Result<String, ScenarioError> {
        read_text(path).map_err(|error| match error {
            ReadError::Unreadable(message) => ScenarioError {
                file: path.to_path_buf(),
                line: None,
                field: None,
                message,
            },
            ReadError::TooLarge(prefix) => too_large_error(path, &prefix),
        })
    }

    /// Checks a scenario's text; `path` names it in errors. Its target must be
    /// a built-in model.
    pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse_with(path, text, &[])
    }

    /// The `target.service` a scenario's text names, if it names one: such
    /// a scenario runs only where that service is registered (a [`Suite`](crate::Suite)).
    pub fn service_named(text: &str) -> Option<String> {
        let value: toml::Value = toml::from_str(text).ok()?;
        let service = value.get("target")?.get("service")?.as_str()?;
        Some(service.to_string())
    }

    /// Whether a `"*"` scenario's text runs against `service`: the service
    /// serves what the scenario's clients send (`run.protocol` over
    /// `run.http`), and, if the scenario has a kubelet, what its probes
    /// send (HTTP/1.1 `httpGet` probes, or `grpc` ones over HTTP/2). Text
    /// that cannot be read applies: its test reports what is wrong.
    pub fn applies_to(text: &str, service: &Service) -> bool {
        let Ok(value) = toml::from_str::<toml::Value>(text) else {
            return true;
        };
        let field = |table: &str, field: &str| {
            value
                .get(table)
                .and_then(|table| table.get(field))
                .map(|value| value.as_str().unwrap_or_default())
        };
        let protocol = field("run", "protocol").map_or(Some(Protocol::Http), Protocol::from_name);
        let http = match field("run", "http") {
            Some(name) => Http::from_name(name),
            None if protocol == Some(Protocol::Grpc) => Some(Http::Two),
            None => Some(Http::One),
        };
        let probe = match field("kubelet", "probe") {
            Some(name) => Protocol::from_name(name),
            None => Some(service.protocol_served()),
        };
        let (Some(protocol), Some(http), Some(probe)) = (protocol, http, probe) else {
            return true;
        };
        let serves = |protocol: Protocol, http: Http| {
            service.protocol_served() == protocol && service.speaks().serves(http)
        };
        let probed = match probe {
            Protocol::Grpc => serves(Protocol::Grpc, Http::Two),
            _ => service.speaks().serves(Http::One),
        };
        serves(protocol, http) && (value.get("kubelet").is_none() || probed)
    }

    /// Checks a scenario's text whose target may be one of `services`: a
    /// `target.service` names one of them, or is `"*"` for the only one given.
    pub fn parse_with(
        path: &Path,
        text: &str,
        services: &[Service],
    ) -> Result<Scenario, ScenarioError> {
        if text.len() > SCENARIO_BYTES_MAX {
            return Err(too_large_error(path, within_limit(text)));
        }
        read::scenario(path, text, services)
    }

    /// The scenario files named: files as they are, directories expanded to
    /// every `*.toml` below them, in sorted order (a directory's files before
    /// its subdirectories' only by name). Each file is listed once and each
    /// directory walked once, whatever symbolic links lead to them again.
    /// A path that does not exist is an error.
    pub fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
        crate::harness::walk::scenario_files(paths)
    }

    /// Applies `LIFECYCLE_SEED` (run only that case) and `LIFECYCLE_CASES`
    /// (the case count) to a generated scenario.
    pub fn apply_environment(&mut self) -> Result<(), seed::SeedError> {
        let case_seed = seed::seed_from_environment()?;
        let case_count = seed::cases_from_environment()?;
        if let Cases::Generated { count, .. } = &mut self.campaign.cases {
            if let Some(case_count) = case_count {
                *count = case_count;
            }
            if let Some(case_seed) = case_seed {
                self.campaign.cases = Cases::Seed(case_seed);
            }
        }
        Ok(())
    }

    /// Runs the scenario's cases on `backend` rather than the one its file
    /// names (the command's `--backend`), if they can run there: the
    /// threads backend runs a user's service, and no network fault or
    /// step, as it does when a file names it. The error names the field the
    /// backend conflicts with, without a line.
    pub fn set_backend(&mut self, backend: Backend) -> Result<(), ScenarioError> {
        let reader = Reader {
            path: &self.path,
            text: "",
        };
        let campaign = &self.campaign;
        rules::threads_run_a_service(&reader, None, &backend, &campaign.setup.target)?;
        rules::threads_draw_no_network_faults(&reader, None, &campaign.generator, &backend)?;
        if let Cases::Fixed(case) = &campaign.cases {
            rules::threads_take_no_network_steps(&reader, None, case.schedule.steps(), &backend)?;
        }
        self.campaign.setup.backend = backend;
        Ok(())
    }

    /// The text of a scenario file that replays `failure` exactly: its seed
    /// and its shrunk schedule, nothing generated.
    pub fn failure_file(&self, failure: &Failure, replay_command: &str) -> String {
        write::failure_file(self, failure, replay_command)
    }

    /// The scenario as a file's text, which reads back as the same campaign:
    /// every value explicit, a single seed's case (`LIFECYCLE_SEED`) as
    /// its fixed schedule.
    pub(crate) fn file_text(&self) -> String {
        File::of(self).to_text()
    }
}
