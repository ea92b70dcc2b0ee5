//! `cargo xtask cycles`: no solution has an import cycle between its files.
//!
//! The style guide asks for floors: a file of a step crate imports only
//! files below it, so that a reader can read a step bottom-up. Two files
//! that import each other (`store.rs` imports the shaker, the shaker imports
//! `store.rs`) are one room with a wall in the wrong place. This check reads
//! every `use crate::…;` item of each solution's `src/*.rs`, makes a graph of
//! which file imports which, and fails on every cycle, naming its files and
//! the line of each import that closes it.
//!
//! What counts as an import:
//! - a `use crate::…;` or `pub use crate::…;` item, on one line or several,
//!   with nested braces (`use crate::{files, sstable::{self, SsTable}};`);
//!   the first name after `crate::` is the module imported;
//! - a name that `lib.rs` re-exports at the crate's root (`crate::Error`,
//!   through `pub use error::{Error, Result};`) counts as its module.
//!
//! Left out, on purpose or for simplicity:
//! - `lib.rs` and `main.rs`: the roof, which declares and re-exports every
//!   module, and the binary, which uses the library by its name;
//! - test modules (`#[cfg(test)] mod … { … }`, as rustfmt writes them, ending
//!   at a `}` in the first column) and `#[cfg(test)]` imports: a test may
//!   drive a file from above, as `tests/` drives the whole crate;
//! - `crate::a::b` paths written in code rather than in a `use`, and
//!   anything in comments (doc links included).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use crate::error::{Error, Result};
use crate::layout::Layout;

/// One import of a file: the module it names and the line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Import {
    module: String,
    line: usize,
}

/// The import graph of one crate: each module (a file stem) and, for each
/// module it imports, the line of the first such import.
type Graph = BTreeMap<String, BTreeMap<String, usize>>;

/// Checks every solution; the error lists each cycle found.
pub fn check(layout: &Layout) -> Result<()> {
    let mut problems = Vec::new();
    let mut checked = 0;
    for chapter in layout.solutions()? {
        let src = chapter.solution_dir().join("src");
        let graph = read_crate(&layout.root.join(&src))?;
        checked += 1;
        for (component, cycle) in cycles(&graph) {
            problems.push(describe(&src, &graph, &component, &cycle));
        }
    }
    if problems.is_empty() {
        println!("cycles: no import cycle in any of the {checked} solutions");
        Ok(())
    } else {
        Err(Error::Check(format!(
            "import cycles in the solutions (a file should import only files below it: \
             move what both need into a file of its own below them):\n  {}",
            problems.join("\n  ")
        )))
    }
}

/// Reads the `*.rs` files directly in `src` into an import graph.
fn read_crate(src: &Path) -> Result<Graph> {
    let mut texts = BTreeMap::new();
    let entries = fs::read_dir(src).map_err(|source| Error::io("list", src, source))?;
    for entry in entries {
        let path = entry
            .map_err(|source| Error::io("list", src, source))?
            .path();
        if path.extension().is_some_and(|extension| extension == "rs")
            && let Some(stem) = path.file_stem().and_then(|stem| stem.to_str())
        {
            let text =
                fs::read_to_string(&path).map_err(|source| Error::io("read", &path, source))?;
            texts.insert(stem.to_string(), text);
        }
    }
    Ok(graph_of(&texts))
}

/// The import graph of a crate whose files are `texts` (file stem -> text).
fn graph_of(texts: &BTreeMap<String, String>) -> Graph {
    let modules: BTreeSet<&str> = texts
        .keys()
        .map(String::as_str)
        .filter(|stem| !matches!(*stem, "lib" | "main"))
        .collect();
    let reexports = texts
        .get("lib")
        .map(|lib| root_reexports(lib, &modules))
        .unwrap_or_default();
    let mut graph = Graph::new();
    for module in &modules {
        let edges = graph.entry(module.to_string()).or_default();
        for import in imports(&texts[*module], &modules, &reexports) {
            if import.module != *module {
                edges.entry(import.module).or_insert(import.line);
            }
        }
    }
    graph
}

