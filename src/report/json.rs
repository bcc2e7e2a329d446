//! Reports as machines read them: JSON lines, one record per scenario and
//! one per failure.

use crate::case::seed::render_seed;
use crate::case::verdict::Verdict;
use crate::harness::campaign::{Cases, Completion, Determinism};
use crate::harness::check::{replay_commands, Checked};
use crate::harness::scenario::{Expect, Scenario};

/// A scenario's result as JSON lines: one record for the scenario, and one
/// for its failure if it has one, each with the seed and the replay commands.
pub fn json_lines(scenario: &Scenario, checked: &Checked) -> Vec<String> {
    let report = &checked.report;
    let expected = match scenario.expect {
        Expect::Pass => "pass".to_string(),
        Expect::Violation(invariant) => invariant.name().to_string(),
    };
    let outcome = report
        .failure
        .as_ref()
        .map_or(Verdict::Pass.kind(), |failure| failure.run.verdict.kind());
    // The base seed of a generated campaign; the one case's seed otherwise.
    let seed = match &scenario.campaign.cases {
        Cases::Generated { base_seed, .. } => *base_seed,
        Cases::Seed(seed) => *seed,
        Cases::Fixed(case) => case.seed,
    };
    let mut lines = vec![serde_json::json!({
        "record": "scenario",
        "seed": render_seed(seed),
        "name": scenario.name,
        "file": scenario.path.display().to_string(),
        "target": scenario.campaign.setup.target.to_string(),
        "expected": expected,
        "outcome": outcome,
        "cases_run": report.cases_run,
        "interrupted": report.completion == Completion::Interrupted,
        "wall_time_ms": report.wall_time.as_millis() as u64,
        "met": checked.met,
        "peak_rss_bytes": checked.peak_rss_bytes,
    })
    .to_string()];
    if let Some(failure) = &report.failure {
        let (invariant, reason) = match &failure.run.verdict {
            Verdict::Violation(violation) => {
                (Some(violation.invariant.name()), violation.reason.clone())
            }
            other => (None, other.to_string()),
        };
        lines.push(
            serde_json::json!({
                "record": "failure",
                "scenario": scenario.name,
                "seed": render_seed(failure.seed),
                "invariant": invariant,
                "reason": reason,
                "schedule": failure.shrunk.lines(),
                "replays_identically": matches!(failure.determinism, Determinism::Identical(_)),
                "replay_checked": !matches!(failure.determinism, Determinism::Unchecked),
                "divergence_cause": match &failure.determinism {
                    Determinism::Diverged { cause, .. } => Some(cause.to_string()),
                    _ => None,
                },
                "backend": scenario.campaign.setup.backend.name(),
                "failed_runs": match &failure.determinism {
                    Determinism::Repeated { failed, runs } => {
                        Some(serde_json::json!({ "failed": failed, "runs": runs }))
                    }
                    _ => None,
                },
                "saved": checked.saved.as_ref().map(|saved| saved.display().to_string()),
                "replay": replay_commands(scenario, failure.seed, checked.saved.as_deref()),
            })
            .to_string(),
        );
    }
    lines
}
