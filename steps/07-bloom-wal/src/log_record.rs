//! The write-ahead log's records: their format, and reading a log back.
//!
//! Each write reaches the log as one record, one line of text, with a
//! checksum. The records that one sync makes durable (a group commit, see
//! `wal.rs`) go to the file as one batch, after a header line with their
//! number and their checksum, so that a batch torn by a power cut is told
//! from a whole one. [`encode`] writes a record and [`decode`] reads one,
//! [`batch_header`] heads a batch; [`replay`] applies the records of a log
//! file, in order, to a memtable. The live log, which appends the records
//! and syncs them, is `wal.rs`.
//!
//! ## The format
//!
//! `NNNNNN.wal`: a header line, then one line per record, in the order the
//! writes happened, each batch of records that one sync made durable after
//! a header line of its own:
//!
//! ```text
//! log    := header batch*
//! header := "log " number " " bytes [" after " number " " bytes] " " crc "\n"
//! batch  := "batch " count " " crc "\n" record{count}
//! count  := how many records follow, in decimal
//! record := crc " " body "\n"
//! crc    := 8 lowercase hex digits: a CRC-32 (IEEE), in the log's header
//!           of the text before it, in a batch header of the bytes of its
//!           records (newlines included), in a record of its body's bytes
//! body   := "put " key "→" value  |  "del " key  |  "clear"  |  "next " number
//! ```
//!
//! The header names the log's own number (six digits, as in its file
//! name) and how many bytes long the file was made (see `wal.rs`); a log
//! that the store moved on to from another also names that log, and how
//! many bytes of it its batches took when this one was made. Keys and
//! values are escaped as in tables, so a record is one line. Replaying
//! applies the records in order to an empty memtable; `clear` empties it,
//! and also means that every table the manifest lists is older than the
//! clear and no longer counts. `next`, in a batch of its own, is the last
//! record of a log the store moved on from: the number of the log after it.
//! (How a start uses these links is in `log_chain.rs`.)
//!
//! A batch counts only whole: all of its records there, and its checksum
//! matching. One sync covers the whole batch, and a power cut during it can
//! leave part of it on disk: cut short, or with zeros where pages never
//! reached the disk. None of its writes was acknowledged. So a broken
//! batch that shows such a tear, with no whole batch after it, in the
//! newest log, is a torn tail: it is dropped, with what follows it, and a
//! log line. A broken batch anywhere else (in an older log, followed by a
//! whole batch, or whole in length with no zero in it but failing its
//! checksum) is damage to synced data, and the store stops with the log's
//! path and the line of the batch's header. So does a whole record where a
//! header should be: a tear cannot make one (it cuts, zeroes or drops
//! bytes, and cannot write a record's checksum for it), so the file was
//! written by something other than this log, and dropping it as a torn
//! tail could lose writes that were acknowledged.
//!
//! A log file is made longer than its records up front (see `wal.rs`), so
//! it ends in zeros: the log is the bytes up to the last one that is not
//! zero ([`written_length`]). A record ends with a newline, so no record
//! is cut by that rule; zeros *before* a record are part of a torn batch.
//! And a log file never gets shorter than it was made: one that did was
//! cut, and is refused, since its last batches may be gone whole.
//!
//! Example: the first log of a start, which the store has since moved on
//! from to log 2 (whose header is `log 000002 4096 after 000001 141
//! a513525d`: the 141 bytes up to the end of `clear`):
//!
//! ```text
//! log 000001 4096 b61d4551
//! batch 1 368e0e9c
//! ebfc5233 put kenya:capital→Nairobi
//! batch 2 08b063aa
//! b776b818 del tanzania:capital
//! e5b1f106 clear
//! batch 1 71a54dc3
//! 94bdc1b4 next 000002
//! ```
//!
//! Invariants:
//! - replay applies a batch's records only if the whole batch checks out,
//!   and applies them in the order they are in the file;
//! - replay drops only a torn tail of the newest log: a batch that shows
//!   a tear and that no later sync covers, which a crash during its sync
//!   leaves, and whose writes were never acknowledged;
//! - replay refuses a log whose header does not name it, or whose file is
//!   shorter than the header says it was made.
//!
//! Read alongside chapter 7.2 of the book, "The write-ahead log and group
//! commit".

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::line::{escape, parse_line, unescape};
use crate::memtable::{Entry, Memtable};
use crate::{Error, Result};

