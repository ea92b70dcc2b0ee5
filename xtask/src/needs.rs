//! `// needs: exercise N.M`: a test that needs an exercise it does not test.
//!
//! A starter must fail only in the tests of its own exercises. Some tests of
//! a solution cannot pass without an exercise they are not about: from step
//! 07 on every durable write waits for exercise 7.3's sync, and every table
//! written gets exercise 7.1's bloom filter. Such a test carries the marker
//! right above its attributes, one line per exercise it needs:
//!
//! ```text
//!     // needs: exercise 7.3
//!     #[test]
//!     fn acknowledged_writes_survive_a_crash() {
//! ```
//!
//! In a crate where one of those exercises is a hole (the starter, or a
//! one-hole variant), the marker lines become one attribute:
//!
//! ```text
//!     #[ignore = "needs exercise 7.3 (book chapter 7): `cargo xtask check 07` runs it"]
//! ```
//!
//! so that `cargo test -p step-07` fails only at the exercise tests, and
//! the learner's `cargo xtask check` and `progress` run the ignored tests
//! too (`--include-ignored`): nothing is skipped once the learner works on
//! the step. Where none of the exercises is a hole (a later step, where they
//! are solved) the marker lines are dropped, like the book's anchors.
//! `cargo xtask exercises` proves that each such test fails in the starter
//! at the hole its marker names, so no marker hides a test that could run.
//!
//! The marker is checked when a solution is read: it names an exercise of
//! its crate, and a test's attribute (`#[…]`) or another marker follows it.

use std::collections::BTreeSet;
use std::path::Path;

use crate::markers::ExerciseId;

/// What a line says, if it is a `// needs:` marker: the exercise, or why
/// the marker cannot be read.
pub fn marker(line: &str) -> Option<Result<ExerciseId, String>> {
    let rest = line.trim().strip_prefix("//")?.trim_start();
    let rest = rest.strip_prefix("needs:")?.trim();
    Some(
        rest.strip_prefix("exercise ")
            .and_then(|id| ExerciseId::from_dotted(id.trim()))
            .ok_or_else(|| {
                format!(
                    "malformed marker `{}`: expected `// needs: exercise N.M`",
                    line.trim()
                )
            }),
    )
}

/// Checks every marker of one file: it reads as `// needs: exercise N.M`,
/// names one of `known` (the crate's exercises), and stands right above a
/// test's attributes. `path` is only used in the messages.
pub fn check(path: &Path, text: &str, known: &BTreeSet<ExerciseId>) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut problems = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let at = format!("{}:{}", path.display(), index + 1);
        match marker(line) {
            None => continue,
            Some(Err(problem)) => problems.push(format!("{at}: {problem}")),
            Some(Ok(id)) if !known.contains(&id) => problems.push(format!(
                "{at}: the test needs exercise {id}, but this crate has no `// ANCHOR: exercise_{}_{}` region",
                id.chapter, id.number
            )),
            Some(Ok(_)) => {}
        }
        let next = lines.get(index + 1).map(|next| next.trim_start());
        if !next.is_some_and(|next| next.starts_with("#[") || marker(next).is_some()) {
            problems.push(format!(
                "{at}: a `// needs:` marker goes right above a test's attributes (`#[test]`)"
            ));
        }
    }
    problems
}

/// Turns the markers of `text` into `#[ignore]` attributes where one of the
/// exercises they name is a hole (`is_hole`), and drops them elsewhere.
/// `nn` is the step, for the command the reason names. Returns `None` when
/// the text has no marker.
pub fn resolve(text: &str, is_hole: impl Fn(ExerciseId) -> bool, nn: &str) -> Option<String> {
    if !text.lines().any(|line| marker(line).is_some()) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    // The holes named by the markers read so far, and their indentation.
    let mut pending: Option<(String, Vec<ExerciseId>)> = None;
    for line in text.split_inclusive('\n') {
        if let Some(found) = marker(line) {
            let (_, holes) = pending.get_or_insert_with(|| {
                let indent = &line[..line.len() - line.trim_start().len()];
                (indent.to_string(), Vec::new())
            });
            if let Ok(id) = found
                && is_hole(id)
            {
                holes.push(id);
            }
            continue;
        }
        if let Some((indent, holes)) = pending.take()
            && !holes.is_empty()
        {
            out.push_str(&format!("{indent}#[ignore = \"{}\"]\n", reason(&holes, nn)));
        }
        out.push_str(line);
    }
    Some(out)
}

