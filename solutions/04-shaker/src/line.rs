//! Lines: how one key and its entry are written as one line of text, and
//! read back.
//!
//! The idea: a table is a file of lines, one per entry, so that anyone can
//! read it with `cat` (chapters 6 and 7 reuse the same escaping for an index
//! and a write-ahead log). Keys and values are any text at all, so the
//! characters that would break a line, a newline, a `→` that would look like
//! the separator, a value that is exactly `†`, are escaped with a backslash,
//! and the backslash itself too, so that the escaping can be undone exactly.
//! Ordinary text is written as it is.
//!
//! Shortcuts, and what they cost:
//! - escaping instead of length prefixes: a line stays readable, but every
//!   character of it must be looked at to find where the key ends.
//!
//! ## The line format
//!
//! ```text
//! line  := key "→" value "\n"     a value
//!        | key "→" "†" "\n"       a tombstone: the key was deleted
//! key, value := text, escaped as below
//! ```
//!
//! Escaping: a backslash starts an escape, and these are the only five.
//!
//! | in a key or value   | written as |
//! |---------------------|------------|
//! | backslash `\`       | `\\`       |
//! | newline             | `\n`       |
//! | carriage return     | `\r`       |
//! | arrow `→`           | `\→`       |
//! | cross `†`           | `\†`       |
//!
//! Every other character, tabs and emoji included, is written as it is. So
//! the first `→` of a line that is not escaped is the separator, and a value
//! that is a lone unescaped `†` is a tombstone, while the value "†" is
//! written `\†`.
//!
//! A line is refused, with the reason, when it has no unescaped `→`, holds
//! an unescaped `→`, `†` or carriage return where none may be, or has a
//! backslash followed by anything but the five characters above.
//!
//! Invariants:
//! - every key and value round-trips: `parse_line(encode_line(k, e))` is `(k, e)`;
//! - an encoded line holds exactly one newline, its last character.
//!
//! Read alongside chapter 3 of the book, "SSTables".

use crate::memtable::Entry;

/// Separates a key from its value on a line.
const SEPARATOR: char = '→';

/// Stands for the value of a deleted key. (It is a cross, the sign for a
/// death in a family tree, not a dagger.)
const TOMBSTONE: char = '†';

/// Escapes `text` for a table line: `\`, newline, carriage return, `→` and
/// `†` become two-character escapes; every other character stays as it is.
pub fn escape(text: &str) -> String {
    // ANCHOR: exercise_3_1
    // Exercise 3.1: write each character, turning the five special ones into escapes
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            SEPARATOR | TOMBSTONE => {
                escaped.push('\\');
                escaped.push(c);
            }
            _ => escaped.push(c),
        }
    }
    escaped
    // ANCHOR_END: exercise_3_1
}

/// Undoes [`escape`]. The error is the reason `text` is not escaped text.
pub fn unescape(text: &str) -> std::result::Result<String, String> {
    // ANCHOR: exercise_3_2
    // Exercise 3.2: undo the five escapes; refuse any other escape and any bare → or †
    let mut unescaped = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\\') => unescaped.push('\\'),
                Some('n') => unescaped.push('\n'),
                Some('r') => unescaped.push('\r'),
                Some(c @ (SEPARATOR | TOMBSTONE)) => unescaped.push(c),
                Some(other) => return Err(format!("unknown escape `\\{other}`")),
                None => return Err("a backslash ends the text".to_string()),
            },
            SEPARATOR | TOMBSTONE | '\r' => return Err(format!("{c:?} must be escaped")),
            _ => unescaped.push(c),
        }
    }
    Ok(unescaped)
    // ANCHOR_END: exercise_3_2
}

/// Returns the line of a table that holds `key` and `entry`, newline included.
pub fn encode_line(key: &str, entry: &Entry) -> String {
    match entry {
        Entry::Value(value) => format!("{}{SEPARATOR}{}\n", escape(key), escape(value)),
        Entry::Tombstone => format!("{}{SEPARATOR}{TOMBSTONE}\n", escape(key)),
    }
}

/// Parses one line of a table, without its newline, into a key and an entry.
/// The error is the reason the line is malformed.
pub fn parse_line(line: &str) -> std::result::Result<(String, Entry), String> {
    let (key, value) = split_at_separator(line)
        .ok_or_else(|| format!("expected `key{SEPARATOR}value`, found {line:?}"))?;
    let key = unescape(key).map_err(|reason| format!("bad key: {reason}"))?;
    if value == TOMBSTONE.to_string() {
        return Ok((key, Entry::Tombstone));
    }
    let value = unescape(value).map_err(|reason| format!("bad value: {reason}"))?;
    Ok((key, Entry::Value(value)))
}

