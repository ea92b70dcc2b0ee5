//! Finds the exercise regions in a solution's source and checks that they
//! follow the convention.
//!
//! An exercise answer in a solution is a region of whole lines:
//!
//! ```text
//! <indent>// ANCHOR: exercise_N_M
//! <indent>// Exercise N.M: <one-line task description>
//! ...the answer...
//! <indent>// ANCHOR_END: exercise_N_M
//! ```
//!
//! The anchor lines are mdBook's, so the book can include an exercise's
//! answer by name. N is the chapter (no leading zero) and M the exercise's
//! number in it. Test names carry the same id: `exercise_N_M_<behaviour>`.
//!
//! Checked here, each reported as `file:line: problem`:
//! - every `ANCHOR: exercise_…` has a matching `ANCHOR_END` and no exercise
//!   region opens inside another one;
//! - the line after the anchor is `// Exercise N.M: <task>`, with the same
//!   N.M as the anchor name and a non-empty task;
//! - the region ends its block: after `ANCHOR_END` comes the `}` that
//!   closes it (comments aside). The hole's `todo!()` then stands for the
//!   block's value, whatever its type, and no code follows it unreachably;
//! - (per crate, in [`check_crate`]) no id appears twice, and no exercise
//!   belongs to a chapter after the crate's own.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// An exercise's id, `N.M`: chapter N, exercise M of that chapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExerciseId {
    pub chapter: u32,
    pub number: u32,
}

impl fmt::Display for ExerciseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.chapter, self.number)
    }
}

impl ExerciseId {
    /// Parses an anchor name, exactly `exercise_N_M`.
    pub fn from_anchor(name: &str) -> Option<ExerciseId> {
        let (id, rest) = Self::parse_prefix(name)?;
        rest.is_empty().then_some(id)
    }

    /// The exercise a test belongs to: its last path segment is
    /// `exercise_N_M` or starts with `exercise_N_M_`.
    pub fn from_test_name(test: &str) -> Option<ExerciseId> {
        let last = test.rsplit("::").next().unwrap_or(test);
        let (id, rest) = Self::parse_prefix(last)?;
        (rest.is_empty() || rest.starts_with('_')).then_some(id)
    }

    /// Parses an id as people write it, exactly `N.M`.
    pub fn from_dotted(text: &str) -> Option<ExerciseId> {
        let (chapter, rest) = leading_number(text)?;
        let (number, rest) = leading_number(rest.strip_prefix('.')?)?;
        rest.is_empty().then_some(ExerciseId { chapter, number })
    }

    /// Reads `exercise_<digits>_<digits>` and returns what follows it.
    fn parse_prefix(text: &str) -> Option<(ExerciseId, &str)> {
        let rest = text.strip_prefix("exercise_")?;
        let (chapter, rest) = leading_number(rest)?;
        let rest = rest.strip_prefix('_')?;
        let (number, rest) = leading_number(rest)?;
        Some((ExerciseId { chapter, number }, rest))
    }
}

/// Splits off the decimal number at the start of `text`.
fn leading_number(text: &str) -> Option<(u32, &str)> {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let number = text[..end].parse().ok()?;
    Some((number, &text[end..]))
}

/// One exercise region in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub id: ExerciseId,
    /// The task, from the `// Exercise N.M: <task>` line.
    pub description: String,
    /// The whitespace before the `// ANCHOR:` line, reused for the hole.
    pub indent: String,
    /// 0-based index of the `// ANCHOR: exercise_N_M` line.
    pub start: usize,
    /// 0-based index of the `// ANCHOR_END: exercise_N_M` line.
    pub end: usize,
}

/// A region found in a particular file, for crate-wide checks and reports.
#[derive(Debug, Clone)]
pub struct Located {
    /// The file, relative to the workspace root.
    pub path: PathBuf,
    pub region: Region,
}

/// What a `// ANCHOR:` or `// ANCHOR_END:` line says, if it is one.
enum Anchor<'a> {
    Start(&'a str),
    End(&'a str),
}

fn anchor(line: &str) -> Option<Anchor<'_>> {
    let comment = line.trim().strip_prefix("//")?.trim_start();
    if let Some(name) = comment.strip_prefix("ANCHOR:") {
        Some(Anchor::Start(name.trim()))
    } else {
        comment
            .strip_prefix("ANCHOR_END:")
            .map(|name| Anchor::End(name.trim()))
    }
}

