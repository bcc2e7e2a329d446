//! The `lifecycle-sim` command as a user runs it: one line per scenario, exit
//! codes 0 (met), 100 (not met), 2 (bad input) and 130 (interrupted), and
//! replays of saved files.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh directory for one run's failure files, under the system's
/// temporary directory: the tests leave nothing in the repository's own
/// `target/lifecycle-sim/failures`, which is the user's.
fn failures_directory() -> PathBuf {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let directory = std::env::temp_dir().join(format!(
        "lifecycle-sim-cli-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&directory);
    directory
}

/// The command with `arguments`, in the repository, without the seed
/// variables; a `run` saves its failures in a directory of its own.
fn command(arguments: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lifecycle-sim"));
    command
        .args(arguments)
        .current_dir(repository())
        .env_remove("LIFECYCLE_SEED")
        .env_remove("LIFECYCLE_CASES");
    if arguments.first() == Some(&"run") && !arguments.contains(&"--failures") {
        command.arg("--failures").arg(failures_directory());
    }
    command
}

fn lifecycle_sim(arguments: &[&str]) -> Output {
    command(arguments).output().expect("the binary runs")
}

fn scratch(name: &str, text: &str) -> PathBuf {
    let directory = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&directory).unwrap();
    let file = directory.join(name);
    std::fs::write(&file, text).unwrap();
    file
}

/// The buggy startup-window scenario's text expecting a pass: a scenario
/// whose expectation is not met.
fn buggy_expecting_pass() -> String {
    std::fs::read_to_string(repository().join("scenarios/startup-window-buggy.toml"))
        .unwrap()
        .replace(
            "expect = \"served-before-initialised\"",
            "expect = \"pass\"",
        )
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn run_reports_the_buggy_race_found_and_the_fix_passing() {
    let failures = failures_directory();
    let output = lifecycle_sim(&[
        "run",
        "scenarios/startup-window-buggy.toml",
        "scenarios/startup-window-fixed.toml",
        "--failures",
        failures.to_str().unwrap(),
    ]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("startup-window-buggy"), "{text}");
    assert!(
        text.contains("found served-before-initialised after"),
        "{text}"
    );
    assert!(text.contains("passed 1000 cases"), "{text}");

    // The saved failure replays, shows the violation, and the two runs match.
    let saved = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("saved: "))
        .expect("the failure was saved");
    assert!(Path::new(saved).starts_with(&failures), "{saved}");
    let replay = lifecycle_sim(&["replay", saved]);
    let replayed = stdout(&replay);
    assert_eq!(replay.status.code(), Some(100), "{replayed}");
    assert!(
        replayed.contains("violation: served-before-initialised"),
        "{replayed}"
    );
    assert!(replayed.contains("two runs identical"), "{replayed}");
    assert_eq!(replayed, stdout(&lifecycle_sim(&["replay", saved])));
}

#[test]
fn an_unmet_expectation_exits_100_with_a_report() {
    let file = scratch("buggy-expecting-pass.toml", &buggy_expecting_pass());
    let output = lifecycle_sim(&["run", file.to_str().unwrap()]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(100), "{text}");
    assert!(text.contains("FAIL"), "{text}");
    assert!(text.contains("LIFECYCLE_SEED=0x"), "{text}");
    assert!(text.contains("replay"), "{text}");
    // Saved where the tests' runs save, not in the repository.
    let temporary = std::env::temp_dir().join("lifecycle-sim-cli-");
    assert!(
        text.contains(&*temporary.to_string_lossy()),
        "saved outside {}: {text}",
        temporary.display()
    );
}

/// The replay lines of an unmet scenario's report, run by `binary`.
fn replay_lines_run_by(binary: &Path, name: &str) -> String {
    let file = scratch(name, &buggy_expecting_pass());
    let failures = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-replay-failures");
    let output = Command::new(binary)
        .args(["run", file.to_str().unwrap(), "--failures"])
        .arg(&failures)
        .current_dir(repository())
        .env_remove("LIFECYCLE_SEED")
        .env_remove("LIFECYCLE_CASES")
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(100));
    stdout(&output)
}

