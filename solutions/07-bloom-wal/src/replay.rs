//! Replay: a write-ahead log read back at start, one batch at a time, into a
//! memtable, with a torn tail told from damage.
//!
//! The idea: [`replay`] applies the records of one log file, in order, to a
//! memtable; `log_chain.rs` says which logs a start replays, oldest first,
//! and where the batches of each end ([`End`]). The format, and the rules
//! for a broken batch (when it is a torn tail, dropped with a log line, and
//! when it is damage, which stops the store with the log's path and the
//! line of the batch's header), are in the `//!` of `log_record.rs`; this
//! file applies them. A log is read up to its last byte that is not zero
//! (`written_length`), one line at a time (`Lines`), and each batch is read
//! whole (`read_batch`) before any of its records is applied, so a batch
//! counts all or nothing.
//!
//! Shortcuts, and what they cost:
//! - after a broken batch in the newest log, replay reads the rest of the
//!   file into memory to look for a whole batch after it; otherwise it
//!   needs no more memory than the log's biggest batch.
//!
//! Invariants:
//! - replay applies a batch's records only if the whole batch checks out,
//!   and applies them in the order they are in the file;
//! - replay drops only a torn tail of the newest log: a batch that shows
//!   a tear and that no later sync covers, which a crash during its sync
//!   leaves, and whose writes were never acknowledged;
//! - replay refuses a log whose header does not name it, or whose file
//!   holds a batch and is shorter than its header says it was made (one
//!   that holds none is for `log_chain.rs` to judge).
//!
//! Read alongside chapter 7.2 of the book, "The write-ahead log and group
//! commit".

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use crate::log_record::{LogHeader, Op, decode, parse_batch_header, written_length};
use crate::memtable::Memtable;
use crate::{Error, Result};

/// Where a log's whole batches end, as replay knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The newest log: it ends where its records do, and its last batch may
    /// be torn.
    Newest,
    /// A log that another follows: its batches end at this byte, as the
    /// next log's header says, and only the `next` record may come after.
    At(u64),
}

/// What replaying a log gave.
#[derive(Debug, Default)]
pub struct Replayed {
    /// How many writes were applied (`next` is not one).
    pub records: usize,
    /// Whether a `clear` was among them.
    pub cleared: bool,
    /// The log that follows this one, if its last record names one.
    pub next: Option<u64>,
    /// The number of the last line read: where the log ends, for an error
    /// about how it ends.
    pub lines: usize,
}