/// Finds the exercise regions of one file, or every problem with them.
/// `path` is only used in the messages (`path:line: problem`).
pub fn parse(path: &Path, text: &str) -> Result<Vec<Region>, Vec<String>> {
    let lines: Vec<&str> = text.lines().collect();
    let mut regions = Vec::new();
    let mut problems = Vec::new();
    let at = |index: usize, message: String| format!("{}:{}: {message}", path.display(), index + 1);
    // The region that is open: its anchor name, line index and parsed parts.
    let mut open: Option<(&str, usize, Option<Region>)> = None;

    for (index, line) in lines.iter().enumerate() {
        match anchor(line) {
            Some(Anchor::Start(name)) if name.starts_with("exercise_") => {
                if let Some((outer, outer_line, _)) = &open {
                    problems.push(at(
                        index,
                        format!(
                            "`ANCHOR: {name}` opens inside `{outer}` (line {}); exercise regions cannot nest",
                            outer_line + 1
                        ),
                    ));
                    continue;
                }
                let region = match ExerciseId::from_anchor(name) {
                    None => {
                        problems.push(at(
                            index,
                            format!("malformed anchor `{name}`: expected `exercise_N_M` (N the chapter, M the exercise)"),
                        ));
                        None
                    }
                    Some(id) => match description(id, lines.get(index + 1).copied()) {
                        Ok(description) => Some(Region {
                            id,
                            description,
                            indent: leading_whitespace(line).to_string(),
                            start: index,
                            end: index,
                        }),
                        Err(problem) => {
                            problems.push(at(index + 1, problem));
                            None
                        }
                    },
                };
                open = Some((name, index, region));
            }
            Some(Anchor::End(name)) if name.starts_with("exercise_") => match open.take() {
                Some((open_name, _, region)) if open_name == name => {
                    if let Some(mut region) = region {
                        region.end = index;
                        match ends_its_block(&lines[index + 1..]) {
                            Ok(()) => regions.push(region),
                            Err(found) => problems.push(at(
                                index,
                                format!(
                                    "the answer of exercise {} must end its block, but `{found}` \
                                     follows it: its hole is a `todo!()` that stands for the \
                                     block's value, so only `}}` may come next",
                                    region.id
                                ),
                            )),
                        }
                    }
                }
                Some((open_name, open_line, region)) => {
                    problems.push(at(
                        index,
                        format!(
                            "`ANCHOR_END: {name}` does not match the open `ANCHOR: {open_name}` (line {})",
                            open_line + 1
                        ),
                    ));
                    open = Some((open_name, open_line, region));
                }
                None => problems.push(at(
                    index,
                    format!("`ANCHOR_END: {name}` has no `ANCHOR: {name}` before it"),
                )),
            },
            _ => {}
        }
    }
    if let Some((name, line, _)) = open {
        problems.push(at(
            line,
            format!("`ANCHOR: {name}` has no matching `// ANCHOR_END: {name}`"),
        ));
    }
    if problems.is_empty() {
        Ok(regions)
    } else {
        Err(problems)
    }
}

/// Reads the task out of the line after the anchor, which must be
/// `// Exercise N.M: <task>` for the anchor's own N.M.
fn description(id: ExerciseId, line: Option<&str>) -> Result<String, String> {
    let expected = format!(
        "expected `// Exercise {id}: <task>` right after `ANCHOR: exercise_{}_{}`",
        id.chapter, id.number
    );
    let Some(line) = line else {
        return Err(format!("{expected}, found the end of the file"));
    };
    let Some(rest) = line
        .trim()
        .strip_prefix("//")
        .and_then(|comment| comment.trim_start().strip_prefix("Exercise "))
    else {
        return Err(format!("{expected}, found `{}`", line.trim()));
    };
    let Some((written_id, task)) = rest.split_once(':') else {
        return Err(format!("{expected}, found `{}` (no colon)", line.trim()));
    };
    if written_id.trim() != id.to_string() {
        return Err(format!(
            "the description says exercise `{}` but the anchor is exercise_{}_{} ({id})",
            written_id.trim(),
            id.chapter,
            id.number
        ));
    }
    let task = task.trim();
    if task.is_empty() {
        return Err(format!(
            "{expected}: the task after `Exercise {id}:` is empty"
        ));
    }
    Ok(task.to_string())
}

/// Checks that the first line of `after` that is not blank or a comment
/// closes the block (`}`, possibly followed by `)`, `;` or `,`); returns that
/// line otherwise.
fn ends_its_block(after: &[&str]) -> Result<(), String> {
    let next = after
        .iter()
        .map(|line| line.trim())
        .find(|line| !line.is_empty() && !line.starts_with("//"));
    match next {
        Some(line) if !line.starts_with('}') => Err(line.to_string()),
        _ => Ok(()),
    }
}

