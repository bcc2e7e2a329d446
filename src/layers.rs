//! The layers test: the library's `use` graph, read from its sources, has
//! no cycle, and every import points down the layers.
//!
//! From the bottom: `case` (the data of a case: schedule, trace, verdict,
//! seed) is read by all; `core` (the simulated software) and `judge` (the
//! oracles) read only `case`, and not each other; `engine` runs a case with
//! both; `harness` runs many; `report` renders what the harness found;
//! `suite` is what users and the command call. The check is ours, not a
//! tool's: it reads every `crate::`, `super::` and `self::` path in the code
//! (comments and test modules aside), resolves it to the file that defines
//! the module, and fails naming the edge or the cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers from the bottom; layers of one rank may not read each other.
const LAYERS: [(&str, u8); 7] = [
    ("case", 0),
    ("core", 1),
    ("judge", 1),
    ("engine", 2),
    ("harness", 3),
    ("report", 4),
    ("suite", 5),
];

/// Paths deeper than this are not a module path of ours.
const PATH_SEGMENTS_MAX: usize = 16;

/// Every library source file by its module path (`core::process`).
fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut found = BTreeMap::new();
    let mut pending = vec![src.to_path_buf()];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory).expect("src is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                if !path.ends_with("bin") {
                    pending.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|extension| extension != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).expect("under src");
            let mut segments: Vec<String> = relative
                .with_extension("")
                .iter()
                .map(|part| part.to_string_lossy().into_owned())
                .collect();
            if segments.last().is_some_and(|last| last == "mod") {
                segments.pop();
            }
            match segments.as_slice() {
                [only] if only == "main" => continue,
                [only] if only == "lib" => segments.clear(),
                _ => {}
            }
            found.insert(segments, path);
        }
    }
    found
}

/// The code of a file without its comments, the contents of its string and
/// character literals, and its inline test module (`#[cfg(test)] mod tests
/// { … }`, the last item of a file by the crate's custom); a test module in
/// a file of its own is a module like any other.
fn code(text: &str) -> String {
    let body = text
        .split("#[cfg(test)]\nmod tests {")
        .next()
        .unwrap_or_default();
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.starts_with(b"//") {
            at += rest
                .iter()
                .position(|byte| *byte == b'\n')
                .unwrap_or(rest.len());
        } else if rest.starts_with(b"/*") {
            at += rest
                .windows(2)
                .position(|pair| pair == b"*/")
                .map_or(rest.len(), |end| end + 2);
        } else if rest.starts_with(b"r#\"") || rest.starts_with(b"r\"") {
            let hashes = rest[1..].iter().take_while(|byte| **byte == b'#').count();
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            let open = 2 + hashes;
            at += rest[open..]
                .windows(close.len())
                .position(|window| window == close.as_slice())
                .map_or(rest.len(), |end| open + end + close.len());
            out.extend_from_slice(b"\"\"");
        } else if rest[0] == b'"' {
            let mut end = 1;
            while end < rest.len() && rest[end] != b'"' {
                end += if rest[end] == b'\\' { 2 } else { 1 };
            }
            at += end + 1;
            out.extend_from_slice(b"\"\"");
        } else if rest[0] == b'\'' && rest.len() > 2 && (rest[2] == b'\'' || rest[1] == b'\\') {
            // A character literal ('x', '\n'), not a lifetime.
            let end = rest[2..]
                .iter()
                .position(|byte| *byte == b'\'')
                .map_or(rest.len(), |end| end + 3);
            at += end;
            out.extend_from_slice(b"' '");
        } else {
            out.push(rest[0]);
            at += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every path `text` names from `start` on (`a::b::{c, d::e}`), expanded.
fn expand(text: &[u8], start: usize, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
    let mut at = start;
    let mut path = prefix.to_vec();
    loop {
        let begin = at;
        while at < text.len() && (text[at].is_ascii_alphanumeric() || text[at] == b'_') {
            at += 1;
        }
        if at > begin {
            path.push(String::from_utf8_lossy(&text[begin..at]).into_owned());
        }
        let group = if text[at..].starts_with(b"::{") {
            Some(3)
        } else if at == begin && text[at..].starts_with(b"{") {
            // `crate::{a::b, c}`: a group right after the root.
            Some(1)
        } else {
            None
        };
        if let Some(skip) = group {
            at += skip;
            loop {
                while at < text.len() && text[at].is_ascii_whitespace() {
                    at += 1;
                }
                if at >= text.len() || text[at] == b'}' {
                    return at + 1;
                }
                at = expand(text, at, &path, out);
                while at < text.len() && (text[at].is_ascii_whitespace() || text[at] == b',') {
                    at += 1;
                }
            }
        }
        if text[at..].starts_with(b"::") && path.len() < PATH_SEGMENTS_MAX {
            at += 2;
            continue;
        }
        out.push(path);
        return at;
    }
}

/// The module paths a file's code names, made absolute.
fn named(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let text = code.as_bytes();
    let mut paths = Vec::new();
    // The modules this file declares (`mod x;`), which it may name bare.
    let children: Vec<&str> = code
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("pub(crate) mod ")
                .or_else(|| line.strip_prefix("pub mod "))
                .or_else(|| line.strip_prefix("mod "))?;
            rest.strip_suffix(';')
        })
        .collect();
    for (index, _) in code.match_indices("::") {
        let begin = code[..index]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |at| at + 1);
        let first = &code[begin..index];
        if begin > 0 && code[..begin].ends_with("::") {
            continue;
        }
        let base: Vec<String> = match first {
            "crate" => Vec::new(),
            "self" => module.to_vec(),
            "super" => module[..module.len().saturating_sub(1)].to_vec(),
            // A child module named bare, as a folder's `mod.rs` may.
            child if children.contains(&child) => {
                let mut path = module.to_vec();
                path.push(child.to_string());
                let mut found = Vec::new();
                expand(text, index + 2, &path, &mut found);
                paths.extend(found.into_iter().map(resolve));
                continue;
            }
            _ => continue,
        };
        let mut found = Vec::new();
        expand(text, index + 2, &base, &mut found);
        paths.extend(found.into_iter().map(resolve));
    }
    paths
}

