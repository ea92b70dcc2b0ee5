//! An open table: [`SsTable`] keeps a table's file open, checked against
//! the manifest, with its sparse index and bloom filter in memory, and looks
//! a key up by reading at most one block of it, and for most absent keys
//! nothing.
//!
//! The idea: a table never changes after it is written (its format and its
//! writer are in `sstable.rs`), so the index and the filter that the writer
//! left beside it stay true for as long as the table lives, and they are
//! kept in memory. A lookup asks the filter first; for most keys the table
//! does not hold, the filter answers "certainly not here" and the lookup
//! reads nothing. Otherwise it asks the index for the one block that can
//! hold the key and reads that block alone, with one positioned read; only
//! a merge, a scan or the rebuilding of the sidecars reads a table from its
//! first line (with [`Entries`], `entries.rs`).
//!
//! Opening a table reads it through once, for the size and CRC-32 that the
//! manifest names it with. The index and the filter are loaded by the same
//! `sidecar::load`; when either is missing or damaged, both are rebuilt in
//! one more read of the table, which has just passed its check, and written
//! anew.
//!
//! Shortcuts, and what they cost:
//! - every table is read once at open, for its checksum, but parsed only
//!   to rebuild a missing or damaged sidecar: the read costs time at start,
//!   and no lookup pays for it; damage done to a file after that check is
//!   found only when a merge or a scan parses it, or a lookup reads it.
//!
//! Invariants:
//! - a table whose size or CRC-32 is not what the manifest names is an
//!   error at open, and none of it is served;
//! - a lookup reads at most one block (4 KiB plus one line) of the table,
//!   and fails with the table's path and line, never a wrong answer, when
//!   the block does not start with the key the index promised (what else
//!   it checks is in the format, in `sstable.rs`);
//! - a table reads through the file it opened, with positioned reads only,
//!   so any number of readers can share it; removing its files (a merge,
//!   `clear`) does not disturb a reader that still holds the table, because
//!   on Unix an unlinked file stays readable through an open descriptor, and
//!   its space is freed when the last clone of the table is dropped.
//!
//! Read alongside chapter 6 of the book, "A sparse index", for the
//! one-block lookup, and chapter 7, "Bloom filters and a write-ahead log",
//! for the filter it asks first.

use std::cmp::Ordering;
use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{self, AtomicU64};

use crate::bloom::{self, BloomFilter};
use crate::checksum::Checksum;
use crate::entries::Entries;
use crate::files::{self, filter_path, index_path};
use crate::index::{self, Block, Index};
use crate::line::{compare_escaped, escape, escaped_key, parse_line};
use crate::memtable::Entry;
use crate::sidecar;
use crate::{Error, Result};

/// A table on disk, with its file kept open and its sparse index and bloom
/// filter in memory. A lookup reads at most one block of the file.
#[derive(Debug, Clone)]
pub struct SsTable {
    path: PathBuf,
    /// The table's file, opened once, read-only, and shared by every clone:
    /// all reads are positioned reads, so readers never share a place in it.
    file: Arc<File>,
    index: Arc<Index>,
    filter: Arc<BloomFilter>,
    /// How many bytes lookups have read from the file (for tests and the
    /// curious: the read bound is the point of this step).
    bytes_read: Arc<AtomicU64>,
    /// The size and CRC-32 of the file, as the manifest names it.
    checksum: Checksum,
}

