//! Files written whole or not at all: the temporary name, the directory sync.
//!
//! The idea: a file's final name is the promise that the file is complete.
//! So a file is written under a temporary name (its name + `.tmp`), synced
//! to disk, and only then renamed to its final name; then its directory is
//! synced too, because syncing a file makes its bytes durable, not its name.
//! A crash at any point leaves the file whole under its final name, or not
//! there at all and at worst a `.tmp` file beside it, which the store
//! removes at its next start.
//!
//! [`sstable::write`](crate::sstable::write) follows these rules with the
//! helpers here; the store syncs the directory after it removes files.
//!
//! Shortcuts, and what they cost:
//! - we trust `rename` over an existing name to be atomic and a sync to
//!   reach the disk, as POSIX promises; a file system or a disk that breaks
//!   either promise can still lose a file.
//!
//! Invariants:
//! - a file is renamed to its final name only after its bytes are synced;
//! - a file created, renamed or removed is counted on only once its
//!   directory is synced.
//!
//! Read alongside chapter 3 of the book, "SSTables".

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The name a file is written under until it is complete: its name + `.tmp`.
pub fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// The directory that holds the file at `path`.
pub fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Syncs `directory`, so that a file created, renamed or removed in it stays
/// so after a crash. (Syncing a file makes its bytes durable, not its name.)
pub fn sync_directory(directory: &Path) -> Result<()> {
    let io_error = |source| Error::Io {
        action: "sync",
        path: directory.to_path_buf(),
        source,
    };
    File::open(directory)
        .map_err(io_error)?
        .sync_all()
        .map_err(io_error)
}