/// A path with its inner `super` and `self` segments resolved
/// (`super::super::x` is the grandparent's `x`).
fn resolve(path: Vec<String>) -> Vec<String> {
    let mut resolved = Vec::with_capacity(path.len());
    for segment in path {
        match segment.as_str() {
            "super" => {
                resolved.pop();
            }
            "self" => {}
            _ => resolved.push(segment),
        }
    }
    resolved
}

/// The import graph between files, by module path.
fn graph(src: &Path) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let modules = modules(src);
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).expect("a source file");
        let targets = edges.entry(module.clone()).or_default();
        for path in named(&code(&text), module) {
            let target = (0..=path.len())
                .rev()
                .map(|length| path[..length].to_vec())
                .find(|prefix| modules.contains_key(prefix))
                .expect("the root module exists");
            if target != *module && !(target.is_empty() && module.is_empty()) {
                targets.insert(target);
            }
        }
    }
    edges
}

fn rank(module: &[String]) -> Option<(&'static str, u8)> {
    let layer = module.first()?;
    LAYERS.into_iter().find(|(name, _)| name == layer)
}

fn name(module: &[String]) -> String {
    module.join("::")
}

#[test]
fn every_import_points_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = graph(&src);
    let layered = edges.keys().filter(|module| rank(module).is_some()).count();
    assert!(layered > 30, "the layers hold the library: {layered} files");
    let wrong = upward(&edges);
    assert!(
        wrong.is_empty(),
        "imports that point up or across:\n{}",
        wrong.join("\n")
    );
}

