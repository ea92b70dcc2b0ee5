//! One write-ahead log (`.wal`, step 07), read batch by batch as replay
//! reads it at start, but reporting instead of stopping.
//!
//! The idea: the store replays each log at start. A batch counts only
//! whole (its header's count of records there, its checksum matching);
//! a broken batch with no whole batch after it in the newest log is a torn
//! tail, written by a sync that never finished, and is dropped; a broken
//! batch anywhere else is damage and stops the store. This file follows the
//! same rules (see the `//!` of `log_record.rs`) with the store's own
//! pieces: `written_length` for where the zeros start, `parse_batch_header`,
//! `batch_header` to recompute a header's checksum, and `decode` for each
//! record.
//!
//! Invariants:
//! - [`LogFile::records`] are the records replay would apply, in order;
//! - a torn tail is a [`LogFile::torn`] note, never a problem; any other
//!   broken batch is a problem at its header's line, and reading stops
//!   there as replay does;
//! - every problem here is one replay stops on, so each says that the
//!   store refuses to start.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use solution_07::format::{Op, batch_header, decode, parse_batch_header, written_length};

use crate::Problem;

/// One record replay would apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its line in the log, counted from 1.
    pub line: usize,
    pub op: Op,
}

/// A log as read from disk.
#[derive(Debug, Clone)]
pub struct LogFile {
    pub name: String,
    /// The file's length: records, then the zeros it was made with.
    pub file_bytes: u64,
    /// Up to the last byte that is not zero: what was written.
    pub written_bytes: u64,
    /// How many whole batches it holds.
    pub batches: usize,
    pub records: Vec<Record>,
    /// The line and reason of a torn last batch, dropped at replay.
    pub torn: Option<(usize, String)>,
    /// Damage that would stop the store.
    pub problems: Vec<Problem>,
}

/// Reads the log `name` in `directory`; `newest` says whether it is the
/// newest log that holds anything, the only one whose tail may be torn.
pub fn read(directory: &Path, name: &str, newest: bool) -> io::Result<LogFile> {
    let written_bytes = written_length(&File::open(directory.join(name))?)?;
    read_written(directory, name, newest, written_bytes)
}

/// [`read`], for a log whose `written_length` is known to be
/// `written_bytes`: a log is made 16 MiB of zeros, and finding where they
/// start reads the file from its end, so it is worth doing once per look.
pub fn read_written(
    directory: &Path,
    name: &str,
    newest: bool,
    written_bytes: u64,
) -> io::Result<LogFile> {
    let mut file = File::open(directory.join(name))?;
    let file_bytes = file.metadata()?.len();
    let mut bytes = Vec::new();
    (&mut file).take(written_bytes).read_to_end(&mut bytes)?;
    let mut log = parse(name, &bytes, newest);
    log.file_bytes = file_bytes;
    Ok(log)
}

/// Reads the written part of a log, `bytes`.
pub fn parse(name: &str, bytes: &[u8], newest: bool) -> LogFile {
    let lines: Vec<&[u8]> = bytes.split_inclusive(|&byte| byte == b'\n').collect();
    let mut log = LogFile {
        name: name.to_string(),
        file_bytes: bytes.len() as u64,
        written_bytes: bytes.len() as u64,
        batches: 0,
        records: Vec::new(),
        torn: None,
        problems: Vec::new(),
    };
    let mut at = 0;
    while at < lines.len() {
        let header_line = at + 1;
        let header = lines[at];
        if let Some(text) = as_record(header) {
            log.problems.push(
                Problem::at(
                    name,
                    header_line,
                    format!("a record with no batch header ({text:?}): no torn write makes one, so this log was not written by the store"),
                )
                .refusing(),
            );
            return log;
        }
        match whole_batch(&lines, at) {
            Ok(count) => {
                log.batches += 1;
                for (offset, record) in lines[at + 1..at + 1 + count].iter().enumerate() {
                    let line = header_line + 1 + offset;
                    let text = String::from_utf8_lossy(record);
                    match decode(text.trim_end_matches('\n')) {
                        Ok(op) => log.records.push(Record { line, op }),
                        Err(reason) => {
                            log.problems
                                .push(Problem::at(name, line, reason).refusing());
                            return log;
                        }
                    }
                }
                at += 1 + count;
            }
            Err(reason) => {
                let later_whole = (at + 1..lines.len()).any(|later| sums_right(&lines, later));
                if newest && !later_whole {
                    log.torn = Some((header_line, reason));
                } else {
                    log.problems
                        .push(Problem::at(name, header_line, reason).refusing());
                }
                return log;
            }
        }
    }
    log
}

