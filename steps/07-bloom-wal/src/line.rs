//! Lines: how one key and its entry are written as one line of text, and
//! read back.
//!
//! The idea: a table is a file of lines, one per entry, so that anyone can
//! read it with `cat` (the index and the write-ahead log reuse the same
//! escaping). Keys and values are any text at all, so the characters that
//! would break a line, a newline, a `→` that would look like the separator,
//! a value that is exactly `†`, are escaped with a backslash, and the
//! backslash itself too, so that the escaping can be undone exactly.
//! Ordinary text is written as it is.
//!
//! A lookup compares the key it seeks with the keys of a block's lines as
//! the lines hold them, escaped ([`escaped_key`], [`compare_escaped`]), so
//! that it unescapes and copies only the line it returns.
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
//! - an encoded line holds exactly one newline, its last character;
//! - a key has exactly one escaped form, so two keys are equal exactly when
//!   their escaped forms are; [`compare_escaped`] orders escaped keys as the
//!   keys they stand for, which is not always the order of their bytes.
//!
//! Read alongside chapter 3 of the book, "SSTables".

use std::cmp::Ordering;

use crate::memtable::Entry;

/// Separates a key from its value on a line.
const SEPARATOR: char = '→';

/// Stands for the value of a deleted key. (It is a cross, the sign for a
/// death in a family tree, not a dagger.)
const TOMBSTONE: char = '†';

/// Escapes `text` for a table line: `\`, newline, carriage return, `→` and
/// `†` become two-character escapes; every other character stays as it is.
pub fn escape(text: &str) -> String {
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
}

/// Undoes [`escape`]. The error is the reason `text` is not escaped text.
pub fn unescape(text: &str) -> std::result::Result<String, String> {
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
    let at = separator_at(line.as_bytes())?;
    Some((&line[..at], &line[at + SEPARATOR.len_utf8()..]))
}

/// Where the first `→` of `line` that is not escaped starts, in bytes.
fn separator_at(line: &[u8]) -> Option<usize> {
    let mut separator = [0; 4];
    let separator = SEPARATOR.encode_utf8(&mut separator).as_bytes();
    let mut escaped = false;
    for (at, &byte) in line.iter().enumerate() {
        match byte {
            // Only the first byte of an escaped character is skipped here;
            // the others, if any, are never a backslash or a `→`'s first byte.
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            _ if line[at..].starts_with(separator) => return Some(at),
            _ => {}
        }
    }
    None
}

/// The key of a table line, without its newline, as the line holds it:
/// still escaped, the text before the first `→` that is not escaped. The
/// error is the reason the line has no such key. Nothing is copied and the
/// value is not looked at, so that a lookup passes a line cheaply.
pub fn escaped_key(line: &[u8]) -> std::result::Result<&str, String> {
    let at = separator_at(line).ok_or_else(|| {
        let line = String::from_utf8_lossy(line);
        format!("expected `key{SEPARATOR}value`, found {line:?}")
    })?;
    std::str::from_utf8(&line[..at]).map_err(|_| "not UTF-8".to_string())
}

/// Compares two escaped keys in the order of the keys they stand for. The
/// error is the reason one of them, if it has to be unescaped, cannot be.
///
/// A key has exactly one escaped form, so equal forms mean equal keys. But
/// escaping does not keep the order of bytes: a newline, byte 10, sorts
/// before `A`, byte 65, while its escape `\n` starts with a backslash, byte
/// 92, and sorts after it. Text without a backslash is its own escaped
/// form, though, so only a key with an escape in it is unescaped to compare.
pub fn compare_escaped(a: &str, b: &str) -> std::result::Result<Ordering, String> {
    if a == b {
        return Ok(Ordering::Equal);
    }
    if !a.contains('\\') && !b.contains('\\') {
        return Ok(a.cmp(b));
    }
    let a = unescape(a).map_err(|reason| format!("bad key: {reason}"))?;
    let b = unescape(b).map_err(|reason| format!("bad key: {reason}"))?;
    Ok(a.cmp(&b))
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

    #[test]
    fn a_line_s_key_is_read_as_the_line_holds_it() {
        assert_eq!(
            escaped_key("kenya:capital→Nairobi".as_bytes()),
            Ok("kenya:capital")
        );
        assert_eq!(escaped_key("a\\→b→c".as_bytes()), Ok("a\\→b"));
        assert_eq!(escaped_key("\\\\→\\†".as_bytes()), Ok("\\\\"));
        assert_eq!(escaped_key("→†".as_bytes()), Ok(""));
        assert_eq!(
            escaped_key(b"no separator").unwrap_err(),
            "expected `key→value`, found \"no separator\""
        );
        assert_eq!(
            escaped_key(b"\xff\xe2\x86\x92value").unwrap_err(),
            "not UTF-8"
        );
        // The value is not looked at.
        assert_eq!(escaped_key(b"k\xe2\x86\x92\xff"), Ok("k"));
    }

    #[test]
    fn escaped_keys_compare_in_the_order_of_their_keys() {
        let keys = [
            "", "\n", "\r", " ", "A", "\\", "\\n", "a", "a\n", "a→", "ab", "é", "→", "†", "🦀",
        ];
        for a in keys {
            for b in keys {
                assert_eq!(
                    compare_escaped(&escape(a), &escape(b)),
                    Ok(a.cmp(b)),
                    "{a:?} and {b:?}"
                );
            }
        }
        // Which the order of the escaped bytes is not.
        assert!(escape("\n") > escape("A"));
        assert!(escape("→") < escape("é"));
        assert_eq!(
            compare_escaped("bad \\x", "a").unwrap_err(),
            "bad key: unknown escape `\\x`"
        );
    }
}
