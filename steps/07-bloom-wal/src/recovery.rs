//! Recovery at open: the data directory brought back to exactly the
//! manifest's tables before the store serves.
//!
//! The idea: a flush or a merge changes the directory in several steps (write
//! a table under a temporary name, rename it, write a manifest that names it,
//! remove the tables it replaced), and a crash can stop it between any two.
//! The manifest is the one that decides: a table it names is live, whatever
//! else is in the directory. So at open, [`recover`] lists the directory,
//! reads and checks the manifest, opens and checks the tables it names, and
//! checks the write-ahead logs and replays them into a memtable (see
//! `log_chain.rs`), and only then removes what an interrupted write left,
//! the tables the manifest does not name, and their sidecars (`.idx` and
//! `.bloom` files). A live table, once its bytes have passed their check,
//! is opened with its index and filter, and parsed line by line only to
//! rebuild a missing or damaged one. What the logs held becomes one new
//! table; a new log is started, a manifest naming both is written, and
//! only then are the old logs removed (`recover_logs`). A directory of step
//! 03 or 04 has no manifest yet: its table numbers give the order.
//!
//! Shortcuts, and what they cost:
//! - a `.sst` file whose name is not a number stops the store instead of
//!   being guessed at: someone has to look at it.
//!
//! Invariants:
//! - after a crash at any point of a flush or a merge, the directory holds
//!   exactly the manifest's tables once [`recover`] returns, and reopening
//!   reads the same data;
//! - a `.tmp` file is a write that did not finish, and is removed;
//! - a table the manifest does not name is a leftover of an interrupted
//!   flush or merge, and is removed, but only on the word of a manifest
//!   that passed its check, once every table it names has passed its own:
//!   a start that is refused removes nothing;
//! - every `.idx` and `.bloom` file left belongs to a table the manifest
//!   names, and every table returned has its index and filter in memory;
//! - logs are replayed oldest first, so a newer record beats an older one,
//!   and a `clear` record voids every table older than it;
//! - a torn last batch of the newest log holds writes that were never
//!   acknowledged, and is dropped; damage anywhere else stops the store with
//!   the log's path and line (see `replay.rs`);
//! - a missing or cut log stops the store too, and removes nothing (see
//!   `log_chain.rs`);
//! - when [`recover`] returns, every acknowledged write is in a table the
//!   manifest lists, the only log is the new one the manifest names, and
//!   its number is above every log there was;
//! - the next table number is above every table number in the directory,
//!   so no new table takes the name of an old one.
//!
//! Read alongside chapter 7 of the book, "Bloom filters and a write-ahead
//! log"; the manifest and the leftovers of a merge, with chapter 5,
//! "Compaction".

use std::fs;
use std::path::{Path, PathBuf};

use crate::checksum::Checksum;
use crate::files;
use crate::log_chain;
use crate::manifest::{self, LiveTable};
use crate::memtable::Memtable;
use crate::sstable::{self, SsTable};
use crate::wal::Wal;
use crate::{Error, Result};

/// What the store starts with once its directory is recovered.
#[derive(Debug)]
pub(crate) struct Recovered {
    /// The tables, oldest first, as the manifest lists them.
    pub(crate) tables: Vec<SsTable>,
    /// The number the next table file gets.
    pub(crate) next_table_number: u64,
    /// The log the store writes to first: new, empty, and the one the
    /// manifest names as the oldest still needed.
    pub(crate) wal: Wal,
    /// Its number: above every log there was.
    pub(crate) log_number: u64,
}