/// Applies the records of the log at `path` to `memtable`. `end` says
/// whether this is the newest log, whose last batch may be torn, or where
/// its batches end. The log is read one batch at a time, so replay needs no
/// more memory than its biggest batch, whatever the log's size (but for a
/// torn tail, which is read whole to look for a whole batch after it).
pub fn replay(path: &Path, end: End, memtable: &mut Memtable) -> Result<Replayed> {
    let io_error = |source| Error::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    };
    let corrupt = |line, reason: String| Error::Corrupt {
        path: path.to_path_buf(),
        line,
        reason: one_screen(reason),
    };
    let file = File::open(path).map_err(io_error)?;
    let length = file.metadata().map_err(io_error)?.len();
    let written = written_length(&file).map_err(io_error)?;
    let mut lines = Lines {
        reader: BufReader::new(file.take(written)),
        number: 0,
        offset: 0,
    };
    let header = lines.next().map_err(io_error)?.unwrap_or_default();
    let Some(header) = header.strip_suffix(b"\n").and_then(LogHeader::parse) else {
        let found = String::from_utf8_lossy(&header);
        return Err(corrupt(
            1,
            format!("expected the log's header `log <number> <bytes> <crc>`, found {found:?}"),
        ));
    };
    if crate::files::file_number(path).ok() != Some(header.number) {
        return Err(corrupt(
            1,
            format!(
                "the header is log {:06}'s: this file is not the log its name says",
                header.number
            ),
        ));
    }
    // A log that holds no batch may be one whose making a crash cut short,
    // before its length was synced: whether it must be whole is for the
    // chain to say (`log_chain.rs`), which knows if anything named it.
    if length < header.made && written > lines.offset {
        return Err(corrupt(1, cut_short(length, header.made)));
    }
    let (newest, batches_end) = match end {
        End::Newest => (true, written),
        End::At(bytes) if written < bytes => {
            return Err(corrupt(
                lines.number,
                format!(
                    "the next log says this one holds {bytes} bytes of batches, but only \
                     {written} are here: it was cut, and acknowledged batches are gone"
                ),
            ));
        }
        End::At(bytes) => (false, bytes),
    };
    let mut replayed = Replayed::default();
    while lines.offset < batches_end {
        let Some(header) = lines.next().map_err(io_error)? else {
            break;
        };
        let header_line = lines.number;
        if let Some(next) = replayed.next {
            return Err(corrupt(
                header_line,
                format!("a line after `next {next:06}`, which ends the log"),
            ));
        }
        if let Some(record) = unframed_record(&header) {
            // Not a tear (a torn write does not make a whole record): the
            // file was written by something other than this log. Refuse
            // it rather than drop acknowledged writes as a torn tail.
            return Err(corrupt(
                header_line,
                format!(
                    "a record with no batch header ({record:?}): no torn write makes one, so \
                     this log was not written by this store"
                ),
            ));
        }
        let records = match read_batch(&mut lines, &header).map_err(io_error)? {
            Batch::Whole(records) => records,
            Batch::Broken { reason, read, torn } => {
                // ANCHOR: exercise_7_2
                // Exercise 7.2: drop a broken batch only as the torn tail of the newest log; anywhere else, refuse with its header's line
                // A sync that a power cut interrupted can only be the last
                // one of the newest log, and it leaves its batch cut short
                // or with zeros: there, with no whole batch after it, the
                // broken batch is a write no one was told had succeeded.
                // Anywhere else, or broken in a way no tear breaks it, it
                // is damage to acknowledged writes.
                if newest && torn && !lines.whole_batch_follows(read).map_err(io_error)? {
                    tracing::warn!(
                        "{}:{header_line}: dropping a torn last batch ({reason})",
                        path.display()
                    );
                    break;
                }
                return Err(corrupt(header_line, reason));
                // ANCHOR_END: exercise_7_2
            }
        };
        if lines.offset > batches_end {
            return Err(corrupt(
                header_line,
                format!(
                    "this batch runs past byte {batches_end}, where the next log says this \
                     one's batches end"
                ),
            ));
        }
        apply(&records, header_line, &mut replayed, memtable)
            .map_err(|(line, reason)| corrupt(line, reason))?;
    }
    if !newest {
        if let Some(next) = replayed.next {
            // Ended inside its batches: nothing may follow.
            if lines.next().map_err(io_error)?.is_some() {
                return Err(corrupt(
                    lines.number,
                    format!("a line after `next {next:06}`, which ends the log"),
                ));
            }
        } else {
            replayed.next = ended_by_next(&mut lines)
                .map_err(io_error)?
                .map_err(|reason| corrupt(lines.number, reason))?;
        }
    }
    replayed.lines = lines.number;
    Ok(replayed)
}

/// Why a log file `length` bytes long, made `made` bytes long, is refused.
pub(crate) fn cut_short(length: u64, made: u64) -> String {
    format!(
        "the file is {length} bytes, shorter than the {made} it was made: it was cut, \
         and batches that were acknowledged may be gone with the rest"
    )
}

/// Applies the records of a whole batch whose header is on line
/// `header_line`. The error is a line and a reason.
fn apply(
    records: &[String],
    header_line: usize,
    replayed: &mut Replayed,
    memtable: &mut Memtable,
) -> std::result::Result<(), (usize, String)> {
    for (at, record) in records.iter().enumerate() {
        let line = header_line + 1 + at;
        if let Some(next) = replayed.next {
            return Err((
                line,
                format!("a record after `next {next:06}`, which ends the log"),
            ));
        }
        match decode(record).map_err(|reason| (line, reason))? {
            Op::Put(key, value) => memtable.put(&key, &value),
            Op::Delete(key) => memtable.delete(&key),
            Op::Clear => {
                *memtable = Memtable::new();
                replayed.cleared = true;
            }
            Op::Next(number) => {
                replayed.next = Some(number);
                continue;
            }
        }
        replayed.records += 1;
    }
    Ok(())
}

