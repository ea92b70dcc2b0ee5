//! What a read must see at one moment, and the only code that changes it.
//!
//! The idea: the store keeps its memtable and its list of tables in one
//! `State`, behind the store's read-write lock (`store.rs`). Every change
//! to the state is a method here, so that the rules about what may change
//! together live in one place, next to the fields they are about.
//!
//! The list of tables is shared as a snapshot: an `Arc` of the list, cheap
//! to clone. A reader takes the lock only to look in the memtable and to
//! clone the snapshot, and reads the tables' files after letting the lock
//! go, so no reader holds the lock while it waits for the disk. A change to
//! the list builds a new list (copy on write, with `Arc::make_mut`): a
//! snapshot never changes under the reader that holds it.
//!
//! Shortcuts, and what they cost:
//! - a flush writes its table while the caller holds the write lock (see
//!   `store.rs`), so readers and writers wait for that disk write;
//!   chapter 4 moves it to a background thread.
//!
//! Invariants:
//! - `tables` is ordered oldest first, and every table's number is below
//!   `next_table_number`, so a new table is always the newest;
//! - a table joins `tables` only once its file is complete on disk, and
//!   the memtable it came from is emptied in the same change, so no read
//!   sees its data in neither place or counts it twice.
//!
//! Read alongside chapter 3 of the book, "SSTables".

use std::sync::Arc;

use crate::memtable::Memtable;
use crate::sstable::SsTable;

/// The memtable and the tables: what the store's lock protects.
#[derive(Debug)]
pub(crate) struct State {
    /// The memtable that takes the writes.
    memtable: Memtable,
    /// The tables, oldest first.
    tables: Arc<Vec<SsTable>>,
    /// The number the next table file gets.
    next_table_number: u64,
}

impl State {
    /// The state of a store that opened `tables` (oldest first) and numbers
    /// its next table `next_table_number`.
    pub(crate) fn new(tables: Vec<SsTable>, next_table_number: u64) -> State {
        State {
            memtable: Memtable::new(),
            tables: Arc::new(tables),
            next_table_number,
        }
    }

    /// The memtable that takes the writes.
    pub(crate) fn memtable(&self) -> &Memtable {
        &self.memtable
    }

    /// The tables, oldest first, as a snapshot: a later change to the state
    /// does not change it, so it can be read with no lock held.
    pub(crate) fn tables(&self) -> Arc<Vec<SsTable>> {
        Arc::clone(&self.tables)
    }

    /// The number the next table file gets.
    pub(crate) fn next_table_number(&self) -> u64 {
        self.next_table_number
    }

    /// Sets `key` to `value` in the memtable.
    pub(crate) fn put(&mut self, key: &str, value: &str) {
        self.memtable.put(key, value);
    }

    /// Writes a tombstone for `key` in the memtable.
    pub(crate) fn delete(&mut self, key: &str) {
        self.memtable.delete(key);
    }

    /// Puts `table`, just written from the memtable under the number
    /// [`State::next_table_number`] gave, in the memtable's place.
    pub(crate) fn install_flushed(&mut self, table: SsTable) {
        Arc::make_mut(&mut self.tables).push(table);
        self.next_table_number += 1;
        self.memtable = Memtable::new();
    }

    /// The oldest table, if any: the next one `clear` removes.
    pub(crate) fn oldest_table(&self) -> Option<SsTable> {
        self.tables.first().cloned()
    }

    /// Forgets the oldest table, once its file is removed.
    pub(crate) fn forget_oldest_table(&mut self) {
        if !self.tables.is_empty() {
            Arc::make_mut(&mut self.tables).remove(0);
        }
    }

    /// Empties the memtable: the last step of `clear`.
    pub(crate) fn clear_memtable(&mut self) {
        self.memtable = Memtable::new();
    }
}
