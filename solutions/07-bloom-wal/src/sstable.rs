//! SSTables: sorted, plain-text files, written whole by a flush or a merge,
//! with a sparse index and a bloom filter beside each; this file holds the
//! table's format and its writer.
//!
//! The idea: when the memtable is big enough, its entries are written out in
//! key order to a new file, a *sorted string table*, and the memtable starts
//! again empty. A table is never changed after it is written; newer tables
//! hide older ones, and a tombstone in a newer table hides a value in an
//! older one. Because the lines are sorted, a lookup can stop reading as soon
//! as it passes the key it looks for.
//!
//! A merge writes its table with a [`TableWriter`], one entry at a time, so
//! the merged table may be far bigger than memory; and it reads its inputs
//! with [`SsTable::entries`], one line at a time. A merged table replaces
//! its inputs, whose files are then deleted: a table is never changed, but
//! it does not live forever.
//! `write_atomically`, in `files.rs`, lends the same write-then-rename to
//! the manifest.
//!
//! The [`TableWriter`] also builds the table's two sidecars as the lines go
//! by, and writes them beside the table when it finishes: the sparse index
//! (`index.rs`), as `NNNNNN.idx`, and the bloom filter (`bloom.rs`), made
//! from the hashes of the keys, as `NNNNNN.bloom`. Neither is in the table
//! file, whose format is below. A table is opened, checked and looked up,
//! with its index and filter, by [`SsTable`] (`table_reader.rs`), and read
//! from its first line by [`Entries`] (`entries.rs`).
//!
//! Shortcuts, and what they cost:
//! - plain text instead of a binary format: anyone can read a table with
//!   `cat`, but it is bigger and slower to parse; its checksum lives beside
//!   it, in the manifest (see `checksum.rs`), and is checked at open.
//!
//! ## The format
//!
//! ```text
//! file  := line*                   keys strictly ascending, no duplicates
//! ```
//!
//! Each line is one key and its entry, `key→value`, or `key→†` for a
//! tombstone, with the key and the value escaped; the line grammar and the
//! escaping table are in `line.rs`. Keys compare as strings of bytes
//! (UTF-8), the order of Rust's `str`. Nothing else is in the file: no
//! header, no footer, no blank lines.
//!
//! The reader stops with an error naming the file and the line when a line
//! is not UTF-8, breaks the line format (the reason is the one `line.rs`
//! gives), does not end in a newline (the last line of a cut-short file),
//! or has a key that is not greater than the key of the line before it.
//!
//! A lookup checks, in the one block it reads, that the block starts with
//! the key that the index promised (see `index.rs`), and that each line it
//! comes to ends in a newline and has a key, `key→`, that is UTF-8. It
//! compares keys as the lines hold them, escaped (see `line.rs`), and reads
//! only the line it returns whole, checking it as the reader does but for
//! the order of keys.
//!
//! Example: putting `kenya:capital`, `rwanda:capital`, `tanzania:capital`,
//! `uganda:capital`, and the key `a→b` with a value of two lines, `line one`
//! and `line two`, then deleting `tanzania:capital`, writes:
//!
//! ```text
//! a\→b→line one\nline two
//! kenya:capital→Nairobi
//! rwanda:capital→Kigali
//! tanzania:capital→†
//! uganda:capital→Kampala
//! ```
//!
//! Invariants:
//! - every key and value round-trips through a table (see `line.rs`);
//! - a table file is either absent or whole: it is written under a temporary
//!   name, synced, and only then renamed to its final name (the rules of
//!   `files.rs`), whether a flush or a merge writes it; a writer that stops
//!   before [`TableWriter::finish`] leaves only the temporary file;
//! - a table's index and filter are written after the table, so a crash
//!   leaves at worst a table without them, which [`SsTable::open`] rebuilds
//!   by reading the table through (and so checking that its lines are
//!   sorted and well-formed);
//! - the filter holds every key of its table: it never turns away a lookup
//!   of a key the table has.
//!
//! Read alongside chapter 3 of the book, "SSTables"; the table writer, with
//! chapter 5, "Compaction"; the index, with chapter 6, "A sparse index"; the
//! filter, with chapter 7, "Bloom filters and a write-ahead log".

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::bloom::{self, BloomFilter};
use crate::checksum::Summer;
use crate::files::{self, directory_of, sync_directory, temporary_path};
use crate::index::{self, Index};
use crate::line::encode_line;
use crate::memtable::Entry;
use crate::sidecar;
use crate::{Error, Result};

/// The sequential reader of a table, in `entries.rs`.
pub use crate::entries::Entries;
/// A table on disk, open for lookups, in `table_reader.rs`.
pub use crate::table_reader::SsTable;

/// Writes `entries`, which must be in ascending key order, as a new table at
/// `path`, whole or not at all (see [`TableWriter`]).
pub fn write<'a>(
    path: &Path,
    entries: impl Iterator<Item = (&'a str, &'a Entry)>,
) -> Result<SsTable> {
    let mut writer = TableWriter::create(path)?;
    for (key, entry) in entries {
        writer.push(key, entry)?;
    }
    writer.finish()
}