/// What follows the batches of a log that another follows: nothing, the
/// batch of its `next` record (whose number it returns), or that batch
/// torn (a crash while it was synced). Anything else is the reason it is
/// damage.
fn ended_by_next(lines: &mut Lines) -> io::Result<std::result::Result<Option<u64>, String>> {
    let Some(header) = lines.next()? else {
        return Ok(Ok(None));
    };
    let batch = read_batch(lines, &header)?;
    let after = lines.next()?;
    let only_next = || {
        Err(
            "after the batches the next log's header counts, only a `next` record may follow"
                .into(),
        )
    };
    Ok(match (batch, after) {
        (Batch::Whole(records), None) => match &records[..] {
            [record] => match decode(record) {
                Ok(Op::Next(number)) => Ok(Some(number)),
                _ => only_next(),
            },
            _ => only_next(),
        },
        (Batch::Broken { torn: true, .. }, None) => Ok(None),
        _ => only_next(),
    })
}

/// `reason` cut to fit an error line: a damaged record may quote kilobytes
/// (a page of zeros, a huge value), and the message must stay one line a
/// person can read.
fn one_screen(reason: String) -> String {
    const MOST: usize = 160;
    if reason.len() <= MOST {
        return reason;
    }
    let cut = (0..=MOST)
        .rev()
        .find(|&at| reason.is_char_boundary(at))
        .unwrap_or(0);
    format!("{}… ({} bytes in all)", &reason[..cut], reason.len())
}

/// The lines of a log, newlines included, and the number of the last one.
struct Lines {
    reader: BufReader<io::Take<File>>,
    number: usize,
    /// How many bytes the lines read so far take.
    offset: u64,
}

impl Lines {
    /// The next line, or `None` at the end of the file.
    fn next(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line)?;
        if line.is_empty() {
            return Ok(None);
        }
        self.number += 1;
        self.offset += line.len() as u64;
        Ok(Some(line))
    }

    /// Whether a whole batch starts at any line from here on, the lines
    /// `read` (already read after a broken header) first: then the broken
    /// batch before it is damage, not a torn tail.
    fn whole_batch_follows(&mut self, read: Vec<Vec<u8>>) -> io::Result<bool> {
        let mut rest = read;
        while let Some(line) = self.next()? {
            rest.push(line);
        }
        Ok((0..rest.len()).any(|at| {
            let Some((count, crc)) = rest[at].strip_suffix(b"\n").and_then(parse_batch_header)
            else {
                return false;
            };
            // `count` comes from a damaged file: it may be anything.
            let records = rest[at + 1..].get(..count);
            records.is_some_and(|records| crc32fast::hash(&records.concat()) == crc)
        }))
    }
}

/// The text of `line` if it is a whole record where a batch header should
/// be.
fn unframed_record(line: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(line.strip_suffix(b"\n")?).ok()?;
    decode(text).ok().map(|_| text.to_string())
}

/// A batch as replay found it.
enum Batch {
    /// Every record there, and the checksum matching: the records' lines,
    /// without their newlines.
    Whole(Vec<String>),
    /// Why the batch does not count, the lines read after its header (a
    /// damaged count may have taken whole batches that follow), and whether
    /// it shows a tear: cut short, or with zeros in it, as a sync that a
    /// power cut interrupted leaves a batch.
    Broken {
        reason: String,
        read: Vec<Vec<u8>>,
        torn: bool,
    },
}

