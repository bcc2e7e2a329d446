//! A scenario file that cannot be used, and where: the file, the line and
//! the field of each error, found from the spans the TOML reader keeps.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use crate::case::schedule::parse_duration;
use crate::case::seed::parse_seed;
use crate::case::verdict::Invariant;
use crate::harness::input::too_large;
use crate::harness::printable::printable;

/// A scenario file that cannot be used, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file.
    pub file: PathBuf,
    /// The line (from 1), when the error has one.
    pub line: Option<usize>,
    /// The field, dotted (`target.model`), when the error has one.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    /// One line: control characters the input carried (in a value quoted
    /// back, or in the file's name) are escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", printable(&self.file.display().to_string()))?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{}`", printable(field))?;
        }
        write!(f, ": {}", printable(&self.message))
    }
}

impl std::error::Error for ScenarioError {}

/// Reads values out of a file, turning spans into lines.
pub(super) struct Reader<'a> {
    /// The file, as errors name it.
    pub(super) path: &'a Path,
    /// Its text.
    pub(super) text: &'a str,
}

impl Reader<'_> {
    /// An error at a span of the text, about `field`.
    pub(super) fn error(&self, span: Range<usize>, field: &str, message: String) -> ScenarioError {
        ScenarioError {
            file: self.path.to_path_buf(),
            line: Some(line_of(self.text, span.start)),
            field: Some(field.to_string()),
            message,
        }
    }

    /// An error about `field` with no line: a value that is missing, or a
    /// rule of the whole table.
    pub(super) fn unplaced(&self, field: &str, message: String) -> ScenarioError {
        ScenarioError {
            file: self.path.to_path_buf(),
            line: None,
            field: Some(field.to_string()),
            message,
        }
    }

    /// The line (from 1) of the first line that is exactly `header`, if any.
    pub(super) fn line_of_header(&self, header: &str) -> Option<usize> {
        self.text
            .lines()
            .position(|line| line.trim() == header)
            .map(|index| index + 1)
    }

    pub(super) fn duration(
        &self,
        value: &Spanned<String>,
        field: &str,
    ) -> Result<Duration, ScenarioError> {
        parse_duration(value.get_ref()).map_err(|message| self.error(value.span(), field, message))
    }

    pub(super) fn optional_duration(
        &self,
        value: Option<&Spanned<String>>,
        field: &str,
        default: Duration,
    ) -> Result<Duration, ScenarioError> {
        value.map_or(Ok(default), |value| self.duration(value, field))
    }

    pub(super) fn invariant(
        &self,
        value: &Spanned<String>,
        field: &str,
    ) -> Result<Invariant, ScenarioError> {
        Invariant::from_name(value.get_ref()).ok_or_else(|| {
            self.error(
                value.span(),
                field,
                format!(
                    "unknown invariant `{}`, expected one of: {}",
                    value.get_ref(),
                    Invariant::ALL.map(Invariant::name).join(", ")
                ),
            )
        })
    }

    pub(super) fn seed(&self, value: &Spanned<toml::Value>) -> Result<u64, ScenarioError> {
        let seed = match value.get_ref() {
            toml::Value::Integer(number) => u64::try_from(*number).ok(),
            toml::Value::String(text) => parse_seed(text).ok(),
            _ => None,
        };
        seed.ok_or_else(|| {
            self.error(
                value.span(),
                "run.seed",
                "expected a non-negative integer or a string such as \"0x5eed\"".into(),
            )
        })
    }
}

/// A file the TOML reader refused (bad syntax, an unknown field, a wrong
/// type): its line, and the field found there.
pub(super) fn syntax_error(path: &Path, text: &str, error: &toml::de::Error) -> ScenarioError {
    let line = error.span().map(|span| line_of(text, span.start));
    ScenarioError {
        file: path.to_path_buf(),
        line,
        field: line.and_then(|line| field_at(text, line, error.message())),
        message: error.message().trim().to_string(),
    }
}

/// A file over the size limit, pointing at the line where it crosses it
/// and the field being written there (`prefix` is the part within it).
pub(super) fn too_large_error(path: &Path, prefix: &str) -> ScenarioError {
    let line = line_of(prefix, prefix.len());
    ScenarioError {
        file: path.to_path_buf(),
        line: Some(line),
        field: field_at(prefix, line, ""),
        message: too_large(),
    }
}

/// The line (from 1) of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&byte| byte == b'\n')
        .count()
        + 1
}

/// The dotted field a parse error at `line` is about: a field the message
/// names as missing, else the key assigned on that line (or on the line that
/// opens the array it is in), under the table header in effect there.
fn field_at(text: &str, line: usize, message: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let upto = &lines[..line.min(lines.len())];
    let table = upto.iter().rev().find_map(|line| {
        let line = line.trim();
        (line.starts_with('[') && !line.starts_with("[[")).then(|| {
            line.trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_string()
        })
    });
    let named = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
        .map(str::to_string);
    let key = named.or_else(|| {
        upto.iter().rev().find_map(|line| {
            let line = line.trim();
            if line.starts_with('[') && !line.contains('=') {
                return Some(None);
            }
            line.split_once('=')
                .map(|(key, _)| Some(key.trim().trim_matches('"').to_string()))
        })?
    });
    match (table, key) {
        (Some(table), Some(key)) => Some(format!("{table}.{key}")),
        (None, Some(key)) => Some(key),
        (Some(table), None) => Some(table),
        (None, None) => None,
    }
}
