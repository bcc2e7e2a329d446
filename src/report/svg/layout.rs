//! The layout of a timeline picture: where each lane, phase, request and
//! step goes, as numbers and plain text, with no SVG in it.

use std::collections::BTreeMap;
use std::time::Duration;

use super::scale::{
    LABEL_CHAR_PX, LABEL_WIDTH_PX, LANE_HEIGHT_PX, PLOT_WIDTH_PX, REASON_LINE_CHARS, REQUESTS_MAX,
    RIGHT_PX, ROWS_MAX, ROW_HEIGHT_PX, STEP_CHAR_PX, STEP_ROW_HEIGHT_PX, TOP_PX,
};
use crate::case::trace::{Event, EventKind, Milestone, Outcome};
use crate::case::verdict::Verdict;

/// A phase of a service process, as drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Starting,
    Serving,
    Draining,
}

/// One request, as its client saw it.
pub(crate) struct Request {
    pub(crate) host: String,
    pub(crate) path: String,
    pub(crate) sent: Duration,
    pub(crate) read: Option<(String, Duration)>,
    pub(crate) outcome: Option<(Outcome, Duration)>,
}

/// Where everything of a timeline goes.
pub(crate) struct Layout<'a> {
    /// The end of the time axis: the last event's time, 1 ms at least.
    pub(crate) end: Duration,
    /// The hosts, in lane order.
    pub(crate) lanes: Vec<String>,
    /// The top of each lane, then the bottom of the last one: each lane is
    /// as tall as its rows of requests and steps need.
    tops: Vec<f64>,
    /// Each service host's phases: host, start, stop, phase.
    pub(crate) phases: Vec<(String, Duration, Duration, Phase)>,
    /// The requests drawn, in the order they were sent.
    pub(crate) requests: Vec<Request>,
    /// The row of each request in its lane.
    pub(crate) rows: Vec<usize>,
    /// The director's steps, with their text.
    pub(crate) steps: Vec<(&'a Event, String)>,
    /// The row of each step's text in its lane.
    pub(crate) step_rows: Vec<usize>,
    /// The verdict, wrapped into lines.
    pub(crate) reason_lines: Vec<String>,
    /// The picture's width, in pixels.
    pub(crate) width: f64,
    /// The picture's height, in pixels.
    pub(crate) height: f64,
}

impl<'a> Layout<'a> {
    /// Lays out the timeline of `events`, ending with the verdict.
    pub(crate) fn new(events: &'a [Event], verdict: &Verdict) -> Layout<'a> {
        let end = events
            .last()
            .map_or(Duration::from_millis(1), |event| event.at)
            .max(Duration::from_millis(1));
        let lanes = lanes(events);
        // The axis ends with the last event. A time past it (a drain deadline
        // judged seconds after the trace went quiet) is drawn at the axis's
        // end, where its label gives its time, rather than off the canvas.
        let x = |at: Duration| x_of(at, end);
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
        let reason_lines = match verdict {
            Verdict::Pass => vec![format!("verdict: {verdict}")],
            _ => wrap(&format!("{verdict}"), REASON_LINE_CHARS),
        };
        let height = tops[lanes.len()] + 60.0 + reason_lines.len() as f64 * 16.0;
        let width = LABEL_WIDTH_PX + PLOT_WIDTH_PX + RIGHT_PX;
        Layout {
            end,
            phases: phases(events, end),
            lanes,
            tops,
            requests,
            rows,
            steps,
            step_rows,
            reason_lines,
            width,
            height,
        }
    }

    /// Where a time is on the axis, at its end at the latest.
    pub(crate) fn x(&self, at: Duration) -> f64 {
        x_of(at, self.end)
    }

    /// The top of a lane; past the last lane, the bottom of the lanes.
    pub(crate) fn y(&self, lane: usize) -> f64 {
        self.tops[lane.min(self.tops.len() - 1)]
    }

    /// The lane of a host: every host of the trace has one.
    pub(crate) fn lane_of(&self, host: &str) -> usize {
        self.lanes
            .iter()
            .position(|lane| lane == host)
            .unwrap_or_else(|| panic!("host {host} has no lane: lanes come from the trace"))
    }

    /// How tall a lane is.
    pub(crate) fn lane_height(&self, lane: usize) -> f64 {
        self.tops
            .get(lane + 1)
            .map_or(LANE_HEIGHT_PX, |next| next - self.tops[lane])
    }
}

/// Where `at` is on an axis ending at `end`, at its end at the latest.
fn x_of(at: Duration, end: Duration) -> f64 {
    LABEL_WIDTH_PX + (at.as_secs_f64() / end.as_secs_f64()).min(1.0) * PLOT_WIDTH_PX
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
                    .expect("ROWS_MAX rows are taken"),
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
pub(crate) fn label(request: &Request) -> String {
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
}
