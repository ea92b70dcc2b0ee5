//! What a read must see at one moment, and the only code that changes it.
//!
//! The idea: the store keeps its memtables and its list of tables in one
//! `State`, behind the store's read-write lock (`store.rs`). Every change
//! to the state is a method here, so that the rules about what may change
//! together live in one place, next to the fields they are about. A writer
//! freezes the memtable ([`State::freeze`]); the tree shaker puts a flushed
//! table in its memtable's place ([`State::install_flushed`]), and a merge
//! reserves its table number with [`State::begin_merge`] and swaps its
//! table in for its inputs with [`State::install_merged`]; a clear keeps
//! the shaker idle ([`State::begin_clear`]) and empties the state in one
//! step. The changes to the tables arrive through [`State::apply`], from
//! `file_set.rs`, once the manifest names the tables they lead to.
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
//! - a table joins `tables` only once its file is complete on disk and a
//!   manifest that names it is too (`file_set.rs` writes it first);
//!   the frozen memtable it came from leaves the queue in the same change,
//!   and a merged table replaces its inputs in one change, so no read finds
//!   the data in neither place;
//! - at most one merge runs at a time (`compacting`), and `tables` changes
//!   only on the shaker's thread or in a clear; while a clear runs
//!   (`clearing`), the shaker starts no flush or merge.
//!
//! Read alongside chapter 5 of the book, "Compaction".

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;

use crate::memtable::Memtable;
use crate::sstable::SsTable;

/// The memtables and the tables: what the store's lock protects.
#[derive(Debug)]
pub(crate) struct State {
    /// The memtable that takes the writes.
    memtable: Memtable,
    /// Memtables waiting to be flushed, oldest first.
    frozen: VecDeque<Arc<Memtable>>,
    /// The tables, oldest first, as the manifest lists them.
    tables: Arc<Vec<SsTable>>,
    /// Whether the shaker is merging tables (`clear` waits until it is not).
    compacting: bool,
    /// Whether a clear is under way: until it ends, the shaker starts no
    /// flush or merge, so that the clear is the only change of the tables.
    clearing: bool,
    /// The number the next table file gets.
    next_table_number: u64,
}

impl State {
    /// The state of a store that opened `tables` (oldest first) and numbers
    /// its next table `next_table_number`.
    pub(crate) fn new(tables: Vec<SsTable>, next_table_number: u64) -> State {
        State {
            memtable: Memtable::new(),
            frozen: VecDeque::new(),
            tables: Arc::new(tables),
            compacting: false,
            clearing: false,
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

    /// Whether the shaker is merging tables.
    pub(crate) fn compacting(&self) -> bool {
        self.compacting
    }

    /// Whether the shaker has nothing under way and may not start
    /// anything: a clear is running.
    pub(crate) fn clearing(&self) -> bool {
        self.clearing
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
    /// when the queue is empty or a clear is under way.
    pub(crate) fn oldest_frozen(&self) -> Option<(Arc<Memtable>, u64)> {
        if self.clearing {
            return None;
        }
        let oldest = self.frozen.front()?;
        Some((Arc::clone(oldest), self.next_table_number))
    }

    /// Puts `table`, just written from `flushed`, the memtable that
    /// [`State::oldest_frozen`] gave, in that memtable's place: in one step,
    /// so that no read finds the data in neither place.
    fn install_flushed(&mut self, table: SsTable, flushed: &Arc<Memtable>) {
        Arc::make_mut(&mut self.tables).push(table);
        self.next_table_number += 1;
        let front = self.frozen.pop_front();
        debug_assert!(
            front.is_some_and(|front| Arc::ptr_eq(&front, flushed)),
            "only the shaker removes frozen memtables, oldest first"
        );
    }

    /// Starts a merge of the tables in `range` of `seen`, a snapshot taken
    /// when the merge was planned, and reserves the merged table's number.
    /// `None` if the tables changed since `seen` (a `clear` ran): the plan
    /// is stale and must be made again.
    pub(crate) fn begin_merge(
        &mut self,
        seen: &Arc<Vec<SsTable>>,
        range: Range<usize>,
    ) -> Option<u64> {
        if self.clearing || !Arc::ptr_eq(seen, &self.tables) || range.end > self.tables.len() {
            return None;
        }
        debug_assert!(!self.compacting, "one merge at a time");
        self.compacting = true;
        let number = self.next_table_number;
        self.next_table_number += 1;
        Some(number)
    }

    /// Puts `merged` in the place of the tables in `range`, in one step, and
    /// returns them: the caller removes their files. A reader that took a
    /// snapshot before this still reads them, through their open files.
    fn install_merged(&mut self, range: Range<usize>, merged: SsTable) -> Vec<SsTable> {
        Arc::make_mut(&mut self.tables)
            .splice(range, [merged])
            .collect()
    }

    /// Ends the merge that [`State::begin_merge`] started, whether it
    /// succeeded or not.
    pub(crate) fn end_merge(&mut self) {
        self.compacting = false;
    }

    /// Starts a clear: the shaker starts no flush or merge until the
    /// clear is applied. The caller has waited for the shaker to be idle,
    /// so nothing is being flushed or merged now.
    pub(crate) fn begin_clear(&mut self) {
        debug_assert!(
            self.frozen.is_empty() && !self.compacting && !self.clearing,
            "a clear waits for the shaker"
        );
        self.clearing = true;
    }

    /// Ends the clear that [`State::begin_clear`] started without applying
    /// it: its manifest could not be written, so nothing changed.
    pub(crate) fn abandon_clear(&mut self) {
        self.clearing = false;
    }

    /// Applies `change`, whose manifest is written, in one step, and
    /// returns the tables it took out: the caller removes their files. A
    /// reader that took a snapshot before this still reads them, through
    /// their open files.
    pub(crate) fn apply(&mut self, change: Change) -> Vec<SsTable> {
        match change {
            Change::Flushed { table, memtable } => {
                self.install_flushed(table, &memtable);
                Vec::new()
            }
            Change::Merged { range, table } => self.install_merged(range, table),
            Change::Cleared => self.clear(),
        }
    }

    /// Empties the store: no table, no memtable, and ends the clear that
    /// [`State::begin_clear`] started. The writes taken since it began go
    /// too: the clear comes after them.
    fn clear(&mut self) -> Vec<SsTable> {
        debug_assert!(self.clearing, "a clear begins before it is applied");
        self.clearing = false;
        self.memtable = Memtable::new();
        self.frozen.clear();
        std::mem::take(Arc::make_mut(&mut self.tables))
    }
}

/// A change of the set of tables, applied by `log_and_apply`
/// (`file_set.rs`) once a manifest names the tables it leads to.
#[derive(Debug)]
pub(crate) enum Change {
    /// `table`, written from the oldest frozen memtable, `memtable`, takes
    /// its place (a flush).
    Flushed {
        table: SsTable,
        memtable: Arc<Memtable>,
    },
    /// `table` takes the place of the tables in `range` (a merge).
    Merged { range: Range<usize>, table: SsTable },
    /// Every table goes, and every memtable (a clear).
    Cleared,
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
