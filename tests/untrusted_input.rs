//! Scenario files are untrusted input: the command refuses every bad one
//! with exit 2 and one line naming the file, the line and the field, and
//! writes nothing outside its failures directory, whatever a file says.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A generated scenario that would run and pass: each case below breaks
/// one thing of it. Its `name` is on line 2 and `cases` on line 10.
const BASE: &str = r#"schema_version = 1
name = "NAME"
expect = "pass"

[target]
model = "startup-window"
variant = "fixed"

[run]
cases = 2
seed = 7
"#;

/// A scratch tree: `inputs/` holds the files, `a/b/failures` is the
/// failures directory (two levels down, so `../..` stays inside the tree,
/// where the listing sees it), `outside/` is what must not be written.
struct Tree {
    root: PathBuf,
}

impl Tree {
    fn new(label: &str) -> Tree {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("untrusted")
            .join(label);
        let _ = std::fs::remove_dir_all(&root);
        for directory in ["inputs", "a/b/failures", "outside"] {
            std::fs::create_dir_all(root.join(directory)).unwrap();
        }
        std::fs::write(root.join("outside/victim.txt"), "kept").unwrap();
        Tree { root }
    }

    fn failures(&self) -> PathBuf {
        self.root.join("a/b/failures")
    }

    fn input(&self, name: &str, text: &str) -> PathBuf {
        let file = self.root.join("inputs").join(name);
        std::fs::write(&file, text).unwrap();
        file
    }

    /// Every path under the root, relative, not following symlinks.
    fn listing(&self) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        let mut pending = vec![self.root.clone()];
        while let Some(directory) = pending.pop() {
            for entry in std::fs::read_dir(&directory).unwrap() {
                let path = entry.unwrap().path();
                let relative = path.strip_prefix(&self.root).unwrap();
                found.insert(relative.to_string_lossy().into_owned());
                let metadata = std::fs::symlink_metadata(&path).unwrap();
                if metadata.is_dir() {
                    pending.push(path);
                }
            }
        }
        found
    }

    fn run(&self, file: &Path) -> Output {
        let failures = self.failures();
        lifecycle_sim(&[
            "run",
            file.to_str().unwrap(),
            "--failures",
            failures.to_str().unwrap(),
        ])
    }
}

fn lifecycle_sim(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lifecycle-sim"))
        .args(arguments)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("LIFECYCLE_SEED")
        .env_remove("LIFECYCLE_CASES")
        .output()
        .expect("the binary runs")
}

/// Asserts exit 2 and exactly one error line, on stderr, that names the
/// file, the line and the field, and carries no raw control character.
fn assert_refused(output: &Output, file: &Path, line: usize, field: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    let error = errors[0];
    let expected = format!("error: {}:{line}: field `{field}`: ", file.display());
    assert!(error.starts_with(&expected), "`{expected}` not in: {error}");
    assert!(
        !stderr.contains(|c: char| c.is_control() && c != '\n'),
        "a raw control character in: {stderr:?}"
    );
    assert!(output.stdout.is_empty(), "nothing ran, nothing printed");
}

#[test]
fn names_that_could_escape_or_garble_exit_2_and_nothing_is_written_outside() {
    let tree = Tree::new("names");
    // A directory inside the failures directory that leads outside it.
    #[cfg(unix)]
    std::os::unix::fs::symlink(tree.root.join("outside"), tree.failures().join("escape")).unwrap();
    let absolute = tree.root.join("ABSOLUTE-ESCAPE");
    let names = [
        ("parent", "../../escaped-x".to_string()),
        ("absolute", absolute.display().to_string()),
        ("symlinked-directory", "escape/x".to_string()),
        ("nul", "nul\\u0000x".to_string()),
        ("newline-and-escape", "evil\\nname\\u001b[31m".to_string()),
        ("over-long", "x".repeat(65)),
        ("dot", ".hidden".to_string()),
        ("empty", String::new()),
    ];
    let files: Vec<PathBuf> = names
        .iter()
        .map(|(label, name)| tree.input(&format!("{label}.toml"), &BASE.replace("NAME", name)))
        .collect();
    let before = tree.listing();
    for file in &files {
        assert_refused(&tree.run(file), file, 2, "name");
    }
    assert_eq!(tree.listing(), before, "something was written");
    assert!(!absolute.exists());
    assert_eq!(
        std::fs::read_to_string(tree.root.join("outside/victim.txt")).unwrap(),
        "kept"
    );
}

#[test]
fn a_file_stem_that_is_not_a_name_needs_a_name_field() {
    let tree = Tree::new("stem");
    let file = tree.input("has space.toml", &BASE.replace("name = \"NAME\"\n", ""));
    assert_refused(&tree.run(&file), &file, 1, "name");
}

#[test]
fn schedules_budgets_and_sizes_out_of_bounds_exit_2() {
    let tree = Tree::new("limits");
    let fixed = |steps: &str| {
        format!(
            "schema_version = 1\nname = \"fixed\"\nexpect = \"pass\"\nschedule = [\n{steps}]\n\
             [target]\nmodel = \"startup-window\"\nvariant = \"fixed\"\n[run]\nseed = 7\n"
        )
    };
    let out_of_order = tree.input(
        "out-of-order.toml",
        &fixed("  \"0ms start\",\n  \"400ms request /\",\n  \"100ms request /\",\n"),
    );
    assert_refused(&tree.run(&out_of_order), &out_of_order, 7, "schedule");

    let too_many = tree.input(
        "too-many-steps.toml",
        &fixed(&"  \"1ms request /\",\n".repeat(lifecycle_sim::SCHEDULE_STEPS_MAX + 1)),
    );
    let first_over = 5 + lifecycle_sim::SCHEDULE_STEPS_MAX;
    assert_refused(&tree.run(&too_many), &too_many, first_over, "schedule");

    let no_cases = tree.input("no-cases.toml", &BASE.replace("cases = 2", "cases = 0"));
    assert_refused(&tree.run(&no_cases), &no_cases, 10, "run.cases");

    let no_backlog = tree.input(
        "no-backlog.toml",
        &BASE
            .replace("NAME", "no-backlog")
            .replace("seed = 7", "seed = 7\nbacklog = 0"),
    );
    assert_refused(&tree.run(&no_backlog), &no_backlog, 12, "run.backlog");

    // 50 MB, one huge description: refused before it is parsed.
    let huge = format!(
        "schema_version = 1\nname = \"huge\"\ndescription = \"{}\"\n{}",
        "x".repeat(50 << 20),
        &BASE[BASE.find("expect").unwrap()..]
    );
    let huge = tree.input("huge.toml", &huge);
    assert_refused(&tree.run(&huge), &huge, 3, "description");
}

#[test]
fn a_case_budget_of_0_on_the_command_line_exits_2() {
    let output = lifecycle_sim(&["run", "scenarios/startup-window-fixed.toml", "--cases", "0"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--cases"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn a_symlink_where_the_failure_file_goes_is_not_written_through() {
    let tree = Tree::new("symlink");
    // The pinned failure's file name is its name and its seed.
    let planted = tree
        .failures()
        .join("startup-window-buggy-0xc4a72b41a8ddbbd9.toml");
    std::os::unix::fs::symlink(tree.root.join("outside/victim.txt"), &planted).unwrap();
    let before = tree.listing();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/startup-window-buggy-failure.toml");
    let output = tree.run(&fixture);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is a symlink"), "{stderr}");
    assert_eq!(tree.listing(), before, "something was written");
    assert_eq!(
        std::fs::read_to_string(tree.root.join("outside/victim.txt")).unwrap(),
        "kept"
    );
}
