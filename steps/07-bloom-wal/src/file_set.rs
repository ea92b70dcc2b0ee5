//! The one place that changes the set of tables the store serves, after
//! LevelDB's `VersionSet::LogAndApply`.
//!
//! The idea: a flush adds a table, a merge puts one table in the place of
//! several, a clear takes them all away. Each is the same two steps, in
//! this order: write a manifest that names the tables as they are after
//! the change, then make the change for readers, under the write lock
//! ([`log_and_apply`]). A crash between the two leaves the new
//! manifest, which a start loads: so the store never serves a set of
//! tables that a restart would not find. The manifest also names the
//! oldest log still needed: after a flush, the log after the flushed
//! memtable's. The files the change leaves unnamed are removed by the
//! caller, after: a file no manifest names is a leftover, which the next
//! start removes anyway.
//!
//! Invariants:
//! - one change at a time, and nothing changes the tables between the
//!   manifest and the swap, so the manifest written is the state that
//!   readers then see. The tree shaker makes every flush and merge, one
//!   after the other; a clear makes its change only while the shaker is
//!   kept idle ([`State::clear`]);
//! - the manifest is written with no lock held: readers and writers go on
//!   meanwhile, and see the tables as they were until the swap.
//!
//! Read alongside chapter 5 of the book, "Compaction", and chapter 7.2,
//! "The write-ahead log and group commit".

use crate::Result;
use crate::manifest::{self, LiveTable};
use crate::shared::Shared;
use crate::sstable::SsTable;
use crate::state::{Change, State};

/// Writes the manifest that names the tables as they are after
/// `change`, then applies `change` under the write lock. Returns the
/// tables the change took out, whose files the caller removes. If the
/// manifest cannot be written, nothing has changed.
pub(crate) fn log_and_apply(shared: &Shared, change: Change) -> Result<Vec<SsTable>> {
    let (live, oldest_log) = {
        let state = shared.read_state();
        (
            tables_after(&state, &change),
            oldest_log_after(&state, &change),
        )
    };
    manifest::write(&shared.directory, &live, oldest_log)?;
    Ok(shared.write_state().apply(change))
}

/// The tables of `state` as they are once `change` is applied, as the
/// manifest names them.
fn tables_after(state: &State, change: &Change) -> Vec<LiveTable> {
    let mut live: Vec<LiveTable> = state.tables().iter().map(LiveTable::of).collect();
    match change {
        Change::Flushed { table, .. } => live.push(LiveTable::of(table)),
        Change::Merged { range, table } => {
            live.splice(range.clone(), [LiveTable::of(table)]);
        }
        Change::Cleared => live.clear(),
    }
    live
}

/// The oldest log still needed once `change` is applied to `state`.
fn oldest_log_after(state: &State, change: &Change) -> u64 {
    match change {
        Change::Flushed { .. } => state.oldest_log_after_flush(),
        Change::Merged { .. } | Change::Cleared => state.oldest_log(),
    }
}