/// The names `lib.rs` re-exports at the crate's root, each with its module:
/// `pub use error::{Error, Result};` gives `Error -> error`, `Result -> error`.
fn root_reexports(lib: &str, modules: &BTreeSet<&str>) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for (_, item) in use_items(lib, false) {
        let Some(path) = item.strip_prefix("pub use ") else {
            continue;
        };
        let path = path.strip_prefix("crate::").unwrap_or(path);
        for leaf in expand(path) {
            let mut segments = leaf.split("::");
            let first = segments.next().unwrap_or_default();
            let last = leaf.rsplit("::").next().unwrap_or_default();
            let last = last.rsplit(" as ").next().unwrap_or(last).trim();
            if modules.contains(first) && last != first {
                names.insert(last.to_string(), first.to_string());
            }
        }
    }
    names
}

/// The modules that `text` imports with `use crate::…` outside its tests.
fn imports(
    text: &str,
    modules: &BTreeSet<&str>,
    reexports: &BTreeMap<String, String>,
) -> Vec<Import> {
    let mut found = Vec::new();
    for (line, item) in use_items(text, true) {
        let path = item.strip_prefix("pub ").unwrap_or(&item);
        let path = path.strip_prefix("pub(crate) ").unwrap_or(path);
        let Some(path) = path.strip_prefix("use crate::") else {
            continue;
        };
        for leaf in expand(path) {
            let first = leaf.split("::").next().unwrap_or_default();
            let first = first.split(" as ").next().unwrap_or(first).trim();
            let module = if modules.contains(first) {
                Some(first.to_string())
            } else {
                reexports.get(first).cloned()
            };
            if let Some(module) = module {
                found.push(Import { module, line });
            }
        }
    }
    found
}

/// Every `use` item of `text` (the words from `use` or `pub use` to the `;`,
/// with whitespace collapsed), with the line it starts on. With `skip_tests`,
/// the items inside `#[cfg(test)]` modules and those marked `#[cfg(test)]`
/// are left out.
fn use_items(text: &str, skip_tests: bool) -> Vec<(usize, String)> {
    let mut items = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((index, line)) = lines.next() {
        if skip_tests && line.trim() == "#[cfg(test)]" {
            let next = lines.peek().map_or("", |(_, next)| next.trim_start());
            if next.starts_with("mod ") || next.starts_with("pub mod ") {
                if next.trim_end().ends_with(';') {
                    lines.next();
                    continue;
                }
                // A block module, as rustfmt writes it: it ends at the
                // first `}` in the first column.
                for (_, inner) in lines.by_ref() {
                    if inner == "}" {
                        break;
                    }
                }
                continue;
            }
            // A single item under the attribute: skip it to its `;`.
            for (_, inner) in lines.by_ref() {
                if inner.trim_end().ends_with(';') {
                    break;
                }
            }
            continue;
        }
        let trimmed = line.trim_start();
        let starts_use = ["use ", "pub use ", "pub(crate) use "]
            .iter()
            .any(|prefix| trimmed.starts_with(prefix));
        if !starts_use {
            continue;
        }
        let mut item = trimmed.trim_end().to_string();
        while !item.ends_with(';') {
            let Some((_, more)) = lines.next() else {
                break;
            };
            item.push(' ');
            item.push_str(more.trim());
        }
        let item = item.trim_end_matches(';');
        let collapsed: Vec<&str> = item.split_whitespace().collect();
        items.push((index + 1, collapsed.join(" ")));
    }
    items
}