/// Whether a whole batch starts at `lines[at]`: how many records it has, or
/// why it is broken (the reasons replay gives).
fn whole_batch(lines: &[&[u8]], at: usize) -> Result<usize, String> {
    let header = lines[at];
    // As replay's `read_batch`: a last line with no newline is still read
    // as a header (its records, if it says it has any, are then missing).
    let Some((count, crc)) = parse_batch_header(header.strip_suffix(b"\n").unwrap_or(header))
    else {
        return Err("expected a batch header".into());
    };
    // `count` comes from the file: it may be anything.
    let Some(records) = lines.get(at + 1..).and_then(|rest| rest.get(..count)) else {
        let found = lines.len() - at - 1;
        return Err(format!(
            "the batch ends after {found} of its {count} records"
        ));
    };
    let records = records.concat();
    // The header the writer would put before these records: the checksum
    // is computed by `batch_header` itself, not by a copy of it here.
    let expected = batch_header(count as u64, &records);
    let expected = parse_batch_header(expected.trim_end().as_bytes()).map(|(_, crc)| crc);
    if expected != Some(crc) || records.last().is_some_and(|&byte| byte != b'\n') {
        return Err("the checksum does not match".into());
    }
    if std::str::from_utf8(&records).is_err() {
        return Err("not UTF-8".into());
    }
    Ok(count)
}

/// Whether a batch that replay counts as whole starts at `lines[at]`, by
/// replay's test for one after a broken batch (`whole_batch_follows`): a
/// header line, then as many lines as it says whose CRC-32 it names. When
/// one does, the broken batch before it is damage, not a torn tail.
fn sums_right(lines: &[&[u8]], at: usize) -> bool {
    let Some((count, crc)) = lines[at].strip_suffix(b"\n").and_then(parse_batch_header) else {
        return false;
    };
    // `count` comes from a damaged file: it may be anything.
    let records = lines.get(at + 1..).and_then(|rest| rest.get(..count));
    let expected = |records: &[&[u8]]| {
        let header = batch_header(count as u64, &records.concat());
        parse_batch_header(header.trim_end().as_bytes()).map(|(_, crc)| crc)
    };
    records.is_some_and(|records| expected(records) == Some(crc))
}

/// The text of `line` if it is a whole record where a header should be.
fn as_record(line: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(line.strip_suffix(b"\n")?).ok()?;
    decode(text).ok().map(|_| text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use solution_07::format::encode;

    fn put(key: &str, value: &str) -> Op {
        Op::Put(key.into(), value.into())
    }

    fn batch(ops: &[Op]) -> String {
        let records: String = ops.iter().map(encode).collect();
        batch_header(ops.len() as u64, records.as_bytes()) + &records
    }

    #[test]
    fn whole_batches_give_their_records_with_their_lines() {
        let text = batch(&[put("a", "1"), put("b", "2")]) + &batch(&[Op::Delete("a".into())]);
        let log = parse("000001.wal", text.as_bytes(), true);
        assert_eq!(log.problems, []);
        assert_eq!(log.batches, 2);
        let lines: Vec<usize> = log.records.iter().map(|record| record.line).collect();
        assert_eq!(lines, [2, 3, 5]);
        assert_eq!(log.torn, None);
    }

    #[test]
    fn a_torn_tail_of_the_newest_log_is_a_note_elsewhere_damage() {
        let whole = batch(&[put("a", "1")]);
        let torn = batch(&[put("b", "2")]);
        let text = [whole.as_bytes(), &torn.as_bytes()[..torn.len() - 4]].concat();
        let log = parse("000001.wal", &text, true);
        assert_eq!(log.records.len(), 1);
        assert_eq!(log.torn.as_ref().map(|torn| torn.0), Some(3));
        assert_eq!(log.problems, []);
        let older = parse("000001.wal", &text, false);
        assert_eq!(older.problems.len(), 1);
        assert_eq!(older.problems[0].line, Some(3));
    }

    #[test]
    fn every_problem_of_a_log_stops_the_store() {
        let text = batch(&[put("a", "1")]).replace("a→1", "a→2") + &batch(&[put("b", "2")]);
        let log = parse("000001.wal", text.as_bytes(), true);
        assert_eq!(log.problems.len(), 1, "{:?}", log.problems);
        assert!(log.problems[0].refuses_start);
    }

    #[test]
    fn a_last_header_with_no_newline_is_read_as_replay_reads_it() {
        // An empty batch whose header lost its newline: replay's
        // `read_batch` still reads it as whole, so even in an older log it
        // is no damage.
        let text = batch(&[put("a", "1")]) + "batch 0 00000000";
        let log = parse("000001.wal", text.as_bytes(), false);
        assert_eq!(log.problems, []);
        assert_eq!(log.batches, 2);
    }

    #[test]
    fn a_bad_checksum_before_whole_batches_is_damage_at_its_header() {
        let damaged = batch(&[put("a", "1")]).replace("a→1", "a→2");
        let text = batch(&[put("z", "0")]) + &damaged + &batch(&[put("b", "2")]);
        let log = parse("000001.wal", text.as_bytes(), true);
        assert_eq!(log.problems.len(), 1, "{:?}", log.problems);
        assert_eq!(log.problems[0].line, Some(3));
        assert_eq!(log.problems[0].reason, "the checksum does not match");
    }
}
