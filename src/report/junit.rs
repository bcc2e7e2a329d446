//! Reports as CI systems read them: a JUnit XML document, one test case per
//! scenario.

use std::fmt::Write;

use super::text::{failure, headline, summary};
use super::xml::escape;
use crate::case::seed::render_seed;
use crate::harness::check::{replay_commands, Checked};
use crate::harness::printable::printable;
use crate::harness::scenario::Scenario;

/// The results as a JUnit XML document: one test case per scenario, a
/// failure (with the seed and the replay commands) for each unmet one.
pub fn junit(results: &[(&Scenario, &Checked)]) -> String {
    let failures = results.iter().filter(|(_, checked)| !checked.met).count();
    let seconds: f64 = results
        .iter()
        .map(|(_, checked)| checked.report.wall_time.as_secs_f64())
        .sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites tests=\"{}\" failures=\"{failures}\" time=\"{seconds:.3}\">",
        results.len()
    );
    let _ = writeln!(
        xml,
        "  <testsuite name=\"lifecycle-sim\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{seconds:.3}\">",
        results.len()
    );
    for (scenario, checked) in results {
        let _ = write!(
            xml,
            "    <testcase name=\"{}\" classname=\"lifecycle-sim.{}\" file=\"{}\" time=\"{:.3}\"",
            escape(&printable(&scenario.name)),
            escape(&printable(&scenario.campaign.setup.target.to_string())),
            escape(&printable(&scenario.path.display().to_string())),
            checked.report.wall_time.as_secs_f64()
        );
        if checked.met {
            xml.push_str("/>\n");
            continue;
        }
        let message = match &checked.report.failure {
            Some(failure) => format!(
                "{}: {} (seed {}); replay: {}",
                summary(scenario, checked),
                headline(&failure.run.verdict),
                render_seed(failure.seed),
                replay_commands(scenario, failure.seed, checked.saved.as_deref()).join(" | ")
            ),
            None => summary(scenario, checked),
        };
        let body = match &checked.report.failure {
            Some(found) => failure(scenario, checked, found),
            None => String::new(),
        };
        let _ = writeln!(
            xml,
            ">\n      <failure message=\"{}\" type=\"lifecycle-sim\">{}</failure>\n    </testcase>",
            escape(&printable(&message)),
            escape(&printable_lines(&body))
        );
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

/// A multi-line text with control characters escaped except the newlines
/// that separate its lines (each line was made printable on its own).
fn printable_lines(text: &str) -> String {
    text.split('\n')
        .map(|line| printable(line).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}