/// A table being written, one entry at a time, so that a merge can write a
/// table far bigger than memory. The lines go to `path` + `.tmp`; only
/// [`TableWriter::finish`] makes the table appear at `path`, whole, with its
/// index beside it. A writer dropped before `finish` leaves a `.tmp` file,
/// which the store removes at its next start.
pub struct TableWriter {
    path: PathBuf,
    temporary: PathBuf,
    writer: BufWriter<File>,
    /// The bytes written so far, summed for the manifest.
    summer: Summer,
    /// Bytes written so far: where the next line starts.
    offset: u64,
    /// Lines written so far.
    lines: usize,
    /// The sparse index, built as the lines go by.
    index: Index,
    /// The hash of every key, for the bloom filter written at the end.
    key_hashes: Vec<u64>,
}

impl TableWriter {
    /// Starts a table that will appear at `path`.
    pub fn create(path: &Path) -> Result<TableWriter> {
        let temporary = temporary_path(path);
        let file = File::create(&temporary).map_err(|source| Error::Io {
            action: "create",
            path: temporary.clone(),
            source,
        })?;
        Ok(TableWriter {
            path: path.to_path_buf(),
            temporary,
            writer: BufWriter::new(file),
            summer: Summer::default(),
            offset: 0,
            lines: 0,
            index: Index::new(),
            key_hashes: Vec::new(),
        })
    }

    /// Appends one entry. Keys must come in strictly ascending order.
    pub fn push(&mut self, key: &str, entry: &Entry) -> Result<()> {
        let line = encode_line(key, entry);
        self.summer.add(line.as_bytes());
        self.index.note_line(key, self.offset, self.lines + 1);
        self.key_hashes.push(bloom::hash(key));
        self.writer
            .write_all(line.as_bytes())
            .map_err(|source| self.io_error("write", source))?;
        self.offset += line.len() as u64;
        self.lines += 1;
        Ok(())
    }

    /// Syncs the lines to disk, renames the file to its final name, writes
    /// its index beside it and syncs the directory, so that the renames
    /// themselves survive a crash.
    pub fn finish(self) -> Result<SsTable> {
        let TableWriter {
            path,
            temporary,
            writer,
            summer,
            offset,
            mut index,
            key_hashes,
            ..
        } = self;
        let io_error = |action, source| Error::Io {
            action,
            path: temporary.clone(),
            source,
        };
        let file = writer
            .into_inner()
            .map_err(|error| io_error("write", error.into_error()))?;
        file.sync_all().map_err(|source| io_error("sync", source))?;
        fs::rename(&temporary, &path).map_err(|source| io_error("rename", source))?;
        // The index and the filter after their table: a crash in between
        // leaves a table that no manifest names yet, which the next start
        // removes (sidecars missing for another reason are rebuilt when
        // their table opens).
        index.finish(offset);
        index::write(&path, &index)?;
        let filter = BloomFilter::from_hashes(&key_hashes);
        sidecar::write(&path, files::FILTER_EXTENSION, offset, &filter.encode())?;
        sync_directory(directory_of(&path))?;
        SsTable::with_sidecars(&path, index, filter, summer.finish())
    }

    fn io_error(&self, action: &'static str, source: std::io::Error) -> Error {
        Error::Io {
            action,
            path: self.temporary.clone(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> Entry {
        Entry::Value(text.to_string())
    }

    // needs: exercise 7.1
    #[test]
    fn written_table_is_the_sorted_text() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.sst");
        let entries = [
            ("kenya:capital", value("Nairobi")),
            ("rwanda:capital", value("Kigali")),
            ("tanzania:capital", Entry::Tombstone),
            ("uganda:capital", value("Kampala")),
        ];
        write(&path, entries.iter().map(|(key, entry)| (*key, entry))).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let expected = "kenya:capital→Nairobi\nrwanda:capital→Kigali\ntanzania:capital→†\nuganda:capital→Kampala\n";
        assert_eq!(text, expected);
        assert!(
            !temporary_path(&path).exists(),
            "the temporary file was renamed"
        );
    }

    // needs: exercise 7.1
    #[test]
    fn write_replaces_a_leftover_temporary_file() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("000001.sst");
        fs::write(temporary_path(&path), "half a li").unwrap();
        write(&path, [("k", &value("v"))].into_iter()).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "k→v\n");
        let mut names: Vec<_> = fs::read_dir(directory.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["000001.bloom", "000001.idx", "000001.sst"]);
    }

    #[test]
    fn write_into_a_missing_directory_names_the_file() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("missing").join("000001.sst");
        let error = write(&path, std::iter::empty()).unwrap_err().to_string();
        assert!(error.starts_with("cannot create "), "{error}");
        assert!(error.contains("missing/000001.sst.tmp: "), "{error}");
    }
}
