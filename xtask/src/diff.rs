//! `cargo xtask diff A B`: the diff between two solutions, e.g. `diff 01 02`.
//!
//! A step's diff is what its chapter teaches: the new files, plus the small
//! edits where `store.rs` and `lib.rs` plug the new layer in. Reading it is
//! the quickest review of a chapter, and the book can show it.
//!
//! The mdBook anchor lines (`// ANCHOR: name`) are left out: they are the
//! book's bookkeeping, not the chapter's code, and the starters do not have
//! them either. So the diff compares copies of the two solutions without
//! them, under `target/xtask/diff/solutions/`, with the same relative paths.
//!
//! The text comes from `diff -ru` run in that directory with relative paths
//! and `LC_ALL=C`, so it holds no absolute path and lists files in byte
//! order. `diff` prints each file's modification time in its `---` and
//! `+++` lines; we drop those, so the same two solutions always give the same
//! text (`--label` cannot do this for a recursive diff: it would give every
//! file the same name).

use std::io::IsTerminal;
use std::process::Command;

use crate::error::{Error, Result};
use crate::files::{self, File};
use crate::holes;
use crate::layout::{self, Layout};

/// Prints the diff of solutions `a` and `b` (chapter numbers or directory
/// names). Two identical solutions print nothing; that is not an error.
pub fn run(layout: &Layout, args: &[String]) -> Result<()> {
    let [a, b] = args else {
        return Err(Error::Usage(
            "`diff` takes two chapters, e.g. `cargo xtask diff 01 02`".into(),
        ));
    };
    let text = solution_diff(layout, a, b)?;
    if text.is_empty() {
        eprintln!("no differences between solutions {a} and {b}");
    }
    if std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        print!("{}", coloured(&text));
    } else {
        print!("{text}");
    }
    Ok(())
}

/// The deterministic diff of two solutions, for this command and for the
/// book's tooling.
pub fn solution_diff(layout: &Layout, a: &str, b: &str) -> Result<String> {
    let solutions = layout.solutions()?;
    let picked = layout::select(&solutions, &[a.to_string(), b.to_string()], "solution")?;
    // `select` drops a repeated name, so `diff 01 01` picks one chapter.
    let (from, to) = (&picked[0], picked.get(1).unwrap_or(&picked[0]));
    let scratch = layout.scratch("diff");
    for chapter in [from, to] {
        let files: Vec<File> = files::read_tree(&layout.root.join(chapter.solution_dir()))?
            .into_iter()
            .map(without_anchors)
            .collect();
        files::update_tree(&scratch.join(chapter.solution_dir()), &files)?;
    }
    let mut command = Command::new("diff");
    command
        .args(["-ruN", "-x", "target"])
        .arg(from.solution_dir())
        .arg(to.solution_dir())
        .current_dir(&scratch)
        .env("LC_ALL", "C");
    let output = command.output().map_err(|source| Error::Spawn {
        program: "diff".into(),
        source,
    })?;
    // diff exits 0 for no differences, 1 for differences, 2 for trouble.
    match output.status.code() {
        Some(0 | 1) => Ok(without_timestamps(&String::from_utf8_lossy(&output.stdout))),
        _ => Err(Error::Tool {
            program: format!(
                "diff -ru {} {}",
                from.solution_dir().display(),
                to.solution_dir().display()
            ),
            message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        }),
    }
}

/// The file without its anchor lines, if it is text.
fn without_anchors(file: File) -> File {
    let stripped = std::str::from_utf8(&file.contents)
        .ok()
        .and_then(holes::strip_anchors);
    match stripped {
        Some(text) => File {
            contents: text.into_bytes(),
            ..file
        },
        None => file,
    }
}

/// The diff with ANSI colours for a terminal: file headers bold, hunk
/// headers cyan, removed lines red, added lines green.
fn coloured(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len() * 2);
    let mut in_header = false;
    for line in diff.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        if line.starts_with("diff ") {
            in_header = true;
        } else if line.starts_with("@@") {
            in_header = false;
        }
        let colour = if in_header || line.starts_with("Only in ") {
            "1"
        } else if line.starts_with("@@") {
            "36"
        } else if line.starts_with('-') {
            "31"
        } else if line.starts_with('+') {
            "32"
        } else {
            ""
        };
        if colour.is_empty() {
            out.push_str(line);
        } else {
            out.push_str(&format!("\u{1b}[{colour}m{body}\u{1b}[0m"));
            out.push_str(&line[body.len()..]);
        }
    }
    out
}

/// Drops the tab and timestamp from each file's `---`/`+++` header. Only the
/// two lines after a `diff -ru …` line are headers: a removed line that
/// starts with `--` also begins with `---` inside a hunk.
pub fn without_timestamps(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len());
    let mut headers_left = 0;
    for line in diff.split_inclusive('\n') {
        let is_header = headers_left > 0 && (line.starts_with("--- ") || line.starts_with("+++ "));
        if line.starts_with("diff ") {
            headers_left = 2;
            out.push_str(line);
        } else if is_header {
            headers_left -= 1;
            match line.split_once('\t') {
                Some((name, _time)) => {
                    out.push_str(name);
                    out.push('\n');
                }
                None => out.push_str(line),
            }
        } else {
            headers_left = 0;
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_mark_headers_hunks_and_changes() {
        let diff = "diff -ruN a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n same\n";
        assert_eq!(
            coloured(diff),
            "\u{1b}[1mdiff -ruN a/x b/x\u{1b}[0m\n\u{1b}[1m--- a/x\u{1b}[0m\n\u{1b}[1m+++ b/x\u{1b}[0m\n\
             \u{1b}[36m@@ -1 +1 @@\u{1b}[0m\n\u{1b}[31m-old\u{1b}[0m\n\u{1b}[32m+new\u{1b}[0m\n same\n"
        );
    }

    #[test]
    fn timestamps_are_dropped_from_headers_only() {
        let diff = "diff -ru -x target solutions/01-a/x.rs solutions/02-b/x.rs\n\
                    --- solutions/01-a/x.rs\t2026-11-24 05:22:08.277709798 +0000\n\
                    +++ solutions/02-b/x.rs\t2026-11-24 05:23:01.897275746 +0000\n\
                    @@ -1,2 +1,2 @@\n\
                    --- a removed comment\t\n\
                    +new\n\
                    Only in solutions/02-b: y.rs\n";
        assert_eq!(
            without_timestamps(diff),
            "diff -ru -x target solutions/01-a/x.rs solutions/02-b/x.rs\n\
             --- solutions/01-a/x.rs\n\
             +++ solutions/02-b/x.rs\n\
             @@ -1,2 +1,2 @@\n\
             --- a removed comment\t\n\
             +new\n\
             Only in solutions/02-b: y.rs\n"
        );
    }
}
