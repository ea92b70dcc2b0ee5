//! Checks that every measured time a quiz quotes is also on its page.
//!
//! A quiz (`book/quizzes/*.toml`, shown by `{{#quiz …}}`) may ask about a
//! benchmark the chapter reports ("step 03's p99 was 481.6 µs"). When the
//! benchmark is run again, the chapter's table is updated from its CSV; a
//! quiz that still quotes the old run would then contradict the page it
//! sits on. So every time in a quiz, a number followed by `ns`, `µs` or
//! `ms`, must be written the same way somewhere on the page that includes
//! it. Sizes, counts and ratios are left alone: quizzes compute those in
//! their own explanations.

use std::fs;
use std::path::Path;

use crate::error::{Error, Result};

/// The units of the measured times this check looks for.
const TIME_UNITS: &[&str] = &["ns", "µs", "ms"];

/// Problems, one per figure, for every `{{#quiz path}}` on `page`, whose
/// text is `text`; `shown` is the page's name in the messages.
pub fn problems(page: &Path, text: &str, shown: &Path) -> Result<Vec<String>> {
    let dir = page.parent().unwrap_or(Path::new("."));
    let mut problems = Vec::new();
    let on_the_page = times_in(text);
    for quiz in quizzes_on(text) {
        let path = dir.join(quiz);
        let quiz_text =
            fs::read_to_string(&path).map_err(|source| Error::io("read", &path, source))?;
        for figure in times_in(&quiz_text) {
            if !on_the_page.contains(&figure) {
                problems.push(format!(
                    "{}: the quiz {quiz} quotes {figure}, which the page does not (a benchmark run again? update the quiz from the same run)",
                    shown.display()
                ));
            }
        }
    }
    Ok(problems)
}

/// The paths of the quizzes a page includes.
fn quizzes_on(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("{{#quiz "))
        .filter_map(|rest| rest.strip_suffix("}}"))
        .map(str::trim)
        .collect()
}

/// Every time in `text`, as `<number> <unit>` (`481.6 µs`, `1,225 ms`),
/// whether the text puts a space before the unit or not.
fn times_in(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut times = Vec::new();
    for (index, word) in words.iter().enumerate() {
        let word = word.trim_start_matches(['(', '[', '"', '`']);
        let (number, glued_unit) = split_number(word);
        if number.is_empty() {
            continue;
        }
        let unit = if glued_unit.is_empty() {
            words.get(index + 1).copied().unwrap_or_default()
        } else {
            glued_unit
        };
        let unit = unit.trim_end_matches([',', '.', ';', ':', ')', ']', '"', '`', '*', '|']);
        if TIME_UNITS.contains(&unit) {
            times.push(format!("{number} {unit}"));
        }
    }
    times
}

/// Splits `481.6µs` into `("481.6", "µs")` and `481.6` into `("481.6", "")`;
/// a word that does not start with a digit gives an empty number.
fn split_number(word: &str) -> (&str, &str) {
    let end = word
        .char_indices()
        .find(|&(at, c)| {
            let inside_number = c.is_ascii_digit()
                || ((c == '.' || c == ',')
                    && at > 0
                    && word[at + 1..].starts_with(|d: char| d.is_ascii_digit()));
            !inside_number
        })
        .map_or(word.len(), |(at, _)| at);
    word.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_found_with_or_without_a_space() {
        let text = "step 03's p99 was 481.6 µs, the median (0.2µs); 1,225 ms. 16 tables, 9.6 bits";
        assert_eq!(times_in(text), ["481.6 µs", "0.2 µs", "1,225 ms"]);
    }

    #[test]
    fn a_quiz_time_missing_from_its_page_is_a_problem() {
        let dir = std::env::temp_dir().join(format!("xtask-quiz-figures-{}", std::process::id()));
        fs::create_dir_all(dir.join("quizzes")).unwrap();
        fs::create_dir_all(dir.join("src")).unwrap();
        fs::write(
            dir.join("quizzes/ch09.toml"),
            "answer = \"p99 went from 14.31 ms to 0.82 ms\"\n",
        )
        .unwrap();
        let page = dir.join("src/ch09.md");
        let text = "| 16 | 14.31 ms |\n| merged | 1.12 ms |\n\n{{#quiz ../quizzes/ch09.toml}}\n";
        let found = problems(&page, text, Path::new("ch09.md")).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("quotes 0.82 ms"), "{found:?}");
        let fixed = text.replace("1.12 ms", "0.82 ms");
        assert!(
            problems(&page, &fixed, Path::new("ch09.md"))
                .unwrap()
                .is_empty()
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
