//! The drawing of a timeline picture: the SVG text of a [`Layout`].

use std::fmt::Write;
use std::time::Duration;

use super::layout::{label, Layout, Phase, Request};
use super::scale::{ROW_HEIGHT_PX, STEP_ROW_HEIGHT_PX, TOP_PX};
use crate::case::schedule::render_duration;
use crate::case::trace::{Event, EventKind, Outcome};
use crate::case::verdict::Verdict;
use crate::report::xml::escape;

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

/// Writes the SVG text of a laid-out timeline of `events`, titled `title`,
/// marking the verdict's violation.
pub(crate) fn draw(layout: &Layout, events: &[Event], verdict: &Verdict, title: &str) -> String {
    let (end, lanes, width, height) = (layout.end, &layout.lanes, layout.width, layout.height);
    let x = |at: Duration| layout.x(at);
    let y = |lane: usize| layout.y(lane);
    let lane_of = |host: &str| layout.lane_of(host);
    let lane_height = |lane: usize| layout.lane_height(lane);
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
    for (host, start, stop, phase) in &layout.phases {
        let (start, stop) = (*start, *stop);
        let top = y(lane_of(host)) + 6.0;
        let (left, right) = (x(start), x(stop).max(x(start) + 1.0));
        let _ = writeln!(
            svg,
            r#"<rect x="{left:.1}" y="{top:.1}" width="{:.1}" height="12" fill="{}"><title>{} {}: {}ms to {}ms</title></rect>"#,
            right - left,
            phase.colour(),
            escape(host),
            phase.name(),
            start.as_millis(),
            stop.as_millis()
        );
    }
    for (request, row) in layout.requests.iter().zip(&layout.rows) {
        draw_request(&mut svg, request, *row, end, &x, &|host| y(lane_of(host)));
    }
    // Each step: a tick at the bottom of its lane, its text above, starting
    // at the tick, in the first row where it overprints no other.
    for ((event, text), row) in layout.steps.iter().zip(&layout.step_rows) {
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
    for (index, line) in layout.reason_lines.iter().enumerate() {
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
    render_duration(Duration::from_millis(ms))
}
