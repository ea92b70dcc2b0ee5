//! The storage layer: memtables, SSTables with their sparse indexes, and the
//! manifest that lists the tables.
//!
//! The idea: writes go to the active `Memtable`, full memtables are frozen,
//! and the tree shaker (`shaker.rs`) writes them to SSTables in the
//! background and merges tables when there are enough (`compaction.rs`);
//! the manifest (`manifest.rs`) lists the live tables. Every table comes
//! with its sparse index (`index.rs`), held in memory, so a read asks each
//! table for one block instead of reading it from its first line, and
//! opening the store parses a table only to rebuild a missing or damaged
//! index. At open, `recovery.rs` also removes the index files of tables the
//! manifest does not list; removing a table (after a merge, or in `clear`)
//! removes its index too.
//!
//! A read asks, newest first: the active memtable, the frozen memtables from
//! the back of the queue to the front, then the tables from newest to oldest
//! (the manifest's order). The first that knows the key answers.
//!
//! Shortcuts, and what they cost:
//! - at most `max_frozen` memtables wait in the queue; past that, writers
//!   wait for the shaker, which may be busy merging;
//! - a failed flush or merge stops the shaker for good, and writes are
//!   refused until a restart;
//! - what is in memory when the process dies without a graceful stop is
//!   lost (chapter 7 adds a write-ahead log).
//!
//! The memtables and the list of tables are one `State` behind a
//! read-write lock; `state.rs` holds it and the rules for changing it. A
//! read takes the lock only for what is in memory: it asks the memtables
//! and takes a snapshot of the tables, then reads their files with the lock
//! released.
//!
//! Invariants:
//! - a `get` sees the latest `set`, `delete` or `clear` that has returned;
//! - newer beats older: the active memtable beats the frozen ones, a frozen
//!   memtable beats every table, a later frozen memtable or table beats an
//!   earlier one, and a tombstone hides every older value of its key;
//! - a table joins `tables` (and a merged table replaces its inputs) only
//!   after a manifest that names it is on disk, and in one write-locked
//!   step, so no read ever sees the data in neither place;
//! - the queue holds at most `max_frozen` memtables;
//! - after [`Store::flush`] returns, everything written before it is in a
//!   table on disk, and reopening the directory reads the same data;
//! - when [`Store::open`] returns, every table in `tables` has its index in
//!   memory, and every `.idx` file in the directory is the index of a table
//!   the manifest lists.
//!
//! Read alongside chapter 6 of the book, "A sparse index".

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;

use crate::compaction::Merge;
use crate::file_set;
use crate::files;
use crate::mailbox::Mailbox;
use crate::memtable::Entry;
use crate::recovery;
use crate::shaker;
use crate::shared::Shared;
use crate::sstable::SsTable;
use crate::state::{Change, State};
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

/// A key-value store: a memtable, a queue of frozen memtables and SSTables in
/// a directory, with the tree shaker flushing in the background.
#[derive(Debug)]
pub struct Store {
    pub(crate) shared: Arc<Shared>,
    /// The tree shaker, joined when the store is dropped.
    shaker: Option<JoinHandle<()>>,
    /// The data directory's lock (see `files::lock_directory`), held for as
    /// long as the store is open: one server per directory. Never read: its
    /// job is to exist until the store is dropped.
    _directory_lock: File,
}

impl Store {
    /// Opens the store in `directory`: recovers the directory (see
    /// `recovery.rs`: created if needed, cleaned of what an interrupted write
    /// left, the manifest's tables loaded), then starts the tree shaker.
    pub fn open(directory: &Path, options: Options) -> Result<Store> {
        // One server per directory: the lock is taken before anything in the
        // directory is read, replayed or removed.
        files::create_directory(directory)?;
        let _directory_lock = files::lock_directory(directory)?;
        let recovered = recovery::recover(directory)?;
        let state = State::new(recovered.tables, recovered.next_table_number);
        let shared = Arc::new(Shared {
            directory: directory.to_path_buf(),
            memtable_bytes: options.memtable_bytes,
            // A queue of zero would freeze nothing and stall every writer.
            max_frozen: options.max_frozen_memtables.max(1),
            compaction_threshold: options.compaction_threshold,
            state: RwLock::new(state),
            mailbox: Mailbox::new(),
        });
        let shaker = shaker::spawn(Arc::clone(&shared)).map_err(|source| Error::Start {
            what: "tree-shaker thread",
            source,
        })?;
        Ok(Store {
            shared,
            shaker: Some(shaker),
            _directory_lock,
        })
    }

