//! One write-ahead log (`.wal`, step 07), read as replay reads it at
//! start, but reporting instead of stopping.
//!
//! The idea: a log is a header line, then batches. The header names the
//! log's own number and how long its file was made; a batch counts only
//! whole (its header's count of records there, its checksum matching). A
//! broken batch that shows a tear (cut short, or with a zero byte in it),
//! with no whole batch after it, in the newest log, is a torn tail, written
//! by a sync that never finished, and is dropped; any other broken batch is
//! damage and stops the store. A `next` record ends every log but the
//! newest, naming the log that follows (whether it should be there is
//! `chain.rs`'s question). This file follows the rules of the `//!` of
//! `log_record.rs` with the store's own pieces: `written_length` for where
//! the zeros start, `parse_log_header`, `parse_batch_header`,
//! `batch_header` to recompute a header's checksum, and `decode` for each
//! record.
//!
//! Invariants:
//! - [`LogFile::records`] are the records replay reads, in order: the
//!   writes it applies, then the `next` that ends the log, if any;
//! - a torn tail is a [`LogFile::torn`] note, never a problem; anything
//!   else replay stops on is a problem at the line replay names (1 for the
//!   header, a batch's header line for a broken batch), and reading stops
//!   there as replay does;
//! - every problem here is one replay stops on, so each says that the
//!   store refuses to start.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use solution_07::format::{
    Op, batch_header, decode, parse_batch_header, parse_log_header, written_length,
};

