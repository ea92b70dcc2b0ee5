//! Checks that each exercise's tests compare only text that its chapter
//! states: a learner who reads the exercise and writes a correct answer
//! must not fail on wording that only the folded solution shows.
//!
//! For every test `fn exercise_N_M_<behaviour>` of a solution's own chapter
//! we collect the string literals that the test *compares against*, and
//! each one that reads like a message must appear in the exercise's section
//! of `book/src/chNN-*.md`. Reported as `path:line: exercise N.M's test
//! compares "<text>", which chapter N's Goal does not state`. The fix is to
//! state the text in the Goal word for word, or to make the test check
//! behaviour (the error's variant, its line number) instead of wording.
//!
//! The rule, which reads the test's tokens and does not compile anything:
//! - *Compared* are the literals in the first two arguments of `assert_eq!`,
//!   `assert_ne!` (and their `debug_` forms), in the first argument of
//!   `assert!` (`debug_assert!`), anywhere in `matches!`, and in the
//!   argument of `.starts_with(`, `.ends_with(`, `.contains(`,
//!   `.strip_prefix(`, `.strip_suffix(`, `.eq(` or `.ne(`. A literal bound by
//!   `let name = "…";` counts as compared where `name` is. The message
//!   arguments after an assertion's compared ones are not compared.
//! - Tuples, arrays, `vec!`, `format!` and constructors (`Some(…)`,
//!   `Err(…)`, `Entry::Value(…)`: a name that starts with a capital) pass
//!   the position on to what they hold. A literal passed to any other call
//!   (`escape("a→b")`, `value("Nairobi")`, `.replace(…)`) is an input, even
//!   when that call sits inside an assertion.
//! - Only *message-like* literals are checked: after Rust's escapes are
//!   undone, a line of the literal holds at least two words (runs without
//!   whitespace that contain a letter). Keys, file names and formats such as
//!   `a\→b` or a table's lines are left to the reader of the chapter; so are
//!   counts, which are numbers, not literals.
//! - A compared literal that the test also feeds in (the same text in input
//!   position) is an echo of its input, not wording: `escape("x y")`
//!   compared with `"x y"` needs no sentence in the book.
//! - A `format!` template is checked piece by piece between its
//!   placeholders.
//! - The search: runs of whitespace count as one space on both sides (the
//!   Markdown may wrap a message across lines), and the literal's leading
//!   and trailing whitespace is dropped (a body's final newline is not
//!   wording). Write the text in a code span so that Markdown shows it as
//!   it is: ``` `` unknown escape `\t` `` ``` for text with backticks.
//! - The section is the text from the heading `### Exercise N.M` to the
//!   next `##` or `###` heading, without its `<details>` blocks: hints and
//!   the folded solution do not count as stating anything. An exercise
//!   with no section is left to `book_lint.rs`, which reports it.
//!
//! What the rule cannot see: text compared through a helper function, or
//! built by a lowercase helper inside the assertion, and one-word or
//! non-word formats (`000001.sst:2: `, table lines). Those were audited by
//! hand when this check was written; keep them to what the Goal states.

use crate::book_pages;
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::markers::ExerciseId;
use crate::rust_tokens::{Lexed, Token, lex};
use crate::starter;

/// A compared literal that the exercise's section does not state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unstated {
    /// The exercise the test is named for.
    pub id: ExerciseId,
    /// The 1-based line of the literal in the source.
    pub line: usize,
    /// The literal as the test sees it, whitespace runs shown as one space:
    /// the text the section must contain.
    pub text: String,
}

