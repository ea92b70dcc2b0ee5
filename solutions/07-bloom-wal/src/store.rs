//! The storage layer: memtables with their logs, SSTables, and the manifest.
//!
//! The idea: writes go to the active `Memtable`, full memtables are frozen,
//! and the tree shaker (`shaker.rs`) writes them to SSTables in the
//! background and merges tables when there are enough; the manifest
//! (`manifest.rs`) lists the live tables. Every write is also appended to
//! the active memtable's write-ahead log (`wal.rs`), and acknowledged only
//! once the log syncer has synced it. At open, `recovery.rs` replays the
//! logs that are left into a table.
//!
//! A read asks, newest first: the active memtable, the frozen memtables from
//! the back of the queue to the front, then the tables from newest to oldest
//! (the manifest's order). The first that knows the key answers.
//!
//! Writes come in two forms (the write path through the log is
//! `logged.rs`): [`Storage::set`] and [`Storage::delete`] block the calling
//! thread until the write is durable, and [`Store::try_set_logged`] /
//! [`Store::try_delete_logged`] return a [`Ticket`](crate::Ticket) at once,
//! for an async server to await with [`Store::durable`].
//!
//! Shortcuts, and what they cost:
//! - at most `max_frozen` memtables wait in the queue; past that, writers
//!   wait for the shaker, which may be busy merging;
//! - a failed flush or merge stops the shaker for good, and a failed log
//!   sync stops the log: writes are refused until a restart;
//! - a write is in the memtable before its record is synced, so a read
//!   that finds it waits for that sync before it answers (see
//!   `logged.rs`): while writes are in flight, reads wait for a group
//!   commit or two, and after a failed sync they fail until a restart.
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
//! - the queue holds at most `max_frozen` memtables, each with its log;
//! - after [`Store::flush`] returns, everything written before it is in a
//!   table on disk;
//! - every acknowledged write is in a log on disk or in a table the
//!   manifest lists, so reopening the directory, even after `kill -9`,
//!   reads it again.
//!
//! Read alongside chapter 7 of the book, "Bloom filters and a write-ahead log".

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::thread::{self, JoinHandle};

use crate::compaction::Merge;
use crate::file_set;
use crate::files;
use crate::log_record::Op;
use crate::mailbox::Mailbox;
use crate::memtable::Entry;
use crate::recovery;
use crate::shaker;
use crate::shared::{LOG_BYTES_PER_MEMTABLE_BYTE, Shared};
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
    /// The log syncer (see `group_commit.rs`), joined when the store is dropped.
    syncer: Option<JoinHandle<()>>,
    /// The data directory's lock (see `files::lock_directory`), held for as
    /// long as the store is open: one server per directory. Never read: its
    /// job is to exist until the store is dropped.
    _directory_lock: File,
}

/// A log file is made as long as its size limit up front, but no longer
/// than this (a store opened with a huge memtable must not make a huge
/// file); past it, a log grows as it is written.
const MAX_PREALLOCATED_LOG_BYTES: u64 = 64 << 20;

impl Store {
    /// Opens the store in `directory`: recovers the directory (see
    /// `recovery.rs`: created if needed, cleaned of what an interrupted write
    /// left, the manifest's tables loaded, the logs replayed), then starts
    /// the log syncer and the tree shaker.
    pub fn open(directory: &Path, options: Options) -> Result<Store> {
        // One server per directory: the lock is taken before anything in the
        // directory is read, replayed or removed.
        files::create_directory(directory)?;
        let _directory_lock = files::lock_directory(directory)?;
        let preallocated = (options.memtable_bytes as u64)
            .saturating_mul(LOG_BYTES_PER_MEMTABLE_BYTE)
            .min(MAX_PREALLOCATED_LOG_BYTES);
        let recovered = recovery::recover(directory, preallocated)?;
        let wal = recovered.wal;
        let state = State::new(
            recovered.tables,
            recovered.next_table_number,
            recovered.log_number + 1,
        );
        let shared = Arc::new(Shared {
            directory: directory.to_path_buf(),
            memtable_bytes: options.memtable_bytes,
            // A queue of zero would freeze nothing and stall every writer.
            max_frozen: options.max_frozen_memtables.max(1),
            compaction_threshold: options.compaction_threshold,
            state: RwLock::new(state),
            mailbox: Mailbox::new(),
            wal,
        });
        let syncer = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("log-syncer".into())
                .spawn(move || shared.wal.run_syncer())
                .map_err(|source| Error::Start {
                    what: "log-syncer thread",
                    source,
                })?
        };
        let shaker = shaker::spawn(Arc::clone(&shared)).map_err(|source| Error::Start {
            what: "tree-shaker thread",
            source,
        })?;
        Ok(Store {
            shared,
            shaker: Some(shaker),
            syncer: Some(syncer),
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
            self.shared.freeze(&mut state)?;
        }
        drop(state);
        let mailbox = &self.shared.mailbox;
        drop(
            self.shared
                .lock_when(|state| state.frozen().is_empty() && mailbox.idle())?,
        );
        Ok(())
    }

