//! Sidecars: the files beside a table that can be rebuilt from it, its
//! index (`NNNNNN.idx`) and its bloom filter (`NNNNNN.bloom`), and how they
//! are loaded and rebuilt.
//!
//! The idea: a sidecar only saves reading its table through, so a sidecar
//! that is missing, not text, or breaks its format is not an error. It is
//! logged, and the caller rebuilds both with [`rebuild`], which reads the
//! table through once (`sstable.rs` calls it when it opens a table); only a
//! failure to read a sidecar that is there stops the store. Each format is
//! parsed by its own file (`index.rs`, `bloom.rs`); [`load`] reads the text
//! and hands it to that parser, so the format files need nothing from
//! `sstable.rs`.
//!
//! Shortcuts, and what they cost:
//! - a sidecar is read whole into memory before it is parsed: they are
//!   small (a line per 4 KiB of table, or about 1.2 bytes per key).
//!
//! Invariants:
//! - a sidecar is used only when its parser accepts all of it; otherwise
//!   [`load`] answers `None`, with a log line naming the file (and the line
//!   that broke its format), and the caller rebuilds it.
//!
//! Read alongside chapter 6 of the book, "A sparse index", and chapter 7,
//! "Bloom filters and a write-ahead log".

use std::fs;
use std::path::Path;

use crate::bloom::{self, BloomFilter};
use crate::entries::Entries;
use crate::index::Index;
use crate::{Error, Result};

/// Reads the file with `extension` beside the table at `path` and parses it.
/// `None`, with a log line, when it is missing, not text, or breaks its
/// format (the error of `parse` is a line number and a reason): the caller
/// then rebuilds it from the table.
pub fn load<T>(
    path: &Path,
    extension: &str,
    parse: impl FnOnce(&str) -> std::result::Result<T, (usize, String)>,
) -> Result<Option<T>> {
    let beside = path.with_extension(extension);
    let text = match fs::read_to_string(&beside) {
        Ok(text) => text,
        Err(error)
            if matches!(
                error.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::InvalidData
            ) =>
        {
            tracing::warn!(
                "{} is missing or not text: rebuilding it from {}",
                beside.display(),
                path.display()
            );
            return Ok(None);
        }
        Err(source) => {
            return Err(Error::Io {
                action: "read",
                path: beside,
                source,
            });
        }
    };
    match parse(&text) {
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

/// Builds the index and the bloom filter of the table at `path` from its
/// `entries`, read through from the first line, which also checks every
/// line; logs that it did.
pub fn rebuild(path: &Path, mut entries: Entries) -> Result<(Index, BloomFilter)> {
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
