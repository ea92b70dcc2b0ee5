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
//! MANIFEST := name*        one line per live table, oldest first
//! name     := digits ".sst" "\n"
//! ```
//!
//! The order of the lines is the order of the tables: a later line is a
//! newer table. The store goes by this order, not by the numbers in the
//! names: the merges of this step always take the newest tables, so the two
//! agree, but a policy that merged older tables would give its output the
//! next, higher number while newer tables stay. The file is written to `MANIFEST.tmp`, synced, renamed to `MANIFEST`,
//! and the directory is synced.
//!
//! At start, the store loads exactly the tables the manifest names, in its
//! order, and removes every other `.sst` and `.tmp` file: they are what an
//! interrupted flush or compaction left behind. A manifest that names a file
//! that does not exist, or a line that is not a table name, stops the store
//! with the manifest's path and the line. A directory with tables but no
//! manifest (written by steps 03 and 04) is read in the order of the table
//! numbers, and a manifest is written for it.
//!
//! Example, after four flushes and a compaction of the last three:
//!
//! ```text
//! 000001.sst
//! 000005.sst
//! ```
//!
//! Invariants:
//! - the manifest on disk names only tables that are whole and synced;
//! - a table's file is removed only after a manifest that no longer names it
//!   is on disk.
//!
//! Read alongside chapter 5 of the book, "Compaction".

use std::fs;
use std::io;
use std::path::Path;

use crate::files;
use crate::{Error, Result};

/// The manifest's file name in the working directory.
pub const FILE_NAME: &str = "MANIFEST";

/// Reads the manifest in `directory`: the file names of the live tables,
/// oldest first, or `None` if there is no manifest yet.
pub fn read(directory: &Path) -> Result<Option<Vec<String>>> {
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
    let corrupt = |line: usize, reason: String| Error::Corrupt {
        path: path.clone(),
        line,
        reason,
    };
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(corrupt(
            text.lines().count(),
            "the last line has no newline: the file was cut short".into(),
        ));
    }
    let mut names = Vec::new();
    for (index, name) in text.lines().enumerate() {
        let is_table_name = name
            .strip_suffix(".sst")
            .is_some_and(|stem| !stem.is_empty() && stem.bytes().all(|byte| byte.is_ascii_digit()));
        if !is_table_name {
            return Err(corrupt(
                index + 1,
                format!("expected a table name like `000001.sst`, found {name:?}"),
            ));
        }
        if !directory.join(name).is_file() {
            return Err(corrupt(
                index + 1,
                format!("the table {name} does not exist"),
            ));
        }
        names.push(name.to_string());
    }
    Ok(Some(names))
}

/// Replaces the manifest in `directory` with one that names `tables` (file
/// names, oldest first), atomically: a crash leaves the old manifest or the
/// new one, never a mix.
pub fn write(directory: &Path, tables: &[String]) -> Result<()> {
    let text: String = tables.iter().map(|name| format!("{name}\n")).collect();
    files::write_atomically(&directory.join(FILE_NAME), &text)?;
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

    #[test]
    fn a_missing_manifest_reads_as_none() {
        let directory = tempfile::tempdir().unwrap();
        assert_eq!(read(directory.path()).unwrap(), None);
    }

    #[test]
    fn the_manifest_round_trips_in_order() {
        let directory = tempfile::tempdir().unwrap();
        fs::write(directory.path().join("000007.sst"), "").unwrap();
        fs::write(directory.path().join("000003.sst"), "").unwrap();
        write(
            directory.path(),
            &["000007.sst".into(), "000003.sst".into()],
        )
        .unwrap();
        assert_eq!(
            fs::read_to_string(directory.path().join(FILE_NAME)).unwrap(),
            "000007.sst\n000003.sst\n"
        );
        assert_eq!(
            read(directory.path()).unwrap(),
            Some(vec!["000007.sst".into(), "000003.sst".into()])
        );
        write(directory.path(), &[]).unwrap();
        assert_eq!(read(directory.path()).unwrap(), Some(vec![]));
    }

    #[test]
    fn a_damaged_manifest_names_its_line() {
        let directory = tempfile::tempdir().unwrap();
        fs::write(directory.path().join("000001.sst"), "").unwrap();
        let cases = [
            (
                "000001.sst\nnotes.txt\n",
                "MANIFEST:2: expected a table name like `000001.sst`, found \"notes.txt\"",
            ),
            (
                "000001.sst\n000002.sst\n",
                "MANIFEST:2: the table 000002.sst does not exist",
            ),
            (
                "000001.sst\n0000",
                "MANIFEST:2: the last line has no newline: the file was cut short",
            ),
        ];
        for (text, expected) in cases {
            fs::write(directory.path().join(FILE_NAME), text).unwrap();
            let error = read(directory.path()).unwrap_err().to_string();
            assert!(error.ends_with(expected), "{error}");
        }
    }
}
