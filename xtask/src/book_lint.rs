//! Checks the book's sources for what mdBook lets pass in silence.
//!
//! mdBook renders an `{{#include file:anchor}}` whose anchor does not exist
//! as an empty code block, without a warning, and it does not check links
//! between pages. So before every build we check, and report each problem as
//! `file:line: problem`:
//! - every include names a file that exists and, if it names an anchor, an
//!   anchor that exists and holds at least one line; including by line
//!   number is refused, because line numbers drift;
//! - every ```` ```rust ```` block is `rust,ignore` and holds only includes:
//!   the code it shows is compiled and tested as part of its crate (a module
//!   that uses `crate::…` cannot compile alone as a doctest), and code typed
//!   into the book would be compiled by nobody;
//! - every listing included from `solutions/` is captioned on the line
//!   before it with its number and file, `*Listing 3.2: `solutions/…`*`
//!   (numbered in page order; the appendix's are `A.n`);
//! - every relative link and image points to a file that exists;
//! - every exercise of a solution has its section in its chapter: a heading
//!   `### Exercise N.M`, the command that runs its tests, and at least one
//!   folded hint (`<summary>Hint`).
//! - every prediction, a paragraph quoted as `> **Predict before you
//!   code.** …`, is followed by its answer folded (`<details>` then
//!   `<summary>Check your prediction</summary>`) and sits before the section
//!   that answers it: the next `##` heading after it is not one of the
//!   chapter's closing sections (Exercises, Test your understanding,
//!   Checkpoint, What changed), where a prediction would only check recall;
//!   and every chapter with a step holds at least two predictions.
//! - every time in a table cell keeps its unit on its line, by a
//!   non-breaking space (`129 µs` with U+00A0): a narrow column would
//!   otherwise put `µs` under `129`;
//! - every time a chapter's quiz quotes (`481.6 µs`) is on the quiz's page
//!   too (see `quiz_figures.rs`).
//! - every table of measurements is the CSV run it names (see
//!   `measured_tables.rs`);
//! - "Setting up" and README.md ask for the Rust the workspace needs, its
//!   highest `rust-version` (see `rust_version.rs`).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::book_pages;
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::starter;

/// Checks every page under `book/src` and returns all problems at once.
pub fn lint(layout: &Layout) -> Result<()> {
    let src = layout.root.join("book/src");
    let mut problems = Vec::new();
    let pages = book_pages::in_reading_order(&src)?;
    // Listings are numbered through a chapter's pages in reading order.
    let mut listings_so_far: HashMap<String, usize> = HashMap::new();
    for page in &pages {
        let text = fs::read_to_string(page).map_err(|source| Error::io("read", page, source))?;
        let shown = page.strip_prefix(&layout.root).unwrap_or(page);
        let chapter = book_pages::chapter_of(page);
        let before = listings_so_far.entry(chapter.clone()).or_default();
        let (captions, listings) = caption_problems(&chapter, *before, &text);
        *before += listings;
        for (at, problem) in captions
            .into_iter()
            .chain(lint_page(page, &text))
            .chain(prediction_problems(&text))
        {
            problems.push(format!("{}:{}: {problem}", shown.display(), at + 1));
        }
        problems.extend(crate::quiz_figures::problems(page, &text, shown)?);
        problems.extend(crate::measured_tables::problems(
            &layout.root,
            &text,
            shown,
        )?);
    }
    problems.extend(missing_exercise_sections(layout, &pages)?);
    problems.extend(too_few_predictions(layout, &pages)?);
    problems.extend(crate::rust_version::problems(layout)?);
    problems.extend(
        crate::exercise_contract::check(layout)
            .err()
            .map(|error| error.to_string()),
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Check(format!(
            "the book has {} problem(s):\n  {}",
            problems.len(),
            problems.join("\n  ")
        )))
    }
}

