//! The rules that join fields: each is one function, named for what it
//! demands, returning the error that names the field it is about. They run
//! in the order [`read`](super::read) calls them, which is the order a file
//! with several mistakes has its first one reported.

use std::time::Duration;

use toml::Spanned;

use super::definition::Expect;
use super::error::{Reader, ScenarioError};
use super::file::{GenerateTable, TargetTable};
use crate::case::backend::Backend;
use crate::case::http::{health_check_service, Http, Protocol};
use crate::case::schedule::{render_duration, Action, Host, Step};
use crate::case::verdict::Invariant;
use crate::core::target::{Model, Target};
use crate::engine::kubelet::KubeletConfig;
use crate::harness::generate::{Behaviour, Fault, Generator};

/// What `[target]` names: a built-in model with its variant, or a service.
pub(super) enum Named<'a> {
    /// `model` and `variant`.
    Builtin {
        model: &'a Spanned<String>,
        variant: &'a Spanned<String>,
    },
    /// `service`.
    Service(&'a Spanned<String>),
}

/// A service runs on one host: `nodes` is for a cluster model only.
pub(super) fn no_nodes_for_a_service(
    reader: &Reader,
    table: &TargetTable,
) -> Result<(), ScenarioError> {
    match (&table.nodes, &table.service) {
        (Some(nodes), Some(_)) => Err(reader.error(
            nodes.span(),
            "target.nodes",
            "a service runs on one host; only a cluster model (init-order) has nodes".into(),
        )),
        _ => Ok(()),
    }
}

/// A target is a built-in `model` with its `variant`, or a `service`: one
/// of the two, and all of it.
pub(super) fn one_kind_of_target<'a>(
    reader: &Reader,
    table: &'a TargetTable,
) -> Result<Named<'a>, ScenarioError> {
    match (&table.model, &table.variant, &table.service) {
        (Some(model), Some(variant), None) => Ok(Named::Builtin { model, variant }),
        (None, None, Some(name)) => Ok(Named::Service(name)),
        (_, _, Some(name)) => Err(reader.error(
            name.span(),
            "target.service",
            "a target is a built-in `model` with its `variant`, or a `service`, not both".into(),
        )),
        (Some(model), None, None) => Err(reader.error(
            model.span(),
            "target.variant",
            "missing field `variant`: a built-in model needs its variant, `buggy` or `fixed`"
                .into(),
        )),
        (None, Some(variant), None) => Err(reader.error(
            variant.span(),
            "target.model",
            format!(
                "missing field `model`: a variant needs its model, one of {}",
                Model::ALL.map(Model::name).join(", ")
            ),
        )),
        (None, None, None) => Err(ScenarioError {
            line: reader.line_of_header("[target]"),
            ..reader.unplaced(
                "target",
                "names no target: give `model` and `variant`, or `service`".into(),
            )
        }),
    }
}

/// `nodes` sizes a cluster model; any other model runs one service host.
pub(super) fn nodes_only_on_a_cluster(
    reader: &Reader,
    nodes: &Spanned<i64>,
    model: Model,
) -> Result<(), ScenarioError> {
    if model.is_cluster() {
        return Ok(());
    }
    Err(reader.error(
        nodes.span(),
        "target.nodes",
        format!(
            "`{}` runs one service host; only a cluster model (init-order) has nodes",
            model.name()
        ),
    ))
}

