//! Each table of a file read into what it describes: `[target]`,
//! `[generate]` and `[kubelet]` (`[run]`'s limits are [`run`](super::run)'s).
//! A value that is out of range or unknown is an error naming its field and
//! line; an absent one gets its default.

use toml::Spanned;

use super::definition::{ANY_SERVICE, CYCLES_MAX, FAULTS_MAX, REQUESTS_MAX};
use super::error::{Reader, ScenarioError};
use super::file::{GenerateTable, KubeletTable, ProbeTable, TargetTable};
use super::rules::{self, Named};
use crate::case::http::Protocol;
use crate::case::schedule::{check_path, NODES_MAX};
use crate::core::models::Variant;
use crate::core::service::Service;
use crate::core::target::{Builtin, Model, Target};
use crate::engine::kubelet::{KubeletConfig, ProbeConfig, Probing};
use crate::harness::generate::{Behaviour, Fault, Generator};
use crate::harness::name::check_name;

/// `[target]`: a built-in model, or one of `services`.
pub(super) fn target(
    reader: &Reader,
    table: &TargetTable,
    services: &[Service],
) -> Result<Target, ScenarioError> {
    rules::no_nodes_for_a_service(reader, table)?;
    match rules::one_kind_of_target(reader, table)? {
        Named::Builtin { model, variant } => builtin(reader, model, variant, table.nodes.as_ref()),
        Named::Service(name) => service(reader, name, services),
    }
}

fn builtin(
    reader: &Reader,
    model: &Spanned<String>,
    variant: &Spanned<String>,
    nodes: Option<&Spanned<i64>>,
) -> Result<Target, ScenarioError> {
    let model_named = Model::from_name(model.get_ref()).ok_or_else(|| {
        reader.error(
            model.span(),
            "target.model",
            format!(
                "unknown model `{}`, expected one of: {}",
                model.get_ref(),
                Model::ALL.map(Model::name).join(", ")
            ),
        )
    })?;
    let variant_named = Variant::from_name(variant.get_ref()).ok_or_else(|| {
        reader.error(
            variant.span(),
            "target.variant",
            format!(
                "unknown variant `{}`, expected `buggy` or `fixed`",
                variant.get_ref()
            ),
        )
    })?;
    let mut builtin = Builtin {
        model: model_named,
        variant: variant_named,
        nodes: model_named.nodes_default(),
    };
    if let Some(nodes) = nodes {
        rules::nodes_only_on_a_cluster(reader, nodes, model_named)?;
        builtin.nodes = u8::try_from(*nodes.get_ref())
            .ok()
            .filter(|count| (2..=NODES_MAX).contains(count))
            .ok_or_else(|| {
                reader.error(
                    nodes.span(),
                    "target.nodes",
                    format!("{} nodes: a cluster has 2 to {NODES_MAX}", nodes.get_ref()),
                )
            })?;
    }
    Ok(Target::Builtin(builtin))
}