/// Checks every solution's own-chapter exercise tests against the sections
/// of its chapter's page, `book/src/chNN-*.md`.
pub fn check(layout: &Layout) -> Result<()> {
    let chapters = layout.solutions()?;
    let pages = book_pages::in_reading_order(&layout.root.join("book/src"))?;
    let mut problems = Vec::new();
    for solution in starter::load(layout, &chapters)? {
        // A chapter without a page is reported by `book_lint`.
        let chapter_pages = book_pages::chapter_pages(&pages, solution.chapter.nn());
        if chapter_pages.is_empty() {
            continue;
        }
        let text = book_pages::joined_text(&chapter_pages)?;
        for file in &solution.files {
            if file
                .path
                .extension()
                .is_none_or(|extension| extension != "rs")
            {
                continue;
            }
            let Ok(source) = std::str::from_utf8(&file.contents) else {
                continue;
            };
            let path = solution.chapter.solution_dir().join(&file.path);
            for found in unstated(source, solution.chapter.chapter, &text) {
                problems.push(format!(
                    "{}:{}: exercise {}'s test compares \"{}\", which chapter {}'s Goal does not state",
                    path.display(),
                    found.line,
                    found.id,
                    found.text,
                    found.id.chapter
                ));
            }
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Check(format!(
        "{} text(s) compared by exercise tests are not stated in their exercise's section \
         (give each in the Goal word for word, or make the test check behaviour):\n    {}",
        problems.len(),
        problems.join("\n    ")
    )))
}

/// The compared, message-like literals of the `exercise_<chapter>_M_*`
/// tests in `source` that `page` does not state in exercise `chapter.M`'s
/// section, in source order.
pub fn unstated(source: &str, chapter: u32, page: &str) -> Vec<Unstated> {
    let tokens = lex(source);
    let mut found = Vec::new();
    for (id, body) in exercise_tests(&tokens) {
        if id.chapter != chapter {
            continue;
        }
        let Some(section) = section(page, id) else {
            continue;
        };
        let section = normalize(&section);
        for literal in compared_literals(body) {
            if !section.contains(&literal.text) {
                found.push(Unstated {
                    id,
                    line: literal.line,
                    text: literal.text,
                });
            }
        }
    }
    found
}

/// Whitespace runs as one space, and none at either end.
fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A line with at least two words: runs without whitespace that hold a
/// letter. (Lines of a file, one word each, are a format, not a message.)
fn message_like(text: &str) -> bool {
    text.lines().any(|line| {
        line.split_whitespace()
            .filter(|word| word.chars().any(char::is_alphabetic))
            .count()
            >= 2
    })
}

/// The text of exercise `id`'s section of `page`: from its heading to the
/// next `##` or `###` heading, without `<details>` blocks.
fn section(page: &str, id: ExerciseId) -> Option<String> {
    let heading = format!("### Exercise {id}");
    let mut lines = page.lines();
    lines.by_ref().find(|line| {
        line.strip_prefix(&heading)
            .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit()))
    })?;
    let mut text = String::new();
    let mut in_fence = false;
    let mut details = 0usize;
    for line in lines {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence && (line.starts_with("## ") || line.starts_with("### ")) {
            break;
        }
        let opens = trimmed.matches("<details").count();
        let closes = trimmed.matches("</details>").count();
        let hidden = details > 0 || opens > 0;
        details = (details + opens).saturating_sub(closes);
        if !hidden {
            text.push_str(line);
            text.push('\n');
        }
    }
    Some(text)
}

/// The exercise tests in `tokens`: each `fn exercise_N_M_…` with the tokens
/// of its body, braces excluded.
fn exercise_tests(tokens: &[Lexed]) -> Vec<(ExerciseId, &[Lexed])> {
    let mut tests = Vec::new();
    let mut at = 0;
    while at + 1 < tokens.len() {
        let id = match (&tokens[at].token, &tokens[at + 1].token) {
            (Token::Ident(keyword), Token::Ident(name)) if keyword == "fn" => {
                ExerciseId::from_test_name(name)
            }
            _ => None,
        };
        let Some(id) = id else {
            at += 1;
            continue;
        };
        let Some(open) = (at..tokens.len()).find(|&index| tokens[index].token == Token::Punct('{'))
        else {
            break;
        };
        let mut depth = 0usize;
        let mut close = tokens.len();
        for (index, lexed) in tokens.iter().enumerate().skip(open) {
            match lexed.token {
                Token::Punct('{') => depth += 1,
                Token::Punct('}') => {
                    depth -= 1;
                    if depth == 0 {
                        close = index;
                        break;
                    }
                }
                _ => {}
            }
        }
        tests.push((id, &tokens[open + 1..close]));
        at = close;
    }
    tests
}

/// What a bracket's contents are to the rule.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    /// An assertion whose first `args` arguments are compared.
    Assertion { args: usize },
    /// `.starts_with(…)` and the like: the argument is compared.
    Comparison,
    /// `format!`: its first argument is a template.
    Format,
    /// A tuple, array, block, constructor or `vec!`: whatever holds it decides.
    Transparent,
    /// The arguments of any other call or macro: inputs.
    Input,
}

/// An open bracket while walking a body.
struct Frame {
    role: Role,
    /// Which argument we are in, counting top-level commas.
    argument: usize,
}

/// A compared, message-like literal (or template piece) of one test.
#[derive(Debug, Clone, PartialEq)]
struct Compared {
    line: usize,
    text: String,
}

