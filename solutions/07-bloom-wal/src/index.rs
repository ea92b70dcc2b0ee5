//! The sparse index: where each block of a table starts, and its first key.
//!
//! The idea: a table is sorted, so to find a key we do not need to read it
//! from the start; we need to know roughly where the key would be. The
//! writer cuts the table into blocks of about [`BLOCK_BYTES`] of whole lines
//! and notes, for each block, its first key and its byte offset. That list
//! is small (one line per 4 KiB of table) and lives in memory. A lookup
//! binary-searches it for the last block whose first key is not greater
//! than the key sought, then reads that one block and nothing else.
//!
//! A table has a bloom filter beside its index too, and a lookup asks the
//! filter first: it reaches the index only for keys the filter lets through.
//! The index is loaded by `sidecar::load`, the same code that loads the
//! filter, and the two are rebuilt together.
//!
//! Shortcuts, and what they cost:
//! - one index per table, in a file beside it, loaded whole: memory grows
//!   with the number of blocks (about 1/4096 of the data, plus the keys);
//! - no block cache: every lookup reads its block from the file (the
//!   operating system's page cache usually has it);
//! - a damaged index is rebuilt by reading the whole table once, and so is
//!   a sound one whose table's filter is missing or damaged (one read of
//!   the table rebuilds both).
//!
//! ## The format
//!
//! `NNNNNN.idx` sits beside `NNNNNN.sst`:
//!
//! After its check line (see `sidecar.rs`: the table's size and a checksum
//! of what follows):
//!
//! ```text
//! index := block*                      one line per block, in table order
//! block := offset " " line " " key "\n"
//! ```
//!
//! - `offset`: where the block's first line starts in the table, in bytes,
//!   in decimal. The first block starts at 0; offsets strictly increase and
//!   stay below the table's size.
//! - `line`: the number of that line in the table, counted from 1; strictly
//!   increasing. (It lets an error inside a block name its line.)
//! - `key`: the block's first key, escaped as in the table.
//!
//! A block runs from its offset to the next block's offset (or to the end of
//! the table). The writer starts a new block at the first line that comes
//! when the current block already holds [`BLOCK_BYTES`] or more, so a block
//! is at most 4 KiB plus one line. An empty table has an empty index.
//!
//! The index is written after its table, under a temporary name, then
//! renamed. When a table is opened and its index is missing, or breaks any
//! rule above, the store logs that and rebuilds the index by reading the
//! table once (together with the filter: see `table_reader.rs`). If,
//! later, a block does not start with the key its index line promised, the
//! lookup fails with the table's path and line: never a wrong answer.
//!
//! Example: a table whose first block starts with `kenya:capital` and whose
//! second starts at byte 4107, on line 180, with `rwanda:capital`:
//!
//! ```text
//! 0 1 kenya:capital
//! 4107 180 rwanda:capital
//! ```
//!
//! Invariants:
//! - the index lists every block of its table, in order, with the exact
//!   offset, line number and first key of each;
//! - a lookup reads at most one block (4 KiB plus one line) of a table.
//!
//! Read alongside chapter 6 of the book, "A sparse index".

use std::path::Path;

use crate::Result;
use crate::files;
use crate::line::{escape, unescape};
use crate::sidecar;

/// The size at which the writer starts a new block. 4 KiB is a page of
/// memory and a common disk block: reading it costs about as much as
/// reading one byte.
pub const BLOCK_BYTES: u64 = 4096;

/// Where one block starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockStart {
    /// The block's first key.
    pub key: String,
    /// Where the block starts in the table, in bytes.
    pub offset: u64,
    /// The number of the block's first line in the table, from 1.
    pub line: usize,
}

/// One block to read: bytes `start..end` of the table, from line `line`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Where the block starts in the table, in bytes.
    pub start: u64,
    /// Where it ends (the next block's start, or the table's size).
    pub end: u64,
    /// The number of its first line in the table, counted from 1.
    pub line: usize,
    /// The key the block's first line must have.
    pub first_key: String,
}

