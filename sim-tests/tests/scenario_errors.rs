//! Bad scenario files get an error naming the file, the line and the field —
//! never a panic.

use std::path::Path;

use lifecycle_sim::{Scenario, ScenarioError};

const VALID: &str = r#"schema_version = 1
expect = "pass"

[target]
model = "startup-window"
variant = "fixed"

[run]
cases = 3
seed = 7

[generate]
horizon = "1s"
"#;

fn error_of(text: &str) -> ScenarioError {
    Scenario::parse(Path::new("scenarios/bad.toml"), text).expect_err("the file must be rejected")
}

fn assert_points_at(error: &ScenarioError, line: usize, field: &str, words: &str) {
    assert_eq!(error.file, Path::new("scenarios/bad.toml"), "{error}");
    assert_eq!(error.line, Some(line), "{error}");
    assert_eq!(error.field.as_deref(), Some(field), "{error}");
    assert!(error.message.contains(words), "`{words}` not in: {error}");
    let shown = error.to_string();
    assert!(
        shown.starts_with(&format!("scenarios/bad.toml:{line}: field `{field}`")),
        "{shown}"
    );
}

#[test]
fn the_valid_file_parses() {
    Scenario::parse(Path::new("scenarios/bad.toml"), VALID).unwrap();
}

#[test]
fn an_unknown_model_is_named_with_its_line() {
    let error = error_of(&VALID.replace("\"startup-window\"", "\"startup-windwo\""));
    assert_points_at(&error, 5, "target.model", "unknown model `startup-windwo`");
}

#[test]
fn an_unknown_variant_is_named_with_its_line() {
    let error = error_of(&VALID.replace("\"fixed\"", "\"mended\""));
    assert_points_at(&error, 6, "target.variant", "unknown variant `mended`");
}

#[test]
fn a_wrong_type_is_named_with_its_line() {
    let error = error_of(&VALID.replace("cases = 3", "cases = \"three\""));
    assert_points_at(&error, 9, "run.cases", "invalid type");
}

#[test]
fn an_unknown_field_is_rejected() {
    let error = error_of(&VALID.replace("seed = 7", "seed = 7\nspeed = 9"));
    assert_points_at(&error, 11, "run.speed", "unknown field `speed`");
}

#[test]
fn a_bad_duration_is_named_with_its_line() {
    let error = error_of(&VALID.replace("\"1s\"", "\"1 sec\""));
    assert_points_at(&error, 13, "generate.horizon", "1 sec");
}

#[test]
fn a_missing_field_is_named() {
    let error = error_of(&VALID.replace("variant = \"fixed\"\n", ""));
    assert_eq!(error.field.as_deref(), Some("target.variant"), "{error}");
    assert!(error.message.contains("missing field"), "{error}");
    assert!(error.line.is_some(), "{error}");
}

#[test]
fn an_unknown_expectation_lists_the_choices() {
    let error = error_of(&VALID.replace("expect = \"pass\"", "expect = \"passes\""));
    assert_points_at(&error, 2, "expect", "or `pass`");
}

#[test]
fn a_malformed_schedule_step_is_named_with_its_line() {
    let text = VALID
        .replace(
            "expect = \"pass\"",
            "expect = \"pass\"\nschedule = [\n  \"0ms start\",\n  \"5ms jump\",\n]",
        )
        .replace("cases = 3\n", "");
    let error = error_of(&text);
    assert_points_at(&error, 5, "schedule", "unknown action `jump`");
}

#[test]
fn a_toml_syntax_error_has_a_line() {
    let error = error_of(&VALID.replace("cases = 3", "cases = = 3"));
    assert_eq!(error.line, Some(9), "{error}");
}

#[test]
fn a_newer_schema_version_is_refused() {
    let error = error_of(&VALID.replace("schema_version = 1", "schema_version = 2"));
    assert_points_at(&error, 1, "schema_version", "schema version 1");
}

#[test]
fn a_negative_seed_is_refused() {
    let error = error_of(&VALID.replace("seed = 7", "seed = -7"));
    assert_points_at(&error, 10, "run.seed", "non-negative");
}