/// Recovers `directory`, which the caller has created and locked: checks
/// the manifest, its tables and the logs, then removes what an interrupted
/// flush or merge left, replays the logs into a new table, and starts a
/// new log made `log_bytes` long.
pub(crate) fn recover(directory: &Path, log_bytes: u64) -> Result<Recovered> {
    let mut temporary = Vec::new();
    let mut numbered = Vec::new();
    let mut logs = Vec::new();
    for path in list_directory(directory)? {
        if files::is_temporary(&path) {
            temporary.push(path);
        } else if files::is_table(&path) {
            numbered.push((files::file_number(&path)?, path));
        } else if files::is_log(&path) {
            logs.push((files::file_number(&path)?, path));
        }
    }
    numbered.sort();
    logs.sort();
    let mut next_table_number = numbered.last().map_or(1, |(number, _)| number + 1);
    let (live, oldest_log) = match manifest::read(directory)? {
        Some(manifest) => (manifest.tables, manifest.oldest_log),
        None => {
            // A directory from step 03 or 04: the numbers give the order,
            // and the tables are summed as they are, for lack of anything
            // to check them against.
            let mut live = Vec::new();
            for (_, path) in &numbered {
                let checksum = Checksum::of_path(path)?;
                live.push(LiveTable {
                    name: manifest::file_name(path),
                    checksum,
                });
            }
            (live, None)
        }
    };
    // Every live table and every log is checked before anything is
    // removed: a start that stops on damage leaves the directory as it
    // found it.
    let mut tables = Vec::new();
    for table in &live {
        let table = SsTable::open(&directory.join(&table.name), table.checksum)?;
        let blocks = table.index().blocks().len();
        tracing::info!("loaded {} ({blocks} blocks)", table.path().display());
        tables.push(table);
    }
    let manifest_path = directory.join(manifest::FILE_NAME);
    // The log line comes right after the table lines.
    let named = oldest_log.map(|number| (number, manifest_path.as_path(), live.len() + 1));
    let mut memtable = Memtable::new();
    let chain = log_chain::replay(&logs, named, &mut memtable)?;
    // A process killed halfway may have left changes that are only in the
    // page cache: a manifest renamed into place whose directory was not
    // synced yet, say. Make them durable before acting on them (removing
    // the tables that manifest no longer names): a power cut must not undo
    // the manifest and keep the removals. (The power-loss check caught this
    // once, when its kill landed in that window.) The same sync makes the
    // removals of temporary files durable before a flush writes one of
    // those names again and renames it into place.
    for path in temporary {
        tracing::info!("removing {}, left by an interrupted write", path.display());
        remove(&path)?;
    }
    files::sync_directory(directory)?;
    let is_live = |path: &Path| {
        live.iter()
            .any(|table| table.name == manifest::file_name(path))
    };
    for (_, path) in &numbered {
        if !is_live(path) {
            tracing::info!(
                "removing {}, left by an interrupted compaction",
                path.display()
            );
            remove(path)?;
        }
    }
    for path in list_directory(directory)? {
        if files::is_sidecar(&path) && !is_live(&path.with_extension(files::TABLE_EXTENSION)) {
            tracing::info!(
                "removing {}, a sidecar of a table that is gone",
                path.display()
            );
            remove(&path)?;
        }
    }
    // A `clear` among the records voids every table: they are older.
    let voided = if chain.cleared {
        std::mem::take(&mut tables)
    } else {
        Vec::new()
    };
    if memtable.iter().next().is_some() {
        let path = files::table_path(directory, next_table_number);
        tables.push(sstable::write(&path, memtable.iter())?);
        next_table_number += 1;
    }
    // The new log exists before the manifest names it, and once the
    // manifest names it, the logs replayed are older than the oldest log
    // needed: a crash from here on never replays them again.
    let log_number = chain.highest + 1;
    let wal = Wal::create(&files::log_path(directory, log_number), log_bytes)?;
    let live: Vec<LiveTable> = tables.iter().map(LiveTable::of).collect();
    manifest::write(directory, &live, log_number)?;
    for table in voided {
        table.remove_files()?;
    }
    for path in &chain.done {
        remove(path)?;
    }
    Ok(Recovered {
        tables,
        next_table_number,
        wal,
        log_number,
    })
}

/// Removes the file at `path`.
fn remove(path: &Path) -> Result<()> {
    fs::remove_file(path).map_err(|source| Error::Io {
        action: "remove",
        path: path.to_path_buf(),
        source,
    })
}

