//! A small tokenizer for Rust source: identifiers, string literals (with
//! their escapes undone), punctuation, and everything else as one kind.
//! Whitespace and comments are dropped. Enough for `exercise_contract.rs` to
//! find the literals a test compares.
//!
//! Still hand-written, unlike the CSV and JSON readers: `proc-macro2` would
//! lex the source (with its `span-locations` feature for the lines), but the
//! contract needs string literals with their escapes undone, which takes
//! `syn` as well; this file is a flat token list and 200 lines, and its
//! tests pin what the contract relies on.

/// One token of Rust source: only what the rule needs to tell apart.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Ident(String),
    /// A string literal, its escapes undone.
    Str(String),
    Punct(char),
    /// A number, a character literal or a lifetime.
    Other,
}

/// A token and its 1-based line.
#[derive(Debug, Clone, PartialEq)]
pub struct Lexed {
    pub token: Token,
    pub line: usize,
}

/// Splits Rust source into tokens, leaving out whitespace and comments.
pub fn lex(source: &str) -> Vec<Lexed> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    let mut line = 1;
    while at < chars.len() {
        let c = chars[at];
        let next = chars.get(at + 1).copied();
        let start_line = line;
        if c == '\n' {
            line += 1;
            at += 1;
        } else if c.is_whitespace() {
            at += 1;
        } else if c == '/' && next == Some('/') {
            while at < chars.len() && chars[at] != '\n' {
                at += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while at < chars.len() {
                if chars[at] == '/' && chars.get(at + 1) == Some(&'*') {
                    depth += 1;
                    at += 2;
                } else if chars[at] == '*' && chars.get(at + 1) == Some(&'/') {
                    depth -= 1;
                    at += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(chars[at] == '\n');
                    at += 1;
                }
            }
        } else if let Some((text, end)) = string_at(&chars, at) {
            line += chars[at..end].iter().filter(|&&c| c == '\n').count();
            at = end;
            tokens.push(Lexed {
                token: Token::Str(text),
                line: start_line,
            });
        } else if c == '\'' {
            // A character literal, or else a lifetime (whose name follows
            // as an identifier).
            if next == Some('\\') {
                // Past the quote, the backslash and the escaped character.
                at += 3;
                while at < chars.len() && chars[at] != '\'' {
                    at += 1;
                }
                at += 1;
            } else if chars.get(at + 2) == Some(&'\'') {
                at += 3;
            } else {
                at += 1;
            }
            tokens.push(Lexed {
                token: Token::Other,
                line: start_line,
            });
        } else if c.is_ascii_digit() {
            while at < chars.len() {
                let here = chars[at];
                let fraction = here == '.' && chars.get(at + 1).is_some_and(char::is_ascii_digit);
                if here.is_alphanumeric() || here == '_' || fraction {
                    at += 1;
                } else {
                    break;
                }
            }
            tokens.push(Lexed {
                token: Token::Other,
                line: start_line,
            });
        } else if c.is_alphabetic() || c == '_' {
            let begin = at;
            while at < chars.len() && (chars[at].is_alphanumeric() || chars[at] == '_') {
                at += 1;
            }
            tokens.push(Lexed {
                token: Token::Ident(chars[begin..at].iter().collect()),
                line: start_line,
            });
        } else {
            at += 1;
            tokens.push(Lexed {
                token: Token::Punct(c),
                line: start_line,
            });
        }
    }
    tokens
}

/// The string literal that starts at `at` (`"…"`, `r"…"`, `r#"…"#`, and
/// their `b` forms), with its escapes undone, and the index after it.
fn string_at(chars: &[char], at: usize) -> Option<(String, usize)> {
    let mut start = at;
    if chars.get(start) == Some(&'b') {
        start += 1;
    }
    if chars.get(start) == Some(&'r') {
        let mut hashes = 0;
        let mut quote = start + 1;
        while chars.get(quote) == Some(&'#') {
            hashes += 1;
            quote += 1;
        }
        if chars.get(quote) != Some(&'"') {
            return None;
        }
        let mut end = quote + 1;
        while end < chars.len() {
            let closes = chars[end] == '"'
                && (1..=hashes).all(|offset| chars.get(end + offset) == Some(&'#'));
            if closes {
                return Some((chars[quote + 1..end].iter().collect(), end + 1 + hashes));
            }
            end += 1;
        }
        return None;
    }
    if chars.get(start) != Some(&'"') {
        return None;
    }
    let mut text = String::new();
    let mut at = start + 1;
    while at < chars.len() {
        match chars[at] {
            '"' => return Some((text, at + 1)),
            '\\' => {
                at += 1;
                match chars.get(at).copied() {
                    Some('n') => text.push('\n'),
                    Some('r') => text.push('\r'),
                    Some('t') => text.push('\t'),
                    Some('0') => text.push('\0'),
                    Some('x') => {
                        let hex: String = chars.iter().skip(at + 1).take(2).collect();
                        if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32)
                        {
                            text.push(c);
                        }
                        at += 2;
                    }
                    Some('u') => {
                        let close = (at..chars.len()).find(|&index| chars[index] == '}')?;
                        let hex: String = chars[at + 2..close].iter().collect();
                        if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32)
                        {
                            text.push(c);
                        }
                        at = close;
                    }
                    Some('\n') => {
                        // A line continuation: the newline and the
                        // indentation after it are not part of the text.
                        while chars.get(at + 1).is_some_and(|c| c.is_whitespace()) {
                            at += 1;
                        }
                    }
                    Some(other) => text.push(other),
                    None => return None,
                }
                at += 1;
            }
            other => {
                text.push(other);
                at += 1;
            }
        }
    }
    None
}
