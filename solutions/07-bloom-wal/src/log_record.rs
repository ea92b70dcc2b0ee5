//! The write-ahead log's records: their format, and the pieces that write
//! and read it.
//!
//! Each write reaches the log as one record, one line of text, with a
//! checksum. The records that one sync makes durable (a group commit, see
//! `group_commit.rs`) go to the file as one batch, after a header line with
//! their number and their checksum, so that a batch torn by a power cut is
//! told from a whole one. [`encode`] writes a record and [`decode`] reads
//! one, [`batch_header`] heads a batch, [`LogHeader`] is a log's first line,
//! and [`written_length`] finds where the zeros a log was made with begin.
//! The live log, which appends the records and syncs them, is `wal.rs`; the
//! replay of a log at start, which follows the rules below, is `replay.rs`.
//!
// ANCHOR: format
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
// ANCHOR_END: format
//!
//! Invariants:
//! - a record is one line, and [`decode`] gives back the [`Op`] that
//!   [`encode`] wrote, whatever its key and value hold;
//! - a record or a log header whose checksum does not match is refused,
//!   never read as another one;
//! - what a log file holds ends with a newline, never with a zero, so the
//!   zeros the file was made with never cut a record.
//!
//! Read alongside chapter 7.2 of the book, "The write-ahead log and group
//! commit".

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::line::{escape, parse_line, unescape};
use crate::memtable::Entry;

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
        BufReader::new(File::open(path)?.take(HEADER_MOST)).read_until(b'\n', &mut first)?;
        Ok(first.strip_suffix(b"\n").and_then(LogHeader::parse))
    }
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

/// How many bytes a log's header line may take, newline included: far
/// more than one ever does. Bytes without a newline past this are no header
/// cut short.
pub const HEADER_MOST: u64 = 4096;

/// Whether the log file `file` holds no batch: nothing written after its
/// header line, or not even a whole header line, if its making was cut
/// short (then no more than [`HEADER_MOST`] bytes). A new log is such a
/// file until its first sync. Reads at offsets: `file`'s cursor stays put.
pub fn holds_no_batch(file: &File) -> io::Result<bool> {
    let written = written_length(file)?;
    let mut start = vec![0; written.min(HEADER_MOST) as usize];
    file.read_exact_at(&mut start, 0)?;
    Ok(match start.iter().position(|&byte| byte == b'\n') {
        Some(newline) => newline as u64 + 1 == written,
        None => written <= HEADER_MOST,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn put(key: &str, value: &str) -> Op {
        Op::Put(key.to_string(), value.to_string())
    }

    #[test]
    fn a_log_holds_no_batch_only_when_it_is_at_most_a_header() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.wal");
        let header = LogHeader {
            number: 1,
            made: 4096,
            after: None,
        }
        .line();
        let record = encode(&put("a", "1"));
        let batch = batch_header(1, record.as_bytes()) + &record;
        let cases = [
            (header.clone(), true),
            // Its making cut short: part of a header, zeros after.
            (header[..10].to_string() + &"\0".repeat(100), true),
            (header.clone() + &batch, false),
            // No newline, and longer than any header: not a header cut
            // short, so not a leftover a start may remove.
            ("x".repeat(HEADER_MOST as usize + 1), false),
        ];
        for (text, empty) in cases {
            std::fs::write(&path, &text).unwrap();
            let file = File::open(&path).unwrap();
            assert_eq!(
                holds_no_batch(&file).unwrap(),
                empty,
                "{:?}",
                &text[..20.min(text.len())]
            );
        }
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
}
