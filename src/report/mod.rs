//! Reports: a campaign's result as people, machines and CI systems read it,
//! and a failure's timeline as a picture.
//!
//! - [`summary`], [`failure`], [`timeline`]: text for a terminal;
//! - [`json_lines`]: one JSON record per scenario and per failure;
//! - [`junit`]: a JUnit XML document for CI;
//! - [`svg`]: the timeline of a failure as an SVG picture.

mod json;
mod junit;
mod svg;
mod text;

pub use self::json::json_lines;
pub use self::junit::junit;
pub use self::svg::render as svg;
pub use self::text::{count, failure, headline, summary, timeline};

/// Escapes text for XML content and attributes.
pub(crate) fn xml_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            // XML 1.0 has no place for most control characters.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => escaped.push(' '),
            c => escaped.push(c),
        }
    }
    escaped
}
