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
//! exercises` tells that a failing test failed for the right reason. A file
//! that got a hole also gets `#![allow(unused_variables)]` after its `//!`
//! block, since the parameters the answer used are now unused. Nothing else
//! changes, so the step diff shows only the holes.
//!
//! These are pure functions of the text; reading, writing and rustfmt are the
//! caller's business.

use crate::markers::Region;

/// The line a file with holes gets after its module docs.
pub const ALLOW_LINE: &str =
    "#![allow(unused_variables)] // remove when this file's exercises are done";

/// Replaces every region for which `pick` is true with a hole, and adds
/// [`ALLOW_LINE`]. Returns `None` when no region was picked (the file stays
/// as it is). `regions` must come from `markers::parse` on this same text.
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
    Some(allow_unused_variables(&out))
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

/// Inserts [`ALLOW_LINE`] after the file's leading comment block (the `//!`
/// module docs, with any `// ANCHOR:` lines inside them) and the blank line
/// that usually follows it, then a blank line, so that rustfmt leaves the
/// result alone. An inner attribute has to come before any item, and the
/// module docs are themselves inner attributes, so this is the first place
/// where it reads naturally.
pub fn allow_unused_variables(text: &str) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    // The header is the leading run of comment and blank lines; it ends
    // after its last comment line.
    let docs_end = lines
        .iter()
        .take_while(|line| line.trim_start().starts_with("//") || line.trim().is_empty())
        .enumerate()
        .filter(|(_, line)| line.trim_start().starts_with("//"))
        .last()
        .map_or(0, |(index, _)| index + 1);
    let mut out = String::with_capacity(text.len() + ALLOW_LINE.len() + 2);
    let mut at = docs_end;
    for line in &lines[..docs_end] {
        out.push_str(line);
    }
    if docs_end > 0 {
        if lines
            .get(docs_end)
            .is_some_and(|line| line.trim().is_empty())
        {
            at += 1;
        }
        out.push('\n');
    }
    out.push_str(ALLOW_LINE);
    out.push('\n');
    if lines.get(at).is_some_and(|line| !line.trim().is_empty()) {
        out.push('\n');
    }
    for line in &lines[at..] {
        out.push_str(line);
    }
    out
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

#![allow(unused_variables)] // remove when this file's exercises are done

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
    fn allow_line_goes_after_the_docs() {
        assert_eq!(
            allow_unused_variables("//! Doc.\nuse a;\n"),
            format!("//! Doc.\n\n{ALLOW_LINE}\n\nuse a;\n")
        );
        assert_eq!(
            allow_unused_variables("use a;\n"),
            format!("{ALLOW_LINE}\n\nuse a;\n")
        );
        assert_eq!(
            allow_unused_variables("//! Doc.\n\n\nuse a;\n"),
            format!("//! Doc.\n\n{ALLOW_LINE}\n\nuse a;\n")
        );
        // An anchor inside the module docs does not end them.
        assert_eq!(
            allow_unused_variables(
                "//! Doc.\n// ANCHOR: format\n//! Format.\n// ANCHOR_END: format\n\nuse a;\n"
            ),
            format!(
                "//! Doc.\n// ANCHOR: format\n//! Format.\n// ANCHOR_END: format\n\n{ALLOW_LINE}\n\nuse a;\n"
            )
        );
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