/// The caption every listing from `solutions/` carries on the line before
/// its block: `*Listing 3.2: `solutions/03-sstable/src/store.rs`*`, numbered
/// in the chapter's reading order (the appendix's are `A.n`), so that a
/// reader can tell which file a listing comes from and the prose can refer
/// to it. `before` is how many listings the chapter's earlier pages hold;
/// returns the problems and this page's number of listings.
fn caption_problems(chapter: &str, before: usize, text: &str) -> (Vec<(usize, String)>, usize) {
    let lines: Vec<&str> = text.lines().collect();
    let mut problems = Vec::new();
    let mut listings = before;
    for at in 1..lines.len() {
        let opens_rust = lines[at - 1].trim_start().starts_with("```rust");
        let Some(path) = includes(lines[at])
            .first()
            .and_then(|argument| argument.split(':').next())
            .and_then(|path| path.strip_prefix("../../"))
            .filter(|path| opens_rust && path.starts_with("solutions/"))
        else {
            continue;
        };
        listings += 1;
        let expected = format!("*Listing {chapter}.{listings}: `{path}`*");
        let caption = if at >= 2 { lines[at - 2] } else { "" };
        if caption != expected {
            problems.push((
                at - 1,
                format!("a listing needs its caption on the line before it: {expected}"),
            ));
        }
    }
    (problems, listings - before)
}

/// The problems of one page, each with its 0-based line index.
fn lint_page(page: &Path, text: &str) -> Vec<(usize, String)> {
    let dir = page.parent().unwrap_or(Path::new("."));
    let mut problems = Vec::new();
    // The info string of the fenced block we are in, if any.
    let mut fence: Option<String> = None;
    for (at, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            fence = match fence {
                Some(_) => None,
                None => Some(info.trim().to_string()),
            };
            if let Some(info) = &fence
                && (info == "rust" || info.starts_with("rust,"))
                && !info.split(',').any(|part| part == "ignore")
            {
                problems.push((at, format!("```{info}: a Rust block must be `rust,ignore` and include its code from a crate")));
            }
            continue;
        }
        let in_rust = fence
            .as_deref()
            .is_some_and(|info| info.starts_with("rust"));
        if in_rust && !trimmed.is_empty() && !trimmed.starts_with("{{#include ") {
            problems.push((at, "a Rust block may hold only `{{#include …}}` lines, so that its code is compiled with its crate".into()));
        }
        for include in includes(line) {
            if let Err(problem) = check_include(dir, include) {
                problems.push((at, problem));
            }
        }
        if fence.is_none() && trimmed.starts_with('|') {
            for time in times_that_can_break(line) {
                problems.push((at, format!("`{time}`: put a non-breaking space (U+00A0) between a number and its unit in a table, so that a narrow column cannot break them apart")));
            }
        }
        if fence.is_none() {
            for target in link_targets(line) {
                if !dir.join(target).exists() {
                    problems.push((at, format!("the link target {target} does not exist")));
                }
            }
        }
    }
    problems
}

/// How a prediction opens: a quoted paragraph that starts with these words.
const PREDICTION: &str = "> **Predict before you code.**";

/// The summary of a prediction's folded answer.
const PREDICTION_ANSWER: &str = "<summary>Check your prediction</summary>";

/// A chapter's closing sections, after its teaching: a prediction followed
/// by one of them comes after everything that could answer it.
const CLOSING_SECTIONS: &[&str] = &[
    "Exercises",
    "Test your understanding",
    "Checkpoint",
    "What changed",
    "Predict before you code",
];

/// The fewest predictions a chapter with a step holds.
const MIN_PREDICTIONS: usize = 2;

/// The problems of the predictions on a page, each with its 0-based line
/// index: a prediction asks before the section that answers it, and its
/// answer is folded right below it, so that the learner commits to a guess
/// before reading on.
fn prediction_problems(text: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut problems = Vec::new();
    let mut in_fence = false;
    for (at, line) in lines.iter().enumerate() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        if !in_fence && line.trim() == "## Predict before you code" {
            problems.push((
                at,
                "a section of predictions after the teaching checks recall, not intuition: \
                 ask each one (`> **Predict before you code.** …`) before the section that answers it"
                    .to_string(),
            ));
            continue;
        }
        if in_fence || !line.starts_with(PREDICTION) {
            continue;
        }
        // The answer: the first lines after the quoted question.
        let mut after = lines[at..]
            .iter()
            .skip_while(|line| line.starts_with('>'))
            .map(|line| line.trim())
            .filter(|line| !line.is_empty());
        if after.next() != Some("<details>") || after.next() != Some(PREDICTION_ANSWER) {
            problems.push((
                at,
                format!("a prediction needs its answer folded right below it: `<details>`, then `{PREDICTION_ANSWER}`"),
            ));
        }
        let mut fenced = false;
        let next_section = lines[at..].iter().find_map(|line| {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
            }
            (!fenced).then(|| line.strip_prefix("## ")).flatten()
        });
        match next_section.map(str::trim) {
            Some(heading) if !CLOSING_SECTIONS.contains(&heading) => {}
            heading => problems.push((
                at,
                format!(
                    "a prediction goes before the section that answers it, but the next section is {}",
                    heading.map_or("none".to_string(), |heading| format!("`## {heading}`"))
                ),
            )),
        }
    }
    problems
}

