//! `[run]`'s backend, read into a [`Backend`]: `"simulated"` (turmoil's
//! simulation, the default) or `"threads"` (a user's service on real
//! threads, loopback sockets and real time), and the threads backend's
//! settings: `workers`, `confirm_runs`, `cases_at_once`, `perturbation`.
//!
//! Those settings are an error under the simulated backend rather than
//! ignored: a file that gives them means to run on threads, and reading it
//! as a simulation would hide that. Which targets and faults the threads
//! backend can run is a rule joining fields ([`rules`](super::rules)).

use std::fmt::Display;
use std::ops::RangeInclusive;

use toml::Spanned;

use super::error::{Reader, ScenarioError};
use super::file::RunTable;
use crate::case::backend::{
    Backend, Perturbation, Threads, CONFIRM_RUNS_MAX, WORKERS_MAX, WORKERS_MIN,
};

/// The most cases a threads campaign runs at once: each holds a runtime of
/// up to [`WORKERS_MAX`] threads per process, so more would be thousands of
/// threads mostly waiting on one another, not on real time.
pub(super) const CASES_AT_ONCE_MAX: usize = 64;

/// `run.backend` and, under `"threads"`, its settings; absent ones get
/// [`Threads::default`]'s.
pub(super) fn backend(reader: &Reader, run: &RunTable) -> Result<Backend, ScenarioError> {
    let threads = match &run.backend {
        None => false,
        Some(value) => match value.get_ref().as_str() {
            "simulated" => false,
            "threads" => true,
            other => {
                return Err(reader.error(
                    value.span(),
                    "run.backend",
                    format!(
                        "unknown backend `{other}`: \"simulated\" (turmoil's simulation, which \
                         replays a seed exactly) or \"threads\" (a user's service on real \
                         threads, sockets and time)"
                    ),
                ))
            }
        },
    };
    if !threads {
        no_threads_settings(reader, run)?;
        return Ok(Backend::Simulated);
    }
    let defaults = Threads::default();
    Ok(Backend::Threads(Threads {
        workers: count(
            reader,
            run.workers.as_ref(),
            "run.workers",
            WORKERS_MIN..=WORKERS_MAX,
            defaults.workers,
            "a process's tokio worker threads are",
        )?,
        perturbation: perturbation(reader, run.perturbation.as_ref())?,
        confirm_runs: count(
            reader,
            run.confirm_runs.as_ref(),
            "run.confirm_runs",
            1..=CONFIRM_RUNS_MAX,
            defaults.confirm_runs,
            "a failure is confirmed with",
        )?,
        cases_at_once: count(
            reader,
            run.cases_at_once.as_ref(),
            "run.cases_at_once",
            1..=CASES_AT_ONCE_MAX,
            defaults.cases_at_once,
            "cases run at once are",
        )?,
    }))
}

/// The names of the perturbations that are on, as `run.perturbation`
/// lists them.
pub(super) fn perturbation_names(mut perturbation: Perturbation) -> Vec<&'static str> {
    switches(&mut perturbation)
        .into_iter()
        .filter(|(_, on)| **on)
        .map(|(name, _)| name)
        .collect()
}

/// Each perturbation's name in a file, and its switch.
fn switches(perturbation: &mut Perturbation) -> [(&'static str, &mut bool); 3] {
    [
        ("sockets", &mut perturbation.sockets),
        ("tracing", &mut perturbation.tracing),
        ("pin", &mut perturbation.pin),
    ]
}

/// Under the simulated backend, none of the threads backend's settings.
fn no_threads_settings(reader: &Reader, run: &RunTable) -> Result<(), ScenarioError> {
    let given = [
        ("workers", run.workers.as_ref().map(Spanned::span)),
        ("confirm_runs", run.confirm_runs.as_ref().map(Spanned::span)),
        (
            "cases_at_once",
            run.cases_at_once.as_ref().map(Spanned::span),
        ),
        ("perturbation", run.perturbation.as_ref().map(Spanned::span)),
    ];
    let Some((field, span)) = given
        .into_iter()
        .find_map(|(field, span)| Some((field, span?)))
    else {
        return Ok(());
    };
    Err(reader.error(
        span,
        &format!("run.{field}"),
        "applies to `backend = \"threads\"` only: the simulated backend runs every host on \
         one thread; give `backend = \"threads\"` (for a service) or remove it"
            .into(),
    ))
}

/// A whole number within `range`, or `default` when absent; `what` begins
/// the sentence that states the range.
fn count<T>(
    reader: &Reader,
    value: Option<&Spanned<i64>>,
    field: &str,
    range: RangeInclusive<T>,
    default: T,
    what: &str,
) -> Result<T, ScenarioError>
where
    T: TryFrom<i64> + PartialOrd + Display,
{
    let Some(value) = value else {
        return Ok(default);
    };
    T::try_from(*value.get_ref())
        .ok()
        .filter(|number| range.contains(number))
        .ok_or_else(|| {
            reader.error(
                value.span(),
                field,
                format!(
                    "{}: {what} {} to {}",
                    value.get_ref(),
                    range.start(),
                    range.end()
                ),
            )
        })
}

/// `run.perturbation`: the perturbations that are on, each named once;
/// an empty list turns them all off.
fn perturbation(
    reader: &Reader,
    value: Option<&Spanned<Vec<Spanned<String>>>>,
) -> Result<Perturbation, ScenarioError> {
    let Some(names) = value else {
        return Ok(Perturbation::default());
    };
    let mut chosen = Perturbation {
        sockets: false,
        tracing: false,
        pin: false,
        ..Perturbation::default()
    };
    for name in names.get_ref() {
        let mut switches = switches(&mut chosen);
        let known: Vec<&str> = switches.iter().map(|(known, _)| *known).collect();
        let error = |message: String| reader.error(name.span(), "run.perturbation", message);
        let Some((_, on)) = switches
            .iter_mut()
            .find(|(known, _)| *known == name.get_ref())
        else {
            return Err(error(format!(
                "unknown perturbation `{}`, expected any of {}",
                name.get_ref(),
                known.join(", ")
            )));
        };
        if **on {
            return Err(error(format!(
                "`{}` is listed twice: each perturbation is on or off",
                name.get_ref()
            )));
        }
        **on = true;
    }
    Ok(chosen)
}

/// The environment variable that puts every scenario a [`Suite`] runs on
/// one backend, as the command's `--backend` does: `simulated` or
/// `threads`.
///
/// [`Suite`]: crate::Suite
pub const BACKEND_VARIABLE: &str = "LIFECYCLE_BACKEND";

/// The backend `LIFECYCLE_BACKEND` names, if it is set: the threads
/// backend keeps the settings of `current` if it is threads already.
pub(crate) fn backend_from_environment(current: &Backend) -> Result<Option<Backend>, String> {
    let Ok(name) = std::env::var(BACKEND_VARIABLE) else {
        return Ok(None);
    };
    match name.trim() {
        "simulated" => Ok(Some(Backend::Simulated)),
        "threads" => Ok(Some(Backend::Threads(
            current.threads().copied().unwrap_or_default(),
        ))),
        other => Err(format!(
            "{BACKEND_VARIABLE}={}: the backends are `simulated` and `threads`",
            crate::harness::printable::printable(other)
        )),
    }
}