    /// How many bytes of keys and values the active memtable holds (see
    /// `memtable::entry_bytes`).
    pub fn memtable_bytes(&self) -> usize {
        self.shared.read_state().memtable().approximate_bytes()
    }

    /// How many frozen memtables wait for the tree shaker.
    pub fn frozen_memtables(&self) -> usize {
        self.shared.read_state().frozen().len()
    }

    /// Freezes the active memtable, if it holds anything, and waits until
    /// the tree shaker has written every frozen memtable to a table and has
    /// finished the merges that those tables called for. After this returns,
    /// everything written before it survives a restart, and the tables on
    /// disk are the ones a restart would find.
    pub fn flush(&self) -> Result<()> {
        let mut state = self
            .shared
            .lock_when(|state| state.frozen().len() < self.shared.max_frozen)?;
        if state.memtable().iter().next().is_some() {
            self.shared.freeze(&mut state);
        }
        drop(state);
        let mailbox = &self.shared.mailbox;
        drop(
            self.shared
                .lock_when(|state| state.frozen().is_empty() && mailbox.idle())?,
        );
        Ok(())
    }

    /// Returns every live key and its value, in ascending key order.
    pub fn scan(&self) -> Result<Vec<(String, String)>> {
        // The memtables are copied under the lock, newer entries over older
        // ones. The tables are read without it, through chapter 5's merge,
        // which streams them in key order with each key's newest entry. The
        // two sorted streams are then joined; on the same key the memtables
        // win, as they are newer than every table.
        let (tables, in_memory) = {
            let state = self.shared.read_state();
            let mut in_memory = BTreeMap::new();
            for memtable in state
                .frozen()
                .iter()
                .map(|frozen| &**frozen)
                .chain([state.memtable()])
            {
                for (key, entry) in memtable.iter() {
                    in_memory.insert(key.to_string(), entry.clone());
                }
            }
            (state.tables(), in_memory)
        };
        let newest_first: Vec<&SsTable> = tables.iter().rev().collect();
        let mut in_memory = in_memory.into_iter().peekable();
        let mut live = Vec::new();
        for item in Merge::new(&newest_first)? {
            let (key, entry) = item?;
            let mut shadowed = false;
            while let Some((newer_key, newer)) =
                in_memory.next_if(|(newer_key, _)| *newer_key <= key)
            {
                shadowed = newer_key == key;
                push_live(&mut live, newer_key, newer);
            }
            if !shadowed {
                push_live(&mut live, key, entry);
            }
        }
        for (key, entry) in in_memory {
            push_live(&mut live, key, entry);
        }
        Ok(live)
    }

    /// Applies a write to the active memtable, and freezes the memtable if
    /// the write filled it. Waits first while the memtable is full and the
    /// queue has no room: that is the bound on memory.
    fn write(&self, apply: impl FnOnce(&mut State)) -> Result<()> {
        let shared = &self.shared;
        let mut state = shared.lock_when(|state| {
            !shared.is_full(state) || state.frozen().len() < shared.max_frozen
        })?;
        apply(&mut state);
        if shared.is_full(&state) && state.frozen().len() < shared.max_frozen {
            shared.freeze(&mut state);
        }
        Ok(())
    }
}

impl Storage for Store {
    fn set(&self, key: &str, value: &str) -> Result<()> {
        self.write(|state| state.put(key, value))
    }

