//! Sidecars: the files beside a table that can be rebuilt from it, its
//! index (`NNNNNN.idx`) and its bloom filter (`NNNNNN.bloom`), and how one
//! is loaded.
//!
//! The idea: a sidecar only saves reading its table through, so a sidecar
//! that is missing, not text, or breaks its format is not an error. It is
//! logged, and the caller rebuilds it from the table (`sstable.rs`); only a
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
