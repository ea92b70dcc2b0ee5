//! Reading a table in order: the lines of one table, from the first, each
//! checked against the format, and where each line starts. Scans, merges
//! and the rebuild of an index read tables this way.
//!
//! The idea: every reader of a table shares the one file the table keeps
//! open (see `table_reader.rs`), so none may move the file's offset, which
//! is one for all who share it. Each [`Entries`] reads with positioned
//! reads from an offset of its own, through a buffer, and parses one line
//! at a time.
//!
//! Invariants:
//! - keys come out strictly ascending, or the reader stops with the error
//!   that names the file and the line that broke the order or the format;
//! - after an error, the reader yields nothing more.
//!
//! The format is in `sstable.rs` and `line.rs`. Read alongside chapter 3 of
//! the book, "SSTables".

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::line::parse_line;
use crate::memtable::Entry;
use crate::{Error, Result};

/// Reads a file that other readers share, with positioned reads from its own
/// `offset` on. The file's own offset is one for all who share the file: a
/// reader that moved it would move every other reader too.
struct PositionedReader {
    file: Arc<File>,
    /// Where the next read starts, in bytes.
    offset: u64,
}

impl Read for PositionedReader {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let read = self.file.read_at(buffer, self.offset)?;
        self.offset += read as u64;
        Ok(read)
    }
}

/// The entries of a table, read one line at a time. Each item is a key and
/// its entry, or the error that names the file and line that broke the format.
pub struct Entries {
    reader: BufReader<PositionedReader>,
    path: PathBuf,
    /// Where the next line starts, in bytes.
    offset: u64,
    line_number: usize,
    previous_key: Option<String>,
    failed: bool,
}

impl Entries {
    /// Reads the lines of `file`, the table at `path`, from the first.
    pub(crate) fn new(file: Arc<File>, path: PathBuf) -> Entries {
        let reader = PositionedReader { file, offset: 0 };
        Entries {
            reader: BufReader::new(reader),
            path,
            offset: 0,
            line_number: 0,
            previous_key: None,
            failed: false,
        }
    }

    /// Where the next line starts, in bytes.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The number of the last line read (0 before the first).
    pub fn line_number(&self) -> usize {
        self.line_number
    }

    fn corrupt(&self, reason: String) -> Error {
        Error::Corrupt {
            path: self.path.clone(),
            line: self.line_number,
            reason,
        }
    }

    fn read_entry(&mut self) -> Result<Option<(String, Entry)>> {
        let mut bytes = Vec::new();
        self.reader
            .read_until(b'\n', &mut bytes)
            .map_err(|source| Error::Io {
                action: "read",
                path: self.path.clone(),
                source,
            })?;
        if bytes.is_empty() {
            return Ok(None);
        }
        self.line_number += 1;
        self.offset += bytes.len() as u64;
        if bytes.pop() != Some(b'\n') {
            return Err(self.corrupt("the last line has no newline: the file was cut short".into()));
        }
        let line = String::from_utf8(bytes).map_err(|_| self.corrupt("not UTF-8".into()))?;
        let (key, entry) = parse_line(&line).map_err(|reason| self.corrupt(reason))?;
        if let Some(previous) = &self.previous_key
            && key.as_str() <= previous.as_str()
        {
            return Err(self.corrupt(format!(
                "key {key:?} is not after the key {previous:?} before it"
            )));
        }
        self.previous_key = Some(key.clone());
        Ok(Some((key, entry)))
    }
}

impl Iterator for Entries {
    type Item = Result<(String, Entry)>;

    fn next(&mut self) -> Option<Self::Item> {
        // After an error the reader is at an unknown place in the file, and
        // what it read next would be nonsense: the error is the last item.
        if self.failed {
            return None;
        }
        let item = self.read_entry().transpose();
        self.failed = matches!(item, Some(Err(_)));
        item
    }
}