fn leading_whitespace(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

/// Checks the regions of a whole crate for chapter `chapter`: an id may
/// appear once, and no exercise may belong to a later chapter (its starter
/// would hand out work the book has not explained yet).
pub fn check_crate(chapter: u32, regions: &[Located]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen: BTreeMap<ExerciseId, &Located> = BTreeMap::new();
    for located in regions {
        let region = &located.region;
        let here = format!("{}:{}", located.path.display(), region.start + 1);
        if region.id.chapter > chapter {
            problems.push(format!(
                "{here}: exercise {} belongs to chapter {}, after this crate's chapter {chapter}",
                region.id, region.id.chapter
            ));
        }
        if let Some(first) = seen.get(&region.id) {
            problems.push(format!(
                "{here}: exercise {} is already defined at {}:{}",
                region.id,
                first.path.display(),
                first.region.start + 1
            ));
        } else {
            seen.insert(region.id, located);
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
fn get(&self) -> u32 {
    // ANCHOR: outer
    // ANCHOR: exercise_2_1
    // Exercise 2.1: return the answer.
    let answer = 42;
    answer
    // ANCHOR_END: exercise_2_1
    // ANCHOR_END: outer
}
";

    fn parse_sample(text: &str) -> Result<Vec<Region>, Vec<String>> {
        parse(Path::new("src/x.rs"), text)
    }

    #[test]
    fn ids_parse_from_anchors_and_test_names() {
        let id = |chapter, number| Some(ExerciseId { chapter, number });
        assert_eq!(ExerciseId::from_anchor("exercise_3_12"), id(3, 12));
        assert_eq!(ExerciseId::from_anchor("exercise_3_12_x"), None);
        assert_eq!(ExerciseId::from_anchor("exercise_3"), None);
        assert_eq!(
            ExerciseId::from_test_name("a::tests::exercise_1_10_b"),
            id(1, 10)
        );
        assert_eq!(ExerciseId::from_test_name("exercise_1_1"), id(1, 1));
        assert_eq!(ExerciseId::from_test_name("exercise_1_1b"), None);
        assert_eq!(ExerciseId::from_test_name("exercise_1_x"), None);
        assert_eq!(
            ExerciseId::from_test_name("exercises::exercise_helper"),
            None
        );
    }

    #[test]
    fn a_region_is_found_with_its_task_and_indent() {
        let regions = parse_sample(SAMPLE).unwrap();
        assert_eq!(
            regions,
            vec![Region {
                id: ExerciseId {
                    chapter: 2,
                    number: 1
                },
                description: "return the answer.".into(),
                indent: "    ".into(),
                start: 2,
                end: 6,
            }]
        );
    }

    #[test]
    fn an_unclosed_region_is_reported_at_its_anchor() {
        let text = SAMPLE.replace("    // ANCHOR_END: exercise_2_1\n", "");
        let problems = parse_sample(&text).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("src/x.rs:3: "), "{problems:?}");
        assert!(problems[0].contains("no matching"), "{problems:?}");
    }

    #[test]
    fn a_stray_end_is_reported() {
        let problems = parse_sample("// ANCHOR_END: exercise_1_1\n").unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("src/x.rs:1: "), "{problems:?}");
    }

    #[test]
    fn a_missing_or_wrong_description_is_reported() {
        let missing = SAMPLE.replace("    // Exercise 2.1: return the answer.\n", "");
        let problems = parse_sample(&missing).unwrap_err();
        assert!(
            problems[0].starts_with("src/x.rs:4: expected"),
            "{problems:?}"
        );

        let wrong_id = SAMPLE.replace("Exercise 2.1:", "Exercise 2.2:");
        let problems = parse_sample(&wrong_id).unwrap_err();
        assert!(problems[0].contains("says exercise `2.2`"), "{problems:?}");

        let empty = SAMPLE.replace("return the answer.", " ");
        assert!(parse_sample(&empty).is_err());

        let malformed = SAMPLE.replace("exercise_2_1", "exercise_2_one");
        let problems = parse_sample(&malformed).unwrap_err();
        assert!(problems[0].contains("malformed anchor"), "{problems:?}");
    }

    #[test]
    fn a_region_followed_by_code_is_reported() {
        let text = SAMPLE.replace(
            "    // ANCHOR_END: outer\n",
            "    // ANCHOR_END: outer\n    answer\n",
        );
        let problems = parse_sample(&text).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with(
                "src/x.rs:7: the answer of exercise 2.1 must end its block, but `answer` follows"
            ),
            "{problems:?}"
        );
    }

    #[test]
    fn nested_regions_are_reported() {
        let text = "// ANCHOR: exercise_1_1\n// Exercise 1.1: a\n// ANCHOR: exercise_1_2\n\
                    // Exercise 1.2: b\n// ANCHOR_END: exercise_1_2\n// ANCHOR_END: exercise_1_1\n";
        assert!(parse_sample(text).is_err());
    }

    #[test]
    fn crate_checks_find_duplicates_and_later_chapters() {
        let region = |chapter, number, start| Located {
            path: PathBuf::from("src/a.rs"),
            region: Region {
                id: ExerciseId { chapter, number },
                description: "d".into(),
                indent: String::new(),
                start,
                end: start + 2,
            },
        };
        assert!(check_crate(2, &[region(1, 1, 0), region(2, 1, 5)]).is_empty());
        let problems = check_crate(2, &[region(2, 1, 0), region(2, 1, 9), region(3, 1, 20)]);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("src/a.rs:10: exercise 2.1 is already defined at src/a.rs:1"));
        assert!(problems[1].contains("belongs to chapter 3"));
    }
}