/// What the bracket that opens at `tokens[at]` is, from the tokens before it.
fn role_of(tokens: &[Lexed], at: usize) -> Role {
    let before = |back: usize| at.checked_sub(back).map(|index| &tokens[index].token);
    let Some(Token::Punct(open)) = before(0) else {
        return Role::Transparent;
    };
    if let (Some(Token::Punct('!')), Some(Token::Ident(name))) = (before(1), before(2)) {
        return match name.as_str() {
            "assert_eq" | "assert_ne" | "debug_assert_eq" | "debug_assert_ne" => {
                Role::Assertion { args: 2 }
            }
            "assert" | "debug_assert" => Role::Assertion { args: 1 },
            "matches" => Role::Assertion { args: usize::MAX },
            "format" => Role::Format,
            "vec" => Role::Transparent,
            _ => Role::Input,
        };
    }
    if *open != '(' {
        return Role::Transparent;
    }
    match before(1) {
        Some(Token::Ident(name)) => {
            const KEYWORDS: [&str; 10] = [
                "if", "while", "match", "return", "in", "let", "move", "else", "mut", "ref",
            ];
            const COMPARISONS: [&str; 7] = [
                "starts_with",
                "ends_with",
                "contains",
                "strip_prefix",
                "strip_suffix",
                "eq",
                "ne",
            ];
            let method = before(2) == Some(&Token::Punct('.'));
            if KEYWORDS.contains(&name.as_str()) || name.starts_with(char::is_uppercase) {
                Role::Transparent
            } else if method && COMPARISONS.contains(&name.as_str()) {
                Role::Comparison
            } else {
                Role::Input
            }
        }
        // `collect::<Vec<_>>()` and the like.
        Some(Token::Punct('>')) => Role::Input,
        _ => Role::Transparent,
    }
}

/// Whether the innermost deciding bracket on `stack` compares what it holds.
fn is_compared(stack: &[Frame]) -> bool {
    for frame in stack.iter().rev() {
        match frame.role {
            Role::Transparent | Role::Format => continue,
            Role::Input => return false,
            Role::Comparison => return true,
            Role::Assertion { args } => return frame.argument < args,
        }
    }
    false
}

/// The compared, message-like literals of one test body that are not
/// echoes of its inputs, as the text a section must contain.
fn compared_literals(body: &[Lexed]) -> Vec<Compared> {
    // (text, line, compared, template) for every literal, in order.
    let mut literals: Vec<(String, usize, bool, bool)> = Vec::new();
    // `let name = "…";` bindings: name and the index into `literals`.
    let mut bound: Vec<(String, usize)> = Vec::new();
    let mut compared_names: Vec<String> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    for (at, lexed) in body.iter().enumerate() {
        match &lexed.token {
            Token::Punct('(' | '[' | '{') => {
                stack.push(Frame {
                    role: role_of(body, at),
                    argument: 0,
                });
            }
            Token::Punct(')' | ']' | '}') => {
                stack.pop();
            }
            Token::Punct(',') => {
                if let Some(frame) = stack.last_mut() {
                    frame.argument += 1;
                }
            }
            Token::Str(text) => {
                let template = stack
                    .last()
                    .is_some_and(|frame| frame.role == Role::Format && frame.argument == 0);
                literals.push((text.clone(), lexed.line, is_compared(&stack), template));
                if let Some(name) = let_binding(body, at) {
                    bound.push((name, literals.len() - 1));
                }
            }
            Token::Ident(name) => {
                let next = body.get(at + 1).map(|lexed| &lexed.token);
                let used_as_value = !matches!(
                    next,
                    Some(Token::Punct('(' | '!' | ':' | '=')) | Some(Token::Ident(_))
                );
                if used_as_value && is_compared(&stack) {
                    compared_names.push(name.clone());
                }
            }
            _ => {}
        }
    }
    for (name, index) in &bound {
        if compared_names.contains(name) {
            literals[*index].2 = true;
        }
    }
    let inputs: Vec<String> = literals
        .iter()
        .filter(|(_, _, compared, template)| !compared && !template)
        .map(|(text, ..)| normalize(text))
        .collect();
    let mut found = Vec::new();
    for (text, line, compared, template) in literals {
        if !compared {
            continue;
        }
        let pieces = if template {
            template_pieces(&text)
        } else {
            vec![text]
        };
        for piece in pieces {
            let normalized = normalize(&piece);
            if message_like(&piece) && !inputs.contains(&normalized) {
                found.push(Compared {
                    line,
                    text: normalized,
                });
            }
        }
    }
    found
}

/// The name bound when the literal at `body[at]` is a whole `let`
/// initializer: `let name = "…";` or `let name: &str = "…";`.
fn let_binding(body: &[Lexed], at: usize) -> Option<String> {
    if at < 2
        || body[at - 1].token != Token::Punct('=')
        || body.get(at + 1).map(|lexed| &lexed.token) != Some(&Token::Punct(';'))
    {
        return None;
    }
    let statement = body[..at - 1]
        .iter()
        .rposition(|lexed| matches!(&lexed.token, Token::Ident(word) if word == "let"))?;
    let pattern = &body[statement + 1..at - 1];
    if pattern
        .iter()
        .any(|lexed| matches!(lexed.token, Token::Punct(';' | '{' | '}')))
    {
        return None;
    }
    pattern.iter().find_map(|lexed| match &lexed.token {
        Token::Ident(name) if name != "mut" => Some(name.clone()),
        _ => None,
    })
}

