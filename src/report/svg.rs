//! A run's timeline as an SVG picture: one lane per host, the service's
//! phases as bars, each request as a bar on its client's lane with an arrow
//! to the server when the server read it, signals as marks, and the
//! violation as a red line with its reason.
//!
//! The picture is plain SVG 1.1 with no scripts or external references, so a
//! browser, an image viewer or a CI artefact page shows it as it is.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use super::xml::escape;
use crate::case::trace::{Event, EventKind, Milestone, Outcome};
use crate::case::verdict::Verdict;

/// Width of the host labels at the left, in pixels.
const LABEL_WIDTH_PX: f64 = 110.0;
/// Width of the time axis, in pixels.
const PLOT_WIDTH_PX: f64 = 960.0;
/// Space at the right for the labels of the last events, in pixels.
const RIGHT_PX: f64 = 190.0;
/// Height of one host's lane at least, in pixels: a lane with many
/// overlapping requests grows a row for each.
const LANE_HEIGHT_PX: f64 = 56.0;
/// Height of one row of requests, in pixels.
const ROW_HEIGHT_PX: f64 = 10.0;
/// Rows of requests in one lane at most; past it, labels may overprint.
const ROWS_MAX: usize = 16;
/// Width of one character of a request's label (9 px text), in pixels.
const LABEL_CHAR_PX: f64 = 5.2;
/// Height of one row of step labels, in pixels.
const STEP_ROW_HEIGHT_PX: f64 = 13.0;
/// Width of one character of a step's label (11 px text), in pixels.
const STEP_CHAR_PX: f64 = 6.2;
/// Space above the lanes (title, axis), in pixels.
const TOP_PX: f64 = 56.0;
/// Requests drawn at most, so a long trace stays a picture.
const REQUESTS_MAX: usize = 200;
/// Characters of the violation's reason per line of text.
const REASON_LINE_CHARS: usize = 190;

/// A phase of a service process, as drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Starting,
    Serving,
    Draining,
}

impl Phase {
    fn colour(self) -> &'static str {
        match self {
            Phase::Starting => "#f4d58d",
            Phase::Serving => "#9fd5a5",
            Phase::Draining => "#f2a65a",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Serving => "serving",
            Phase::Draining => "draining",
        }
    }
}

/// One request, as its client saw it.
struct Request {
    host: String,
    path: String,
    sent: Duration,
    read: Option<(String, Duration)>,
    outcome: Option<(Outcome, Duration)>,
}

