//! Turns exercise answers into holes: the text transformations behind
//! `sync` (the starters) and `exercises` (the one-hole variants).
//!
//! A region (see `markers.rs`) becomes exactly two lines at its indentation:
//!
//! ```text
//! // TODO(exercise 3.2): <task>
//! todo!("exercise 3.2: <task> (book chapter 3)")
//! ```
//!
//! The `todo!` keeps the function compiling with its signature untouched, and
//! its panic message names the exercise, which is how `cargo xtask
//! exercises` tells that a failing test failed for the right reason. Nothing
//! else in the file changes, so the step diff shows only the holes.
//!
//! Two more edits make a starter read as the learner's own crate rather than
//! the book's source: [`strip_anchors`] drops the `// ANCHOR:` lines that only
//! the book uses (it includes from `solutions/`), and [`STARTER_LINTS`] goes
//! into the starter's `Cargo.toml`, because a hole leaves variables, imports
//! and helpers unused and their warnings would bury the test output. A lint
//! table in the manifest, unlike an `#![allow]` line in each file, asks the
//! learner to delete nothing.
//!
//! These are pure functions of the text; reading, writing and rustfmt are the
//! caller's business.

use crate::markers::Region;

/// The lint table a starter with holes gets at the end of its `Cargo.toml`.
/// CI builds the starters with every other warning denied, so this list is
/// exactly what the holes need.
pub const STARTER_LINTS: &str = "
# Only in the starter: the holes leave variables, imports and helpers unused
# until you fill them, and their warnings would bury your test output. The
# solutions have no such table (there, clippy denies every warning).
[lints.rust]
dead_code = \"allow\"
unused_imports = \"allow\"
unused_mut = \"allow\"
unused_variables = \"allow\"
";

/// Replaces every region for which `pick` is true with a hole. Returns
/// `None` when no region was picked (the file stays as it is). `regions` must come from `markers::parse` on this same text.
pub fn punch(text: &str, regions: &[Region], pick: impl Fn(&Region) -> bool) -> Option<String> {
    let picked: Vec<&Region> = regions.iter().filter(|region| pick(region)).collect();
    if picked.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut lines = text.split_inclusive('\n').enumerate();
    while let Some((index, line)) = lines.next() {
        match picked.iter().find(|region| region.start == index) {
            Some(region) => {
                out.push_str(&hole(region));
                // Skip the answer, up to and including its ANCHOR_END line.
                for (inner, _) in lines.by_ref() {
                    if inner == region.end {
                        break;
                    }
                }
            }
            None => out.push_str(line),
        }
    }
    Some(out)
}

/// The two lines that replace `region`, each ending in `\n`.
pub fn hole(region: &Region) -> String {
    let indent = &region.indent;
    format!(
        "{indent}// TODO(exercise {id}): {task}\n{indent}todo!(\"{message}\")\n",
        id = region.id,
        task = region.description,
        message = todo_literal(&todo_message(region)),
    )
}

/// The panic message of a hole, before escaping.
pub fn todo_message(region: &Region) -> String {
    format!(
        "exercise {}: {} (book chapter {})",
        region.id, region.description, region.id.chapter
    )
}

/// Escapes `message` for the inside of `todo!("…")`. The literal is a string
/// literal (so `\` and `"` are escaped) and also a format string (so `{` and
/// `}` are doubled, or `todo!` would read them as placeholders).
pub fn todo_literal(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for c in message.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '{' => out.push_str("{{"),
            '}' => out.push_str("}}"),
            _ => out.push(c),
        }
    }
    out
}

/// Drops every mdBook anchor line (`// ANCHOR: name`, `// ANCHOR_END:
/// name`). Returns `None` when there is none.
pub fn strip_anchors(text: &str) -> Option<String> {
    let is_anchor = |line: &str| {
        line.trim_start()
            .strip_prefix("//")
            .map(str::trim_start)
            .is_some_and(|comment| {
                comment.starts_with("ANCHOR:") || comment.starts_with("ANCHOR_END:")
            })
    };
    if !text.lines().any(is_anchor) {
        return None;
    }
    Some(
        text.split_inclusive('\n')
            .filter(|line| !is_anchor(line))
            .collect(),
    )
}