impl SsTable {
    /// Opens the table at `path`, which the manifest names with `expected`:
    /// reads it through once to check its size and CRC-32 (a damaged table
    /// is an error, and none of it is served), then loads its index and filter. A
    /// missing or damaged sidecar is rebuilt from the table, which has just
    /// passed its check, by reading it through once more, which also checks
    /// every line of it, and written anew.
    pub fn open(path: &Path, expected: Checksum) -> Result<SsTable> {
        let no_filter = BloomFilter::from_hashes(&[]);
        let table = SsTable::with_sidecars(path, Index::new(), no_filter, expected)?;
        table.check(expected)?;
        let table_bytes = expected.bytes;
        let index = index::load(path, table_bytes)?;
        let filter = sidecar::load(
            path,
            files::FILTER_EXTENSION,
            table_bytes,
            BloomFilter::parse,
        )?;
        let (index, filter) = match (index, filter) {
            (Some(index), Some(filter)) => (index, filter),
            _ => {
                let (index, filter) = rebuild_sidecars(path, table.entries()?)?;
                index::write(path, &index)?;
                sidecar::write(path, files::FILTER_EXTENSION, table_bytes, &filter.encode())?;
                (index, filter)
            }
        };
        Ok(SsTable {
            index: Arc::new(index),
            filter: Arc::new(filter),
            ..table
        })
    }

    /// A table whose sidecars, its index and filter, are known. Opens its file.
    pub fn with_sidecars(
        path: &Path,
        index: Index,
        filter: BloomFilter,
        checksum: Checksum,
    ) -> Result<SsTable> {
        Ok(SsTable {
            path: path.to_path_buf(),
            file: open_file(path)?,
            index: Arc::new(index),
            filter: Arc::new(filter),
            bytes_read: Arc::default(),
            checksum,
        })
    }

    /// Reads the table's file through and compares its size and CRC-32
    /// with `expected`, what the manifest names it with: a table that was
    /// changed after it was written is damaged, and none of it is served.
    fn check(&self, expected: Checksum) -> Result<()> {
        let found = Checksum::of_file(&self.file, &self.path)?;
        if found != expected {
            return Err(Error::Damaged {
                path: self.path.clone(),
                found,
                expected,
            });
        }
        Ok(())
    }

    /// The size and CRC-32 of the table's file.
    pub fn checksum(&self) -> Checksum {
        self.checksum
    }

    /// The file this table reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The size of the table's file in bytes, asked of the open file, so
    /// that it is right even once the file's name has been removed.
    pub fn file_bytes(&self) -> Result<u64> {
        let metadata = self.file.metadata().map_err(|source| Error::Io {
            action: "measure",
            path: self.path.clone(),
            source,
        })?;
        Ok(metadata.len())
    }

