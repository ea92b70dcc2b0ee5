//! `cargo xtask drift`: text in the solutions that went stale as the steps
//! grew. Each step is a full copy of the one before plus a layer, so a
//! sentence that was true in step 03 is copied into 04–07 whether or not it
//! still is. Three kinds of staleness are caught here, each reported as
//! `path:line: problem`:
//!
//! - **module docs that did not move with their code**: a file whose `//!`
//!   block is byte-identical to the same file's in the previous step, while
//!   its code changed. The docs of a file say what this step's version does,
//!   its shortcuts and invariants; when the code changes, at least one of
//!   those usually does too. (A doc that is still true can say what this
//!   version does, in the present tense: "`Corrupt` names a damaged
//!   manifest too", not "From step 05 on, …"; the history of the steps
//!   belongs in the book.)
//! - **tests named for an exercise the crate no longer has**: a test
//!   `exercise_N_M_*` in a crate without an `exercise_N_M` region, left
//!   behind when a later step rewrote that code. Its name would send a
//!   learner to an exercise that is not there.
//! - **anchors no chapter includes**: a `// ANCHOR: name` in a solution
//!   that no `{{#include …:name}}` of the book names. Anchors exist for the
//!   book; one it does not use is noise in the file a learner compares
//!   against. Exercise anchors are kept, since `sync` reads them in every
//!   step.
//!
//! Anchor lines are left out when two versions of code are compared, so
//! adding or removing an anchor does not count as a change of code.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::files;
use crate::holes;
use crate::layout::Layout;
use crate::markers::ExerciseId;
use crate::starter;

/// Runs the three checks over every solution.
pub fn check(layout: &Layout) -> Result<()> {
    let chapters = layout.solutions()?;
    let solutions = starter::load(layout, &chapters)?;
    let included = book_includes(layout)?;
    let mut problems = Vec::new();
    for (index, solution) in solutions.iter().enumerate() {
        let dir = solution.chapter.solution_dir();
        let regions: BTreeSet<ExerciseId> = solution
            .located()
            .iter()
            .map(|located| located.region.id)
            .collect();
        let previous = index.checked_sub(1).map(|at| &solutions[at]);
        for file in &solution.files {
            let Ok(text) = std::str::from_utf8(&file.contents) else {
                continue;
            };
            if file.path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let path = dir.join(&file.path);
            if let Some(previous) = previous
                && let Some(old) = previous.files.iter().find(|old| old.path == file.path)
                && let Ok(old_text) = std::str::from_utf8(&old.contents)
                && let Some(problem) = unmoved_docs(old_text, text)
            {
                problems.push(format!(
                    "{}:1: {problem} as in {}",
                    path.display(),
                    previous.chapter.solution_dir().join(&file.path).display()
                ));
            }
            problems.extend(stale_test_names(&path, text, &regions));
            problems.extend(unused_anchors(&path, text, &included));
        }
    }
    if problems.is_empty() {
        println!("drift: module docs, test names and anchors are current in every solution");
        Ok(())
    } else {
        Err(Error::Check(format!(
            "stale text in the solutions:\n  {}",
            problems.join("\n  ")
        )))
    }
}

/// Splits a file into its `//!` lines and the rest, without anchor lines.
fn docs_and_code(text: &str) -> (String, String) {
    let text = holes::strip_anchors(text).unwrap_or_else(|| text.to_string());
    let (docs, code): (Vec<&str>, Vec<&str>) = text
        .lines()
        .partition(|line| line.trim_start().starts_with("//!"));
    (docs.join("\n"), code.join("\n"))
}

/// The problem when `new` keeps `old`'s module docs though its code changed.
fn unmoved_docs(old: &str, new: &str) -> Option<String> {
    let (old_docs, old_code) = docs_and_code(old);
    let (new_docs, new_code) = docs_and_code(new);
    (!new_docs.is_empty() && old_docs == new_docs && old_code != new_code).then(|| {
        "the code changed but the module docs (//!) are word for word the same".to_string()
    })
}

/// Tests named `exercise_N_M_*` for an exercise with no region here.
fn stale_test_names(path: &Path, text: &str, regions: &BTreeSet<ExerciseId>) -> Vec<String> {
    let mut problems = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix("fn ") else {
            continue;
        };
        let name = rest.split('(').next().unwrap_or("");
        if let Some(id) = ExerciseId::from_test_name(name)
            && !regions.contains(&id)
        {
            problems.push(format!(
                "{}:{}: the test `{name}` is named for exercise {id}, which this step does not \
                 have (no `// ANCHOR: exercise_{}_{}` region): name it after what it checks",
                path.display(),
                index + 1,
                id.chapter,
                id.number
            ));
        }
    }
    problems
}

/// `// ANCHOR: name` lines (not exercises) that no include of the book
/// names, as (0-based line index, name).
fn unused_anchor_names(
    path: &Path,
    text: &str,
    included: &BTreeSet<(PathBuf, String)>,
) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter_map(|(index, line)| {
            let name = line
                .trim_start()
                .strip_prefix("//")
                .map(str::trim_start)
                .and_then(|comment| comment.strip_prefix("ANCHOR:"))
                .map(str::trim)?;
            let unused = !name.starts_with("exercise_")
                && !included.contains(&(path.to_path_buf(), name.to_string()));
            unused.then(|| (index, name.to_string()))
        })
        .collect()
}

