//! The storage layer: a memtable in front of SSTables on disk.
//!
//! The idea: writes go to the `Memtable`; when it holds `memtable_bytes`
//! or more, it is written to a new SSTable in the working directory and a
//! fresh memtable takes its place. A read asks the memtable first, then the
//! tables from newest to oldest, and the first one that knows the key
//! answers, with a value or a tombstone. At start, the store opens every
//! table in the directory, so what was flushed survives a restart.
//!
//! Shortcuts, and what they cost:
//! - the flush runs inside the `set` or `delete` that filled the memtable,
//!   holding the write lock, so that one request waits for the disk and so
//!   does every other (chapter 4 moves it to a background thread);
//! - what is in the memtable when the process dies without a graceful stop is
//!   lost (chapter 7 adds a write-ahead log);
//! - tables are never merged, and `scan` reads every table whole
//!   (chapter 5 compacts);
//! - `clear` removes the tables one by one, oldest first: a crash in the
//!   middle leaves some keys with their latest value, but never brings back
//!   a value that was overwritten or deleted.
//!
//! The memtable and the list of tables are one `State` behind a
//! read-write lock; `state.rs` holds it and the rules for changing it. A
//! read takes the lock only for what is in memory: it asks the memtable and
//! takes a snapshot of the tables, then reads their files with the lock
//! released.
//!
//! Invariants:
//! - a `get` sees the latest `set`, `delete` or `clear` that has returned;
//! - newer beats older: the memtable beats every table, a newer table beats
//!   an older one, and a tombstone hides every older value of its key;
//! - `tables` is ordered oldest first, and table numbers only grow;
//! - after [`Store::flush`] returns, everything written before it is in a
//!   table on disk, and reopening the directory reads the same data.
//!
//! Read alongside chapter 3 of the book, "SSTables".

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use crate::files;
use crate::memtable::Entry;
use crate::sstable::{self, SsTable};
use crate::state::State;
use crate::{Error, Options, Result};

/// The storage interface from Part 1 of the series, plus `clear`.
///
/// Every step of little-kv implements this trait with the same signatures, so
/// that the same HTTP layer and the same tests drive all of them. The methods
/// return `Result`: they touch the disk, and disks fail.
pub trait Storage {
    /// Inserts `key` with `value`, replacing any value the key had.
    fn set(&self, key: &str, value: &str) -> Result<()>;

    /// Returns the value of `key`, or `None` when the store does not hold it.
    fn get(&self, key: &str) -> Result<Option<String>>;

    /// Removes `key`. Removing a key that is not there is not an error.
    fn delete(&self, key: &str) -> Result<()>;

    /// Removes every key.
    fn clear(&self) -> Result<()>;
}

/// A key-value store: a `Memtable` in front of SSTables in a directory.
#[derive(Debug)]
pub struct Store {
    /// The working directory, which holds the tables.
    directory: PathBuf,
    /// The memtable is flushed when it holds this many bytes or more.
    memtable_bytes: usize,
    state: RwLock<State>,
    /// The data directory's lock (see `files::lock_directory`), held for as
    /// long as the store is open: one server per directory. Never read: its
    /// job is to exist until the store is dropped.
    _directory_lock: File,
}

/// The message of the panic that follows a poisoned lock. A lock is poisoned
/// only when a thread panicked while holding it, which is a bug in this
/// crate: the state may be half-changed, so we stop instead of serving it.
const POISONED: &str = "store lock poisoned: a thread panicked while holding it";

impl Store {
    // ANCHOR: open
    /// Opens the store in `directory`, creating the directory if needed, and
    /// loads every table in it. Leftovers of a flush that a crash interrupted
    /// (`*.sst.tmp` files) are removed: they were never part of the store.
    pub fn open(directory: &Path, options: Options) -> Result<Store> {
        // One server per directory: the lock is taken before anything in the
        // directory is read, replayed or removed.
        files::create_directory(directory)?;
        let _directory_lock = files::lock_directory(directory)?;
        let mut numbered = Vec::new();
        let mut removed = false;
        for path in list_directory(directory)? {
            if files::is_temporary(&path) {
                tracing::info!("removing {}, left by an interrupted flush", path.display());
                fs::remove_file(&path).map_err(|source| Error::Io {
                    action: "remove",
                    path,
                    source,
                })?;
                removed = true;
            } else if files::is_table(&path) {
                numbered.push((files::file_number(&path)?, path));
            }
        }
        // The next flush writes the same temporary name again. Were the
        // removal still undone by a power cut when that flush renames its
        // file into place, the rename could move the old, half-written file
        // instead (the power-loss check found this image).
        if removed {
            files::sync_directory(directory)?;
        }
        numbered.sort();
        let mut tables = Vec::new();
        for (_, path) in &numbered {
            let (table, entries) = SsTable::open(path)?;
            tracing::info!("loaded {} ({entries} entries)", path.display());
            tables.push(table);
        }
        let next_table_number = numbered.last().map_or(1, |(number, _)| number + 1);
        Ok(Store {
            directory: directory.to_path_buf(),
            memtable_bytes: options.memtable_bytes,
            state: RwLock::new(State::new(tables, next_table_number)),
            _directory_lock,
        })
    }
    // ANCHOR_END: open

