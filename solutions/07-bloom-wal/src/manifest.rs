//! The manifest: the one file that says which tables make up the store.
//!
//! The idea: a compaction replaces several tables with one. That is several
//! file operations (write the new table, remove the old ones), and a crash
//! can stop it after any of them. If the store decided which tables are live
//! by listing the directory, a crash at the wrong moment could leave it with
//! the merged table *and* an older input: harmless for values, but a
//! tombstone dropped by the merge would then let the input's older value come
//! back. So the store keeps the list of live tables in a file of its own and
//! changes it in a single atomic step, with the same write-then-rename dance
//! as a table. Whatever the directory holds, the manifest decides.
//!
//! ## The format
//!
//! ```text
//! MANIFEST := table* log? check
//! table    := digits ".sst" " " bytes " " crc "\n"   one line per live table
//! log      := "log " digits "\n"                     the oldest log still needed
//! check    := "check " crc "\n"                      covers every line above
//! ```
//!
//! - a table line names a live table, with the size of its file in bytes
//!   (decimal) and the CRC-32 (IEEE) of all of its bytes (8 lowercase hex
//!   digits), as its writer summed them (see `checksum.rs`);
//! - the lines are in the order of the tables, oldest first, and so their
//!   numbers strictly ascend: a flush takes the next number, and a merge of
//!   this step replaces the newest tables with one numbered above them all;
//! - the log line names the oldest write-ahead log whose writes are in no
//!   table yet (see `wal.rs`): a start must find it, and every log after
//!   it that it names, and a log numbered below it is a leftover of a
//!   flush. This step always writes it; a manifest written by step 05 or
//!   06 has none;
//! - the check line is the last line: the CRC-32 of every byte above it.
//!   A store with no tables (a new one, or after a clear) has a manifest of
//!   the check line alone.
//!
//! The file is written to `MANIFEST.tmp`, synced, renamed to `MANIFEST`,
//! and the directory is synced. So a crash leaves the old manifest or the
//! new one, whole: never one cut short, emptied, or with a line missing.
//! A manifest that breaks any rule above is damage, not a crash.
//!
//! At start, the store reads the manifest and checks it, then checks every
//! table it names against its line, and only then removes every other
//! `.sst` and `.tmp` file: they are what an interrupted flush or compaction
//! left behind. A manifest that fails its check, or names a table that is
//! missing or whose size or checksum differs, stops the store with the
//! manifest's path and the line, and nothing is removed: a start never
//! deletes on the word of a damaged manifest. A directory with tables but
//! no manifest (written by steps 03 and 04) is read in the order of the
//! table numbers, and a manifest is written for it.
//!
//! Example, after four flushes and a compaction of the last three:
//!
//! ```text
//! 000001.sst 129 8a3c2f04
//! 000005.sst 343 1f0be4d2
//! log 000003
//! check b9c3c03f
//! ```
//!
//! Invariants:
//! - the manifest on disk names only tables that are whole and synced,
//!   with their size and checksum;
//! - a table's file is removed only after a manifest that no longer names it
//!   is on disk, and at start only on the word of a manifest that passed
//!   its check.
//!
//! Read alongside chapter 5 of the book, "Compaction".

use std::fs;
use std::io;
use std::path::Path;

use crate::checksum::Checksum;
use crate::files;
use crate::sstable::SsTable;
use crate::{Error, Result};

/// The manifest's file name in the working directory.
pub const FILE_NAME: &str = "MANIFEST";

/// A live table as the manifest names it: its file name, and what its
/// bytes must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveTable {
    /// The table's file name, e.g. `000001.sst`.
    pub name: String,
    /// The size and CRC-32 its file must have.
    pub checksum: Checksum,
}

impl LiveTable {
    /// How the manifest names `table`.
    pub fn of(table: &SsTable) -> LiveTable {
        LiveTable {
            name: file_name(table.path()),
            checksum: table.checksum(),
        }
    }
}

/// What a manifest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The live tables, oldest first.
    pub tables: Vec<LiveTable>,
    /// The number of the oldest log whose writes are in no table: `None`
    /// in a manifest written by a step before this one.
    pub oldest_log: Option<u64>,
}

/// Reads and checks the manifest in `directory`, or `None` if there is no
/// manifest yet. An error names the
/// manifest and the line that broke the format; the tables themselves are
/// checked against their lines when they are opened.
pub fn read(directory: &Path) -> Result<Option<Manifest>> {
    let path = directory.join(FILE_NAME);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Io {
                action: "read",
                path,
                source,
            });
        }
    };
    parse(&text, directory)
        .map(Some)
        .map_err(|(line, reason)| Error::Corrupt { path, line, reason })
}

