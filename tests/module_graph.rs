//! The shape of the source, checked: the library's module graph has no cycle between sibling
//! modules (at the crate root or inside any module), and no source file in the workspace is
//! over 400 lines.
//!
//! Edges are read from code lines (comments and doc links are not dependencies): a
//! `crate::a::b` path in module `x::y` is an edge from the child of their common ancestor on
//! `x::y`'s side to the child on `a::b`'s side; `super::name` resolves against the module's
//! parent. Parent and child may use each other (a child is part of its parent).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 400;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/request/run.rs` → `["request", "run"]`; `src/client/mod.rs` → `["client"]`.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> =
        rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// The module paths a file's code refers to.
fn references(code: &str, me: &[String], modules: &BTreeSet<Vec<String>>) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        for (prefix, base) in [("crate::", Vec::new()), ("super::", parent(me))] {
            let mut rest = line;
            while let Some(i) = rest.find(prefix) {
                let tail = &rest[i + prefix.len()..];
                let mut path = base.clone();
                for seg in tail.split("::") {
                    let name: String = seg
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    let mut longer = path.clone();
                    longer.push(name.clone());
                    if name.is_empty() || !modules.contains(&longer) {
                        break;
                    }
                    path = longer;
                    if !seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                        break;
                    }
                }
                if !path.is_empty() {
                    out.push(path);
                }
                rest = &rest[i + prefix.len()..];
            }
        }
    }
    out
}

fn parent(me: &[String]) -> Vec<String> {
    me[..me.len().saturating_sub(1)].to_vec()
}

/// Sibling edges: (scope, from, to).
fn sibling_edge(from: &[String], to: &[String]) -> Option<(Vec<String>, String, String)> {
    let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
    if common == from.len() || common == to.len() {
        return None; // one contains the other
    }
    Some((from[..common].to_vec(), from[common].clone(), to[common].clone()))
}

fn find_cycle(edges: &BTreeSet<(String, String)>) -> Option<Vec<String>> {
    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges {
        graph.entry(a).or_default().push(b);
    }
    fn visit<'a>(
        n: &'a str,
        graph: &BTreeMap<&'a str, Vec<&'a str>>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| *s == n) {
            return Some(stack[i..].iter().map(|s| s.to_string()).chain([n.to_string()]).collect());
        }
        if !done.insert(n) {
            return None;
        }
        stack.push(n);
        for next in graph.get(n).into_iter().flatten() {
            if let Some(c) = visit(next, graph, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    for n in graph.keys() {
        if let Some(c) = visit(n, &graph, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn library_modules_form_no_cycle_between_siblings() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_path(&src, f)).collect();
    let mut scopes: BTreeMap<Vec<String>, BTreeSet<(String, String)>> = BTreeMap::new();
    for file in &files {
        let me = module_path(&src, file);
        let code = fs::read_to_string(file).unwrap();
        for to in references(&code, &me, &modules) {
            if let Some((scope, a, b)) = sibling_edge(&me, &to) {
                scopes.entry(scope).or_default().insert((a, b));
            }
        }
    }
    assert!(scopes.get(&Vec::new()).is_some_and(|e| e.len() > 10), "the parser found edges");
    for (scope, edges) in &scopes {
        if let Some(cycle) = find_cycle(edges) {
            panic!("module cycle in crate::{}: {}", scope.join("::"), cycle.join(" -> "));
        }
    }
}

#[test]
fn the_parser_sees_a_cycle_when_there_is_one() {
    let modules: BTreeSet<Vec<String>> =
        [vec!["a".to_string()], vec!["b".to_string()]].into_iter().collect();
    let a = references("use crate::b::Thing;\n// crate::a in a comment", &["a".into()], &modules);
    let b = references("fn f() { crate::a::g() }", &["b".into()], &modules);
    assert_eq!(a, vec![vec!["b".to_string()]]);
    let edges: BTreeSet<(String, String)> =
        [("a", "b"), ("b", "a")].iter().map(|(x, y)| (x.to_string(), y.to_string())).collect();
    assert_eq!(b, vec![vec!["a".to_string()]]);
    assert!(find_cycle(&edges).is_some());
}

#[test]
fn no_source_file_is_over_400_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "tests", "examples", "benches", "crates"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 50, "found the sources");
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = fs::read_to_string(f).unwrap().lines().count();
            (n > MAX_LINES).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these files: {long:?}");
}