#[test]
fn a_missing_file_is_an_error_not_a_panic() {
    let error = Scenario::load(Path::new("scenarios/does-not-exist.toml")).unwrap_err();
    assert!(error.message.contains("cannot read"), "{error}");
}

#[test]
fn a_kubelet_for_a_cluster_is_refused() {
    let text =
        VALID.replace("\"startup-window\"", "\"init-order\"") + "\n[kubelet]\npre_stop = \"1s\"\n";
    let error = error_of(&text);
    assert_eq!(error.field.as_deref(), Some("kubelet"), "{error}");
    assert!(error.message.contains("cluster of 3 nodes"), "{error}");
    assert_eq!(error.line, Some(15), "{error}");
}

#[test]
fn a_duration_too_long_to_simulate_is_refused_not_a_panic() {
    let text = VALID
        .replace(
            "expect = \"pass\"",
            "expect = \"pass\"\nschedule = [\"18446744073709551615s start\"]",
        )
        .replace("cases = 3\n", "");
    let error = error_of(&text);
    assert_points_at(&error, 3, "schedule", "longer than a simulation may run");
    let error = error_of(&VALID.replace("seed = 7", "seed = 7\ntick = \"10000000000000000000s\""));
    assert_points_at(&error, 11, "run.tick", "longer than a simulation may run");
}

#[test]
fn a_grace_period_within_the_drain_deadline_is_refused() {
    let text = VALID.replace("horizon = \"1s\"", "horizon = \"1s\"\ngrace = \"5s\"");
    let error = error_of(&text);
    assert_points_at(
        &error,
        14,
        "generate.grace",
        "must be longer than the service's drain deadline",
    );
}

#[test]
fn nodes_are_for_a_cluster_model_only_and_within_range() {
    let error = error_of(&VALID.replace("variant = \"fixed\"", "variant = \"fixed\"\nnodes = 5"));
    assert_points_at(&error, 7, "target.nodes", "only a cluster model");
    let cluster = VALID.replace("\"startup-window\"", "\"init-order\"");
    for bad in ["1", "17", "-3"] {
        let text = cluster.replace(
            "variant = \"fixed\"",
            &format!("variant = \"fixed\"\nnodes = {bad}"),
        );
        assert_points_at(&error_of(&text), 7, "target.nodes", "a cluster has 2 to 16");
    }
    let ten = cluster.replace("variant = \"fixed\"", "variant = \"fixed\"\nnodes = 10");
    let scenario = Scenario::parse(Path::new("scenarios/bad.toml"), &ten).unwrap();
    assert_eq!(scenario.campaign.setup.target.hosts().len(), 10);
    assert_eq!(
        scenario.campaign.setup.target.to_string(),
        "init-order/fixed (10 nodes)"
    );
}

#[test]
fn a_fixed_step_naming_a_host_the_scenario_lacks_is_refused() {
    let cluster = |nodes: &str, step: &str| {
        format!(
            "schema_version = 1\nexpect = \"pass\"\nschedule = [\n  \"0ms start\",\n  \"{step}\",\n]\n\
             [target]\nmodel = \"init-order\"\nvariant = \"fixed\"\n{nodes}[run]\nseed = 7\n"
        )
    };
    let error = error_of(&cluster("", "5ms restart node-5"));
    assert_points_at(
        &error,
        5,
        "schedule",
        "names `node-5`, which this scenario does not have",
    );
    assert!(error.message.contains("node-1, node-2, node-3"), "{error}");
    let error = error_of(&cluster("", "5ms partition kubelet node-1"));
    assert_points_at(&error, 5, "schedule", "names `kubelet`");
    // With five nodes, node-5 is there.
    Scenario::parse(
        Path::new("scenarios/bad.toml"),
        &cluster("nodes = 5\n", "5ms restart node-5"),
    )
    .unwrap();
    // The server of a single-host model is not a cluster node.
    let single = VALID.replace("[run]\ncases = 3\n", "[run]\n").replace(
        "expect = \"pass\"\n",
        "expect = \"pass\"\nschedule = [\"0ms start node-1\"]\n",
    );
    assert_points_at(&error_of(&single), 3, "schedule", "names `node-1`");
}

