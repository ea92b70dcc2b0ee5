//! The store's file names, and files written whole or not at all: the
//! temporary name, the directory sync, and a whole file written in one
//! call.
//!
//! This is the one place that knows how files are named: a table is its
//! number and `.sst` (`000007.sst`), its index its number and `.idx`
//! (`000007.idx`), and a file being written is its final name and `.tmp`.
//! The other modules ask here instead of formatting names themselves.
//!
//! The idea: a file's final name is the promise that the file is complete.
//! So a file is written under a temporary name (its name + `.tmp`), synced
//! to disk, and only then renamed to its final name; then its directory is
//! synced too, because syncing a file makes its bytes durable, not its name.
//! A crash at any point leaves the file whole under its final name, or not
//! there at all and at worst a `.tmp` file beside it, which the store
//! removes at its next start.
//!
//! The table writer follows these rules with the helpers here;
//! [`write_atomically`] does the write, sync and rename for a file
//! written in one piece, such as the manifest; its caller syncs the
//! directory when the rename itself must survive a crash.
//!
//! One server per directory: [`lock_directory`] locks the directory's
//! `LOCK` file for as long as a store has it open, and a second store on
//! the same directory is refused before it reads or removes anything.
//!
//! Shortcuts, and what they cost:
//! - we trust `rename` over an existing name to be atomic and a sync to
//!   reach the disk, as POSIX promises; a file system or a disk that breaks
//!   either promise can still lose a file.
//!
//! Invariants:
//! - a file is renamed to its final name only after its bytes are synced;
//! - a file created, renamed or removed is counted on only once its
//!   directory is synced;
//! - at most one open store uses a directory: its `LOCK` file is locked
//!   before anything else in the directory is read, and for as long as the
//!   store is open.
//!
//! Read alongside chapter 3 of the book, "SSTables"; the manifest's use of
//! them, with chapter 5, "Compaction".

use std::fs::{self, File, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The file extension of a table; its name is its number, e.g. `000007.sst`.
pub const TABLE_EXTENSION: &str = "sst";

/// The path of table number `number` in `directory`: `000007.sst` for 7.
/// Six digits keep the names in number order when listed by name.
pub fn table_path(directory: &Path, number: u64) -> PathBuf {
    directory.join(format!("{number:06}.{TABLE_EXTENSION}"))
}

/// Reads a file's number from its name: `000007.sst` is table 7.
/// A name that is not a number is an error: the store does not know the
/// file, and guessing could lose data.
pub fn file_number(path: &Path) -> Result<u64> {
    let stem = path
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or_default();
    let is_number = !stem.is_empty() && stem.bytes().all(|byte| byte.is_ascii_digit());
    let number = if is_number { stem.parse().ok() } else { None };
    number.ok_or_else(|| Error::UnexpectedFile {
        path: path.to_path_buf(),
    })
}

/// Whether `path` is a table, by its extension.
pub fn is_table(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension == TABLE_EXTENSION)
}

/// Whether `name` is a table's file name as a manifest line gives it:
/// digits followed by `.sst`, and nothing else (no directory).
pub fn is_table_name(name: &str) -> bool {
    name.strip_suffix(TABLE_EXTENSION)
        .and_then(|rest| rest.strip_suffix('.'))
        .is_some_and(|stem| !stem.is_empty() && stem.bytes().all(|byte| byte.is_ascii_digit()))
}

/// The file extension of a table's index, beside it: `000007.idx`.
pub const INDEX_EXTENSION: &str = "idx";

/// The path of the index of the table at `table`: `000007.idx` beside
/// `000007.sst`.
pub fn index_path(table: &Path) -> PathBuf {
    table.with_extension(INDEX_EXTENSION)
}

/// Whether `path` is a sidecar of a table (its index), by its extension.
/// Its table is the same path with the table's extension.
pub fn is_sidecar(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension == INDEX_EXTENSION)
}

/// The extension added to a file's name while it is written, e.g.
/// `000007.sst.tmp`.
pub const TEMPORARY_EXTENSION: &str = "tmp";

