//! Finding scenario files: the paths named, directories expanded to every
//! `*.toml` below them.
//!
//! A directory tree may reach itself again through a symbolic link (a link
//! to `.` or to a parent, or two directories linking to each other). The
//! walk visits each directory once, by its canonical path, and lists each
//! file once, however many paths lead to it: a loop ends, and no scenario
//! runs twice.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The scenario files under `paths`, in the order named, each directory's
/// entries sorted by name; each file once, as first reached. A path that
/// does not exist is an error.
pub(crate) fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut walk = Walk::default();
    for path in paths {
        if path.is_dir() {
            walk.directory(path)?;
        } else if path.is_file() {
            walk.file(path);
        } else {
            return Err(format!("{}: no such file or directory", path.display()));
        }
    }
    Ok(walk.files)
}

/// What a walk has seen and found.
#[derive(Default)]
struct Walk {
    /// The canonical paths of the directories visited.
    directories: BTreeSet<PathBuf>,
    /// The canonical paths of the files listed.
    seen: BTreeSet<PathBuf>,
    /// The files, as first reached.
    files: Vec<PathBuf>,
}

impl Walk {
    /// Lists a directory's scenario files and walks its subdirectories:
    /// the walk ends because no directory is entered twice.
    fn directory(&mut self, directory: &Path) -> Result<(), String> {
        // A directory without a canonical path cannot be told apart from
        // another: that is an error, as an unreadable directory is.
        let canonical = directory
            .canonicalize()
            .map_err(|error| format!("{}: {error}", directory.display()))?;
        if !self.directories.insert(canonical) {
            return Ok(());
        }
        let entries = std::fs::read_dir(directory)
            .map_err(|error| format!("{}: {error}", directory.display()))?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .collect();
        paths.sort();
        for path in paths {
            if path.is_dir() {
                self.directory(&path)?;
            } else if path
                .extension()
                .is_some_and(|extension| extension == "toml")
            {
                self.file(&path);
            }
        }
        Ok(())
    }

    fn file(&mut self, path: &Path) {
        // A dangling link has no canonical path: it is listed, and loading
        // it says what is wrong.
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if self.seen.insert(canonical) {
            self.files.push(path.to_path_buf());
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// An empty directory of its own under the system's temporary directory.
    fn scratch(name: &str) -> PathBuf {
        let directory =
            std::env::temp_dir().join(format!("lifecycle-sim-walk-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory).unwrap();
        directory
    }

    #[test]
    fn a_directory_that_links_to_itself_lists_each_scenario_once() {
        let root = scratch("loop");
        std::fs::write(root.join("a.toml"), "").unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/b.toml"), "").unwrap();
        // A loop to the root, one from the subdirectory back up, and a second
        // name for a file.
        std::os::unix::fs::symlink(".", root.join("loop")).unwrap();
        std::os::unix::fs::symlink("..", root.join("sub/up")).unwrap();
        std::os::unix::fs::symlink("a.toml", root.join("again.toml")).unwrap();
        let files = scenario_files(std::slice::from_ref(&root)).unwrap();
        assert_eq!(files, [root.join("a.toml"), root.join("sub/b.toml")]);
        // Naming a file the directory also holds lists it once too.
        let files = scenario_files(&[root.join("sub/b.toml"), root.clone()]).unwrap();
        assert_eq!(files, [root.join("sub/b.toml"), root.join("a.toml")]);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_path_that_does_not_exist_is_an_error() {
        let root = scratch("missing");
        let error = scenario_files(&[root.join("nope")]).unwrap_err();
        assert!(error.contains("no such file or directory"), "{error}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