/// One write, as the log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A PUT: the key, then the value.
    Put(String, String),
    /// A DELETE of the key.
    Delete(String),
    /// A clear: every key is gone.
    Clear,
    /// The end of this log: the store went on to the log with this number.
    /// Not a write; always the last record of a log.
    Next(u64),
}

/// The line that records `op`, checksum and newline included.
pub fn encode(op: &Op) -> String {
    let body = match op {
        Op::Put(key, value) => format!("put {}→{}", escape(key), escape(value)),
        Op::Delete(key) => format!("del {}", escape(key)),
        Op::Clear => "clear".to_string(),
        Op::Next(number) => format!("next {number:06}"),
    };
    format!("{:08x} {body}\n", crc32fast::hash(body.as_bytes()))
}

/// A log's first line: which log it is, how long its file was made, and
/// where the log before it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogHeader {
    /// The log's number, as in its file name.
    pub number: u64,
    /// How many bytes long the file was made.
    pub made: u64,
    /// The log this one follows, and how many bytes of it were written (and
    /// synced) when this one was made: `None` for the first log of a start.
    pub after: Option<(u64, u64)>,
}

impl LogHeader {
    /// The header line, newline included.
    pub fn line(&self) -> String {
        let mut text = format!("log {:06} {}", self.number, self.made);
        if let Some((number, bytes)) = self.after {
            text += &format!(" after {number:06} {bytes}");
        }
        format!("{text} {:08x}\n", crc32fast::hash(text.as_bytes()))
    }

    /// Reads a header line, without its newline. `None` if the line is not
    /// one, or its checksum does not match.
    pub fn parse(line: &[u8]) -> Option<LogHeader> {
        let line = std::str::from_utf8(line).ok()?;
        let (text, crc) = line.rsplit_once(' ')?;
        let fields: Vec<&str> = text.strip_prefix("log ")?.split(' ').collect();
        let digits =
            |text: &str| !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
        let number = |text: &str| (text.len() == 6 && digits(text)).then(|| text.parse().ok())?;
        let bytes = |text: &str| digits(text).then(|| text.parse().ok())?;
        let header = match fields[..] {
            [n, made] => LogHeader {
                number: number(n)?,
                made: bytes(made)?,
                after: None,
            },
            [n, made, "after", before, written] => LogHeader {
                number: number(n)?,
                made: bytes(made)?,
                after: Some((number(before)?, bytes(written)?)),
            },
            _ => return None,
        };
        let crc = (crc.len() == 8).then(|| u32::from_str_radix(crc, 16).ok())??;
        (crc32fast::hash(text.as_bytes()) == crc).then_some(header)
    }

    /// Reads the header of the log file at `path`: `None` if its first
    /// line is not a whole header (a file whose making was cut short).
    pub fn of_file(path: &Path) -> io::Result<Option<LogHeader>> {
        let mut first = Vec::new();
        BufReader::new(File::open(path)?.take(4096)).read_until(b'\n', &mut first)?;
        Ok(first.strip_suffix(b"\n").and_then(LogHeader::parse))
    }
}

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

/// The header line of a batch whose `count` records are `records` (their
/// lines, newlines included), newline included.
pub fn batch_header(count: u64, records: &[u8]) -> String {
    format!("batch {count} {:08x}\n", crc32fast::hash(records))
}