/// The sparse index of one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    blocks: Vec<BlockStart>,
    /// The table's size in bytes: where the last block ends.
    table_bytes: u64,
}

impl Index {
    /// An empty index, to be filled by [`Index::note_line`] while a table is
    /// written.
    pub fn new() -> Index {
        Index::default()
    }

    /// Called by the table writer before it writes each line: `key` is the
    /// line's key, `offset` where it starts, `line` its number. Starts a new
    /// block at the first line, and at the first line that comes once the
    /// current block holds `BLOCK_BYTES` or more.
    pub fn note_line(&mut self, key: &str, offset: u64, line: usize) {
        let starts_block = match self.blocks.last() {
            None => true,
            Some(current) => offset - current.offset >= BLOCK_BYTES,
        };
        if starts_block {
            self.blocks.push(BlockStart {
                key: key.to_string(),
                offset,
                line,
            });
        }
    }

    /// Records where the table ends, once the last line is written.
    pub fn finish(&mut self, table_bytes: u64) {
        self.table_bytes = table_bytes;
    }

    /// The blocks, in table order.
    pub fn blocks(&self) -> &[BlockStart] {
        &self.blocks
    }

    /// The one block that can hold `key`: the last block whose first key is
    /// not greater than `key`. `None` when `key` comes before the first key
    /// of the table (or the table is empty), so no block can hold it.
    pub fn block_for(&self, key: &str) -> Option<Block> {
        // ANCHOR: exercise_6_1
        // Exercise 6.1: binary-search for the last block whose first key is not greater than key
        // How many blocks start with a key <= `key`: the one we want is the last of them.
        let count = self
            .blocks
            .partition_point(|block| block.key.as_str() <= key);
        let index = count.checked_sub(1)?;
        let block = &self.blocks[index];
        let end = self
            .blocks
            .get(index + 1)
            .map_or(self.table_bytes, |next| next.offset);
        Some(Block {
            start: block.offset,
            end,
            line: block.line,
            first_key: block.key.clone(),
        })
        // ANCHOR_END: exercise_6_1
    }

    /// The text of the index file.
    pub fn encode(&self) -> String {
        let lines = self
            .blocks
            .iter()
            .map(|block| format!("{} {} {}\n", block.offset, block.line, escape(&block.key)));
        lines.collect()
    }

    /// Parses an index file of a table of `table_bytes` bytes. The error is
    /// the line that breaks a rule of the format, and why.
    pub fn parse(text: &str, table_bytes: u64) -> std::result::Result<Index, (usize, String)> {
        let mut index = Index {
            blocks: Vec::new(),
            table_bytes,
        };
        if !text.is_empty() && !text.ends_with('\n') {
            return Err((text.lines().count(), "the last line has no newline".into()));
        }
        for (at, line) in text.lines().enumerate() {
            let number = at + 1;
            let mut fields = line.splitn(3, ' ');
            let (Some(offset), Some(line_number), Some(key)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Err((
                    number,
                    format!("expected `offset line key`, found {line:?}"),
                ));
            };
            let offset: u64 = offset
                .parse()
                .map_err(|_| (number, format!("bad offset {offset:?}")))?;
            let line_number: usize = line_number
                .parse()
                .map_err(|_| (number, format!("bad line number {line_number:?}")))?;
            let key = unescape(key).map_err(|reason| (number, format!("bad key: {reason}")))?;
            let well_placed = match index.blocks.last() {
                None => offset == 0 && line_number == 1,
                Some(previous) => {
                    offset > previous.offset && line_number > previous.line && key > previous.key
                }
            };
            if !well_placed || offset >= table_bytes {
                return Err((
                    number,
                    "the block does not follow the one before it within the table".into(),
                ));
            }
            index.blocks.push(BlockStart {
                key,
                offset,
                line: line_number,
            });
        }
        if index.blocks.is_empty() && table_bytes > 0 {
            return Err((1, "the index of a table that is not empty is empty".into()));
        }
        Ok(index)
    }
}

/// Writes `index` beside `table`, whole or not at all.
pub fn write(table: &Path, index: &Index) -> Result<()> {
    sidecar::write(
        table,
        files::INDEX_EXTENSION,
        index.table_bytes,
        &index.encode(),
    )
}