/// The leaf paths of a use tree: `a::{b, c::{self, D}}` gives `a::b`,
/// `a::c::self` and `a::c::D`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![tree.to_string()];
    };
    let prefix = &tree[..open];
    let inner = tree[open + 1..].trim_end();
    let inner = inner.strip_suffix('}').unwrap_or(inner);
    let mut leaves = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    let mut parts = Vec::new();
    for (at, character) in inner.char_indices() {
        match character {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    for part in parts {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        for leaf in expand(part) {
            leaves.push(format!("{prefix}{leaf}"));
        }
    }
    leaves
}

/// The cycles of `graph`: each strongly connected component of more than one
/// module (files that all reach each other through imports), with one cycle
/// through some of them (the shortest from its first module), in the order
/// the imports go.
fn cycles(graph: &Graph) -> Vec<(Vec<String>, Vec<String>)> {
    let mut found = Vec::new();
    for component in components(graph) {
        if component.len() < 2 {
            continue;
        }
        let start = &component[0];
        if let Some(cycle) = shortest_cycle(graph, start, &component) {
            found.push((component.clone(), cycle));
        }
    }
    found
}

/// The strongly connected components of `graph` (Kosaraju: finishing order
/// on the graph, then reachability on the reversed graph), each sorted.
fn components(graph: &Graph) -> Vec<Vec<String>> {
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    for module in graph.keys() {
        finish(graph, module, &mut seen, &mut order);
    }
    let mut reversed: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, edges) in graph {
        for to in edges.keys() {
            reversed.entry(to.as_str()).or_default().push(from.as_str());
        }
    }
    let mut assigned = BTreeSet::new();
    let mut components = Vec::new();
    for module in order.iter().rev() {
        if assigned.contains(module.as_str()) {
            continue;
        }
        let mut component = Vec::new();
        let mut stack = vec![module.as_str()];
        assigned.insert(module.as_str());
        while let Some(at) = stack.pop() {
            component.push(at.to_string());
            for &from in reversed.get(at).into_iter().flatten() {
                if assigned.insert(from) {
                    stack.push(from);
                }
            }
        }
        component.sort();
        components.push(component);
    }
    components
}

/// Depth-first search from `module`, pushing each module once all it
/// imports are done (iterative, so a long chain does not overflow).
fn finish(graph: &Graph, module: &str, seen: &mut BTreeSet<String>, order: &mut Vec<String>) {
    if !seen.insert(module.to_string()) {
        return;
    }
    let edges = |at: &str| -> Vec<String> {
        graph
            .get(at)
            .map(|edges| edges.keys().cloned().collect())
            .unwrap_or_default()
    };
    let mut stack = vec![(module.to_string(), edges(module), 0)];
    while let Some((at, next, index)) = stack.last_mut() {
        if let Some(to) = next.get(*index).cloned() {
            *index += 1;
            if seen.insert(to.clone()) {
                let to_edges = edges(&to);
                stack.push((to, to_edges, 0));
            }
        } else {
            order.push(at.clone());
            stack.pop();
        }
    }
}

/// The shortest cycle from `start` back to itself within `component`, by
/// breadth-first search: `[start, …, start]`.
fn shortest_cycle(graph: &Graph, start: &str, component: &[String]) -> Option<Vec<String>> {
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(at) = queue.pop_front() {
        for to in graph.get(at).into_iter().flat_map(BTreeMap::keys) {
            if !component.contains(to) {
                continue;
            }
            if to == start {
                // Walk back from `at` to `start`, then turn the path round.
                let mut path = vec![at.to_string()];
                let mut back = at;
                while back != start {
                    back = came_from[back];
                    path.push(back.to_string());
                }
                path.reverse();
                path.push(start.to_string());
                return Some(path);
            }
            if !came_from.contains_key(to.as_str()) {
                came_from.insert(to, at);
                queue.push_back(to);
            }
        }
    }
    None
}