/// Parses a manifest's `text`; a table it names must be a file in
/// `directory`. The error is a line number, from 1, and a reason.
fn parse(text: &str, directory: &Path) -> std::result::Result<Manifest, (usize, String)> {
    let lines = text.lines().count();
    if !text.ends_with('\n') {
        let reason = if text.is_empty() {
            "the manifest is empty: it has no check line"
        } else {
            "the last line has no newline: the file was cut short"
        };
        return Err((lines.max(1), reason.into()));
    }
    // The check line is the last line, and covers every byte before it.
    let body_end = text[..text.len() - 1].rfind('\n').map_or(0, |end| end + 1);
    let (body, check) = text.split_at(body_end);
    let crc = check
        .strip_prefix("check ")
        .and_then(|crc| parse_crc(crc.trim_end_matches('\n')))
        .ok_or((
            lines,
            format!(
                "expected the check line `check <crc>`, found {:?}",
                check.trim_end()
            ),
        ))?;
    let summed = crc32fast::hash(body.as_bytes());
    if crc != summed {
        return Err((
            lines,
            format!(
                "the check line says {crc:08x}, but the lines above it sum to {summed:08x}: the manifest is damaged"
            ),
        ));
    }
    let mut tables: Vec<LiveTable> = Vec::new();
    let mut oldest_log = None;
    let mut last_number = None;
    for (index, line) in body.lines().enumerate() {
        let at = index + 1;
        if oldest_log.is_some() {
            return Err((
                at,
                format!("expected the check line after the log line, found {line:?}"),
            ));
        }
        if let Some(number) = line.strip_prefix("log ") {
            let is_number = number.len() == 6 && number.bytes().all(|byte| byte.is_ascii_digit());
            let number = number.parse().ok().filter(|_| is_number);
            oldest_log = Some(number.ok_or((
                at,
                format!("expected a log line like `log 000003`, found {line:?}"),
            ))?);
            continue;
        }
        let table = parse_table_line(line).ok_or((
            at,
            format!("expected `<table name> <bytes> <crc>` like `000001.sst 129 8a3c2f04`, found {line:?}"),
        ))?;
        let number =
            files::file_number(Path::new(&table.name)).map_err(|error| (at, error.to_string()))?;
        if last_number.is_some_and(|last| number <= last) {
            return Err((
                at,
                format!(
                    "{} is not newer than the table on the line above: table numbers must ascend",
                    table.name
                ),
            ));
        }
        last_number = Some(number);
        if !directory.join(&table.name).is_file() {
            return Err((at, format!("the table {} does not exist", table.name)));
        }
        tables.push(table);
    }
    Ok(Manifest { tables, oldest_log })
}

/// One table line, `000001.sst 129 8a3c2f04`, or `None` if it is not one.
fn parse_table_line(line: &str) -> Option<LiveTable> {
    let mut fields = line.split(' ');
    let (name, bytes, crc) = (fields.next()?, fields.next()?, fields.next()?);
    let is_decimal = !bytes.is_empty() && bytes.bytes().all(|byte| byte.is_ascii_digit());
    if fields.next().is_some() || !files::is_table_name(name) || !is_decimal {
        return None;
    }
    Some(LiveTable {
        name: name.to_string(),
        checksum: Checksum {
            bytes: bytes.parse().ok()?,
            crc: parse_crc(crc)?,
        },
    })
}

/// Eight lowercase hex digits, as the writer prints a CRC-32.
fn parse_crc(text: &str) -> Option<u32> {
    let is_crc = text.len() == 8
        && text
            .bytes()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'));
    is_crc.then(|| u32::from_str_radix(text, 16).ok()).flatten()
}

/// Replaces the manifest in `directory` with one that names `tables`
/// (oldest first) and `oldest_log`, the oldest log whose writes are in no
/// table, atomically: a crash leaves the old manifest or the new one,
/// never a mix.
pub fn write(directory: &Path, tables: &[LiveTable], oldest_log: u64) -> Result<()> {
    let mut body: String = tables
        .iter()
        .map(|table| {
            let Checksum { bytes, crc } = table.checksum;
            format!("{} {bytes} {crc:08x}\n", table.name)
        })
        .collect();
    body += &format!("log {oldest_log:06}\n");
    let check = format!("check {:08x}\n", crc32fast::hash(body.as_bytes()));
    files::write_atomically(&directory.join(FILE_NAME), &(body + &check))?;
    files::sync_directory(directory)
}

