//! Sidecars: the files beside a table that can be rebuilt from it, its
//! index (`NNNNNN.idx`) and its bloom filter (`NNNNNN.bloom`), and how one
//! is written and loaded.
//!
//! The idea: a sidecar only saves reading its table through, so a sidecar
//! that is missing, not text, or breaks its format is not an error. It is
//! logged, and the caller (`table_reader.rs`, when it opens a table)
//! rebuilds both by reading the table through once; only a failure to read
//! a sidecar that is there stops the store. Each format is parsed by its
//! own file (`index.rs`, `bloom.rs`); [`load`] reads the text and hands it
//! to that parser, so this file knows no format but its check line, and
//! the format files need nothing from the table's (`sstable.rs`,
//! `table_reader.rs`).
//!
//! ## The check line
//!
//! Every sidecar starts with one line that ties it to its table and covers
//! the rest of the file with a checksum; the sidecar's own format follows:
//!
//! ```text
//! sidecar := "check " table_bytes " " crc "\n" body
//! ```
//!
//! - `table_bytes`: the size in bytes of the table it was built from, in
//!   decimal; tables never change once written, so a different size means
//!   the sidecar belongs to another table;
//! - `crc`: 8 lowercase hex digits, the CRC-32 (IEEE) of `body`'s bytes.
//!
//! A sidecar whose check line is missing, whose size is not its table's or
//! whose checksum does not match is rebuilt, like one that breaks its own
//! format: a filter whose bits were zeroed would otherwise say "not here"
//! for keys its table holds, and a deleted key's older value would answer.
//!
//! Example, an index of a table of 8,000 bytes:
//!
//! ```text
//! check 8000 bbeadaa8
//! 0 1 kenya:capital
//! 4107 180 rwanda:capital
//! ```
//!
//! Shortcuts, and what they cost:
//! - a sidecar is read whole into memory before it is parsed: they are
//!   small (a line per 4 KiB of table, or about 1.2 bytes per key).
//!
//! Invariants:
//! - a sidecar is used only when its check line matches its table and its
//!   body, and its parser accepts all of it; otherwise [`load`] answers
//!   `None`, with a log line naming the file (and the line that broke its
//!   format), and the caller rebuilds it.
//!
//! Read alongside chapter 6 of the book, "A sparse index", and chapter 7,
//! "Bloom filters and a write-ahead log".

use std::fs;
use std::path::Path;

use crate::Result;
use crate::files;

/// Writes `body` as the sidecar with `extension` beside the table at
/// `path`, of `table_bytes` bytes, after its check line, whole or not at
/// all. The caller syncs the directory.
pub fn write(path: &Path, extension: &str, table_bytes: u64, body: &str) -> Result<()> {
    let check = format!(
        "check {table_bytes} {:08x}\n",
        crc32fast::hash(body.as_bytes())
    );
    files::write_atomically(&path.with_extension(extension), &(check + body))
}

/// Reads the sidecar with `extension` beside the table at `path`, of
/// `table_bytes` bytes, checks its check line and parses its body. `None`,
/// with a log line, when it is missing, not text, does not check out, or
/// breaks its format (the error of `parse` is a line number in the body and
/// a reason): the caller then rebuilds it from the table.
pub fn load<T>(
    path: &Path,
    extension: &str,
    table_bytes: u64,
    parse: impl FnOnce(&str) -> std::result::Result<T, (usize, String)>,
) -> Result<Option<T>> {
    let beside = path.with_extension(extension);
    let text = match fs::read_to_string(&beside) {
        Ok(text) => text,
        // Missing, not text, or unreadable (EIO): a sidecar is derived from
        // its table, so the table is read again instead of refusing to
        // start. If the table cannot be read either, that error stops it.
        Err(error) => {
            tracing::warn!(
                "cannot read {} ({error}): rebuilding it from {}",
                beside.display(),
                path.display()
            );
            return Ok(None);
        }
    };
    // The body's line numbers count from 2: the check line is line 1.
    let parsed = checked_body(&text, table_bytes)
        .map_err(|reason| (1, reason))
        .and_then(|body| parse(body).map_err(|(line, reason)| (line + 1, reason)));
    match parsed {
        Ok(parsed) => Ok(Some(parsed)),
        Err((line, reason)) => {
            tracing::warn!(
                "{}:{line}: {reason}: rebuilding it from {}",
                beside.display(),
                path.display()
            );
            Ok(None)
        }
    }
}

/// The body of a sidecar's `text`, if its check line names a table of
/// `table_bytes` bytes and the body's checksum. The error is why not.
pub fn checked_body(text: &str, table_bytes: u64) -> std::result::Result<&str, String> {
    let expected = "expected `check <table bytes> <crc>`";
    let (check, body) = text.split_once('\n').ok_or(expected)?;
    let (bytes, crc) = check
        .strip_prefix("check ")
        .and_then(|rest| rest.split_once(' '))
        .ok_or(expected)?;
    if bytes != table_bytes.to_string() {
        return Err(format!(
            "written for a table of {bytes} bytes, but the table has {table_bytes}"
        ));
    }
    if crc != format!("{:08x}", crc32fast::hash(body.as_bytes())) {
        return Err("the checksum does not match".into());
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loads the sidecar `idx` beside `table` as plain text.
    fn load_text(table: &Path, table_bytes: u64) -> Option<String> {
        load(table, "idx", table_bytes, |body| Ok(body.to_string())).unwrap()
    }

    #[test]
    fn a_sidecar_that_cannot_be_read_is_rebuilt_not_fatal() {
        let directory = tempfile::tempdir().unwrap();
        let table = directory.path().join("000001.sst");
        // A link to itself: opening it fails with ELOOP, neither "not
        // found" nor "not text", as a disk error would.
        std::os::unix::fs::symlink("000001.idx", directory.path().join("000001.idx")).unwrap();
        assert_eq!(load_text(&table, 0), None);
    }

    #[test]
    fn a_sidecar_is_used_only_if_its_check_line_matches() {
        let directory = tempfile::tempdir().unwrap();
        let table = directory.path().join("000001.sst");
        let body = "0 1 kenya:capital\n";
        write(&table, "idx", 9301, body).unwrap();
        assert_eq!(load_text(&table, 9301).as_deref(), Some(body));
        // Another table's size: the sidecar is not this table's.
        assert_eq!(load_text(&table, 9302), None);
        // The body changed under its checksum, its length kept.
        let path = table.with_extension("idx");
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, text.replace("kenya", "kenyb")).unwrap();
        assert_eq!(load_text(&table, 9301), None);
        // No check line at all, as a sidecar of an older format.
        fs::write(&path, body).unwrap();
        assert_eq!(load_text(&table, 9301), None);
        fs::remove_file(&path).unwrap();
        assert_eq!(load_text(&table, 9301), None);
    }
}