/// Every chapter with a step must ask at least [`MIN_PREDICTIONS`]
/// predictions across its pages.
fn too_few_predictions(layout: &Layout, pages: &[PathBuf]) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for chapter in layout.solutions()? {
        let chapter_pages = book_pages::chapter_pages(pages, chapter.nn());
        if chapter_pages.is_empty() {
            // Reported by `missing_exercise_sections`.
            continue;
        }
        let text = book_pages::joined_text(&chapter_pages)?;
        let count = text
            .lines()
            .filter(|line| line.starts_with(PREDICTION))
            .count();
        if count < MIN_PREDICTIONS {
            problems.push(format!(
                "{}: {count} prediction(s) (`{PREDICTION} …` before the section that answers it); a chapter asks at least {MIN_PREDICTIONS}",
                book_pages::shown(&chapter_pages, &layout.root, chapter.nn())
            ));
        }
    }
    Ok(problems)
}

/// The units a table's times are written in.
const TABLE_UNITS: &[&str] = &["ns", "µs", "ms", "s", "min"];

/// The times on `line` whose number and unit an ordinary space separates.
fn times_that_can_break(line: &str) -> Vec<String> {
    let words: Vec<&str> = line.split(' ').collect();
    words
        .windows(2)
        .filter(|pair| {
            let number = pair[0].trim_start_matches(['(', '|']);
            let unit = pair[1].trim_end_matches([',', ';', ')', '|']);
            number.starts_with(|c: char| c.is_ascii_digit())
                && number.ends_with(|c: char| c.is_ascii_digit())
                && number
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
                && TABLE_UNITS.contains(&unit)
        })
        .map(|pair| format!("{} {}", pair[0], pair[1]))
        .collect()
}

/// The arguments of the `{{#include …}}` and `{{#rustdoc_include …}}` on a line.
fn includes(line: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("{{#") {
        let after = &rest[start + 3..];
        let Some(end) = after.find("}}") else { break };
        let directive = &after[..end];
        for name in ["include ", "rustdoc_include "] {
            if let Some(argument) = directive.strip_prefix(name) {
                found.push(argument.trim());
            }
        }
        rest = &after[end + 2..];
    }
    found
}

/// Checks one include argument, `path` or `path:anchor`.
fn check_include(dir: &Path, argument: &str) -> std::result::Result<(), String> {
    let (path, anchor) = match argument.split_once(':') {
        Some((path, anchor)) => (path, Some(anchor)),
        None => (argument, None),
    };
    let file = dir.join(path);
    let text =
        fs::read_to_string(&file).map_err(|error| format!("cannot include {path}: {error}"))?;
    let Some(anchor) = anchor else {
        return Ok(());
    };
    if anchor.is_empty() || anchor.starts_with(|c: char| c.is_ascii_digit()) || anchor.contains(':')
    {
        return Err(format!(
            "{argument}: include by anchor name, never by line number"
        ));
    }
    match anchored_lines(&text, anchor) {
        None => Err(format!("{path} has no anchor `{anchor}`")),
        Some(0) => Err(format!("the anchor `{anchor}` in {path} is empty")),
        Some(_) => Ok(()),
    }
}

