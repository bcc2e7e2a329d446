//! Text from input, made safe to print: reports, errors and file contents
//! show what a scenario said without letting it move the cursor, colour the
//! terminal, or forge a line of the report.

use std::borrow::Cow;

/// `text` with every control character (newline, tab, escape, NUL, DEL, …)
/// escaped as Rust writes it (`\n`, `\t`, `\u{1b}`); other text unchanged.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    Cow::Owned(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(printable("plain – ✓"), "plain – ✓");
        assert_eq!(
            printable("evil\nname\u{1b}[31m\0\u{7f}"),
            "evil\\nname\\u{1b}[31m\\u{0}\\u{7f}"
        );
    }
}