#[test]
fn replay_commands_use_the_build_profile_in_a_checkout_and_the_command_once_installed() {
    // A build in cargo's target directory replays with `cargo run` and the
    // profile it was built with.
    let built = Path::new(env!("CARGO_BIN_EXE_lifecycle-sim"));
    let profile = built.parent().unwrap().file_name().unwrap();
    let cargo_run = match profile.to_str().unwrap() {
        "debug" => "cargo run --".to_string(),
        "release" => "cargo run --release --".to_string(),
        other => format!("cargo run --profile {other} --"),
    };
    let text = replay_lines_run_by(built, "replay-built.toml");
    assert!(text.contains(&format!("{cargo_run} replay ")), "{text}");
    assert!(text.contains(&format!("{cargo_run} run ")), "{text}");

    // The same binary copied out of the target directory, as `cargo
    // install` puts it, names the installed command.
    let installed = Path::new(env!("CARGO_TARGET_TMPDIR")).join("installed");
    std::fs::create_dir_all(&installed).unwrap();
    let copy = installed.join("lifecycle-sim");
    std::fs::copy(built, &copy).unwrap();
    let text = replay_lines_run_by(&copy, "replay-installed.toml");
    assert!(text.contains("lifecycle-sim replay "), "{text}");
    assert!(text.contains("lifecycle-sim run "), "{text}");
    assert!(!text.contains("cargo "), "{text}");
}

#[test]
fn a_bad_scenario_exits_2_naming_file_line_and_field() {
    let file = scratch(
        "bad-model.toml",
        "schema_version = 1\nexpect = \"pass\"\n[target]\nmodel = \"nope\"\nvariant = \"fixed\"\n",
    );
    let output = lifecycle_sim(&["run", file.to_str().unwrap()]);
    let error = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{error}");
    assert!(
        error.contains("bad-model.toml:4: field `target.model`"),
        "{error}"
    );
}

#[test]
fn replay_of_a_passing_schedule_exits_0() {
    let file = scratch(
        "passing.toml",
        "schema_version = 1\nexpect = \"pass\"\nschedule = [\"0ms start\", \"400ms request /\"]\n\
         [target]\nmodel = \"startup-window\"\nvariant = \"fixed\"\n[run]\nseed = \"0x1\"\n",
    );
    let output = lifecycle_sim(&["replay", file.to_str().unwrap()]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("r1 saw status 200"), "{text}");
    assert!(text.contains("verdict: pass"), "{text}");
}

#[test]
fn an_unknown_http_exits_2_naming_file_line_and_field() {
    let file = scratch(
        "bad-http.toml",
        "schema_version = 1\nexpect = \"pass\"\n[target]\nmodel = \"drain-hang\"\n\
         variant = \"fixed\"\n[run]\nhttp = \"3\"\n",
    );
    let output = lifecycle_sim(&["run", file.to_str().unwrap()]);
    let error = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{error}");
    assert!(
        error.contains("bad-http.toml:7: field `run.http`"),
        "{error}"
    );
}

#[test]
fn an_unknown_protocol_or_probe_type_exits_2_naming_its_line() {
    let head = "schema_version = 1\nexpect = \"pass\"\n[target]\nmodel = \"drain-hang\"\n\
                variant = \"fixed\"\n";
    for (name, tail, named) in [
        (
            "bad-protocol.toml",
            "[run]\nprotocol = \"soap\"\n",
            ":7: field `run.protocol`",
        ),
        (
            "bad-probe.toml",
            "[kubelet]\nprobe = \"tcp\"\n",
            ":7: field `kubelet.probe`",
        ),
    ] {
        let file = scratch(name, &format!("{head}{tail}"));
        let output = lifecycle_sim(&["run", file.to_str().unwrap()]);
        let error = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{error}");
        assert!(error.contains(&format!("{name}{named}")), "{error}");
    }
}

#[test]
fn backend_threads_on_a_built_in_model_exits_2_naming_the_file() {
    // The threads backend runs a user's service; the command's scenarios
    // are built-in models, which run in simulation only. Nothing runs.
    let fixed = scratch(
        "threads-replay.toml",
        "schema_version = 1\nexpect = \"pass\"\nschedule = [\"0ms start\"]\n\
         [target]\nmodel = \"startup-window\"\nvariant = \"fixed\"\n[run]\nseed = 1\n",
    );
    for (arguments, file) in [
        (
            vec!["run", "scenarios/startup-window-fixed.toml"],
            "scenarios/startup-window-fixed.toml",
        ),
        (
            vec!["replay", fixed.to_str().unwrap()],
            fixed.to_str().unwrap(),
        ),
    ] {
        let output = lifecycle_sim(&[&arguments[..], &["--backend", "threads"]].concat());
        let error = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{arguments:?}: {error}");
        assert!(
            error.contains(&format!(
                "error: --backend threads: {file}: field `run.backend`: the threads backend \
                 runs a user's service; built-in models run in simulation"
            )),
            "{error}"
        );
        assert!(stdout(&output).is_empty(), "{}", stdout(&output));
    }
}

