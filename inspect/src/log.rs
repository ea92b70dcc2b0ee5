//! One write-ahead log (`.wal`, step 07) as it is on disk: its written
//! part ([`Written`]), and what a read of it found ([`LogFile`]).
//!
//! A log file is made longer than its records, and ends in zeros (see the
//! store's `log_record.rs`), so [`read`] takes the bytes up to the last one
//! that is not zero, found with the store's own `written_length`, once per
//! look. How those bytes are read into a [`LogFile`], as replay reads them,
//! is `replay.rs`; which logs a start replays is `chain.rs`. [`Written`]
//! also answers, from the bytes already read, the two questions a start
//! asks of every log to find the chain: its header, and whether it holds a
//! batch.
//!
//! Invariants:
//! - [`Written::header`] and [`Written::holds_no_batch`] answer what the
//!   store's `LogHeader::of_file` and `holds_no_batch` answer for the same
//!   file (tests compare them);
//! - the file is opened read-only.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use solution_07::format::{LogHeader, Op, written_length};

use crate::Problem;

/// One record replay reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its line in the log, counted from 1 (line 1 is the log's header).
    pub line: usize,
    pub op: Op,
}

/// A log as read from disk.
#[derive(Debug, Clone)]
pub struct LogFile {
    pub name: String,
    /// The file's length: header and records, then the zeros it was made
    /// with.
    pub file_bytes: u64,
    /// Up to the last byte that is not zero: what was written.
    pub written_bytes: u64,
    /// Its header, if it has a whole one: its number, the length it was
    /// made, and the log it follows with where that one's batches end.
    pub header: Option<LogHeader>,
    /// How many whole batches it holds.
    pub batches: usize,
    /// The records replay reads, in order: writes, and a `next` last.
    pub records: Vec<Record>,
    /// How many lines were written: the line an error about how the log
    /// ends names.
    pub lines: usize,
    /// The line and reason of a torn last batch, dropped at replay.
    pub torn: Option<(usize, String)>,
    /// Damage that would stop the store.
    pub problems: Vec<Problem>,
}

impl LogFile {
    /// How many writes replay applies from it (`next` is not one).
    pub fn writes(&self) -> usize {
        let writes = self.records.iter().filter(|record| !is_next(&record.op));
        writes.count()
    }

    /// The log that follows this one, if its last record names one.
    pub fn next(&self) -> Option<u64> {
        match self.records.last()?.op {
            Op::Next(number) => Some(number),
            _ => None,
        }
    }
}

fn is_next(op: &Op) -> bool {
    matches!(op, Op::Next(_))
}

/// `000004.wal` for log 4.
pub fn log_name(number: u64) -> String {
    format!("{number:06}.wal")
}

/// What a log file holds: its written part, and the file's length.
#[derive(Debug, Clone)]
pub struct Written {
    /// The bytes up to the last one that is not zero.
    pub bytes: Vec<u8>,
    pub file_bytes: u64,
}

impl Written {
    /// Whether the log holds no batch: nothing written after its first line
    /// (a new log, until its first sync). The store's `holds_no_batch`,
    /// on bytes already read (a test keeps the two the same).
    pub fn holds_no_batch(&self) -> bool {
        let most = solution_07::format::HEADER_MOST as usize;
        let start = &self.bytes[..self.bytes.len().min(most)];
        match start.iter().position(|&byte| byte == b'\n') {
            Some(newline) => newline + 1 == self.bytes.len(),
            None => self.bytes.len() <= most,
        }
    }

    /// The log's header, as the store's `LogHeader::of_file` reads it to
    /// find the chain: a whole first line within the first 4096 bytes, or
    /// `None` (a test keeps the two the same).
    pub fn header(&self) -> Option<LogHeader> {
        let first = &self.bytes[..self
            .bytes
            .len()
            .min(solution_07::format::HEADER_MOST as usize)];
        let newline = first.iter().position(|&byte| byte == b'\n')?;
        LogHeader::parse(&first[..newline])
    }
}

/// Reads the log `name` in `directory`: up to where the zeros it was made
/// with start (a log is made 16 MiB long, and finding where they start
/// reads the file from its end: done once per look).
pub fn read(directory: &Path, name: &str) -> io::Result<Written> {
    let file = File::open(directory.join(name))?;
    let file_bytes = file.metadata()?.len();
    let written = written_length(&file)?;
    let mut bytes = Vec::new();
    (&file).take(written).read_to_end(&mut bytes)?;
    Ok(Written { bytes, file_bytes })
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use solution_07::format::{batch_header, encode};

    pub fn put(key: &str, value: &str) -> Op {
        Op::Put(key.into(), value.into())
    }

    pub fn batch(ops: &[Op]) -> String {
        let records: String = ops.iter().map(encode).collect();
        batch_header(ops.len() as u64, records.as_bytes()) + &records
    }

    /// The header line of log `number`, made `made` bytes long, first of
    /// its start.
    pub fn header(number: u64, made: u64) -> String {
        LogHeader {
            number,
            made,
            after: None,
        }
        .line()
    }

    /// Writes each of `cases` as the file `000001.wal` of a new directory,
    /// and checks that `ours` reads of it what `store` reads.
    fn compare_with_the_store<T: PartialEq + std::fmt::Debug>(
        cases: &[&[u8]],
        store: impl Fn(&Path) -> T,
        ours: impl Fn(&Written) -> T,
    ) {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.wal");
        for bytes in cases {
            std::fs::write(&path, bytes).unwrap();
            let theirs = store(&path);
            let written = read(directory.path(), "000001.wal").unwrap();
            assert_eq!(ours(&written), theirs, "{bytes:?}");
        }
    }

    #[test]
    fn holds_no_batch_is_the_stores() {
        let header = header(1, 4096);
        // A blob with no newline: a header cut short, or, past any header's
        // length, no header at all (a batch, for the start: not removed).
        let blob = [b'x'; 5000];
        let cases: [&[u8]; 9] = [
            &blob[..60],
            &blob,
            b"",
            &[0; 100],
            header.as_bytes(),
            &[header.as_bytes(), &[0; 100]].concat(),
            header.trim_end().as_bytes(),
            &[header.as_bytes(), batch(&[put("a", "1")]).as_bytes()].concat(),
            &[header.as_bytes(), b"x", &[0; 100]].concat(),
        ];
        compare_with_the_store(
            &cases,
            |path| solution_07::format::holds_no_batch(&File::open(path).unwrap()).unwrap(),
            Written::holds_no_batch,
        );
    }

    #[test]
    fn the_header_is_read_as_the_store_reads_it() {
        let after = LogHeader {
            number: 1,
            made: 4096,
            after: Some((7, 141)),
        }
        .line();
        let long = [b"log 000001 ".as_slice(), &[b'1'; 5000], b" 00000000\n"].concat();
        let cases: [&[u8]; 7] = [
            b"",
            after.as_bytes(),
            after.trim_end().as_bytes(),
            &[after.as_bytes(), &[0; 100]].concat(),
            &after.replace("141", "142").into_bytes(),
            &[after.as_bytes(), batch(&[put("a", "1")]).as_bytes()].concat(),
            &long,
        ];
        compare_with_the_store(
            &cases,
            |path| LogHeader::of_file(path).unwrap(),
            Written::header,
        );
        let written = |text: &str| Written {
            bytes: text.as_bytes().to_vec(),
            file_bytes: 0,
        };
        assert_eq!(
            written(&after).header().and_then(|header| header.after),
            Some((7, 141))
        );
    }
}