fn service(
    reader: &Reader,
    name: &Spanned<String>,
    services: &[Service],
) -> Result<Target, ScenarioError> {
    let registered = || {
        if services.is_empty() {
            "none is registered here: run it from a `Suite` your test builds with \
             `.service(..)` (see the README, \"Use it in your CI\")"
                .to_string()
        } else {
            format!(
                "registered: {}",
                services
                    .iter()
                    .map(Service::name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    };
    let found = if name.get_ref() == ANY_SERVICE {
        match services {
            [only] => Some(only),
            _ => None,
        }
    } else {
        services
            .iter()
            .find(|service| service.name() == name.get_ref())
    };
    if let Some(service) = found {
        check_name(service.name()).map_err(|reason| {
            reader.error(
                name.span(),
                "target.service",
                format!("the service registered for it has a bad name: {reason}"),
            )
        })?;
    }
    found
        .map(|service| Target::Service(service.clone()))
        .ok_or_else(|| {
            reader.error(
                name.span(),
                "target.service",
                format!(
                    "no service `{}` to run against; {}",
                    name.get_ref(),
                    registered()
                ),
            )
        })
}

/// `[generate]`, its absent fields the [`Generator`]'s defaults.
pub(super) fn generator(
    reader: &Reader,
    table: Option<&GenerateTable>,
) -> Result<Generator, ScenarioError> {
    let defaults = Generator::default();
    let Some(table) = table else {
        return Ok(defaults);
    };
    let horizon =
        reader.optional_duration(table.horizon.as_ref(), "generate.horizon", defaults.horizon)?;
    let keep_max = reader.optional_duration(
        table.keep_max.as_ref(),
        "generate.keep_max",
        defaults.keep_max,
    )?;
    let grace = table
        .grace
        .as_ref()
        .map(|grace| reader.duration(grace, "generate.grace"))
        .transpose()?;
    if horizon.is_zero() {
        let span = table.horizon.as_ref().map_or(0..0, Spanned::span);
        return Err(reader.error(span, "generate.horizon", "must be longer than 0ms".into()));
    }
    let paths = match &table.paths {
        None => defaults.paths,
        Some(paths) if paths.is_empty() => {
            return Err(reader.unplaced("generate.paths", "needs at least one path".into()))
        }
        Some(paths) => paths
            .iter()
            .map(|path| {
                check_path(path.get_ref())
                    .map(|()| path.get_ref().clone())
                    .map_err(|reason| reader.error(path.span(), "generate.paths", reason))
            })
            .collect::<Result<_, _>>()?,
    };
    let faults = match &table.faults {
        None => defaults.faults,
        Some(names) => names
            .iter()
            .map(|name| fault(reader, name))
            .collect::<Result<_, _>>()?,
    };
    let clients = match &table.clients {
        None => defaults.clients,
        Some(names) if names.is_empty() => {
            return Err(reader.unplaced(
                "generate.clients",
                "needs at least one client behaviour, e.g. `whole`".into(),
            ))
        }
        Some(names) => {
            let mut clients = names
                .iter()
                .map(|name| client(reader, name))
                .collect::<Result<Vec<_>, _>>()?;
            // Simplest first, whatever the file's order: shrinking moves
            // toward the first.
            clients.sort();
            clients.dedup();
            clients
        }
    };
    for (field, value, max) in [
        ("generate.cycles_max", table.cycles_max, CYCLES_MAX),
        ("generate.requests_max", table.requests_max, REQUESTS_MAX),
        ("generate.faults_max", table.faults_max, FAULTS_MAX),
    ] {
        if value.is_some_and(|value| value > max) {
            return Err(reader.unplaced(field, format!("at most {max}")));
        }
    }
    Ok(Generator {
        horizon,
        cycles_max: table.cycles_max.unwrap_or(defaults.cycles_max),
        requests_max: table.requests_max.unwrap_or(defaults.requests_max),
        paths,
        keep_max,
        stop: table.stop.unwrap_or(defaults.stop),
        grace: grace.or(defaults.grace),
        faults,
        faults_max: table.faults_max.unwrap_or(defaults.faults_max),
        clients,
    })
}

fn fault(reader: &Reader, name: &Spanned<String>) -> Result<Fault, ScenarioError> {
    Fault::ALL
        .into_iter()
        .find(|fault| fault.name() == name.get_ref())
        .ok_or_else(|| {
            reader.error(
                name.span(),
                "generate.faults",
                format!(
                    "unknown fault `{}`, expected one of {}",
                    name.get_ref(),
                    Fault::ALL.map(Fault::name).join(", ")
                ),
            )
        })
}

fn client(reader: &Reader, name: &Spanned<String>) -> Result<Behaviour, ScenarioError> {
    Behaviour::from_name(name.get_ref()).ok_or_else(|| {
        let known: Vec<&str> = Behaviour::ALL.iter().map(|client| client.name()).collect();
        reader.error(
            name.span(),
            "generate.clients",
            format!(
                "unknown client behaviour `{}`, expected one of {}",
                name.get_ref(),
                known.join(", ")
            ),
        )
    })
}

/// `[kubelet]`, over `defaults` (the target's probe paths).
pub(super) fn kubelet(
    reader: &Reader,
    table: &KubeletTable,
    defaults: KubeletConfig,
) -> Result<KubeletConfig, ScenarioError> {
    let duration = |value: &Option<Spanned<String>>, field: &str, default| {
        reader.optional_duration(value.as_ref(), &format!("kubelet.{field}"), default)
    };
    let probing = match &table.probing {
        None => defaults.probing,
        Some(name) => Probing::from_name(name.get_ref()).ok_or_else(|| {
            reader.error(
                name.span(),
                "kubelet.probing",
                format!(
                    "unknown probing `{}`, expected `current` (Kubernetes 1.21 on) or `legacy` \
                     (before 1.21)",
                    name.get_ref()
                ),
            )
        })?,
    };
    let handler = match &table.probe {
        None => defaults.probe,
        Some(name) => Protocol::from_name(name.get_ref()).ok_or_else(|| {
            reader.error(
                name.span(),
                "kubelet.probe",
                format!(
                    "unknown probe type `{}`, expected `http` (httpGet) or `grpc` (the gRPC \
                     Health Checking Protocol, Kubernetes 1.24 on)",
                    name.get_ref()
                ),
            )
        })?,
    };
    Ok(KubeletConfig {
        probing,
        probe: handler,
        startup: probe(reader, table.startup.as_ref(), "startup", defaults.startup)?,
        liveness: probe(
            reader,
            table.liveness.as_ref(),
            "liveness",
            defaults.liveness,
        )?,
        readiness: probe(
            reader,
            table.readiness.as_ref(),
            "readiness",
            defaults.readiness,
        )?,
        termination_grace_period: duration(
            &table.termination_grace_period,
            "termination_grace_period",
            defaults.termination_grace_period,
        )?,
        pre_stop: duration(&table.pre_stop, "pre_stop", defaults.pre_stop)?,
        endpoint_removal_lag: duration(
            &table.endpoint_removal_lag,
            "endpoint_removal_lag",
            defaults.endpoint_removal_lag,
        )?,
    })
}

fn probe(
    reader: &Reader,
    table: Option<&ProbeTable>,
    name: &str,
    defaults: ProbeConfig,
) -> Result<ProbeConfig, ScenarioError> {
    let Some(table) = table else {
        return Ok(defaults);
    };
    let field = |field: &str| format!("kubelet.{name}.{field}");
    let duration = |value: &Option<Spanned<String>>, key: &str, default| {
        reader.optional_duration(value.as_ref(), &field(key), default)
    };
    let threshold = |value: &Option<Spanned<u32>>, key: &str, default: u32| match value {
        None => Ok(default),
        Some(value) if *value.get_ref() == 0 => {
            Err(reader.error(value.span(), &field(key), "must be at least 1".into()))
        }
        Some(value) => Ok(*value.get_ref()),
    };
    let path = match &table.path {
        None => defaults.path,
        Some(path) => {
            check_path(path.get_ref())
                .map_err(|reason| reader.error(path.span(), &field("path"), reason))?;
            path.get_ref().clone()
        }
    };
    let period = duration(&table.period, "period", defaults.period)?;
    if period.is_zero() {
        let span = table.period.as_ref().map_or(0..0, Spanned::span);
        return Err(reader.error(span, &field("period"), "must be longer than 0ms".into()));
    }
    Ok(ProbeConfig {
        enabled: table
            .enabled
            .unwrap_or(defaults.enabled || table.path.is_some()),
        path,
        initial_delay: duration(
            &table.initial_delay,
            "initial_delay",
            defaults.initial_delay,
        )?,
        period,
        timeout: duration(&table.timeout, "timeout", defaults.timeout)?,
        failure_threshold: threshold(
            &table.failure_threshold,
            "failure_threshold",
            defaults.failure_threshold,
        )?,
        success_threshold: threshold(
            &table.success_threshold,
            "success_threshold",
            defaults.success_threshold,
        )?,
    })
}