/// The reason of the `#[ignore]` that stands for the markers of `holes`.
pub fn reason(holes: &[ExerciseId], nn: &str) -> String {
    let ids: Vec<String> = holes.iter().map(ExerciseId::to_string).collect();
    let chapters: BTreeSet<u32> = holes.iter().map(|id| id.chapter).collect();
    let chapters: Vec<String> = chapters.iter().map(u32::to_string).collect();
    format!(
        "needs exercise {} (book chapter {}): `cargo xtask check {nn}` runs it",
        ids.join(" and "),
        chapters.join(" and ")
    )
}

/// The exercises an ignored test's reason names, if [`reason`] wrote it;
/// empty for any other reason.
pub fn needed(reason: &str) -> Vec<ExerciseId> {
    let Some(rest) = reason.trim().strip_prefix("needs exercise ") else {
        return Vec::new();
    };
    let ids = rest.split(" (book chapter").next().unwrap_or("");
    ids.split(" and ")
        .filter_map(|id| ExerciseId::from_dotted(id.trim()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOLUTION: &str = "\
#[cfg(test)]
mod tests {
    #[test]
    fn given() {}

    // needs: exercise 7.3
    #[test]
    fn durable() {}

    // needs: exercise 6.2
    // needs: exercise 7.1
    #[test]
    fn reads_a_table() {}

    // needs: exercise 6.2
    #[test]
    fn reads_an_index() {}
}
";

    fn id(chapter: u32, number: u32) -> ExerciseId {
        ExerciseId { chapter, number }
    }

    #[test]
    fn a_marker_of_a_hole_becomes_an_ignore_and_others_are_dropped() {
        let starter = resolve(SOLUTION, |id| id.chapter == 7, "07").unwrap();
        assert_eq!(
            starter,
            "\
#[cfg(test)]
mod tests {
    #[test]
    fn given() {}

    #[ignore = \"needs exercise 7.3 (book chapter 7): `cargo xtask check 07` runs it\"]
    #[test]
    fn durable() {}

    #[ignore = \"needs exercise 7.1 (book chapter 7): `cargo xtask check 07` runs it\"]
    #[test]
    fn reads_a_table() {}

    #[test]
    fn reads_an_index() {}
}
"
        );
        // A one-hole variant ignores only the tests of its hole.
        let variant = resolve(SOLUTION, |found| found == id(7, 1), "07").unwrap();
        assert!(
            variant.contains("    #[test]\n    fn durable() {}"),
            "{variant}"
        );
        assert_eq!(variant.matches("#[ignore").count(), 1, "{variant}");
        assert_eq!(resolve("#[test]\nfn a() {}\n", |_| true, "07"), None);
    }

    #[test]
    fn two_holes_are_named_in_one_reason_and_read_back() {
        let text = "    // needs: exercise 7.1\n    // needs: exercise 7.3\n    #[test]\n";
        let starter = resolve(text, |_| true, "07").unwrap();
        let expected =
            "needs exercise 7.1 and 7.3 (book chapter 7): `cargo xtask check 07` runs it";
        assert_eq!(
            starter,
            format!("    #[ignore = \"{expected}\"]\n    #[test]\n")
        );
        assert_eq!(needed(expected), [id(7, 1), id(7, 3)]);
        assert_eq!(needed("slow"), []);
    }

    #[test]
    fn markers_are_checked_for_their_id_and_place() {
        let known = BTreeSet::from([id(6, 2), id(7, 3)]);
        assert_eq!(
            check(Path::new("src/store.rs"), SOLUTION, &known),
            [
                "src/store.rs:11: the test needs exercise 7.1, but this crate has no \
              `// ANCHOR: exercise_7_1` region"
            ]
        );
        let text = "// needs: 7.3\n#[test]\nfn a() {}\n// needs: exercise 7.3\n\nfn b() {}\n";
        assert_eq!(
            check(Path::new("a.rs"), text, &known),
            [
                "a.rs:1: malformed marker `// needs: 7.3`: expected `// needs: exercise N.M`",
                "a.rs:4: a `// needs:` marker goes right above a test's attributes (`#[test]`)",
            ]
        );
    }
}