/// Renders the timeline of `events`, titled `title`, marking the verdict's violation.
pub fn render(events: &[Event], verdict: &Verdict, title: &str) -> String {
    let end = events
        .last()
        .map_or(Duration::from_millis(1), |event| event.at)
        .max(Duration::from_millis(1));
    let lanes = lanes(events);
    let lane_of = |host: &str| lanes.iter().position(|lane| lane == host).unwrap_or(0);
    // The axis ends with the last event. A time past it (a drain deadline
    // judged seconds after the trace went quiet) is drawn at the axis's
    // end, where its label gives its time, rather than off the canvas.
    let x = |at: Duration| {
        LABEL_WIDTH_PX + (at.as_secs_f64() / end.as_secs_f64()).min(1.0) * PLOT_WIDTH_PX
    };
    let requests: Vec<Request> = requests(events).into_iter().take(REQUESTS_MAX).collect();
    let (rows, request_rows_used) = pack(requests.iter().map(|request| {
        let left = x(request.sent);
        let right = x(request.outcome.as_ref().map_or(end, |(_, at)| *at)).max(left + 2.0)
            + 4.0
            + label(request).chars().count() as f64 * LABEL_CHAR_PX;
        (request.host.as_str(), left, right)
    }));
    let steps: Vec<(&Event, String)> = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::Step(action) => Some((event, action.to_string())),
            _ => None,
        })
        .collect();
    let (step_rows, step_rows_used) = pack(steps.iter().map(|(event, text)| {
        let left = x(event.at);
        (
            &*event.host,
            left,
            left + 8.0 + text.chars().count() as f64 * STEP_CHAR_PX,
        )
    }));
    // Each lane is as tall as its rows of requests need; `tops` ends with
    // the bottom of the last lane.
    let mut tops = vec![TOP_PX];
    for (index, lane) in lanes.iter().enumerate() {
        let used = |rows_used: &BTreeMap<&str, usize>| {
            rows_used.get(lane.as_str()).copied().unwrap_or(0) as f64
        };
        let height = LANE_HEIGHT_PX
            .max(28.0 + used(&request_rows_used) * ROW_HEIGHT_PX)
            .max(20.0 + used(&step_rows_used) * STEP_ROW_HEIGHT_PX);
        tops.push(tops[index] + height);
    }
    let y = |lane: usize| tops[lane.min(tops.len() - 1)];
    let lane_height = |lane: usize| {
        tops.get(lane + 1)
            .map_or(LANE_HEIGHT_PX, |next| next - tops[lane])
    };
    let reason_lines = match verdict {
        Verdict::Pass => vec![format!("verdict: {verdict}")],
        _ => wrap(&format!("{verdict}"), REASON_LINE_CHARS),
    };
    let height = y(lanes.len()) + 60.0 + reason_lines.len() as f64 * 16.0;
    let width = LABEL_WIDTH_PX + PLOT_WIDTH_PX + RIGHT_PX;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="Helvetica, Arial, sans-serif" font-size="11">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="10" y="20" font-size="14" font-weight="bold">{}</text>"#,
        escape(title)
    );
    axis(&mut svg, end, &x);
    for (index, lane) in lanes.iter().enumerate() {
        let top = y(index);
        let height = lane_height(index);
        let fill = if index % 2 == 0 { "#f7f7f7" } else { "#ffffff" };
        let _ = writeln!(
            svg,
            r#"<rect x="0" y="{top:.1}" width="{width:.0}" height="{height:.1}" fill="{fill}"/><text x="10" y="{:.1}" font-weight="bold">{}</text>"#,
            top + height / 2.0 + 4.0,
            escape(lane)
        );
    }
    for (host, start, stop, phase) in phases(events, end) {
        let top = y(lane_of(&host)) + 6.0;
        let (left, right) = (x(start), x(stop).max(x(start) + 1.0));
        let _ = writeln!(
            svg,
            r#"<rect x="{left:.1}" y="{top:.1}" width="{:.1}" height="12" fill="{}"><title>{} {}: {}ms to {}ms</title></rect>"#,
            right - left,
            phase.colour(),
            escape(&host),
            phase.name(),
            start.as_millis(),
            stop.as_millis()
        );
    }
    for (request, row) in requests.iter().zip(&rows) {
        draw_request(&mut svg, request, *row, end, &x, &|host| y(lane_of(host)));
    }
    // Each step: a tick at the bottom of its lane, its text above, starting
    // at the tick, in the first row where it overprints no other.
    for ((event, text), row) in steps.iter().zip(&step_rows) {
        let lane = lane_of(&event.host);
        let bottom = y(lane) + lane_height(lane);
        let _ = writeln!(
            svg,
            r##"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="#555" stroke-width="1"/><text x="{3:.1}" y="{4:.1}" fill="#333">{5}</text>"##,
            x(event.at),
            bottom - 13.0,
            bottom - 2.0,
            x(event.at) + 2.0,
            bottom - 16.0 - STEP_ROW_HEIGHT_PX * *row as f64,
            escape(text)
        );
    }
    for event in events {
        let mark = match &event.kind {
            EventKind::Sigterm => Some(("SIGTERM", "#c05000")),
            EventKind::Sigkill { .. } => Some(("SIGKILL", "#900000")),
            _ => None,
        };
        if let Some((label, colour)) = mark {
            let lane = lane_of(&event.host);
            let top = y(lane);
            let _ = writeln!(
                svg,
                r#"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="{3}" stroke-width="2"/><text x="{4:.1}" y="{5:.1}" fill="{3}" font-weight="bold">{6}</text>"#,
                x(event.at),
                top + 2.0,
                top + lane_height(lane) - 2.0,
                colour,
                x(event.at) + 3.0,
                top + 30.0,
                label
            );
        }
    }
    if let Verdict::Violation(violation) = verdict {
        let at = x(violation.at);
        // Past the axis, the label stands left of the line and says when.
        let (label_x, anchor, label) = if violation.at > end {
            let name = violation.invariant.name();
            let when = format!("{name} at {}ms →", violation.at.as_millis());
            (at - 4.0, "end", when)
        } else {
            (at + 4.0, "start", violation.invariant.name().to_string())
        };
        let _ = writeln!(
            svg,
            r#"<line x1="{at:.1}" y1="{:.1}" x2="{at:.1}" y2="{:.1}" stroke="red" stroke-width="2" stroke-dasharray="6 3"/><text x="{label_x:.1}" y="{:.1}" fill="red" font-weight="bold" text-anchor="{anchor}">{}</text>"#,
            TOP_PX - 6.0,
            y(lanes.len()),
            TOP_PX + 10.0,
            escape(&label)
        );
    }
    legend(&mut svg, y(lanes.len()) + 14.0);
    let colour = if matches!(verdict, Verdict::Pass) {
        "#1a7f37"
    } else {
        "red"
    };
    for (index, line) in reason_lines.iter().enumerate() {
        let _ = writeln!(
            svg,
            r#"<text x="10" y="{:.1}" fill="{colour}">{}</text>"#,
            y(lanes.len()) + 44.0 + index as f64 * 16.0,
            escape(line)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// The hosts in lane order: clients and probers, then the service hosts,
/// then the director's steps.
fn lanes(events: &[Event]) -> Vec<String> {
    let mut lanes: Vec<String> = Vec::new();
    for event in events {
        if !lanes.iter().any(|lane| **lane == *event.host) {
            lanes.push(event.host.to_string());
        }
    }
    let rank = |host: &str| match host {
        "client" => 0,
        "kubelet" => 1,
        "director" => 3,
        _ => 2,
    };
    lanes.sort_by_key(|host| rank(host));
    lanes
}

/// Each service host's phases: from bound to serving, serving, draining.
fn phases(events: &[Event], end: Duration) -> Vec<(String, Duration, Duration, Phase)> {
    let mut open: BTreeMap<String, (Duration, Phase)> = BTreeMap::new();
    let mut phases = Vec::new();
    let mut close = |host: &str, at: Duration, open: &mut BTreeMap<String, (Duration, Phase)>| {
        if let Some((start, phase)) = open.remove(host) {
            phases.push((host.to_string(), start, at, phase));
        }
    };
    for event in events {
        let host = &*event.host;
        let next = match &event.kind {
            EventKind::Milestone(Milestone::Bound) => Some(Phase::Starting),
            EventKind::Milestone(Milestone::Accepting | Milestone::Initialised) => {
                match open.get(host) {
                    Some((_, Phase::Draining)) => None,
                    _ => Some(Phase::Serving),
                }
            }
            EventKind::Sigterm | EventKind::Milestone(Milestone::Draining) => Some(Phase::Draining),
            EventKind::Milestone(Milestone::Stopped)
            | EventKind::Sigkill { .. }
            | EventKind::Failed { .. } => {
                close(host, event.at, &mut open);
                None
            }
            _ => None,
        };
        if let Some(phase) = next {
            if open.get(host).map(|(_, current)| *current) != Some(phase) {
                close(host, event.at, &mut open);
                open.insert(host.to_string(), (event.at, phase));
            }
        }
    }
    let still: Vec<String> = open.keys().cloned().collect();
    for host in still {
        close(&host, end, &mut open);
    }
    phases
}

/// A row for each span (lane, left, right) in its lane: the first row
/// whose last span ends before this one begins, so that nothing overprints.
/// Also how many rows each lane uses.
fn pack<'a>(
    spans: impl Iterator<Item = (&'a str, f64, f64)>,
) -> (Vec<usize>, BTreeMap<&'a str, usize>) {
    // Per lane, where each row is free from.
    let mut free_from: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let rows = spans
        .map(|(lane, left, right)| {
            let rows = free_from.entry(lane).or_default();
            let row = match rows.iter().position(|free| *free <= left) {
                Some(row) => row,
                None if rows.len() < ROWS_MAX => {
                    rows.push(f64::MIN);
                    rows.len() - 1
                }
                // Every row is taken: the one free soonest.
                None => (0..rows.len())
                    .min_by(|a, b| rows[*a].total_cmp(&rows[*b]))
                    .unwrap_or(0),
            };
            rows[row] = right;
            row
        })
        .collect();
    let used = free_from
        .into_iter()
        .map(|(lane, rows)| (lane, rows.len()))
        .collect();
    (rows, used)
}

/// The text beside a request's bar: its path and what became of it.
fn label(request: &Request) -> String {
    let outcome = request
        .outcome
        .as_ref()
        .map_or("no answer".to_string(), |(outcome, _)| outcome.to_string());
    format!("{} {outcome}", request.path)
}

/// The requests, in the order they were sent.
fn requests(events: &[Event]) -> Vec<Request> {
    let mut by_number: BTreeMap<u64, Request> = BTreeMap::new();
    for event in events {
        match &event.kind {
            EventKind::Sent { request, path, .. } => {
                by_number.insert(
                    *request,
                    Request {
                        host: event.host.to_string(),
                        path: path.clone(),
                        sent: event.at,
                        read: None,
                        outcome: None,
                    },
                );
            }
            EventKind::RequestStarted { request, .. } => {
                if let Some(entry) = by_number.get_mut(request) {
                    entry.read = Some((event.host.to_string(), event.at));
                }
            }
            EventKind::Observed { request, outcome } => {
                if let Some(entry) = by_number.get_mut(request) {
                    entry.outcome = Some((outcome.clone(), event.at));
                }
            }
            _ => {}
        }
    }
    let mut requests: Vec<Request> = by_number.into_values().collect();
    requests.sort_by_key(|request| request.sent);
    requests
}

fn draw_request(
    svg: &mut String,
    request: &Request,
    row: usize,
    end: Duration,
    x: &dyn Fn(Duration) -> f64,
    lane_top: &dyn Fn(&str) -> f64,
) {
    let top = lane_top(&request.host) + 20.0 + row as f64 * ROW_HEIGHT_PX;
    let (finished, outcome) = match &request.outcome {
        Some((outcome, at)) => (*at, outcome.to_string()),
        None => (end, "no answer".to_string()),
    };
    let good = matches!(request.outcome, Some((Outcome::Status(200..=399), _)));
    let colour = if good { "#2b6cb0" } else { "#b83280" };
    let (left, right) = (x(request.sent), x(finished).max(x(request.sent) + 2.0));
    let _ = writeln!(
        svg,
        r#"<line x1="{left:.1}" y1="{top:.1}" x2="{right:.1}" y2="{top:.1}" stroke="{colour}" stroke-width="3"><title>{} {}: sent {}ms, {} at {}ms</title></line>"#,
        escape(&request.host),
        escape(&request.path),
        request.sent.as_millis(),
        escape(&outcome),
        finished.as_millis()
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" fill="{colour}" font-size="9">{}</text>"#,
        right + 2.0,
        top + 3.0,
        escape(&label(request))
    );
    if let Some((server, read)) = &request.read {
        let target = lane_top(server) + 20.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{:.1}" y1="{top:.1}" x2="{:.1}" y2="{target:.1}" stroke="{colour}" stroke-width="1" stroke-dasharray="3 2" marker-end="url(#arrow)"/>"#,
            x(request.sent),
            x(*read)
        );
    }
}

/// What the colours mean.
fn legend(svg: &mut String, top: f64) {
    let mut left = 10.0;
    let items = [
        (
            Phase::Starting.colour(),
            "starting (bound, not serving)",
            8.0,
        ),
        (Phase::Serving.colour(), "serving", 8.0),
        (Phase::Draining.colour(), "draining (SIGTERM to stop)", 8.0),
        ("#2b6cb0", "request answered 2xx/3xx", 3.0),
        ("#b83280", "request failed or unanswered", 3.0),
    ];
    for (colour, text, height) in items {
        let _ = writeln!(
            svg,
            r##"<rect x="{left:.1}" y="{:.1}" width="18" height="{height}" fill="{colour}"/><text x="{:.1}" y="{:.1}" fill="#333">{text}</text>"##,
            top - height / 2.0 - 3.0,
            left + 22.0,
            top
        );
        left += 22.0 + text.len() as f64 * 6.0 + 18.0;
    }
    let _ = writeln!(
        svg,
        r##"<text x="{left:.1}" y="{top:.1}" fill="#333">- - &gt; the server read the request</text>"##
    );
}

fn axis(svg: &mut String, end: Duration, x: &dyn Fn(Duration) -> f64) {
    let _ = writeln!(
        svg,
        r##"<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="6" refY="3" orient="auto"><path d="M0,0 L6,3 L0,6 z" fill="#555"/></marker></defs>"##
    );
    let step_ms = nice_step(end.as_millis().max(1) as u64 / 8);
    let mut at_ms = 0;
    while at_ms <= end.as_millis() as u64 {
        let left = x(Duration::from_millis(at_ms));
        let _ = writeln!(
            svg,
            r##"<line x1="{left:.1}" y1="{:.1}" x2="{left:.1}" y2="{:.1}" stroke="#ccc"/><text x="{left:.1}" y="{:.1}" fill="#666" text-anchor="middle">{}</text>"##,
            TOP_PX - 14.0,
            TOP_PX - 4.0,
            TOP_PX - 18.0,
            label_ms(at_ms)
        );
        at_ms += step_ms;
    }
}

/// A round tick step of at least `raw_ms` (1, 2 or 5 times a power of ten).
fn nice_step(raw_ms: u64) -> u64 {
    let mut power = 1;
    loop {
        for factor in [1, 2, 5] {
            if power * factor >= raw_ms.max(1) {
                return power * factor;
            }
        }
        power *= 10;
    }
}

fn label_ms(ms: u64) -> String {
    if ms >= 1000 && ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// Splits text into lines of at most `width` characters, at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let last = lines.last_mut().expect("one line at least");
        if !last.is_empty() && last.chars().count() + word.chars().count() + 1 > width {
            lines.push(word.to_string());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::schedule::Schedule;
    use crate::case::Case;
    use crate::core::models::Variant;
    use crate::core::target::{Model, Target};
    use crate::engine::director::{self};
    use crate::engine::setup::Setup;

    #[test]
    fn a_span_takes_the_first_row_free_before_it_begins() {
        let spans = [
            ("a", 0.0, 10.0),
            ("a", 5.0, 15.0),
            ("a", 12.0, 20.0),
            ("b", 0.0, 10.0),
            ("a", 16.0, 30.0),
        ];
        let (rows, used) = pack(spans.into_iter());
        assert_eq!(rows, [0, 1, 0, 0, 1]);
        assert_eq!(used, BTreeMap::from([("a", 2), ("b", 1)]));
        // However many overlap, the rows stop at ROWS_MAX.
        let (crowd, used) = pack((0..40).map(|_| ("a", 0.0, 10.0)));
        assert_eq!(crowd.iter().max(), Some(&(ROWS_MAX - 1)));
        assert_eq!(used["a"], ROWS_MAX);
    }

    /// Every x coordinate the picture names, attribute by attribute.
    fn x_coordinates(svg: &str) -> Vec<f64> {
        let document = roxmltree::Document::parse(svg).expect("well-formed XML");
        document
            .descendants()
            .flat_map(|node| {
                ["x", "x1", "x2"]
                    .into_iter()
                    .filter_map(move |name| node.attribute(name))
            })
            .filter_map(|value| value.parse::<f64>().ok())
            .collect()
    }

    #[test]
    fn a_drain_hang_judged_after_the_trace_ends_is_marked_inside_the_picture() {
        // The saved drain-hang failure: the deadline is judged 10 s after
        // SIGTERM, long after the trace's last event at 26 ms.
        let lines = [
            "0ms start",
            "0ms request / keep=1051ms",
            "17ms stop grace=30s",
        ];
        let case = Case {
            seed: 0xe8f4_de0a_dc77_0ed4,
            schedule: Schedule::parse_lines(&lines.map(str::to_string)).unwrap(),
        };
        let mut setup = Setup::new(Target::builtin(Model::DrainHang, Variant::Buggy));
        setup.invariants = vec![crate::case::verdict::Invariant::DrainDeadline];
        let run = director::run(&setup, &case);
        let Verdict::Violation(violation) = &run.verdict else {
            panic!("the drain hangs: {}", run.verdict);
        };
        let last = run.events.last().expect("events").at;
        assert!(violation.at > last, "{:?} {last:?}", violation.at);
        let svg = render(&run.events, &run.verdict, "drain hang");
        let width = LABEL_WIDTH_PX + PLOT_WIDTH_PX + RIGHT_PX;
        let xs = x_coordinates(&svg);
        assert!(xs.len() > 10, "{svg}");
        for x in xs {
            assert!(
                (0.0..=width).contains(&x),
                "x = {x} is off the {width} px canvas"
            );
        }
        assert!(
            svg.contains(&format!("drain-deadline at {}ms", violation.at.as_millis())),
            "{svg}"
        );
    }

    #[test]
    fn requests_close_together_get_rows_of_their_own_in_a_taller_lane() {
        let mut lines = vec!["0ms start".to_string()];
        lines.extend((0..10).map(|index| format!("{}ms request /", 250 + 10 * index)));
        lines.push("400ms stop grace=5s".to_string());
        let case = Case {
            seed: 3,
            schedule: Schedule::parse_lines(&lines).unwrap(),
        };
        let setup = Setup::new(Target::builtin(Model::StartupWindow, Variant::Fixed));
        let run = director::run(&setup, &case);
        let svg = render(&run.events, &run.verdict, "dense");
        let document = roxmltree::Document::parse(&svg).expect("well-formed XML");
        // The request labels: at most one per (row, x range) — none overprints another.
        let mut labels: Vec<(f64, f64, f64)> = document
            .descendants()
            .filter(|node| node.attribute("font-size") == Some("9"))
            .map(|node| {
                let x: f64 = node.attribute("x").unwrap().parse().unwrap();
                let y: f64 = node.attribute("y").unwrap().parse().unwrap();
                let width = node.text().unwrap_or("").chars().count() as f64 * LABEL_CHAR_PX;
                (y, x, x + width)
            })
            .collect();
        assert_eq!(labels.len(), 10, "{svg}");
        labels.sort_by(|a, b| a.partial_cmp(b).unwrap());
        for pair in labels.windows(2) {
            let ((y1, _, right1), (y2, left2, _)) = (pair[0], pair[1]);
            assert!(y1 != y2 || right1 <= left2, "labels overprint: {pair:?}");
        }
        // The client's lane grew past the default height to hold its rows.
        let client_lane = document
            .descendants()
            .find(|node| {
                node.has_tag_name("rect")
                    && node.attribute("x") == Some("0")
                    && node.attribute("y") == Some(&*format!("{TOP_PX:.1}"))
            })
            .expect("the first lane");
        let height: f64 = client_lane.attribute("height").unwrap().parse().unwrap();
        assert!(height > LANE_HEIGHT_PX, "{height}");
    }
}