/// Renames one crate's package and library in `text`: `solution-NN` becomes
/// `<package>` and `solution_NN` becomes `<package>` with `_` for `-`. Only
/// this crate's own NN is touched: a mention of another chapter's solution
/// is a reference to that crate and must stay.
pub fn rename_crate(text: &str, nn: &str, package: &str) -> String {
    text.replace(&format!("solution-{nn}"), package)
        .replace(&format!("solution_{nn}"), &package.replace('-', "_"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::markers;
    use std::path::Path;

    const SOLUTION: &str = "\
//! A store.
//!
//! It stores.

use std::collections::HashMap;

impl Store {
    fn get(&self, key: &str) -> Option<u32> {
        // ANCHOR: exercise_1_1
        // Exercise 1.1: look the key up in {the map}.
        self.map.get(key).copied()
        // ANCHOR_END: exercise_1_1
    }

    fn put(&self, key: &str) {
        // ANCHOR: exercise_2_1
        // Exercise 2.1: insert the key.
        self.map.insert(key);
        // ANCHOR_END: exercise_2_1
    }
}
";

    const STARTER: &str = "\
//! A store.
//!
//! It stores.

use std::collections::HashMap;

impl Store {
    fn get(&self, key: &str) -> Option<u32> {
        // ANCHOR: exercise_1_1
        // Exercise 1.1: look the key up in {the map}.
        self.map.get(key).copied()
        // ANCHOR_END: exercise_1_1
    }

    fn put(&self, key: &str) {
        // TODO(exercise 2.1): insert the key.
        todo!(\"exercise 2.1: insert the key. (book chapter 2)\")
    }
}
";

    #[test]
    fn only_the_picked_chapter_becomes_a_hole() {
        let regions = markers::parse(Path::new("src/store.rs"), SOLUTION).unwrap();
        let starter = punch(SOLUTION, &regions, |region| region.id.chapter == 2).unwrap();
        assert_eq!(starter, STARTER);
        assert_eq!(
            punch(SOLUTION, &regions, |region| region.id.chapter == 3),
            None
        );
    }

    #[test]
    fn a_hole_escapes_its_message_for_the_format_string() {
        let regions = markers::parse(Path::new("src/store.rs"), SOLUTION).unwrap();
        assert_eq!(
            hole(&regions[0]),
            "        // TODO(exercise 1.1): look the key up in {the map}.\n        \
             todo!(\"exercise 1.1: look the key up in {{the map}}. (book chapter 1)\")\n"
        );
    }

    #[test]
    fn todo_literal_escapes_quotes_backslashes_and_braces() {
        let escaped = todo_literal(r#"say "hi" {x} \n"#);
        assert_eq!(escaped, r#"say \"hi\" {{x}} \\n"#);
        // The same literal, written out, panics with the original text.
        let panic = std::panic::catch_unwind(|| -> () { todo!("say \"hi\" {{x}} \\n") });
        let payload = panic.unwrap_err();
        // A message without arguments may arrive as a `&str` or a `String`.
        let message = match payload.downcast_ref::<&str>() {
            Some(text) => text.to_string(),
            None => payload.downcast_ref::<String>().unwrap().clone(),
        };
        assert_eq!(message, r#"not yet implemented: say "hi" {x} \n"#);
    }

    #[test]
    fn anchor_lines_are_dropped_and_nothing_else() {
        let text = "//! Doc.\n// ANCHOR: format\n//! Format.\n// ANCHOR_END: format\n\n\
                    fn a() {\n    //ANCHOR: x\n    // An ANCHOR: in prose stays.\n}\n";
        assert_eq!(
            strip_anchors(text).unwrap(),
            "//! Doc.\n//! Format.\n\nfn a() {\n    // An ANCHOR: in prose stays.\n}\n"
        );
        assert_eq!(strip_anchors("fn a() {}\n"), None);
    }

    #[test]
    fn renaming_touches_only_the_own_chapter() {
        let text = "name = \"solution-02\"\nuse solution_02::X;\nuse solution_01::Y;\n";
        assert_eq!(
            rename_crate(text, "02", "step-02"),
            "name = \"step-02\"\nuse step_02::X;\nuse solution_01::Y;\n"
        );
        assert_eq!(
            rename_crate(text, "02", "hole-02-3"),
            "name = \"hole-02-3\"\nuse hole_02_3::X;\nuse solution_01::Y;\n"
        );
    }
}