#[test]
fn a_service_with_a_bad_name_is_refused_where_a_scenario_uses_it() {
    let service = lifecycle_sim::Service::new("../evil\n", |launch| async move {
        let _listener = launch.bind().await?;
        launch.shutdown().await;
        Ok(())
    });
    let text = "schema_version = 1\nexpect = \"pass\"\n[target]\nservice = \"*\"\n";
    let error = Scenario::parse_with(Path::new("scenarios/bad.toml"), text, &[service])
        .expect_err("the service's name is not a name");
    assert_points_at(&error, 4, "target.service", "bad name");
    assert!(!error.to_string().contains('\n'), "{error}");
}

#[test]
fn a_backlog_out_of_range_is_named_with_its_line() {
    for backlog in ["0", "-1", "65536"] {
        let error = error_of(&VALID.replace("seed = 7", &format!("seed = 7\nbacklog = {backlog}")));
        assert_points_at(&error, 11, "run.backlog", "a listen backlog is 1 to 65535");
    }
    Scenario::parse(
        Path::new("scenarios/bad.toml"),
        &VALID.replace("seed = 7", "seed = 7\nbacklog = 65535"),
    )
    .unwrap();
}

#[test]
fn a_backlog_is_read_into_the_run_limits() {
    let text = VALID.replace("seed = 7", "seed = 7\nbacklog = 12");
    let scenario = Scenario::parse(Path::new("scenarios/bad.toml"), &text).unwrap();
    assert_eq!(scenario.campaign.setup.limits.backlog, 12);
}

/// `VALID` with one more line in `[run]`, at line 11.
fn with_run_line(line: &str) -> String {
    VALID.replace("seed = 7", &format!("seed = 7\n{line}"))
}

#[test]
fn a_memory_max_with_an_unknown_unit_is_named_with_its_line() {
    let error = error_of(&with_run_line("memory_max = \"512Mb\""));
    assert_points_at(&error, 11, "run.memory_max", "unknown unit `Mb`");
    assert!(
        error.message.contains("MiB") && error.message.contains("MB"),
        "{error}"
    );
}

#[test]
fn a_memory_max_out_of_range_is_named_with_its_line() {
    for size in ["\"1023KiB\"", "\"2TiB\"", "1048575", "0", "-1"] {
        let error = error_of(&with_run_line(&format!("memory_max = {size}")));
        let words = if size.starts_with('-') {
            "not negative"
        } else {
            "1MiB to 1TiB"
        };
        assert_points_at(&error, 11, "run.memory_max", words);
    }
}

#[test]
fn a_memory_max_of_a_wrong_type_is_named_with_its_line() {
    let error = error_of(&with_run_line("memory_max = true"));
    assert_points_at(
        &error,
        11,
        "run.memory_max",
        "an integer number of bytes or a string",
    );
}

#[test]
fn a_blocked_max_under_10ms_is_named_with_its_line() {
    let error = error_of(&with_run_line("blocked_max = \"9ms\""));
    assert_points_at(&error, 11, "run.blocked_max", "at least 10ms");
}

#[test]
fn a_blocked_max_of_a_wrong_type_is_named_with_its_line() {
    let error = error_of(&with_run_line("blocked_max = 500"));
    assert_points_at(&error, 11, "run.blocked_max", "invalid type");
}

#[test]
fn an_intercept_of_a_wrong_type_is_named_with_its_line() {
    let error = error_of(&with_run_line("intercept = \"no\""));
    assert_points_at(&error, 11, "run.intercept", "invalid type");
}