/// Splits `line` at its first `→` that is not escaped.
fn split_at_separator(line: &str) -> Option<(&str, &str)> {
    let mut escaped = false;
    for (at, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            SEPARATOR => return Some((&line[..at], &line[at + SEPARATOR.len_utf8()..])),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> Entry {
        Entry::Value(text.to_string())
    }

    #[test]
    fn exercise_3_1_ordinary_text_is_written_as_it_is() {
        assert_eq!(escape("kenya:capital"), "kenya:capital");
        assert_eq!(escape("Dar es Salaam\t🌍 é"), "Dar es Salaam\t🌍 é");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn exercise_3_1_special_characters_are_escaped() {
        assert_eq!(escape("a→b"), "a\\→b");
        assert_eq!(escape("†"), "\\†");
        assert_eq!(escape("one\ntwo\r\n"), "one\\ntwo\\r\\n");
        assert_eq!(escape("C:\\dir\\n"), "C:\\\\dir\\\\n");
    }

    #[test]
    fn exercise_3_1_lines_of_the_walkthrough() {
        assert_eq!(
            encode_line("kenya:capital", &value("Nairobi")),
            "kenya:capital→Nairobi\n"
        );
        assert_eq!(
            encode_line("tanzania:capital", &Entry::Tombstone),
            "tanzania:capital→†\n"
        );
        assert_eq!(encode_line("cross", &value("†")), "cross→\\†\n");
    }

    #[test]
    fn exercise_3_2_escapes_are_undone() {
        assert_eq!(unescape("kenya:capital").unwrap(), "kenya:capital");
        assert_eq!(unescape("a\\→b").unwrap(), "a→b");
        assert_eq!(unescape("\\†").unwrap(), "†");
        assert_eq!(unescape("one\\ntwo\\r\\n").unwrap(), "one\ntwo\r\n");
        assert_eq!(unescape("C:\\\\dir\\\\n").unwrap(), "C:\\dir\\n");
    }

    #[test]
    fn exercise_3_2_malformed_text_is_refused() {
        assert_eq!(unescape("a\\tb").unwrap_err(), "unknown escape `\\t`");
        assert_eq!(
            unescape("ends in \\").unwrap_err(),
            "a backslash ends the text"
        );
        assert_eq!(unescape("a†b").unwrap_err(), "'†' must be escaped");
        assert_eq!(unescape("a→b").unwrap_err(), "'→' must be escaped");
        assert_eq!(unescape("a\rb").unwrap_err(), "'\\r' must be escaped");
    }

    #[test]
    fn exercise_3_2_lines_parse_back() {
        assert_eq!(
            parse_line("kenya:capital→Nairobi").unwrap(),
            ("kenya:capital".into(), value("Nairobi"))
        );
        assert_eq!(
            parse_line("tanzania:capital→†").unwrap(),
            ("tanzania:capital".into(), Entry::Tombstone)
        );
        assert_eq!(
            parse_line("cross→\\†").unwrap(),
            ("cross".into(), value("†"))
        );
        assert_eq!(parse_line("a\\→b→c").unwrap(), ("a→b".into(), value("c")));
        assert_eq!(parse_line("empty→").unwrap(), ("empty".into(), value("")));
        assert_eq!(
            parse_line("k→a→b").unwrap_err(),
            "bad value: '→' must be escaped"
        );
    }

    #[test]
    fn exercise_3_2_every_string_round_trips() {
        assert_eq!(unescape("").unwrap(), "");
        let awkward = [
            "",
            "\\",
            "\\\\n",
            "→",
            "†",
            "††",
            "\n",
            "\r\n",
            "a\\→b",
            "\\†",
            "🦀 →†\\ \t",
        ];
        for key in awkward {
            for text in awkward {
                for entry in [value(text), Entry::Tombstone] {
                    let line = encode_line(key, &entry);
                    assert_eq!(line.matches('\n').count(), 1, "one line: {line:?}");
                    let parsed = parse_line(line.strip_suffix('\n').unwrap()).unwrap();
                    assert_eq!(parsed, (key.to_string(), entry), "line {line:?}");
                }
            }
        }
    }
}
