//! The `lifecycle-sim` command as a user runs it: one line per scenario, exit
//! codes 0 (met), 100 (not met) and 2 (bad input), and replays of saved files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lifecycle_sim(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lifecycle-sim"))
        .args(arguments)
        .current_dir(repository())
        .env_remove("LIFECYCLE_SEED")
        .env_remove("LIFECYCLE_CASES")
        .output()
        .expect("the binary runs")
}

fn scratch(name: &str, text: &str) -> PathBuf {
    let directory = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&directory).unwrap();
    let file = directory.join(name);
    std::fs::write(&file, text).unwrap();
    file
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn run_reports_the_buggy_race_found_and_the_fix_passing() {
    let failures = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-failures");
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
    let text = std::fs::read_to_string(repository().join("scenarios/startup-window-buggy.toml"))
        .unwrap()
        .replace(
            "expect = \"served-before-initialised\"",
            "expect = \"pass\"",
        );
    let file = scratch("buggy-expecting-pass.toml", &text);
    let output = lifecycle_sim(&["run", file.to_str().unwrap()]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(100), "{text}");
    assert!(text.contains("FAIL"), "{text}");
    assert!(text.contains("LIFECYCLE_SEED=0x"), "{text}");
    assert!(text.contains("replay"), "{text}");
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
fn a_seed_that_is_not_a_number_exits_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_lifecycle-sim"))
        .args(["run", "scenarios/startup-window-buggy.toml"])
        .current_dir(repository())
        .env("LIFECYCLE_SEED", "banana")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("`banana` is not a seed"));
}

#[test]
fn run_skips_scenarios_that_need_a_registered_service() {
    let output = lifecycle_sim(&["run", "scenarios/service"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert_eq!(text.matches("skip scenarios/service/").count(), 5, "{text}");
    assert!(text.contains("from a Suite"), "{text}");
}
