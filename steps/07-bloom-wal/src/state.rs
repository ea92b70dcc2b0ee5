//! What a read must see at one moment, and the only code that changes it.
//!
//! The idea: the store keeps its memtables and its list of tables in one
//! `State`, behind the store's read-write lock (`store.rs`). Every change to
//! the state is a method here, so that the rules about what may change
//! together live in one place, next to the fields they are about. Each
//! frozen memtable keeps its write-ahead log beside it, from
//! [`State::freeze`] until its table takes its place, and the state numbers
//! the logs and knows the oldest one still needed, which the manifest
//! names. The changes to the tables arrive through [`State::apply`], from
//! `file_set.rs`, once the manifest names the tables they lead to; a clear
//! empties the state when its record is logged ([`State::clear`]) and
//! keeps the shaker idle until its manifest is written.
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
//! - `frozen` and `frozen_logs` move together: the log at each place holds
//!   the writes of the memtable at the same place, and the active log is
//!   number `next_log_number - 1`; so the logs whose writes are in no table
//!   yet are numbered from [`State::oldest_log`] up to the active one;
//! - a table joins `tables` only once its file is complete on disk and a
//!   manifest that names it is too (`file_set.rs` writes it first);
//!   the frozen memtable it came from leaves the queue in the same change,
//!   and a merged table replaces its inputs in one change, so no read finds
//!   the data in neither place;
//! - at most one merge runs at a time (`compacting`), and `tables` changes
//!   only on the shaker's thread or in a clear; while a clear runs
//!   (`clearing`), the shaker starts no flush or merge.
//!
//! Read alongside chapter 7 of the book, "Bloom filters and a write-ahead
//! log".

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
    /// Each frozen memtable's log, in the same order, deleted once its
    /// memtable is in a table.
    frozen_logs: VecDeque<FrozenLog>,
    /// The tables, oldest first, as the manifest lists them.
    tables: Arc<Vec<SsTable>>,
    /// Whether the shaker is merging tables (`clear` waits until it is not).
    compacting: bool,
    /// Whether a clear is under way: until it ends, the shaker starts no
    /// flush or merge, so that the clear is the only change of the tables.
    clearing: bool,
    /// The number the next table file gets.
    next_table_number: u64,
    /// The number the next log file gets.
    next_log_number: u64,
}

/// The log of a frozen memtable.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrozenLog {
    /// Its number.
    pub(crate) number: u64,
    /// The ticket of its last record, `next`: once that is durable, the
    /// log is complete on disk and the next log exists (see `rotation.rs`).
    pub(crate) ended_by: u64,
}

impl State {
    /// The state of a store that opened `tables` (oldest first), numbers
    /// its next table `next_table_number` and its next log
    /// `next_log_number`.
    pub(crate) fn new(tables: Vec<SsTable>, next_table_number: u64, next_log_number: u64) -> State {
        State {
            memtable: Memtable::new(),
            frozen: VecDeque::new(),
            frozen_logs: VecDeque::new(),
            tables: Arc::new(tables),
            compacting: false,
            clearing: false,
            next_table_number,
            next_log_number,
        }
    }

    /// The number the next log file gets.
    pub(crate) fn next_log_number(&self) -> u64 {
        self.next_log_number
    }

    /// The number of the oldest log whose writes are in no table yet: the
    /// oldest frozen memtable's, or the active one's. A manifest names it,
    /// so that a start knows which logs it must find.
    pub(crate) fn oldest_log(&self) -> u64 {
        self.frozen_logs
            .front()
            .map_or(self.next_log_number - 1, |log| log.number)
    }