    /// The table's sparse index.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// How many bytes lookups in this table have read from its file.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(atomic::Ordering::Relaxed)
    }

    /// Removes the table's file, its index and its filter.
    pub fn remove_files(&self) -> Result<()> {
        for path in [
            self.path.clone(),
            index_path(&self.path),
            filter_path(&self.path),
        ] {
            match fs::remove_file(&path) {
                // Already gone (a sidecar is rebuilt when missing): nothing
                // to remove, and no reason to stop a merge for it.
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                other => other.map_err(|source| Error::Io {
                    action: "remove",
                    path,
                    source,
                })?,
            }
        }
        Ok(())
    }

    /// Returns the entry of `key` in this table, or `None` when the table
    /// has no line for it. Asks the bloom filter first, and reads at most
    /// one block.
    pub fn get(&self, key: &str) -> Result<Option<Entry>> {
        if !self.filter.may_contain(key) {
            return Ok(None);
        }
        // Exercise 6.2: read only the block that can hold the key, and search its lines
        let Some(block) = self.index.block_for(key) else {
            return Ok(None);
        };
        let bytes = self.read_block(&block)?;
        // The lines hold their keys escaped: escape the key sought once, and
        // compare it with each line's key as it is, without unescaping it.
        let sought = escape(key);
        for (at, line) in bytes.split_inclusive(|&byte| byte == b'\n').enumerate() {
            let line_number = block.line + at;
            let (line, line_key) = self.block_line(&block, at, line)?;
            let order = compare_escaped(line_key, &sought)
                .map_err(|reason| self.corrupt(line_number, reason))?;
            match order {
                Ordering::Less => {}
                // The one line that is read whole.
                Ordering::Equal => return self.entry_of(line_number, line).map(Some),
                // The lines are sorted: the key would have come before this one.
                Ordering::Greater => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Line `at` of `block` (0 for its first), as read from the block with
    /// its newline: the line without the newline, and its key as the line
    /// holds it, escaped. Refuses, naming the table and the line, a line
    /// without its newline (the block was cut short), one whose key cannot
    /// be read, and a first line that does not hold the key the index
    /// promised for the block.
    fn block_line<'a>(
        &self,
        block: &Block,
        at: usize,
        line: &'a [u8],
    ) -> Result<(&'a [u8], &'a str)> {
        let corrupt = |reason| self.corrupt(block.line + at, reason);
        let line = line
            .strip_suffix(b"\n")
            .ok_or_else(|| corrupt("the last line has no newline".into()))?;
        let line_key = escaped_key(line).map_err(corrupt)?;
        if at == 0 && line_key != escape(&block.first_key) {
            return Err(corrupt(format!(
                "the index says the block starts with {:?}",
                block.first_key
            )));
        }
        Ok((line, line_key))
    }

    /// The entry that line `line_number` of the table holds, `line` being
    /// its bytes without the newline: the one line a lookup reads whole.
    fn entry_of(&self, line_number: usize, line: &[u8]) -> Result<Entry> {
        let corrupt = |reason| self.corrupt(line_number, reason);
        let line = std::str::from_utf8(line).map_err(|_| corrupt("not UTF-8".into()))?;
        let (_, entry) = parse_line(line).map_err(corrupt)?;
        Ok(entry)
    }

    /// The error for a broken line of this table, `line` counted from 1.
    fn corrupt(&self, line: usize, reason: String) -> Error {
        Error::Corrupt {
            path: self.path.clone(),
            line,
            reason,
        }
    }

    /// Reads the bytes of `block` with one positioned read.
    fn read_block(&self, block: &Block) -> Result<Vec<u8>> {
        let length = usize::try_from(block.end - block.start).expect("a block fits in memory");
        let mut bytes = vec![0; length];
        self.file
            .read_exact_at(&mut bytes, block.start)
            .map_err(|source| Error::Io {
                action: "read",
                path: self.path.clone(),
                source,
            })?;
        self.bytes_read
            .fetch_add(length as u64, atomic::Ordering::Relaxed);
        Ok(bytes)
    }

    /// Reads the table's entries from the first line, in key order.
    pub fn entries(&self) -> Result<Entries> {
        Ok(Entries::new(Arc::clone(&self.file), self.path.clone()))
    }
}

/// Opens the file of the table at `path`, read-only, to be shared.
fn open_file(path: &Path) -> Result<Arc<File>> {
    let file = File::open(path).map_err(|source| Error::Io {
        action: "open",
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Arc::new(file))
}

/// Builds the index and the bloom filter of the table at `path` from its
/// `entries`, read through from the first line, which also checks every
/// line; logs that it did.
fn rebuild_sidecars(path: &Path, mut entries: Entries) -> Result<(Index, BloomFilter)> {
    let mut index = Index::new();
    let mut key_hashes = Vec::new();
    loop {
        let (offset, line) = (entries.offset(), entries.line_number() + 1);
        match entries.next() {
            None => break,
            Some(entry) => {
                let key = entry?.0;
                index.note_line(&key, offset, line);
                key_hashes.push(bloom::hash(&key));
            }
        }
    }
    index.finish(entries.offset());
    tracing::info!(
        "rebuilt the index and filter of {} ({} blocks)",
        path.display(),
        index.blocks().len()
    );
    Ok((index, BloomFilter::from_hashes(&key_hashes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sstable::write;

    fn value(text: &str) -> Entry {
        Entry::Value(text.to_string())
    }

    /// Writes `text` as a table file and reads all of its entries.
    fn read_all(text: &str) -> Result<Vec<(String, Entry)>> {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.sst");
        fs::write(&path, text).unwrap();
        SsTable::with_sidecars(
            &path,
            Index::new(),
            BloomFilter::from_hashes(&[]),
            Checksum::of_path(&path)?,
        )?
        .entries()?
        .collect()
    }

    #[test]
    fn exercise_3_2_reader_names_the_line_that_breaks_the_format() {
        // Out of order, a duplicate, cut short: the reader's own checks,
        // whose wording is not this exercise's, each an `Error::Corrupt`
        // at the line that broke the format.
        let text = "kenya:capital→Nairobi\nuganda:capital→Kampala\nrwanda:capital→Kigali\n";
        let error = read_all(text).unwrap_err();
        assert!(
            matches!(&error, Error::Corrupt { path, line: 3, reason }
                if path.ends_with("000001.sst") && reason.contains("rwanda:capital")),
            "{error}"
        );
        let error = read_all("a→1\na→2\n").unwrap_err();
        assert!(matches!(&error, Error::Corrupt { line: 2, .. }), "{error}");
        let error = read_all("a→1\nb→2").unwrap_err();
        assert!(matches!(&error, Error::Corrupt { line: 2, .. }), "{error}");
        // A bad escape: `unescape`'s reason, behind the reader's prefix.
        let error = read_all("a→1\nb→bad \\x escape\n").unwrap_err().to_string();
        assert!(
            error.ends_with("000001.sst:2: bad value: unknown escape `\\x`"),
            "{error}"
        );
    }

    #[test]
    fn a_line_without_separator_is_refused_with_file_and_line() {
        let error = read_all("no separator here\n").unwrap_err().to_string();
        assert!(
            error.ends_with("000001.sst:1: expected `key→value`, found \"no separator here\""),
            "{error}"
        );
        let error = read_all("\\→ only an escaped arrow\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("000001.sst:1: expected `key→value`"),
            "{error}"
        );
    }

    #[test]
    fn a_line_that_is_not_utf8_is_refused_with_file_and_line() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.sst");
        fs::write(&path, b"\xff\xfe\n").unwrap();
        let error = SsTable::open(&path, Checksum::of_path(&path).unwrap())
            .unwrap_err()
            .to_string();
        assert!(error.ends_with("000001.sst:1: not UTF-8"), "{error}");
    }

    #[test]
    fn an_empty_table_has_no_entries() {
        assert_eq!(read_all("").unwrap(), []);
    }

    /// A table of `count` keys `key-00000`, `key-00001`, ... written by
    /// `write`, so that it has an index of several blocks.
    fn big_table(directory: &Path, count: usize) -> SsTable {
        let entries: Vec<(String, Entry)> = (0..count)
            .map(|n| (format!("key-{n:05}"), value(&format!("value of key {n}"))))
            .collect();
        write(
            &directory.join("000001.sst"),
            entries.iter().map(|(key, entry)| (key.as_str(), entry)),
        )
        .unwrap()
    }

    #[ignore = "needs exercise 7.1 (book chapter 7): `cargo xtask check 07` runs it"]
    #[test]
    fn exercise_6_2_lookups_find_keys_in_their_block() {
        let directory = tempfile::tempdir().unwrap();
        let table = big_table(directory.path(), 2_000);
        assert!(table.index().blocks().len() > 10, "several blocks");
        assert_eq!(
            table.get("key-00000").unwrap(),
            Some(value("value of key 0"))
        );
        assert_eq!(
            table.get("key-01234").unwrap(),
            Some(value("value of key 1234"))
        );
        assert_eq!(
            table.get("key-01999").unwrap(),
            Some(value("value of key 1999"))
        );
        assert_eq!(table.get("key-01234x").unwrap(), None, "between two keys");
        assert_eq!(table.get("a").unwrap(), None, "before the first key");
        assert_eq!(table.get("z").unwrap(), None, "after the last key");
        for block in table.index().blocks() {
            assert!(
                table.get(&block.key).unwrap().is_some(),
                "the first key of a block"
            );
        }
    }

    #[ignore = "needs exercise 7.1 (book chapter 7): `cargo xtask check 07` runs it"]
    #[test]
    fn exercise_6_2_a_lookup_reads_at_most_one_block() {
        let directory = tempfile::tempdir().unwrap();
        let table = big_table(directory.path(), 2_000);
        let longest_line = "key-01999→value of key 1999\n".len() as u64;
        for n in (0..2_000).step_by(37) {
            let before = table.bytes_read();
            table.get(&format!("key-{n:05}")).unwrap();
            let read = table.bytes_read() - before;
            assert!(
                read <= crate::index::BLOCK_BYTES + longest_line,
                "key {n}: read {read} bytes"
            );
        }
    }

    #[ignore = "needs exercise 7.1 (book chapter 7): `cargo xtask check 07` runs it"]
    #[test]
    fn exercise_6_2_a_block_that_does_not_match_its_index_is_an_error() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.sst");
        fs::write(&path, "a→1\nc→3\nbroken\n").unwrap();
        // An index whose second block starts in the middle of line 2 (the
        // line starts at byte 6: `→` takes three bytes).
        let wrong = SsTable::with_sidecars(
            &path,
            Index::parse("0 1 a\n7 2 c\n", 19).unwrap(),
            BloomFilter::from_hashes(&[bloom::hash("a"), bloom::hash("c")]),
            Checksum::of_path(&path).unwrap(),
        )
        .unwrap();
        assert_eq!(wrong.get("a").unwrap(), Some(value("1")));
        let error = wrong.get("c").unwrap_err().to_string();
        assert!(error.contains("000001.sst:2: "), "{error}");
    }

    #[ignore = "needs exercise 7.1 (book chapter 7): `cargo xtask check 07` runs it"]
    #[test]
    fn exercise_6_2_keys_whose_escapes_sort_differently_are_found() {
        // In the order of the keys, a newline comes before `A` and `é`
        // before `→`; escaped, `\n` and `\→` start with a backslash, which
        // comes after `A` and before `é`.
        let mut keys = ["\n", "A", "\\", "a→b", "é", "†", "→", "🦀"];
        keys.sort();
        let entries: Vec<(&str, Entry)> = keys.iter().map(|key| (*key, value(key))).collect();
        let directory = tempfile::tempdir().unwrap();
        let table = write(
            &directory.path().join("000001.sst"),
            entries.iter().map(|(key, entry)| (*key, entry)),
        )
        .unwrap();
        for key in keys {
            assert_eq!(table.get(key).unwrap(), Some(value(key)), "{key:?}");
        }
        for absent in ["\r", "B", "\\n", "a", "a→", "ê", "✓", "🦀🦀"] {
            assert_eq!(table.get(absent).unwrap(), None, "{absent:?}");
        }
    }

    #[ignore = "needs exercise 7.1 (book chapter 7): `cargo xtask check 07` runs it"]
    #[test]
    fn removing_a_table_whose_index_is_already_gone_is_not_an_error() {
        let directory = tempfile::tempdir().unwrap();
        let table = big_table(directory.path(), 100);
        fs::remove_file(index_path(table.path())).unwrap();
        table.remove_files().unwrap();
        assert!(!table.path().exists());
    }

    #[ignore = "needs exercise 7.1 (book chapter 7): `cargo xtask check 07` runs it"]
    #[test]
    fn a_removed_table_still_reads_through_its_open_file() {
        let directory = tempfile::tempdir().unwrap();
        let table = big_table(directory.path(), 2_000);
        let bytes = fs::metadata(table.path()).unwrap().len();
        let clone = table.clone();
        // What a merge or `clear` does while a reader still holds the table.
        table.remove_files().unwrap();
        drop(table);
        assert!(!directory.path().join("000001.sst").exists());
        // Compaction measures tables this way, with no lock held.
        assert_eq!(clone.file_bytes().unwrap(), bytes);
        assert_eq!(
            clone.get("key-01234").unwrap(),
            Some(value("value of key 1234"))
        );
        let read: Vec<_> = clone.entries().unwrap().collect::<Result<_>>().unwrap();
        assert_eq!(read.len(), 2_000);
        assert_eq!(read[1234], ("key-01234".into(), value("value of key 1234")));
    }
}