    /// Finds `key`'s value: in the active memtable, the frozen ones newest
    /// first, then the tables newest first.
    fn lookup(&self, key: &str) -> Result<Option<String>> {
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
        // As in `get`: the memtables may hold writes not synced yet.
        self.shared.wait_for_log()?;
        Ok(live)
    }
}

impl Storage for Store {
    fn set(&self, key: &str, value: &str) -> Result<()> {
        let state = self.shared.lock_when(|state| self.shared.has_room(state))?;
        let op = Op::Put(key.to_string(), value.to_string());
        let ticket = self.write(state, op, |state| state.put(key, value))?;
        // Without the lock: the writers that wait here share one sync.
        self.shared.wal.wait_durable(ticket.0)
    }

    fn get(&self, key: &str) -> Result<Option<String>> {
        let found = self.lookup(key)?;
        // What the lookup found may be a write whose record is not synced
        // yet: answer only once it is (see `Shared::wait_for_log`).
        self.shared.wait_for_log()?;
        Ok(found)
    }

    fn delete(&self, key: &str) -> Result<()> {
        let state = self.shared.lock_when(|state| self.shared.has_room(state))?;
        let op = Op::Delete(key.to_string());
        let ticket = self.write(state, op, |state| state.delete(key))?;
        self.shared.wal.wait_durable(ticket.0)
    }

