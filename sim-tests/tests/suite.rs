//! The `Suite` users run: which tests it makes, in which order, and a
//! scenario naming a service it does not have.

use std::path::Path;

use lifecycle_sim::{Http, Protocol, Replay, Scenario, Service, Suite, BUILTIN_SCENARIOS};

fn service(name: &str) -> Service {
    Service::new(name, |launch| async move {
        let _listener = launch.bind().await?;
        launch.shutdown().await;
        Ok(())
    })
}

#[test]
fn regressions_come_first_then_each_shipped_scenario_against_each_service_it_applies_to() {
    let regressions = Path::new(env!("CARGO_TARGET_TMPDIR")).join("suite-regressions");
    std::fs::create_dir_all(&regressions).unwrap();
    std::fs::write(regressions.join("drain-a-0x1.toml"), "schema_version = 1\n").unwrap();
    let grpc = service("c")
        .http(Http::Two)
        .protocol(Protocol::Grpc)
        .no_health()
        .no_ready();
    let suite = Suite::new()
        .service(service("a"))
        .service(service("b").http(Http::Auto))
        .service(grpc)
        .builtin()
        .regressions(&regressions);
    let names: Vec<String> = suite
        .trials()
        .iter()
        .map(|trial| trial.name().to_string())
        .collect();
    assert_eq!(names[0], "regression::drain-a-0x1");
    // `a` serves HTTP/1.1 only, `b` plain HTTP/1.1 and HTTP/2, `c` gRPC:
    // each has as tests only the scenarios it serves the clients of.
    let mut expected = 1;
    for (path, _) in BUILTIN_SCENARIOS {
        let stem = Path::new(path).file_stem().unwrap().to_string_lossy();
        let grpc = stem.ends_with("-grpc");
        let applies = [
            ("a", !grpc && stem != "drain-h2"),
            ("b", !grpc),
            ("c", grpc),
        ];
        for (service, applies) in applies {
            let name = format!("{stem}::{service}");
            assert_eq!(names.contains(&name), applies, "{name}: {names:?}");
            expected += usize::from(applies);
        }
    }
    assert_eq!(names.len(), expected, "{names:?}");
}

#[test]
fn a_scenario_naming_an_unregistered_service_says_which_are_registered() {
    let (_, text) = BUILTIN_SCENARIOS[0];
    let text = text.replace("service = \"*\"", "service = \"billing\"");
    let error = Scenario::parse_with(Path::new("x.toml"), &text, &[service("a"), service("b")])
        .expect_err("no such service");
    let line = error.to_string();
    assert!(line.contains("target.service"), "{line}");
    assert!(
        line.contains("no service `billing`") && line.contains("registered: a, b"),
        "{line}"
    );
}

#[test]
fn a_white_box_invariant_cannot_judge_a_service() {
    let (_, text) = BUILTIN_SCENARIOS[0];
    let text = text.replace(
        "oracles = [\"accepted-request-failed\"",
        "oracles = [\"stale-handle\", \"accepted-request-failed\"",
    );
    let error =
        Scenario::parse_with(Path::new("x.toml"), &text, &[service("a")]).expect_err("white-box");
    assert!(error.to_string().contains("black-box"), "{error}");
}

#[test]
fn an_invariant_the_service_cannot_give_evidence_for_is_left_out() {
    let (path, text) = BUILTIN_SCENARIOS
        .iter()
        .find(|(path, _)| path.ends_with("probes.toml"))
        .unwrap();
    let scenario =
        Scenario::parse_with(Path::new(path), text, &[service("a").no_ready()]).expect("it parses");
    let names: Vec<&str> = scenario.not_applicable.iter().map(|i| i.name()).collect();
    assert_eq!(names, ["ready-after-stop"]);
    let kubelet = scenario.campaign.setup.kubelet.as_ref().unwrap();
    assert!(!kubelet.readiness.enabled, "no /ready: no readiness probe");
}

#[test]
fn a_suite_failure_replays_with_cargo_test_of_its_own_package_profile_and_exact_test() {
    let (path, text) = BUILTIN_SCENARIOS[0];
    let mut scenario = Scenario::parse_with(Path::new(path), text, &[service("svc")])
        .unwrap_or_else(|e| panic!("{e}"));
    scenario.replay = Replay::Test {
        binary: "suite".into(),
        trial: "drain::svc".into(),
    };
    let saved = Path::new("regressions/drain-svc-0x1.toml");
    let commands = lifecycle_sim::check::replay_commands(&scenario, 1, Some(saved));
    // This test binary runs in cargo's `<target>/<profile>/deps`.
    let executable = std::env::current_exe().unwrap();
    let profile = executable
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .file_name()
        .unwrap();
    let profile = match profile.to_str().unwrap() {
        "debug" => String::new(),
        "release" => " --release".into(),
        other => format!(" --profile {other}"),
    };
    let cargo_test = format!("cargo test -p sim-tests{profile} --test suite --");
    assert_eq!(
        commands,
        [
            format!("{cargo_test} regression::drain-svc-0x1 --exact"),
            format!("LIFECYCLE_SEED=0x0000000000000001 {cargo_test} drain::svc --exact"),
        ]
    );
}
