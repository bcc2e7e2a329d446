//! Names that come from input and end up in file names, test names and
//! reports: a scenario's `name` and a service's name.
//!
//! Scenario files are untrusted input (teams import them from colleagues and
//! other projects), and a name becomes part of the path of the failure file
//! the harness writes. So a name is a short identifier — nothing that could
//! be a path separator, a parent directory, a control character or a
//! terminal escape — and anything else is refused where it is read.

/// The longest name, in bytes (characters: a name is ASCII).
pub const NAME_LENGTH_MAX: usize = 64;

/// Checks that `name` is an identifier: 1 to [`NAME_LENGTH_MAX`] ASCII
/// letters, digits, `-`, `_` or `.`, not starting with `.` (so neither `..`
/// nor a hidden file). The error says why, in words, quoting the name with
/// its control characters escaped.
pub fn check_name(name: &str) -> Result<(), String> {
    let shown = crate::harness::printable::printable(name);
    if name.is_empty() {
        return Err("a name cannot be empty".into());
    }
    if name.len() > NAME_LENGTH_MAX {
        return Err(format!(
            "a name is at most {NAME_LENGTH_MAX} characters; this one has {}",
            name.chars().count()
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "`{shown}` is not a name: {} is not allowed (a name has letters, digits, `-`, `_` and `.`)",
            describe(bad)
        ));
    }
    if name.starts_with('.') {
        return Err(format!("`{shown}` is not a name: it cannot start with `.`"));
    }
    Ok(())
}

/// A character, as an error names it.
fn describe(c: char) -> String {
    match c {
        '/' | '\\' => format!("the path separator `{c}`"),
        '\0' => "a NUL character".into(),
        '\n' => "a newline".into(),
        c if c.is_control() => format!("the control character {}", c.escape_unicode()),
        c => format!("`{c}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_names() {
        for name in ["startup-window-buggy", "a", "v1.2_x", &"x".repeat(64)] {
            assert_eq!(check_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn anything_that_could_escape_or_garble_is_not_a_name() {
        for name in [
            "",
            "..",
            ".hidden",
            "../../escaped-x",
            "/tmp/ABSOLUTE-ESCAPE",
            "a/b",
            "a\\b",
            "nul\0",
            "evil\nname\u{1b}[31m",
            "space d",
            "é",
            &"x".repeat(65),
        ] {
            let error = check_name(name).expect_err(name);
            assert!(
                !error.contains('\n') && !error.contains('\u{1b}'),
                "{error}"
            );
        }
    }
}