    fn clear(&self) -> Result<()> {
        // Wait until the shaker is idle: a table it is writing now would
        // otherwise be installed after the clear and bring its keys back.
        let mut state = self.shared.lock_when(|state| {
            state.frozen().is_empty() && !state.compacting() && !state.clearing()
        })?;
        // The clear is logged and applied under the same lock, so that
        // readers see it where replay puts it (a `clear` record voids every
        // older table); `State::clear` also keeps the shaker idle until the
        // manifest below is written. Served as it will be recovered: the
        // store is empty from here on.
        let ticket = self.shared.wal.append(&Op::Clear)?;
        let removed = state.clear();
        drop(state);
        // The disk work, with the lock let go: the record's sync (readers
        // wait for it too, see `wait_for_log`), then an empty manifest.
        let durable = self.shared.wal.wait_durable(ticket);
        let written = durable
            .is_ok()
            .then(|| file_set::log_and_apply(&self.shared, Change::Cleared));
        if !matches!(written, Some(Ok(_))) {
            // Not applied: the clear ends here, and the shaker goes on.
            self.shared.write_state().end_clear();
        }
        self.shared.mailbox.tick();
        durable?;
        // The clear is durable, so it is answered 200 whatever happens
        // below: the file steps are cleanup, and one that fails is logged.
        if let Some(Err(error)) = written {
            // The old manifest still names the tables, so they must stay;
            // the clear record in the log voids them at the next start.
            tracing::warn!("clear: {error}; the tables are left for the next start");
            return Ok(());
        }
        for table in removed.iter() {
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
        self.shared.wal.close();
        if let Some(syncer) = self.syncer.take() {
            // The same holds for the syncer (see `Wal::run_syncer`).
            let _ = syncer.join();
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

    // needs: exercise 7.3
    #[test]
    fn an_async_write_that_fills_the_memtable_freezes_it() {
        let directory = tempfile::tempdir().unwrap();
        // "kenya:capital" + "Nairobi" is 20 bytes: the second put passes 30.
        let store = Store::open(directory.path(), test_options(30)).unwrap();
        let Some(first) = store.try_set_logged("kenya:capital", "Nairobi").unwrap() else {
            panic!("a write with room was declined");
        };
        // Durable before the freeze: the test then never races the syncer
        // (in a starter, the first sync stops the log at exercise 7.3's
        // hole, so the test always stops there, not at a place of chance).
        store.shared.wal.wait_durable(first.0).unwrap();
        // A freeze touches no file (the next log is made by the next sync),
        // so an async task may cause one: the write is taken.
        let Some(ticket) = store.try_set_logged("uganda:capital", "Kampala").unwrap() else {
            panic!("a write that freezes the memtable was declined");
        };
        assert_eq!(
            store.memtable_bytes(),
            0,
            "a fresh memtable takes the writes"
        );
        store.shared.wal.wait_durable(ticket.0).unwrap();
        assert_eq!(
            store.get("uganda:capital").unwrap().as_deref(),
            Some("Kampala")
        );
    }

    #[test]
    fn a_write_that_would_wait_for_room_is_declined() {
        let directory = tempfile::tempdir().unwrap();
        let options = Options {
            max_frozen_memtables: 1,
            ..test_options(8)
        };
        let store = Store::open(directory.path(), options).unwrap();
        // Once the shaker is idle, it waits until it is told of a change.
        store.flush().unwrap();
        {
            let mut state = store.shared.write_state();
            freeze_by_hand(&store.shared, &mut state, Memtable::new());
            state.put("kenya:capital", "Nairobi");
        }
        // The memtable is full and the queue (of one) too.
        assert!(store.try_set_logged("a", "1").unwrap().is_none());
        assert!(store.try_delete_logged("kenya:capital").unwrap().is_none());
        assert_eq!(
            store.get("a").unwrap(),
            None,
            "a declined write did nothing"
        );
        assert_eq!(
            store.get("kenya:capital").unwrap().as_deref(),
            Some("Nairobi")
        );
        // A plain `set` waits for the shaker to make room instead.
        store.shared.mailbox.tick();
        store.set("a", "1").unwrap();
        assert_eq!(store.get("a").unwrap().as_deref(), Some("1"));
    }

    // needs: exercise 7.1
    // needs: exercise 7.3
    #[test]
    fn a_log_that_cannot_be_started_stops_writes_and_keeps_what_was_acknowledged() {
        let directory = tempfile::tempdir().unwrap();
        // "kenya:capital" + "Nairobi" is 20 bytes: the second put passes 30.
        let store = Store::open(directory.path(), test_options(30)).unwrap();
        // The next log's name is taken by a directory: creating it fails.
        let next = files::log_path(
            directory.path(),
            store.shared.read_state().next_log_number(),
        );
        fs::create_dir(&next).unwrap();
        store.set("kenya:capital", "Nairobi").unwrap();
        // This write fills the memtable and the freeze fails, but the write
        // itself was synced: it is answered as durable.
        store.set("uganda:capital", "Kampala").unwrap();
        // Nothing more is taken, and what is refused is not visible.
        let error = store.set("rwanda:capital", "Kigali").unwrap_err();
        assert!(matches!(error, Error::LogFailed { .. }), "{error}");
        assert_eq!(store.get("rwanda:capital").unwrap(), None);
        assert_eq!(
            store.get("uganda:capital").unwrap().as_deref(),
            Some("Kampala")
        );
        // The shaker stops rather than flush the frozen memtable: a manifest
        // would name the next log as the oldest needed, and it is not there.
        assert!(wait_for_the_shaker(&store).is_err());
        assert_eq!(table_files(directory.path()), Vec::<String>::new());
        assert!(files::log_path(directory.path(), 1).exists());
        drop(store);
        fs::remove_dir(&next).unwrap();
        let store = Store::open(directory.path(), test_options(30)).unwrap();
        let expected = [
            ("kenya:capital".to_string(), "Nairobi".to_string()),
            ("uganda:capital".to_string(), "Kampala".to_string()),
        ];
        assert_eq!(store.scan().unwrap(), expected);
    }

    // needs: exercise 7.1
    // needs: exercise 7.3
    #[test]
    fn a_log_of_overwrites_is_rotated_at_its_size_limit() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path(), test_options(1024)).unwrap();
        // The biggest the active log may get: its limit, plus the record
        // that crossed it.
        let limit = 4 * 1024 + 64;
        for n in 0..2_000 {
            // One key: the memtable holds one entry, only the log grows.
            store
                .set("kenya:capital", &format!("Nairobi {n:04}"))
                .unwrap();
            if n % 100 == 0 {
                let active = files::log_path(
                    directory.path(),
                    store.shared.read_state().next_log_number() - 1,
                );
                let size = fs::metadata(&active).unwrap().len();
                assert!(size <= limit, "{} holds {size} bytes", active.display());
            }
        }
        store.flush().unwrap();
        assert!(
            table_files(directory.path()).len() > 1,
            "full logs froze their memtables"
        );
        drop(store);
        let store = Store::open(directory.path(), test_options(1024)).unwrap();
        assert_eq!(
            store.get("kenya:capital").unwrap().as_deref(),
            Some("Nairobi 1999")
        );
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

    // needs: exercise 7.3
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
        store.shared.freeze(&mut state).unwrap();
        assert_eq!(state.memtable().approximate_bytes(), 0);
        assert_eq!(state.frozen().len(), 1);
        assert_eq!(
            state.frozen()[0].get("kenya:capital"),
            Some(&Entry::Value("Nairobi".into()))
        );
        assert!(store.shared.mailbox.now() > ticks, "the shaker was told");
    }

    /// Puts `memtable` at the back of the frozen queue, with the log that
    /// was active, and starts a new log, as `freeze` would, but without
    /// taking the store's lock. (The old log holds the active memtable's
    /// writes, not `memtable`'s: these tests do not reopen what they wrote
    /// to the active memtable.)
    fn freeze_by_hand(shared: &Shared, state: &mut State, memtable: Memtable) {
        let log = files::log_path(&shared.directory, state.next_log_number());
        // A test may have failed the log: then no ticket ever becomes
        // durable, and the shaker fails before it would name the next log.
        let ended_by = shared.wal.rotate(&log).unwrap_or(u64::MAX);
        state.queue_frozen(memtable, ended_by);
    }

    /// Queues `memtable` as frozen without calling `freeze` (the tests of
    /// the shaker should not depend on the write path), and tells the shaker.
    fn queue_by_hand(store: &Store, memtable: Memtable) {
        freeze_by_hand(&store.shared, &mut store.shared.write_state(), memtable);
        store.shared.mailbox.tick();
    }

    /// Waits until the shaker has emptied the queue, or failed.
    fn wait_for_the_shaker(store: &Store) -> Result<()> {
        store
            .shared
            .lock_when(|state| state.frozen().is_empty())
            .map(drop)
    }

    // needs: exercise 7.1
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
    // needs: exercise 7.1
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

    // needs: exercise 7.3
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
        freeze_by_hand(&store.shared, &mut state, older);
        freeze_by_hand(&store.shared, &mut state, newer);
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

    // needs: exercise 7.1
    // needs: exercise 7.3
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

    // needs: exercise 7.3
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

    // needs: exercise 7.3
    #[test]
    fn a_clear_whose_manifest_cannot_be_written_is_still_done() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        store.set("kenya:capital", "Nairobi").unwrap();
        // A directory where the manifest's temporary file goes.
        let blocked = directory.path().join("MANIFEST.tmp");
        fs::create_dir(&blocked).unwrap();
        // The clear's log record is durable: that is the clear, answered.
        store.clear().unwrap();
        assert_eq!(store.get("kenya:capital").unwrap(), None);
        assert!(!store.shared.read_state().clearing(), "the clear is over");
        drop(store);
        fs::remove_dir(&blocked).unwrap();
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        assert_eq!(store.get("kenya:capital").unwrap(), None);
    }

