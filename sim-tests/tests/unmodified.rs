//! Unmodified user code stays deterministic and bounded: a service that
//! reads std's clocks, draws OS randomness, blocks its thread or runs away
//! with memory is judged, replays, and never hangs the harness.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use lifecycle_sim::{
    compare_runs, trace_hash, Case, Determinism, Divergence, Scenario, Service, Verdict,
};
use rand::Rng;

/// A small campaign: requests with keep-alive, then a graceful stop.
const SCENARIO: &str = r#"
schema_version = 1
description = "requests a service answers from clocks and randomness"
expect = "pass"
oracles = ["drain-deadline", "request-cut", "accepted-request-failed"]

[target]
service = "*"

[run]
cases = 1000
seed = "0x0c10c4"

[generate]
horizon = "1s"
requests_max = 4
keep_max = "100ms"
stop = true
"#;

fn scenario(service: &Service) -> Scenario {
    Scenario::parse_with(
        Path::new("unmodified.toml"),
        SCENARIO,
        std::slice::from_ref(service),
    )
    .unwrap_or_else(|error| panic!("{error}"))
}

/// What the unruly service answers with, and after how long: decided by a
/// `HashMap`'s order, `rand::rng()`, `Instant::now()` and `SystemTime::now()`.
fn decide() -> (StatusCode, Duration) {
    let map: HashMap<&str, u8> = ["a", "b", "c", "d", "e", "f", "g", "h"]
        .into_iter()
        .zip(0..)
        .collect();
    let mut seen = String::new();
    for key in map.keys() {
        seen.push_str(key);
    }
    let drawn: u64 = rand::rng().random();
    let wall = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after the epoch")
        .as_nanos();
    let _ = write!(seen, "{drawn} {:?} {wall}", Instant::now());
    let hash = seen.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    let status = if hash & 1 == 0 {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    (status, Duration::from_millis(hash % 40))
}

/// A hyper service named `name` that answers every request to `/` with
/// what `answer` gives; its drain deadline is 10 s.
fn answering<F, A>(name: &str, answer: F) -> Service
where
    F: Fn() -> A + Copy + Send + Sync + 'static,
    A: Future<Output = Response<Full<Bytes>>> + 'static,
{
    Service::hyper(name, move || {
        hyper::service::service_fn(move |_: Request<hyper::body::Incoming>| async move {
            Ok::<_, Infallible>(answer().await)
        })
    })
    .paths(&["/"])
    .drain_deadline(Duration::from_secs(10))
}

/// A hyper service that answers from clocks and randomness.
fn unruly() -> Service {
    answering("unruly", || async {
        let (status, delay) = decide();
        tokio::time::sleep(delay).await;
        let mut response = Response::new(Full::new(Bytes::from_static(b"decided")));
        *response.status_mut() = status;
        response
    })
}

/// The trace hashes of the scenario's first `count` cases, run on `jobs`
/// threads (each case still on a thread of its own).
fn hashes(scenario: &Scenario, count: u64, jobs: u64) -> Vec<u64> {
    let campaign = &scenario.campaign;
    let run = |seed: u64| {
        let case = Case {
            seed,
            schedule: campaign.schedule(seed),
        };
        trace_hash(&campaign.run_case(&case).events)
    };
    let seeds: Vec<u64> = (0..count).collect();
    let share = seeds
        .len()
        .div_ceil(usize::try_from(jobs).expect("a few jobs"));
    std::thread::scope(|scope| {
        let workers: Vec<_> = seeds
            .chunks(share)
            .map(|chunk| {
                scope.spawn(move || chunk.iter().map(|&seed| run(seed)).collect::<Vec<_>>())
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("the worker ran"))
            .collect()
    })
}

#[test]
fn clocks_and_randomness_replay_on_one_thread_and_across_threads() {
    let scenario = scenario(&unruly());
    let one = hashes(&scenario, 1_000, 1);
    let across = hashes(&scenario, 1_000, 3);
    assert_eq!(one.len(), 1_000);
    for (seed, (first, second)) in one.iter().zip(&across).enumerate() {
        assert_eq!(first, second, "seed {seed} did not replay");
    }
    // The decisions really vary with the seed: the check above is not vacuous.
    let mut distinct = one.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(distinct.len() > 900, "{} distinct traces", distinct.len());
}

#[test]
fn without_interception_the_same_service_does_not_replay_and_the_cause_is_named() {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) {
        return;
    }
    let mut scenario = scenario(&unruly());
    scenario.campaign.setup.limits.intercept = false;
    let campaign = &scenario.campaign;
    // A case with requests: the first seeds that differ in their trace.
    let diverged = (0..20_u64).find_map(|seed| {
        let case = Case {
            seed,
            schedule: campaign.schedule(seed),
        };
        let first = campaign.run_case(&case);
        match compare_runs(&first, &campaign.run_case(&case)) {
            Determinism::Diverged { cause, .. } => Some((first, cause)),
            _ => None,
        }
    });
    let (first, cause) = diverged.expect("some case of 20 diverges without interception");
    assert!(!first.reads.simulated);
    assert!(
        first.reads.clock > 0 && first.reads.randomness > 0,
        "{:?}",
        first.reads
    );
    assert_eq!(cause, Divergence::Uncontrolled(first.reads));
    assert!(
        cause.to_string().contains("run.intercept = false"),
        "{cause}"
    );
}

/// A service whose `/` blocks its thread for a minute.
fn sleeper() -> Service {
    answering("sleeper", || async {
        std::thread::sleep(Duration::from_secs(60));
        Response::new(Full::new(Bytes::from_static(b"late")))
    })
}

#[test]
fn a_blocking_handler_is_judged_blocked_within_its_bound() {
    let scenario = sim_tests::shipped("drain", &sleeper());
    let started = Instant::now();
    let checked = lifecycle_sim::check::judge(&scenario);
    let spent = started.elapsed();
    let failure = checked
        .report
        .failure
        .as_ref()
        .expect("the blocked case is found");
    let Verdict::Blocked(blocked) = &failure.run.verdict else {
        panic!("expected blocked, got {}", failure.run.verdict);
    };
    assert_eq!(blocked.host, "server");
    assert!(blocked.wall_time >= Duration::from_secs(2), "{blocked}");
    assert!(blocked.last_event.is_some(), "{blocked}");
    assert_eq!(failure.determinism, Determinism::Unchecked);
    assert!(!checked.met);
    // The bound (2 s) plus the watchdog's poll, once: not run again, not shrunk.
    assert!(spent < Duration::from_secs(30), "took {spent:?}");
    let report = lifecycle_sim::report::failure(&scenario, &checked, failure);
    assert!(report.contains("blocked"), "{report}");
}

/// A service whose `/` allocates 2 GiB (zeroed, so the pages are never
/// touched) and holds it while it answers.
fn hoarder() -> Service {
    answering("hoarder", || async {
        let hoard = vec![0_u8; 2 << 30];
        tokio::time::sleep(Duration::from_millis(5)).await;
        Response::new(Full::new(Bytes::copy_from_slice(&hoard[..4])))
    })
}

#[test]
fn a_runaway_allocation_is_judged_under_memory_max_with_its_seed() {
    let scenario = sim_tests::shipped("drain", &hoarder());
    let checked = lifecycle_sim::check::judge(&scenario);
    let failure = checked
        .report
        .failure
        .as_ref()
        .expect("the hoarding case is found");
    let Verdict::Memory(memory) = &failure.run.verdict else {
        panic!("expected memory-max, got {}", failure.run.verdict);
    };
    assert!(memory.bytes >= 2 << 30, "{memory}");
    assert_eq!(memory.limit_bytes, lifecycle_sim::MEMORY_MAX_DEFAULT);
    assert!(matches!(failure.determinism, Determinism::Identical(_)));
    let report = lifecycle_sim::report::failure(&scenario, &checked, failure);
    assert!(report.contains("memory-max"), "{report}");
    assert!(
        report.contains(&format!("{:#018x}", failure.seed)),
        "{report}"
    );
}

/// Set in the child process that runs the spinning service.
const SPIN_CHILD: &str = "LIFECYCLE_SIM_SPIN_CHILD";

/// A service whose `/` never returns to its runtime: a busy loop.
fn spinner() -> Service {
    answering("spinner", || async {
        let mut turns = 0_u64;
        loop {
            turns = std::hint::black_box(turns.wrapping_add(1));
        }
    })
}

/// Runs in a child process only (see the test below): checks the spinning
/// service as a user's test would, and fails with the report, leaving its
/// spinning thread to end with the process.
#[test]
#[ignore = "run by a_spinning_handler_ends_the_process_with_a_report_and_an_exit_code"]
fn spinning_child() {
    if std::env::var_os(SPIN_CHILD).is_none() {
        return;
    }
    let scenario = sim_tests::shipped("drain", &spinner());
    let checked = lifecycle_sim::check::judge(&scenario);
    let failure = checked.report.failure.as_ref().expect("a failure");
    panic!(
        "{}",
        lifecycle_sim::report::failure(&scenario, &checked, failure)
    );
}

#[test]
fn a_spinning_handler_ends_the_process_with_a_report_and_an_exit_code() {
    let mut child = std::process::Command::new(std::env::current_exe().expect("this binary"))
        .args([
            "unmodified::spinning_child",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(SPIN_CHILD, "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the child starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child is there") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("the child hung past 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = child.wait_with_output().expect("the child's output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!status.success(), "{text}");
    assert!(text.contains("a step on server at"), "{text}");
    assert!(text.contains("replays:   not checked"), "{text}");
}
