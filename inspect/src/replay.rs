//! One write-ahead log, read as replay reads it at start, but reporting
//! instead of stopping.
//!
//! The idea: a log is a header line, then batches. The header names the
//! log's own number, how long its file was made, and for a log the store
//! moved on to from another, that log and how many bytes of it (header and
//! batches) were written when this one was made. A batch counts only whole
//! (its header's count of records there, its checksum matching). How far
//! a log is read depends on where it is in the chain (`chain.rs`), which
//! says it with the store's own [`End`]:
//! - the newest log is read to its end, and a broken batch there that
//!   shows a tear (cut short, or with a zero byte in it), with no whole
//!   batch after it, is a torn tail, written by a sync that never
//!   finished, and is dropped;
//! - a log that another follows holds whole batches up to exactly the
//!   byte the next log's header gives: fewer bytes written means it was
//!   cut, a batch running past it is damage. After that byte only its
//!   `next` record may come, in a batch of its own, whole or torn (a
//!   rotation that crashed while syncing it), or nothing (one that crashed
//!   before).
//!
//! Any other broken batch is damage and stops the store. Whether a `next`
//! names the right log is `chain.rs`'s question. This file follows the
//! rules of the `//!` of the store's `log_record.rs`, as its `replay.rs`
//! applies them, with the store's own pieces: `LogHeader::parse`,
//! `parse_batch_header`, `batch_header` to recompute a header's checksum,
//! and `decode` for each record (`written_length`, for where the zeros
//! start, is used by `log.rs`, which reads the file).
//!
//! Invariants:
//! - [`LogFile::records`] are the records replay reads, in order: the
//!   writes it applies, then the `next` that ends the log, if any;
//! - a torn tail is a [`LogFile::torn`] note, never a problem; anything
//!   else replay stops on is a problem at the line replay names (1 for the
//!   header and for a log cut short, a batch's header line for a broken
//!   batch, the last line it read for anything but a `next` after the
//!   batches another log counts), and reading stops there as replay does;
//! - every problem here is one replay stops on, so each says that the
//!   store refuses to start.

use solution_07::format::{End, LogHeader, Op, batch_header, decode, parse_batch_header};

use crate::Problem;
use crate::log::{LogFile, Record, Written};
use crate::tree::table_number;

/// Reads the log `name` from `written`, as replay does; `end` says whether
/// it is the newest log of the chain, the only one whose tail may be torn,
/// or where its batches end.
pub fn parse(name: &str, written: &Written, end: End) -> LogFile {
    let lines: Vec<&[u8]> = written
        .bytes
        .split_inclusive(|&byte| byte == b'\n')
        .collect();
    let mut log = LogFile {
        name: name.to_string(),
        file_bytes: written.file_bytes,
        written_bytes: written.bytes.len() as u64,
        header: None,
        batches: 0,
        records: Vec::new(),
        lines: lines.len(),
        torn: None,
        problems: Vec::new(),
    };
    if let Err((line, reason)) = read_records(&mut log, &lines, end) {
        log.problems
            .push(Problem::at(name, line, reason).refusing());
    }
    log
}

/// What the store says of a log file `length` bytes long that was made
/// `made` bytes long.
pub(crate) fn cut_short(length: u64, made: u64) -> String {
    format!(
        "the file is {length} bytes, shorter than the {made} it was made: it was cut, and \
         batches that were acknowledged may be gone with the rest"
    )
}

/// What replay says when something other than a `next` record follows the
/// batches that the next log's header counts.
const ONLY_NEXT: &str =
    "after the batches the next log's header counts, only a `next` record may follow";

