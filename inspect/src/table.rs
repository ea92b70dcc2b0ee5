//! One table file, read line by line with the store's own line parser.
//!
//! The idea: the store's reader stops at the first bad line, since it must
//! not answer from a damaged table. The inspector wants every problem, so
//! it reads the whole file and goes on past a bad line: each line is
//! checked on its own (a newline at its end, UTF-8, the line format of
//! `line.rs`), and the order of keys against the last good key before it.
//! The format itself is `solution_07::format::parse_line`, never a copy.
//!
//! Shortcuts, and what they cost:
//! - the file is read whole into memory: fine for the tables a learner
//!   makes, not for gigabytes.
//!
//! Invariants:
//! - every line of the file is either in [`TableFile::lines`] or named by a
//!   problem, with its number;
//! - the lines kept have strictly ascending keys (a line whose key is not
//!   after the one before it is a problem, and is not kept).

use std::fs;
use std::io;
use std::path::Path;

use solution_07::Entry;
use solution_07::format::{Checksum, Summer, parse_line};

use crate::Problem;

/// One well-formed line of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Its number, counted from 1.
    pub number: usize,
    /// Where it starts in the file, in bytes.
    pub offset: u64,
    /// Its length in bytes, newline included.
    pub bytes: u64,
    pub key: String,
    pub entry: Entry,
}

/// A table as read from disk.
#[derive(Debug, Clone)]
pub struct TableFile {
    /// Its name, e.g. `000003.sst`.
    pub name: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its size and the CRC-32 of all its bytes, summed by the store's own
    /// `Summer`: what a manifest line must name it with.
    pub checksum: Checksum,
    /// How many lines the file has, good or bad.
    pub line_count: usize,
    /// The good lines, in file order.
    pub lines: Vec<Line>,
    /// What is wrong with it, line by line.
    pub problems: Vec<Problem>,
}

impl TableFile {
    /// How many of its entries are tombstones.
    pub fn tombstones(&self) -> usize {
        let tombstones = self
            .lines
            .iter()
            .filter(|line| line.entry == Entry::Tombstone);
        tombstones.count()
    }

    /// The line whose key is `key`.
    pub fn line_of(&self, key: &str) -> Option<&Line> {
        let at = self
            .lines
            .binary_search_by(|line| line.key.as_str().cmp(key));
        at.ok().map(|at| &self.lines[at])
    }
}

/// Reads the table `name` in `directory`. `Err` is the read's error, left
/// to the caller to report: `NotFound` for a table that vanished (a merge
/// removed it while we looked) or that a manifest names wrongly.
pub fn read(directory: &Path, name: &str) -> io::Result<TableFile> {
    let bytes = fs::read(directory.join(name))?;
    Ok(parse(name, &bytes))
}

/// Checks the text of a table, `bytes`, line by line.
pub fn parse(name: &str, bytes: &[u8]) -> TableFile {
    let mut summer = Summer::default();
    summer.add(bytes);
    let mut table = TableFile {
        name: name.to_string(),
        bytes: bytes.len() as u64,
        checksum: summer.finish(),
        line_count: 0,
        lines: Vec::new(),
        problems: Vec::new(),
    };
    let mut offset = 0;
    for (at, text) in bytes.split_inclusive(|&byte| byte == b'\n').enumerate() {
        let number = at + 1;
        table.line_count = number;
        let line_offset = offset;
        offset += text.len() as u64;
        let problem = |reason: String| Problem::at(name, number, reason);
        let Some(text) = text.strip_suffix(b"\n") else {
            let reason = "the last line has no newline: the file was cut short";
            table.problems.push(problem(reason.into()));
            continue;
        };
        let Ok(text) = std::str::from_utf8(text) else {
            table.problems.push(problem("not UTF-8".into()));
            continue;
        };
        let (key, entry) = match parse_line(text) {
            Ok(parsed) => parsed,
            Err(reason) => {
                table.problems.push(problem(reason));
                continue;
            }
        };
        // The rule of `entries.rs`: strictly ascending, so no duplicates.
        if let Some(previous) = table.lines.last()
            && key.as_str() <= previous.key.as_str()
        {
            table.problems.push(problem(format!(
                "key {key:?} is not after the key {:?} on line {}",
                previous.key, previous.number
            )));
            continue;
        }
        table.lines.push(Line {
            number,
            offset: line_offset,
            bytes: offset - line_offset,
            key,
            entry,
        });
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_lines_are_kept_with_where_they_start() {
        let table = parse("000001.sst", "a→1\nb→†\n".as_bytes());
        assert_eq!(table.problems, []);
        assert_eq!(table.lines.len(), 2);
        assert_eq!(table.lines[1].offset, 6);
        assert_eq!(table.lines[1].entry, Entry::Tombstone);
        assert_eq!(table.tombstones(), 1);
        assert_eq!(table.line_of("b").map(|line| line.number), Some(2));
    }

    #[test]
    fn every_bad_line_is_named_and_reading_goes_on() {
        let text = "b→1\na→2\nc\\x→3\nd→4\ne→5";
        let table = parse("000001.sst", text.as_bytes());
        let lines: Vec<Option<usize>> = table.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [Some(2), Some(3), Some(5)], "{:?}", table.problems);
        assert!(table.problems[0].reason.contains("is not after"));
        assert!(table.problems[1].reason.contains("unknown escape"));
        assert!(table.problems[2].reason.contains("cut short"));
        assert_eq!(table.lines.len(), 2, "b and d");
        assert_eq!(table.line_count, 5);
    }
}