use crate::Problem;
use crate::tree::table_number;

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

    /// A log that holds no batch and that a start does not read (see
    /// `chain.rs`): its sizes only.
    pub(crate) fn unread(name: &str, written: &Written) -> LogFile {
        LogFile {
            name: name.to_string(),
            file_bytes: written.file_bytes,
            written_bytes: written.bytes.len() as u64,
            batches: 0,
            records: Vec::new(),
            lines: 0,
            torn: None,
            problems: Vec::new(),
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
        let first = self.bytes.iter().position(|&byte| byte == b'\n');
        first.map_or(self.bytes.len(), |newline| newline + 1) == self.bytes.len()
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

/// Reads the log `name` from `written`, as replay does; `newest` says
/// whether it is the newest log of the chain, the only one whose tail may
/// be torn.
pub fn parse(name: &str, written: &Written, newest: bool) -> LogFile {
    let lines: Vec<&[u8]> = written
        .bytes
        .split_inclusive(|&byte| byte == b'\n')
        .collect();
    let mut log = LogFile {
        lines: lines.len(),
        ..LogFile::unread(name, written)
    };
    if let Err((line, reason)) = read_records(&mut log, &lines, written.file_bytes, newest) {
        log.problems
            .push(Problem::at(name, line, reason).refusing());
    }
    log
}

/// Reads the header and the batches of `lines` into `log`; the error is the
/// line and reason replay stops on.
fn read_records(
    log: &mut LogFile,
    lines: &[&[u8]],
    file_bytes: u64,
    newest: bool,
) -> Result<(), (usize, String)> {
    let header = lines.first().copied().unwrap_or_default();
    let Some((number, made)) = header.strip_suffix(b"\n").and_then(parse_log_header) else {
        // A damaged header may be a whole page: the start of it will do.
        let found: String = String::from_utf8_lossy(header).chars().take(80).collect();
        return Err((
            1,
            format!("expected the log's header `log <number> <bytes> <crc>`, found {found:?}"),
        ));
    };
    if table_number(&log.name) != Some(number) {
        return Err((
            1,
            format!("the header is log {number:06}'s: this file is not the log its name says"),
        ));
    }
    if file_bytes < made {
        return Err((
            1,
            format!(
                "the file is {file_bytes} bytes, shorter than the {made} it was made: it was cut, \
                 and batches that were acknowledged may be gone with the rest"
            ),
        ));
    }
    let mut at = 1;
    while at < lines.len() {
        let header_line = at + 1;
        if let Some(next) = log.next() {
            let reason = format!("a line after `next {next:06}`, which ends the log");
            return Err((header_line, reason));
        }
        if let Some(text) = as_record(lines[at]) {
            return Err((
                header_line,
                format!(
                    "a record with no batch header ({text:?}): no torn write makes one, so \
                     this log was not written by the store"
                ),
            ));
        }
        let count = match whole_batch(lines, at) {
            Ok(count) => count,
            Err(Broken { reason, torn }) => {
                let later_whole = (at + 1..lines.len()).any(|later| sums_right(lines, later));
                if newest && torn && !later_whole {
                    log.torn = Some((header_line, reason));
                    return Ok(());
                }
                return Err((header_line, reason));
            }
        };
        log.batches += 1;
        for (offset, record) in lines[at + 1..at + 1 + count].iter().enumerate() {
            let line = header_line + 1 + offset;
            if let Some(next) = log.next() {
                let reason = format!("a record after `next {next:06}`, which ends the log");
                return Err((line, reason));
            }
            let text = String::from_utf8_lossy(record);
            let op = decode(text.trim_end_matches('\n')).map_err(|reason| (line, reason))?;
            log.records.push(Record { line, op });
        }
        at += 1 + count;
    }
    Ok(())
}

/// Why a batch does not count, and whether it shows a tear.
struct Broken {
    reason: String,
    /// Cut short (before its count of records, or its last line without a
    /// newline), or with a zero byte in it: what a sync that a power cut
    /// interrupted leaves. Replay drops only such a batch as a torn tail.
    torn: bool,
}

/// Whether a whole batch starts at `lines[at]`: how many records it has, or
/// why it is broken (the reasons replay gives).
fn whole_batch(lines: &[&[u8]], at: usize) -> Result<usize, Broken> {
    let header = lines[at];
    // As replay's `read_batch`: a tear shows as a last line with no newline
    // or as zeros, in the header or in the lines read after it.
    let broken = |reason: &str, read: &[&[u8]]| {
        let last = read.last().copied().unwrap_or(header);
        let zeros = [header].iter().chain(read).any(|line| line.contains(&0));
        Err(Broken {
            reason: reason.to_string(),
            torn: last.last() != Some(&b'\n') || zeros,
        })
    };
    // A last line with no newline is still read as a header (its records,
    // if it says it has any, are then missing).
    let Some((count, crc)) = parse_batch_header(header.strip_suffix(b"\n").unwrap_or(header))
    else {
        return broken("expected a batch header", &[]);
    };
    // `count` comes from the file: it may be anything.
    let Some(records) = lines.get(at + 1..).and_then(|rest| rest.get(..count)) else {
        let found = lines.len() - at - 1;
        return Err(Broken {
            reason: format!("the batch ends after {found} of its {count} records"),
            torn: true,
        });
    };
    let bytes = records.concat();
    // The header the writer would put before these records: the checksum
    // is computed by `batch_header` itself, not by a copy of it here.
    let expected = batch_header(count as u64, &bytes);
    let expected = parse_batch_header(expected.trim_end().as_bytes()).map(|(_, crc)| crc);
    if expected != Some(crc) || bytes.last().is_some_and(|&byte| byte != b'\n') {
        return broken("the checksum does not match", records);
    }
    if std::str::from_utf8(&bytes).is_err() {
        return broken("not UTF-8", records);
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
    use solution_07::format::{encode, log_header};

    fn put(key: &str, value: &str) -> Op {
        Op::Put(key.into(), value.into())
    }

    fn batch(ops: &[Op]) -> String {
        let records: String = ops.iter().map(encode).collect();
        batch_header(ops.len() as u64, records.as_bytes()) + &records
    }

    /// Log 1 holding `body` after its header, made no longer than it is.
    fn logged(body: &[u8]) -> Written {
        let bytes = [log_header(1, 0).as_bytes(), body].concat();
        Written {
            file_bytes: bytes.len() as u64,
            bytes,
        }
    }

    #[test]
    fn whole_batches_give_their_records_with_their_lines() {
        let text = batch(&[put("a", "1"), put("b", "2")]) + &batch(&[Op::Delete("a".into())]);
        let log = parse("000001.wal", &logged(text.as_bytes()), true);
        assert_eq!(log.problems, []);
        assert_eq!(log.batches, 2);
        let lines: Vec<usize> = log.records.iter().map(|record| record.line).collect();
        assert_eq!(lines, [3, 4, 6], "line 1 is the log's header");
        assert_eq!((&log.torn, log.next(), log.lines), (&None, None, 6));
    }

    #[test]
    fn a_torn_tail_of_the_newest_log_is_a_note_elsewhere_damage() {
        let whole = batch(&[put("a", "1")]);
        let torn = batch(&[put("b", "2")]);
        let cut = [whole.as_bytes(), &torn.as_bytes()[..torn.len() - 4]].concat();
        let zeroed = whole.clone() + &torn.replace("→", "\0\0\0");
        for text in [cut, zeroed.into_bytes()] {
            let log = parse("000001.wal", &logged(&text), true);
            assert_eq!(log.records.len(), 1);
            assert_eq!(log.torn.as_ref().map(|torn| torn.0), Some(4));
            assert_eq!(log.problems, []);
            let older = parse("000001.wal", &logged(&text), false);
            assert_eq!(older.problems.len(), 1);
            assert_eq!(older.problems[0].line, Some(4));
        }
    }

    #[test]
    fn a_last_batch_broken_in_a_way_no_tear_breaks_it_is_damage() {
        // Whole in length, no zero in it, a letter changed: a torn write
        // cuts or zeroes, it does not change letters.
        let text = batch(&[put("a", "1")]) + &batch(&[put("b", "2")]).replace("b→2", "b→3");
        let log = parse("000001.wal", &logged(text.as_bytes()), true);
        assert_eq!(log.torn, None);
        assert_eq!(log.problems.len(), 1, "{:?}", log.problems);
        assert_eq!(log.problems[0].line, Some(4));
        assert_eq!(log.problems[0].reason, "the checksum does not match");
    }

    #[test]
    fn every_problem_of_a_log_stops_the_store() {
        let text = batch(&[put("a", "1")]).replace("a→1", "a→2") + &batch(&[put("b", "2")]);
        let log = parse("000001.wal", &logged(text.as_bytes()), true);
        assert_eq!(log.problems.len(), 1, "{:?}", log.problems);
        assert!(log.problems[0].refuses_start);
    }

    #[test]
    fn a_last_header_with_no_newline_is_read_as_replay_reads_it() {
        // An empty batch whose header lost its newline: replay's
        // `read_batch` still reads it as whole, so even in an older log it
        // is no damage.
        let text = batch(&[put("a", "1")]) + "batch 0 00000000";
        let log = parse("000001.wal", &logged(text.as_bytes()), false);
        assert_eq!(log.problems, []);
        assert_eq!(log.batches, 2);
    }

    #[test]
    fn a_bad_checksum_before_whole_batches_is_damage_at_its_header() {
        let damaged = batch(&[put("a", "1")]).replace("a→1", "a→2");
        let text = batch(&[put("z", "0")]) + &damaged + &batch(&[put("b", "2")]);
        let log = parse("000001.wal", &logged(text.as_bytes()), true);
        assert_eq!(log.problems.len(), 1, "{:?}", log.problems);
        assert_eq!(log.problems[0].line, Some(4));
        assert_eq!(log.problems[0].reason, "the checksum does not match");
    }

    #[test]
    fn a_log_without_its_header_under_another_name_or_cut_short_is_refused() {
        let body = batch(&[put("a", "1")]);
        let written = |text: String, file_bytes: u64| Written {
            bytes: text.into_bytes(),
            file_bytes,
        };
        let whole = (log_header(1, 4096) + &body).len() as u64;
        let cases = [
            (written(body.clone(), 4096), "expected the log's header"),
            (
                written(log_header(2, 0) + &body, 4096),
                "the header is log 000002's",
            ),
            (
                written(log_header(1, 4096) + &body, whole),
                "the file is 61 bytes, shorter than the 4096 it was made",
            ),
        ];
        for (written, expected) in cases {
            let log = parse("000001.wal", &written, true);
            assert_eq!(log.problems.len(), 1, "{:?}", log.problems);
            let problem = &log.problems[0];
            assert_eq!(problem.line, Some(1));
            assert!(problem.reason.starts_with(expected), "{problem:?}");
            assert!(log.records.is_empty());
        }
        // Still as long as it was made: zeros after the batch.
        let log = parse(
            "000001.wal",
            &written(log_header(1, 4096) + &body, 4096),
            true,
        );
        assert_eq!((log.problems.len(), log.writes()), (0, 1));
    }

    #[test]
    fn next_ends_a_log_and_nothing_may_follow_it() {
        let ended = batch(&[put("a", "1"), Op::Next(2)]);
        let log = parse("000001.wal", &logged(ended.as_bytes()), false);
        assert_eq!(log.problems, []);
        assert_eq!((log.writes(), log.next(), log.lines), (1, Some(2), 4));
        let cases = [
            (
                ended.clone() + &batch(&[put("b", "2")]),
                5,
                "a line after `next 000002`",
            ),
            (
                batch(&[Op::Next(2), put("b", "2")]),
                4,
                "a record after `next 000002`",
            ),
        ];
        for (text, line, reason) in cases {
            let log = parse("000001.wal", &logged(text.as_bytes()), true);
            assert_eq!(log.problems.len(), 1, "{:?}", log.problems);
            assert_eq!(log.problems[0].line, Some(line));
            assert!(
                log.problems[0].reason.starts_with(reason),
                "{:?}",
                log.problems
            );
        }
    }

    #[test]
    fn holds_no_batch_is_the_stores() {
        let directory = tempfile::tempdir().unwrap();
        let header = log_header(1, 4096);
        let cases: [&[u8]; 7] = [
            b"",
            &[0; 100],
            header.as_bytes(),
            &[header.as_bytes(), &[0; 100]].concat(),
            header.trim_end().as_bytes(),
            &[header.as_bytes(), batch(&[put("a", "1")]).as_bytes()].concat(),
            &[header.as_bytes(), b"x", &[0; 100]].concat(),
        ];
        for bytes in cases {
            let path = directory.path().join("000001.wal");
            std::fs::write(&path, bytes).unwrap();
            let store = solution_07::format::holds_no_batch(&File::open(&path).unwrap()).unwrap();
            let ours = read(directory.path(), "000001.wal").unwrap();
            assert_eq!(ours.holds_no_batch(), store, "{bytes:?}");
        }
    }
}