/// Reads the header and the batches of `lines` into `log`; the error is the
/// line and reason replay stops on.
fn read_records(log: &mut LogFile, lines: &[&[u8]], end: End) -> Result<(), (usize, String)> {
    let first = lines.first().copied().unwrap_or_default();
    let Some(header) = first.strip_suffix(b"\n").and_then(LogHeader::parse) else {
        // A damaged header may be a whole page: the start of it will do.
        let found: String = String::from_utf8_lossy(first).chars().take(80).collect();
        return Err((
            1,
            format!("expected the log's header `log <number> <bytes> <crc>`, found {found:?}"),
        ));
    };
    log.header = Some(header);
    if table_number(&log.name) != Some(header.number) {
        return Err((
            1,
            format!(
                "the header is log {:06}'s: this file is not the log its name says",
                header.number
            ),
        ));
    }
    // A log that holds no batch may be one whose making a crash cut short:
    // whether it must be whole is for the chain to say (`chain.rs`), which
    // knows whether anything names it.
    if log.file_bytes < header.made && log.written_bytes > first.len() as u64 {
        return Err((1, cut_short(log.file_bytes, header.made)));
    }
    let written = log.written_bytes;
    let (newest, batches_end) = match end {
        End::Newest => (true, written),
        End::At(bytes) if written < bytes => {
            return Err((
                1,
                format!(
                    "the next log says this one holds {bytes} bytes of batches, but only \
                     {written} are here: it was cut, and acknowledged batches are gone"
                ),
            ));
        }
        End::At(bytes) => (false, bytes),
    };
    // `at` is the next line to read (counted from 0), `offset` the bytes
    // of the lines before it.
    let mut at = 1;
    let mut offset = first.len() as u64;
    while offset < batches_end && at < lines.len() {
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
            Err(Broken { reason, torn, .. }) => {
                let later_whole = (at + 1..lines.len()).any(|later| sums_right(lines, later));
                if newest && torn && !later_whole {
                    log.torn = Some((header_line, reason));
                    return Ok(());
                }
                return Err((header_line, reason));
            }
        };
        let batch = &lines[at..at + 1 + count];
        offset += batch.iter().map(|line| line.len() as u64).sum::<u64>();
        if offset > batches_end {
            return Err((
                header_line,
                format!(
                    "this batch runs past byte {batches_end}, where the next log says this \
                     one's batches end"
                ),
            ));
        }
        log.batches += 1;
        read_batch_records(log, &batch[1..], header_line)?;
        at += 1 + count;
    }
    if newest {
        return Ok(());
    }
    match log.next() {
        // Ended within its batches: nothing may follow.
        Some(next) if at < lines.len() => Err((
            at + 1,
            format!("a line after `next {next:06}`, which ends the log"),
        )),
        Some(_) => Ok(()),
        None => ended_by_next(log, lines, at),
    }
}

/// Adds the records of a whole batch whose header is on line `header_line`
/// to `log`, as replay applies them.
fn read_batch_records(
    log: &mut LogFile,
    records: &[&[u8]],
    header_line: usize,
) -> Result<(), (usize, String)> {
    for (offset, record) in records.iter().enumerate() {
        let line = header_line + 1 + offset;
        if let Some(next) = log.next() {
            let reason = format!("a record after `next {next:06}`, which ends the log");
            return Err((line, reason));
        }
        let text = String::from_utf8_lossy(record);
        let op = decode(text.trim_end_matches('\n')).map_err(|reason| (line, reason))?;
        log.records.push(Record { line, op });
    }
    Ok(())
}

/// What follows the batches of a log that another follows, from
/// `lines[at]` on, as replay's `ended_by_next` reads it: nothing; the
/// batch of its `next` record, whole (added to `log`) or torn (a note);
/// anything else is damage, at the last line replay read.
fn ended_by_next(log: &mut LogFile, lines: &[&[u8]], at: usize) -> Result<(), (usize, String)> {
    if at >= lines.len() {
        return Ok(());
    }
    let header_line = at + 1;
    let batch = whole_batch(lines, at);
    // Replay reads the batch's header and the records it got, then one
    // more line, to see that nothing follows: the error names the last.
    let read = match &batch {
        Ok(count) => *count,
        Err(broken) => broken.read,
    };
    let followed = at + read + 1 < lines.len();
    let last_read = at + read + 1 + usize::from(followed);
    match batch {
        Ok(count) if !followed => {
            let text = |line: &[u8]| {
                String::from_utf8_lossy(line)
                    .trim_end_matches('\n')
                    .to_string()
            };
            let ops: Vec<_> = lines[at + 1..at + 1 + count]
                .iter()
                .map(|line| decode(&text(line)))
                .collect();
            let [Ok(Op::Next(number))] = ops[..] else {
                return Err((last_read, ONLY_NEXT.to_string()));
            };
            log.batches += 1;
            log.records.push(Record {
                line: header_line + 1,
                op: Op::Next(number),
            });
            Ok(())
        }
        Err(Broken {
            reason, torn: true, ..
        }) if !followed => {
            log.torn = Some((header_line, reason));
            Ok(())
        }
        _ => Err((last_read, ONLY_NEXT.to_string())),
    }
}

/// Why a batch does not count, and whether it shows a tear.
struct Broken {
    reason: String,
    /// Cut short (before its count of records, or its last line without a
    /// newline), or with a zero byte in it: what a sync that a power cut
    /// interrupted leaves. Replay drops only such a batch as a torn tail.
    torn: bool,
    /// How many lines after its header replay read to find it broken.
    read: usize,
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
            read: read.len(),
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
            read: found,
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
    use crate::log::tests::{batch, header, put};