#[test]
fn the_memory_and_blocking_bounds_are_read_into_the_run_limits() {
    let limits = |lines: &str| {
        let text = with_run_line(lines);
        Scenario::parse(Path::new("scenarios/bad.toml"), &text)
            .unwrap_or_else(|error| panic!("{error}"))
            .campaign
            .setup
            .limits
    };
    let read = limits("blocked_max = \"10ms\"\nmemory_max = \"512MiB\"\nintercept = false");
    assert_eq!(read.blocked_max, std::time::Duration::from_millis(10));
    assert_eq!(read.memory_max_bytes, 512 << 20);
    assert!(!read.intercept);
    assert_eq!(limits("memory_max = 1048576").memory_max_bytes, 1 << 20);
    assert_eq!(
        limits("memory_max = \"2 GB\"").memory_max_bytes,
        2_000_000_000
    );
    assert_eq!(limits("memory_max = \"1TiB\"").memory_max_bytes, 1 << 40);
    // Absent, they are the defaults.
    let defaults = lifecycle_sim::Limits::default();
    let absent = limits("");
    assert_eq!(absent.blocked_max, defaults.blocked_max);
    assert_eq!(absent.memory_max_bytes, lifecycle_sim::MEMORY_MAX_DEFAULT);
    assert!(absent.intercept);
}

#[test]
fn an_unknown_client_behaviour_is_named_with_its_line() {
    let text = format!("{VALID}clients = [\"whole\", \"teleport\"]\n");
    let error = error_of(&text);
    assert_points_at(
        &error,
        14,
        "generate.clients",
        "unknown client behaviour `teleport`",
    );
    assert!(error.message.contains("silent"), "{error}");
}

#[test]
fn an_unknown_probing_is_named_with_its_line() {
    let text = VALID.replace(
        "model = \"startup-window\"",
        "model = \"probes-during-drain\"",
    ) + "\n[kubelet]\nprobing = \"ancient\"\n";
    let error = error_of(&text);
    assert_points_at(&error, 16, "kubelet.probing", "unknown probing `ancient`");
    assert!(error.message.contains("1.21"), "{error}");
}

#[test]
fn a_bad_connect_step_is_named_with_its_line() {
    let text = VALID
        .replace(
            "expect = \"pass\"\n",
            "expect = \"pass\"\nschedule = [\"0ms start\", \"5ms connect hold=never\"]\n",
        )
        .replace("cases = 3\n", "");
    let error = error_of(&text);
    assert_eq!(error.line, Some(3), "{error}");
    assert_eq!(error.field.as_deref(), Some("schedule"), "{error}");
    assert!(error.message.contains("never"), "{error}");
}

#[test]
fn an_unknown_http_is_named_with_its_line() {
    let error = error_of(&VALID.replace("seed = 7", "seed = 7\nhttp = \"3\""));
    assert_points_at(
        &error,
        11,
        "run.http",
        "`3` is not an HTTP the clients send",
    );
}

#[test]
fn http2_clients_against_an_http1_model_are_refused_at_run_http() {
    let error = error_of(&VALID.replace("seed = 7", "seed = 7\nhttp = \"2\""));
    assert_points_at(&error, 11, "run.http", "does not serve");
}

#[test]
fn an_unknown_protocol_is_named_with_its_line() {
    let error = error_of(&VALID.replace("seed = 7", "seed = 7\nprotocol = \"thrift\""));
    assert_points_at(&error, 11, "run.protocol", "unknown protocol `thrift`");
}

#[test]
fn grpc_clients_against_a_plain_http_model_are_refused_at_run_protocol() {
    let error = error_of(&VALID.replace("seed = 7", "seed = 7\nprotocol = \"grpc\""));
    // gRPC needs HTTP/2 first, which the model does not serve.
    assert_points_at(&error, 8, "run.http", "does not serve");
}

#[test]
fn grpc_over_http1_is_refused_at_run_http() {
    let text = VALID.replace("seed = 7", "seed = 7\nprotocol = \"grpc\"\nhttp = \"1.1\"");
    assert_points_at(&error_of(&text), 12, "run.http", "gRPC runs over HTTP/2");
}

#[test]
fn an_unknown_probe_type_is_named_with_its_line() {
    let text =
        VALID.replace("\"startup-window\"", "\"drain-hang\"") + "\n[kubelet]\nprobe = \"exec\"\n";
    assert_points_at(
        &error_of(&text),
        16,
        "kubelet.probe",
        "unknown probe type `exec`",
    );
}

