//! Reports as people read them: one line per scenario, and for a failure the
//! seed, the broken invariant in a sentence, the shrunk schedule, the timeline
//! around the violation, and the commands that replay it.
//!
//! Everything shown that came from input (a name, a path, a panic's
//! message, a reason quoting a response) goes through
//! [`printable`](crate::printable()): a report never carries a raw control
//! character, so an input cannot forge a line or drive the terminal. JSON
//! escapes them itself; JUnit's XML gets the escaped text.

use std::fmt::Write;

use crate::case::seed::render_seed;
use crate::case::trace::Event;
use crate::case::verdict::Verdict;
use crate::harness::campaign::{Completion, Determinism, Failure};
use crate::harness::check::{replay_commands, Checked};
use crate::harness::printable::printable;
use crate::harness::scenario::{Expect, Scenario};

/// Timeline lines shown before the violating event in a report.
const TIMELINE_BEFORE: usize = 40;
/// Timeline lines shown after it.
const TIMELINE_AFTER: usize = 10;

/// One line: the scenario, what it found, and whether that was expected.
/// An interrupted campaign that found nothing is marked `INT`: it neither
/// met nor broke its expectation.
pub fn summary(scenario: &Scenario, checked: &Checked) -> String {
    let report = &checked.report;
    let interrupted = report.completion == Completion::Interrupted;
    let mark = match (checked.met, interrupted && report.failure.is_none()) {
        (true, _) => "ok  ",
        (false, true) => "INT ",
        (false, false) => "FAIL",
    };
    let cut = if interrupted { ", interrupted" } else { "" };
    let found = match &report.failure {
        None => format!("passed {}{cut}", count(report.cases_run, "case")),
        Some(failure) => format!(
            "{} after {} (seed {}){cut}",
            headline(&failure.run.verdict),
            count(report.cases_run, "case"),
            render_seed(failure.seed),
        ),
    };
    let expected = match scenario.expect {
        Expect::Pass => "expected pass".to_string(),
        Expect::Violation(invariant) => format!("expected {invariant}"),
    };
    format!(
        "{mark} {:<28} {found}; {expected} [{:.2}s]",
        printable(&scenario.name),
        report.wall_time.as_secs_f64()
    )
}

/// A count and its noun, singular for one: `1 case`, `2 cases`.
pub fn count(number: u64, noun: &str) -> String {
    if number == 1 {
        format!("1 {noun}")
    } else {
        format!("{number} {noun}s")
    }
}

/// The process's peak resident set when a scenario's campaign ended, as
/// reports say it: `peak RSS 45 MiB (the process's, so far)`. The process's,
/// not the campaign's: scenarios run one after another in it, and a peak
/// only grows. `None` where the operating system does not say.
pub fn peak_rss(checked: &Checked) -> Option<String> {
    const MIB: u64 = 1 << 20;
    checked.peak_rss_bytes.map(|bytes| {
        let mebibytes = bytes.saturating_add(MIB / 2) / MIB;
        format!("peak RSS {mebibytes} MiB (the process's, so far)")
    })
}

/// A verdict in a few words.
pub fn headline(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Pass => "pass".into(),
        Verdict::Violation(violation) => format!("found {}", violation.invariant),
        Verdict::Bounded(bound) => format!("inconclusive ({bound})"),
        Verdict::Crashed(message) => format!("crashed ({})", printable(message)),
        Verdict::Blocked(blocked) => format!("blocked ({})", printable(&blocked.to_string())),
        Verdict::Memory(memory) => format!("memory-max ({memory})"),
    }
}