/// How many lines mdBook would include for `anchor` (other anchors' lines do
/// not count), or `None` when the anchor does not start and end in `text`.
fn anchored_lines(text: &str, anchor: &str) -> Option<usize> {
    let mut inside = false;
    let mut count = 0;
    for line in text.lines() {
        if let Some(name) = anchor_name(line, "ANCHOR:") {
            inside |= name == anchor;
        } else if let Some(name) = anchor_name(line, "ANCHOR_END:") {
            if name == anchor && inside {
                return Some(count);
            }
        } else if inside {
            count += 1;
        }
    }
    None
}

/// The name after `marker` on an anchor line, e.g. `format` in `// ANCHOR: format`.
fn anchor_name<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let (_, after) = line.split_once(marker)?;
    after.split_whitespace().next()
}

/// The relative targets of Markdown links and images on a line, without
/// their `#fragment`; web and mail links are left to the reader.
fn link_targets(line: &str) -> Vec<&str> {
    let mut targets = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("](") {
        let after = &rest[start + 2..];
        let Some(end) = after.find(')') else { break };
        let target = after[..end].split('#').next().unwrap_or_default().trim();
        let external = ["http://", "https://", "mailto:"]
            .iter()
            .any(|scheme| target.starts_with(scheme));
        if !target.is_empty() && !external {
            targets.push(target);
        }
        rest = &after[end + 1..];
    }
    targets
}

