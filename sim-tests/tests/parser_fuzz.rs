//! The scenario parser against 10,000+ mutated files: never a panic, never a
//! hang, and every error is one line naming the file, with no raw control
//! character. The mutants include untrusted-input shapes: escaping names,
//! budgets of nothing, schedules out of order or too long, files too large.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lifecycle_sim::{Scenario, Service};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sim_tests::scenarios_directory;

/// Mutants per seed file; with every shipped scenario, well over 10,000.
const MUTANTS_PER_FILE: usize = 500;
/// The longest one parse may take.
const PARSE_MAX: Duration = Duration::from_secs(1);

const GARBAGE: [&str; 29] = [
    "[target]",
    "[[run]]",
    "= =",
    "\"unterminated",
    "cases = 18446744073709551615",
    "cases = -1",
    "horizon = \"99999999999999d\"",
    "tick = \"0ms\"",
    "seed = 1.5e308",
    "service = \"*\"",
    "model = 7",
    "schedule = [\"0ms start\", 3]",
    "paths = [\"no-slash\"]",
    "é✓\u{0}",
    // Untrusted input: names that could escape or garble, budgets of
    // nothing, out-of-range backlogs, schedules out of order.
    "name = \"../../escaped-x\"",
    "name = \"/tmp/ABSOLUTE-ESCAPE\"",
    "name = \"evil\\nname\\u001b[31m\"",
    "name = \"nul\\u0000\"",
    "name = \"..\"",
    "name = \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"",
    "cases = 0",
    "backlog = 0",
    "backlog = 99999999999",
    "backlog = 64",
    "schedule = [\"400ms start\", \"0ms request /\"]",
    "schedule = [\"0ms start\", \"1ms request /\", \"1ms request /\"]",
    "description = \"evil\\u001b]0;title\\u0007\"",
    "service = \"../svc\"",
    "oracles = [\"evil\\n\"]",
];

/// Mutants in every this many that are grown past a limit: a schedule of
/// more steps than a fixed one may hold, or a file over the size limit.
const OVERSIZED_EVERY: usize = 400;

/// A mutant grown past one of the input limits.
fn oversized(text: &str, rng: &mut StdRng) -> String {
    if rng.random_bool(0.5) {
        let steps = "\"1ms request /\",".repeat(lifecycle_sim::SCHEDULE_STEPS_MAX + 1);
        format!("schedule = [{steps}]\n{text}")
    } else {
        let padding = "x".repeat(lifecycle_sim::SCENARIO_BYTES_MAX);
        format!("{text}\n# {padding}\n")
    }
}

fn mutate(text: &str, rng: &mut StdRng) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for _ in 0..rng.random_range(1..4) {
        let at = rng.random_range(0..=lines.len());
        match rng.random_range(0..7) {
            0 if at < lines.len() => {
                lines.remove(at);
            }
            1 if at < lines.len() => {
                let line = lines[at].clone();
                lines.insert(at, line);
            }
            2 if lines.len() > 1 => {
                let other = rng.random_range(0..lines.len());
                let at = at.min(lines.len() - 1);
                lines.swap(at, other);
            }
            3 => lines.insert(at, GARBAGE[rng.random_range(0..GARBAGE.len())].to_string()),
            4 if at < lines.len() => {
                // Replace a value by another type or an extreme.
                if let Some((key, _)) = lines[at].split_once('=') {
                    let value = ["\"\"", "[]", "true", "0", "-5", "\"1 sec\"", "{}", "\"0x\""]
                        [rng.random_range(0..8)];
                    lines[at] = format!("{key}= {value}");
                }
            }
            5 if at < lines.len() => {
                let line = &lines[at];
                let cut: Vec<char> = line.chars().collect();
                let keep = rng.random_range(0..=cut.len());
                lines[at] = cut[..keep].iter().collect();
            }
            _ => {
                let bytes: String = (0..rng.random_range(1..8))
                    .map(|_| char::from(rng.random_range(0x20_u8..0x7f)))
                    .collect();
                lines.insert(at, bytes);
            }
        }
    }
    lines.join("\n")
}

#[test]
fn ten_thousand_mutated_files_never_panic_hang_or_give_a_vague_error() {
    let mut files: Vec<PathBuf> =
        Scenario::files(&[scenarios_directory()]).expect("the scenarios directory");
    files.sort();
    let service = Service::new("svc", |launch| async move {
        let _listener = launch.bind().await?;
        launch.shutdown().await;
        Ok(())
    });
    let mut rng = StdRng::seed_from_u64(0xf022);
    let (mut parsed, mut rejected, mut oversize) = (0_usize, 0_usize, 0_usize);
    let started = Instant::now();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a readable scenario");
        for index in 0..MUTANTS_PER_FILE {
            let mut mutant = mutate(&text, &mut rng);
            if index % OVERSIZED_EVERY == OVERSIZED_EVERY - 1 {
                mutant = oversized(&mutant, &mut rng);
                oversize += 1;
            }
            let path = Path::new("mutant.toml");
            let begun = Instant::now();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                Scenario::parse_with(path, &mutant, std::slice::from_ref(&service))
            }))
            .unwrap_or_else(|_| {
                panic!(
                    "the parser panicked on mutant {index} of {}:\n{mutant}",
                    file.display()
                )
            });
            assert!(
                begun.elapsed() < PARSE_MAX,
                "a parse took {:?}:\n{mutant}",
                begun.elapsed()
            );
            match result {
                Ok(_) => parsed += 1,
                Err(error) => {
                    let line = error.to_string();
                    assert!(!line.contains('\n'), "a multi-line error: {line}\n{mutant}");
                    assert!(
                        !line.contains(char::is_control),
                        "a raw control character in: {line:?}"
                    );
                    assert!(
                        line.starts_with("mutant.toml"),
                        "an error not naming the file: {line}"
                    );
                    rejected += 1;
                }
            }
        }
    }
    let total = parsed + rejected;
    assert!(total >= 10_000, "only {total} mutants");
    // Both sides are exercised: some mutants stay valid, most do not.
    assert!(
        parsed > 0 && rejected > 0,
        "{parsed} parsed, {rejected} rejected"
    );
    assert!(oversize > 0);
    println!(
        "{total} mutants ({oversize} past a size limit): {parsed} parsed, {rejected} rejected, in {:.2}s",
        started.elapsed().as_secs_f64()
    );
}