/// The full report of a failure.
pub fn failure(scenario: &Scenario, checked: &Checked, failure: &Failure) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}: {}",
        printable(&scenario.name),
        headline(&failure.run.verdict)
    );
    let _ = writeln!(text, "  seed:      {}", render_seed(failure.seed));
    match &failure.run.verdict {
        Verdict::Violation(violation) => {
            let _ = writeln!(
                text,
                "  invariant: {} — {}",
                violation.invariant,
                violation.invariant.description()
            );
            let _ = writeln!(
                text,
                "  broken:    at {}ms: {}",
                violation.at.as_millis(),
                printable(&violation.reason)
            );
        }
        other => {
            let _ = writeln!(text, "  verdict:   {}", printable(&other.to_string()));
        }
    }
    let _ = writeln!(
        text,
        "  schedule:  {} steps, shrunk from {} in {} runs:",
        failure.shrunk.steps().len(),
        failure.original.steps().len(),
        failure.shrink_runs
    );
    for line in failure.shrunk.lines() {
        let _ = writeln!(text, "    {}", printable(&line));
    }
    let _ = writeln!(text, "  timeline:");
    text.push_str(&timeline(&failure.run.events, &failure.run.verdict, "    "));
    match &failure.determinism {
        Determinism::Identical(hash) => {
            let _ = writeln!(text, "  replays:   identically (trace hash {hash:#018x})");
        }
        Determinism::Diverged {
            index,
            first,
            second,
            cause,
        } => {
            let show = |line: &Option<String>| {
                printable(line.as_deref().unwrap_or("(no event)")).into_owned()
            };
            let _ = writeln!(
                text,
                "  NONDETERMINISM: two runs of this seed differ at event #{index}:"
            );
            let _ = writeln!(text, "    first:  {}", show(first));
            let _ = writeln!(text, "    second: {}", show(second));
            let _ = writeln!(text, "    cause:  {}", printable(&cause.to_string()));
        }
        Determinism::Unchecked => {
            let _ = writeln!(
                text,
                "  replays:   not checked: a blocked case runs again only with --rerun-blocked \
                 (Options::rerun_blocked)"
            );
        }
        Determinism::Repeated { failed, runs } => {
            let _ = writeln!(
                text,
                "  replays:   found under real threads, fails {failed} of {runs} runs of this \
                 schedule (the operating system's scheduler is in every run: a seed does not \
                 replay exactly here)"
            );
        }
    }
    if let Some(peak) = peak_rss(checked) {
        let _ = writeln!(text, "  memory:    {peak}");
    }
    let _ = writeln!(text, "  replay:");
    let saved = checked.saved.as_deref();
    for command in replay_commands(scenario, failure.seed, saved) {
        let _ = writeln!(text, "    {}", printable(&command));
    }
    if let Some(error) = &checked.save_error {
        let _ = writeln!(text, "    (not saved: {})", printable(error));
    }
    if matches!(
        scenario.replay,
        crate::harness::scenario::Replay::Test { .. }
    ) {
        let _ = writeln!(
            text,
            "    (build as this run did: the same features; commit the saved file to keep it)"
        );
    }
    text
}

/// The trace as a timeline, the violating event marked, cut to the part
/// around it.
pub fn timeline(events: &[Event], verdict: &Verdict, indent: &str) -> String {
    let marked = match verdict {
        Verdict::Violation(violation) => Some(violation.event),
        _ => None,
    };
    let focus = marked.unwrap_or(events.len().saturating_sub(1));
    let first = focus.saturating_sub(TIMELINE_BEFORE);
    let last = (focus + TIMELINE_AFTER).min(events.len().saturating_sub(1));
    let mut text = String::new();
    if first > 0 {
        let _ = writeln!(text, "{indent}   … {first} earlier events");
    }
    for (index, event) in events.iter().enumerate().take(last + 1).skip(first) {
        let mark = if Some(index) == marked { ">>" } else { "  " };
        let _ = writeln!(text, "{indent}{mark} {}", printable(&event.to_string()));
    }
    if last + 1 < events.len() {
        let _ = writeln!(
            text,
            "{indent}   … {} later events",
            events.len() - last - 1
        );
    }
    text
}
