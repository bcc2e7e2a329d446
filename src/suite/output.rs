//! Where the harness writes: every file it writes (a saved failure, its SVG
//! timeline, a JSON or JUnit report) is one plain file name joined under the
//! output directory the user chose, and checked to stay inside it.
//!
//! The file names carry input (a scenario's name), and the directory may
//! hold what a scenario's author put there (a committed regressions
//! directory). So the directory is resolved through its symlinks, the file
//! name must be a single plain component, and a file that exists as a
//! symlink is not written through: a write never lands outside the directory.

use std::fmt;
use std::path::{Component, Path, PathBuf};

/// A file the harness refused to write, or could not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputError {
    /// The file it was to write.
    pub file: PathBuf,
    /// Why it was not written.
    pub reason: String,
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display().to_string();
        write!(
            f,
            "cannot write {}: {}",
            crate::harness::printable::printable(&file),
            self.reason
        )
    }
}

impl std::error::Error for OutputError {}

/// Writes `contents` to the file `name` directly inside `directory`
/// (created if missing) and returns its path, `directory` joined with
/// `name`. Refused: a name that is not one plain component (`..`, `/`, an
/// absolute path, NUL), a file whose parent does not resolve to the
/// directory, and a file that is a symlink.
pub fn write_under(directory: &Path, name: &str, contents: &str) -> Result<PathBuf, OutputError> {
    let file = directory.join(name);
    let refuse = |reason: String| OutputError {
        file: file.clone(),
        reason,
    };
    let mut components = Path::new(name).components();
    let plain = matches!(
        (components.next(), components.next()),
        (Some(Component::Normal(_)), None)
    ) && !name.contains(['/', '\\', '\0']);
    if !plain {
        return Err(refuse(
            "the file name is not one plain name inside the output directory".into(),
        ));
    }
    std::fs::create_dir_all(directory).map_err(|error| refuse(error.to_string()))?;
    let root = directory
        .canonicalize()
        .map_err(|error| refuse(format!("cannot resolve the output directory: {error}")))?;
    let parent = file
        .parent()
        .map(Path::canonicalize)
        .transpose()
        .map_err(|error| refuse(error.to_string()))?;
    if parent.as_deref() != Some(root.as_path()) {
        return Err(refuse(format!(
            "it would land outside the output directory {}",
            root.display()
        )));
    }
    if let Ok(metadata) = std::fs::symlink_metadata(&file) {
        if metadata.file_type().is_symlink() {
            return Err(refuse(
                "it is a symlink, which could point outside the output directory; remove it".into(),
            ));
        }
    }
    std::fs::write(root.join(name), contents).map_err(|error| refuse(error.to_string()))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(label: &str) -> PathBuf {
        let directory = std::env::temp_dir()
            .join(format!("lifecycle-sim-output-{}", std::process::id()))
            .join(label);
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory).unwrap();
        directory
    }

    #[test]
    fn a_plain_name_is_written_inside_the_directory() {
        let directory = scratch("plain").join("failures");
        let file = write_under(&directory, "x-0x1.toml", "text").unwrap();
        assert_eq!(file, directory.join("x-0x1.toml"));
        assert_eq!(std::fs::read_to_string(file).unwrap(), "text");
    }

    #[test]
    fn names_that_leave_the_directory_are_refused() {
        let directory = scratch("escape");
        for name in [
            "../up.toml",
            "/tmp/absolute.toml",
            "a/b.toml",
            "..",
            "nul\0",
            "",
        ] {
            assert!(write_under(&directory, name, "x").is_err(), "{name:?}");
        }
        assert!(!directory.parent().unwrap().join("up.toml").exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_in_place_of_the_file_is_not_written_through() {
        let directory = scratch("symlink");
        let outside = directory.join("outside.txt");
        std::fs::write(&outside, "kept").unwrap();
        let failures = directory.join("failures");
        std::fs::create_dir_all(&failures).unwrap();
        std::os::unix::fs::symlink(&outside, failures.join("x.toml")).unwrap();
        let error = write_under(&failures, "x.toml", "overwritten").unwrap_err();
        assert!(error.reason.contains("symlink"), "{error}");
        assert_eq!(std::fs::read_to_string(outside).unwrap(), "kept");
    }
}