/// A cycle of the graph, as the modules along it, if it has one.
fn cycle(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<String>> {
    // Depth-first search with the path kept, bounded by the file count.
    let mut done = BTreeSet::new();
    for start in edges.keys() {
        if done.contains(start) {
            continue;
        }
        let mut path: Vec<(Vec<String>, Vec<Vec<String>>)> = Vec::new();
        let mut on_path = BTreeSet::new();
        path.push((start.clone(), edges[start].iter().cloned().collect()));
        on_path.insert(start.clone());
        while let Some((_, next)) = path.last_mut() {
            let Some(to) = next.pop() else {
                let (left, _) = path.pop().expect("not empty");
                on_path.remove(&left);
                done.insert(left);
                continue;
            };
            if on_path.contains(&to) {
                let around = path
                    .iter()
                    .map(|(module, _)| name(module))
                    .skip_while(|module| *module != name(&to))
                    .chain([name(&to)])
                    .collect();
                return Some(around);
            }
            if done.contains(&to) || !edges.contains_key(&to) {
                continue;
            }
            assert!(
                path.len() <= edges.len(),
                "a path longer than the file count"
            );
            on_path.insert(to.clone());
            path.push((to.clone(), edges[&to].iter().cloned().collect()));
        }
    }
    None
}

/// The edges that point up the layers or across to a layer of equal rank.
fn upward(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<String> {
    let mut wrong = Vec::new();
    for (from, targets) in edges {
        let Some((from_layer, from_rank)) = rank(from) else {
            continue;
        };
        for to in targets {
            if to.is_empty() {
                wrong.push(format!(
                    "{} -> the crate root (import from the defining module, not a re-export)",
                    name(from)
                ));
                continue;
            }
            let Some((to_layer, to_rank)) = rank(to) else {
                wrong.push(format!("{} -> {} (not in a layer)", name(from), name(to)));
                continue;
            };
            if from_layer != to_layer && to_rank >= from_rank {
                wrong.push(format!("{} -> {}", name(from), name(to)));
            }
        }
    }
    wrong
}

#[test]
fn no_file_imports_itself_through_others() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    if let Some(around) = cycle(&graph(&src)) {
        panic!("an import cycle: {}", around.join(" -> "));
    }
}

#[test]
fn the_checker_sees_a_cycle_and_an_upward_import() {
    let module = |path: &str| path.split("::").map(str::to_string).collect::<Vec<_>>();
    let found = named(
        "use crate::case::{trace::Event, verdict::{Run, Verdict}};\nuse super::view;",
        &module("judge::drain"),
    );
    assert!(found.contains(&module("case::trace::Event")), "{found:?}");
    assert!(
        found.contains(&module("case::verdict::Verdict")),
        "{found:?}"
    );
    assert!(found.contains(&module("judge::view")), "{found:?}");
    assert_eq!(rank(&module("report::svg")), Some(("report", 4)));

    // Comments, strings and an inline test module hide nothing else, and
    // hide what they hold.
    let text = code(
        "use crate::case::trace; // crate::engine::world\n\
         let s = \"crate::engine::world // \\\" x\"; use crate::judge::view;\n\
         /* crate::engine::kubelet */ let c = '\\''; use crate::core::query;\n\
         #[cfg(test)]\nmod tests {\n    use crate::engine::director;\n}\n",
    );
    let found = named(&text, &module("harness::check"));
    assert_eq!(
        found,
        [
            module("case::trace"),
            module("judge::view"),
            module("core::query")
        ],
        "{text}"
    );
    // Root groups, `super::super` and a child named bare.
    let found = named(
        "use crate::{case::Case, engine::setup::Setup};\nuse super::super::world::World;\n\
         mod runner;\nfn f() { runner::go(); }",
        &module("harness::campaign::options"),
    );
    assert!(found.contains(&module("case::Case")), "{found:?}");
    assert!(found.contains(&module("engine::setup::Setup")), "{found:?}");
    assert!(
        found.contains(&module("harness::world::World")),
        "{found:?}"
    );
    assert!(
        found.contains(&module("harness::campaign::options::runner::go")),
        "{found:?}"
    );
    let graph = |pairs: &[(&str, &str)]| {
        let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
        for (from, to) in pairs {
            edges.entry(module(from)).or_default().insert(module(to));
            edges.entry(module(to)).or_default();
        }
        edges
    };
    let looped = graph(&[("judge", "judge::oracle"), ("judge::oracle", "judge")]);
    assert_eq!(
        cycle(&looped),
        Some(vec!["judge".into(), "judge::oracle".into(), "judge".into()])
    );
    assert_eq!(
        cycle(&graph(&[("engine", "case"), ("judge", "case")])),
        None
    );
    let up = graph(&[
        ("case::trace", "engine::world"),
        ("core::lifecycle", "judge::view"),
    ]);
    assert_eq!(
        upward(&up),
        [
            "case::trace -> engine::world",
            "core::lifecycle -> judge::view"
        ]
    );
    let mut root = graph(&[]);
    root.entry(module("suite")).or_default().insert(Vec::new());
    assert_eq!(
        upward(&root).len(),
        1,
        "an import through the crate root is named"
    );
}