/// Loads the index of the table at `table`, of `table_bytes` bytes. `Ok(None)`
/// when it is missing or damaged (the reason is logged): the caller rebuilds it.
pub fn load(table: &Path, table_bytes: u64) -> Result<Option<Index>> {
    sidecar::load(table, files::INDEX_EXTENSION, table_bytes, |text| {
        Index::parse(text, table_bytes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An index of lines of `line_bytes` bytes each, keys `k000`, `k001`, ...
    fn index_of(lines: usize, line_bytes: u64) -> Index {
        let mut index = Index::new();
        for line in 0..lines {
            index.note_line(&format!("k{line:03}"), line as u64 * line_bytes, line + 1);
        }
        index.finish(lines as u64 * line_bytes);
        index
    }

    #[test]
    fn blocks_start_every_4_kib_of_whole_lines() {
        let index = index_of(100, 1000);
        let offsets: Vec<u64> = index.blocks().iter().map(|block| block.offset).collect();
        // Lines of 1000 bytes: a block takes five lines (5000 >= 4096).
        let expected: Vec<u64> = (0..20).map(|block| block * 5000).collect();
        assert_eq!(offsets, expected);
        assert_eq!(
            index.blocks()[1],
            BlockStart {
                key: "k005".into(),
                offset: 5000,
                line: 6
            }
        );
    }

    #[test]
    fn a_line_longer_than_a_block_is_a_block() {
        let index = index_of(3, 10_000);
        assert_eq!(index.blocks().len(), 3);
        assert_eq!(index_of(0, 100).blocks(), []);
    }

    #[test]
    fn exercise_6_1_the_block_is_the_last_one_starting_at_or_before_the_key() {
        let mut index = Index::new();
        index.blocks = vec![
            BlockStart {
                key: "b".into(),
                offset: 0,
                line: 1,
            },
            BlockStart {
                key: "f".into(),
                offset: 4100,
                line: 50,
            },
            BlockStart {
                key: "m".into(),
                offset: 8200,
                line: 99,
            },
        ];
        index.table_bytes = 9000;
        let block = |start, end, line, key: &str| {
            Some(Block {
                start,
                end,
                line,
                first_key: key.into(),
            })
        };
        assert_eq!(index.block_for("a"), None, "before the first key");
        assert_eq!(index.block_for("b"), block(0, 4100, 1, "b"));
        assert_eq!(index.block_for("e"), block(0, 4100, 1, "b"));
        assert_eq!(index.block_for("f"), block(4100, 8200, 50, "f"));
        assert_eq!(
            index.block_for("zzz"),
            block(8200, 9000, 99, "m"),
            "the last block ends the table"
        );
        assert_eq!(Index::new().block_for("b"), None, "an empty table");
    }

    #[test]
    fn the_index_file_round_trips() {
        let mut index = Index::new();
        index.note_line("a→b\n", 0, 1);
        index.note_line("z", 5000, 40);
        index.finish(6000);
        let text = index.encode();
        assert_eq!(text, "0 1 a\\→b\\n\n5000 40 z\n");
        assert_eq!(Index::parse(&text, 6000), Ok(index));
    }

    #[test]
    fn damaged_index_files_are_refused_with_their_line() {
        let cases = [
            ("0 1 a\n5000 40\n", 2, "expected `offset line key`"),
            ("0 1 a\nfive 40 b\n", 2, "bad offset"),
            ("10 1 a\n", 1, "does not follow"),
            ("0 1 b\n4000 9 a\n", 2, "does not follow"),
            ("0 1 a\n9000 9 b\n", 2, "does not follow"),
            ("0 1 a\n4000 9 b", 2, "no newline"),
            ("", 1, "is empty"),
        ];
        for (text, line, reason) in cases {
            let (found_line, found_reason) = Index::parse(text, 6000).unwrap_err();
            assert_eq!(found_line, line, "{text:?}");
            assert!(found_reason.contains(reason), "{text:?}: {found_reason}");
        }
    }
}