    fn get(&self, key: &str) -> Result<Option<String>> {
        // ANCHOR: exercise_4_3
        // Exercise 4.3: ask the active memtable, the frozen ones newest first, then the tables newest first
        let tables = {
            let state = self.shared.read_state();
            if let Some(entry) = state.memtable().get(key) {
                return Ok(live_value(entry.clone()));
            }
            for frozen in state.frozen().iter().rev() {
                if let Some(entry) = frozen.get(key) {
                    return Ok(live_value(entry.clone()));
                }
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
        // ANCHOR_END: exercise_4_3
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.write(|state| state.delete(key))
    }

    fn clear(&self) -> Result<()> {
        // Wait until the shaker is idle, and keep it so: a table it wrote
        // meanwhile would otherwise be installed after the clear and bring
        // its keys back.
        let idle =
            |state: &State| state.frozen().is_empty() && !state.compacting() && !state.clearing();
        self.shared.lock_when(idle)?.begin_clear();
        // An empty manifest first, then the swap (`file_set.rs`): from then
        // on, whatever happens, no table is live, so the clear is atomic.
        // The lock is let go meanwhile: until the swap, readers see the
        // tables, and the writes taken go with the clear.
        let cleared = file_set::log_and_apply(&self.shared, Change::Cleared);
        if cleared.is_err() {
            self.shared.write_state().abandon_clear();
        }
        self.shared.mailbox.tick();
        // Served as it will be recovered: the store is empty from here on,
        // even if removing a file below fails.
        for table in cleared? {
            // The clear is durable and served: a file that cannot be
            // removed is only logged (the next start removes it, since no
            // manifest names it), and the clear is still answered 200.
            if let Err(error) = table.remove_files() {
                tracing::warn!("clear: {error}; the next start removes it");
            }
        }
        // No directory sync: the empty manifest is durable already, and a
        // file no manifest names is removed at the next start.
        Ok(())
    }
}

impl Drop for Store {
    /// Stops the tree shaker and waits for it. What is still in memory is
    /// dropped, as in a crash: a graceful stop calls [`Store::flush`] first.
    fn drop(&mut self) {
        self.shared.mailbox.stop();
        if let Some(shaker) = self.shaker.take() {
            // The shaker catches its own panics (see `shaker.rs`), so this
            // fails only if it could not even report one.
            let _ = shaker.join();
        }
    }
}

/// Adds `key` to `live` with its value, unless `entry` is a tombstone.
fn push_live(live: &mut Vec<(String, String)>, key: String, entry: Entry) {
    if let Some(value) = live_value(entry) {
        live.push((key, value));
    }
}

/// The value a reader sees for `entry`: none for a tombstone.
fn live_value(entry: Entry) -> Option<String> {
    match entry {
        Entry::Value(value) => Some(value),
        Entry::Tombstone => None,
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::checksum::Checksum;
    use crate::manifest::{self, LiveTable};
    use crate::memtable::Memtable;

    /// A threshold no test reaches, so that only `flush` writes tables.
    const NEVER: usize = usize::MAX;
    /// A compaction threshold no test reaches: these tests are not about merging.
    const NO_COMPACTION: usize = usize::MAX;

    /// The options these tests open a store with: a memtable of
    /// `memtable_bytes`, no merging, and the defaults for the rest.
    fn test_options(memtable_bytes: usize) -> Options {
        Options {
            memtable_bytes,
            compaction_threshold: NO_COMPACTION,
            ..Options::default()
        }
    }

    /// The table files in `directory` (the manifest and others left out).
    fn table_files(directory: &Path) -> Vec<String> {
        let names = recovery::list_directory(directory)
            .unwrap()
            .into_iter()
            .map(|path| manifest::file_name(&path));
        names.filter(|name| name.ends_with(".sst")).collect()
    }
    #[test]
    fn opening_an_empty_directory_gives_an_empty_store() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(&directory.path().join("new"), test_options(NEVER)).unwrap();
        assert_eq!(store.memtable_bytes(), 0);
        assert_eq!(store.frozen_memtables(), 0);
        assert!(directory.path().join("new").is_dir());
    }

    #[test]
    fn the_shaker_thread_is_named() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        let shaker = store.shaker.as_ref().unwrap();
        assert_eq!(shaker.thread().name(), Some(shaker::THREAD_NAME));
    }

    #[test]
    fn flushing_an_empty_store_writes_nothing() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        store.flush().unwrap();
        assert_eq!(table_files(directory.path()), Vec::<String>::new());
    }

