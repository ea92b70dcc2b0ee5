//! The write-ahead log's records: their format, and reading a log back.
//!
//! Each write reaches the log as one record, one line of text, with a
//! checksum, so that a record torn by a crash is told from a whole one.
//! [`encode`] writes a record and [`decode`] reads one; [`replay`] applies
//! the records of a log file, in order, to a memtable. The live log, which
//! appends the records and syncs them, is `wal.rs`.
//!
//! ## The format
//!
//! `NNNNNN.wal`, one line per record, in the order the writes happened:
//!
//! ```text
//! record := crc " " body "\n"
//! crc    := 8 lowercase hex digits: the CRC-32 (IEEE) of body's bytes
//! body   := "put " key "→" value  |  "del " key  |  "clear"
//! ```
//!
//! Keys and values are escaped as in tables, so a record is one line.
//! Replaying applies the records in order to an empty memtable; `clear`
//! empties it, and also means that every table the manifest lists is older
//! than the clear and no longer counts.
//!
//! A record whose checksum does not match, or that does not parse, was torn
//! by a crash if it is the last line of the newest log: it was never
//! acknowledged, and it is dropped with a log line. Anywhere else it is
//! damage, and the store stops with the log's path and the line.
//!
//! Example:
//!
//! ```text
//! ebfc5233 put kenya:capital→Nairobi
//! b776b818 del tanzania:capital
//! ```
//!
//! Invariants:
//! - a record that decodes has a checksum that matches its body, so a
//!   record cut short or overwritten by a crash does not decode;
//! - replay applies the records in the order they are in the file.
//!
//! Read alongside chapter 7 of the book, "Bloom filters and a write-ahead log".

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::line::{escape, parse_line, unescape};
use crate::memtable::{Entry, Memtable};
use crate::{Error, Result};

/// One write, as the log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Put(String, String),
    Delete(String),
    Clear,
}

/// The line that records `op`, checksum and newline included.
pub fn encode(op: &Op) -> String {
    let body = match op {
        Op::Put(key, value) => format!("put {}→{}", escape(key), escape(value)),
        Op::Delete(key) => format!("del {}", escape(key)),
        Op::Clear => "clear".to_string(),
    };
    format!("{:08x} {body}\n", crc32fast::hash(body.as_bytes()))
}

/// Reads one record, without its newline. The error is why it is not one.
pub fn decode(line: &str) -> std::result::Result<Op, String> {
    // TODO(exercise 7.2): check the record's checksum, then read its operation
    todo!("exercise 7.2: check the record's checksum, then read its operation (book chapter 7)")
}

/// What replaying a log gave.
#[derive(Debug, Default)]
pub struct Replayed {
    /// How many records were applied.
    pub records: usize,
    /// Whether a `clear` was among them.
    pub cleared: bool,
}