/// The problems for [`unused_anchor_names`].
fn unused_anchors(path: &Path, text: &str, included: &BTreeSet<(PathBuf, String)>) -> Vec<String> {
    unused_anchor_names(path, text, included)
        .into_iter()
        .map(|(index, name)| {
            format!(
                "{}:{}: no chapter includes the anchor `{name}`: remove it (and its ANCHOR_END)",
                path.display(),
                index + 1
            )
        })
        .collect()
}

/// Every `(file, anchor)` that an `{{#include …}}` of the book names, with
/// the file relative to the workspace root.
fn book_includes(layout: &Layout) -> Result<BTreeSet<(PathBuf, String)>> {
    let src = layout.root.join("book/src");
    let mut included = BTreeSet::new();
    for file in files::read_tree(&src)? {
        if file.path.extension().is_none_or(|ext| ext != "md") {
            continue;
        }
        let text = String::from_utf8_lossy(&file.contents);
        let page_dir = Path::new("book/src").join(file.path.parent().unwrap_or(Path::new("")));
        for include in text.split("{{#").skip(1) {
            let Some(body) = include.split("}}").next() else {
                continue;
            };
            let Some(target) = body
                .strip_prefix("include ")
                .or_else(|| body.strip_prefix("rustdoc_include "))
            else {
                continue;
            };
            if let Some((file, anchor)) = target.trim().rsplit_once(':') {
                included.insert((normalize(&page_dir.join(file)), anchor.to_string()));
            }
        }
    }
    // The format specifications reach the book through generated pages.
    included.extend(crate::book_generated::spec_anchors());
    Ok(included)
}

/// `book/src/../../solutions/x` as `solutions/x`: `..` undone lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Removes the anchor lines that no chapter includes from every solution
/// (`cargo xtask drift --fix-anchors`); returns how many pairs went.
pub fn remove_unused_anchors(layout: &Layout) -> Result<usize> {
    let included = book_includes(layout)?;
    let mut removed = 0;
    for chapter in layout.solutions()? {
        let dir = chapter.solution_dir();
        for file in files::read_tree(&layout.root.join(&dir))? {
            if file.path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let path = dir.join(&file.path);
            let Ok(text) = String::from_utf8(file.contents.clone()) else {
                continue;
            };
            let unused: BTreeSet<String> = unused_anchor_names(&path, &text, &included)
                .into_iter()
                .map(|(_, name)| name)
                .collect();
            if unused.is_empty() {
                continue;
            }
            let kept: String = text
                .split_inclusive('\n')
                .filter(|line| {
                    let comment = line.trim_start().strip_prefix("//").map(str::trim_start);
                    let name = comment.and_then(|c| {
                        c.strip_prefix("ANCHOR:")
                            .or_else(|| c.strip_prefix("ANCHOR_END:"))
                            .map(str::trim)
                    });
                    !name.is_some_and(|name| unused.contains(name))
                })
                .collect();
            let full = layout.root.join(&path);
            fs::write(&full, kept).map_err(|source| Error::io("write", &full, source))?;
            removed += unused.len();
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_that_stayed_while_the_code_moved_are_found() {
        let old = "//! Tables are never merged.\n\nfn a() {}\n";
        assert!(unmoved_docs(old, "//! Tables are never merged.\n\nfn a() { b() }\n").is_some());
        assert!(unmoved_docs(old, "//! Tables are merged.\n\nfn a() { b() }\n").is_none());
        // An anchor added is not a change of code.
        assert!(
            unmoved_docs(
                old,
                "//! Tables are never merged.\n\n// ANCHOR: a\nfn a() {}\n"
            )
            .is_none()
        );
    }

    #[test]
    fn a_test_named_for_a_missing_exercise_is_found() {
        let regions = BTreeSet::from([ExerciseId {
            chapter: 3,
            number: 1,
        }]);
        let text = "fn exercise_3_1_a() {}\nfn exercise_3_3_b() {}\n";
        let problems = stale_test_names(Path::new("x.rs"), text, &regions);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("x.rs:2: the test `exercise_3_3_b`"),
            "{problems:?}"
        );
    }

    #[test]
    fn anchors_are_matched_with_the_books_includes() {
        let included =
            BTreeSet::from([(PathBuf::from("solutions/01-a/src/x.rs"), "used".to_string())]);
        let text = "// ANCHOR: used\n// ANCHOR: exercise_1_1\n    // ANCHOR: unused\n";
        let problems = unused_anchors(Path::new("solutions/01-a/src/x.rs"), text, &included);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].contains(":3: no chapter includes the anchor `unused`"),
            "{problems:?}"
        );
        assert_eq!(
            normalize(Path::new("book/src/../../solutions/01-a/src/x.rs")),
            PathBuf::from("solutions/01-a/src/x.rs")
        );
    }
}