    #[test]
    fn the_shaker_starts_nothing_while_a_clear_runs() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        let mut state = store.shared.write_state();
        let tables = state.tables();
        let _ = state.clear();
        let mut memtable = Memtable::new();
        memtable.put("kenya:capital", "Nairobi");
        state.queue_frozen(memtable, 0);
        assert!(state.oldest_frozen().is_none(), "no flush");
        let now = state.tables();
        assert!(state.begin_merge(&now, 0..0).is_none(), "no merge");
        assert!(
            state.begin_merge(&tables, 0..0).is_none(),
            "nor an old plan"
        );
    }

    /// The files a crash left, and the tables (name, text) its manifest names.
    type CrashPoint<'a> = (&'a [&'a str], Vec<(&'a str, &'a str)>);

    /// The directory as a crash at each point of a merge of tables 2 and 3
    /// into table 4 would leave it, and what a restart must then read.
    // needs: exercise 5.1
    // needs: exercise 7.1
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
            // The manifest names log 1, which a start made.
            manifest::write(directory.path(), &live, 1).unwrap();
            crate::wal::Wal::create(&files::log_path(directory.path(), 1), 0).unwrap();
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

    // needs: exercise 7.1
    // needs: exercise 7.3
    #[test]
    fn acknowledged_writes_survive_a_crash() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        store.set("kenya:capital", "Nairobi").unwrap();
        store.set("tanzania:capital", "Dodoma").unwrap();
        store.delete("tanzania:capital").unwrap();
        // Dropping the store without a flush loses the memtable, as a crash would.
        drop(store);
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        assert_eq!(
            store.scan().unwrap(),
            [("kenya:capital".to_string(), "Nairobi".to_string())]
        );
        assert_eq!(
            table_files(directory.path()),
            ["000001.sst"],
            "the replayed log became a table"
        );
    }

    // needs: exercise 7.1
    // needs: exercise 7.3
    #[test]
    fn a_clear_survives_a_crash() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        store.set("kenya:capital", "Nairobi").unwrap();
        store.flush().unwrap();
        store.set("uganda:capital", "Kampala").unwrap();
        store.clear().unwrap();
        store.set("rwanda:capital", "Kigali").unwrap();
        drop(store);
        let store = Store::open(directory.path(), test_options(NEVER)).unwrap();
        assert_eq!(
            store.scan().unwrap(),
            [("rwanda:capital".to_string(), "Kigali".to_string())]
        );
    }
}