/// A service is judged by what crosses its sockets: it may name only the
/// black-box invariants.
pub(super) fn black_box_oracles_for_a_service(
    reader: &Reader,
    name: &Spanned<String>,
    invariant: Invariant,
    target: &Target,
) -> Result<(), ScenarioError> {
    if !matches!(target, Target::Service(_)) || invariant.black_box() {
        return Ok(());
    }
    Err(reader.error(
        name.span(),
        "oracles",
        format!(
            "`{invariant}` needs events only the built-in models record; a \
             service is judged by the black-box invariants: {}",
            Invariant::ALL
                .into_iter()
                .filter(|invariant| invariant.black_box())
                .map(Invariant::name)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ))
}

/// The invariant a scenario expects broken applies to its target: the
/// target has the endpoint it needs.
pub(super) fn expected_invariant_applies(
    reader: &Reader,
    expect: &Spanned<String>,
    expected: Expect,
    target: &Target,
    not_applicable: &[Invariant],
) -> Result<(), ScenarioError> {
    match expected {
        Expect::Violation(invariant) if not_applicable.contains(&invariant) => Err(reader.error(
            expect.span(),
            "expect",
            format!(
                "expects `{invariant}`, which does not apply to {target}: it lacks the endpoint \
                 it needs"
            ),
        )),
        _ => Ok(()),
    }
}

/// The invariant a scenario expects broken is one its `oracles` check.
pub(super) fn expected_invariant_is_checked(
    reader: &Reader,
    expect: &Spanned<String>,
    expected: Expect,
    invariants: &[Invariant],
) -> Result<(), ScenarioError> {
    match expected {
        Expect::Violation(invariant) if !invariants.contains(&invariant) => Err(reader.error(
            expect.span(),
            "expect",
            format!("expects `{invariant}`, which `oracles` does not check"),
        )),
        _ => Ok(()),
    }
}

/// When `drain-deadline` is checked, a generated stop's grace period
/// outlasts the service's drain deadline: a hung stop must be judged, not
/// killed first.
pub(super) fn grace_outlasts_the_drain_deadline(
    reader: &Reader,
    table: Option<&GenerateTable>,
    generator: &Generator,
    kubelet: Option<&KubeletConfig>,
    invariants: &[Invariant],
    target: &Target,
) -> Result<(), ScenarioError> {
    let grace = effective_grace(generator, kubelet);
    let deadline = target.drain_deadline();
    if !generator.stop || !invariants.contains(&Invariant::DrainDeadline) || grace > deadline {
        return Ok(());
    }
    let span = table
        .and_then(|table| table.grace.as_ref())
        .map_or(0..0, Spanned::span);
    Err(reader.error(
        span,
        "generate.grace",
        format!(
            "the grace period ({}) must be longer than the service's drain deadline ({}): \
             a hung stop would be killed before `drain-deadline` could judge it",
            render_duration(grace),
            render_duration(deadline)
        ),
    ))
}

/// The grace period a generated stop gets: the generator's, else the
/// kubelet's, else the director's default.
fn effective_grace(generator: &Generator, kubelet: Option<&KubeletConfig>) -> Duration {
    generator.grace.unwrap_or_else(|| {
        kubelet.map_or(crate::engine::director::GRACE_DEFAULT, |kubelet| {
            kubelet.termination_grace_period
        })
    })
}

/// The kubelet models one pod: a cluster has no `[kubelet]`.
pub(super) fn one_pod_for_a_kubelet(
    reader: &Reader,
    kubelet: Option<&KubeletConfig>,
    target: &Target,
) -> Result<(), ScenarioError> {
    if kubelet.is_none() || target.hosts().len() <= 1 {
        return Ok(());
    }
    Err(kubelet_error(
        reader,
        format!(
            "the kubelet models one pod; `{}` is a cluster of {} nodes",
            target,
            target.hosts().len()
        ),
    ))
}

/// An error about the `[kubelet]` table as a whole, at its header.
fn kubelet_error(reader: &Reader, message: String) -> ScenarioError {
    ScenarioError {
        line: reader.line_of_header("[kubelet]"),
        ..reader.unplaced("kubelet", message)
    }
}

/// The target serves the HTTP the clients send (`run.http`).
pub(super) fn target_serves_the_clients(
    reader: &Reader,
    value: Option<&Spanned<String>>,
    http: Http,
    target: &Target,
) -> Result<(), ScenarioError> {
    if target.http().serves(http) {
        return Ok(());
    }
    let message = format!(
        "the clients send {http}, which `{target}` does not serve (it serves {}); a service \
         declares what it serves with `Service::http`",
        target.http()
    );
    Err(match value {
        Some(value) => reader.error(value.span(), "run.http", message),
        None => ScenarioError {
            line: reader.line_of_header("[run]"),
            ..reader.unplaced("run.http", message)
        },
    })
}

/// The target serves what the clients' requests carry (`run.protocol`).
pub(super) fn target_serves_the_protocol(
    reader: &Reader,
    value: Option<&Spanned<String>>,
    protocol: Protocol,
    target: &Target,
) -> Result<(), ScenarioError> {
    if target.protocol() == protocol {
        return Ok(());
    }
    let message = format!(
        "the clients send {protocol}, and `{target}` serves {} (a service declares it with \
         `Service::protocol`; `Service::tonic` declares gRPC)",
        target.protocol()
    );
    Err(match value {
        Some(value) => reader.error(value.span(), "run.protocol", message),
        None => ScenarioError {
            line: reader.line_of_header("[run]"),
            ..reader.unplaced("run.protocol", message)
        },
    })
}

/// gRPC calls go to methods (`/package.Service/Method`) or to a health
/// check: any other path (the default `/`) would be answered
/// `UNIMPLEMENTED`, a failure of the scenario's making, not the service's.
pub(super) fn grpc_calls_name_methods(
    reader: &Reader,
    table: Option<&GenerateTable>,
    generator: &Generator,
    protocol: Protocol,
) -> Result<(), ScenarioError> {
    let is_method = |path: &str| {
        let mut parts = path.split('/');
        let shape = (parts.next(), parts.next(), parts.next(), parts.next());
        matches!(shape, (Some(""), Some(service), Some(method), None)
            if !service.is_empty() && !method.is_empty() && !path.contains('?'))
    };
    let wrong = |path: &str| !is_method(path) && health_check_service(path).is_none();
    if protocol != Protocol::Grpc {
        return Ok(());
    }
    let Some(path) = generator.paths.iter().find(|path| wrong(path)) else {
        return Ok(());
    };
    let message = format!(
        "`{path}` is not a gRPC method: a gRPC scenario's calls go to paths such as \
         `/package.Service/Method`, a service's with `Service::paths` or the scenario's with \
         `generate.paths`"
    );
    let written = table
        .and_then(|table| table.paths.as_ref())
        .and_then(|paths| paths.iter().find(|written| written.get_ref() == path));
    Err(match written {
        Some(written) => reader.error(written.span(), "generate.paths", message),
        None => reader.unplaced("generate.paths", message),
    })
}

/// The clients drawn are ones that send the scenario's HTTP: `streams`
/// needs HTTP/2, and `half-close` is HTTP/1.1's.
pub(super) fn clients_send_the_http(
    reader: &Reader,
    table: Option<&GenerateTable>,
    generator: &Generator,
    http: Http,
) -> Result<(), ScenarioError> {
    let wrong = |behaviour: &Behaviour| match behaviour {
        Behaviour::Streams => http != Http::Two,
        Behaviour::HalfClose => http == Http::Two,
        _ => false,
    };
    let Some(behaviour) = generator.clients.iter().find(|behaviour| wrong(behaviour)) else {
        return Ok(());
    };
    let span = table
        .and_then(|table| table.clients.as_ref())
        .and_then(|clients| {
            clients
                .iter()
                .find(|client| client.get_ref() == behaviour.name())
        })
        .map_or(0..0, Spanned::span);
    let why = match behaviour {
        Behaviour::Streams => "sends HTTP/2 streams: it needs `run.http = \"2\"`",
        _ => "half-closes a TCP connection, as HTTP/1.1 clients do: it needs `run.http = \"1.1\"`",
    };
    Err(reader.error(
        span,
        "generate.clients",
        format!("`{}` {why}", behaviour.name()),
    ))
}

/// The kubelet's probes are HTTP/1.1, as Kubernetes' `httpGet` probes
/// are: the target must serve it.
pub(super) fn kubelet_probes_are_served(
    reader: &Reader,
    kubelet: Option<&KubeletConfig>,
    target: &Target,
) -> Result<(), ScenarioError> {
    let Some(kubelet) = kubelet else {
        return Ok(());
    };
    if kubelet.probe == Protocol::Http {
        if target.http().serves(Http::One) {
            return Ok(());
        }
        return Err(kubelet_error(
            reader,
            format!(
                "the kubelet probes with HTTP/1.1 `httpGet` probes, and `{target}` serves {} \
                 only; a gRPC service is probed with `probe = \"grpc\"`",
                target.http()
            ),
        ));
    }
    if target.protocol() != Protocol::Grpc || !target.http().serves(Http::Two) {
        return Err(kubelet_error(
            reader,
            format!(
                "the kubelet's `grpc` probes call the gRPC Health Checking Protocol over \
                 HTTP/2, and `{target}` serves {} over {}",
                target.protocol(),
                target.http()
            ),
        ));
    }
    let probes = [
        ("startup", &kubelet.startup),
        ("liveness", &kubelet.liveness),
        ("readiness", &kubelet.readiness),
    ];
    for (name, probe) in probes {
        if probe.enabled && health_check_service(&probe.path).is_none() {
            return Err(kubelet_error(
                reader,
                format!(
                    "the {name} probe checks `{}`, which is not a gRPC health check: a `grpc` \
                     probe's path is `{GRPC}`, or `{GRPC}?service=` and the name the health \
                     service reports (`Service::health`, `Service::ready`, or \
                     `kubelet.{name}.path`)",
                    probe.path,
                    GRPC = crate::case::http::GRPC_HEALTH_CHECK,
                ),
            ));
        }
    }
    Ok(())
}

/// A fixed `schedule` is one case: no `run.cases`.
pub(super) fn one_case_for_a_fixed_schedule(
    reader: &Reader,
    cases: Option<&Spanned<u64>>,
) -> Result<(), ScenarioError> {
    match cases {
        Some(cases) => Err(reader.error(
            cases.span(),
            "run.cases",
            "a scenario with a fixed `schedule` runs exactly one case".into(),
        )),
        None => Ok(()),
    }
}

/// A fixed `schedule` replays with the seed it ran with: `run.seed` is given.
pub(super) fn seed_for_a_fixed_schedule(
    reader: &Reader,
    seed: Option<u64>,
) -> Result<u64, ScenarioError> {
    seed.ok_or_else(|| {
        reader.unplaced(
            "run.seed",
            "a scenario with a fixed `schedule` needs the seed it ran with".into(),
        )
    })
}

/// A fixed schedule lists its steps in time order: a step no earlier than
/// the one before it (a file out of order is a mistake, or an edit that
/// changed what runs first; it is not re-sorted silently).
pub(super) fn steps_in_time_order(
    reader: &Reader,
    line: &Spanned<String>,
    step: &Step,
    before: Option<&Step>,
) -> Result<(), ScenarioError> {
    match before.filter(|before| before.at > step.at) {
        Some(before) => Err(reader.error(
            line.span(),
            "schedule",
            format!(
                "`{}` comes after `{before}` but is earlier: a schedule lists its steps in time \
                 order",
                line.get_ref()
            ),
        )),
        None => Ok(()),
    }
}

/// Every host a fixed step names is one the scenario has: a step naming
/// another would be skipped at run time, so it is refused here, where it
/// is a typo or a saved failure read against the wrong target.
pub(super) fn steps_name_hosts_it_has(
    reader: &Reader,
    lines: &[Spanned<String>],
    steps: &[Step],
    target: &Target,
    kubelet: bool,
) -> Result<(), ScenarioError> {
    for (line, step) in lines.iter().zip(steps) {
        if let Some(host) = absent_host(&step.action, target, kubelet) {
            let hosts: Vec<&str> = target.hosts().iter().map(|host| host.name()).collect();
            return Err(reader.error(
                line.span(),
                "schedule",
                format!(
                    "`{}` names `{}`, which this scenario does not have (its service hosts: {})",
                    line.get_ref(),
                    host.name(),
                    hosts.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// The first host a step names that the scenario does not have: a
/// lifecycle step acts on a service host; a network step joins the client,
/// the kubelet (when there is one) and the service hosts.
fn absent_host(action: &Action, target: &Target, kubelet: bool) -> Option<Host> {
    let service_hosts = target.hosts();
    match action {
        Action::Start { host }
        | Action::Stop { host, .. }
        | Action::Kill { host }
        | Action::Restart { host }
        | Action::Crash { host } => host.filter(|host| !service_hosts.contains(host)),
        Action::Network { a, b, .. } => [*a, *b].into_iter().find(|host| match host {
            Host::Client => false,
            Host::Kubelet => !kubelet,
            _ => !service_hosts.contains(host),
        }),
        Action::Request { .. } | Action::Connect { .. } | Action::Wait => None,
    }
}

/// A generated scenario runs at least one case: one of none would pass
/// having checked nothing.
pub(super) fn some_cases_when_generated(
    reader: &Reader,
    cases: Option<&Spanned<u64>>,
) -> Result<(), ScenarioError> {
    match cases.filter(|cases| *cases.get_ref() == 0) {
        Some(cases) => Err(reader.error(
            cases.span(),
            "run.cases",
            "must be at least 1: a scenario of 0 cases would pass having checked nothing".into(),
        )),
        None => Ok(()),
    }
}

/// The threads backend runs a user's service: a built-in model's
/// white-box events, its clusters and its exact replay are the
/// simulation's. `value` is `run.backend` as written; without one (a
/// backend chosen after reading) the error has no line.
pub(super) fn threads_run_a_service(
    reader: &Reader,
    value: Option<&Spanned<String>>,
    backend: &Backend,
    target: &Target,
) -> Result<(), ScenarioError> {
    if backend.threads().is_none() || matches!(target, Target::Service(_)) {
        return Ok(());
    }
    let message = format!(
        "the threads backend runs a user's service; built-in models run in simulation, and \
         `{target}` is one"
    );
    Err(match value {
        Some(value) => reader.error(value.span(), "run.backend", message),
        None => reader.unplaced("run.backend", message),
    })
}

/// The threads backend runs on a machine's loopback, which it cannot
/// partition, hold or delay: a generated network fault would be skipped,
/// and a case that drew only those would test nothing it claims. A crash
/// is allowed: under threads it is a kill.
pub(super) fn threads_draw_no_network_faults(
    reader: &Reader,
    table: Option<&GenerateTable>,
    generator: &Generator,
    backend: &Backend,
) -> Result<(), ScenarioError> {
    if backend.threads().is_none() {
        return Ok(());
    }
    let Some(fault) = generator.faults.iter().find(|fault| network_fault(**fault)) else {
        return Ok(());
    };
    let message = format!(
        "`{}` is a network fault, which the threads backend cannot make on a machine's \
         loopback; its faults are kill, restart and crash (a kill there)",
        fault.name()
    );
    let written = table
        .and_then(|table| table.faults.as_ref())
        .and_then(|faults| faults.iter().find(|name| name.get_ref() == fault.name()));
    Err(match written {
        Some(written) => reader.error(written.span(), "generate.faults", message),
        None => reader.unplaced("generate.faults", message),
    })
}

/// A fixed schedule run on threads has no network step, for the reason
/// [`threads_draw_no_network_faults`] gives. `lines` are the steps as
/// written, if they were: without them the error has no line and quotes
/// the step.
pub(super) fn threads_take_no_network_steps(
    reader: &Reader,
    lines: Option<&[Spanned<String>]>,
    steps: &[Step],
    backend: &Backend,
) -> Result<(), ScenarioError> {
    if backend.threads().is_none() {
        return Ok(());
    }
    let Some(index) = steps
        .iter()
        .position(|step| matches!(step.action, Action::Network { .. }))
    else {
        return Ok(());
    };
    let line = lines.and_then(|lines| lines.get(index));
    let text = line.map_or_else(|| steps[index].to_string(), |line| line.get_ref().clone());
    let message = format!(
        "`{text}` is a network step, which the threads backend cannot take on a machine's \
         loopback (partition, repair, hold, release, latency); its lifecycle steps and \
         requests it takes, a crash as a kill"
    );
    Err(match line {
        Some(line) => reader.error(line.span(), "schedule", message),
        None => reader.unplaced("schedule", message),
    })
}

/// Whether a fault is made in the network rather than to the process.
fn network_fault(fault: Fault) -> bool {
    match fault {
        Fault::Kill | Fault::Restart | Fault::Crash => false,
        Fault::Partition | Fault::Hold | Fault::Latency => true,
    }
}