#[test]
fn grpc_probes_of_a_plain_http_model_are_refused_at_the_kubelet() {
    let text =
        VALID.replace("\"startup-window\"", "\"drain-hang\"") + "\n[kubelet]\nprobe = \"grpc\"\n";
    let error = error_of(&text);
    assert_eq!(error.field.as_deref(), Some("kubelet"), "{error}");
    assert!(
        error.to_string().contains("gRPC Health Checking Protocol"),
        "{error}"
    );
}

#[test]
fn streams_without_http2_are_named_at_the_client() {
    let text = VALID.replace(
        "horizon = \"1s\"",
        "horizon = \"1s\"\nclients = [\"whole\", \"streams\"]",
    );
    let error = error_of(&text);
    assert_points_at(
        &error,
        14,
        "generate.clients",
        "`streams` sends HTTP/2 streams",
    );
}

/// A scenario of the service `api` on the threads backend.
const THREADS: &str = r#"schema_version = 1
expect = "pass"

[target]
service = "api"

[run]
cases = 3
seed = 7
backend = "threads"

[generate]
horizon = "1s"
"#;

/// A service that binds and stops: these scenarios are read, never run.
fn api() -> lifecycle_sim::Service {
    lifecycle_sim::Service::new("api", |launch| async move {
        let _listener = launch.bind().await?;
        launch.shutdown().await;
        Ok(())
    })
}

fn parse_threads(text: &str) -> Result<Scenario, ScenarioError> {
    Scenario::parse_with(Path::new("scenarios/bad.toml"), text, &[api()])
}

/// `THREADS` with one more line in `[run]`, at line 11.
fn with_threads_line(line: &str) -> String {
    THREADS.replace(
        "backend = \"threads\"",
        &format!("backend = \"threads\"\n{line}"),
    )
}

#[test]
fn an_unknown_backend_is_named_with_its_line_and_the_choices() {
    let error = error_of(&with_run_line("backend = \"turmoil\""));
    assert_points_at(&error, 11, "run.backend", "unknown backend `turmoil`");
    assert!(
        error.message.contains("\"simulated\"") && error.message.contains("\"threads\""),
        "{error}"
    );
}

#[test]
fn threads_settings_under_the_simulated_backend_are_refused_at_their_line() {
    for (field, line) in [
        ("workers", "workers = 3"),
        ("confirm_runs", "confirm_runs = 5"),
        ("cases_at_once", "cases_at_once = 2"),
        ("perturbation", "perturbation = [\"pin\"]"),
    ] {
        let error = error_of(&with_run_line(line));
        let field = format!("run.{field}");
        let words = "applies to `backend = \"threads\"` only";
        assert_points_at(&error, 11, &field, words);
        // Said, or left to the default: the same.
        let said = with_run_line(&format!("backend = \"simulated\"\n{line}"));
        assert_points_at(&error_of(&said), 12, &field, words);
    }
}

#[test]
fn workers_out_of_range_are_named_with_their_line() {
    for workers in ["1", "5", "-2"] {
        let error = parse_threads(&with_threads_line(&format!("workers = {workers}")))
            .expect_err("out of range");
        assert_points_at(
            &error,
            11,
            "run.workers",
            "a process's tokio worker threads are 2 to 4",
        );
    }
}

#[test]
fn confirm_runs_and_cases_at_once_out_of_range_are_named_with_their_line() {
    for (line, field, words) in [
        ("confirm_runs = 0", "run.confirm_runs", "1 to 1000"),
        ("confirm_runs = 1001", "run.confirm_runs", "1 to 1000"),
        ("cases_at_once = 0", "run.cases_at_once", "1 to 64"),
        ("cases_at_once = 65", "run.cases_at_once", "1 to 64"),
    ] {
        let error = parse_threads(&with_threads_line(line)).expect_err("out of range");
        assert_points_at(&error, 11, field, words);
    }
}