/// Reads a batch header, without its newline: how many records follow, and
/// their checksum. `None` if the line is not one.
pub fn parse_batch_header(line: &[u8]) -> Option<(usize, u32)> {
    let (count, crc) = std::str::from_utf8(line)
        .ok()?
        .strip_prefix("batch ")?
        .split_once(' ')?;
    let digits = |text: &str, radix: u32| text.chars().all(|c| c.is_digit(radix));
    if count.is_empty() || !digits(count, 10) || crc.len() != 8 || !digits(crc, 16) {
        return None;
    }
    Some((count.parse().ok()?, u32::from_str_radix(crc, 16).ok()?))
}

/// Reads one record, without its newline. The error is why it is not one.
pub fn decode(line: &str) -> std::result::Result<Op, String> {
    let (crc, body) = line.split_once(' ').ok_or("no checksum")?;
    let expected = u32::from_str_radix(crc, 16).map_err(|_| format!("bad checksum {crc:?}"))?;
    if crc.len() != 8 || crc32fast::hash(body.as_bytes()) != expected {
        return Err("the checksum does not match".into());
    }
    if body == "clear" {
        Ok(Op::Clear)
    } else if let Some(number) = body.strip_prefix("next ") {
        let is_number = number.len() == 6 && number.bytes().all(|byte| byte.is_ascii_digit());
        match number.parse() {
            Ok(number) if is_number => Ok(Op::Next(number)),
            _ => Err(format!("bad log number in {body:?}")),
        }
    } else if let Some(key) = body.strip_prefix("del ") {
        Ok(Op::Delete(unescape(key)?))
    } else if let Some(pair) = body.strip_prefix("put ") {
        match parse_line(pair)? {
            (key, Entry::Value(value)) => Ok(Op::Put(key, value)),
            (_, Entry::Tombstone) => Err("a put of a tombstone".into()),
        }
    } else {
        Err(format!("unknown operation in {body:?}"))
    }
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
                // TODO(exercise 7.2): drop a broken batch only as the torn tail of the newest log; anywhere else, refuse with its header's line
                todo!(
                    "exercise 7.2: drop a broken batch only as the torn tail of the newest log; anywhere else, refuse with its header's line (book chapter 7)"
                )
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
    Ok(match (batch, after) {
        (Batch::Whole(records), None) => match records
            .iter()
            .map(|record| decode(record))
            .collect::<Vec<_>>()[..]
        {
            [Ok(Op::Next(number))] => Ok(Some(number)),
            _ => Err(
                "after the batches the next log's header counts, only a `next` record may follow"
                    .into(),
            ),
        },
        (Batch::Broken { torn: true, .. }, None) => Ok(None),
        _ => Err(
            "after the batches the next log's header counts, only a `next` record may follow"
                .into(),
        ),
    })
}

/// Whether the log file `file` holds no batch: nothing written after its
/// header line (or not even a whole header line, if its creation was cut
/// short). A new log is such a file until its first sync.
pub fn holds_no_batch(file: &File) -> io::Result<bool> {
    let written = written_length(file)?;
    let mut first = Vec::new();
    BufReader::new(file.try_clone()?.take(written)).read_until(b'\n', &mut first)?;
    Ok(first.len() as u64 == written)
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

/// How many bytes of the log file `file` hold its records: up to its last
/// byte that is not zero. The rest is the zeros the file was made with.
pub fn written_length(file: &File) -> io::Result<u64> {
    const CHUNK: u64 = 64 * 1024;
    let mut end = file.metadata()?.len();
    let mut buffer = vec![0; CHUNK as usize];
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let chunk = &mut buffer[..(end - start) as usize];
        file.read_exact_at(chunk, start)?;
        if let Some(last) = chunk.iter().rposition(|&byte| byte != 0) {
            return Ok(start + last as u64 + 1);
        }
        end = start;
    }
    Ok(0)
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
    fn records_decode_to_their_operation() {
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
    fn damaged_records_are_refused() {
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