    /// How many bytes of keys and values the memtable holds (see
    /// `memtable::entry_bytes`).
    pub fn memtable_bytes(&self) -> usize {
        self.state
            .read()
            .expect(POISONED)
            .memtable()
            .approximate_bytes()
    }

    /// Writes the memtable to a new table, if it holds anything. After this
    /// returns, everything written before it survives a restart.
    pub fn flush(&self) -> Result<()> {
        let mut state = self.state.write().expect(POISONED);
        self.flush_locked(&mut state)
    }

    // ANCHOR: flush
    /// Writes the memtable to the next table and starts a fresh memtable.
    /// The caller holds the write lock, so no read sees the data in neither
    /// place, and no write lands in a memtable that is being written out.
    fn flush_locked(&self, state: &mut State) -> Result<()> {
        let entries = state.memtable().iter().count();
        if entries == 0 {
            return Ok(());
        }
        let path = files::table_path(&self.directory, state.next_table_number());
        sstable::write(&path, state.memtable().iter())?;
        tracing::info!("flushed {entries} entries to {}", path.display());
        state.install_flushed(SsTable::written(&path)?);
        Ok(())
    }
    // ANCHOR_END: flush

    /// Flushes the memtable if it has reached its size limit.
    fn flush_if_full(&self, state: &mut State) -> Result<()> {
        if state.memtable().approximate_bytes() >= self.memtable_bytes {
            self.flush_locked(state)?;
        }
        Ok(())
    }

    /// Returns every live key and its value, in ascending key order.
    pub fn scan(&self) -> Result<Vec<(String, String)>> {
        // Newer entries overwrite older ones in `latest`, so replay the
        // tables oldest first and the memtable last. (This holds the whole
        // store in memory; chapter 5's merge streams instead.) The memtable
        // is copied under the lock, the tables are read without it.
        let (tables, in_memory) = {
            let state = self.state.read().expect(POISONED);
            let in_memory: Vec<(String, Entry)> = state
                .memtable()
                .iter()
                .map(|(key, entry)| (key.to_string(), entry.clone()))
                .collect();
            (state.tables(), in_memory)
        };
        let mut latest = BTreeMap::new();
        for table in tables.iter() {
            for entry in table.entries()? {
                let (key, entry) = entry?;
                latest.insert(key, entry);
            }
        }
        latest.extend(in_memory);
        let live = latest
            .into_iter()
            .filter_map(|(key, entry)| Some((key, live_value(entry)?)));
        Ok(live.collect())
    }
}

impl Storage for Store {
    fn set(&self, key: &str, value: &str) -> Result<()> {
        let mut state = self.state.write().expect(POISONED);
        state.put(key, value);
        self.flush_if_full(&mut state)
    }

    fn get(&self, key: &str) -> Result<Option<String>> {
        // ANCHOR: exercise_3_4
        // Exercise 3.4: ask the memtable, then the tables newest first; the first entry found answers
        let tables = {
            let state = self.state.read().expect(POISONED);
            if let Some(entry) = state.memtable().get(key) {
                return Ok(live_value(entry.clone()));
            }
            state.tables()
        };
        // The lock is released: the snapshot does not change, and the
        // tables are read without making writers wait for the disk.
        for table in tables.iter().rev() {
            if let Some(entry) = table.get(key)? {
                return Ok(live_value(entry));
            }
        }
        Ok(None)
        // ANCHOR_END: exercise_3_4
    }

    fn delete(&self, key: &str) -> Result<()> {
        let mut state = self.state.write().expect(POISONED);
        state.delete(key);
        self.flush_if_full(&mut state)
    }

    fn clear(&self) -> Result<()> {
        let mut state = self.state.write().expect(POISONED);
        // Oldest first, each removal durable before the next: if we crash
        // half-way, the tables left are the newest ones, and they cannot
        // bring back a value that was overwritten or deleted, because what
        // overwrote or deleted it is newer still. (Without the sync after
        // each removal, a power cut could keep an older table's removal
        // undone while a newer one's is done: the power-loss check finds
        // that.)
        while let Some(table) = state.oldest_table() {
            fs::remove_file(table.path()).map_err(|source| Error::Io {
                action: "remove",
                path: table.path().to_path_buf(),
                source,
            })?;
            files::sync_directory(&self.directory)?;
            state.forget_oldest_table();
        }
        state.clear_memtable();
        Ok(())
    }
}

/// The value a reader sees for `entry`: none for a tombstone.
fn live_value(entry: Entry) -> Option<String> {
    match entry {
        Entry::Value(value) => Some(value),
        Entry::Tombstone => None,
    }
}