#[test]
fn a_seed_that_is_not_a_number_exits_2() {
    let output = command(&["run", "scenarios/startup-window-buggy.toml"])
        .env("LIFECYCLE_SEED", "banana")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("`banana` is not a seed"));
}

#[test]
fn run_skips_scenarios_that_need_a_registered_service() {
    let output = lifecycle_sim(&["run", "scenarios/service"]);
    // On stderr, so that a machine format on stdout stays clean.
    let text = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "{text}");
    let files = std::fs::read_dir("scenarios/service")
        .unwrap()
        .filter(|entry| {
            let path = entry.as_ref().unwrap().path();
            path.extension()
                .is_some_and(|extension| extension == "toml")
        })
        .count();
    assert!(files >= 7, "{files}");
    assert_eq!(
        text.matches("skip scenarios/service/").count(),
        files,
        "{text}"
    );
    assert!(text.contains("from a Suite"), "{text}");
}

#[test]
fn junit_output_is_xml_with_a_failure_carrying_the_seed() {
    let buggy = scratch("junit-buggy-expecting-pass.toml", &buggy_expecting_pass());
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("junit-out");
    let output = lifecycle_sim(&[
        "run",
        buggy.to_str().unwrap(),
        "scenarios/startup-window-fixed.toml",
        "--cases",
        "20",
        "--format",
        "junit",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(100), "{}", stdout(&output));
    let xml = std::fs::read_to_string(out.join("lifecycle-sim.xml")).expect("the JUnit file");
    let document = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let cases: Vec<_> = document
        .descendants()
        .filter(|node| node.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 2, "{xml}");
    let failures: Vec<_> = document
        .descendants()
        .filter(|node| node.has_tag_name("failure"))
        .collect();
    assert_eq!(failures.len(), 1, "{xml}");
    let message = failures[0].attribute("message").expect("a message");
    assert!(message.contains("seed 0x"), "{message}");
    assert!(message.contains("replay"), "{message}");
    let suite = document
        .descendants()
        .find(|node| node.has_tag_name("testsuite"))
        .expect("a test suite");
    assert_eq!(suite.attribute("failures"), Some("1"));
}

/// The JSON records of a run, without the wall times and the peak
/// resident set, which vary.
fn records(arguments: &[&str]) -> Vec<serde_json::Value> {
    let output = lifecycle_sim(arguments);
    assert!(output.status.code().is_some(), "{output:?}");
    stdout(&output)
        .lines()
        .map(|line| {
            let mut record: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            if let Some(object) = record.as_object_mut() {
                object.remove("wall_time_ms");
                object.remove("peak_rss_bytes");
            }
            record
        })
        .collect()
}

#[test]
fn a_scenario_record_reports_the_process_peak_resident_set() {
    let output = lifecycle_sim(&[
        "run",
        "scenarios/startup-window-fixed.toml",
        "--cases",
        "2",
        "--format",
        "json",
    ]);
    let text = stdout(&output);
    let record: serde_json::Value = serde_json::from_str(text.trim()).expect("one record");
    let peak = &record["peak_rss_bytes"];
    if cfg!(target_os = "linux") {
        // A process holds a megabyte at least: its code and its stacks.
        assert!(peak.as_u64().is_some_and(|bytes| bytes > 1 << 20), "{text}");
    } else {
        assert!(peak.is_null(), "{text}");
    }
}

#[test]
fn two_jobs_give_the_outcomes_and_case_counts_of_one() {
    let scenarios = [
        "scenarios/startup-window-buggy.toml",
        "scenarios/startup-window-fixed.toml",
        "scenarios/drain-hang-buggy.toml",
        "scenarios/stale-handle-buggy.toml",
    ];
    // Both runs save into one directory, so their records name the same files.
    let failures = failures_directory();
    let run = |jobs: &str| {
        let mut arguments = vec!["run"];
        arguments.extend(scenarios);
        arguments.extend([
            "--seed",
            "0x2024",
            "--cases",
            "60",
            "--format",
            "json",
            "--jobs",
            jobs,
            "--failures",
            failures.to_str().unwrap(),
        ]);
        records(&arguments)
    };
    let one = run("1");
    assert!(
        one.len() > scenarios.len(),
        "a failure record at least: {one:?}"
    );
    assert!(one
        .iter()
        .any(|record| record["record"] == "failure" && record["seed"].is_string()));
    assert_eq!(one, run("2"));
}

#[test]
fn bad_shards_and_jobs_exit_2() {
    for arguments in [
        [
            "run",
            "scenarios/startup-window-fixed.toml",
            "--shard",
            "5/4",
        ],
        [
            "run",
            "scenarios/startup-window-fixed.toml",
            "--shard",
            "0/4",
        ],
        ["run", "scenarios/startup-window-fixed.toml", "--jobs", "0"],
    ] {
        let output = lifecycle_sim(&arguments);
        assert_eq!(output.status.code(), Some(2), "{arguments:?}");
    }
}

#[test]
fn replay_draws_the_timeline_as_svg() {
    let file = scratch(
        "timeline.toml",
        "schema_version = 1\nexpect = \"pass\"\nschedule = [\"0ms start\", \"100ms request /\", \"300ms stop\"]\n\
         [target]\nmodel = \"drain-hang\"\nvariant = \"fixed\"\n[run]\nseed = \"0x7\"\n",
    );
    let picture = Path::new(env!("CARGO_TARGET_TMPDIR")).join("timeline.svg");
    let output = lifecycle_sim(&[
        "replay",
        file.to_str().unwrap(),
        "--timeline",
        picture.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let svg = std::fs::read_to_string(&picture).expect("the picture");
    let document = roxmltree::Document::parse(&svg).expect("well-formed XML");
    assert!(document.root_element().has_tag_name("svg"));
    let texts: Vec<&str> = document
        .descendants()
        .filter_map(|node| node.text())
        .collect();
    for lane in ["client", "server", "director"] {
        assert!(texts.contains(&lane), "no {lane} lane: {texts:?}");
    }
    assert!(
        texts.iter().any(|text| text.contains("SIGTERM")),
        "{texts:?}"
    );
}

#[test]
fn four_shards_run_together_exactly_the_cases_of_the_unsharded_run() {
    let run = |shard: Option<&str>| {
        let mut arguments = vec![
            "run",
            "scenarios/startup-window-fixed.toml",
            "--seed",
            "0x51",
            "--cases",
            "10",
            "--format",
            "json",
        ];
        if let Some(shard) = shard {
            arguments.extend(["--shard", shard]);
        }
        let records = records(&arguments);
        assert_eq!(records.len(), 1, "{records:?}");
        records[0]["cases_run"].as_u64().expect("a case count")
    };
    let shares: Vec<u64> = ["1/4", "2/4", "3/4", "4/4"]
        .into_iter()
        .map(|shard| run(Some(shard)))
        .collect();
    // Case i belongs to share i mod 4: cases 0..10 split 3, 3, 2, 2. (Which
    // seeds each share runs is tested on `Campaign::case_seeds`.)
    assert_eq!(shares, [3, 3, 2, 2]);
    assert_eq!(shares.iter().sum::<u64>(), run(None));
}

#[test]
fn the_seed_flag_wins_over_lifecycle_seed() {
    let output = command(&[
        "run",
        "scenarios/startup-window-fixed.toml",
        "--seed",
        "7",
        "--cases",
        "4",
        "--format",
        "json",
    ])
    .env("LIFECYCLE_SEED", "0x5")
    .output()
    .unwrap();
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    let record: serde_json::Value = serde_json::from_str(text.trim()).expect("one record");
    assert_eq!(record["seed"], "0x0000000000000007", "{text}");
    assert_eq!(record["cases_run"], 4, "{text}");

    // Without the flag, LIFECYCLE_SEED runs its one case.
    let output = command(&[
        "run",
        "scenarios/startup-window-fixed.toml",
        "--format",
        "json",
    ])
    .env("LIFECYCLE_SEED", "0x5")
    .output()
    .unwrap();
    let record: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(record["seed"], "0x0000000000000005");
    assert_eq!(record["cases_run"], 1);
}

#[test]
fn every_help_documents_the_exit_codes() {
    for arguments in [&["--help"][..], &["run", "--help"], &["replay", "--help"]] {
        let text = stdout(&lifecycle_sim(arguments));
        for line in [
            "Exit codes:",
            "  0    every expectation met",
            "  100  an expectation not met",
            "  2    bad input",
            "  130  interrupted",
        ] {
            assert!(text.contains(line), "{arguments:?} lacks {line:?}: {text}");
        }
    }
}

#[test]
fn a_single_case_is_reported_as_one_case() {
    let output = lifecycle_sim(&["run", "scenarios/startup-window-fixed.toml", "--cases", "1"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("passed 1 case;"), "{text}");
}

/// Waits for a child at most `limit`, killing it past that.
fn output_within(child: Child, limit: Duration) -> Output {
    let id = child.id();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    match receiver.recv_timeout(limit) {
        Ok(output) => output.expect("the binary ran"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &id.to_string()])
                .status();
            panic!("the command did not end within {limit:?}");
        }
    }
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_run_between_cases_and_reports_the_cases_run() {
    // A campaign far too long to finish: only the interrupt ends it. The
    // interrupt is sent once the first case has been logged as done (the
    // handler is installed before any case runs), not after a guessed delay.
    let mut child = command(&[
        "run",
        "scenarios/startup-window-fixed.toml",
        "--cases",
        "100000000",
        "--jobs",
        "1",
    ])
    .env("RUST_LOG", "lifecycle_sim::progress=debug")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("the binary runs");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (first_case, first_case_done) = std::sync::mpsc::channel();
    let errors = std::thread::spawn(move || {
        let mut errors = String::new();
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)) {
            let Ok(line) = line else { break };
            if line.contains("case done") {
                let _ = first_case.send(());
            }
            errors.push_str(&line);
            errors.push('\n');
        }
        errors
    });
    if first_case_done
        .recv_timeout(Duration::from_secs(60))
        .is_err()
    {
        let _ = child.kill();
        panic!("no case was logged as done within 60s");
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let output = output_within(child, Duration::from_secs(60));
    let text = stdout(&output);
    let errors = errors.join().expect("stderr is read");
    assert_eq!(output.status.code(), Some(130), "{text}{errors}");
    let summary = text
        .lines()
        .find(|line| line.contains("startup-window-fixed"))
        .unwrap_or_else(|| panic!("no summary: {text}"));
    assert!(summary.starts_with("INT "), "{summary}");
    assert!(summary.contains(" cases, interrupted;"), "{summary}");
    assert!(!summary.contains("passed 0 cases"), "{summary}");
    assert!(
        text.contains("interrupted (Ctrl-C): 1 of 1 scenario reported"),
        "{text}"
    );
    assert!(
        errors.contains("interrupted: finishing the cases running"),
        "{errors}"
    );
}

#[cfg(unix)]
#[test]
fn list_into_a_reader_that_stops_early_exits_0_without_a_panic() {
    // `lifecycle-sim list | head -1`: the reader is gone before the
    // command writes. A socket whose peer is closed refuses writes as such
    // a pipe does (EPIPE), and is ready before the command starts.
    let (reader, writer) = std::os::unix::net::UnixStream::pair().unwrap();
    drop(reader);
    let output = command(&["list"])
        .stdout(Stdio::from(std::os::fd::OwnedFd::from(writer)))
        .stderr(Stdio::piped())
        .output()
        .expect("the binary runs");
    let errors = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{errors}");
    assert!(!errors.contains("panicked"), "{errors}");
}

#[test]
fn the_readme_replay_excerpt_is_what_replay_prints_today() {
    // The README quotes a replay of the drain hang, trace hash included: it
    // must be this build's output, not an older release's.
    let readme = std::fs::read_to_string(repository().join("README.md")).unwrap();
    let start = readme
        .find("```text\nschedule:\n  0ms start\n  549ms")
        .expect("the README's replay excerpt");
    let excerpt = &readme[start + "```text\n".len()..];
    let excerpt = &excerpt[..excerpt.find("```").unwrap()];
    assert!(excerpt.contains("trace hash 0x"), "{excerpt}");

    let output = lifecycle_sim(&["run", "scenarios/drain-hang-buggy.toml"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    let saved = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("saved: "))
        .expect("the failure was saved");
    assert!(saved.contains("0x33887b121f70185c"), "{saved}");
    let replayed = stdout(&lifecycle_sim(&["replay", saved]));
    assert!(
        replayed.contains(excerpt),
        "README excerpt:\n{excerpt}\nreplay prints:\n{replayed}"
    );
}