    /// Log 1 holding `body` after its header, made no longer than it is.
    fn logged(body: &[u8]) -> Written {
        let bytes = [header(1, 0).as_bytes(), body].concat();
        Written {
            file_bytes: bytes.len() as u64,
            bytes,
        }
    }

    /// Where the batches of log 1 holding `body` end, as the header of a
    /// log that followed it would say once `body` was written.
    fn ends_after(body: &str) -> End {
        End::At((header(1, 0) + body).len() as u64)
    }

    #[test]
    fn whole_batches_give_their_records_with_their_lines() {
        let text = batch(&[put("a", "1"), put("b", "2")]) + &batch(&[Op::Delete("a".into())]);
        let log = parse("000001.wal", &logged(text.as_bytes()), End::Newest);
        assert_eq!(log.problems, []);
        assert_eq!(log.batches, 2);
        let lines: Vec<usize> = log.records.iter().map(|record| record.line).collect();
        assert_eq!(lines, [3, 4, 6], "line 1 is the log's header");
        assert_eq!((&log.torn, log.next(), log.lines), (&None, None, 6));
        assert_eq!(log.header.map(|header| header.number), Some(1));
    }

    #[test]
    fn a_torn_tail_of_the_newest_log_is_a_note_elsewhere_damage() {
        let whole = batch(&[put("a", "1")]);
        let torn = batch(&[put("b", "2")]);
        let cut = [whole.as_bytes(), &torn.as_bytes()[..torn.len() - 4]].concat();
        let zeroed = whole.clone() + &torn.replace("→", "\0\0\0");
        for text in [cut, zeroed.into_bytes()] {
            let log = parse("000001.wal", &logged(&text), End::Newest);
            assert_eq!(log.records.len(), 1);
            assert_eq!(log.torn.as_ref().map(|torn| torn.0), Some(4));
            assert_eq!(log.problems, []);
            // A log that another follows, which counts the torn bytes.
            let counted = End::At(logged(&text).bytes.len() as u64);
            let older = parse("000001.wal", &logged(&text), counted);
            assert_eq!(older.problems.len(), 1);
            assert_eq!(older.problems[0].line, Some(4));
        }
    }

    #[test]
    fn a_last_batch_broken_in_a_way_no_tear_breaks_it_is_damage() {
        // Whole in length, no zero in it, a letter changed: a torn write
        // cuts or zeroes, it does not change letters.
        let text = batch(&[put("a", "1")]) + &batch(&[put("b", "2")]).replace("b→2", "b→3");
        let log = parse("000001.wal", &logged(text.as_bytes()), End::Newest);
        assert_eq!(log.torn, None);
        assert_eq!(log.problems.len(), 1, "{:?}", log.problems);
        assert_eq!(log.problems[0].line, Some(4));
        assert_eq!(log.problems[0].reason, "the checksum does not match");
    }

    #[test]
    fn every_problem_of_a_log_stops_the_store() {
        let text = batch(&[put("a", "1")]).replace("a→1", "a→2") + &batch(&[put("b", "2")]);
        let log = parse("000001.wal", &logged(text.as_bytes()), End::Newest);
        assert_eq!(log.problems.len(), 1, "{:?}", log.problems);
        assert!(log.problems[0].refuses_start);
    }

    #[test]
    fn a_last_header_with_no_newline_is_read_as_replay_reads_it() {
        // An empty batch whose header lost its newline: replay's
        // `read_batch` still reads it as whole, so even in a log that
        // another follows it is no damage.
        let text = batch(&[put("a", "1")]) + "batch 0 00000000";
        let log = parse("000001.wal", &logged(text.as_bytes()), ends_after(&text));
        assert_eq!(log.problems, []);
        assert_eq!(log.batches, 2);
    }

    #[test]
    fn a_bad_checksum_before_whole_batches_is_damage_at_its_header() {
        let damaged = batch(&[put("a", "1")]).replace("a→1", "a→2");
        let text = batch(&[put("z", "0")]) + &damaged + &batch(&[put("b", "2")]);
        let log = parse("000001.wal", &logged(text.as_bytes()), End::Newest);
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
        let whole = (header(1, 4096) + &body).len() as u64;
        let cases = [
            (written(body.clone(), 4096), "expected the log's header"),
            (
                written(header(2, 0) + &body, 4096),
                "the header is log 000002's",
            ),
            (
                written(header(1, 4096) + &body, whole),
                "the file is 61 bytes, shorter than the 4096 it was made",
            ),
        ];
        for (written, expected) in cases {
            let log = parse("000001.wal", &written, End::Newest);
            assert_eq!(log.problems.len(), 1, "{:?}", log.problems);
            let problem = &log.problems[0];
            assert_eq!(problem.line, Some(1));
            assert!(problem.reason.starts_with(expected), "{problem:?}");
            assert!(log.records.is_empty());
        }
        // Still as long as it was made: zeros after the batch.
        let log = parse(
            "000001.wal",
            &written(header(1, 4096) + &body, 4096),
            End::Newest,
        );
        assert_eq!((log.problems.len(), log.writes()), (0, 1));
    }