/// Lists the paths of the entries of `directory`, sorted by name.
fn list_directory(directory: &Path) -> Result<Vec<PathBuf>> {
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

    /// A threshold no test reaches, so that only `flush` writes tables.
    const NEVER: usize = usize::MAX;

    /// The options these tests open a store with: a memtable of
    /// `memtable_bytes`, the one knob of this step.
    fn test_options(memtable_bytes: usize) -> Options {
        Options { memtable_bytes }
    }

    /// The table files in `directory` (the lock and others left out).
    fn table_files(directory: &Path) -> Vec<String> {
        let names = list_directory(directory).unwrap().into_iter();
        let names = names.map(|path| path.file_name().unwrap().to_string_lossy().into_owned());
        names.filter(|name| name != files::LOCK_FILE_NAME).collect()
    }

    #[test]
    fn opening_an_empty_directory_gives_an_empty_store() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(&directory.path().join("new"), test_options(NEVER)).unwrap();
        assert_eq!(store.memtable_bytes(), 0);
        assert!(directory.path().join("new").is_dir());
    }

    #[test]
    fn exercise_3_4_get_reads_the_memtable_first() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        assert_eq!(store.get("kenya:capital").unwrap(), None);
        store.set("kenya:capital", "Nairobi").unwrap();
        assert_eq!(
            store.get("kenya:capital").unwrap().as_deref(),
            Some("Nairobi")
        );
    }

    #[test]
    fn exercise_3_4_newer_tables_hide_older_ones() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        assert_eq!(store.get("tanzania:capital").unwrap(), None);
        store.set("tanzania:capital", "Dar es Salaam").unwrap();
        store.set("kenya:capital", "Nairobi").unwrap();
        store.flush().unwrap();
        store.set("tanzania:capital", "Dodoma").unwrap();
        store.flush().unwrap();
        assert_eq!(
            store.get("tanzania:capital").unwrap().as_deref(),
            Some("Dodoma")
        );
        assert_eq!(
            store.get("kenya:capital").unwrap().as_deref(),
            Some("Nairobi")
        );
        store.delete("tanzania:capital").unwrap();
        assert_eq!(
            store.get("tanzania:capital").unwrap(),
            None,
            "the memtable's tombstone"
        );
        store.flush().unwrap();
        assert_eq!(
            store.get("tanzania:capital").unwrap(),
            None,
            "the newest table's tombstone"
        );
        assert_eq!(
            table_files(directory.path()),
            ["000001.sst", "000002.sst", "000003.sst"]
        );
    }

    #[test]
    fn exercise_3_4_data_survives_reopening() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        assert_eq!(store.get("uganda:capital").unwrap(), None);
        store.set("uganda:capital", "Kampala").unwrap();
        store.set("rwanda:capital", "Kigali").unwrap();
        store.delete("rwanda:capital").unwrap();
        store.flush().unwrap();
        drop(store);
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        assert_eq!(
            store.get("uganda:capital").unwrap().as_deref(),
            Some("Kampala")
        );
        assert_eq!(store.get("rwanda:capital").unwrap(), None);
        store.set("burundi:capital", "Gitega").unwrap();
        store.flush().unwrap();
        assert_eq!(table_files(directory.path()), ["000001.sst", "000002.sst"]);
    }

    #[test]
    fn exercise_3_3_a_full_memtable_is_flushed_by_the_write_that_filled_it() {
        let directory = tempfile::tempdir().unwrap();
        // "kenya:capital" + "Nairobi" is 20 bytes: the second put passes 30.
        let store = Store::open(directory.path(), test_options(30)).unwrap();
        store.set("kenya:capital", "Nairobi").unwrap();
        assert_eq!(table_files(directory.path()), Vec::<String>::new());
        store.set("uganda:capital", "Kampala").unwrap();
        assert_eq!(table_files(directory.path()), ["000001.sst"]);
        assert_eq!(store.memtable_bytes(), 0);
    }

    #[test]
    fn clear_removes_every_table() {
        let directory = tempfile::tempdir().unwrap();
        // Empty tables: this test is about files, not about their lines.
        fs::write(directory.path().join("000001.sst"), "").unwrap();
        fs::write(directory.path().join("000002.sst"), "").unwrap();
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        store.clear().unwrap();
        assert_eq!(table_files(directory.path()), Vec::<String>::new());
        // Numbers are not reused, so no stale name can be mistaken for new.
        assert_eq!(store.state.read().unwrap().next_table_number(), 3);
    }

    #[test]
    fn leftover_temporary_files_are_removed_at_open() {
        let directory = tempfile::tempdir().unwrap();
        fs::write(directory.path().join("000001.sst.tmp"), "half a li").unwrap();
        Store::open(directory.path(), test_options(NEVER)).unwrap();
        assert_eq!(table_files(directory.path()), Vec::<String>::new());
    }

    #[test]
    fn a_table_with_a_bad_name_stops_the_store() {
        let directory = tempfile::tempdir().unwrap();
        fs::write(directory.path().join("old.sst"), "").unwrap();
        let error = Store::open(directory.path(), test_options(NEVER)).unwrap_err();
        assert!(
            matches!(&error, Error::UnexpectedFile { path } if path.ends_with("old.sst")),
            "{error}"
        );
    }
}
