//! Reading a file into a [`Scenario`], in four steps: deserialise it
//! ([`File`]), read each field ([`tables`], [`run`](mod@run),
//! [`backend`](mod@backend)), check the rules
//! that join fields ([`rules`]), and fill the defaults that
//! depend on other fields ([`defaults`]). The order of the
//! checks is the order a file's first mistake is found in.

use std::path::Path;

use toml::Spanned;

use super::definition::{Expect, Replay, Scenario, CASES_DEFAULT, SCHEMA_VERSION};
use super::error::{Reader, ScenarioError};
use super::file::{File, RunTable};
use super::{backend, defaults, rules, run, tables};
use crate::case::backend::Backend;
use crate::case::schedule::{Schedule, Step};
use crate::case::verdict::Invariant;
use crate::case::Case;
use crate::core::service::Service;
use crate::core::target::Target;
use crate::engine::setup::Setup;
use crate::harness::campaign::{Campaign, Cases, ShrinkLimits};
use crate::harness::input::SCHEDULE_STEPS_MAX;
use crate::harness::name::check_name;

/// Reads a scenario's text (within the size limit); `path` names it in
/// errors, and its target may be one of `services`.
pub(super) fn scenario(
    path: &Path,
    text: &str,
    services: &[Service],
) -> Result<Scenario, ScenarioError> {
    let file = File::from_text(path, text)?;
    let reader = Reader { path, text };
    schema_version(&reader, &file.schema_version)?;
    let name = scenario_name(&reader, file.name.as_ref())?;
    let target = tables::target(&reader, &file.target, services)?;
    let expect = expectation(&reader, &file.expect)?;
    let named = oracles(&reader, file.oracles.as_deref(), &target)?;
    let (invariants, not_applicable): (Vec<Invariant>, Vec<Invariant>) = named
        .into_iter()
        .partition(|invariant| target.supports(*invariant));
    rules::expected_invariant_applies(&reader, &file.expect, expect, &target, &not_applicable)?;
    rules::expected_invariant_is_checked(&reader, &file.expect, expect, &invariants)?;
    let run = file.run.unwrap_or_default();
    let limits = run::limits(&reader, &run)?;
    let protocol = run::protocol(&reader, &run)?;
    let http = run::http(&reader, &run, protocol)?;
    rules::target_serves_the_clients(&reader, run.http.as_ref(), http, &target)?;
    rules::target_serves_the_protocol(&reader, run.protocol.as_ref(), protocol, &target)?;
    let backend = backend::backend(&reader, &run)?;
    rules::threads_run_a_service(&reader, run.backend.as_ref(), &backend, &target)?;
    let seed = run
        .seed
        .as_ref()
        .map(|seed| reader.seed(seed))
        .transpose()?;
    let mut generator = tables::generator(&reader, file.generate.as_ref())?;
    let paths_named = file
        .generate
        .as_ref()
        .is_some_and(|table| table.paths.is_some());
    if let (Target::Service(service), false) = (&target, paths_named) {
        generator.paths = defaults::service_paths(service);
    }
    let kubelet = file
        .kubelet
        .as_ref()
        .map(|table| tables::kubelet(&reader, table, defaults::kubelet(&target)))
        .transpose()?;
    if generator.grace.is_none() && kubelet.is_none() {
        generator.grace = Some(defaults::grace(&target));
    }
    rules::grace_outlasts_the_drain_deadline(
        &reader,
        file.generate.as_ref(),
        &generator,
        kubelet.as_ref(),
        &invariants,
        &target,
    )?;
    rules::one_pod_for_a_kubelet(&reader, kubelet.as_ref(), &target)?;
    rules::clients_send_the_http(&reader, file.generate.as_ref(), &generator, http)?;
    rules::grpc_calls_name_methods(&reader, file.generate.as_ref(), &generator, protocol)?;
    rules::kubelet_probes_are_served(&reader, kubelet.as_ref(), &target)?;
    rules::threads_draw_no_network_faults(&reader, file.generate.as_ref(), &generator, &backend)?;
    let cases = match &file.schedule {
        Some(lines) => fixed_case(
            &reader,
            lines,
            &run,
            seed,
            &target,
            kubelet.is_some(),
            &backend,
        )?,
        None => generated_cases(&reader, &run, seed, &name)?,
    };
    Ok(Scenario {
        path: path.to_path_buf(),
        name,
        description: file.description.unwrap_or_default(),
        expect,
        campaign: Campaign {
            setup: Setup {
                target,
                invariants,
                kubelet,
                limits,
                http,
                protocol,
                backend,
            },
            generator,
            cases,
            shrink: ShrinkLimits::default(),
        },
        not_applicable,
        replay: Replay::Cli,
    })
}