/// Whether `path` is a file that an interrupted write left under its
/// temporary name (see [`temporary_path`]).
pub fn is_temporary(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension == TEMPORARY_EXTENSION)
}

/// The name a file is written under until it is complete: its name + `.tmp`.
pub fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{TEMPORARY_EXTENSION}"));
    PathBuf::from(name)
}

/// Writes `text` to `path` whole or not at all: to `path` + `.tmp` first,
/// synced, then renamed over `path`. Sync the directory afterwards when the
/// rename itself must survive a crash.
pub fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let temporary = temporary_path(path);
    let io_error = |action, source| Error::Io {
        action,
        path: temporary.clone(),
        source,
    };
    let mut file = File::create(&temporary).map_err(|source| io_error("create", source))?;
    file.write_all(text.as_bytes())
        .map_err(|source| io_error("write", source))?;
    file.sync_all().map_err(|source| io_error("sync", source))?;
    fs::rename(&temporary, path).map_err(|source| io_error("rename", source))
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

/// Creates `directory` and any missing parents, and syncs the parent, so
/// that a directory just created is still there after a crash (its name
/// lives in its parent, as a file's does).
pub fn create_directory(directory: &Path) -> Result<()> {
    fs::create_dir_all(directory).map_err(|source| Error::Io {
        action: "create",
        path: directory.to_path_buf(),
        source,
    })?;
    sync_directory(directory_of(directory))
}

/// The file in a data directory whose lock says that a server owns it.
pub const LOCK_FILE_NAME: &str = "LOCK";

/// Takes the lock of `directory` (created beforehand) for this process:
/// one server per data directory. Returns the open `LOCK` file, which holds
/// the lock until it is dropped. Two servers on one directory would each
/// believe they own its files: the second one's recovery would replay and
/// remove the first one's files while the first one still writes to them.
///
/// The lock is the operating system's (`flock`), not the file's presence:
/// the kernel releases it when the process ends, however it ends (even by
/// `kill -9`), so a crash never leaves a stale lock behind. The file itself
/// stays, empty, and means nothing on its own.
pub fn lock_directory(directory: &Path) -> Result<File> {
    let path = directory.join(LOCK_FILE_NAME);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| Error::Io {
            action: "open",
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(Error::Locked {
            directory: directory.to_path_buf(),
        }),
        Err(TryLockError::Error(source)) => Err(Error::Io {
            action: "lock",
            path,
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_numbers_are_read_from_file_names() {
        assert_eq!(file_number(Path::new("/data/000007.sst")).unwrap(), 7);
        assert_eq!(
            file_number(Path::new("/data/1234567.sst")).unwrap(),
            1_234_567
        );
        assert!(file_number(Path::new("/data/7a.sst")).is_err());
        assert!(file_number(Path::new("/data/+7.sst")).is_err());
    }

    #[test]
    fn a_table_name_is_digits_and_the_table_extension_only() {
        assert!(is_table_name("000007.sst"));
        assert!(is_table_name("1234567.sst"));
        for name in [
            "",
            ".sst",
            "7a.sst",
            "000007.idx",
            "000007sst",
            "data/000007.sst",
        ] {
            assert!(!is_table_name(name), "{name:?}");
        }
    }

    #[test]
    fn a_sidecar_is_named_after_its_table() {
        let table = Path::new("/data/000007.sst");
        assert_eq!(index_path(table), Path::new("/data/000007.idx"));
        assert!(is_sidecar(&index_path(table)));
        assert!(!is_sidecar(table));
        assert!(!is_sidecar(&temporary_path(&index_path(table))));
    }

    #[test]
    fn a_locked_directory_refuses_a_second_lock_until_the_first_is_dropped() {
        let directory = tempfile::tempdir().unwrap();
        let first = lock_directory(directory.path()).unwrap();
        let error = lock_directory(directory.path()).unwrap_err();
        assert!(
            matches!(&error, Error::Locked { directory: locked } if locked == directory.path()),
            "{error}"
        );
        drop(first);
        lock_directory(directory.path()).expect("the lock is free once its holder is gone");
    }
}