/// The file name of `path`, e.g. `000001.sst`.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(name: &str, bytes: u64, crc: u32) -> LiveTable {
        LiveTable {
            name: name.into(),
            checksum: Checksum { bytes, crc },
        }
    }

    #[test]
    fn a_missing_manifest_reads_as_none() {
        let directory = tempfile::tempdir().unwrap();
        assert_eq!(read(directory.path()).unwrap(), None);
    }

    #[test]
    fn the_manifest_round_trips_in_order() {
        let directory = tempfile::tempdir().unwrap();
        fs::write(directory.path().join("000003.sst"), "").unwrap();
        fs::write(directory.path().join("000007.sst"), "").unwrap();
        let tables = [
            live("000003.sst", 129, 0x8a3c2f04),
            live("000007.sst", 0, 0),
        ];
        write(directory.path(), &tables, 4).unwrap();
        let body = "000003.sst 129 8a3c2f04\n000007.sst 0 00000000\nlog 000004\n";
        assert_eq!(
            fs::read_to_string(directory.path().join(FILE_NAME)).unwrap(),
            format!("{body}check {:08x}\n", crc32fast::hash(body.as_bytes()))
        );
        let manifest = Manifest {
            tables: tables.to_vec(),
            oldest_log: Some(4),
        };
        assert_eq!(read(directory.path()).unwrap(), Some(manifest));
        write(directory.path(), &[], 9).unwrap();
        assert_eq!(
            fs::read_to_string(directory.path().join(FILE_NAME)).unwrap(),
            checked("log 000009\n")
        );
        // A manifest of step 05 or 06 has no log line.
        fs::write(directory.path().join(FILE_NAME), "check 00000000\n").unwrap();
        let empty = Manifest {
            tables: vec![],
            oldest_log: None,
        };
        assert_eq!(read(directory.path()).unwrap(), Some(empty));
    }

    /// A manifest with `body` and a check line that covers it.
    fn checked(body: &str) -> String {
        format!("{body}check {:08x}\n", crc32fast::hash(body.as_bytes()))
    }

    #[test]
    fn a_damaged_manifest_names_its_line() {
        let directory = tempfile::tempdir().unwrap();
        fs::write(directory.path().join("000001.sst"), "").unwrap();
        fs::write(directory.path().join("000002.sst"), "").unwrap();
        let one = "000001.sst 0 00000000\n";
        let two = "000002.sst 0 00000000\n";
        let cases = [
            (
                String::new(),
                "MANIFEST:1: the manifest is empty: it has no check line",
            ),
            (
                format!("{one}{two}"),
                "MANIFEST:2: expected the check line `check <crc>`, found \"000002.sst 0 00000000\"",
            ),
            (
                checked(&format!("{one}{two}"))[..30].to_string(),
                "MANIFEST:2: the last line has no newline: the file was cut short",
            ),
            // The last table line dropped, the check line kept.
            (
                format!("{one}{}", &checked(&format!("{one}{two}"))[2 * one.len()..]),
                "the lines above it sum to",
            ),
            // Two lines swapped, or one duplicated, with a check line that
            // covers them: the numbers give it away.
            (
                checked(&format!("{two}{one}")),
                "MANIFEST:2: 000001.sst is not newer than the table on the line above: table numbers must ascend",
            ),
            (
                checked(&format!("{one}{one}")),
                "MANIFEST:2: 000001.sst is not newer than the table on the line above",
            ),
            (
                checked("000001.sst\n"),
                "MANIFEST:1: expected `<table name> <bytes> <crc>` like `000001.sst 129 8a3c2f04`, found \"000001.sst\"",
            ),
            (
                checked(&format!("{one}000003.sst 0 00000000\n")),
                "MANIFEST:2: the table 000003.sst does not exist",
            ),
            (
                checked(&format!("log 000002\n{one}")),
                "MANIFEST:2: expected the check line after the log line",
            ),
            (
                checked(&format!("{one}log 2\n")),
                "MANIFEST:2: expected a log line like `log 000003`, found \"log 2\"",
            ),
        ];
        for (text, expected) in cases {
            fs::write(directory.path().join(FILE_NAME), &text).unwrap();
            let error = read(directory.path()).unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }
}