    /// What [`State::oldest_log`] is once the oldest frozen memtable is in
    /// a table: the log after its own. The manifest that names that table
    /// names this log.
    pub(crate) fn oldest_log_after_flush(&self) -> u64 {
        self.frozen_logs
            .get(1)
            .map_or(self.next_log_number - 1, |log| log.number)
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

    /// Moves the active memtable to the back of the frozen queue, with its
    /// log, and puts a fresh one in its place. The caller has just moved
    /// the log on to number `next_log_number`, and the old log's last
    /// record has the ticket `ended_by`.
    pub(crate) fn freeze(&mut self, ended_by: u64) {
        self.frozen_logs.push_back(FrozenLog {
            number: self.next_log_number - 1,
            ended_by,
        });
        self.next_log_number += 1;
        // Exercise 4.1: swap in a fresh memtable and queue the full one at the back
        let full = std::mem::take(&mut self.memtable);
        self.frozen.push_back(Arc::new(full));
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

    /// The log of the oldest frozen memtable: the caller deletes it once
    /// the memtable's table is in a manifest.
    pub(crate) fn oldest_frozen_log(&self) -> Option<FrozenLog> {
        self.frozen_logs.front().copied()
    }

    /// Puts `table`, just written from `flushed`, the memtable that
    /// [`State::oldest_frozen`] gave, in that memtable's place: in one step,
    /// so that no read finds the data in neither place. Its log goes from
    /// the state too: the manifest that names the table names a newer log
    /// as the oldest needed.
    fn install_flushed(&mut self, table: SsTable, flushed: &Arc<Memtable>) {
        Arc::make_mut(&mut self.tables).push(table);
        self.next_table_number += 1;
        let front = self.frozen.pop_front();
        debug_assert!(
            front.is_some_and(|front| Arc::ptr_eq(&front, flushed)),
            "only the shaker removes frozen memtables, oldest first"
        );
        self.frozen_logs.pop_front();
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

    /// Empties the store, no table and an empty memtable, and starts a
    /// clear: the shaker starts no flush or merge until its manifest is
    /// written and applied. Returns the tables, whose files the caller
    /// removes once that manifest no longer names them. The caller has
    /// appended the clear's log record under the same lock, so readers see
    /// the clear exactly where replay puts it, and waited for the shaker,
    /// so nothing is frozen or being merged.
    pub(crate) fn clear(&mut self) -> Arc<Vec<SsTable>> {
        debug_assert!(
            self.frozen.is_empty() && !self.compacting && !self.clearing,
            "clear waits for the shaker"
        );
        self.clearing = true;
        self.memtable = Memtable::new();
        std::mem::take(&mut self.tables)
    }

    /// Ends the clear that [`State::clear`] started, once its manifest is
    /// written, or once it could not be (its log record voids the tables at
    /// the next start anyway).
    pub(crate) fn end_clear(&mut self) {
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
            // The tables left the state with the clear's log record.
            Change::Cleared => {
                self.end_clear();
                Vec::new()
            }
        }
    }
}

/// A change of the set of tables, applied by `log_and_apply`
/// (`file_set.rs`) once a manifest names the tables it leads to.
#[derive(Debug)]
pub(crate) enum Change {
    /// `table`, written from the oldest frozen memtable, `memtable`, takes
    /// its place (a flush); its log is no longer needed.
    Flushed {
        table: SsTable,
        memtable: Arc<Memtable>,
    },
    /// `table` takes the place of the tables in `range` (a merge).
    Merged { range: Range<usize>, table: SsTable },
    /// No table any more (a clear, already applied in memory by
    /// [`State::clear`] with its log record).
    Cleared,
}

/// For tests: states that the tests of later exercises build without the
/// code of earlier ones.
#[cfg(test)]
impl State {
    /// Queues `memtable` as frozen, with the active log as its log, ended
    /// by the record with the ticket `ended_by`, as [`State::freeze`] does
    /// once the log is rotated, but without it, so that the tests of the
    /// shaker and of reads do not depend on exercise 4.1.
    pub(crate) fn queue_frozen(&mut self, memtable: Memtable, ended_by: u64) {
        self.frozen.push_back(Arc::new(memtable));
        self.frozen_logs.push_back(FrozenLog {
            number: self.next_log_number - 1,
            ended_by,
        });
        self.next_log_number += 1;
    }

    /// The number the next table file gets.
    pub(crate) fn next_table_number(&self) -> u64 {
        self.next_table_number
    }
}
