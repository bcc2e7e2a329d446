//! A run's timeline as an SVG picture: one lane per host, the service's
//! phases as bars, each request as a bar on its client's lane with an arrow
//! to the server when the server read it, signals as marks, and the
//! violation as a red line with its reason.
//!
//! The picture is plain SVG 1.1 with no scripts or external references, so a
//! browser, an image viewer or a CI artefact page shows it as it is.
//!
//! It is made in two steps: [`layout`] places the lanes, phases, requests
//! and steps (numbers and text, no SVG), and [`draw`] writes the SVG text
//! of that layout.

mod draw;
mod layout;
mod scale;

use self::layout::Layout;
use crate::case::trace::Event;
use crate::case::verdict::Verdict;

/// Renders the timeline of `events`, titled `title`, marking the verdict's violation.
pub fn render(events: &[Event], verdict: &Verdict, title: &str) -> String {
    let layout = Layout::new(events, verdict);
    draw::draw(&layout, events, verdict, title)
}

#[cfg(test)]
mod tests {
    use super::scale::*;
    use super::*;
    use crate::case::schedule::Schedule;
    use crate::case::Case;
    use crate::core::models::Variant;
    use crate::core::target::{Model, Target};
    use crate::engine::director::{self};
    use crate::engine::setup::Setup;

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
