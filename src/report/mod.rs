//! Reports: a campaign's result as people, machines and CI systems read it,
//! and a failure's timeline as a picture.
//!
//! - [`summary`], [`failure`], [`timeline`], [`peak_rss`]: text for a terminal;
//! - [`json_lines`]: one JSON record per scenario and per failure;
//! - [`junit()`]: a JUnit XML document for CI;
//! - [`svg()`]: the timeline of a failure as an SVG picture.

mod json;
mod junit;
mod svg;
mod text;
mod xml;

pub use self::json::json_lines;
pub use self::junit::junit;
pub use self::svg::render as svg;
pub use self::text::{count, failure, headline, peak_rss, summary, timeline};
