//! What a read must see at one moment, and the only code that changes it.
//!
//! The idea: the store keeps its memtables and its list of tables in one
//! `State`, behind the store's read-write lock (`store.rs`). Every change
//! to the state is a method here, so that the rules about what may change
//! together live in one place, next to the fields they are about. The
//! queue of frozen memtables has two moves, one made by the writers and one
//! by the tree shaker: [`State::freeze`] and [`State::install_flushed`].
//!
//! The list of tables is shared as a snapshot: an `Arc` of the list, cheap
//! to clone. A reader takes the lock only to look in the memtables and to
//! clone the snapshot, and reads the tables' files after letting the lock
//! go, so no reader holds the lock while it waits for the disk. A change to
//! the list builds a new list (copy on write, with `Arc::make_mut`): a
//! snapshot never changes under the reader that holds it.
//!
//! Invariants:
//! - `frozen` is ordered oldest first, and `tables` too; every table's
//!   number is below `next_table_number`, so a new table is always the
//!   newest;
//! - a frozen memtable is never written to again;
//! - a table joins `tables` only once its file is complete on disk, and the
//!   frozen memtable it came from leaves the queue in the same change, so no
//!   read finds the data in neither place.
//!
//! Read alongside chapter 4 of the book, "The tree shaker".

use std::collections::VecDeque;
use std::sync::Arc;

use crate::memtable::Memtable;
use crate::sstable::SsTable;

// ANCHOR: state_struct
/// The memtables and the tables: what the store's lock protects.
#[derive(Debug)]
pub(crate) struct State {
    /// The memtable that takes the writes.
    memtable: Memtable,
    /// Memtables waiting to be flushed, oldest first.
    frozen: VecDeque<Arc<Memtable>>,
    /// The tables, oldest first.
    tables: Arc<Vec<SsTable>>,
    /// The number the next table file gets.
    next_table_number: u64,
}
// ANCHOR_END: state_struct

impl State {
    /// The state of a store that opened `tables` (oldest first) and numbers
    /// its next table `next_table_number`.
    pub(crate) fn new(tables: Vec<SsTable>, next_table_number: u64) -> State {
        State {
            memtable: Memtable::new(),
            frozen: VecDeque::new(),
            tables: Arc::new(tables),
            next_table_number,
        }
    }

    /// The memtable that takes the writes.
    pub(crate) fn memtable(&self) -> &Memtable {
        &self.memtable
    }

    /// The frozen memtables, oldest first.
    pub(crate) fn frozen(&self) -> &VecDeque<Arc<Memtable>> {
        &self.frozen
    }

    /// The tables, oldest first, as a snapshot: a later change to the state
    /// does not change it, so it can be read with no lock held.
    pub(crate) fn tables(&self) -> Arc<Vec<SsTable>> {
        Arc::clone(&self.tables)
    }

    /// Sets `key` to `value` in the active memtable.
    pub(crate) fn put(&mut self, key: &str, value: &str) {
        self.memtable.put(key, value);
    }

    /// Writes a tombstone for `key` in the active memtable.
    pub(crate) fn delete(&mut self, key: &str) {
        self.memtable.delete(key);
    }

    /// Moves the active memtable to the back of the frozen queue and puts a
    /// fresh one in its place.
    pub(crate) fn freeze(&mut self) {
        // ANCHOR: exercise_4_1
        // Exercise 4.1: swap in a fresh memtable and queue the full one at the back
        let full = std::mem::take(&mut self.memtable);
        self.frozen.push_back(Arc::new(full));
        // ANCHOR_END: exercise_4_1
    }

    /// The oldest frozen memtable and the number its table gets, or `None`
    /// when the queue is empty.
    pub(crate) fn oldest_frozen(&self) -> Option<(Arc<Memtable>, u64)> {
        let oldest = self.frozen.front()?;
        Some((Arc::clone(oldest), self.next_table_number))
    }

    /// Puts `table`, just written from `flushed`, the memtable that
    /// [`State::oldest_frozen`] gave, in that memtable's place: in one step,
    /// so that no read finds the data in neither place.
    pub(crate) fn install_flushed(&mut self, table: SsTable, flushed: &Arc<Memtable>) {
        Arc::make_mut(&mut self.tables).push(table);
        self.next_table_number += 1;
        let front = self.frozen.pop_front();
        debug_assert!(
            front.is_some_and(|front| Arc::ptr_eq(&front, flushed)),
            "only the shaker removes frozen memtables, oldest first"
        );
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

    /// Empties the active memtable: the last step of `clear`, which runs
    /// only once the queue is empty.
    pub(crate) fn clear_memtable(&mut self) {
        debug_assert!(self.frozen.is_empty(), "clear waits for the shaker");
        self.memtable = Memtable::new();
    }
}

/// For tests: states that the tests of later exercises build without the
/// code of earlier ones.
#[cfg(test)]
impl State {
    /// Queues `memtable` as frozen without [`State::freeze`], so that the
    /// tests of the shaker and of reads do not depend on exercise 4.1.
    pub(crate) fn queue_frozen(&mut self, memtable: Memtable) {
        self.frozen.push_back(Arc::new(memtable));
    }

    /// The number the next table file gets.
    pub(crate) fn next_table_number(&self) -> u64 {
        self.next_table_number
    }
}