    #[test]
    fn a_log_another_follows_ends_where_that_ones_header_says() {
        let two = batch(&[put("a", "1")]) + &batch(&[put("b", "2")]);
        let one = batch(&[put("a", "1")]);
        // Cut at a batch boundary: whole batches, but fewer than counted.
        let log = parse("000001.wal", &logged(one.as_bytes()), ends_after(&two));
        assert_eq!(log.problems.len(), 1, "{:?}", log.problems);
        assert_eq!(log.problems[0].line, Some(1));
        assert!(
            log.problems[0]
                .reason
                .starts_with("the next log says this one holds 94 bytes of batches, but only 58"),
            "{:?}",
            log.problems
        );
        // A batch that runs past where the next log says they end.
        let log = parse(
            "000001.wal",
            &logged(two.as_bytes()),
            ends_after(&one[..20]),
        );
        assert_eq!(log.problems.len(), 1, "{:?}", log.problems);
        assert_eq!(log.problems[0].line, Some(2));
        assert!(
            log.problems[0]
                .reason
                .starts_with("this batch runs past byte 42"),
            "{:?}",
            log.problems
        );
        // Exactly as counted.
        let log = parse("000001.wal", &logged(two.as_bytes()), ends_after(&two));
        assert_eq!((log.problems.len(), log.writes()), (0, 2));
    }

    #[test]
    fn after_its_batches_only_its_next_may_follow_whole_or_torn() {
        let writes = batch(&[put("a", "1")]);
        let next = batch(&[Op::Next(2)]);
        let end = ends_after(&writes);
        let ended = writes.clone() + &next;
        let log = parse("000001.wal", &logged(ended.as_bytes()), end);
        assert_eq!(log.problems, []);
        assert_eq!(
            (log.writes(), log.next(), log.lines, log.batches),
            (1, Some(2), 5, 2)
        );
        assert_eq!(log.records[1].line, 5);
        // Nothing after the writes: a rotation that stopped before `next`.
        let log = parse("000001.wal", &logged(writes.as_bytes()), end);
        assert_eq!((log.problems.len(), log.next()), (0, None));
        // Its `next` torn: a rotation that stopped while syncing it.
        let torn = writes.clone() + &next[..next.len() - 3];
        let log = parse("000001.wal", &logged(torn.as_bytes()), end);
        assert_eq!(log.problems, []);
        assert_eq!(log.torn.as_ref().map(|torn| torn.0), Some(4));
        assert_eq!((log.writes(), log.next()), (1, None));
        // Anything else is damage, at the last line replay read.
        let cases = [
            (writes.clone() + &batch(&[put("b", "2")]), 5),
            (writes.clone() + &batch(&[put("b", "2"), Op::Next(2)]), 6),
            (ended.clone() + &batch(&[put("b", "2")]), 6),
            (writes.clone() + &next.replace("next", "nexx"), 5),
        ];
        for (text, line) in cases {
            let log = parse("000001.wal", &logged(text.as_bytes()), end);
            assert_eq!(log.problems.len(), 1, "{text:?}: {:?}", log.problems);
            assert_eq!(log.problems[0].line, Some(line), "{text:?}");
            assert_eq!(log.problems[0].reason, ONLY_NEXT, "{text:?}");
        }
    }

    #[test]
    fn next_ends_a_log_and_nothing_may_follow_it() {
        let ended = batch(&[put("a", "1"), Op::Next(2)]);
        let log = parse("000001.wal", &logged(ended.as_bytes()), End::Newest);
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
            let log = parse("000001.wal", &logged(text.as_bytes()), End::Newest);
            assert_eq!(log.problems.len(), 1, "{:?}", log.problems);
            assert_eq!(log.problems[0].line, Some(line));
            assert!(
                log.problems[0].reason.starts_with(reason),
                "{:?}",
                log.problems
            );
        }
        // Within the batches another log counts, a line after it too.
        let text = ended.clone() + &batch(&[put("b", "2")]);
        let log = parse("000001.wal", &logged(text.as_bytes()), ends_after(&ended));
        assert_eq!(log.problems.len(), 1, "{:?}", log.problems);
        assert_eq!(log.problems[0].line, Some(5));
        assert!(
            log.problems[0]
                .reason
                .starts_with("a line after `next 000002`")
        );
    }
}