#[test]
fn an_unknown_or_repeated_perturbation_is_named_at_its_line() {
    let text = with_threads_line("perturbation = [\n  \"sockets\",\n  \"jitter\",\n]");
    let error = parse_threads(&text).expect_err("unknown");
    assert_points_at(
        &error,
        13,
        "run.perturbation",
        "unknown perturbation `jitter`",
    );
    assert!(error.message.contains("sockets, tracing, pin"), "{error}");
    let text = with_threads_line("perturbation = [\"pin\", \"pin\"]");
    let error = parse_threads(&text).expect_err("repeated");
    assert_points_at(&error, 11, "run.perturbation", "`pin` is listed twice");
}

#[test]
fn the_threads_settings_are_read_and_default_when_absent() {
    let threads = |line: &str| {
        *parse_threads(&with_threads_line(line))
            .unwrap_or_else(|error| panic!("{error}"))
            .campaign
            .setup
            .backend
            .threads()
            .expect("threads")
    };
    assert_eq!(threads(""), lifecycle_sim::Threads::default());
    let read = threads(
        "workers = 4\nconfirm_runs = 1000\ncases_at_once = 64\nperturbation = [\"pin\", \"tracing\"]",
    );
    assert_eq!(
        (read.workers, read.confirm_runs, read.cases_at_once),
        (4, 1000, 64)
    );
    let perturbation = read.perturbation;
    assert!(!perturbation.sockets && perturbation.tracing && perturbation.pin);
    // An empty list turns perturbation off.
    assert!(!threads("perturbation = []").perturbation.any());
}

#[test]
fn threads_for_a_built_in_model_are_refused_at_run_backend() {
    let error = error_of(&with_run_line("backend = \"threads\""));
    assert_points_at(
        &error,
        11,
        "run.backend",
        "the threads backend runs a user's service; built-in models run in simulation",
    );
}

#[test]
fn a_network_fault_on_threads_is_refused_at_generate_faults() {
    let text = format!("{THREADS}faults = [\n  \"crash\",\n  \"latency\",\n]\n");
    let error = parse_threads(&text).expect_err("latency needs the simulation");
    assert_points_at(
        &error,
        16,
        "generate.faults",
        "`latency` is a network fault",
    );
    // A crash is a kill there: allowed.
    parse_threads(&format!(
        "{THREADS}faults = [\"kill\", \"restart\", \"crash\"]\n"
    ))
    .unwrap();
}

#[test]
fn a_fixed_network_step_on_threads_is_refused_at_its_line() {
    let text = THREADS
        .replace(
            "expect = \"pass\"\n",
            "expect = \"pass\"\nschedule = [\n  \"0ms start\",\n  \"5ms crash\",\n  \"9ms hold client server\",\n]\n",
        )
        .replace("cases = 3\n", "");
    let error = parse_threads(&text).expect_err("hold needs the simulation");
    assert_points_at(
        &error,
        6,
        "schedule",
        "`9ms hold client server` is a network step",
    );
}

#[test]
fn a_backend_chosen_after_reading_is_held_to_the_same_rules() {
    let threads = lifecycle_sim::Backend::Threads(lifecycle_sim::Threads::default());
    let mut model = Scenario::parse(Path::new("scenarios/bad.toml"), VALID).unwrap();
    let error = model.set_backend(threads).expect_err("a built-in model");
    assert_eq!(error.field.as_deref(), Some("run.backend"), "{error}");
    assert!(error.message.contains("built-in models run in simulation"));
    assert_eq!(
        model.campaign.setup.backend,
        lifecycle_sim::Backend::Simulated
    );
    let simulated = THREADS.replace("backend = \"threads\"", "backend = \"simulated\"");
    let mut network = parse_threads(&format!("{simulated}faults = [\"partition\"]\n")).unwrap();
    let error = network.set_backend(threads).expect_err("a network fault");
    assert_eq!(error.field.as_deref(), Some("generate.faults"), "{error}");
    let mut service = parse_threads(&simulated).unwrap();
    service.set_backend(threads).unwrap();
    assert_eq!(service.campaign.setup.backend, threads);
}