/// Lists the paths of the entries of `directory`, sorted by name.
pub(crate) fn list_directory(directory: &Path) -> Result<Vec<PathBuf>> {
    let io_error = |source| Error::Io {
        action: "list",
        path: directory.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    for entry in fs::read_dir(directory).map_err(io_error)? {
        paths.push(entry.map_err(io_error)?.path());
    }
    paths.sort();
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How long the tests' logs are made.
    const LOG_BYTES: u64 = 4096;

    /// The file names in `directory`, sorted.
    fn file_names(directory: &Path) -> Vec<String> {
        let paths = list_directory(directory).unwrap();
        paths.iter().map(|path| manifest::file_name(path)).collect()
    }

    #[test]
    fn leftover_temporary_files_are_removed_at_open() {
        let directory = tempfile::tempdir().unwrap();
        fs::write(directory.path().join("000001.sst.tmp"), "half a li").unwrap();
        let recovered = recover(directory.path(), LOG_BYTES).unwrap();
        assert!(recovered.tables.is_empty());
        assert_eq!(
            file_names(directory.path()),
            ["000001.wal", manifest::FILE_NAME]
        );
    }

    #[ignore = "needs exercise 7.1 (book chapter 7): `cargo xtask check 07` runs it"]
    #[test]
    fn a_table_the_manifest_does_not_name_is_removed() {
        let directory = tempfile::tempdir().unwrap();
        fs::write(directory.path().join("000001.sst"), "a→1\n").unwrap();
        fs::write(directory.path().join("000002.sst"), "a→2\n").unwrap();
        manifest::write(directory.path(), &[live(directory.path(), "000002.sst")], 1).unwrap();
        Wal::create(&files::log_path(directory.path(), 1), 0).unwrap();
        let recovered = recover(directory.path(), LOG_BYTES).unwrap();
        assert_eq!(recovered.tables.len(), 1);
        // Numbers are not reused, so no stale name can be mistaken for new.
        assert_eq!(recovered.next_table_number, 3);
        assert!(!directory.path().join("000001.sst").exists());
        assert!(directory.path().join("000002.sst").exists());
    }

    #[test]
    fn the_index_of_a_table_that_is_gone_is_removed() {
        let directory = tempfile::tempdir().unwrap();
        fs::write(directory.path().join("000001.idx"), "").unwrap();
        recover(directory.path(), LOG_BYTES).unwrap();
        assert_eq!(
            file_names(directory.path()),
            ["000001.wal", manifest::FILE_NAME]
        );
    }

    /// How the manifest would name the table `name` in `directory` as it is.
    fn live(directory: &Path, name: &str) -> LiveTable {
        LiveTable {
            name: name.into(),
            checksum: Checksum::of_path(&directory.join(name)).unwrap(),
        }
    }

    #[test]
    fn a_damaged_manifest_stops_the_store_and_nothing_is_removed() {
        let directory = tempfile::tempdir().unwrap();
        fs::write(directory.path().join("000001.sst"), "a→1\n").unwrap();
        fs::write(directory.path().join("000002.sst"), "a→2\n").unwrap();
        fs::write(directory.path().join("000003.sst.tmp"), "a→").unwrap();
        let before = file_names(directory.path());
        // Emptied, and its last table line dropped: neither is a crash
        // state (a manifest is only ever replaced whole), so both are
        // damage, and a start must not remove the tables they leave out.
        manifest::write(
            directory.path(),
            &[
                live(directory.path(), "000001.sst"),
                live(directory.path(), "000002.sst"),
            ],
            1,
        )
        .unwrap();
        let whole = fs::read_to_string(directory.path().join(manifest::FILE_NAME)).unwrap();
        let lines: Vec<&str> = whole.lines().collect();
        let last_line_dropped = format!("{}\n{}\n", lines[0], lines[2]);
        for damaged in [String::new(), last_line_dropped] {
            fs::write(directory.path().join(manifest::FILE_NAME), &damaged).unwrap();
            let error = recover(directory.path(), LOG_BYTES).unwrap_err();
            assert!(
                matches!(&error, Error::Corrupt { path, .. } if path.ends_with(manifest::FILE_NAME)),
                "{damaged:?}: {error}"
            );
            let mut expected = before.clone();
            expected.push(manifest::FILE_NAME.into());
            expected.sort();
            assert_eq!(file_names(directory.path()), expected, "{damaged:?}");
        }
    }

    #[test]
    fn a_damaged_table_stops_the_store_and_nothing_is_removed() {
        let directory = tempfile::tempdir().unwrap();
        fs::write(directory.path().join("000001.sst"), "a→1\nb→2\n").unwrap();
        fs::write(directory.path().join("000002.sst"), "a→2\n").unwrap();
        manifest::write(directory.path(), &[live(directory.path(), "000002.sst")], 1).unwrap();
        let before = file_names(directory.path());
        // A letter of a value changed in place, and a line lost at a line
        // boundary: both still parse, so only the checksum can tell.
        for damaged in ["a→3\n", ""] {
            fs::write(directory.path().join("000002.sst"), damaged).unwrap();
            let error = recover(directory.path(), LOG_BYTES).unwrap_err();
            assert!(
                matches!(&error, Error::Damaged { path, .. } if path.ends_with("000002.sst")),
                "{damaged:?}: {error}"
            );
            assert_eq!(file_names(directory.path()), before, "{damaged:?}");
        }
    }

    #[test]
    fn a_table_with_a_bad_name_stops_the_store() {
        let directory = tempfile::tempdir().unwrap();
        fs::write(directory.path().join("old.sst"), "").unwrap();
        let error = recover(directory.path(), LOG_BYTES).unwrap_err();
        assert!(
            matches!(&error, Error::UnexpectedFile { path } if path.ends_with("old.sst")),
            "{error}"
        );
    }

    #[test]
    fn a_log_with_a_bad_name_is_reported_as_a_log() {
        let directory = tempfile::tempdir().unwrap();
        fs::write(directory.path().join("old.wal"), "").unwrap();
        let error = recover(directory.path(), LOG_BYTES)
            .unwrap_err()
            .to_string();
        assert!(
            error.ends_with(
                "old.wal: the name of a table or a log must be digits followed by `.sst` or `.wal`"
            ),
            "{error}"
        );
    }
}