    #[test]
    fn a_poisoned_lock_stops_the_next_caller_with_its_message() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        let shared = Arc::clone(&store.shared);
        // A bug: a thread panics while it holds the lock.
        let poisoner = std::thread::spawn(move || {
            let _state = shared.write_state();
            panic!("a bug, while holding the lock");
        });
        assert!(poisoner.join().is_err());
        // A writer, whose lock is taken in given code (a reader's is in
        // exercise 4.3's answer).
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.set("kenya:capital", "Nairobi")
        }));
        let payload = caught.expect_err("a half-changed state is not changed further");
        assert_eq!(
            crate::error::panic_message(&*payload),
            "store lock poisoned: a thread panicked while holding it"
        );
    }

    #[test]
    fn a_full_memtable_is_frozen_not_written() {
        let directory = tempfile::tempdir().unwrap();
        // "kenya:capital" + "Nairobi" is 20 bytes: the second put passes 30.
        let store = Store::open(directory.path(), test_options(30)).unwrap();
        store.set("kenya:capital", "Nairobi").unwrap();
        assert_eq!(store.frozen_memtables(), 0);
        store.set("uganda:capital", "Kampala").unwrap();
        // The write went into the memtable, which was then frozen whole: a
        // fresh one is active, and the full one is queued for the shaker or
        // is already its table. Which of the two depends on the shaker's
        // timing, so this test looks only at where the memtable went (and
        // needs neither the flush nor the read path).
        let state = store.shared.read_state();
        assert_eq!(
            state.memtable().approximate_bytes(),
            0,
            "a fresh memtable takes the writes"
        );
        let (frozen, tables) = (state.frozen().len(), state.tables().len());
        assert_eq!(
            frozen + tables,
            1,
            "the full memtable is queued or flushed, once (frozen: {frozen}, tables: {tables})"
        );
    }

    #[test]
    fn freeze_moves_the_memtable_to_the_queue() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        let mut state = store.shared.write_state();
        state.put("kenya:capital", "Nairobi");
        let ticks = store.shared.mailbox.now();
        store.shared.freeze(&mut state);
        assert_eq!(state.memtable().approximate_bytes(), 0);
        assert_eq!(state.frozen().len(), 1);
        assert_eq!(
            state.frozen()[0].get("kenya:capital"),
            Some(&Entry::Value("Nairobi".into()))
        );
        assert!(store.shared.mailbox.now() > ticks, "the shaker was told");
    }

    /// Queues `memtable` as frozen without calling `freeze` (the tests of
    /// the shaker must not depend on exercise 4.1), and tells the shaker.
    fn queue_by_hand(store: &Store, memtable: Memtable) {
        store.shared.write_state().queue_frozen(memtable);
        store.shared.mailbox.tick();
    }

    /// Waits until the shaker has emptied the queue, or failed.
    fn wait_for_the_shaker(store: &Store) -> Result<()> {
        store
            .shared
            .lock_when(|state| state.frozen().is_empty())
            .map(drop)
    }

    #[test]
    fn frozen_memtables_are_written_oldest_first() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        let mut older = Memtable::new();
        older.put("tanzania:capital", "Dar es Salaam");
        let mut newer = Memtable::new();
        newer.put("tanzania:capital", "Dodoma");
        queue_by_hand(&store, older);
        queue_by_hand(&store, newer);
        wait_for_the_shaker(&store).unwrap();
        assert_eq!(table_files(directory.path()), ["000001.sst", "000002.sst"]);
        let newest = fs::read_to_string(directory.path().join("000002.sst")).unwrap();
        assert_eq!(newest, "tanzania:capital→Dodoma\n");
        let state = store.shared.read_state();
        assert_eq!(state.tables().len(), 2, "the tables are installed");
        assert_eq!(state.next_table_number(), 3);
    }

    // needs: exercise 5.1
    #[test]
    fn flushed_data_survives_reopening() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        let mut memtable = Memtable::new();
        memtable.put("uganda:capital", "Kampala");
        memtable.delete("rwanda:capital");
        queue_by_hand(&store, memtable);
        wait_for_the_shaker(&store).unwrap();
        drop(store);
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        // Checked with `scan`, which reads tables whole, so that this test
        // does not depend on the read path of later chapters.
        let expected = [("uganda:capital".to_string(), "Kampala".to_string())];
        assert_eq!(store.scan().unwrap(), expected);
    }

    #[test]
    fn a_failed_flush_is_reported_and_refuses_later_writes() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(&directory.path().join("data"), test_options(NEVER)).unwrap();
        // A directory where the table's temporary file goes: the shaker
        // cannot create its table (and every other file still can be).
        fs::create_dir(directory.path().join("data/000001.sst.tmp")).unwrap();
        let mut memtable = Memtable::new();
        memtable.put("kenya:capital", "Nairobi");
        queue_by_hand(&store, memtable);
        let error = wait_for_the_shaker(&store).unwrap_err().to_string();
        assert!(error.contains("000001.sst.tmp"), "{error}");
        let error = store.set("uganda:capital", "Kampala").unwrap_err();
        assert!(matches!(error, Error::ShakerFailed { .. }), "{error}");
        // Nothing is lost: the frozen memtable is still queued, whole, and
        // reads look there (exercise 4.3's tests show that they do).
        let state = store.shared.read_state();
        assert_eq!(state.frozen().len(), 1, "the memtable stays queued");
        assert_eq!(
            state.frozen()[0].get("kenya:capital"),
            Some(&Entry::Value("Nairobi".into()))
        );
    }

    #[test]
    fn exercise_4_3_get_of_missing_key_is_none() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        assert_eq!(store.get("kenya:capital").unwrap(), None);
    }

    #[test]
    fn exercise_4_3_frozen_memtables_are_read_newest_first() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        assert_eq!(store.get("tanzania:capital").unwrap(), None);
        // Build the queue by hand, holding the lock so that the shaker
        // cannot flush it: we are testing reads, not flushes.
        let mut state = store.shared.write_state();
        let mut older = Memtable::new();
        older.put("tanzania:capital", "Dar es Salaam");
        older.put("kenya:capital", "Nairobi");
        let mut newer = Memtable::new();
        newer.put("tanzania:capital", "Dodoma");
        newer.delete("kenya:capital");
        state.queue_frozen(older);
        state.queue_frozen(newer);
        state.put("uganda:capital", "Kampala");
        drop(state);
        assert_eq!(
            store.get("tanzania:capital").unwrap().as_deref(),
            Some("Dodoma")
        );
        assert_eq!(
            store.get("kenya:capital").unwrap(),
            None,
            "the newer tombstone wins"
        );
        assert_eq!(
            store.get("uganda:capital").unwrap().as_deref(),
            Some("Kampala")
        );
        store.delete("uganda:capital").unwrap();
        assert_eq!(
            store.get("uganda:capital").unwrap(),
            None,
            "the active memtable wins"
        );
    }

    #[test]
    fn exercise_6_2_tables_are_read_after_memtables() {
        let directory = tempfile::tempdir().unwrap();
        fs::write(
            directory.path().join("000001.sst"),
            "kenya:capital→Nairobi\nrwanda:capital→Kigali\n",
        )
        .unwrap();
        fs::write(directory.path().join("000002.sst"), "kenya:capital→†\n").unwrap();
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        assert_eq!(
            store.get("kenya:capital").unwrap(),
            None,
            "the newest table's tombstone"
        );
        assert_eq!(
            store.get("rwanda:capital").unwrap().as_deref(),
            Some("Kigali")
        );
        store.set("kenya:capital", "Nairobi").unwrap();
        assert_eq!(
            store.get("kenya:capital").unwrap().as_deref(),
            Some("Nairobi")
        );
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
        assert_eq!(store.shared.read_state().next_table_number(), 3);
    }

    #[test]
    fn a_clear_whose_manifest_cannot_be_written_changes_nothing() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        store.set("kenya:capital", "Nairobi").unwrap();
        // A directory where the manifest's temporary file goes.
        fs::create_dir(directory.path().join("MANIFEST.tmp")).unwrap();
        assert!(store.clear().is_err());
        assert_eq!(
            store.get("kenya:capital").unwrap().as_deref(),
            Some("Nairobi")
        );
        assert!(!store.shared.read_state().clearing(), "the clear is over");
    }

    #[test]
    fn the_shaker_starts_nothing_while_a_clear_runs() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        let mut state = store.shared.write_state();
        state.begin_clear();
        let mut memtable = Memtable::new();
        memtable.put("kenya:capital", "Nairobi");
        state.queue_frozen(memtable);
        assert!(state.oldest_frozen().is_none(), "no flush");
        let now = state.tables();
        assert!(state.begin_merge(&now, 0..0).is_none(), "no merge");
    }

    /// The files a crash left, and the tables (name, text) its manifest names.
    type CrashPoint<'a> = (&'a [&'a str], Vec<(&'a str, &'a str)>);

    /// The directory as a crash at each point of a merge of tables 2 and 3
    /// into table 4 would leave it, and what a restart must then read.
    // needs: exercise 5.1
    #[test]
    fn every_crash_point_of_a_merge_reopens_to_the_same_data() {
        let inputs = [
            ("000001.sst", "a→1\nb→1\n"),
            ("000002.sst", "a→2\nc→†\n"),
            ("000003.sst", "b→3\n"),
        ];
        let merged = ("000004.sst", "a→2\nb→3\nc→†\n");
        let before = [inputs[0], inputs[1], inputs[2]];
        let after = [inputs[0], merged];
        // (files present, manifest): the merge's steps, one crash after each.
        let crash_points: [CrashPoint; 5] = [
            (
                &["000001.sst", "000002.sst", "000003.sst", "000004.sst.tmp"],
                before.to_vec(),
            ),
            (
                &["000001.sst", "000002.sst", "000003.sst", "000004.sst"],
                before.to_vec(),
            ),
            (
                &["000001.sst", "000002.sst", "000003.sst", "000004.sst"],
                after.to_vec(),
            ),
            (&["000001.sst", "000003.sst", "000004.sst"], after.to_vec()),
            (&["000001.sst", "000004.sst"], after.to_vec()),
        ];
        for (present, manifest_tables) in crash_points {
            let directory = tempfile::tempdir().unwrap();
            for (name, text) in inputs.iter().chain([&merged]) {
                for file in [name.to_string(), format!("{name}.tmp")] {
                    if present.contains(&file.as_str()) {
                        fs::write(directory.path().join(&file), text).unwrap();
                    }
                }
            }
            let live: Vec<LiveTable> = manifest_tables
                .iter()
                .map(|(name, text)| LiveTable {
                    name: name.to_string(),
                    checksum: Checksum {
                        bytes: text.len() as u64,
                        crc: crc32fast::hash(text.as_bytes()),
                    },
                })
                .collect();
            manifest::write(directory.path(), &live).unwrap();
            let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
            let expected = [
                ("a".to_string(), "2".to_string()),
                ("b".to_string(), "3".to_string()),
            ];
            assert_eq!(
                store.scan().unwrap(),
                expected,
                "files {present:?}, manifest {manifest_tables:?}"
            );
            let live: Vec<&str> = manifest_tables.iter().map(|(name, _)| *name).collect();
            assert_eq!(table_files(directory.path()), live, "leftovers are removed");
        }
    }
}