/// Every exercise of every solution must have its section in its chapter's
/// pages, `book/src/chNN-*.md`.
fn missing_exercise_sections(layout: &Layout, pages: &[PathBuf]) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let chapters = layout.solutions()?;
    for solution in starter::load(layout, &chapters)? {
        let nn = solution.chapter.nn().to_string();
        let chapter_pages = book_pages::chapter_pages(pages, &nn);
        if chapter_pages.is_empty() {
            problems.push(format!(
                "book/src: no page ch{nn}-*.md for {}",
                solution.chapter.dir_name
            ));
            continue;
        }
        let text = book_pages::joined_text(&chapter_pages)?;
        let shown = book_pages::shown(&chapter_pages, &layout.root, &nn);
        for exercise in solution.exercises() {
            let id = exercise.region.id;
            let heading = format!("### Exercise {id}:");
            let Some(start) = text.find(&heading) else {
                problems.push(format!("{shown}: no section `{heading} …`"));
                continue;
            };
            let section = &text[start + heading.len()..];
            let section = &section[..section
                .find("\n## ")
                .or_else(|| section.find("\n### "))
                .unwrap_or(section.len())];
            let command = format!(
                "cargo test -p step-{nn} exercise_{}_{}",
                id.chapter, id.number
            );
            if !section.contains(&command) {
                problems.push(format!(
                    "{shown}: exercise {id} does not give the command `{command}`"
                ));
            }
            if !section.contains("<summary>Hint") {
                problems.push(format!(
                    "{shown}: exercise {id} has no folded hint (`<summary>Hint …`)"
                ));
            }
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listing_from_the_solutions_is_captioned_in_order() {
        let good = "*Listing 3.1: `solutions/03-sstable/src/store.rs`*\n```rust,ignore\n\
                    {{#include ../../solutions/03-sstable/src/store.rs:flush}}\n```\n\
                    ```text\n{{#include generated/walkthrough.txt}}\n```\n\
                    *Listing 3.2: `solutions/03-sstable/src/line.rs`*\n```rust,ignore\n\
                    {{#include ../../solutions/03-sstable/src/line.rs:lines}}\n```\n";
        assert_eq!(caption_problems("3", 0, good), (vec![], 2));
        let renumbered = good.replace("Listing 3.2", "Listing 3.3");
        let (problems, _) = caption_problems("3", 0, &renumbered);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0]
                .1
                .contains("*Listing 3.2: `solutions/03-sstable/src/line.rs`*")
        );
        let missing = "```rust,ignore\n{{#include ../../solutions/05-compaction/src/manifest.rs:format}}\n```\n";
        let (problems, _) = caption_problems("A", 0, missing);
        assert!(
            problems[0]
                .1
                .contains("*Listing A.1: `solutions/05-compaction/src/manifest.rs`*")
        );
        // A sub-page goes on from the listings of its chapter's earlier pages.
        let (problems, _) = caption_problems("3", 4, good);
        assert!(
            problems[0]
                .1
                .contains("*Listing 3.5: `solutions/03-sstable/src/store.rs`*")
        );
    }

    #[test]
    fn a_time_in_a_table_keeps_its_unit_by_a_non_breaking_space() {
        assert_eq!(
            times_that_can_break("| 1 | 7,601 | 129 µs | 3.42\u{a0}ms | 18.5 |"),
            ["129 µs"]
        );
        assert_eq!(
            times_that_can_break("| setup | 4\u{a0}min 28 s | 1.0 | step 07 |"),
            ["28 s"]
        );
        assert!(times_that_can_break("| 64 | 64,354 | 8.6× | 11.2 |").is_empty());
        let page = Path::new("/nonexistent/book/src/page.md");
        let problems = lint_page(
            page,
            "| a | b |\n|---|---|\n| x | 1 ms |\n\n2 ms in prose\n",
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].0, 2);
    }

    #[test]
    fn a_prediction_comes_before_its_section_with_its_answer_folded() {
        let good = "# 3. SSTables\n\n> **Predict before you code.** Which lines?\n> In which order?\n\n\
                    <details>\n<summary>Check your prediction</summary>\n\nTwo.\n\n</details>\n\n\
                    ## The format\n\nYou predicted two lines.\n\n## Exercises\n";
        assert_eq!(prediction_problems(good), []);
        // After the teaching, a prediction only checks recall.
        let late = good.replace("## The format", "## Exercises");
        let problems = prediction_problems(&late);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].0, 2);
        assert!(problems[0].1.contains("`## Exercises`"));
        // An answer in plain sight answers before the learner guesses.
        let open = good.replace("<details>\n<summary>Check your prediction</summary>\n", "");
        let problems = prediction_problems(&open);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].1.contains("folded"));
        // A heading inside a code block is not the next section.
        let fenced = good.replace("## The format", "```text\n## x\n```\n\n## Checkpoint");
        assert_eq!(prediction_problems(&fenced).len(), 1);
        let at_the_end = "> **Predict before you code.** Why?\n\n<details>\n<summary>Check your prediction</summary>\n</details>\n";
        assert!(prediction_problems(at_the_end)[0].1.ends_with("none"));
    }

    #[test]
    fn a_closing_section_of_predictions_is_a_problem() {
        let old_shape = "# 3. SSTables\n\n## Predict before you code\n\nWhich lines?\n";
        let problems = prediction_problems(old_shape);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].0, 2);
    }

    #[test]
    fn includes_are_found_on_a_line() {
        let line = "a {{#include ../x.rs:format}} b {{#rustdoc_include y.rs}} {{#title t}}";
        assert_eq!(includes(line), ["../x.rs:format", "y.rs"]);
    }

    #[test]
    fn anchored_lines_skip_nested_anchor_lines() {
        let text = "// ANCHOR: outer\na\n// ANCHOR: inner\nb\n// ANCHOR_END: inner\n// ANCHOR_END: outer\n// ANCHOR: empty\n// ANCHOR_END: empty\n";
        assert_eq!(anchored_lines(text, "outer"), Some(2));
        assert_eq!(anchored_lines(text, "inner"), Some(1));
        assert_eq!(anchored_lines(text, "empty"), Some(0));
        assert_eq!(anchored_lines(text, "missing"), None);
        // A prefix of another anchor's name is not that anchor.
        assert_eq!(anchored_lines(text, "out"), None);
    }

    #[test]
    fn link_targets_leave_out_the_web_and_fragments() {
        let line = "[a](ch01.md#x) ![b](images/c.svg) [d](https://e.org) [f](#g)";
        assert_eq!(link_targets(line), ["ch01.md", "images/c.svg"]);
    }

    #[test]
    fn rust_blocks_must_be_included_and_ignored() {
        let page = Path::new("/nonexistent/book/src/page.md");
        let problems = lint_page(
            page,
            "```rust\nfn main() {}\n```\n```text\nfree text\n```\n",
        );
        let lines: Vec<usize> = problems.iter().map(|(at, _)| *at).collect();
        assert_eq!(lines, [0, 1]);
    }
}