/// The text of a `format!` template between its placeholders, with `{{` and
/// `}}` read as braces.
fn template_pieces(template: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut piece = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' | '}' if chars.peek() == Some(&c) => {
                chars.next();
                piece.push(c);
            }
            '{' => {
                for inner in chars.by_ref() {
                    if inner == '}' {
                        break;
                    }
                }
                pieces.push(std::mem::take(&mut piece));
            }
            other => piece.push(other),
        }
    }
    pieces.push(piece);
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A solution file with one exercise test of exercise 3.2.
    const SOURCE: &str = r#"
pub fn unescape(text: &str) -> Result<String, String> {
    // ANCHOR: exercise_3_2
    // Exercise 3.2: undo the escapes
    todo!()
    // ANCHOR_END: exercise_3_2
}

#[cfg(test)]
mod tests {
    #[test]
    fn exercise_3_2_malformed_text_is_refused() {
        // The input is not wording: "a\\tb" is fed in.
        assert_eq!(unescape("a\\tb").unwrap_err(), "unknown escape `\\t`");
        assert_eq!(unescape("x y").unwrap(), "x y", "an echo and a message");
    }
}
"#;

    fn page(section: &str) -> String {
        format!(
            "# SSTables\n\n## Exercises\n\n### Exercise 3.2: undo the escapes\n\n{section}\n### Exercise 3.3: write\n\nunknown escape `\\t`\n\n## What changed\n"
        )
    }

    fn id(chapter: u32, number: u32) -> ExerciseId {
        ExerciseId { chapter, number }
    }

    #[test]
    fn a_compared_message_missing_from_the_goal_is_reported() {
        let page = page("**Goal:** implement `unescape`; refuse an unknown escape.\n");
        assert_eq!(
            unstated(SOURCE, 3, &page),
            [Unstated {
                id: id(3, 2),
                line: 14,
                text: "unknown escape `\\t`".into(),
            }]
        );
    }

    #[test]
    fn a_message_the_goal_states_is_accepted_even_across_a_line_break() {
        let page =
            page("**Goal:** an unknown escape is refused with `` unknown\nescape `\\t` ``.\n");
        assert_eq!(unstated(SOURCE, 3, &page), []);
        // Tests of other chapters' exercises are not this chapter's business.
        assert_eq!(unstated(SOURCE, 4, &page), []);
    }

    #[test]
    fn a_message_only_inside_details_is_not_stated() {
        let page = page(
            "**Goal:** implement `unescape`.\n\n<details>\n<summary>Hint 1</summary>\n\nunknown escape `\\t`\n\n</details>\n",
        );
        let found = unstated(SOURCE, 3, &page);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].text, "unknown escape `\\t`");
    }

    #[test]
    fn only_compared_positions_count() {
        let source = r##"
fn exercise_1_3_positions() {
    assert!(error.starts_with("cannot create "), "the message {error}");
    assert!(validate("k", "two words").is_ok(), "a space is a value");
    assert_eq!(answer, (StatusCode::BAD_REQUEST, "key cannot be empty\n".into()));
    assert_eq!(store.get("k").unwrap(), Some(value("Dar es Salaam")));
    assert!(matches!(&error, Error::Corrupt { line: 3, .. } if path.ends_with("a b.sst")));
    let expected = "the bound literal";
    assert_eq!(text, expected);
    let input = "not compared at all";
    read(input);
    assert_eq!(decode(x), Err(format!("bad checksum {crc:?} here")));
    assert_eq!(text, r#"a raw "one""#);
}
"##;
        let texts: Vec<String> = unstated(source, 1, "### Exercise 1.3: x\n")
            .into_iter()
            .map(|found| found.text)
            .collect();
        assert_eq!(
            texts,
            [
                "cannot create",
                "key cannot be empty",
                "a b.sst",
                "the bound literal",
                "bad checksum",
                "a raw \"one\""
            ]
        );
    }

    #[test]
    fn literals_are_decoded_and_comments_skipped() {
        let tokens = lex(
            "let c = '\"'; // \"not a literal\"\n/* \"nor this\" */ x(\"a\\u{2192}\\x41\\\n    b\", 'a', b\"c\");",
        );
        let strings: Vec<(String, usize)> = tokens
            .iter()
            .filter_map(|lexed| match &lexed.token {
                Token::Str(text) => Some((text.clone(), lexed.line)),
                _ => None,
            })
            .collect();
        assert_eq!(strings, [("a→Ab".to_string(), 2), ("c".to_string(), 3)]);
    }

    #[test]
    fn templates_are_split_at_their_placeholders() {
        assert_eq!(
            template_pieces("unknown escape `\\{other}` {{x}}"),
            ["unknown escape `\\", "` {x}"]
        );
    }
}