/// Reads the batch that starts with `header`.
fn read_batch(lines: &mut Lines, header: &[u8]) -> io::Result<Batch> {
    let broken = |reason: &str, read: Vec<Vec<u8>>, cut: bool| {
        let zeros = |line: &Vec<u8>| line.contains(&0);
        let ends_cut = read.last().unwrap_or(&header.to_vec()).last() != Some(&b'\n');
        let torn = cut || ends_cut || header.contains(&0) || read.iter().any(zeros);
        Ok(Batch::Broken {
            reason: reason.to_string(),
            read,
            torn,
        })
    };
    let line = header.strip_suffix(b"\n").unwrap_or(header);
    let Some((count, crc)) = parse_batch_header(line) else {
        return broken("expected a batch header", Vec::new(), false);
    };
    let mut read = Vec::new();
    while read.len() < count {
        match lines.next()? {
            Some(line) => read.push(line),
            None => {
                let reason = format!("the batch ends after {} of its {count} records", read.len());
                return broken(&reason, read, true);
            }
        }
    }
    let bytes = read.concat();
    if crc32fast::hash(&bytes) != crc || bytes.last().is_some_and(|&byte| byte != b'\n') {
        return broken("the checksum does not match", read, false);
    }
    let Ok(text) = String::from_utf8(bytes) else {
        return broken("not UTF-8", read, false);
    };
    let records = text.split_terminator('\n').map(str::to_string).collect();
    Ok(Batch::Whole(records))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use std::path::Path;

    use super::*;
    use crate::log_record::{batch_header, encode};
    use crate::memtable::Entry;

    fn put(key: &str, value: &str) -> Op {
        Op::Put(key.to_string(), value.to_string())
    }

    /// The header line of log `number`, made `made` bytes long.
    fn header(number: u64, made: u64) -> String {
        LogHeader {
            number,
            made,
            after: None,
        }
        .line()
    }

    /// Where the log at `path` ends, as the header of a log that followed
    /// it would say: as if it were not the newest.
    fn older(path: &Path) -> End {
        End::At(written_length(&File::open(path).unwrap()).unwrap())
    }

    /// `text` as the body of log 1, after its header.
    fn logged(text: &str) -> String {
        header(1, 0) + text
    }

    /// `ops` as one batch: its header, then its records.
    fn batch(ops: &[Op]) -> String {
        let records: String = ops.iter().map(encode).collect();
        batch_header(ops.len() as u64, records.as_bytes()) + &records
    }

    #[test]
    fn exercise_7_2_replay_applies_records_and_drops_a_torn_tail() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.wal");
        let mut text = batch(&[put("a", "1"), put("b", "2")]) + &batch(&[Op::Delete("a".into())]);
        let torn = batch(&[put("c", "3")]);
        text.push_str(&torn[..torn.len() - 5]);
        fs::write(&path, logged(&text)).unwrap();
        let mut memtable = Memtable::new();
        let replayed = replay(&path, End::Newest, &mut memtable).unwrap();
        assert_eq!(replayed.records, 3);
        assert_eq!(memtable.get("a"), Some(&Entry::Tombstone));
        assert_eq!(memtable.get("b"), Some(&Entry::Value("2".into())));
        assert_eq!(memtable.get("c"), None, "the torn batch is dropped");
        // In an older log the same damage stops the store, at the header of
        // the broken batch.
        let error = replay(&path, older(&path), &mut Memtable::new())
            .unwrap_err()
            .to_string();
        assert!(error.contains("000001.wal:7: "), "{error}");
        // And so does a broken batch with a whole one after it.
        let damaged = batch(&[put("a", "1")]).replace("a→1", "a→2");
        fs::write(&path, logged(&(damaged + &batch(&[put("b", "2")])))).unwrap();
        let error = replay(&path, End::Newest, &mut Memtable::new())
            .unwrap_err()
            .to_string();
        assert!(error.contains("000001.wal:2: "), "{error}");
    }

    #[test]
    fn exercise_7_2_a_damaged_batch_count_neither_panics_nor_hides_the_batches_after_it() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.wal");
        let whole = batch(&[put("a", "1")]);
        let huge = format!("batch {} 00000000\n", usize::MAX);
        // Torn at the end of the newest log: dropped. Before a whole batch:
        // damage, with its line.
        fs::write(&path, logged(&(whole.clone() + &huge))).unwrap();
        assert_eq!(
            replay(&path, End::Newest, &mut Memtable::new())
                .unwrap()
                .records,
            1
        );
        fs::write(&path, logged(&(huge + &whole))).unwrap();
        let error = replay(&path, End::Newest, &mut Memtable::new())
            .unwrap_err()
            .to_string();
        assert!(error.contains("000001.wal:2: "), "{error}");
    }

    #[test]
    fn a_damaged_record_is_reported_on_one_short_line() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.wal");
        // A whole batch (its checksum matches) whose record is a page of
        // zeros and a word: its checksum field is 4 KiB long.
        let record = format!("{} put\n", "\0".repeat(4096));
        let header = batch_header(1, record.as_bytes());
        fs::write(
            &path,
            logged(&(header + &record + &batch(&[put("a", "1")]))),
        )
        .unwrap();
        let error = replay(&path, End::Newest, &mut Memtable::new())
            .unwrap_err()
            .to_string();
        assert!(error.contains("000001.wal:3: bad checksum"), "{error}");
        assert!(error.len() < 300 && !error.contains('\n'), "{error}");
    }

    #[test]
    fn a_log_without_batch_headers_is_refused_not_dropped() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.wal");
        // Records alone, with no batch header: not what this log writes.
        fs::write(&path, logged(&encode(&put("kenya:capital", "Nairobi")))).unwrap();
        let error = replay(&path, End::Newest, &mut Memtable::new())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("000001.wal:2: a record with no batch header"),
            "{error}"
        );
    }

    /// The newest log as a power cut in the middle of its last sync may
    /// leave it: the first batch whole, then the second batch with the
    /// bytes in `damage` (a range of its text) zeroed, as pages that never
    /// reached the disk are.
    fn torn_log(path: &Path, damage: std::ops::Range<usize>) {
        let first = batch(&[put("kenya:capital", "Nairobi")]);
        let second = batch(&[
            put("tanzania:capital", "Dodoma"),
            put("uganda:capital", "Kampala"),
            Op::Delete("kenya:capital".into()),
        ]);
        let mut bytes = second.into_bytes();
        bytes[damage].fill(0);
        fs::write(path, [logged(&first).into_bytes(), bytes].concat()).unwrap();
    }

    #[test]
    fn exercise_7_2_a_torn_last_batch_is_dropped_whatever_part_of_it_is_whole() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.wal");
        // Zeros, then whole records; a header, a torn record, whole ones;
        // a whole batch but for its last byte.
        for damage in [0..20, 30..40, 120..121] {
            torn_log(&path, damage.clone());
            let mut memtable = Memtable::new();
            let replayed = replay(&path, End::Newest, &mut memtable)
                .unwrap_or_else(|error| panic!("damage at {damage:?}: {error}"));
            assert_eq!(replayed.records, 1, "damage at {damage:?}");
            assert_eq!(
                memtable.get("kenya:capital"),
                Some(&Entry::Value("Nairobi".into()))
            );
            assert_eq!(memtable.get("tanzania:capital"), None);
            // In a log that is not the newest, no sync was cut short.
            let error = replay(&path, older(&path), &mut Memtable::new())
                .unwrap_err()
                .to_string();
            assert!(error.contains("000001.wal:4: "), "{error}");
        }
    }

    #[test]
    fn exercise_7_2_a_last_batch_damaged_in_a_way_no_tear_damages_it_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.wal");
        // The last batch whole in length, with no zero in it, but a letter
        // changed: a torn write cuts or zeroes, it does not change letters.
        let last = batch(&[put("uganda:capital", "Kampala")]).replace("Kampala", "Kampalx");
        fs::write(&path, logged(&(batch(&[put("a", "1")]) + &last))).unwrap();
        let error = replay(&path, End::Newest, &mut Memtable::new()).unwrap_err();
        // Refused at the last batch's header, line 4.
        assert!(
            matches!(&error, Error::Corrupt { path: at, line: 4, .. } if *at == path),
            "{error}"
        );
    }

    #[test]
    fn a_log_is_refused_without_its_header_under_another_name_or_cut_short() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.wal");
        let body = batch(&[put("a", "1")]);
        let cases = [
            (body.clone(), "000001.wal:1: expected the log's header"),
            (
                header(2, 0) + &body,
                "000001.wal:1: the header is log 000002's",
            ),
            (
                header(1, 4096) + &body,
                "000001.wal:1: the file is 61 bytes, shorter than the 4096 it was made",
            ),
        ];
        for (text, expected) in cases {
            fs::write(&path, &text).unwrap();
            let error = replay(&path, End::Newest, &mut Memtable::new())
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
        // Made 4096 bytes long and still that long: zeros after the batch.
        let mut made = (header(1, 4096) + &body).into_bytes();
        made.resize(4096, 0);
        fs::write(&path, made).unwrap();
        assert_eq!(
            replay(&path, End::Newest, &mut Memtable::new())
                .unwrap()
                .records,
            1
        );
    }

    #[test]
    fn next_ends_a_log() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.wal");
        let ended = batch(&[put("a", "1"), Op::Next(2)]);
        fs::write(&path, logged(&ended)).unwrap();
        let replayed = replay(&path, older(&path), &mut Memtable::new()).unwrap();
        assert_eq!((replayed.records, replayed.next), (1, Some(2)));
        // Nothing may follow it: the log was done.
        fs::write(&path, logged(&(ended + &batch(&[put("b", "2")])))).unwrap();
        let error = replay(&path, End::Newest, &mut Memtable::new())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("000001.wal:5: a line after `next 000002`"),
            "{error}"
        );
    }
}