/// Applies the records of the log at `path` to `memtable`. `newest` says
/// whether this is the newest log, whose last record may be torn. The log
/// is read one line at a time, so replay needs no more memory than its
/// longest record, whatever the log's size.
pub fn replay(path: &Path, newest: bool, memtable: &mut Memtable) -> Result<Replayed> {
    let io_error = |source| Error::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    };
    let mut reader = BufReader::new(File::open(path).map_err(io_error)?);
    let mut replayed = Replayed::default();
    // One line of look-ahead, to know whether a bad record is the last.
    let mut line = Vec::new();
    let mut next = Vec::new();
    reader.read_until(b'\n', &mut line).map_err(io_error)?;
    let mut line_number = 0;
    while !line.is_empty() {
        line_number += 1;
        next.clear();
        reader.read_until(b'\n', &mut next).map_err(io_error)?;
        let is_last = next.is_empty();
        let record = line
            .strip_suffix(b"\n")
            .ok_or_else(|| "the line has no newline".to_string())
            .and_then(|line| std::str::from_utf8(line).map_err(|_| "not UTF-8".to_string()))
            .and_then(decode);
        let op = match record {
            Ok(op) => op,
            Err(reason) if newest && is_last => {
                tracing::warn!(
                    "{}:{line_number}: dropping a torn last record ({reason})",
                    path.display()
                );
                break;
            }
            Err(reason) => {
                return Err(Error::Corrupt {
                    path: path.to_path_buf(),
                    line: line_number,
                    reason,
                });
            }
        };
        match op {
            Op::Put(key, value) => memtable.put(&key, &value),
            Op::Delete(key) => memtable.delete(&key),
            Op::Clear => {
                *memtable = Memtable::new();
                replayed.cleared = true;
            }
        }
        replayed.records += 1;
        std::mem::swap(&mut line, &mut next);
    }
    Ok(replayed)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn put(key: &str, value: &str) -> Op {
        Op::Put(key.to_string(), value.to_string())
    }

    #[test]
    fn records_are_one_line_with_a_checksum() {
        let line = encode(&put("kenya:capital", "Nairobi"));
        assert_eq!(
            line,
            format!(
                "{:08x} put kenya:capital→Nairobi\n",
                crc32fast::hash("put kenya:capital→Nairobi".as_bytes())
            )
        );
        assert_eq!(encode(&put("a→b", "line\none")).lines().count(), 1);
        assert!(encode(&Op::Clear).ends_with(" clear\n"));
    }

    #[test]
    fn exercise_7_2_records_decode_to_their_operation() {
        for op in [
            put("kenya:capital", "Nairobi"),
            put("a→b\n", "†"),
            Op::Delete("x y".into()),
            Op::Clear,
        ] {
            let line = encode(&op);
            assert_eq!(decode(line.strip_suffix('\n').unwrap()), Ok(op));
        }
    }

    #[test]
    fn exercise_7_2_damaged_records_are_refused() {
        let good = encode(&put("kenya:capital", "Nairobi"));
        let good = good.strip_suffix('\n').unwrap();
        assert_eq!(
            decode(&good.replace("Nairobi", "Nairob1")),
            Err("the checksum does not match".into())
        );
        assert_eq!(
            decode("put kenya:capital→Nairobi"),
            Err("bad checksum \"put\"".into())
        );
        assert_eq!(
            decode(&good[..good.len() - 3]),
            Err("the checksum does not match".into())
        );
        assert_eq!(decode("nochecksum"), Err("no checksum".into()));
        let unknown = format!("{:08x} get k", crc32fast::hash(b"get k"));
        assert_eq!(
            decode(&unknown),
            Err("unknown operation in \"get k\"".into())
        );
    }

    #[test]
    fn exercise_7_2_replay_applies_records_and_drops_a_torn_tail() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.wal");
        let mut text = [put("a", "1"), put("b", "2"), Op::Delete("a".into())]
            .map(|op| encode(&op))
            .concat();
        text.push_str(&encode(&put("c", "3"))[..7]);
        fs::write(&path, &text).unwrap();
        let mut memtable = Memtable::new();
        let replayed = replay(&path, true, &mut memtable).unwrap();
        assert_eq!(replayed.records, 3);
        assert_eq!(memtable.get("a"), Some(&Entry::Tombstone));
        assert_eq!(memtable.get("b"), Some(&Entry::Value("2".into())));
        assert_eq!(memtable.get("c"), None, "the torn record is dropped");
        // In an older log, or before the end, the same damage stops the store.
        let error = replay(&path, false, &mut Memtable::new())
            .unwrap_err()
            .to_string();
        assert!(error.contains("000001.wal:4: "), "{error}");
        fs::write(
            &path,
            format!(
                "{}garbage\n{}",
                encode(&put("a", "1")),
                encode(&put("b", "2"))
            ),
        )
        .unwrap();
        let error = replay(&path, true, &mut Memtable::new())
            .unwrap_err()
            .to_string();
        assert!(error.contains("000001.wal:2: "), "{error}");
    }
}