/// One entry of the report: the files that import each other, one cycle
/// among them, and where each of its files imports the next
/// (`src/store.rs:52 imports shaker`).
fn describe(src: &Path, graph: &Graph, component: &[String], cycle: &[String]) -> String {
    let room: Vec<String> = component
        .iter()
        .map(|module| format!("{module}.rs"))
        .collect();
    let files: Vec<String> = cycle.iter().map(|module| format!("{module}.rs")).collect();
    let imports: Vec<String> = cycle
        .windows(2)
        .map(|pair| {
            let line = graph[&pair[0]][&pair[1]];
            format!(
                "{}:{line} imports {}",
                src.join(format!("{}.rs", pair[0])).display(),
                pair[1]
            )
        })
        .collect();
    format!(
        "{}: {} import each other; for one: {}\n    ({})",
        src.display(),
        room.join(", "),
        files.join(" -> "),
        imports.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A crate of `files` (stem, text).
    fn crate_of(files: &[(&str, &str)]) -> BTreeMap<String, String> {
        files
            .iter()
            .map(|(stem, text)| (stem.to_string(), text.to_string()))
            .collect()
    }

    const LIB: &str = "mod error;\nmod shaker;\npub mod store;\n\
                       pub use error::{Error, Result};\npub use store::{Storage, Store};\n";

    #[test]
    fn two_files_that_import_each_other_are_a_cycle_named_with_its_lines() {
        let texts = crate_of(&[
            ("lib", LIB),
            ("error", "//! Errors.\n"),
            (
                "store",
                "//! The store.\n\nuse crate::shaker::{self, Mailbox};\nuse crate::{Error, Result};\n",
            ),
            (
                "shaker",
                "//! The shaker.\nuse std::sync::Arc;\n\nuse crate::Result;\nuse crate::store::Shared;\n",
            ),
        ]);
        let graph = graph_of(&texts);
        assert_eq!(
            graph["store"].keys().collect::<Vec<_>>(),
            ["error", "shaker"]
        );
        assert_eq!(
            graph["shaker"].keys().collect::<Vec<_>>(),
            ["error", "store"]
        );
        let found = cycles(&graph);
        assert_eq!(found.len(), 1, "{found:?}");
        let (component, cycle) = &found[0];
        assert_eq!(component, &["shaker", "store"]);
        assert_eq!(cycle, &["shaker", "store", "shaker"]);
        let report = describe(
            Path::new("solutions/04-shaker/src"),
            &graph,
            component,
            cycle,
        );
        assert_eq!(
            report,
            "solutions/04-shaker/src: shaker.rs, store.rs import each other; \
             for one: shaker.rs -> store.rs -> shaker.rs\n    \
             (solutions/04-shaker/src/shaker.rs:5 imports store; \
             solutions/04-shaker/src/store.rs:3 imports shaker)"
        );
    }

    #[test]
    fn a_cycle_through_three_files_and_nested_braces_is_found() {
        let texts = crate_of(&[
            ("lib", LIB),
            (
                "a",
                "use crate::{\n    b::{self, X},\n    error::Error,\n};\n",
            ),
            ("b", "pub use crate::c::Y;\n"),
            ("c", "use crate::{a, Result};\n"),
            ("error", ""),
        ]);
        let graph = graph_of(&texts);
        assert_eq!(graph["a"].get("b"), Some(&1));
        let found = cycles(&graph);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, ["a", "b", "c"]);
        assert_eq!(found[0].1, ["a", "b", "c", "a"]);
    }

    #[test]
    fn floors_have_no_cycle() {
        let texts = crate_of(&[
            ("lib", LIB),
            ("error", ""),
            ("mailbox", "use std::sync::Mutex;\n"),
            (
                "shared",
                "use crate::mailbox::Mailbox;\nuse crate::{Error, Result};\n",
            ),
            ("shaker", "use crate::Result;\nuse crate::shared::Shared;\n"),
            (
                "store",
                "use crate::shaker;\nuse crate::shared::Shared;\nuse crate::mailbox::Mailbox;\n",
            ),
        ]);
        let graph = graph_of(&texts);
        assert!(cycles(&graph).is_empty(), "{graph:?}");
    }

    #[test]
    fn tests_comments_and_the_crate_root_are_not_imports() {
        let texts = crate_of(&[
            ("lib", LIB),
            ("error", ""),
            (
                "shaker",
                "//! See [`Store`](crate::store::Store).\n\
                 // use crate::store::Store;\n\
                 #[cfg(test)]\nuse crate::store::Store;\n\
                 fn f() {}\n\n\
                 #[cfg(test)]\nmod tests {\n    use crate::store::Store;\n    fn g() {\n    }\n}\n",
            ),
            ("store", "use crate::shaker;\n"),
        ]);
        let graph = graph_of(&texts);
        assert!(graph["shaker"].is_empty(), "{graph:?}");
        assert!(cycles(&graph).is_empty());
    }

    #[test]
    fn a_use_tree_expands_to_its_leaves() {
        assert_eq!(
            expand("{files, sstable::{self, SsTable}, Error as E}"),
            ["files", "sstable::self", "sstable::SsTable", "Error as E"]
        );
    }
}