/// `schema_version`: the one this build reads.
fn schema_version(reader: &Reader, version: &Spanned<u32>) -> Result<(), ScenarioError> {
    if *version.get_ref() == SCHEMA_VERSION {
        return Ok(());
    }
    Err(reader.error(
        version.span(),
        "schema_version",
        format!(
            "this build reads schema version {SCHEMA_VERSION}, not {}",
            version.get_ref()
        ),
    ))
}

/// The scenario's name: its `name`, else its file's stem; either must be a
/// name ([`check_name`]), since it names the failure files written for it.
fn scenario_name(reader: &Reader, name: Option<&Spanned<String>>) -> Result<String, ScenarioError> {
    match name {
        Some(name) => check_name(name.get_ref())
            .map(|()| name.get_ref().clone())
            .map_err(|reason| reader.error(name.span(), "name", reason)),
        None => {
            let stem = reader.path.file_stem().map_or_else(
                || "scenario".into(),
                |stem| stem.to_string_lossy().into_owned(),
            );
            check_name(&stem).map(|()| stem).map_err(|reason| {
                let message = format!(
                    "the file's stem names the scenario when it gives no `name`: {reason}; \
                     give a `name` or rename the file"
                );
                ScenarioError {
                    line: Some(1),
                    ..reader.unplaced("name", message)
                }
            })
        }
    }
}

/// `expect`: `pass`, or the invariant a case must break.
fn expectation(reader: &Reader, expect: &Spanned<String>) -> Result<Expect, ScenarioError> {
    if expect.get_ref() == "pass" {
        return Ok(Expect::Pass);
    }
    let invariant = reader.invariant(expect, "expect").map_err(|mut error| {
        error.message = format!("{}, or `pass`", error.message);
        error
    })?;
    Ok(Expect::Violation(invariant))
}

/// `oracles`, or the target's own invariants when it has none.
fn oracles(
    reader: &Reader,
    names: Option<&[Spanned<String>]>,
    target: &Target,
) -> Result<Vec<Invariant>, ScenarioError> {
    let Some(names) = names else {
        return Ok(target.invariants());
    };
    names
        .iter()
        .map(|name| {
            let invariant = reader.invariant(name, "oracles")?;
            rules::black_box_oracles_for_a_service(reader, name, invariant, target)?;
            Ok(invariant)
        })
        .collect()
}

/// The one case of a fixed `schedule`, with `run.seed`.
fn fixed_case(
    reader: &Reader,
    lines: &[Spanned<String>],
    run: &RunTable,
    seed: Option<u64>,
    target: &Target,
    kubelet: bool,
    backend: &Backend,
) -> Result<Cases, ScenarioError> {
    rules::one_case_for_a_fixed_schedule(reader, run.cases.as_ref())?;
    let seed = rules::seed_for_a_fixed_schedule(reader, seed)?;
    let steps = fixed_steps(reader, lines)?;
    rules::steps_name_hosts_it_has(reader, lines, &steps, target, kubelet)?;
    rules::threads_take_no_network_steps(reader, Some(lines), &steps, backend)?;
    Ok(Cases::Fixed(Case {
        seed,
        schedule: Schedule::new(steps),
    }))
}

/// A fixed schedule's steps, parsed: at most [`SCHEDULE_STEPS_MAX`], in
/// time order.
fn fixed_steps(reader: &Reader, lines: &[Spanned<String>]) -> Result<Vec<Step>, ScenarioError> {
    if let Some(over) = lines.get(SCHEDULE_STEPS_MAX) {
        return Err(reader.error(
            over.span(),
            "schedule",
            format!(
                "{} steps: a fixed schedule holds at most {SCHEDULE_STEPS_MAX}",
                lines.len()
            ),
        ));
    }
    let mut steps: Vec<Step> = Vec::with_capacity(lines.len());
    for line in lines {
        let step = line
            .get_ref()
            .parse::<Step>()
            .map_err(|error| reader.error(line.span(), "schedule", error.to_string()))?;
        rules::steps_in_time_order(reader, line, &step, steps.last())?;
        steps.push(step);
    }
    Ok(steps)
}

/// The generated cases: `run.cases` of them from `run.seed`, or the
/// defaults.
fn generated_cases(
    reader: &Reader,
    run: &RunTable,
    seed: Option<u64>,
    name: &str,
) -> Result<Cases, ScenarioError> {
    rules::some_cases_when_generated(reader, run.cases.as_ref())?;
    Ok(Cases::Generated {
        base_seed: seed.unwrap_or_else(|| defaults::base_seed(name)),
        count: run
            .cases
            .as_ref()
            .map_or(CASES_DEFAULT, |cases| *cases.get_ref()),
    })
}
